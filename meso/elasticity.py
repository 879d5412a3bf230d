"""Effective Young's modulus factors M_x, M_y, M_z and stress fields of voxel microstructures (DOLFINx)."""

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

from meso.dolfinx_compat import cell_dofs, function_space
from meso.errors import InputError
from meso.materials import Materials, load_materials
from meso.microstructure import AXES, Microstructure, axis_index
from meso.solver_options import CG_GAMG_ELASTICITY, converged_reason_name, create_ksp
from meso.voxel_mesh import VoxelMesh, build_voxel_mesh, face_marker, spanning_clusters

# Tangential springs on the two loaded faces remove the rigid-body motions of every load-bearing
# cluster (two lateral translations and the rotation about the load axis) without pinning
# points; their stiffness k = SPRING * E_grain / L perturbs the stresses by about SPRING.
SPRING = 1e-9

# 2x2x2 Gauss points integrate products of Q1 gradients on the (affine) voxel cubes exactly;
# UFL's own estimate for the stiffness with E, nu coefficients picks many more points.
dx = ufl.Measure("dx", metadata={"quadrature_degree": 2})


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
    """Fields of one solve: distributed DOLFINx functions (for XDMF) and voxel arrays gathered on
    rank 0 (None elsewhere; NaN in removed voxels)."""

    axis: str
    displacement: fem.Function
    von_mises: fem.Function  # DG0, cell averages in Pa
    hydrostatic: fem.Function  # DG0, cell averages in Pa
    von_mises_Pa: np.ndarray | None
    hydrostatic_Pa: np.ndarray | None
    axial_stress_Pa: np.ndarray | None


def _lame(E: fem.Function, nu: fem.Function):
    return E / (2 * (1 + nu)), E * nu / ((1 + nu) * (1 - 2 * nu))


def _rigid_body_modes(V, A: PETSc.Mat) -> PETSc.NullSpace:
    """The six rigid-body displacement fields, the near-nullspace GAMG needs for elasticity."""
    owned = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:owned]
    vectors = [A.createVecLeft() for _ in range(6)]
    arrays = [v.getArray().reshape(-1, 3) for v in vectors]
    for i in range(3):
        arrays[i][:, i] = 1.0
    arrays[3][:, 0], arrays[3][:, 1] = -x[:, 1], x[:, 0]
    arrays[4][:, 1], arrays[4][:, 2] = -x[:, 2], x[:, 1]
    arrays[5][:, 2], arrays[5][:, 0] = -x[:, 0], x[:, 2]
    for v, a in zip(vectors, arrays, strict=True):
        v.setArray(a.ravel())
    dolfinx.la.orthonormalize(vectors)
    return PETSc.NullSpace().create(vectors=vectors)


def _cell_function(V0, vm: VoxelMesh, values_by_label: dict[int, float]) -> fem.Function:
    """A DG0 function that takes the value of each cell's phase label."""
    f = fem.Function(V0)
    lookup = np.zeros(256)
    for label, value in values_by_label.items():
        lookup[label] = value
    dofs = cell_dofs(V0)[vm.cell_tags.indices, 0]
    f.x.array[dofs] = lookup[vm.cell_tags.values]
    return f


def _cell_average(V0, expr, vm: VoxelMesh, name: str) -> tuple[fem.Function, np.ndarray | None]:
    """The average of a scalar UFL expression over each cell, as a DG0 function and as a voxel
    array on rank 0 (assembled against DG0 test functions: exact for the quadrature used)."""
    w = ufl.TestFunction(V0)
    vec = dolfinx.fem.petsc.assemble_vector(fem.form(expr * w * dx))
    vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    f = fem.Function(V0, name=name)
    f.x.array[: vec.getLocalSize()] = vec.getArray() / vm.voxel_size_m**3
    f.x.scatter_forward()
    vec.destroy()
    owned = vm.num_owned_cells
    return f, vm.gather_cell_values(f.x.array[cell_dofs(V0)[:owned, 0]])


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
        self.matrix.setNearNullSpace(_rigid_body_modes(V, self.matrix))

    def owned_global_rows(self, local_dofs: np.ndarray) -> np.ndarray:
        """PETSc rows of the owned entries of `local_dofs` (V's local, unrolled numbering)."""
        index_map, bs = self.V.dofmap.index_map, self.V.dofmap.index_map_bs
        owned = local_dofs[local_dofs < index_map.size_local * bs]
        blocks = np.asarray(index_map.local_to_global((owned // bs).astype(np.int32)))
        return (blocks * bs + owned % bs).astype(PETSc.IntType)

    def destroy(self) -> None:
        self.matrix.destroy()


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
    `guess_nu` when given. The springs and the eliminated Dirichlet rows and columns are put
    into ``stiffness.matrix`` for the solve and taken out again. Returns (displacement,
    iterations, PETSc converged reason).
    """
    V, A = stiffness.V, stiffness.matrix
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
    subset = PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN
    A.axpy(1.0, springs, structure=subset)
    fdim = mesh.topology.dim - 1
    rows, values = [], []
    for side, value in (("min", 0.0), ("max", strain * length)):
        facets = facet_tags.indices[facet_tags.values == face_marker(axis, side)]
        rows.append(stiffness.owned_global_rows(fem.locate_dofs_topological(V.sub(axis), fdim,
                                                                            facets)))  # fmt: skip
        values.append(np.full(len(rows[-1]), value))
    rows_all, values_all = np.concatenate(rows), np.concatenate(values)
    saved = [A.getRow(r) for r in rows_all]  # to restore the eliminated rows and columns
    uh = fem.Function(V, name="displacement")
    if guess_nu is not None:
        # start from the homogeneous block's solution (it meets the prescribed displacements);
        # on a 5%-porous 64^3 volume, 30 CG iterations instead of 40 at rtol 1e-7
        uh.interpolate(lambda X: homogeneous_displacement(X, axis, strain, guess_nu, box_m))
    x, b = A.createVecRight(), A.createVecLeft()
    x.setArray(uh.x.array[: x.getLocalSize()])
    x.setValues(rows_all, values_all)
    x.assemble()
    b.zeroEntries()
    A.zeroRowsColumns(rows_all, 1.0, x, b)  # b takes the prescribed values' lifting
    ksp = create_ksp(A, prefix, solver_options or CG_GAMG_ELASTICITY)
    ksp.setInitialGuessNonzero(True)
    ksp.solve(b, x)
    reason, iterations = ksp.getConvergedReason(), ksp.getIterationNumber()
    uh.x.array[: x.getLocalSize()] = x.getArray()
    uh.x.scatter_forward()
    for obj in (ksp, b, x):
        obj.destroy()
    for row, (cols, vals) in zip(rows_all, saved, strict=True):  # K + S is symmetric
        A.setValues([row], cols, vals)
        A.setValues(cols, [row], vals)
    A.assemble()
    A.axpy(-1.0, springs, structure=subset)
    springs.destroy()
    return uh, int(iterations), int(reason)


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
    """E_eff (box-averaged axial stress over the strain; pores carry none), M = E_eff / E_ref
    and the two Poisson ratios (mean displacements of the lateral faces) of one solve; M None
    and no numbers for a solve that did not converge."""
    V = uh.function_space
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    lateral = [c for c in range(3) if c != axis]
    common = dict(percolating=True, iterations=iterations, dofs=dofs,
                  solver_reason=converged_reason_name(reason))  # fmt: skip
    if reason <= 0:
        return ElasticAxisResult(M=None, E_eff_Pa=None, nu_eff={AXES[c]: None for c in lateral},
                                 converged=False, **common)  # fmt: skip
    mesh = V.mesh
    axial = mesh.comm.allreduce(fem.assemble_scalar(fem.form(stress[axis, axis] * measure)),
                                op=MPI.SUM)  # fmt: skip
    E_eff = axial / float(np.prod(box_m)) / strain
    nu_eff: dict[str, float | None] = {}
    for c in lateral:
        lo = face_mean(mesh, facet_tags, uh[c], face_marker(c, "min"))
        hi = face_mean(mesh, facet_tags, uh[c], face_marker(c, "max"))
        nu_eff[AXES[c]] = None if lo is None or hi is None else -(hi - lo) / box_m[c] / strain
    return ElasticAxisResult(M=E_eff / E_reference_Pa, E_eff_Pa=E_eff, nu_eff=nu_eff,
                             converged=True, **common)  # fmt: skip


@dataclass
class VoxelElasticity:
    """What every axis of one voxel mesh shares: the DG0 space of the stress averages, the
    stress law of the phase moduli and the assembled bulk stiffness (with its vector space)."""

    vm: VoxelMesh
    V0: object
    sigma: Callable
    stiffness: BulkStiffness
    guess_nu: float

    @classmethod
    def build(cls, vm: VoxelMesh, elastic_constants: dict[int, tuple[float, float]]):
        V = function_space(vm.mesh, "Lagrange", 1, (3,))
        V0 = function_space(vm.mesh, "DG", 0)
        E = _cell_function(V0, vm, {k: v[0] for k, v in elastic_constants.items()})
        nu = _cell_function(V0, vm, {k: v[1] for k, v in elastic_constants.items()})
        sigma = isotropic_stress(*_lame(E, nu))
        guess_nu = float(np.mean([nu_i for _, nu_i in elastic_constants.values()]))
        return cls(vm, V0, sigma, BulkStiffness(V, sigma, dx), guess_nu)


def solve_axis(
    problem: VoxelElasticity,
    axis: str | int,
    E_reference_Pa: float,
    strain: float = 1e-3,
    solver_options: dict | None = None,
) -> tuple[ElasticAxisResult, ElasticFields | None]:
    """Load the meshed solid along `axis` and return E_eff, nu_eff and the stress fields.

    The face normal to `axis` at its start is held at zero normal displacement, the opposite
    face is moved by ``strain * L``; tangential displacements there and all other faces are
    free (traction-free). E_eff is the box-averaged axial stress (pores carry none) divided by
    the applied strain; nu_eff follows from the mean displacement of the lateral faces.
    """
    a = axis_index(axis)
    vm, V0, sigma = problem.vm, problem.V0, problem.sigma
    box_m = np.array([vm.box_length_m(c) for c in range(3)])
    uh, iterations, reason = solve_uniaxial(problem.stiffness, vm.facet_tags, a, E_reference_Pa,
                                            strain, box_m, f"meso_elastic_{AXES[a]}_",
                                            solver_options, problem.guess_nu)  # fmt: skip
    s = sigma(uh)
    result = uniaxial_result(uh, s, a, dx, vm.facet_tags, box_m, E_reference_Pa, strain,
                             iterations, reason)  # fmt: skip
    if not result.converged:
        return result, None

    deviator = s - ufl.tr(s) / 3 * ufl.Identity(3)
    von_mises = ufl.sqrt(1.5 * ufl.inner(deviator, deviator))
    von_mises_f, von_mises_voxels = _cell_average(V0, von_mises, vm, "von_mises_Pa")
    hydro_f, hydro_voxels = _cell_average(V0, ufl.tr(s) / 3, vm, "hydrostatic_Pa")
    axial_voxels = _cell_average(V0, s[a, a], vm, "axial_stress_Pa")[1]
    fields = ElasticFields(
        AXES[a], uh, von_mises_f, hydro_f, von_mises_voxels, hydro_voxels, axial_voxels
    )
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


def solve_elasticity(
    m: Microstructure,
    axes: Sequence[str] = AXES,
    materials: Materials | None = None,
    strain: float = 1e-3,
    comm: MPI.Comm = MPI.COMM_WORLD,
    on_fields: Callable[[ElasticFields, VoxelMesh], None] | None = None,
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

    results: dict[str, ElasticAxisResult] = {}
    dofs = 0
    problems: dict[bytes, VoxelElasticity] = {}
    for axis in axes:
        a = axis_index(axis)
        keep = spanning_clusters(solid, a, connectivity=1) if comm.rank == 0 else None
        percolating = comm.bcast(bool(keep.any()) if keep is not None else None, root=0)
        if not percolating:
            results[AXES[a]] = ElasticAxisResult(
                M=0.0, E_eff_Pa=0.0, nu_eff={AXES[c]: None for c in range(3) if c != a},
                percolating=False, converged=True, iterations=0,
            )  # fmt: skip
            if progress:
                progress(AXES[a])
            continue
        key = comm.bcast(np.packbits(keep).tobytes() if comm.rank == 0 else None, root=0)
        if key not in problems:  # the same load-bearing set for several axes: mesh once
            for old in problems.values():
                old.stiffness.destroy()
            problems.clear()  # one matrix alive at a time
            vm = build_voxel_mesh(labels, m.voxel_size_m, keep=keep, comm=comm)
            problems[key] = VoxelElasticity.build(vm, constants)
        vm = problems[key].vm
        result, fields = solve_axis(problems[key], a, E_ref, strain)
        dofs = max(dofs, result.dofs)
        if fields is not None and comm.rank == 0:
            result.stress = stress_statistics(
                fields, ~solid, result.E_eff_Pa * strain, m.voxel_size_um
            )
        if fields is not None and on_fields is not None:
            on_fields(fields, vm)
        results[AXES[a]] = result
        if progress:
            progress(AXES[a])
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
