"""Ionic conductivity factors M_x, M_y, M_z on conforming tetrahedral meshes (P1/P2 Lagrange, DOLFINx).

The same physics as ``meso.conduction.voxel``: steady conduction div(sigma grad phi) = 0 in the
solid, 1 V between the two box faces normal to an axis, every other surface (box sides, pore
walls) insulated; M = sigma_eff / sigma_grain from the current, tau = eps / M with eps the
solid volume fraction of the mesh.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from meso.conduction.system import (
    axis_conduction,
    dirichlet_system,
    dissipated_current,
    solve_from_linear_guess,
)
from meso.conduction.voxel import ConductionResult
from meso.errors import InputError
from meso.fem.compat import function_space
from meso.fem.solver_options import CG_BOOMERAMG
from meso.materials import Materials, load_materials
from meso.mesh.conforming import ConformingMesh
from meso.microstructure import AXES, axis_index


def solid_volume_m3(cm: ConformingMesh) -> float:
    """Volume of the meshed solid in m^3 (exact for the mesh, summed over ranks)."""
    one = dolfinx.fem.Constant(cm.mesh, PETSc.ScalarType(1.0))
    local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ufl.dx(domain=cm.mesh)))
    return float(cm.mesh.comm.allreduce(local, op=MPI.SUM))


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


def write_conduction_fields(
    potential: dolfinx.fem.Function, sigma_S_per_m: float, axis: str, method: str, folder: Path
) -> Path:
    """``conduction_AXIS_METHOD.xdmf`` in `folder`: the potential (V) and the current density
    -sigma grad(phi) averaged over each cell (A/m^2, DG0) of a conforming solve."""
    from meso.elasticity.conforming import cell_averages
    from meso.io.xdmf import write_xdmf

    mesh = potential.function_space.mesh
    potential.name = "potential_V"
    volumes = cell_averages(function_space(mesh, "DG", 0), {})["cell_volume_m3"]
    W = function_space(mesh, "DG", 0, (3,))
    flux = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(
        -sigma_S_per_m * ufl.inner(ufl.grad(potential), ufl.TestFunction(W)) * ufl.dx))  # fmt: skip
    flux.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    J = dolfinx.fem.Function(W, name="current_density_A_per_m2")
    J.x.array[: flux.getLocalSize()] = flux.getArray() / np.repeat(volumes, 3)
    J.x.scatter_forward()
    flux.destroy()
    return write_xdmf(folder / f"conduction_{axis}_{method}.xdmf", mesh, [potential, J], mesh.comm)


def conduct_conforming(
    cm: ConformingMesh,
    axes: tuple[str, ...] | list[str] = AXES,
    degree: int = 1,
    materials: Materials | None = None,
    voxel_size_um: float | None = None,
    solver_options: dict[str, Any] | None = None,
    progress: Any = None,
    grain_boundary_asr_ohm_m2: float | None = None,
    fields_dir: str | Path | None = None,
) -> ConductionResult:
    """Microstructure factors M = sigma_eff / sigma_grain on a conforming mesh.

    Parameters
    ----------
    cm : ConformingMesh (``meso.mesh.conforming.build_conforming_mesh``)
    axes : sequence of "x", "y", "z"
    degree : 1 or 2, the Lagrange degree ("p1"/"p2" in the result's method)
    materials : Materials, optional (default: the packaged LLZO table; grain conductivity used)
    voxel_size_um : float, optional
        The voxel size of the volume the geometry belongs to; sets ``shape`` in the result.
    solver_options : PETSc options replacing ``meso.fem.solver_options.CG_BOOMERAMG``.
    progress : tqdm-like object with ``update()``, optional (one step per axis).
    grain_boundary_asr_ohm_m2 : float, optional
        Treat the grain-boundary facets of `cm` as zero-thickness interfaces of this
        area-specific resistance (``meso.conduction.interfaces``, DG of `degree`, method "dg1"/"dg2").
    fields_dir : folder, optional
        Write ``conduction_AXIS_METHOD.xdmf`` (potential, cell-averaged current density) there.

    Returns
    -------
    ConductionResult
        The same document as ``meso.conduction.voxel.conduct`` with method "p1"/"p2" (or "dg1"/"dg2").

    Examples
    --------
    >>> from meso.mesh.conforming import build_conforming_mesh
    >>> from meso.mesh.pore_geometry import PoreGeometry
    >>> g = PoreGeometry((1, 1, 1), np.zeros((0, 3)), np.zeros((0, 3)))
    >>> r = conduct_conforming(build_conforming_mesh(g, 0.5, comm=MPI.COMM_SELF), ["x"])
    >>> round(r.factor("x"), 9)
    1.0
    """
    start = time.perf_counter()
    materials = load_materials() if materials is None else materials
    sigma_grain = materials.grain.conductivity(1.0)
    if not sigma_grain:
        raise InputError(materials.source, "the grain phase needs a positive conductivity")
    axes = [AXES[axis_index(a)] for a in axes]
    with_interfaces = grain_boundary_asr_ohm_m2 is not None
    method = f"dg{degree}" if with_interfaces else f"p{degree}"
    box = cm.box_m
    eps = solid_volume_m3(cm) / float(np.prod(box))
    h = voxel_size_um or float(box.min()) * 1e6
    result = ConductionResult(
        method=method,
        shape=tuple(round(float(b) * 1e6 / h) for b in box),
        voxel_size_um=h,
        volume_fractions={"pore": 1.0 - eps, "grain": eps},
        conducting_fraction=eps,
        ranks=cm.mesh.comm.size,
    )
    for axis in axes:
        a = axis_index(axis)
        t0 = time.perf_counter()
        if with_interfaces:
            from meso.conduction.interfaces import solve_potential_with_interfaces

            uh, current, iterations, reason = solve_potential_with_interfaces(
                cm, axis, sigma_grain, grain_boundary_asr_ohm_m2, degree, solver_options
            )
        else:
            uh, current, iterations, reason = solve_axis(cm, axis, sigma_grain, degree,
                                                         solver_options)  # fmt: skip
        entry = axis_conduction(axis, method, current, reason, float(box[a]),
                                float(np.prod(np.delete(box, a))), sigma_grain, eps, iterations,
                                uh.function_space.dofmap.index_map.size_global,
                                time.perf_counter() - t0)  # fmt: skip
        result.axes[axis] = {method: entry}
        if fields_dir is not None and entry.converged:
            write_conduction_fields(uh, sigma_grain, axis, method, Path(fields_dir))
        if progress is not None:
            progress.update()
    result.wall_seconds = time.perf_counter() - start
    return result


def conduct_file_conforming(
    path: str | Path,
    axes: tuple[str, ...] | list[str] = AXES,
    degree: int = 1,
    size_um: float | None = None,
    materials: Materials | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    progress: Any = None,
    smoothing_voxels: float | None = None,
    dataset: str | None = None,
    voxel_size_um: float | None = None,
    refine_pores: float | None = None,
    cache_dir: str | Path | None = None,
    fields_dir: str | Path | None = None,
) -> tuple[ConductionResult, ConformingMesh]:
    """Conforming-mesh conduction of a file (what ``meso conduct --mesh conforming`` runs).

    A `meso synth` result (its synth.json, or the volume beside it): its exact pore ellipsoids
    are cut from the box by gmsh, curved (order 2) with `degree` 2; a grain-boundary phase
    becomes zero-thickness interfaces between the synth's Voronoi grains
    (``meso.mesh.sources.grain_boundary_resistance``). Any other label volume: its solid
    with smoothed marching-cubes walls (``meso.mesh.surface``), boundaries meshed as grain.
    The report of the interface model is ``cm.info["grain_boundaries"]``.
    """
    from meso.mesh.sources import conforming_source, mesh_source

    materials = load_materials() if materials is None else materials
    source = conforming_source(path, dataset, voxel_size_um)
    cm, asr = mesh_source(source, materials, degree, size_um, refine_pores, smoothing_voxels,
                          cache_dir, comm)  # fmt: skip
    result = conduct_conforming(cm, axes, degree, materials, source.voxel_size_um,
                                progress=progress, grain_boundary_asr_ohm_m2=asr,
                                fields_dir=fields_dir)  # fmt: skip
    return result, cm


__all__ = [
    "CG_BOOMERAMG",
    "conduct_conforming",
    "conduct_file_conforming",
    "solid_volume_m3",
    "solve_axis",
]
