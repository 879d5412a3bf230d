"""Effective Young's modulus factors M_x, M_y, M_z on conforming tetrahedral meshes (P1/P2, DOLFINx).

The same loading as ``meso.elasticity``: along each axis the face normal to it at its start is
held at zero normal displacement and the opposite face is moved by strain * L, tangential
motion there is free (weak springs remove the rigid-body modes), every other surface (box
sides, pore walls) is traction-free. E_eff is the box-averaged axial stress over the strain;
the effective Poisson ratios follow from the mean displacements of the lateral faces.
"""

from __future__ import annotations

from typing import Any

import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from meso.conforming_mesh import ConformingMesh
from meso.dolfinx_compat import function_space
from meso.elasticity import SPRING, ElasticAxisResult
from meso.elasticity import _rigid_body_modes as rigid_body_modes  # the same GAMG near-nullspace
from meso.errors import InputError
from meso.microstructure import AXES, axis_index
from meso.solver_options import CG_GAMG_ELASTICITY, converged_reason_name, create_ksp
from meso.voxel_mesh import face_marker


def _face_mean(cm: ConformingMesh, value, marker: int) -> float | None:
    """Mean of `value` over the facets tagged `marker` (None if there are none)."""
    ds = ufl.Measure("ds", domain=cm.mesh, subdomain_data=cm.facet_tags)
    comm = cm.mesh.comm
    one = fem.Constant(cm.mesh, PETSc.ScalarType(1.0))
    area = comm.allreduce(fem.assemble_scalar(fem.form(one * ds(marker))), op=MPI.SUM)
    if area <= 0:
        return None
    return comm.allreduce(fem.assemble_scalar(fem.form(value * ds(marker))), op=MPI.SUM) / area


def solve_axis_elastic(
    cm: ConformingMesh,
    axis: str | int,
    E_Pa: float,
    nu: float,
    strain: float = 1e-3,
    degree: int = 1,
    solver_options: dict[str, Any] | None = None,
) -> ElasticAxisResult:
    """Uniaxial loading of the meshed solid along `axis` with Lagrange elements of `degree`.

    Returns
    -------
    ElasticAxisResult with M = E_eff / E_Pa (None when the solve did not converge).

    Examples
    --------
    >>> from meso.conforming_mesh import build_conforming_mesh
    >>> from meso.pore_geometry import PoreGeometry
    >>> cm = build_conforming_mesh(PoreGeometry((1, 1, 1), [], []), 0.5, comm=MPI.COMM_SELF)
    >>> r = solve_axis_elastic(cm, "x", 150e9, 0.25)
    >>> round(r.M, 6), round(r.nu_eff["y"], 6)
    (1.0, 0.25)
    """
    if degree not in (1, 2):
        raise InputError("degree", f"must be 1 or 2, got {degree}")
    if not np.isfinite(strain) or strain == 0 or abs(strain) > 0.1:
        raise InputError("strain", f"must be a small non-zero strain (|e| <= 0.1), got {strain}")
    a = axis_index(axis)
    mesh = cm.mesh
    V = function_space(mesh, "Lagrange", degree, (3,))
    mu = E_Pa / (2 * (1 + nu))
    lmbda = E_Pa * nu / ((1 + nu) * (1 - 2 * nu))

    def stress(w):
        eps = ufl.sym(ufl.grad(w))
        return 2 * mu * eps + lmbda * ufl.tr(eps) * ufl.Identity(3)

    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    length = cm.box_length_m(a)
    k = fem.Constant(mesh, PETSc.ScalarType(SPRING * E_Pa / length))
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=cm.facet_tags)
    loaded = (face_marker(a, "min"), face_marker(a, "max"))
    lateral = [b for b in range(3) if b != a]
    form = ufl.inner(stress(u), ufl.sym(ufl.grad(v))) * ufl.dx
    form += sum(k * u[b] * v[b] for b in lateral) * ds(loaded)
    zero = fem.Constant(mesh, PETSc.ScalarType((0.0, 0.0, 0.0)))
    rhs = ufl.inner(zero, v) * ufl.dx
    fdim = mesh.topology.dim - 1
    Va = V.sub(a)
    bcs = []
    for side, value in (("min", 0.0), ("max", strain * length)):
        facets = cm.facet_tags.indices[cm.facet_tags.values == face_marker(a, side)]
        dofs = fem.locate_dofs_topological(Va, fdim, facets)
        bcs.append(fem.dirichletbc(PETSc.ScalarType(value), dofs, Va))
    a_form, L_form = fem.form(form), fem.form(rhs)
    A = dolfinx.fem.petsc.assemble_matrix(a_form, bcs=bcs)
    A.assemble()
    A.setNearNullSpace(rigid_body_modes(V, A))
    b = dolfinx.fem.petsc.assemble_vector(L_form)
    dolfinx.fem.petsc.apply_lifting(b, [a_form], bcs=[bcs])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    dolfinx.fem.petsc.set_bc(b, bcs)
    ksp = create_ksp(A, f"meso_conforming_elastic_{AXES[a]}_",
                     solver_options or CG_GAMG_ELASTICITY)  # fmt: skip
    x = b.duplicate()
    ksp.solve(b, x)
    reason, iterations = ksp.getConvergedReason(), ksp.getIterationNumber()
    uh = fem.Function(V, name="displacement")
    uh.x.array[: x.getLocalSize()] = x.getArray()
    uh.x.scatter_forward()
    for obj in (ksp, A, b, x):
        obj.destroy()
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    if reason <= 0:
        return ElasticAxisResult(M=None, E_eff_Pa=None, nu_eff={AXES[c]: None for c in lateral},
                                 percolating=True, converged=False, iterations=iterations,
                                 solver_reason=converged_reason_name(reason), dofs=dofs)  # fmt: skip
    box_volume = float(np.prod(cm.box_m))
    axial = mesh.comm.allreduce(fem.assemble_scalar(fem.form(stress(uh)[a, a] * ufl.dx)),
                                op=MPI.SUM)  # fmt: skip
    E_eff = axial / box_volume / strain
    nu_eff: dict[str, float | None] = {}
    for c in lateral:
        lo = _face_mean(cm, uh[c], face_marker(c, "min"))
        hi = _face_mean(cm, uh[c], face_marker(c, "max"))
        nu_eff[AXES[c]] = (
            None if lo is None or hi is None else -(hi - lo) / cm.box_length_m(c) / strain
        )
    return ElasticAxisResult(M=E_eff / E_Pa, E_eff_Pa=E_eff, nu_eff=nu_eff, percolating=True,
                             converged=True, iterations=iterations,
                             solver_reason=converged_reason_name(reason), dofs=dofs)  # fmt: skip


def elastic_conforming(cm: ConformingMesh, axes=AXES, E_Pa: float = 150e9, nu: float = 0.257,
                       strain: float = 1e-3, degree: int = 1) -> dict[str, ElasticAxisResult]:  # fmt: skip
    """``solve_axis_elastic`` along each of `axes` (default: the LLZO grain of meso/data/llzo.toml)."""
    return {AXES[axis_index(ax)]: solve_axis_elastic(cm, ax, E_Pa, nu, strain, degree)
            for ax in axes}  # fmt: skip


__all__ = ["elastic_conforming", "solve_axis_elastic"]
