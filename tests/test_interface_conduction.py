"""Grain boundaries as zero-thickness resistive interfaces on conforming meshes (SIPG DG) vs exact laminates."""

import dolfinx.fem
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from meso import conduct
from meso.errors import InputError
from meso.mesh.conforming import GRAIN_BOUNDARY_MARKER, PORE_SURFACE_MARKER, build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from validation.interface_references import cubic_grains_with_interfaces

SELF = MPI.COMM_SELF
SIGMA = 0.05  # S/m
GRAIN_M = 1e-6
ASR = 0.2 * GRAIN_M / SIGMA  # R sigma / d = 0.2: each boundary adds a fifth of a grain's resistance
NO_PORES = (np.zeros((0, 3)), np.zeros((0, 3)))


def with_interfaces(cm, axis, sigma, asr, degree=1):
    """The "dg" entry of ``meso.conduct`` with grain-boundary facets of resistance `asr`."""
    from meso.materials import parse_materials

    grain = parse_materials(f"[phases.grain]\nlabel = 1\nsigma_S_per_m = {sigma}\n")
    result = conduct(cm, axes=[axis], degree=degree, materials=grain,
                     grain_boundary_asr_ohm_m2=asr)  # fmt: skip
    return result.axes[axis][f"dg{degree}"]


@pytest.fixture(scope="module")
def grains():
    """3 x 2 x 2 cubic grains of 1 um: 2 boundary planes normal to x, 1 normal to y and z."""
    geometry = PoreGeometry((3, 2, 2), *NO_PORES, grain_grid=(3, 2, 2))
    return build_conforming_mesh(geometry, size_um=0.5, comm=SELF)


def test_grain_boundary_faces_are_tagged_with_their_exact_area(grains):
    dS = ufl.Measure("dS", domain=grains.mesh, subdomain_data=grains.facet_tags)
    one = dolfinx.fem.Constant(grains.mesh, 1.0)
    area = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * dS(GRAIN_BOUNDARY_MARKER)))
    assert area == pytest.approx((2 * 4 + 6 + 6) * 1e-12, rel=1e-9)
    assert grains.info["grains"] == 12


@pytest.mark.parametrize(("axis", "grains_along"), [("x", 3), ("y", 2)])
def test_cubic_grains_give_the_exact_brick_layer_value(grains, axis, grains_along):
    """The exact potential is piecewise linear with jumps at the planes normal to the current,
    so DG1 reproduces it: M equals the laminate value to the solver tolerance."""
    entry = with_interfaces(grains, axis, SIGMA, ASR)
    reference = cubic_grains_with_interfaces(grains_along, GRAIN_M, SIGMA, ASR)
    assert entry.converged and entry.method == "dg1"
    assert entry.M == pytest.approx(reference, rel=1e-6)
    assert entry.M < 0.95  # the boundaries matter: without them M = 1


def test_pore_and_boundaries_resist_roughly_in_series():
    """A pore at the centre of the grain lattice: M lies below both the pore-only value (CG on
    the same mesh) and the boundary-only value, and close to adding their excess resistances
    (1/M - 1), an estimate that holds when the two perturb the current weakly."""
    geometry = PoreGeometry((3, 2, 2), [[1.5, 1.0, 1.0]], [[0.5] * 3], grain_grid=(3, 2, 2))
    cm = build_conforming_mesh(geometry, size_um=0.3, comm=SELF)
    assert PORE_SURFACE_MARKER in cm.facet_tags.values
    with_both = with_interfaces(cm, "x", SIGMA, ASR).M
    pore_only = conduct(cm, axes=["x"], degree=1).factor("x")
    boundaries_only = cubic_grains_with_interfaces(3, GRAIN_M, SIGMA, ASR)
    assert with_both < min(pore_only, boundaries_only)
    series = 1.0 / (1.0 / pore_only + 1.0 / boundaries_only - 1.0)
    assert with_both == pytest.approx(series, rel=0.01)  # measured 0.4 %


def test_bad_resistance_is_an_input_error(grains):
    with pytest.raises(InputError, match="asr_ohm_m2"):
        with_interfaces(grains, "x", SIGMA, 0.0)
    with pytest.raises(InputError, match="grain_grid"):
        PoreGeometry((1, 1, 1), *NO_PORES, grain_grid=(2, 0, 1))


def test_voxel_layers_only_approach_the_laminate_that_interfaces_give_exactly(grains):
    """The same 3 x 2 x 2 lattice as voxels: one-voxel boundary layers of sigma = h / R
    (``meso conduct``'s ASR conversion). Their layers along the current take cross-section
    from the grains and the layers add length, so M misses the exact laminate (measured 22 %
    at 4 voxels per grain, 4 % at 8), where the zero-thickness interfaces hit it to 1e-6."""
    from meso import conduct
    from meso.materials import parse_materials
    from meso.microstructure import Microstructure

    materials = parse_materials(
        f"[phases.pore]\nlabel = 0\nvoid = true\n[phases.grain]\nlabel = 1\n"
        f"sigma_S_per_m = {SIGMA}\n[phases.grain_boundary]\nlabel = 2\nasr_ohm_m2 = {ASR}\n"
    )
    reference = cubic_grains_with_interfaces(3, GRAIN_M, SIGMA, ASR)
    errors = []
    for g in (4, 8):  # voxels per grain edge

        def axis_labels(count, g=g):
            walls = np.zeros(count * (g + 1) - 1, bool)
            walls[g :: g + 1] = True
            return walls

        wx, wy, wz = axis_labels(3), axis_labels(2), axis_labels(2)
        labels = np.where(wx[:, None, None] | wy[None, :, None] | wz[None, None, :], 2, 1)
        voxel_um = GRAIN_M * 1e6 / g
        m = Microstructure(labels.astype(np.uint8), voxel_size_um=voxel_um)
        errors.append(
            abs(
                conduct(m, axes=["x"], method="fv", materials=materials, comm=SELF).factor("x")
                / reference
                - 1
            )
        )
    assert errors[0] > 2 * errors[1] > 0.02  # converging with resolution, but slowly
    exact = with_interfaces(grains, "x", SIGMA, ASR).M
    assert abs(exact / reference - 1) < 1e-6


def test_conduct_conforming_with_interfaces_gives_the_conduction_document(grains):
    from meso.materials import parse_materials

    materials = parse_materials(f"[phases.grain]\nlabel = 1\nsigma_S_per_m = {SIGMA}\n")
    result = conduct(grains, axes=["y", "z"], materials=materials,
                                grain_boundary_asr_ohm_m2=ASR)  # fmt: skip
    document = result.to_json()
    assert document["method"] == "dg1" and document["conducting_fraction"] == pytest.approx(1.0)
    reference = cubic_grains_with_interfaces(2, GRAIN_M, SIGMA, ASR)
    for axis in "yz":
        assert document["axes"][axis]["M"] == pytest.approx(reference, rel=1e-6)
        assert document["axes"][axis]["M_geometric"] == pytest.approx(1.0, rel=1e-6)
        assert document["axes"][axis]["tortuosity_factor"] == pytest.approx(1.0, rel=1e-6)
