"""The real APS tooth scan (../shared/data/tooth.h5) through `meso reconstruct`, checked independently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import edt
import h5py
import numpy as np
import pytest
import zarr
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.registration import phase_cross_correlation

from imaging.io_dxchange import open_dxchange
from imaging.reconstruction.preprocess import minus_log, normalize, remove_stripes
from imaging.reconstruction.slices import reconstruct_slice
from imaging.reconstruction.volume import ReconstructionSettings, reconstruct_to_file

# The module-scoped fixture below cannot use conftest's function-scoped shared_data/meso_exe,
# so it repeats their look-up (same folder, same skip reason).
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def tooth(tmp_path_factory):
    """Run the CLI once on the whole scan (2 rows, one per slab); share volume and record."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (it is not part of a clone)")
    data = SHARED_DATA / "tooth.h5"
    out = tmp_path_factory.mktemp("tooth") / "tooth.h5"
    exe = [str(Path(sys.executable).with_name("meso"))]
    done = subprocess.run(
        [*exe, "reconstruct", str(data), "--out", str(out), "--slab-rows", "1", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with h5py.File(out) as fh:
        volume = fh["volume"][()]
    record = json.loads(out.with_name("reconstruct.json").read_text())
    return data, volume, record, out


def _independent_attenuation(path):
    """-log of flat/dark-corrected projections, computed here with plain numpy means."""
    with h5py.File(path) as fh:
        proj = fh["/exchange/data"][()]
        flat = fh["/exchange/data_white"][()].mean(axis=0)
        dark = fh["/exchange/data_dark"][()].mean(axis=0)
    return -np.log(np.clip((proj - dark) / (flat - dark), 1e-6, None))


def test_auto_center_agrees_with_mirrored_projection_registration(tooth):
    """Independent estimate: the last projection (180 degrees from the first) mirrored left-right
    is the first one shifted by 2 (c - (n-1)/2); phase correlation (scikit-image) measures it."""
    data, _, record, _ = tooth
    attenuation = _independent_attenuation(data)
    shift = phase_cross_correlation(attenuation[0], attenuation[-1][:, ::-1], upsample_factor=20)[
        0
    ][1]
    registered = (attenuation.shape[2] - 1) / 2.0 + shift / 2.0
    assert record["center_method"].startswith("algotom find_center_vo")
    assert record["center_auto"] == record["center"]
    assert abs(record["center"] - registered) <= 1.0, (record["center"], registered)


def _enamel_ring(image):
    """(10-90 % edge width in pixels at the tooth's outline, outer-shell / interior attenuation)."""
    smooth = ndimage.gaussian_filter(image, 1.0)
    mask = ndimage.binary_fill_holes(
        ndimage.binary_opening(smooth > threshold_otsu(smooth), iterations=2)
    )
    labels, _ = ndimage.label(mask)
    mask = labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1
    depth = np.where(mask, edt.edt(mask) - 0.5, 0.5 - edt.edt(~mask))  # signed, > 0 inside
    outside = image[(depth < -10) & (depth > -30)].mean()
    shell = image[(depth > 1) & (depth < 6)].mean()
    interior = image[depth > 25].mean()
    bins = np.arange(-8.25, 2.3, 0.5)
    which = np.digitize(depth, bins)
    profile, at = [], []
    for i in range(1, len(bins)):
        if np.any(which == i):
            profile.append((image[which == i].mean() - outside) / (shell - outside))
            at.append((bins[i - 1] + bins[i]) / 2)
    width = np.interp(0.9, profile, at) - np.interp(0.1, profile, at)
    return width, shell / interior


def test_sharp_enamel_ring_on_both_rows(tooth):
    """Enamel (the dense outer shell) is >= 1.4x the dentine inside and its outline rises from
    background in <= 2 pixels; a centre 10 pixels off fails the same check (it can fail)."""
    data, volume, record, _ = tooth
    assert volume.shape == (640, 640, 2)
    for z in range(2):
        width, contrast = _enamel_ring(volume[:, :, z])
        assert width <= 2.0, (z, width)
        assert contrast >= 1.4, (z, contrast)
    with open_dxchange(data) as source:
        sinogram = remove_stripes(minus_log(normalize(*source.read_rows(0, 1))))[:, 0, :]
        wrong = reconstruct_slice(sinogram, record["center"] + 10, source.theta_deg)
    assert _enamel_ring(wrong)[1] < 1.4


def test_record_holds_every_parameter(tooth):
    _, _, record, out = tooth
    settings = record["settings"]
    for key in ("algorithm", "filter_name", "rings", "slab_rows", "rows", "phase", "center"):
        assert key in settings
    assert settings["algorithm"] == "dfi" and settings["rings"] == "sorting"
    assert record["rows"] == [0, 2] and record["n_angles"] == 181
    assert out.with_name("center.png").stat().st_size > 10_000


def test_zarr_subrange_with_manual_center_equals_h5_volume(tooth, tmp_path):
    data, volume, record, _ = tooth
    settings = ReconstructionSettings(center=record["center"], rows=(1, 2), slab_rows=4)
    with open_dxchange(data) as source:
        out = reconstruct_to_file(source, tmp_path / "row1.zarr", settings, progress=False)
    assert out["center_auto"] is None and out["center_method"] == "manual"
    row1 = zarr.open_group(str(tmp_path / "row1.zarr"), mode="r")["volume"][...]
    assert row1.shape == (640, 640, 1)
    np.testing.assert_allclose(row1[:, :, 0], volume[:, :, 1], rtol=1e-5, atol=1e-7)


def test_ring_removal_on_real_sinogram_reduces_added_stripes(shared_data):
    with open_dxchange(shared_data / "tooth.h5") as source:
        clean = minus_log(normalize(*source.read_rows(0, 1)))
    columns = np.array([100, 250, 300, 320, 400, 520])
    offsets = np.zeros(clean.shape[2], np.float32)
    offsets[columns] = [0.05, -0.04, 0.06, 0.05, -0.05, 0.04]
    for method in ("sorting", "fft", "wavelet"):
        cleaned = remove_stripes(clean + offsets, method)
        residual = np.abs((cleaned - clean)[:, 0, columns].mean(axis=0))
        assert residual.mean() < 0.35 * np.abs(offsets[columns]).mean(), method


def test_bad_rows_exit_2_with_one_line(shared_data, meso_exe, tmp_path):
    args = ["--out", str(tmp_path / "v.h5"), "--rows", "5:9"]
    done = subprocess.run(
        [*meso_exe, "reconstruct", str(shared_data / "tooth.h5"), *args, "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "--rows" in done.stderr and len(done.stderr.strip().splitlines()) == 1
