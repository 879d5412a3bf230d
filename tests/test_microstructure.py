"""Microstructure: validation of labels, volume fractions, crop and majority downsampling."""

import numpy as np
import pytest

from meso import InputError, Microstructure


def test_volume_fractions_count_every_phase():
    labels = np.ones((10, 10, 10), np.uint8)
    labels[:1] = 0  # 10% pore
    labels[1:3] = 2  # 20% grain boundary
    m = Microstructure(labels, voxel_size_um=0.7)
    assert m.volume_fractions() == pytest.approx({"pore": 0.1, "grain_boundary": 0.2, "grain": 0.7})
    assert m.voxel_size_m == pytest.approx(0.7e-6)


def test_bool_volume_means_solid_llzo():
    m = Microstructure(np.array([[[True, False]]]))
    assert m.labels.dtype == np.uint8
    assert m.labels.tolist() == [[[1, 0]]]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (np.ones((4, 4)), "expected a 3D volume"),
        (np.ones((0, 4, 4)), "empty"),
        (np.full((2, 2, 2), np.nan), "NaN"),
        (np.full((2, 2, 2), 0.5), "non-integer"),
        (np.full((2, 2, 2), 9), "unknown phase labels [9]"),
        (np.full((2, 2, 2), -1), "0..255"),
        (np.full((2, 2, 2), "a"), "unsupported data type"),
    ],
)
def test_bad_labels_are_one_line_errors(data, problem):
    with pytest.raises(InputError) as info:
        Microstructure(data, metadata={"source": "scan.tif"})
    message = str(info.value)
    assert message.startswith("scan.tif: ")
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize("size", [0, -1, float("nan"), "abc"])
def test_bad_voxel_size(size):
    with pytest.raises(InputError, match="voxel size"):
        Microstructure(np.ones((2, 2, 2), np.uint8), voxel_size_um=size)


def test_crop_keeps_axes_and_records_provenance():
    labels = np.arange(4 * 5 * 6).reshape(4, 5, 6) % 2
    m = Microstructure(labels, voxel_size_um=2.0)
    c = m.crop((1, 0, 2), (3, 5, 6))
    np.testing.assert_array_equal(c.labels, labels[1:3, 0:5, 2:6])
    assert c.voxel_size_um == 2.0
    assert c.metadata["crop"] == [[1, 0, 2], [3, 5, 6]]
    with pytest.raises(InputError, match="outside axis y"):
        m.crop((0, 0, 0), (4, 6, 6))


def test_downsample_takes_the_majority_label():
    rng = np.random.default_rng(0)
    coarse_truth = rng.integers(0, 3, size=(3, 4, 5)).astype(np.uint8)
    fine = np.repeat(np.repeat(np.repeat(coarse_truth, 2, 0), 2, 1), 2, 2)
    # flip 3 of the 8 voxels in one block: the majority (5 of 8) must still win
    fine[0, 0, 0] = fine[0, 0, 1] = fine[0, 1, 0] = (coarse_truth[0, 0, 0] + 1) % 3
    m = Microstructure(fine, voxel_size_um=0.5).downsample(2)
    np.testing.assert_array_equal(m.labels, coarse_truth)
    assert m.voxel_size_um == 1.0
    odd = Microstructure(np.ones((5, 5, 5), np.uint8)).downsample(2)
    assert odd.shape == (2, 2, 2)


def test_require_solid():
    Microstructure(np.ones((2, 2, 2), np.uint8)).require_solid()
    with pytest.raises(InputError, match="all pore"):
        Microstructure(np.zeros((2, 2, 2), np.uint8)).require_solid()
