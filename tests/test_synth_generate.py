"""synth.generate: porosity, sizes, anisotropy, boundaries against brute force and stereology, determinism."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from meso.errors import InputError
from synth import generate, measure
from synth.grains import (
    POISSON_VORONOI_INTERCEPT,
    draw_seeds,
    sample_line_intercepts,
    voronoi_intercepts,
)


def brute_force_voronoi(shape, voxel_size_um, seeds_um, stretch):
    """Nearest seed and real-space distance to the nearest bisector plane for every voxel centre.

    Written independently of synth.grains: all seeds, and the bisector of seeds a, b in the
    metric |(x - s) / stretch| taken as the real-space plane x . n = c with n = (b - a) / stretch^2.
    """
    centres = (np.indices(shape).reshape(3, -1).T + 0.5) * voxel_size_um
    ids = np.empty(len(centres), dtype=np.int64)
    distance = np.empty(len(centres))
    scaled = seeds_um / stretch
    for lo in range(0, len(centres), 2048):
        x = centres[lo : lo + 2048]
        d2 = (((x[:, None, :] / stretch) - scaled[None]) ** 2).sum(-1)
        nearest = d2.argmin(axis=1)
        a = seeds_um[nearest][:, None, :]
        normal = (seeds_um[None] - a) / stretch**2
        offset = 0.5 * ((seeds_um[None] / stretch) ** 2 - (a / stretch) ** 2).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dist = np.abs((x[:, None, :] * normal).sum(-1) - offset) / np.linalg.norm(
                normal, axis=-1
            )
        dist[np.arange(len(x)), nearest] = np.inf
        ids[lo : lo + 2048] = nearest
        distance[lo : lo + 2048] = dist.min(axis=1)
    return ids.reshape(shape), distance.reshape(shape)


@pytest.mark.parametrize(
    ("anisotropy", "thickness"), [((1.0, 1.0, 1.0), 1.0), ((1.8, 1.0, 0.7), 2.0)]
)
def test_grains_and_boundaries_match_brute_force_voronoi(anisotropy, thickness):
    h = 0.5
    m, geo = generate(
        (22, 20, 18), h, 0.0, 1.0, 3.0, gb_thickness_voxels=thickness,
        anisotropy=anisotropy, seed=4, return_geometry=True,
    )  # fmt: skip
    ids, distance = brute_force_voronoi(m.shape, h, geo.seeds_um, geo.stretch)
    assert np.array_equal(geo.grain_ids, ids)
    half = 0.5 * thickness * h
    clear = np.abs(distance - half) > 1e-6 * h  # ignore exact ties with the threshold
    assert clear.mean() > 0.999
    assert np.array_equal((m.labels == 2)[clear], (distance < half)[clear])


@pytest.mark.parametrize("thickness", [1.0, 3.0])
def test_boundaries_are_exactly_where_grain_ids_change(thickness):
    m, geo = generate(40, 1.0, 0.0, 2.0, 8.0, gb_thickness_voxels=thickness, seed=2,
                      return_geometry=True)  # fmt: skip
    ids, interior = geo.grain_ids, m.labels == 1
    for axis in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis], b[axis] = slice(1, None), slice(None, -1)
        change = ids[tuple(a)] != ids[tuple(b)]
        # Interiors of two grains never touch: a boundary voxel separates every id change.
        assert not np.any(change & interior[tuple(a)] & interior[tuple(b)])
    # Every boundary voxel has a voxel of another grain within half the thickness plus a voxel
    # (checked away from the box faces, where the other grain can lie outside the box).
    reach = int(np.ceil(0.5 * thickness + 0.87))
    mixed = ndimage.maximum_filter(ids, 2 * reach + 1) != ndimage.minimum_filter(ids, 2 * reach + 1)
    inner = (slice(reach, -reach),) * 3
    assert np.all(mixed[inner][m.labels[inner] == 2])


def test_boundary_fraction_follows_stereology():
    # Boundary volume fraction = S_V * delta with S_V = 2 / L for an isotropic tessellation.
    for thickness in (1.0, 2.0):
        m = generate(64, 1.0, 0.0, 2.0, 12.0, gb_thickness_voxels=thickness, seed=5)
        stats = measure(m)
        expected = 2.0 / stats.mean_grain_intercept_um * thickness
        assert stats.grain_boundary_volume_fraction == pytest.approx(expected, rel=0.08)


def test_poisson_voronoi_intercept_matches_meijering():
    # L = 0.6872 lambda^(-1/3) (Meijering 1953). The voxel grid misses crossings closer than a
    # voxel, a bias that halves with the resolution: Richardson-extrapolate two resolutions.
    constants = []
    for spacing in (16.0, 32.0):
        values = []
        for seed in range(2):
            rng = np.random.default_rng(seed)
            n, margin = int(10 * spacing), 3 * spacing
            seeds = draw_seeds(
                rng, np.full(3, -margin), np.full(3, n + margin), spacing**-3, "poisson"
            )
            values.append(
                np.mean(sample_line_intercepts((n, n, n), seeds, np.ones(3), 24)) / spacing
            )
        constants.append(np.mean(values))
    assert constants[0] > constants[1] > POISSON_VORONOI_INTERCEPT
    assert 2 * constants[1] - constants[0] == pytest.approx(POISSON_VORONOI_INTERCEPT, rel=0.015)


@pytest.mark.parametrize("porosity", [0.0, 0.02, 0.1, 0.45])
@pytest.mark.parametrize("placement", ["random", "boundaries", "triple_junctions"])
def test_porosity_is_hit(porosity, placement):
    m = generate(32, 1.0, porosity, 3.0, 8.0, pore_placement=placement, seed=7)
    assert abs(measure(m).porosity - porosity) <= 0.005
    assert abs(np.mean(m.labels == 0) - porosity) <= 1.5 / m.labels.size


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_requested_statistics_are_measured(seed):
    m = generate(64, 0.5, 0.04, 2.0, 5.0, seed=seed)
    stats = measure(m)
    assert abs(stats.porosity - 0.04) <= 0.005
    assert stats.mean_pore_equivalent_diameter_um == pytest.approx(2.0, rel=0.12)
    assert stats.mean_grain_intercept_um == pytest.approx(5.0, rel=0.05)
    intercepts = list(stats.grain_intercept_um.values())
    # Isotropic: equal mean intercepts along x, y, z within 5 %.
    assert max(intercepts) / min(intercepts) < 1.05
    assert stats.grain_boundary_thickness_um == pytest.approx(0.5, rel=0.15)


def test_anisotropic_volume_shows_requested_ratios():
    m, geo = generate(72, 1.0, 0.05, 5.0, 9.0, anisotropy=(2.0, 1.0, 1.0), pore_size_std_um=0,
                      seed=3, return_geometry=True)  # fmt: skip
    tessellation = voronoi_intercepts(geo.grain_ids)
    assert tessellation[0] / tessellation[1] == pytest.approx(2.0, rel=0.05)
    assert tessellation[0] / tessellation[2] == pytest.approx(2.0, rel=0.05)
    stats = measure(m)
    grain = stats.grain_intercept_um
    pore = stats.pore_chord_um
    # From the labels alone, lines inside boundary layers along x pick up neighbouring grains.
    assert grain["x"] / grain["y"] == pytest.approx(2.0, rel=0.1)
    assert grain["x"] / grain["z"] == pytest.approx(2.0, rel=0.1)
    assert grain["y"] / grain["z"] == pytest.approx(1.0, rel=0.05)
    assert pore["x"] / pore["y"] == pytest.approx(2.0, rel=0.15)
    # Geometric mean of the intercepts is the requested grain size (volume-preserving stretch).
    assert stats.mean_grain_intercept_um == pytest.approx(9.0, rel=0.05)


def _distinct_ids_around(ids, centres_um, h):
    voxel = np.clip(np.floor(centres_um / h).astype(int), 1, np.asarray(ids.shape) - 2)
    offsets = np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), -1).reshape(-1, 3)
    near = voxel[:, None, :] + offsets[None]
    values = ids[near[..., 0], near[..., 1], near[..., 2]]
    return np.array([len(np.unique(v)) for v in values])


def test_pore_placement_biases_centres():
    counts = {}
    for placement in ("random", "boundaries", "triple_junctions"):
        _m, geo = generate(48, 1.0, 0.03, 2.0, 10.0, pore_placement=placement, seed=1,
                          return_geometry=True)  # fmt: skip
        counts[placement] = _distinct_ids_around(geo.grain_ids, geo.pore_centres_um, 1.0)
    assert np.mean(counts["boundaries"] >= 2) > 0.95
    assert np.mean(counts["random"] >= 2) < 0.75
    assert np.mean(counts["triple_junctions"] >= 3) > 0.8
    assert np.mean(counts["boundaries"] >= 3) < np.mean(counts["triple_junctions"] >= 3)


def test_geometry_rebuilds_the_pores():
    h = 0.5
    m, geo = generate(30, h, 0.12, 2.0, 4.0, anisotropy=(1.0, 1.5, 1.0), seed=9,
                      return_geometry=True)  # fmt: skip
    centres = (np.indices(m.shape).reshape(3, -1).T + 0.5) * h
    pore = np.zeros(len(centres), dtype=bool)
    for c, a in zip(geo.pore_centres_um, geo.pore_semi_axes_um, strict=True):
        pore |= (((centres - c) / a) ** 2).sum(1) <= 1.0
    mismatch = np.count_nonzero(pore.reshape(m.shape) != (m.labels == 0))
    assert mismatch <= 2  # rounding at the surface of the one shrunk pore


def test_same_seed_is_bit_identical_and_seeds_are_independent():
    kwargs = dict(porosity=0.06, pore_size_um=3.0, grain_size_um=7.0, pore_placement="boundaries")
    a, ga = generate(36, 1.0, seed=11, return_geometry=True, **kwargs)
    b, gb = generate(36, 1.0, seed=11, return_geometry=True, **kwargs)
    c = generate(36, 1.0, seed=12, **kwargs)
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(ga.seeds_um, gb.seeds_um)
    assert np.array_equal(ga.pore_centres_um, gb.pore_centres_um)
    assert np.mean(a.labels != c.labels) > 0.1
    assert a.metadata["seed"] == 11 and a.metadata["parameters"]["grain_size_um"] == 7.0
    # The grain and pore streams are separate: changing the porosity keeps the grains.
    _d, gd = generate(36, 1.0, seed=11, return_geometry=True, **{**kwargs, "porosity": 0.2})
    assert np.array_equal(ga.grain_ids, gd.grain_ids)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"porosity": 0.95}, "porosity"),
        ({"porosity": -0.01}, "porosity"),
        ({"pore_size_um": 0.0}, "pore_size_um"),
        ({"pore_size_um": 0.5}, "pore_size_um"),
        ({"pore_size_um": 40.0}, "pore_size_um"),
        ({"grain_size_um": 1.5}, "grain_size_um"),
        ({"grain_size_um": 33.0}, "grain_size_um"),
        ({"grain_size_um": float("nan")}, "grain_size_um"),
        ({"voxel_size_um": 0.0}, "voxel_size_um"),
        ({"gb_thickness_voxels": 0.5}, "gb_thickness_voxels"),
        ({"pore_placement": "edges"}, "pore_placement"),
        ({"anisotropy": (1.0, 0.0, 1.0)}, "anisotropy"),
        ({"seed": -1}, "seed"),
        ({"shape": (3, 32, 32)}, "shape"),
    ],
)
def test_bad_parameters_raise_input_error(change, name):
    kwargs = dict(shape=32, voxel_size_um=1.0, porosity=0.05, pore_size_um=3.0, grain_size_um=8.0)
    kwargs.update(change)
    with pytest.raises(InputError) as info:
        generate(**kwargs)
    assert info.value.source == name
    assert "\n" not in str(info.value)


HASH_SCRIPT = """
import hashlib
from synth import generate
m, g = generate((14, 12, 10), 0.5, 0.1, 1.0, 2.5, anisotropy=(1.3, 1.0, 0.8),
                gb_thickness_voxels=1.5, pore_placement="triple_junctions", seed=5,
                return_geometry=True)
print(hashlib.sha256(m.labels.tobytes() + g.grain_ids.tobytes()
                     + g.pore_semi_axes_um.tobytes()).hexdigest())
"""
# sha256 of the volume above on the development machine (x86-64, numpy 1.24.2, numba 0.68.1).
# A different value on another machine means the generator is not reproducible there.
GOLDEN_SHA256 = "78f7fdf684501148b3c1aa74a183f6a845d8b37db4c9cc136dc68b86f8023fbe"


def test_volume_is_identical_with_one_thread_without_jit_and_on_the_reference_machine():
    digests = {}
    for name, env in [
        ("default", {}),
        ("one thread", {"NUMBA_NUM_THREADS": "1"}),
        ("pure python", {"NUMBA_DISABLE_JIT": "1"}),
    ]:
        done = subprocess.run(
            [sys.executable, "-c", HASH_SCRIPT],
            capture_output=True, text=True, env={**os.environ, **env}, timeout=120, check=True,
        )  # fmt: skip
        digests[name] = done.stdout.strip()
    assert set(digests.values()) == {GOLDEN_SHA256}, digests
