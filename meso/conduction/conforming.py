"""Ionic conductivity factors M_x, M_y, M_z on conforming tetrahedral meshes (P1/P2 Lagrange, DOLFINx).

The same physics as ``meso.conduction.voxel``: steady conduction div(sigma grad phi) = 0 in the
solid, 1 V between the two box faces normal to an axis, every other surface (box sides, pore
walls) insulated; M = sigma_eff / sigma_grain from the current, tau = eps / M_geometric with
eps the solid volume fraction of the mesh. The P1/P2 solid conducts like the grain, so M is the
pore geometry's (M_geometric = M); with resistive grain-boundary interfaces (DG) M_geometric
comes from the same mesh solved without them, so tau stays the geometric tortuosity.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from meso.conduction.fields import write_conforming_conduction_fields
from meso.conduction.interfaces import solve_potential_with_interfaces
from meso.conduction.results import AxisConduction, ConductionResult
from meso.conduction.system import dirichlet_system, dissipated_current, solve_from_linear_guess
from meso.errors import InputError
from meso.fem.compat import function_space
from meso.fem.solver_options import CG_BOOMERAMG
from meso.materials import Materials, load_materials
from meso.mesh.conforming import ConformingMesh
from meso.microstructure import AXES, axis_index
from meso.progress import Progress, report


def solve_axis(
    cm: ConformingMesh,
    axis: str | int,
    sigma_S_per_m: float,
    degree: int = 1,
    solver_options: dict[str, Any] | None = None,
) -> tuple[dolfinx.fem.Function, float, int, int]:
    """Solve along `axis` with Lagrange elements of `degree` (1 or 2).

    Returns
    -------
    (potential in V, current in A at 1 V, CG iterations, PETSc converged reason)
        The current is the dissipated power at 1 V, sigma * integral |grad phi|^2, which
        equals the electrode current for the discrete solution.
    """
    if degree not in (1, 2):
        raise InputError("degree", f"must be 1 or 2, got {degree}")
    a_idx = axis_index(axis)
    mesh = cm.mesh
    V = function_space(mesh, "Lagrange", degree)
    tags = cm.electrode_facet_tags(a_idx)
    counts = np.array([np.count_nonzero(tags.values == 1), np.count_nonzero(tags.values == 2)])
    if not np.all(mesh.comm.allreduce(counts, op=MPI.SUM)):
        raise InputError("mesh", f"the solid does not reach both faces normal to {AXES[a_idx]}")
    sigma = dolfinx.fem.Constant(mesh, PETSc.ScalarType(sigma_S_per_m))
    A, b = dirichlet_system(V, sigma, tags)
    uh, iterations, reason = solve_from_linear_guess(
        A, b, V, a_idx, cm.box_length_m(a_idx), f"meso_conforming_p{degree}_{AXES[a_idx]}_",
        solver_options,
    )  # fmt: skip
    current = dissipated_current(uh, sigma)
    return uh, float(current), int(iterations), int(reason)


def conduct_conforming(
    cm: ConformingMesh,
    *,
    axes: Sequence[str] = AXES,
    degree: int = 1,
    materials: Materials | None = None,
    voxel_size_um: float | None = None,
    solver_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    grain_boundary_asr_ohm_m2: float | None = None,
    fields_dir: str | Path | None = None,
) -> ConductionResult:
    """Microstructure factors M = sigma_eff / sigma_grain on a conforming mesh (``meso.conduct``
    with a ConformingMesh; its parameters). The solid conducts like the grain; with
    `grain_boundary_asr_ohm_m2` the grain-boundary facets of `cm` are zero-thickness interfaces
    of that area-specific resistance (``meso.conduction.interfaces``, DG of `degree`, method
    "dg1"/"dg2"; the tortuosity factor then comes from a second, interface-free Lagrange solve of
    the same mesh and degree), else the method is "p1"/"p2"."""
    start = time.perf_counter()
    materials = load_materials() if materials is None else materials
    sigma_grain = materials.grain.conductivity(1.0)
    if not sigma_grain:
        raise InputError(materials.source, "the grain phase needs a positive conductivity")
    axes = [AXES[axis_index(a)] for a in axes]
    with_interfaces = grain_boundary_asr_ohm_m2 is not None
    method = f"dg{degree}" if with_interfaces else f"p{degree}"
    box = cm.box_m
    eps = cm.solid_fraction()
    h = voxel_size_um or float(box.min()) * 1e6
    result = ConductionResult(method=method, shape=tuple(round(float(b) * 1e6 / h) for b in box),
                              voxel_size_um=h, volume_fractions={"pore": 1.0 - eps, "grain": eps},
                              conducting_fraction=eps, ranks=cm.mesh.comm.size)  # fmt: skip
    for axis in axes:
        a = axis_index(axis)
        t0 = time.perf_counter()
        geometric_current = geometric_reason = None
        if with_interfaces:
            uh, current, iterations, reason = solve_potential_with_interfaces(
                cm, axis, sigma_grain, grain_boundary_asr_ohm_m2, degree, solver_options
            )
            _, geometric_current, _, geometric_reason = solve_axis(cm, axis, sigma_grain, degree,
                                                                   solver_options)  # fmt: skip
        else:
            uh, current, iterations, reason = solve_axis(cm, axis, sigma_grain, degree,
                                                         solver_options)  # fmt: skip
        entry = AxisConduction.from_current(
            axis, method, current, reason, length_m=float(box[a]),
            area_m2=float(np.prod(np.delete(box, a))), sigma_grain_S_per_m=sigma_grain,
            conducting_fraction=eps, iterations=iterations,
            dofs=uh.function_space.dofmap.index_map.size_global,
            solve_seconds=time.perf_counter() - t0, geometric_current_A=geometric_current,
            geometric_reason=geometric_reason,
        )  # fmt: skip
        result.axes[axis] = {method: entry}
        if fields_dir is not None and entry.converged:
            write_conforming_conduction_fields(uh, sigma_grain, axis, method, Path(fields_dir))
        report(progress, f"{axis} {method}")
    result.wall_seconds = time.perf_counter() - start
    return result


__all__ = ["CG_BOOMERAMG", "conduct_conforming", "solve_axis"]
