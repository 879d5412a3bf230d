"""Ionic conductivity factors M_x, M_y, M_z on conforming tetrahedral meshes (P1/P2 Lagrange, DOLFINx).

The same physics as ``meso.conduction``: steady conduction div(sigma grad phi) = 0 in the
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

from meso.conduction import AxisConduction, ConductionResult
from meso.conforming_mesh import ConformingMesh
from meso.dolfinx_compat import function_space, petsc_vector
from meso.errors import InputError
from meso.materials import Materials, load_materials
from meso.microstructure import AXES, axis_index
from meso.solver_options import CG_BOOMERAMG, converged_reason_name, create_ksp


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
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = dolfinx.fem.form(sigma * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    zero = dolfinx.fem.Constant(mesh, PETSc.ScalarType(0.0))
    L = dolfinx.fem.form(zero * v * ufl.dx)
    bcs = [
        dolfinx.fem.dirichletbc(
            PETSc.ScalarType(value),
            dolfinx.fem.locate_dofs_topological(V, 2, tags.find(tag)),
            V,
        )
        for value, tag in ((1.0, 1), (0.0, 2))
    ]
    A = dolfinx.fem.petsc.assemble_matrix(a, bcs=bcs)
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(L)
    dolfinx.fem.petsc.apply_lifting(b, [a], bcs=[bcs])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    dolfinx.fem.petsc.set_bc(b, bcs)
    uh = dolfinx.fem.Function(V)
    length = cm.box_length_m(a_idx)
    uh.interpolate(lambda x: 1.0 - x[a_idx] / length)  # the pore-free solution
    ksp = create_ksp(A, f"meso_conforming_p{degree}_{AXES[a_idx]}_", solver_options)
    ksp.setInitialGuessNonzero(True)
    ksp.solve(b, petsc_vector(uh))
    uh.x.scatter_forward()
    iterations, reason = ksp.getIterationNumber(), ksp.getConvergedReason()
    for obj in (ksp, A, b):
        obj.destroy()
    power = dolfinx.fem.form(sigma * ufl.inner(ufl.grad(uh), ufl.grad(uh)) * ufl.dx)
    current = mesh.comm.allreduce(dolfinx.fem.assemble_scalar(power), op=MPI.SUM)
    return uh, float(current), int(iterations), int(reason)


def conduct_conforming(
    cm: ConformingMesh,
    axes: tuple[str, ...] | list[str] = AXES,
    degree: int = 1,
    materials: Materials | None = None,
    voxel_size_um: float | None = None,
    solver_options: dict[str, Any] | None = None,
    progress: Any = None,
    grain_boundary_asr_ohm_m2: float | None = None,
) -> ConductionResult:
    """Microstructure factors M = sigma_eff / sigma_grain on a conforming mesh.

    Parameters
    ----------
    cm : ConformingMesh (``meso.conforming_mesh.build_conforming_mesh``)
    axes : sequence of "x", "y", "z"
    degree : 1 or 2, the Lagrange degree ("p1"/"p2" in the result's method)
    materials : Materials, optional (default: the packaged LLZO table; grain conductivity used)
    voxel_size_um : float, optional
        The voxel size of the volume the geometry belongs to; sets ``shape`` in the result.
    solver_options : PETSc options replacing ``meso.solver_options.CG_BOOMERAMG``.
    progress : tqdm-like object with ``update()``, optional (one step per axis).
    grain_boundary_asr_ohm_m2 : float, optional
        Treat the grain-boundary facets of `cm` as zero-thickness interfaces of this
        area-specific resistance (``meso.interface_conduction``, DG of `degree`, method "dg1"/"dg2").

    Returns
    -------
    ConductionResult
        The same document as ``meso.conduction.conduct`` with method "p1"/"p2" (or "dg1"/"dg2").

    Examples
    --------
    >>> from meso.conforming_mesh import build_conforming_mesh
    >>> from meso.pore_geometry import PoreGeometry
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
        area = float(np.prod(np.delete(box, a)))
        t0 = time.perf_counter()
        if with_interfaces:
            from meso.interface_conduction import solve_axis_with_interfaces

            entry = solve_axis_with_interfaces(cm, axis, sigma_grain, grain_boundary_asr_ohm_m2,
                                               degree, solver_options)  # fmt: skip
            entry.tortuosity_factor = eps / entry.M if entry.M else None
            result.axes[axis] = {method: entry}
            if progress is not None:
                progress.update()
            continue
        uh, current, iterations, reason = solve_axis(cm, axis, sigma_grain, degree, solver_options)
        converged = reason > 0
        sigma_eff = current * box[a] / area if converged else None
        factor = sigma_eff / sigma_grain if converged else None
        result.axes[axis] = {
            method: AxisConduction(
                axis=axis,
                method=method,
                M=factor,
                sigma_eff_S_per_m=sigma_eff,
                tortuosity_factor=eps / factor if factor else None,
                percolating=True,
                iterations=iterations,
                converged=converged,
                dofs=uh.function_space.dofmap.index_map.size_global,
                current_A=current if converged else None,
                solver_reason=converged_reason_name(reason),
                solve_seconds=time.perf_counter() - t0,
            )
        }
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
    smoothing_voxels: float = 0.5,
    dataset: str | None = None,
    voxel_size_um: float | None = None,
) -> tuple[ConductionResult, ConformingMesh]:
    """Conforming-mesh conduction of a file (what ``meso conduct --mesh conforming`` would run).

    A `meso synth` synth.json: its exact pore ellipsoids are cut from the box by gmsh. A label
    volume: its solid with smoothed marching-cubes walls (``meso.surface_mesh``). Either way the
    solid is one phase of grain conductivity (grains and boundaries are not meshed here: compare
    with a voxel solve in which the boundary phase conducts like the grain).
    """
    from meso.conforming_mesh import build_conforming_mesh
    from meso.pore_geometry import load_synth_geometry

    path = Path(path)
    if path.suffix.lower() == ".json":
        if dataset is not None or voxel_size_um is not None:
            raise InputError(path, "a synth.json records its own geometry and voxel size")
        geometry = load_synth_geometry(path)
    else:
        from meso.surface_mesh import SegmentedGeometry
        from meso.volume_io import load

        m = load(path, dataset=dataset, voxel_size_um=voxel_size_um)
        m.require_solid()
        geometry = SegmentedGeometry(m.solid_mask(), m.voxel_size_um, smoothing_voxels, str(path))
    cm = build_conforming_mesh(geometry, size_um, comm=comm)
    result = conduct_conforming(cm, axes, degree, materials, geometry.voxel_size_um,
                                progress=progress)  # fmt: skip
    return result, cm


__all__ = [
    "CG_BOOMERAMG",
    "conduct_conforming",
    "conduct_file_conforming",
    "solid_volume_m3",
    "solve_axis",
]
