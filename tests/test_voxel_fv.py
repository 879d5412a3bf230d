"""The mesh-free fv assembly against the DOLFINx form that defines the scheme."""

import dolfinx.fem.petsc
import numpy as np
from mpi4py import MPI

from meso.conduction.two_point_flux import two_point_flux_form
from meso.conduction.voxel import _sigma_function
from meso.conduction.voxel_fv import FvProblem
from meso.fem.compat import cell_dofs, function_space
from meso.mesh.voxel import build_voxel_mesh

H = 2e-6
SIGMA_BY_LABEL = np.array([0.0, 0.05, 0.005] + [0.0] * 253)


def test_grid_matrix_equals_the_dolfinx_form():
    """Same entries as DOLFINx's assembly of two_point_flux_form, up to the unknown order."""
    rng = np.random.default_rng(3)
    labels = rng.choice([0, 1, 2], size=(6, 5, 4), p=[0.25, 0.5, 0.25]).astype(np.uint8)
    vm = build_voxel_mesh(labels, H, comm=MPI.COMM_SELF)
    sigma = _sigma_function(vm, SIGMA_BY_LABEL)
    V = function_space(vm.mesh, "DG", 0)
    form = dolfinx.fem.form(two_point_flux_form(sigma, V, H))
    reference = dolfinx.fem.petsc.assemble_matrix(form)
    reference.assemble()
    problem = FvProblem(SIGMA_BY_LABEL[labels], H, MPI.COMM_SELF)
    assert problem.count == np.count_nonzero(labels)
    # unknown of each DOLFINx dof: the fv number of the dof's voxel
    index = vm.voxel_index
    dof = cell_dofs(V)[: len(index), 0]
    number = np.empty(len(index), dtype=int)
    number[dof] = problem.number[index[:, 0] + 1, index[:, 1] + 1, index[:, 2] + 1]
    expected = reference.convert("dense").getDenseArray()
    ours = problem.matrix.convert("dense").getDenseArray()
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(ours[np.ix_(number, number)], expected, rtol=1e-13,
                               atol=1e-13 * np.abs(expected).max())  # fmt: skip


def test_numbering_is_a_bijection_and_gather_inverts_it():
    labels = (np.random.default_rng(4).random((7, 6, 5)) < 0.7).astype(np.uint8)
    problem = FvProblem(SIGMA_BY_LABEL[labels], H, MPI.COMM_SELF)
    numbers = problem.number[1:-1, 1:-1, 1:-1]
    assert np.array_equal(np.sort(numbers[labels == 1]), np.arange(problem.count))
    assert np.all(numbers[labels == 0] == -1)
    values = problem.ijk @ np.array([100.0, 10.0, 1.0])
    volume = problem.gather(values)
    i, j, k = np.indices(labels.shape)
    np.testing.assert_array_equal(volume[labels == 1], (100 * i + 10 * j + k)[labels == 1])
    assert np.isnan(volume[labels == 0]).all()
