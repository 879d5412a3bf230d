"""The uniaxial loading of `meso elastic` on any mesh: Dirichlet faces, tangential springs, rigid modes."""

from __future__ import annotations

from collections.abc import Callable

import dolfinx.fem.petsc
import dolfinx.la
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from meso.elasticity.results import ElasticAxisResult, axis_result
from meso.elasticity.voxel_coarse import rigid_modes
from meso.errors import InputError
from meso.fem.solver_options import (
    CG_GAMG_ELASTICITY,
    GAMG_SETUP_OPTIONS,
    create_ksp,
    global_options,
)
from meso.mesh.face_markers import face_marker

# Tangential springs on the two loaded faces remove the rigid-body motions of every load-bearing
# cluster (two lateral translations and the rotation about the load axis) without pinning
# points; their stiffness k = SPRING * E_grain / L perturbs the stresses by about SPRING.
SPRING = 1e-9


def rigid_body_modes(coordinates: np.ndarray, A: PETSc.Mat) -> PETSc.NullSpace:
    """The six rigid-body displacement fields at the owned nodes `coordinates` (n, 3) of a
    matrix with interlaced components: the near-nullspace GAMG needs for elasticity."""
    modes = rigid_modes(coordinates)  # (n, 3, 6): translations, rotations about x, y, z
    vectors = [A.createVecLeft() for _ in range(6)]
    # rotation about z first: GAMG's hierarchy depends on the order (with x, y, z the P2
    # spherical-pore test stopped converging)
    for k, v in zip((0, 1, 2, 5, 3, 4), vectors, strict=True):
        v.setArray(modes[:, :, k].ravel())
    dolfinx.la.orthonormalize(vectors)
    return PETSc.NullSpace().create(vectors=vectors)


def face_mean(mesh, facet_tags, value, marker: int) -> float | None:
    """Mean of `value` over the facets tagged `marker` (None where there are none)."""
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    comm = mesh.comm
    area = comm.allreduce(fem.assemble_scalar(fem.form(1.0 * ds(marker))), op=MPI.SUM)
    if area <= 0:
        return None
    return comm.allreduce(fem.assemble_scalar(fem.form(value * ds(marker))), op=MPI.SUM) / area


def isotropic_stress(mu, lmbda) -> Callable:
    """w -> the linear-elastic stress 2 mu eps(w) + lambda tr(eps(w)) I (UFL)."""

    def sigma(w):
        eps = ufl.sym(ufl.grad(w))
        return 2 * mu * eps + lmbda * ufl.tr(eps) * ufl.Identity(3)

    return sigma


def check_strain(strain: float, name: str = "--strain") -> None:
    """InputError (naming `name`) unless `strain` is a small non-zero number, |e| <= 0.1."""
    if not np.isfinite(strain) or strain == 0 or abs(strain) > 0.1:
        raise InputError(name, f"must be a small non-zero strain (|e| <= 0.1), got {strain}")


def homogeneous_displacement(
    X: np.ndarray, axis: int, strain: float, nu: float, box_m: np.ndarray
) -> np.ndarray:
    """Displacement (3, n) of a homogeneous block at points `X` (3, n) under the loading of
    ``solve_uniaxial``: strain * x along `axis`, lateral contraction -nu * strain about the
    block's centre (where the tangential springs pull with zero net force)."""
    u = -nu * strain * (X - 0.5 * np.asarray(box_m)[:, None])
    u[axis] = strain * X[axis]
    return u


class BulkStiffness:
    """The stiffness matrix of `sigma` on the vector space `V`, assembled once and loaded along
    each axis in place by ``solve_uniaxial`` (which restores it afterwards).

    The three axes differ only in a few thousand Dirichlet rows and the face springs, so
    assembling once instead of per axis saves two of three DOLFINx assemblies (~20% of a voxel
    solve: inserting 576 entries per hexahedron into the AIJ matrix dominates).
    """

    def __init__(self, V, sigma: Callable, measure):
        u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
        self.V = V
        self.matrix = dolfinx.fem.petsc.assemble_matrix(
            fem.form(ufl.inner(sigma(u), ufl.sym(ufl.grad(v))) * measure)
        )
        self.matrix.assemble()
        owned = V.dofmap.index_map.size_local
        coordinates = V.tabulate_dof_coordinates()[:owned]
        self.matrix.setNearNullSpace(rigid_body_modes(coordinates, self.matrix))

    def owned_global_rows(self, local_dofs: np.ndarray) -> np.ndarray:
        """PETSc rows of the owned entries of `local_dofs` (V's local, unrolled numbering)."""
        index_map, bs = self.V.dofmap.index_map, self.V.dofmap.index_map_bs
        owned = local_dofs[local_dofs < index_map.size_local * bs]
        blocks = np.asarray(index_map.local_to_global((owned // bs).astype(np.int32)))
        return (blocks * bs + owned % bs).astype(PETSc.IntType)

    def destroy(self) -> None:
        self.matrix.destroy()


def solve_loaded(
    A: PETSc.Mat,
    springs: PETSc.Mat,
    rows: np.ndarray,
    values: np.ndarray,
    guess: np.ndarray,
    prefix: str,
    solver_options: dict | None = None,
    make_ksp: Callable[[PETSc.Mat], PETSc.KSP] | None = None,
) -> tuple[np.ndarray, int, int]:
    """Solve (A + springs) u = 0 with u[rows] = values by CG from `guess` (owned entries),
    eliminating the Dirichlet rows and columns in place and restoring `A` after. The KSP is
    `make_ksp` of the eliminated matrix, by default CG + GAMG (`solver_options`).
    Returns (owned solution, iterations, PETSc converged reason)."""
    subset = PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN
    A.axpy(1.0, springs, structure=subset)
    saved = [A.getRow(r) for r in rows]  # to restore the eliminated rows and columns
    x, b = A.createVecRight(), A.createVecLeft()
    x.setArray(guess)
    x.setValues(rows, values)
    x.assemble()
    b.zeroEntries()
    A.zeroRowsColumns(rows, 1.0, x, b)  # b takes the prescribed values' lifting
    if make_ksp is None:
        ksp = create_ksp(A, prefix, solver_options or CG_GAMG_ELASTICITY)
    else:
        ksp = make_ksp(A)  # set up already (aggregation_ksp)
    ksp.setInitialGuessNonzero(True)
    with global_options(GAMG_SETUP_OPTIONS):  # a GAMG not set up yet does so in the solve
        ksp.solve(b, x)
    reason, iterations = ksp.getConvergedReason(), ksp.getIterationNumber()
    solution = x.getArray().copy()
    for obj in (ksp, b, x):
        obj.destroy()
    for row, (cols, vals) in zip(rows, saved, strict=True):  # K + S is symmetric
        A.setValues([row], cols, vals)
        A.setValues(cols, [row], vals)
    A.assemble()
    A.axpy(-1.0, springs, structure=subset)
    return solution, int(iterations), int(reason)


def solve_uniaxial(
    stiffness: BulkStiffness,
    facet_tags,
    axis: int,
    E_reference_Pa: float,
    strain: float,
    box_m: np.ndarray,
    prefix: str,
    solver_options: dict | None = None,
    guess_nu: float | None = None,
) -> tuple[fem.Function, int, int]:
    """The loading of `meso elastic` along `axis` on any mesh with box-face facet tags.

    The face normal to `axis` at its start is held at zero normal displacement and the
    opposite one moved by ``strain * L``; tangential springs of stiffness SPRING E / L on both
    remove the rigid-body modes, every other surface is traction-free. CG + GAMG with the
    rigid-body near-nullspace, started from the homogeneous solution for Poisson ratio
    `guess_nu` when given (``solve_loaded``). Returns (displacement, iterations, PETSc
    converged reason).
    """
    V = stiffness.V
    mesh = V.mesh
    length = float(box_m[axis])
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    k = fem.Constant(mesh, PETSc.ScalarType(SPRING * E_reference_Pa / length))
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=facet_tags)
    loaded = (face_marker(axis, "min"), face_marker(axis, "max"))
    springs = dolfinx.fem.petsc.assemble_matrix(
        fem.form(sum(k * u[b] * v[b] for b in range(3) if b != axis) * ds(loaded))
    )
    springs.assemble()
    fdim = mesh.topology.dim - 1
    rows, values = [], []
    for side, value in (("min", 0.0), ("max", strain * length)):
        facets = facet_tags.indices[facet_tags.values == face_marker(axis, side)]
        rows.append(stiffness.owned_global_rows(fem.locate_dofs_topological(V.sub(axis), fdim,
                                                                            facets)))  # fmt: skip
        values.append(np.full(len(rows[-1]), value))
    uh = fem.Function(V, name="displacement")
    if guess_nu is not None:
        # start from the homogeneous block's solution (it meets the prescribed displacements);
        # on a 5%-porous 64^3 volume, 30 CG iterations instead of 40 at rtol 1e-7
        uh.interpolate(lambda X: homogeneous_displacement(X, axis, strain, guess_nu, box_m))
    owned = stiffness.matrix.getLocalSize()[1]
    solution, iterations, reason = solve_loaded(
        stiffness.matrix, springs, np.concatenate(rows), np.concatenate(values),
        uh.x.array[:owned], prefix, solver_options,
    )  # fmt: skip
    springs.destroy()
    uh.x.array[:owned] = solution
    uh.x.scatter_forward()
    return uh, iterations, reason


def uniaxial_result(
    uh: fem.Function,
    stress,
    axis: int,
    measure,
    facet_tags,
    box_m: np.ndarray,
    E_reference_Pa: float,
    strain: float,
    iterations: int,
    reason: int,
) -> ElasticAxisResult:
    """``axis_result`` of a DOLFINx solve: the axial stress integrated over `measure`, the
    lateral faces' mean displacements over their facet tags."""
    V = uh.function_space
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    axial, means = None, {}
    if reason > 0:
        mesh = V.mesh
        axial = mesh.comm.allreduce(fem.assemble_scalar(fem.form(stress[axis, axis] * measure)),
                                    op=MPI.SUM)  # fmt: skip
        means = {c: tuple(face_mean(mesh, facet_tags, uh[c], face_marker(c, side))
                          for side in ("min", "max")) for c in range(3) if c != axis}  # fmt: skip
    return axis_result(axis, axial, means, box_m, E_reference_Pa, strain, iterations, reason,
                       dofs)  # fmt: skip
