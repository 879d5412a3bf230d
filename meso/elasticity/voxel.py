"""Effective Young's modulus factors M_x, M_y, M_z and stress fields of voxel microstructures (PETSc multigrid)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from meso.elasticity.voxel_coarse import (
    CoarseSpace,
    aggregation_ksp,
    assemble_with_coarse_space,
    rigid_modes,
)
from meso.elasticity.voxel_stiffness import (
    VoxelNodes,
    VoxelStiffness,
    cell_stresses,
    face_mean_displacement,
    face_springs,
    lame_parameters,
)
from meso.errors import InputError
from meso.fem.solver_options import (
    CG_AGGREGATION_ELASTICITY,
    CG_GAMG_ELASTICITY,
    GAMG_SETUP_OPTIONS,
    converged_reason_name,
    create_ksp,
    global_options,
)
from meso.materials import Materials, load_materials
from meso.mesh.voxel import face_marker, spanning_clusters
from meso.microstructure import AXES, Microstructure, axis_index

# Tangential springs on the two loaded faces remove the rigid-body motions of every load-bearing
# cluster (two lateral translations and the rotation about the load axis) without pinning
# points; their stiffness k = SPRING * E_grain / L perturbs the stresses by about SPRING.
SPRING = 1e-9


@dataclass
class StressStatistics:
    """Stress concentration in the solid, relative to the mean axial (applied) stress."""

    mean_axial_stress_Pa: float
    von_mises_max_Pa: float
    von_mises_p99_Pa: float
    max_over_mean_axial: float
    p99_over_mean_axial: float
    hydrostatic_min_Pa: float
    hydrostatic_max_Pa: float
    # distance (um) from each solid voxel centre to the nearest pore voxel centre
    distance_bins_um: list[float] = field(default_factory=list)
    hotspot_counts: list[int] = field(default_factory=list)  # von Mises >= 99th percentile
    solid_counts: list[int] = field(default_factory=list)


@dataclass
class ElasticAxisResult:
    """Uniaxial loading along one axis (prescribed normal displacement, free lateral faces)."""

    M: float | None  # None when the solve did not converge: never a number from a failed solve
    E_eff_Pa: float | None
    nu_eff: dict[str, float | None]
    percolating: bool
    converged: bool
    iterations: int
    solver_reason: str = "not solved"  # PETSc's converged/diverged reason
    dofs: int = 0
    stress: StressStatistics | None = None


@dataclass
class ElasticityResult:
    shape: list[int]
    voxel_size_um: float
    volume_fractions: dict[str, float]
    strain: float
    axes: dict[str, ElasticAxisResult]
    dofs: int = 0
    ranks: int = 1
    wall_seconds: float = 0.0
    method: str = "fe"
    quantity: str = "elasticity"

    def to_json(self) -> dict:
        """The `elasticity.json` document (DESIGN.md section 4)."""
        data = asdict(self)
        order = ["quantity", "method", "shape", "voxel_size_um", "volume_fractions", "strain"]
        return {k: data[k] for k in order} | {k: v for k, v in data.items() if k not in order}


@dataclass
class ElasticFields:
    """Fields of one voxel solve, on rank 0 (None elsewhere): displacements (m) of the
    `nodes` (nodes, 3) and per-voxel stress averages (Pa), NaN outside the load-bearing solid
    ``nodes.keep`` (`nodes` on every rank)."""

    axis: str
    nodes: VoxelNodes
    displacement_m: np.ndarray | None
    von_mises_Pa: np.ndarray | None
    hydrostatic_Pa: np.ndarray | None
    axial_stress_Pa: np.ndarray | None


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


def axis_result(
    axis: int,
    axial_integral: float | None,
    face_means: dict[int, tuple[float | None, float | None]],
    box_m: np.ndarray,
    E_reference_Pa: float,
    strain: float,
    iterations: int,
    reason: int,
    dofs: int,
) -> ElasticAxisResult:
    """E_eff = (integral of the axial stress over the box) / box volume / strain (pores carry
    none), M = E_eff / E_ref, and the two Poisson ratios from the mean displacements (lo, hi)
    of the lateral faces of each lateral component; M None and no numbers for a solve that did
    not converge (reason <= 0)."""
    lateral = [c for c in range(3) if c != axis]
    common = dict(percolating=True, iterations=iterations, dofs=dofs,
                  solver_reason=converged_reason_name(reason))  # fmt: skip
    if reason <= 0:
        return ElasticAxisResult(M=None, E_eff_Pa=None, nu_eff={AXES[c]: None for c in lateral},
                                 converged=False, **common)  # fmt: skip
    E_eff = axial_integral / float(np.prod(box_m)) / strain
    nu_eff: dict[str, float | None] = {}
    for c in lateral:
        lo, hi = face_means[c]
        nu_eff[AXES[c]] = None if lo is None or hi is None else -(hi - lo) / box_m[c] / strain
    return ElasticAxisResult(M=E_eff / E_reference_Pa, E_eff_Pa=E_eff, nu_eff=nu_eff,
                             converged=True, **common)  # fmt: skip


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


def voxel_moduli(
    labels: np.ndarray, keep: np.ndarray, elastic_constants: dict[int, tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Lame parameters (lambda, mu) in Pa of every voxel in `keep` (0 elsewhere)."""
    E, nu = np.zeros(256), np.zeros(256)
    for label, (E_label, nu_label) in elastic_constants.items():
        E[label], nu[label] = E_label, nu_label
    lam, mu = lame_parameters(E[labels], nu[labels])
    return np.where(keep, lam, 0.0), np.where(keep, mu, 0.0)


def solve_axis(
    stiffness: VoxelStiffness,
    coarse: CoarseSpace,
    axis: str | int,
    E_reference_Pa: float,
    strain: float = 1e-3,
    guess_nu: float = 0.25,
    solver_options: dict | None = None,
) -> tuple[ElasticAxisResult, ElasticFields | None]:
    """Load the voxel solid along `axis` and return E_eff, nu_eff and the stress fields.

    CG is preconditioned by the two-level cycle on the `coarse` space of the stiffness
    (``meso.elasticity.voxel_coarse``; `solver_options` default CG_AGGREGATION_ELASTICITY).

    The face normal to `axis` at its start is held at zero normal displacement, the opposite
    face is moved by ``strain * L``; tangential displacements there and all other faces are
    free (traction-free; lumped tangential springs SPRING E / L remove the rigid-body modes).
    E_eff is the box-averaged axial stress (pores carry none) divided by the applied strain;
    nu_eff follows from the mean displacement of the lateral faces. Stresses and results are
    computed on rank 0 from the gathered displacements and broadcast.
    """
    a = axis_index(axis)
    comm, h = stiffness.comm, stiffness.h
    box_m = np.array(stiffness.shape) * h
    springs = face_springs(stiffness, a, SPRING * E_reference_Pa / box_m[a])
    dirichlet = np.zeros((stiffness.num_owned, 3), bool)  # u_a on the two loaded faces
    dirichlet[:, a] = np.isin(stiffness.ijk[:, a], (0, stiffness.shape[a]))
    on_face = np.flatnonzero(dirichlet[:, a])
    rows = (3 * (stiffness.start + on_face) + a).astype(PETSc.IntType)
    values = np.where(stiffness.ijk[on_face, a] == 0, 0.0, strain * box_m[a])
    guess = homogeneous_displacement(stiffness.coordinates().T, a, strain, guess_nu, box_m)
    prefix = f"meso_elastic_{AXES[a]}_"
    diagonal = springs.getDiagonal()
    with coarse.loaded(stiffness, dirichlet, diagonal.getArray().reshape(-1, 3)) as operator:

        def make_ksp(A):
            return aggregation_ksp(A, coarse.prolongator, operator, prefix,
                                   solver_options or CG_AGGREGATION_ELASTICITY)  # fmt: skip

        solution, iterations, reason = solve_loaded(
            stiffness.matrix, springs, rows, values, guess.T.ravel(), prefix, make_ksp=make_ksp,
        )  # fmt: skip
    diagonal.destroy()
    springs.destroy()
    displacement = stiffness.gather_displacement(solution)
    nodes = stiffness.nodes
    stresses, axial, means = None, None, {}
    if comm.rank == 0 and reason > 0:
        stresses = cell_stresses(displacement, nodes, stiffness.lam, stiffness.mu, h, a)
        axial = float(np.nansum(stresses.axial)) * h**3
        means = {c: tuple(face_mean_displacement(displacement, nodes, c, side)
                          for side in ("min", "max")) for c in range(3) if c != a}  # fmt: skip
    axial, means = comm.bcast((axial, means), root=0)
    result = axis_result(a, axial, means, box_m, E_reference_Pa, strain, iterations, reason,
                         3 * stiffness.count)  # fmt: skip
    if not result.converged:
        return result, None
    if stresses is None:  # ranks other than 0
        return result, ElasticFields(AXES[a], nodes, None, None, None, None)
    fields = ElasticFields(AXES[a], nodes, displacement, stresses.von_mises, stresses.hydrostatic,
                           stresses.axial)  # fmt: skip
    return result, fields


def _percentile(values: np.ndarray, q: float, weights: np.ndarray | None) -> float:
    """numpy's percentile, or with `weights` (cell volumes) the volume-weighted one."""
    if weights is None:
        return float(np.percentile(values, q))
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    centres = (cumulative - 0.5 * weights[order]) / cumulative[-1]
    return float(np.interp(q / 100.0, centres, values[order]))


def cell_stress_statistics(
    von_mises_Pa: np.ndarray,
    hydrostatic_Pa: np.ndarray,
    mean_axial_Pa: float,
    distance_um: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    min_range_um: float = 0.0,
) -> StressStatistics:
    """StressStatistics of per-cell values of the solid (voxels, or tetrahedra with their
    volumes as `weights`). `distance_um`: each cell's distance to the nearest pore, for the
    histogram of hot spots (von Mises >= its 99th percentile) against all cells."""
    p99 = _percentile(von_mises_Pa, 99, weights)
    peak = float(von_mises_Pa.max())
    stats = StressStatistics(
        mean_axial_stress_Pa=mean_axial_Pa,
        von_mises_max_Pa=peak,
        von_mises_p99_Pa=p99,
        max_over_mean_axial=peak / mean_axial_Pa,
        p99_over_mean_axial=p99 / mean_axial_Pa,
        hydrostatic_min_Pa=float(hydrostatic_Pa.min()),
        hydrostatic_max_Pa=float(hydrostatic_Pa.max()),
    )
    if distance_um is not None and len(distance_um):
        bins = np.linspace(0.0, max(float(distance_um.max()), min_range_um), 11)
        stats.distance_bins_um = bins.tolist()
        stats.hotspot_counts = np.histogram(distance_um[von_mises_Pa >= p99], bins)[0].tolist()
        stats.solid_counts = np.histogram(distance_um, bins)[0].tolist()
    return stats


def stress_statistics(
    fields: ElasticFields, pore_mask: np.ndarray, mean_axial_Pa: float, voxel_size_um: float
) -> StressStatistics:
    """Peak and 99th-percentile von Mises stress over the solid voxels, and how far the hot
    spots sit from pores (voxel centre to nearest pore voxel centre)."""
    import edt

    solid = np.isfinite(fields.von_mises_Pa)
    distance = None
    if pore_mask.any():
        distance = (edt.edt(~pore_mask, black_border=False) * voxel_size_um)[solid]
    return cell_stress_statistics(fields.von_mises_Pa[solid], fields.hydrostatic_Pa[solid],
                                  mean_axial_Pa, distance, min_range_um=voxel_size_um)  # fmt: skip


def _release(problems: dict[bytes, tuple[VoxelStiffness, CoarseSpace]]) -> None:
    """Free the PETSc objects of the assembled problems and forget them."""
    for problem in problems.values():
        for part in problem:
            part.destroy()
    problems.clear()


def solve_elasticity(
    m: Microstructure,
    axes: Sequence[str] = AXES,
    materials: Materials | None = None,
    strain: float = 1e-3,
    comm: MPI.Comm = MPI.COMM_WORLD,
    on_fields: Callable[[ElasticFields], None] | None = None,
    progress: Callable[[str], None] | None = None,  # called with each finished axis
) -> ElasticityResult:
    """Effective Young's modulus factor M = E_eff / E_grain and Poisson ratios along each axis.

    Pores (void phases of the materials) are removed; solid clusters that do not connect both
    loaded faces through shared voxel faces carry no load and are removed too (edge- or
    corner-only contacts would be hinges). Without a connecting cluster the axis gets M = 0
    and ``percolating: false`` without a solve.

    Examples
    --------
    >>> import numpy as np
    >>> from meso import Microstructure
    >>> r = solve_elasticity(Microstructure(np.ones((4, 4, 4), np.uint8)), axes=["x"])
    >>> round(r.axes["x"].M, 6), round(r.axes["x"].nu_eff["y"], 6)
    (1.0, 0.257)
    """
    start = time.perf_counter()
    check_strain(strain)
    materials = materials or load_materials()
    E_ref = materials.grain.E_Pa
    if E_ref is None:
        raise InputError(materials.source, "the grain phase has no E_Pa (reference of M)")
    labels = m.labels
    present = set(np.unique(labels).tolist())
    void_labels = {lab for lab in present if materials.by_label(lab).void}
    constants = materials.elastic_constants(present - void_labels)
    solid = ~np.isin(labels, list(void_labels))
    if not solid.any():
        raise InputError(m.metadata.get("source", "volume"), "the volume is all pore")

    guess_nu = float(np.mean([nu_i for _, nu_i in constants.values()]))
    results: dict[str, ElasticAxisResult] = {}
    dofs = 0
    problems: dict[bytes, tuple[VoxelStiffness, CoarseSpace]] = {}
    for axis in axes:
        a = axis_index(axis)
        keep = spanning_clusters(solid, a, connectivity=1)  # on every rank: cheaper than sending
        if not keep.any():
            results[AXES[a]] = ElasticAxisResult(
                M=0.0, E_eff_Pa=0.0, nu_eff={AXES[c]: None for c in range(3) if c != a},
                percolating=False, converged=True, iterations=0,
            )  # fmt: skip
            if progress:
                progress(AXES[a])
            continue
        key = np.packbits(keep).tobytes()
        if key not in problems:  # the same load-bearing set for several axes: assemble once
            _release(problems)  # one matrix alive at a time
            problems[key] = assemble_with_coarse_space(*voxel_moduli(labels, keep, constants),
                                                       m.voxel_size_m, comm)  # fmt: skip
        stiffness, coarse = problems[key]
        result, fields = solve_axis(stiffness, coarse, a, E_ref, strain, guess_nu)
        dofs = max(dofs, result.dofs)
        if fields is not None and comm.rank == 0:
            result.stress = stress_statistics(
                fields, ~solid, result.E_eff_Pa * strain, m.voxel_size_um
            )
        if fields is not None and on_fields is not None:
            on_fields(fields)
        results[AXES[a]] = result
        if progress:
            progress(AXES[a])
    _release(problems)
    return ElasticityResult(
        shape=list(m.shape),
        voxel_size_um=m.voxel_size_um,
        volume_fractions=m.volume_fractions(),
        strain=strain,
        axes=results,
        dofs=dofs,
        ranks=comm.size,
        wall_seconds=time.perf_counter() - start,
    )
