"""Tortuosity factor from the pore geometry alone, M from every phase (grain boundaries included)."""

import numpy as np
import pytest
from mpi4py import MPI

from meso import conduct
from meso.conduction.results import TAU_DEFINITION
from meso.materials import parse_materials
from meso.microstructure import Microstructure
from validation.conduction_references import parallel_laminate, series_laminate

SELF = MPI.COMM_SELF
TIGHT = 1e-6  # the solver stops at a relative residual of 1e-7
GRAIN, BOUNDARY = 1.0, 0.01  # S/m: a boundary phase 100 times more resistive than the grain


def _materials(boundary_S_per_m: float):
    return parse_materials(
        f"""
[phases.pore]
label = 0
void = true
[phases.grain]
label = 1
sigma_S_per_m = {GRAIN}
[phases.grain_boundary]
label = 2
sigma_S_per_m = {boundary_S_per_m}
"""
    )


@pytest.mark.parametrize("method", ["fv", "fe"])
def test_laminate_tau_is_geometric_and_M_has_the_boundary_resistance(method):
    layers = np.array([1, 1, 2, 1, 1, 1, 2, 1])  # two boundary layers normal to x
    labels = np.broadcast_to(layers[:, None, None], (8, 6, 5)).astype(np.uint8)
    result = conduct(Microstructure(labels, voxel_size_um=0.5), method=method,
                     materials=_materials(BOUNDARY), comm=SELF)  # fmt: skip
    sigma = np.where(layers == 2, BOUNDARY, GRAIN)
    fractions = np.ones(layers.size)
    expected = {"x": series_laminate(fractions, sigma, GRAIN)}  # 8 / 206 = 0.0388
    expected["y"] = expected["z"] = parallel_laminate(fractions, sigma, GRAIN)  # 0.7525
    for axis, M in expected.items():
        entry = result.axes[axis][method]
        assert entry.converged
        assert entry.M == pytest.approx(M, rel=1e-5)  # the 100x contrast costs a digit
        assert entry.M_geometric == pytest.approx(1.0, rel=TIGHT)  # no pores: a straight path
        assert entry.tortuosity_factor == pytest.approx(1.0, rel=TIGHT)  # eps / M was 25.75
    document = result.to_json()
    assert document["tortuosity_definition"] == TAU_DEFINITION
    assert "M_geometric" in TAU_DEFINITION and "grain conductivity" in TAU_DEFINITION
    assert document["axes"]["x"]["M_geometric"] == pytest.approx(1.0, rel=TIGHT)
    assert document["axes"]["x"]["M"] == pytest.approx(expected["x"], rel=1e-5)


def _porous_with_boundaries(n: int = 12, porosity: float = 0.15, seed: int = 3) -> np.ndarray:
    """Random pores in a solid with a label-2 boundary layer on every fourth plane of each axis."""
    rng = np.random.default_rng(seed)
    labels = np.ones((n,) * 3, np.uint8)
    index = np.arange(n)
    planes = index % 4 == 3
    labels[planes] = 2
    labels[:, planes] = 2
    labels[:, :, planes] = 2
    labels[rng.random(labels.shape) < porosity] = 0
    return labels


def test_tau_of_a_porous_volume_is_that_of_the_boundaries_at_grain_conductivity():
    labels = _porous_with_boundaries()
    m = Microstructure(labels, voxel_size_um=0.5)
    both = conduct(m, method="both", materials=_materials(BOUNDARY), comm=SELF)
    geometry = conduct(m, method="both", materials=_materials(GRAIN), comm=SELF)
    eps = both.conducting_fraction
    assert eps == pytest.approx(geometry.conducting_fraction) and eps < 0.9
    for axis in "xyz":
        for method in ("fv", "fe"):
            entry, plain = both.axes[axis][method], geometry.axes[axis][method]
            assert entry.converged and plain.converged
            assert entry.M_geometric == pytest.approx(plain.M, rel=TIGHT)
            assert entry.tortuosity_factor == pytest.approx(eps / plain.M, rel=TIGHT)
            assert plain.tortuosity_factor == pytest.approx(eps / plain.M, rel=TIGHT)
            assert plain.M_geometric == plain.M  # one phase conducting like the grain: one solve
            assert entry.tortuosity_factor > 1.0
            # the boundaries lower M well below the geometry's (M from every phase)
            assert entry.M < 0.5 * plain.M
            assert eps / entry.M > 2 * entry.tortuosity_factor


def test_one_solve_when_every_phase_conducts_like_the_grain(monkeypatch):
    import meso.conduction.voxel as voxel

    calls = []
    solve = voxel._solve
    monkeypatch.setattr(voxel, "_solve", lambda *a: calls.append(a[1]) or solve(*a))
    labels = _porous_with_boundaries(n=8)
    conduct(Microstructure(labels), materials=_materials(GRAIN), comm=SELF)
    assert calls == ["fv"] * 3
    calls.clear()
    conduct(Microstructure(labels), materials=_materials(BOUNDARY), comm=SELF)
    assert calls == ["fv"] * 6  # a second, geometric solve per axis
