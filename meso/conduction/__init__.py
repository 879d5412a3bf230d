"""Ionic conduction: microstructure factors M and tortuosity factors on voxel and conforming meshes.

``conduct`` is the one entry; the discretisations (``voxel`` fv/fe, ``conforming`` P1/P2,
``interfaces`` DG with resistive grain boundaries) are internal.

M = sigma_eff / sigma_grain includes every phase (grain-boundary resistance too); the
tortuosity factor is eps / M_geometric (TauFactor's convention, eps = conducting volume
fraction) with M_geometric the factor of the same conducting voxels or mesh with every phase at
the grain conductivity, i.e. of the pore geometry alone (``results.TAU_DEFINITION``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from meso.conduction.conforming import conduct_conforming
from meso.conduction.results import AxisConduction, ConductionResult
from meso.conduction.voxel import conduct_voxel
from meso.errors import InputError
from meso.materials import Materials
from meso.mesh.conforming import ConformingMesh
from meso.microstructure import AXES, Microstructure
from meso.progress import Progress


def conduct(
    target: Microstructure | ConformingMesh,
    *,
    axes: Sequence[str] = AXES,
    method: str | None = None,
    materials: Materials | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    fields_dir: str | Path | None = None,
    solver_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    degree: int = 1,
    voxel_size_um: float | None = None,
    grain_boundary_asr_ohm_m2: float | None = None,
    solver: str | None = None,
    grain_ids: np.ndarray | None = None,
    grain_seeds_um: np.ndarray | None = None,
    grain_stretch: np.ndarray | None = None,
) -> ConductionResult:
    """Microstructure factors M = sigma_eff / sigma_grain (and tortuosity factors) along `axes`.

    Each axis entry has M (every phase at its conductivity), M_geometric (every conducting
    phase at the grain conductivity: the pore geometry alone) and tortuosity_factor = eps /
    M_geometric; a volume whose conducting phases all conduct like the grain is solved once.

    Steady conduction div(sigma grad phi) = 0 in the conducting phases, 1 V between the two
    faces normal to each axis, every other surface insulated.

    Parameters
    ----------
    target : Microstructure (solved on its voxels) or ConformingMesh (``meso.mesh.sources``)
    axes : sequence of "x", "y", "z"
    method : voxels: "fv" (cell-centred finite volumes, TauFactor's scheme; default), "fe" (Q1
        elements) or "both"; a conforming mesh takes Lagrange `degree` 1 or 2 instead
    materials : phase conductivities (default: the packaged LLZO table)
    comm : MPI communicator of a voxel solve (a conforming mesh carries its own)
    fields_dir : write the potential and current density (XDMF, voxel mid-plane PNGs) there
    solver_options : PETSc options replacing the solver's defaults in
        ``meso.fem.solver_options`` (CG_GMG for fv with solver "gmg", else CG_BOOMERAMG)
    progress : called with "AXIS METHOD" after each solve
    degree, voxel_size_um : conforming meshes only: the Lagrange degree and the voxel size the
        geometry came from (sets ``shape``)
    grain_boundary_asr_ohm_m2 : grain boundaries as zero-thickness interfaces of this
        area-specific resistance (ohm m^2): the grain-boundary facets of a conforming mesh, or
        with `grain_ids` the voxel faces between different grains (fv, gmg)
    grain_ids : voxels: the grain of each voxel (ints, the volume's shape; a synth result's)
    grain_seeds_um, grain_stretch : voxels: the Voronoi seeds the grain ids index (K x 3, um)
        and their metric's stretch: each boundary face then takes its plane's orientation
    solver : voxels, fv: "gmg" (CG + geometric multigrid on a DMDA of the voxel box; default)
        or "amg" (CG + BoomerAMG on the kept voxels)

    Examples
    --------
    >>> import numpy as np
    >>> r = conduct(Microstructure(np.ones((8, 8, 8), np.uint8)), axes=["x"], comm=MPI.COMM_SELF)
    >>> round(r.factor("x"), 9)
    1.0
    """
    if isinstance(target, Microstructure):
        given = {"degree": degree != 1, "voxel_size_um": voxel_size_um is not None}
        if any(given.values()):
            name = next(k for k, v in given.items() if v)
            raise InputError(name, "applies to conforming meshes only")
        return conduct_voxel(target, axes=axes, method=method or "fv", materials=materials,
                             comm=comm, fields_dir=fields_dir, solver_options=solver_options,
                             progress=progress, solver=solver or "gmg", grain_ids=grain_ids,
                             grain_boundary_asr_ohm_m2=grain_boundary_asr_ohm_m2,
                             grain_seeds_um=grain_seeds_um, grain_stretch=grain_stretch)  # fmt: skip
    if isinstance(target, ConformingMesh):
        voxel_only = {"method": method, "solver": solver, "grain_ids": grain_ids,
                      "grain_seeds_um": grain_seeds_um}  # fmt: skip
        given = [name for name, value in voxel_only.items() if value is not None]
        if given:
            raise InputError(given[0],
                             "applies to voxel volumes; a conforming mesh takes degree")  # fmt: skip
        return conduct_conforming(target, axes=axes, degree=degree, materials=materials,
                                  voxel_size_um=voxel_size_um, solver_options=solver_options,
                                  progress=progress,
                                  grain_boundary_asr_ohm_m2=grain_boundary_asr_ohm_m2,
                                  fields_dir=fields_dir)  # fmt: skip
    raise TypeError(f"conduct takes a Microstructure or a ConformingMesh, not {type(target)}")


__all__ = ["AxisConduction", "ConductionResult", "conduct"]
