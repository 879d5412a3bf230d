"""Pieces every conduction solver shares: the 1 V / 0 V Lagrange system and the per-axis result arithmetic.

``axis_conduction`` turns the current of one solve at 1 V into the ``AxisConduction`` entry of
conduction.json (sigma_eff = I L / A, M = sigma_eff / sigma_grain, tau = eps / M; no numbers
from a solve that did not converge); ``dirichlet_system`` assembles a Lagrange conduction
problem with 1 V on facets tagged 1 and 0 V on facets tagged 2. Used by the voxel (fv, fe),
conforming P1/P2 and interface (DG) solvers (``meso.conduction.voxel`` is imported lazily, so that it
can import this module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dolfinx.fem
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from meso.fem.compat import petsc_vector
from meso.fem.solver_options import converged_reason_name, create_ksp

if TYPE_CHECKING:
    from meso.conduction.voxel import AxisConduction


def axis_conduction(
    axis: str,
    method: str,
    current_A: float,
    reason: int,
    length_m: float,
    area_m2: float,
    sigma_grain_S_per_m: float,
    conducting_fraction: float,
    iterations: int,
    dofs: int,
    solve_seconds: float = 0.0,
) -> AxisConduction:
    """The result entry of one converged (reason > 0) or failed solve at 1 V along `axis`.

    Examples
    --------
    >>> r = axis_conduction("x", "p1", 2.0, 2, 1.0, 4.0, 1.0, 0.5, 3, 10)
    >>> r.M, r.sigma_eff_S_per_m, r.tortuosity_factor
    (0.5, 0.5, 1.0)
    """
    from meso.conduction.voxel import AxisConduction

    converged = reason > 0
    sigma_eff = current_A * length_m / area_m2 if converged else None
    factor = sigma_eff / sigma_grain_S_per_m if converged else None
    return AxisConduction(
        axis=axis,
        method=method,
        M=factor,
        sigma_eff_S_per_m=sigma_eff,
        tortuosity_factor=conducting_fraction / factor if factor else None,
        percolating=True,
        iterations=int(iterations),
        converged=converged,
        dofs=int(dofs),
        current_A=float(current_A) if converged else None,
        solver_reason=converged_reason_name(reason),
        solve_seconds=solve_seconds,
    )


def dirichlet_system(V, sigma, electrode_tags) -> tuple[PETSc.Mat, PETSc.Vec]:
    """Matrix and right-hand side of div(sigma grad phi) = 0 in the Lagrange space `V` with
    phi = 1 on the facets tagged 1 and 0 on those tagged 2 of `electrode_tags` (lifted)."""
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = dolfinx.fem.form(sigma * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    zero = dolfinx.fem.Constant(V.mesh, PETSc.ScalarType(0.0))
    L = dolfinx.fem.form(zero * v * ufl.dx)
    fdim = V.mesh.topology.dim - 1
    bcs = [
        dolfinx.fem.dirichletbc(
            PETSc.ScalarType(value),
            dolfinx.fem.locate_dofs_topological(V, fdim, electrode_tags.find(tag)),
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
    return A, b


def solve_from_linear_guess(
    A: PETSc.Mat, b: PETSc.Vec, V, axis: int, length_m: float, prefix: str, solver_options=None
) -> tuple[dolfinx.fem.Function, int, int]:
    """Solve A phi = b in `V` with CG (options under `prefix`), starting from the pore-free
    solution 1 - x_axis / L; destroys A and b. Returns (phi, iterations, PETSc reason)."""
    uh = dolfinx.fem.Function(V)
    uh.interpolate(lambda x: 1.0 - x[axis] / length_m)
    ksp = create_ksp(A, prefix, solver_options)
    ksp.setInitialGuessNonzero(True)
    ksp.solve(b, petsc_vector(uh))
    uh.x.scatter_forward()
    iterations, reason = ksp.getIterationNumber(), ksp.getConvergedReason()
    for obj in (ksp, A, b):
        obj.destroy()
    return uh, int(iterations), int(reason)


def dissipated_current(uh: dolfinx.fem.Function, sigma) -> float:
    """sigma |grad phi|^2 integrated over the mesh (all ranks): the current at 1 V, exact for
    the discrete Galerkin solution."""
    power = dolfinx.fem.form(sigma * ufl.inner(ufl.grad(uh), ufl.grad(uh)) * ufl.dx)
    mesh = uh.function_space.mesh
    return float(mesh.comm.allreduce(dolfinx.fem.assemble_scalar(power), op=MPI.SUM))


__all__ = ["axis_conduction", "dirichlet_system", "dissipated_current", "solve_from_linear_guess"]
