"""Conduction with partial contacts (meso.conduction.contact): the slab, and the constriction
resistance of a disk contact against Holm's 1 / (4 sigma a) with Roess's flux-tube factor."""

import numpy as np
import pytest
from mpi4py import MPI

from meso import InputError, Microstructure
from meso.conduction.contact import conduct_with_contacts
from meso.fem.solver_options import CG_BOOMERAMG
from meso.materials import load_materials
from validation.convergence_checks import disk_contact

TIGHT = {**CG_BOOMERAMG, "ksp_rtol": 1e-10}


def test_full_contact_slab_is_uniform_with_the_slab_conductance():
    m = Microstructure(np.ones((10, 8, 12), np.uint8), voxel_size_um=2.0)
    r = conduct_with_contacts(m, "z", bias_V=0.5, comm=MPI.COMM_SELF, solver_options=TIGHT)
    sigma = load_materials().grain.conductivity(m.voxel_size_m)
    h = m.voxel_size_m
    expected = sigma * (10 * h) * (8 * h) / (12 * h)
    assert r.resistance_ohm == pytest.approx(1 / expected, rel=1e-8)
    assert r.current_A == pytest.approx(0.5 * expected, rel=1e-8)
    for face in ("bottom", "top"):
        j = r.current_density_A_per_m2[face]
        assert j.shape == (10, 8)
        assert np.nanmax(j) / np.nanmean(j) == pytest.approx(1.0, abs=1e-8)
        assert np.nanmean(j) == pytest.approx(0.5 * sigma / (12 * h), rel=1e-8)
        assert r.statistics()[face]["area_fraction_above_2x_mean"] == 0.0
    assert r.contact_fraction == {"bottom": 1.0, "top": 1.0}


def _disk_constriction_error(a: int) -> float:
    """validation's disk-contact error (Holm's 1 / (4 sigma a) with Roess's flux-tube factor),
    after checking that the current crowds at the contact's edge."""
    error, r, disk = disk_contact(a, MPI.COMM_SELF)
    j = r.current_density_A_per_m2["bottom"]
    assert np.isnan(j[~disk]).all() and np.nanargmax(j) != 0
    return error


def test_disk_constriction_resistance_converges_at_first_order():
    radii = (6, 12, 24)
    errors = np.array([_disk_constriction_error(a) for a in radii])
    # measured: +7.96%, +3.97%, +2.06% (orders 1.00, 0.95); Richardson's limit +0.15%
    assert (errors > 0).all() and errors[-1] < 0.025
    orders = np.log(errors[:-1] / errors[1:]) / np.log(2)
    assert orders == pytest.approx([1.0, 1.0], abs=0.15)
    assert abs(2 * errors[-1] - errors[-2]) < 0.005


def test_contact_maps_are_checked():
    m = Microstructure(np.ones((4, 5, 6), np.uint8))
    with pytest.raises(InputError, match="shape"):
        conduct_with_contacts(m, "z", contact_top=np.ones((5, 4)), comm=MPI.COMM_SELF)
    with pytest.raises(InputError, match="only 0"):
        conduct_with_contacts(m, "z", contact_top=np.full((4, 5), 2), comm=MPI.COMM_SELF)
    with pytest.raises(InputError, match="no contact"):
        conduct_with_contacts(m, "z", contact_top=np.zeros((4, 5)), comm=MPI.COMM_SELF)


def test_contacts_without_a_path_are_refused():
    labels = np.ones((4, 4, 6), np.uint8)
    labels[:, :, 3] = 0  # a pore layer
    with pytest.raises(InputError, match="no conducting path"):
        conduct_with_contacts(Microstructure(labels), "z", comm=MPI.COMM_SELF)
