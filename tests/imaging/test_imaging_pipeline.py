"""Preprocessing, phase retrieval, reconstruction and readers against analytic and peer references."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile
from skimage.transform import radon

from imaging.io_dxchange import open_dxchange, read_tiff_projections, write_dxchange
from imaging.phantom.forward import fresnel_intensity, optical_constants, project
from imaging.reconstruction.phase import paganin
from imaging.reconstruction.preprocess import minus_log, normalize, remove_stripes
from imaging.reconstruction.slices import check_algorithm, reconstruct_slice, tomopy_available
from meso.errors import InputError

N = 96
THETA = np.linspace(0.0, 180.0, 180, endpoint=False)


def _disks() -> np.ndarray:
    x, y = np.mgrid[:N, :N]
    image = ((x - 30) ** 2 + (y - 62) ** 2 < 64).astype(np.float32)
    image += 0.5 * ((x - 60) ** 2 + (y - 25) ** 2 < 36)
    return image


def _sinogram(image: np.ndarray) -> np.ndarray:
    """(angle, column) sinogram from scikit-image's radon, an independent forward projector.

    skimage sums along its image rows; passing the (x, y) image transposed puts x on the detector.
    """
    return radon(image.T, theta=THETA, circle=True).T.astype(np.float32)


def test_normalize_and_minus_log_recover_known_attenuation():
    rng = np.random.default_rng(0)
    flat = rng.uniform(900, 1100, (1, 4, 6)).astype(np.float32)
    dark = np.full((1, 4, 6), 50.0, np.float32)
    attenuation = rng.uniform(0.1, 2.0, (3, 4, 6)).astype(np.float32)
    counts = (flat - dark) * np.exp(-attenuation) + dark
    flats = np.concatenate([flat, flat, flat * 5])  # a zinger frame: the median ignores it
    result = minus_log(normalize(counts, flats, np.concatenate([dark, dark])))
    np.testing.assert_allclose(result, attenuation, rtol=1e-4)


@pytest.mark.parametrize("algorithm", ["dfi", "fbp"])
def test_reconstruction_matches_skimage_radon_phantom(algorithm):
    image = _disks()
    rec = reconstruct_slice(_sinogram(image), N // 2, THETA, algorithm=algorithm)
    assert rec.shape == (N, N)
    # values and positions (x, y) of both disks, in 1/pixel
    assert rec[30, 62] == pytest.approx(1.0, abs=0.05)
    assert rec[60, 25] == pytest.approx(0.5, abs=0.05)
    assert np.corrcoef(rec.ravel(), image.ravel())[0, 1] > 0.93


def test_unknown_or_unavailable_algorithm_is_input_error():
    with pytest.raises(InputError, match="--algorithm"):
        reconstruct_slice(_sinogram(_disks()), N // 2, THETA, algorithm="art")
    if tomopy_available():
        check_algorithm("gridrec")
    else:
        with pytest.raises(InputError, match="TomoPy"):
            check_algorithm("gridrec")


def test_stripe_removal_method_choice():
    slab = _sinogram(_disks())[:, None, :]
    assert remove_stripes(slab, "none") is slab
    with pytest.raises(InputError, match="--rings"):
        remove_stripes(slab, "magic")


def test_paganin_recovers_cylinder_chord_attenuation_from_fresnel_intensity():
    """A homogeneous LLZO cylinder, propagated 0.1 m at 76.2 keV: Paganin with LLZO's delta/beta
    must give the analytic mu * chord length; plain -log shows the edge fringes."""
    voxel_um, n, radius = 0.5, 128, 40.0
    mu_table, delta_table = optical_constants(76.2)
    x, y = np.mgrid[:n, :n]
    disc = (x - (n - 1) / 2) ** 2 + (y - (n - 1) / 2) ** 2 <= radius**2
    labels = np.repeat(disc[:, :, None], 8, axis=2).astype(np.uint8)  # label 1 = LLZO grain
    att, phase = project(
        mu_table[labels], voxel_um, np.array([0.0]), delta=delta_table[labels], energy_kev=76.2
    )
    intensity = fresnel_intensity(att, phase, 76.2, 0.1, voxel_um)
    wavelength_m = 12.398419843e-10 / 76.2  # hc = 12.398 keV Angstrom
    columns = np.arange(n) - (n - 1) / 2
    chord_m = 2 * np.sqrt(np.clip(radius**2 - columns**2, 0, None)) * voxel_um * 1e-6
    expected = mu_table[1] * chord_m
    retrieved = paganin(
        intensity[0],
        energy_kev=76.2,
        distance_m=0.1,
        pixel_size_um=voxel_um,
        delta_beta=delta_table[1]
        / (mu_table[1] * wavelength_m / (4 * np.pi)),  # beta = mu lambda/4pi
    )[4]
    core = np.abs(columns) < radius - 6
    assert np.abs(retrieved[core] - expected[core]).max() < 0.05 * expected.max()
    plain = minus_log(intensity[0])[4]
    assert np.abs(plain - expected).max() > 3 * np.abs(retrieved - expected).max()


def test_paganin_leaves_uniform_attenuation_unchanged():
    uniform = np.full((2, 16, 16), np.exp(-0.7), np.float32)
    out = paganin(uniform, energy_kev=30, distance_m=0.5, pixel_size_um=1.0, delta_beta=500)
    np.testing.assert_allclose(out, 0.7, rtol=1e-5)
    with pytest.raises(InputError, match="--distance"):
        paganin(uniform, energy_kev=30, distance_m=-1, pixel_size_um=1.0, delta_beta=500)


def test_dxchange_and_tiff_readers_return_the_same_slabs(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.uniform(100, 200, (5, 6, 7)).astype(np.float32)
    flats = rng.uniform(300, 400, (2, 6, 7)).astype(np.float32)
    darks = np.full((2, 6, 7), 10.0, np.float32)
    write_dxchange(tmp_path / "scan.h5", data, flats, darks, np.arange(5.0) * 36)
    tifffile.imwrite(tmp_path / "proj.tif", data)
    tifffile.imwrite(tmp_path / "flats.tif", flats)
    tifffile.imwrite(tmp_path / "darks.tif", darks)
    with open_dxchange(tmp_path / "scan.h5") as h5src:
        tifsrc = read_tiff_projections(
            tmp_path / "proj.tif", tmp_path / "flats.tif", tmp_path / "darks.tif"
        )
        for a, b in zip(h5src.read_rows(2, 5), tifsrc.read_rows(2, 5), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(h5src.read_rows(2, 5)[0], data[:, 2:5])
        np.testing.assert_allclose(h5src.theta_deg, np.arange(5.0) * 36)
        with pytest.raises(InputError, match="rows 4:9"):
            h5src.read_rows(4, 9)


def test_dxchange_reader_names_missing_datasets(tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as fh:
        fh["exchange/data"] = np.zeros((3, 4, 5), np.float32)
    with pytest.raises(InputError, match="data_white"):
        open_dxchange(tmp_path / "bad.h5")
    with pytest.raises(InputError, match="no projection dataset"):
        open_dxchange(tmp_path / "bad.h5", data_path="/nope")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="not a readable HDF5"):
        open_dxchange(tmp_path / "junk.h5")
