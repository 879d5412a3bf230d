"""Effective Young's modulus factors M_x, M_y, M_z and stress fields of voxel microstructures (PETSc multigrid)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from meso.elasticity.loading import SPRING, check_strain, homogeneous_displacement, solve_loaded
from meso.elasticity.results import ElasticAxisResult, ElasticityResult, axis_result
from meso.elasticity.stress import stress_statistics
from meso.elasticity.voxel_coarse import (
    CoarseSpace,
    aggregation_ksp,
    assemble_with_coarse_space,
)
from meso.elasticity.voxel_stiffness import (
    VoxelNodes,
    VoxelStiffness,
    cell_stresses,
    face_mean_displacement,
    face_springs,
)
from meso.errors import InputError
from meso.fem.solver_options import (
    CG_AGGREGATION_ELASTICITY,
)
from meso.materials import Materials, lame_parameters, load_materials
from meso.mesh.lattice import spanning_clusters
from meso.microstructure import AXES, Microstructure, axis_index
from meso.progress import Progress, report


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


def _release(problems: dict[bytes, tuple[VoxelStiffness, CoarseSpace]]) -> None:
    """Free the PETSc objects of the assembled problems and forget them."""
    for problem in problems.values():
        for part in problem:
            part.destroy()
    problems.clear()


def elastic_voxel(
    m: Microstructure,
    *,
    axes: Sequence[str] = AXES,
    materials: Materials | None = None,
    strain: float = 1e-3,
    comm: MPI.Comm = MPI.COMM_WORLD,
    on_fields: Callable[[ElasticFields], None] | None = None,
    progress: Progress | None = None,
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
    >>> r = elastic_voxel(Microstructure(np.ones((4, 4, 4), np.uint8)), axes=["x"])
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
            results[AXES[a]] = ElasticAxisResult.not_percolating(a)
            report(progress, AXES[a])
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
        report(progress, AXES[a])
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
