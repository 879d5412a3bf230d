"""Loading and saving every volume format: lossless round-trips and one-line errors on bad files."""

import numpy as np
import pytest

from meso import InputError, Microstructure
from meso.io.volumes import load, save

FORMATS = [".npz", ".h5", ".tif", ".tiff", ".vti"]


@pytest.fixture
def sample() -> Microstructure:
    rng = np.random.default_rng(1)
    labels = rng.choice([0, 1, 2], size=(7, 5, 3), p=[0.1, 0.7, 0.2]).astype(np.uint8)
    return Microstructure(
        labels,
        voxel_size_um=0.65,
        cell_axis="y",
        metadata={"generator": "test", "seed": 1, "params": {"porosity": 0.1}},
    )


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_is_lossless(tmp_path, sample, suffix):
    path = save(sample, tmp_path / f"vol{suffix}")
    back = load(path)
    assert back.labels.dtype == np.uint8
    np.testing.assert_array_equal(back.labels, sample.labels)  # also checks the axis order
    assert back.voxel_size_um == sample.voxel_size_um
    assert back.cell_axis == "y"
    assert back.phases == sample.phases
    assert back.metadata["params"] == {"porosity": 0.1}
    assert back.metadata["source"] == str(path)


def test_npy_round_trip_keeps_labels_and_takes_voxel_size_from_caller(tmp_path, sample):
    path = save(sample, tmp_path / "vol.npy")
    back = load(path, voxel_size_um=0.65)
    np.testing.assert_array_equal(back.labels, sample.labels)
    assert back.voxel_size_um == 0.65
    assert load(path).voxel_size_um == 1.0


def test_tiff_pages_are_x(tmp_path):
    import tifffile

    labels = np.zeros((3, 4, 5), np.uint8)
    labels[2] = 1  # the last page is solid
    tifffile.imwrite(tmp_path / "stack.tif", labels, photometric="minisblack")
    m = load(tmp_path / "stack.tif")
    assert m.shape == (3, 4, 5)
    assert m.labels[2].all() and not m.labels[:2].any()


def test_h5_dataset_path_and_override(tmp_path, sample):
    import h5py

    with h5py.File(tmp_path / "scan.h5", "w") as f:
        f.create_dataset("/segmentation/step1", data=sample.labels)
    m = load(tmp_path / "scan.h5", dataset="/segmentation/step1", voxel_size_um=2.5)
    np.testing.assert_array_equal(m.labels, sample.labels)
    assert m.voxel_size_um == 2.5
    with pytest.raises(InputError, match="no dataset 'labels'.*segmentation/step1.*--dataset"):
        load(tmp_path / "scan.h5")


def test_save_is_atomic_and_leaves_no_partial_file(tmp_path, sample, monkeypatch):
    import meso.io.volumes as vio

    target = tmp_path / "vol.h5"
    save(sample, target)
    before = target.read_bytes()

    def broken_writer(m, tmp, dataset):
        tmp.write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setitem(vio._WRITERS, ".h5", broken_writer)
    with pytest.raises(OSError):
        save(sample, target)
    assert target.read_bytes() == before  # the old result survives untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vol.h5"]  # no temporary left


def _error(path, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        load(path, **kwargs)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    return message


def test_bad_files(tmp_path, sample):
    assert "no such file" in _error(tmp_path / "missing.npz")
    assert "unsupported format .raw" in _error(tmp_path / "vol.raw")

    truncated = tmp_path / "truncated.h5"
    save(sample, tmp_path / "good.h5")
    truncated.write_bytes((tmp_path / "good.h5").read_bytes()[:300])
    assert "cannot read .h5 file" in _error(truncated)

    torn = tmp_path / "torn.npz"
    save(sample, tmp_path / "good.npz")
    torn.write_bytes((tmp_path / "good.npz").read_bytes()[:100])
    assert "cannot read .npz file" in _error(torn)

    np.save(tmp_path / "flat.npy", np.ones((4, 4)))
    assert "expected a 3D volume" in _error(tmp_path / "flat.npy")
    np.save(tmp_path / "nan.npy", np.full((2, 2, 2), np.nan))
    assert "NaN" in _error(tmp_path / "nan.npy")
    np.save(tmp_path / "labels.npy", np.full((2, 2, 2), 7, np.uint8))
    assert "unknown phase labels [7]" in _error(tmp_path / "labels.npy")
    assert "voxel size" in _error(tmp_path / "good.npz", voxel_size_um=-1)
    assert "no array 'x'" in _error(tmp_path / "good.npz", dataset="x")


def test_results_get_ordinary_permissions(tmp_path, sample):
    import os

    path = save(sample, tmp_path / "vol.npz")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def _cli_error(path, capsys) -> str:
    from meso.cli import main

    capsys.readouterr()
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err
    return err


@pytest.mark.parametrize(
    ("name", "write", "expected"),
    [
        ("empty.npy", lambda p: p.write_bytes(b""), "empty (0 bytes)"),
        (
            "text.npy",
            lambda p: p.write_text("1 2 3\n4 5 6\n"),
            "not a NumPy .npy file: it holds text",
        ),
        (
            "objects.npy",
            lambda p: np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True),
            "object array (dtype object",
        ),
        (
            "cut.npy",
            lambda p: p.write_bytes(_npy_bytes(np.ones((4, 4, 4), np.uint8))[:-10]),
            "truncated: shape (4, 4, 4) uint8 needs 64 data bytes, the file has 54",
        ),
        (
            "header.npy",
            lambda p: p.write_bytes(_npy_bytes(np.ones(3))[:30]),
            "truncated inside its header",
        ),
        ("empty.npz", lambda p: p.write_bytes(b""), "empty (0 bytes)"),
        ("text.npz", lambda p: p.write_text("labels"), "not a NumPy .npz file: it holds text"),
        (
            "objects.npz",
            lambda p: np.savez(p, labels=np.array([{"a": 1}], dtype=object)),
            "array 'labels' holds an object array",
        ),
    ],
)
def test_bad_numpy_files_say_what_is_wrong(tmp_path, capsys, name, write, expected):
    path = tmp_path / name
    write(path)
    message = _error(path)
    assert expected in message
    assert "pickled data" not in message  # numpy's own message for every one of these before
    assert expected in _cli_error(path, capsys)


def _npy_bytes(array) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
