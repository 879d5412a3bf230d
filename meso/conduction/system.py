"""The Dirichlet conduction system every Lagrange solver shares: 1 V / 0 V faces, solve, current.

``dirichlet_system`` assembles a Lagrange conduction problem with 1 V on facets tagged 1 and 0 V
on facets tagged 2; used by the voxel fe and conforming P1/P2 solvers.
"""

from __future__ import annotations

import dolfinx.fem
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from meso.fem.compat import petsc_vector
from meso.fem.solver_options import create_ksp


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


__all__ = ["dirichlet_system", "dissipated_current", "solve_from_linear_guess"]
