"""The voxel-grid Q1 stiffness against DOLFINx's assembly of the same weak form, its rigid-body
nullspace, and cell stresses of an affine displacement against the exact constant stress."""

import numpy as np
import pytest
import ufl
from mpi4py import MPI

from meso.elasticity.loading import BulkStiffness, isotropic_stress, rigid_body_modes
from meso.elasticity.voxel import voxel_moduli
from meso.elasticity.voxel_stiffness import (
    VoxelNodes,
    VoxelStiffness,
    cell_stresses,
    face_mean_displacement,
)
from meso.fem.compat import cell_dofs, function_space
from meso.mesh.lattice import HEX_CORNERS
from meso.mesh.voxel import build_voxel_mesh, voxel_dg0

H = 2e-6
CONSTANTS = {1: (150e9, 0.257), 2: (60e9, 0.1)}


def two_phase_volume() -> tuple[np.ndarray, np.ndarray]:
    """Labels 0/1/2 with pores, and voxels that touch their neighbours only along an edge."""
    rng = np.random.default_rng(4)
    labels = rng.choice([0, 1, 1, 1, 2], size=(5, 4, 6)).astype(np.uint8)
    labels[0, 0, 0], labels[1, 1, 0], labels[0, 1, 0], labels[1, 0, 0] = 1, 1, 0, 0  # edge only
    return labels, labels > 0


def test_matrix_equals_dolfinx_assembly_of_the_q1_form():
    labels, keep = two_phase_volume()
    lam, mu = voxel_moduli(labels, keep, CONSTANTS)
    ours = VoxelStiffness.build(lam, mu, H, MPI.COMM_SELF)
    vm = build_voxel_mesh(labels, H, keep, MPI.COMM_SELF)
    V = function_space(vm.mesh, "Lagrange", 1, (3,))
    sigma = isotropic_stress(voxel_dg0(vm, mu, "mu"), voxel_dg0(vm, lam, "lambda"))
    reference = BulkStiffness(V, sigma, ufl.Measure("dx", metadata={"quadrature_degree": 2}))
    theirs = reference.matrix.convert("dense").getDenseArray()
    assert ours.count == V.dofmap.index_map.size_global
    # DOLFINx node -> our node number: local vertex i of a cell is corner HEX_CORNERS[i] of
    # its voxel (split vertices share a position, so positions alone do not say which)
    node_of = np.full(ours.count, -1)
    ours_at_corners = ours.nodes.corner_nodes(vm.voxel_index, HEX_CORNERS @ np.array([4, 2, 1]))
    node_of[cell_dofs(V)] = ours_at_corners
    assert (np.sort(node_of) == np.arange(ours.count)).all()  # a bijection
    positions = V.tabulate_dof_coordinates() / H
    assert np.allclose(positions, ours.ijk[node_of])
    dof_of = (3 * node_of[:, None] + np.arange(3)).ravel()
    mine = ours.matrix.convert("dense").getDenseArray()
    permuted = mine[np.ix_(dof_of, dof_of)]
    assert np.abs(permuted - theirs).max() < 1e-12 * np.abs(theirs).max()
    info = ours.matrix.getInfo()
    assert info["nz_used"] == reference.matrix.getInfo()["nz_used"]  # same sparsity


def test_rigid_body_motions_carry_no_force():
    labels, keep = two_phase_volume()
    stiffness = VoxelStiffness.build(*voxel_moduli(labels, keep, CONSTANTS), H, MPI.COMM_SELF)
    scale = np.abs(stiffness.matrix.getDiagonal().getArray()).max()
    for mode in rigid_body_modes(stiffness.coordinates(), stiffness.matrix).getVecs():
        force = stiffness.matrix.createVecLeft()
        stiffness.matrix.mult(mode, force)
        assert force.norm() < 1e-10 * scale * mode.norm()


def test_cell_stresses_of_a_uniform_strain_are_exact():
    labels, keep = two_phase_volume()
    lam, mu = voxel_moduli(labels, keep, CONSTANTS)
    nodes = VoxelNodes(keep, MPI.COMM_SELF)
    strain = np.array([[1.0, 0.3, -0.2], [0.3, -0.5, 0.1], [-0.2, 0.1, 0.4]]) * 1e-3
    displacement = (nodes.ijk * H) @ strain.T  # u = strain x at every node
    s = cell_stresses(displacement, nodes, lam, mu, H, axis=1)
    for label, (E, nu) in CONSTANTS.items():
        la, m = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
        stress = la * np.trace(strain) * np.eye(3) + 2 * m * strain
        deviator = stress - np.trace(stress) / 3 * np.eye(3)
        where = labels == label
        assert s.von_mises[where] == pytest.approx(np.sqrt(1.5 * (deviator**2).sum()), rel=1e-12)
        assert s.hydrostatic[where] == pytest.approx(np.trace(stress) / 3, rel=1e-12)
        assert s.axial[where] == pytest.approx(stress[1, 1], rel=1e-12)
    assert np.isnan(s.von_mises[~keep]).all()
    # mean u_x over the kept voxels' faces at x = 0 and x = L: the mean of u_x at the face
    # corners, voxel by voxel
    for side, x in (("min", 0), ("max", labels.shape[0])):
        values = [strain[0] @ (np.array([x, j + dj, k + dk]) * H)
                  for j, k in np.argwhere(keep[0 if side == "min" else -1])
                  for dj in (0, 1) for dk in (0, 1)]  # fmt: skip
        mean = face_mean_displacement(displacement, nodes, 0, side)
        assert mean == pytest.approx(np.mean(values), rel=1e-12)
