"""synth.measure on phantoms with known answers and against scikit-image; synth.twin reproduces statistics."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import measure as skmeasure

from meso import Microstructure
from meso.errors import InputError
from synth import generate, measure, twin


def cubic_grain_phantom(n=61, period=10, offset=5):
    """Cubic grains of edge `period` separated by 1-voxel boundary planes at i % period == offset."""
    labels = np.ones((n, n, n), np.uint8)
    planes = np.arange(n) % period == offset
    labels[planes, :, :] = 2
    labels[:, planes, :] = 2
    labels[:, :, planes] = 2
    return labels


def test_cubic_grain_phantom_has_the_lattice_intercept():
    stats = measure(Microstructure(cubic_grain_phantom(), voxel_size_um=0.5))
    assert stats.grain_count == 7**3
    for axis in "xyz":
        assert stats.grain_intercept_um[axis] == pytest.approx(10 * 0.5, rel=0.02)
    assert stats.porosity == 0.0 and stats.pore_count == 0
    assert stats.mean_pore_equivalent_diameter_um is None
    expected_fraction = 1 - (55 / 61) ** 3  # six planes per axis in 61 voxels
    assert stats.grain_boundary_volume_fraction == pytest.approx(expected_fraction)


def test_pore_sizes_agree_with_scikit_image():
    m = generate(48, 0.8, 0.06, 2.4, 6.0, seed=2)
    stats = measure(m)
    pores = skmeasure.label(m.labels == 0, connectivity=1)
    interior = [
        r.equivalent_diameter_area
        for r in skmeasure.regionprops(pores)
        if min(r.bbox[:3]) > 0 and all(hi < n for hi, n in zip(r.bbox[3:], m.shape, strict=True))
    ]
    assert stats.interior_pore_count == len(interior)
    assert stats.pore_count == pores.max()
    assert stats.mean_pore_equivalent_diameter_um == pytest.approx(np.mean(interior) * 0.8)
    assert stats.pore_equivalent_diameter_std_um == pytest.approx(np.std(interior) * 0.8)
    assert stats.porosity == pytest.approx(np.mean(m.labels == 0))


def test_pore_chords_of_a_box_pore():
    labels = np.ones((30, 30, 30), np.uint8)
    labels[5:15, 10:14, 20:22] = 0  # chords 10, 4, 2 voxels along x, y, z
    stats = measure(Microstructure(labels, voxel_size_um=2.0))
    assert stats.pore_chord_um == {"x": 20.0, "y": 8.0, "z": 4.0}
    assert stats.mean_pore_equivalent_diameter_um == pytest.approx(
        2.0 * (6 * 80 / np.pi) ** (1 / 3)
    )
    assert stats.grain_intercept_um == {"x": None, "y": None, "z": None}
    assert stats.anisotropy["pore_degree_of_anisotropy"] == pytest.approx(5.0)


def test_lithium_and_collector_are_not_sample_volume():
    labels = np.ones((20, 20, 20), np.uint8)
    labels[:5] = 3  # lithium
    labels[5:10, :10] = 0  # 5 * 10 * 20 pore voxels in the 15 * 20 * 20 LLZO region
    labels[-2:] = 4  # collector
    stats = measure(Microstructure(labels, voxel_size_um=1.0))
    assert stats.porosity == pytest.approx(1000 / (13 * 400))


def test_twin_reproduces_the_statistics_of_its_source():
    source = generate(56, 0.5, 0.08, 2.0, 4.5, gb_thickness_voxels=2, pore_placement="boundaries",
                      anisotropy=(1.4, 1.0, 1.0), seed=3)  # fmt: skip
    target = measure(source)
    copy = twin(source, seed=8)
    got = measure(copy)
    assert abs(got.porosity - target.porosity) <= 0.005
    assert got.mean_pore_equivalent_diameter_um == pytest.approx(
        target.mean_pore_equivalent_diameter_um, rel=0.1
    )
    assert got.mean_grain_intercept_um == pytest.approx(target.mean_grain_intercept_um, rel=0.05)
    assert got.grain_boundary_volume_fraction == pytest.approx(
        target.grain_boundary_volume_fraction, rel=0.15
    )
    assert target.anisotropy["grain_degree_of_anisotropy"] > 1.2
    assert got.anisotropy["grain_degree_of_anisotropy"] < 1.06  # the twin is isotropic
    assert copy.metadata["parameters"]["gb_thickness_voxels"] == 2.0
    assert copy.metadata["twin_target"]["porosity"] == target.porosity
    assert copy.shape == source.shape and copy.voxel_size_um == source.voxel_size_um


def test_twin_of_a_volume_without_boundaries_needs_a_grain_size():
    rng = np.random.default_rng(0)
    labels = np.ones((40, 40, 40), np.uint8)
    labels[rng.random(labels.shape) < 0.03] = 0  # segmented tomography: pore / solid only
    tomo = Microstructure(labels, voxel_size_um=0.7, metadata={"source": "tomo.npz"})
    with pytest.raises(InputError, match=r"tomo\.npz: .*grain size"):
        twin(tomo)
    copy = twin(tomo, grain_size_um=5.6, shape=(32, 32, 32), seed=1)
    got = measure(copy)
    assert copy.shape == (32, 32, 32)
    assert abs(got.porosity - measure(tomo).porosity) <= 0.005
    assert got.mean_grain_intercept_um == pytest.approx(5.6, rel=0.05)
