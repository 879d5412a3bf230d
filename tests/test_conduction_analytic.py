"""Conduction solves against analytic references: homogeneous cube, laminates, an insulating
layer, grain-boundary resistance, the brick-layer model and sphere lattices (Rayleigh)."""

import numpy as np
import pytest
from mpi4py import MPI

from meso import conduct
from meso.conduction.voxel import conductivity_lookup
from meso.materials import load_materials, parse_materials
from meso.microstructure import Microstructure
from validation.conduction_references import (
    brick_layer,
    grain_boundary_network,
    maxwell_spheres,
    parallel_laminate,
    rayleigh_cubic_spheres,
    series_laminate,
    sphere_cell,
    two_point_network_bounds,
)

SELF = MPI.COMM_SELF
TIGHT = 1e-6  # the solver stops at a relative residual of 1e-7


def _materials(sigma_grain=1.0, boundary="sigma_S_per_m = 0.01"):
    return parse_materials(
        f"""
[phases.pore]
label = 0
void = true
[phases.grain]
label = 1
sigma_S_per_m = {sigma_grain}
[phases.grain_boundary]
label = 2
{boundary}
"""
    )


@pytest.mark.parametrize("method", ["fv", "fe"])
def test_homogeneous_box_has_M_one_on_every_axis(method):
    m = Microstructure(np.ones((7, 5, 4), np.uint8), voxel_size_um=0.5)
    result = conduct(m, method=method, comm=SELF)
    sigma_grain = load_materials().grain.sigma_S_per_m
    for axis in "xyz":
        entry = result.axes[axis][method]
        assert entry.converged and entry.percolating
        assert entry.M == pytest.approx(1.0, rel=TIGHT)
        assert entry.sigma_eff_S_per_m == pytest.approx(sigma_grain, rel=TIGHT)
        assert entry.tortuosity_factor == pytest.approx(1.0, rel=TIGHT)


@pytest.mark.parametrize("method", ["fv", "fe"])
def test_laminate_is_arithmetic_along_and_harmonic_across(method):
    materials = load_materials()  # grain 5e-2 S/m, boundary phase 5e-3 S/m
    layers = np.array([1, 1, 2, 1, 2, 2, 1, 1, 1])  # normal to y
    labels = np.broadcast_to(layers[None, :, None], (6, 9, 5)).astype(np.uint8)
    result = conduct(Microstructure(labels), method=method, materials=materials, comm=SELF)
    sigma = np.array([materials.by_label(v).sigma_S_per_m for v in layers])
    grain = materials.grain.sigma_S_per_m
    fractions = np.ones(layers.size)
    for axis in "xz":
        assert result.factor(axis) == pytest.approx(
            parallel_laminate(fractions, sigma, grain), rel=TIGHT
        )
    assert result.factor("y") == pytest.approx(series_laminate(fractions, sigma, grain), rel=TIGHT)


def test_boundary_asr_acts_as_a_series_resistance():
    """A boundary plane given as an area-specific resistance R adds R to the resistance per
    unit area: M = L / (L + sigma_g R) for a bar of length L with one boundary."""
    h_um, n, asr = 0.4, 10, 2e-4  # ohm m^2
    labels = np.ones((n, 4, 4), np.uint8)
    labels[5] = 2
    materials = _materials(sigma_grain=0.05, boundary=f"asr_ohm_m2 = {asr}")
    result = conduct(Microstructure(labels, voxel_size_um=h_um), axes=["x"], materials=materials,
                     comm=SELF)  # fmt: skip
    length = n * h_um * 1e-6
    # the boundary voxel is a layer of sigma = h / R: its grain share of the length is replaced
    expected = length / (length - h_um * 1e-6 + 0.05 * asr)
    assert result.factor("x") == pytest.approx(expected, rel=TIGHT)


def test_insulating_layer_blocks_one_axis_without_a_solve():
    labels = np.ones((8, 6, 6), np.uint8)
    labels[3] = 0  # a pore plane across x
    result = conduct(Microstructure(labels), method="both", comm=SELF)
    for method in ("fv", "fe"):
        blocked = result.axes["x"][method]
        assert blocked.M == 0.0 and not blocked.percolating and blocked.iterations == 0
        # along y and z the pore plane is a parallel insulating layer: M = solid fraction
        assert result.axes["y"][method].M == pytest.approx(7 / 8, rel=TIGHT)
    document = result.to_json()
    assert document["axes"]["x"]["percolating"] is False
    assert document["axes"]["x"]["tortuosity_factor"] is None


def test_islands_change_nothing_and_dead_ends_only_the_continuum():
    base = np.zeros((10, 6, 6), np.uint8)
    base[:, 1:3, 1:3] = 1  # a straight bar along x: M = 4 / 36
    islands = base.copy()
    islands[4:7, 4, 4] = 1  # floating island
    islands[0:3, 4, 1] = 1  # touches the inlet only
    for labels in (base, islands):
        result = conduct(Microstructure(labels), axes=["x"], method="both", comm=SELF)
        assert result.factor("x", "fv") == pytest.approx(4 / 36, rel=TIGHT)
        assert result.factor("x", "fe") == pytest.approx(4 / 36, rel=TIGHT)
    # a voxel on the side of the bar: no current in the two-point scheme (one face, one
    # unknown); in the Q1 continuum it widens the bar locally and conducts a little
    bump = base.copy()
    bump[5, 3, 1] = 1
    result = conduct(Microstructure(bump), axes=["x"], method="both", comm=SELF)
    assert result.factor("x", "fv") == pytest.approx(4 / 36, rel=TIGHT)
    assert 4 / 36 * (1 + 1e-4) < result.factor("x", "fe") < 4 / 36 * 1.05


def test_unconverged_solve_returns_no_number():
    rng = np.random.default_rng(0)
    labels = (rng.random((12, 12, 12)) > 0.2).astype(np.uint8)
    options = {"ksp_type": "cg", "pc_type": "none", "ksp_rtol": 1e-12, "ksp_max_it": 2}
    result = conduct(Microstructure(labels), axes=["x"], comm=SELF, solver_options=options)
    entry = result.axes["x"]["fv"]
    assert not entry.converged and entry.M is None and entry.sigma_eff_S_per_m is None
    assert entry.solver_reason == "DIVERGED_MAX_IT"


def test_brick_layer_within_the_voxel_geometry_error():
    """Cubic grains of d - 1 voxels with one-voxel boundaries (delta = 1 voxel, period d),
    sigma_gb = sigma_g / 100. The fv result lies within the rigorous bounds of its voxel
    network; it approaches the brick-layer value as delta / d -> 0, with a relative deviation
    below delta / d (the lateral walls take ~2 delta/d of the grains' cross-section, partly
    made up by current spreading in the boundary planes), halving when d doubles."""
    materials = _materials()
    deviations = []
    for grains, d in ((3, 8), (2, 16)):
        m = Microstructure(grain_boundary_network(grains, d - 1))
        result = conduct(m, axes=["x"], materials=materials, comm=SELF)
        lower, upper = two_point_network_bounds(conductivity_lookup(m, materials)[m.labels], "x")
        assert lower <= result.factor("x") <= upper  # sigma_grain = 1
        reference = brick_layer(d, 1, 1.0, 0.01)
        deviations.append(abs(result.factor("x") - reference) / reference)
        assert deviations[-1] < 1.0 / d
    assert 1.6 < deviations[0] / deviations[1] < 2.5


def test_sphere_lattice_converges_to_rayleigh_at_first_order():
    """Insulating spheres (porosity 0.2) on a simple cubic lattice: one unit cell with
    insulated sides is the periodic problem by symmetry. The staircase voxel sphere gives
    first-order convergence to Rayleigh's value, which lies just below Maxwell's."""
    porosity = 0.2
    reference = rayleigh_cubic_spheres(porosity)
    assert reference < maxwell_spheres(porosity)
    sizes = np.array([12, 24, 48])
    errors = []
    for n in sizes:
        result = conduct(Microstructure(sphere_cell(n, porosity)), axes=["x"], comm=SELF)
        errors.append(abs(result.factor("x") - reference))
    order = -np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert 0.7 < order < 1.5, (errors, order)
    assert errors[-1] / reference < 0.02


@pytest.mark.parametrize("method", ["fv", "fe"])
def test_current_density_is_uniform_through_a_series_laminate(method):
    """Across layers the current density is the same in every voxel: J_x = I / A, J_y = J_z
    = 0 (the field written by --fields)."""
    from meso.conduction.fields import current_density
    from meso.conduction.voxel import VoxelConduction, _sigma_function, fv_potential_function
    from meso.conduction.voxel_fv import FvProblem
    from meso.mesh.voxel import build_voxel_mesh

    layers = np.array([1, 2, 1, 1, 2, 1, 1])
    labels = np.broadcast_to(layers[:, None, None], (7, 4, 3)).astype(np.uint8)
    h = 1e-6
    sigma_by_label = np.array([0.0, 0.05, 0.005] + [0.0] * 253)
    vm = build_voxel_mesh(labels, h, comm=SELF)
    sigma = _sigma_function(vm, sigma_by_label)
    if method == "fv":
        fv = FvProblem(sigma_by_label[labels], h, SELF)
        solution = fv.solve("x")
        potential, current, reason = (
            fv_potential_function(vm, fv, solution.potential), solution.current, solution.reason
        )  # fmt: skip
    else:
        potential, current, _, reason = VoxelConduction(vm, sigma).solve("x")
    assert reason > 0
    J = current_density(vm, sigma, potential, "x").x.array.reshape(-1, 3)
    expected = current / (4 * 3 * h**2)
    assert expected == pytest.approx(1.0 / np.sum(h / np.where(layers == 1, 0.05, 0.005)))
    assert np.allclose(J[:, 0], expected, rtol=1e-5)
    assert np.allclose(J[:, 1:], 0.0, atol=1e-5 * expected)
