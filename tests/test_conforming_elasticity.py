"""Elasticity on conforming meshes: exact homogeneous response, a spherical pore vs Eshelby's dilute modulus."""

import numpy as np
import pytest
from mpi4py import MPI

from meso.elasticity.conforming import solve_axis_elastic
from meso.errors import InputError
from meso.mesh.conforming import build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from validation.elasticity_references import dilute_spherical_pores_E

SELF = MPI.COMM_SELF
NU = 0.25
RADIUS = 4 / 24  # the voxel test's pore (radius 4 in 24 voxels), porosity 0.0194


def test_pore_free_box_is_exact_along_every_axis():
    cm = build_conforming_mesh(PoreGeometry((1.0, 2.0, 1.5), [], []), 0.5, comm=SELF)
    for axis in "xyz":
        result = solve_axis_elastic(cm, axis, 3e9, NU, strain=2e-3)
        assert result.converged and result.M == pytest.approx(1.0, rel=1e-7)
        assert result.E_eff_Pa == pytest.approx(3e9, rel=1e-7)
        for other, nu_eff in result.nu_eff.items():
            assert other != axis and nu_eff == pytest.approx(NU, rel=1e-6)


def test_spherical_pore_softens_as_eshelby_predicts():
    """P2 on curved tetrahedra: converged to 1.5e-3 between two meshes, and the modulus loss
    per unit porosity (1 - M) / p within 10 % of the dilute (Eshelby) value 2.0."""
    geometry = PoreGeometry.spheres((1, 1, 1), [[0.5] * 3], [RADIUS])
    porosity = 4 / 3 * np.pi * RADIUS**3
    values = []
    for size in (0.2, 0.12):
        cm = build_conforming_mesh(geometry, size, geometry_order=2, comm=SELF)
        values.append(solve_axis_elastic(cm, "x", 1.0, NU, degree=2).M)
    assert abs(values[0] - values[1]) < 1.5e-3
    dilute_loss = 1 - dilute_spherical_pores_E(1.0, NU, porosity)
    assert (1 - values[1]) == pytest.approx(dilute_loss, rel=0.1)


def test_bad_strain_or_degree_is_an_input_error():
    cm = build_conforming_mesh(PoreGeometry((1, 1, 1), [], []), 0.5, comm=SELF)
    with pytest.raises(InputError, match="strain"):
        solve_axis_elastic(cm, "x", 1.0, NU, strain=0.0)
    with pytest.raises(InputError, match="degree"):
        solve_axis_elastic(cm, "x", 1.0, NU, degree=3)
