"""`meso hotspot` as a study: the partial-contact conduction solve and its outputs, compared with
measured current-density maps (``meso.studies.hotspot_measured``), with the 3D fields (XDMF) and,
under a stack pressure, the stress and the window correlations (``meso.studies.hotspot_pressure``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mpi4py import MPI

from meso.conduction.contact import conduct_with_contacts, face_shape
from meso.conduction.hotspot_fields import write_hotspot_xdmf
from meso.conduction.hotspot_report import hotspot_outputs
from meso.io.atomic import write_json
from meso.materials import Materials
from meso.microstructure import Microstructure, axis_index
from meso.studies.hotspot_measured import (
    MeasuredMap,
    compare_with_measured,
    comparison_png,
    measured_on_face,
)
from meso.studies.hotspot_pressure import default_window, pressure_study


def hotspot_study(
    m: Microstructure,
    out: str | Path,
    *,
    axis: str | int | None = None,
    contact_bottom: Any = None,
    contact_top: Any = None,
    bias_V: float = 1.0,
    materials: Materials | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    fields: bool = False,
    measured: list[MeasuredMap] | None = None,
    provenance: dict[str, Any] | None = None,
    smooth_um: float = 0.0,
    pressure_MPa: float | None = None,
    window_um: float | None = None,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Solve (``conduct_with_contacts``), write the outputs of ``hotspot_outputs`` and, with
    `measured` maps, ``measured`` entries in hotspot.json (Pearson and Spearman over the
    contact, per face) and comparison.png; `provenance` is the ``meso extract`` record of `m`
    (where its window lies in the measured maps; default: ``m.metadata["extract"]``);
    `smooth_um`: Gaussian sigma applied to the measured maps first (voxel-quantised thickness
    maps need a few voxels). With `fields`, fields.xdmf (potential, current density) besides the
    PNGs. With `pressure_MPa`, the elasticity solve under that stack pressure (``pressure`` in
    hotspot.json, stress_section.png, pressure_scatter.png; with `fields` also elastic_AXIS.xdmf)
    and the window correlations over lateral windows of `window_um` (default: four along the
    shorter lateral axis). Returns the hotspot.json document on rank 0 ({} elsewhere)."""
    out = Path(out)
    a = axis_index(m.cell_axis if axis is None else axis)
    provenance = m.metadata.get("extract") if provenance is None else provenance
    face = face_shape(m.shape, a)
    resampled = measured_on_face(measured or [], face, axis=a,
                                 voxel_size_um=m.voxel_size_um, provenance=provenance,
                                 smooth_um=smooth_um)  # fmt: skip
    width = (
        default_window(face) if window_um is None else max(1, round(window_um / m.voxel_size_um))
    )
    r = conduct_with_contacts(m, axis, contact_bottom, contact_top, bias_V=bias_V,
                              materials=materials, comm=comm,
                              potential=fields or pressure_MPa is not None)  # fmt: skip
    if fields:
        write_hotspot_xdmf(r, m, out / "fields.xdmf", comm)
    pressure = None
    if pressure_MPa is not None:
        pressure = pressure_study(r, m, pressure_MPa, width=width, materials=materials,
                                  comm=comm, out=out, fields=fields)  # fmt: skip
    if comm.rank != 0:
        return {}
    document = hotspot_outputs(r, m, out, fields=fields, inputs=inputs)
    if fields:
        document["fields"]["xdmf"] = "fields.xdmf"
        if pressure is not None:
            document["fields"]["elastic_xdmf"] = f"elastic_{r.axis}.xdmf"
    if pressure is not None:
        document["pressure"] = pressure
    if measured:
        entries = compare_with_measured(r.current_density_A_per_m2, measured, resampled)
        comparison_png(r.current_density_A_per_m2, measured, resampled, entries, axis=a,
                       voxel_size_um=m.voxel_size_um, target=out / "comparison.png")  # fmt: skip
        document["measured"] = {
            "comparisons": entries,
            "figure": "comparison.png",
            "convention": "Pearson r and Spearman rho of |predicted| and |measured| current "
            "density over the face pixels in contact where the measured map is finite",
            "smooth_um": smooth_um,
            "window": None if provenance is None else
            {k: provenance.get(k) for k in ("source", "offset_vox", "downsample")},
        }  # fmt: skip
    write_json(out / "hotspot.json", document)
    return document


__all__ = ["hotspot_study"]
