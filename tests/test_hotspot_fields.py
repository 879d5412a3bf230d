"""`meso hotspot --fields`: the cell current density conserves the current, and fields.xdmf holds
the potential and current density of every conducting voxel (read back from its HDF5 file)."""

import h5py
import numpy as np
import pytest
from mpi4py import MPI
from scipy import ndimage

from meso import Microstructure
from meso.conduction.contact import conduct_with_contacts
from meso.conduction.hotspot_fields import cell_current_density, write_hotspot_xdmf
from meso.fem.solver_options import CG_BOOMERAMG
from meso.materials import load_materials

TIGHT = {**CG_BOOMERAMG, "ksp_rtol": 1e-12}


def _porous_cell():
    """Smoothed-noise pores (~15%) and a few grain-boundary voxels, a disk contact on top."""
    noise = ndimage.gaussian_filter(np.random.default_rng(5).standard_normal((12, 10, 9)), 1.5)
    labels = np.where(noise < np.quantile(noise, 0.85), 1, 0).astype(np.uint8)
    labels[(labels == 1) & (np.random.default_rng(6).random(labels.shape) < 0.2)] = 2
    x, y = np.mgrid[:12, :10]
    disk = ((x - 5.5) ** 2 + (y - 4.5) ** 2 <= 16).astype(np.uint8)
    m = Microstructure(labels, voxel_size_um=0.5, cell_axis="z")
    r = conduct_with_contacts(m, "z", contact_top=disk, bias_V=0.3, comm=MPI.COMM_SELF,
                              potential=True, solver_options=TIGHT)  # fmt: skip
    return m, r


def test_full_contact_slab_has_the_uniform_current_density():
    m = Microstructure(np.ones((5, 4, 6), np.uint8), voxel_size_um=2.0)
    r = conduct_with_contacts(m, "z", bias_V=0.5, comm=MPI.COMM_SELF, potential=True,
                              solver_options=TIGHT)  # fmt: skip
    J = cell_current_density(r, m.voxel_size_m)
    sigma = load_materials().grain.sigma_S_per_m
    assert J[2] == pytest.approx(np.full((5, 4, 6), sigma * 0.5 / (6 * m.voxel_size_m)), rel=1e-9)
    assert np.abs(J[:2]).max() < 1e-9 * J[2].max()


def test_every_plane_across_the_axis_carries_the_total_current():
    m, r = _porous_cell()
    J = cell_current_density(r, m.voxel_size_m)
    conducting = r.sigma_S_per_m > 0
    assert np.isnan(J[:, ~conducting]).all() and np.isfinite(J[:, conducting]).all()
    plane_currents = np.nansum(J[2], axis=(0, 1)) * m.voxel_size_m**2
    assert plane_currents == pytest.approx(np.full(9, r.current_A), rel=1e-8)
    # the current crowds into the disk contact of the top face
    assert np.nanmax(J[2][:, :, -1]) > 2 * np.nanmean(J[2][:, :, 4])  # crowding at the disk


def test_fields_xdmf_holds_potential_and_current_density_of_each_voxel(tmp_path):
    m, r = _porous_cell()
    path = write_hotspot_xdmf(r, m, tmp_path / "fields.xdmf", MPI.COMM_SELF)
    assert path.read_text().count("<Attribute") == 2
    with h5py.File(tmp_path / "fields.h5", "r") as fh:
        points = fh["Mesh/mesh/geometry"][...]
        cells = fh["Mesh/mesh/topology"][...]
        phi = fh["Function/potential_V/0"][...].ravel()
        J = fh["Function/current_density_A_per_m2/0"][...]
    voxel = np.floor(points[cells].mean(axis=1) / m.voxel_size_m).astype(int)
    conducting = r.sigma_S_per_m > 0
    assert len(cells) == conducting.sum() and conducting[tuple(voxel.T)].all()
    assert phi == pytest.approx(r.potential_V[tuple(voxel.T)], rel=1e-12)
    expected = cell_current_density(r, m.voxel_size_m)[:, voxel[:, 0], voxel[:, 1], voxel[:, 2]]
    assert J[:, :3] == pytest.approx(expected.T, rel=1e-12, abs=1e-9)
