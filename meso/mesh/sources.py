"""What a conforming mesh of a file is made of: a synth's exact pores (and grains) or smoothed voxel walls.

``conforming_source(path)`` turns the VOL or SYNTH.json a user names into the geometry gmsh
meshes: the synth.json of a `meso synth` result (given, or beside the volume it names) gives
the exact pore ellipsoids of synth_geometry.npz (and, when grain boundaries are resolved, its
Voronoi grains); any other label volume gives its solid bounded by smoothed marching-cubes
walls (``meso.mesh.surface``). ``grain_boundary_resistance`` decides how the grain-boundary
phase of the materials enters a conforming conduction solve.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from mpi4py import MPI

from meso.errors import InputError
from meso.io.volumes import load
from meso.materials import Materials
from meso.mesh.conforming import build_conforming_mesh
from meso.mesh.surface import SegmentedGeometry
from meso.mesh.synth_files import (
    load_synth_geometry,
    read_synth_json,
    synth_gb_thickness_um,
    synth_json_beside,
)

LOG = logging.getLogger(__name__)
GRAIN_BOUNDARY_LABEL = 2


@dataclass
class ConformingSource:
    """A file to mesh conformingly.

    ``synth_json``: the synth.json whose exact geometry is used (None: the segmented route
    on ``volume``); ``gb_thickness_um``: the boundary thickness of the synth's voxel volume
    (0: it has no boundary phase); ``labels_present``: the labels of a segmented volume.
    """

    path: Path
    synth_json: Path | None = None
    voxel_size_um: float | None = None
    gb_thickness_um: float = 0.0
    volume: object = None  # the Microstructure of the segmented route
    labels_present: set = field(default_factory=set)

    @property
    def kind(self) -> str:
        return "synth" if self.synth_json is not None else "segmented"

    def geometry(self, grains: bool = False, smoothing_voxels: float | None = None):
        """PoreGeometry (synth, with Voronoi grains if `grains`) or SegmentedGeometry."""
        if self.synth_json is not None:
            if smoothing_voxels is not None:
                raise InputError(
                    "--smoothing", "applies to label volumes (a synth has exact pores)"
                )
            return load_synth_geometry(self.synth_json, grains)
        return segmented_geometry(self.volume, self.path, smoothing_voxels)


def segmented_geometry(m, path, smoothing_voxels: float | None = None):
    """The solid of the label volume `m` (read from `path`) bounded by marching-cubes walls
    smoothed over `smoothing_voxels` (default 0.5), as ``meso.mesh.surface`` meshes it."""
    smoothing = 0.5 if smoothing_voxels is None else smoothing_voxels
    return SegmentedGeometry(m.solid_mask(), m.voxel_size_um, smoothing, str(path))


def conforming_source(
    path: str | Path, dataset: str | None = None, voxel_size_um: float | None = None
) -> ConformingSource:
    """Resolve VOL or SYNTH.json into what ``build_conforming_mesh`` meshes (see the module)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    synth_json = path if path.suffix.lower() == ".json" else None
    if synth_json is None and dataset is None:
        synth_json = synth_json_beside(path)
    if synth_json is not None:
        report = read_synth_json(synth_json)
        h = float(report.get("voxel_size_um", 0) or 0)
        if dataset is not None:
            raise InputError("--dataset", "does not apply to a synth.json")
        if voxel_size_um is not None and abs(voxel_size_um - h) > 1e-9 * max(h, 1.0):
            raise InputError("--voxel-size", f"the synth geometry of {path} is recorded at {h} "
                             "um voxels; leave --voxel-size out")  # fmt: skip
        if float(report.get("volume_fractions", {}).get("pore", 0.0)) >= 1.0:
            raise InputError(path, "the volume is all pore (no solid to mesh)")
        return ConformingSource(path, synth_json, h, synth_gb_thickness_um(synth_json, report))
    m = load(path, dataset=dataset, voxel_size_um=voxel_size_um)
    m.require_solid()
    labels = set(np.unique(m.labels).tolist())
    return ConformingSource(path, None, m.voxel_size_um, volume=m, labels_present=labels)


def grain_boundary_resistance(
    source: ConformingSource, materials: Materials
) -> tuple[float | None, dict]:
    """The area-specific resistance (ohm m^2) the conforming conduction gives grain-boundary
    faces, or None for none, and a note for the JSON.

    A synth volume with a boundary phase: the materials' ``asr_ohm_m2``, or for a boundary given
    as a conductivity the excess resistance of its layer, t (1/sigma_gb - 1/sigma_grain) with t
    the synth's boundary thickness (the brick-layer equivalence). A label volume's boundaries
    are not resolved by the conforming mesh (meshed as grain, with a warning when they conduct
    differently).
    """
    try:
        gb = materials.by_label(GRAIN_BOUNDARY_LABEL)
    except InputError:
        gb = None
    sigma_grain = materials.grain.sigma_S_per_m
    if source.kind == "segmented":
        if (
            GRAIN_BOUNDARY_LABEL in source.labels_present
            and gb is not None
            and not (gb.asr_ohm_m2 is None and gb.sigma_S_per_m == sigma_grain)
        ):
            LOG.warning("%s: grain-boundary voxels are meshed as grain by the conforming "
                        "(smoothed-wall) mesh; use --mesh voxel to resolve them", source.path)  # fmt: skip
            return None, {"model": "meshed as grain (not resolved from a label volume)"}
        return None, {"model": "none"}
    if source.gb_thickness_um <= 0 or gb is None:
        return None, {"model": "none"}
    if gb.void:
        raise InputError(materials.source, "a void grain-boundary phase cannot be an interface")
    if gb.asr_ohm_m2 is not None:
        return gb.asr_ohm_m2, {"model": "interface", "asr_ohm_m2": gb.asr_ohm_m2,
                               "from": "asr_ohm_m2"}  # fmt: skip
    if gb.sigma_S_per_m is None:
        raise InputError(materials.source, f"phase {gb.name!r} has no ionic conductivity")
    if gb.sigma_S_per_m == sigma_grain:
        return None, {"model": "none (the boundary phase conducts like the grain)"}
    asr = source.gb_thickness_um * 1e-6 * (1.0 / gb.sigma_S_per_m - 1.0 / sigma_grain)
    if asr <= 0:
        raise InputError(materials.source, "a grain boundary that conducts better than the grain "
                         "is not a zero-thickness resistance; use --mesh voxel")  # fmt: skip
    return asr, {"model": "interface", "asr_ohm_m2": asr,
                 "from": f"sigma_S_per_m {gb.sigma_S_per_m:g} over the synth's "
                 f"{source.gb_thickness_um:g} um boundaries: t (1/sigma_gb - 1/sigma_grain)"}  # fmt: skip


def mesh_source(
    source: ConformingSource,
    materials: Materials | None = None,
    *,
    degree: int = 1,
    size_um: float | None = None,
    refine_pores: float | None = None,
    smoothing_voxels: float | None = None,
    grains: bool | None = None,
    geometry_order: int | None = None,
    cache_dir=None,
    comm=None,
):
    """The conforming mesh of `source`: (ConformingMesh, grain-boundary ASR or None); the one
    route from a file to a conforming mesh (``meso conduct``, ``meso elastic``, ``meso mesh``).

    With `materials` (conduction) the grain-boundary phase decides whether the Voronoi grains
    are meshed with interface facets (``grain_boundary_resistance``, noted in
    ``cm.info["grain_boundaries"]``); `grains` forces them on or off. Exact pores are curved
    (geometry order 2) for `degree` 2 unless `geometry_order` says otherwise."""
    asr, note = (None, None) if materials is None else grain_boundary_resistance(source, materials)
    if grains and source.kind != "synth":
        raise InputError("--grains", "needs the synth.json of a synthetic volume")
    geometry = source.geometry(grains=asr is not None if grains is None else grains,
                               smoothing_voxels=smoothing_voxels)  # fmt: skip
    if geometry_order is None:
        geometry_order = degree if source.kind == "synth" else 1
    cm = build_conforming_mesh(
        geometry, size_um, 2.0 if refine_pores is None else refine_pores,
        geometry_order=geometry_order, comm=MPI.COMM_WORLD if comm is None else comm,
        cache_dir=cache_dir,
    )  # fmt: skip
    if note is not None:
        cm.info["grain_boundaries"] = note
    return cm, asr


__all__ = [
    "ConformingSource",
    "conforming_source",
    "grain_boundary_resistance",
    "mesh_source",
    "segmented_geometry",
]
