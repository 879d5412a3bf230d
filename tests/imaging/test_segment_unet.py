"""The U-Net on an easy virtual cell: beats Otsu against true labels, deterministic, resumable, safe to load."""

from __future__ import annotations

import json
import pickle
import subprocess

import h5py
import numpy as np
import pytest
import torch
from scipy import ndimage

from imaging.phantom.cell import build_cell
from imaging.phantom.cycling import apply_step, current_density_map
from imaging.segment import evaluate, otsu
from imaging.segment.model_files import WEIGHTS_FILE, load_model
from imaging.segment.predict import Segmenter, predict
from imaging.segment.regions import region_mask
from imaging.segment.slices import context_stack
from imaging.segment.train import TrainConfig, train
from imaging.segment.training_data import along_cell_axis, load_training_data
from meso.errors import InputError
from meso.io.volumes import load, save
from meso.microstructure import Microstructure

# A small encoder and decoder, 32^2 patches, few batches: seconds per epoch on 2 cores.
TINY = dict(encoder="resnet18", decoder_channels=(32, 16, 16, 8, 8), patch=32, batch_size=2,
            batches_per_epoch=3, min_epochs=0, region="top")  # fmt: skip


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    """An easy virtual cell: the phantom's geometry (large Li pores) pristine and after stripping
    the bottom electrode, imaged as grey = phase value (pore 0, Li 1, collector 2.5, LLZO 4),
    blurred by 0.7 voxels, plus white noise of 0.6 (Li vs pore: 1.7 noise sigmas)."""
    folder = tmp_path_factory.mktemp("cell")
    geometry = build_cell((40, 40, 48), 1.0, lithium_porosity=0.06, lithium_pore_radius_um=2.5,
                          seed=11)  # fmt: skip
    j = current_density_map(geometry.inside, 300.0, hot_spot_radius_vox=5.0, seed=12)
    stripped, _ = apply_step(geometry.labels, geometry, j, 3.0, 1.0, strip_bottom=True, seed=13)
    rng = np.random.default_rng(0)
    for index, labels in enumerate((geometry.labels, stripped)):
        grey = ndimage.gaussian_filter(np.array([0, 4, 4, 1, 2.5], np.float32)[labels], 0.7)
        grey += rng.normal(0, 0.6, grey.shape).astype(np.float32)
        with h5py.File(folder / f"rec{index}.h5", "w") as fh:
            fh["volume"] = grey
            fh["volume"].attrs.update({"voxel_size_um": 1.0, "cell_axis": "z"})
        save(Microstructure(labels, 1.0, cell_axis="z"), folder / f"truth{index}.h5")
    return folder


@pytest.fixture(scope="module")
def model(cell, meso_exe_module):
    """A tiny U-Net trained by the CLI on the top electrode of the pristine step."""
    out = cell / "model"
    run = subprocess.run([*meso_exe_module, "segment", "train", "--images", str(cell / "rec0.h5"),
                          "--labels", str(cell / "truth0.h5"), "--region", "top", "--encoder",
                          "resnet18", "--decoder-channels", "32,16,16,8,8", "--patch", "64",
                          "--batch-size", "2", "--batches", "8", "--epochs", "30", "--seed", "0",
                          "--slice-axis", "z", "--context", "1", "--threads", "1",
                          "--out", str(out), "--quiet"],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    return out


@pytest.fixture(scope="module")
def meso_exe_module():
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("meso")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "meso.cli"]


def test_unet_beats_otsu_on_the_other_electrode_and_the_stripped_step(cell, model, meso_exe_module):
    record = json.loads((model / "model.json").read_text())
    assert (
        record["architecture"]["backbone"] == "resnet18"
        and not record["architecture"]["pretrained"]
    )
    assert record["class_names"][:2] == ["pore", "lithium"] and "gas" in record["class_names"]
    assert record["slice_axis"] == "z" and record["normalisation"]["std"] > 0
    assert len(record["metrics"]) >= 1 and "pore" in record["metrics"][0]["validation_dice"]
    for index in (0, 1):
        out = cell / f"unet{index}"
        run = subprocess.run([*meso_exe_module, "segment", "predict", str(cell / f"rec{index}.h5"),
                              "--model", str(model), "--out", str(out), "--quiet"],
                             capture_output=True, text=True)  # fmt: skip
        assert run.returncode == 0, run.stderr
        truth = load(cell / f"truth{index}.h5").labels
        unet = load(out / "labels.h5").labels
        with h5py.File(cell / f"rec{index}.h5") as fh:
            grey = fh["volume"][()]
        mask = region_mask(truth, "z", "bottom")  # the electrode it was not trained on
        scores = evaluate({"unet": unet, "otsu": otsu(grey)}, truth, mask=mask)
        u, o = scores["unet"], scores["otsu"]
        assert u["per_class"]["pore"]["iou"] > o["per_class"]["pore"]["iou"], scores
        assert abs(u["pore_fraction"]["error"]) < abs(o["pore_fraction"]["error"]), scores
        assert u["per_class"]["pore"]["iou"] > 0.3, u  # Otsu: 0.17 and 0.41 here
        summary = json.loads((out / "segment.json").read_text())
        assert summary["method"] == "unet" and 0 < summary["fraction_confidence_above_0.8"] <= 1
        assert summary["seconds_per_slice"] > 0
        with h5py.File(out / "labels.h5") as fh:
            confidence = fh["confidence"][()]
        assert (
            confidence.shape == truth.shape
            and confidence.min() >= 1 / len(record["classes"]) - 1e-6
        )
        assert summary["fraction_confidence_above_0.8"] == pytest.approx(np.mean(confidence >= 0.8))


def test_streamed_prediction_equals_whole_volume_inference(cell, model, tmp_path):
    with h5py.File(cell / "rec1.h5") as fh:
        grey = fh["volume"][()]
    np.save(tmp_path / "rec.npy", grey)  # read back memory-mapped, 3 slices at a time
    summary = predict(tmp_path / "rec.npy", model, tmp_path / "labels.h5", batch_size=3,
                      progress=False)  # fmt: skip
    segmenter = Segmenter(model)
    axis = "xyz".index(segmenter.record["slice_axis"])
    whole = np.moveaxis(grey, axis, 0)
    labels, confidence = segmenter(context_stack(whole, 0, whole.shape[0], segmenter.context))
    with h5py.File(tmp_path / "labels.h5") as fh:
        assert np.mean(fh["labels"][()] == np.moveaxis(labels, 0, axis)) > 0.9999
        np.testing.assert_allclose(
            fh["confidence"][()], np.moveaxis(confidence, 0, axis), atol=1e-4
        )
    assert summary["slices"] == grey.shape[axis] and summary["device"] in ("cpu", "cuda")


def test_training_is_deterministic_and_resumes_where_it_stopped(cell, tmp_path):
    images, labels = [cell / "rec0.h5"], [cell / "truth0.h5"]
    fresh = train(images, labels, tmp_path / "fresh", TrainConfig(**{**TINY, "epochs": 3}),
                  progress=False)  # fmt: skip
    train(
        images, labels, tmp_path / "resumed", TrainConfig(**{**TINY, "epochs": 2}), progress=False
    )
    resumed = train(images, labels, tmp_path / "resumed", TrainConfig(**{**TINY, "epochs": 3}),
                    resume=True, progress=False)  # fmt: skip
    assert len(resumed["metrics"]) == 3
    assert [m["loss"] for m in resumed["metrics"]] == [m["loss"] for m in fresh["metrics"]]
    a, _ = load_model(tmp_path / "fresh")
    b, _ = load_model(tmp_path / "resumed")
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name


def test_default_slices_hold_the_cell_axis(cell):
    assert TrainConfig().slice_axis == "auto" and TrainConfig().context == 3
    data = load_training_data([cell / "rec0.h5"], [cell / "truth0.h5"], region="top",
                              slice_axis="auto")  # fmt: skip
    assert data.slice_axis == "y" and data.pairs[0].image.shape == (40, 40, 48)  # (y, x, z)
    assert along_cell_axis("y") == "x" and along_cell_axis("x") == "y"


class _Exploit:
    def __reduce__(self):
        return (print, ("code ran while loading",))


def test_a_model_folder_cannot_run_code_or_swap_its_weights(model, tmp_path, capsys):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    (folder / WEIGHTS_FILE).write_bytes(pickle.dumps({"w": _Exploit()}))
    with pytest.raises(InputError, match="SHA-256"):
        load_model(folder)
    record = json.loads((folder / "model.json").read_text())
    record.pop("weights_sha256")
    (folder / "model.json").write_text(json.dumps(record))
    torch.save({"w": _Exploit()}, folder / WEIGHTS_FILE)
    with pytest.raises(InputError, match="not a plain weights file"):
        load_model(folder)
    assert "code ran" not in capsys.readouterr().out
    with pytest.raises(InputError, match="model.json"):
        load_model(tmp_path)


def test_scan_statistics_are_streamed_robust_and_old_models_keep_their_training_statistics(
    tmp_path,
):
    rng = np.random.default_rng(1)
    # two phases (70% at 10, 30% at 110, noise 5) plus 0.5% outliers far above
    volume = np.where(rng.random((30, 30, 30)) < 0.7, 10.0, 110.0) + rng.normal(0, 5, (30,) * 3)
    volume.ravel()[rng.choice(volume.size, 135, replace=False)] = 5000.0
    volume = volume.astype(np.float32)
    np.save(tmp_path / "v.npy", volume)
    from imaging.segment.grey import open_grey
    from imaging.segment.slices import scan_statistics, volume_normalisation

    peaks = scan_statistics(volume, "scan-peaks")
    assert peaks["method"] == "peaks"
    assert abs(peaks["mean"] - 10) < 3 and abs(peaks["std"] - 100) < 5, peaks
    median = scan_statistics(volume, "scan-median")
    assert abs(median["mean"] - np.median(volume)) < 1e-3 and median["std"] < 100  # not 5000's
    with open_grey(tmp_path / "v.npy") as grey:  # read slice by slice from the memory map
        assert scan_statistics(grey, "scan-median") == median
        assert volume_normalisation({"mode": "scan-peaks"}, grey) == peaks
        # a model folder written before the modes existed: its training mean/std for every volume
        assert volume_normalisation({"mean": 3.0, "std": 2.0}, grey) == {"mean": 3.0, "std": 2.0}
    with pytest.raises(InputError, match="normalisation"):
        volume_normalisation({"mode": "nonsense"}, volume)


@pytest.mark.parametrize("mode", ["scan-median", "scan-peaks"])
def test_per_scan_normalisation_gives_the_same_answer_on_a_scan_with_another_grey_scale(
    cell, model, tmp_path, mode
):
    """Another scan of the same cell with another gain and offset (grey x 1.8 - 0.7): a model
    normalising each scan by its own statistics returns the same labels and confidence; the
    training set's fixed mean/std (the default, the `model` fixture) does not."""
    with h5py.File(cell / "rec1.h5") as fh:
        grey = fh["volume"][()]
    with h5py.File(tmp_path / "scaled.h5", "w") as fh:
        fh["volume"] = grey * np.float32(1.8) - np.float32(0.7)
        fh["volume"].attrs.update({"voxel_size_um": 1.0, "cell_axis": "z"})
    config = TrainConfig(**{**TINY, "epochs": 2, "normalisation": mode})
    record = train([cell / "rec0.h5"], [cell / "truth0.h5"], tmp_path / "m", config,
                   progress=False)  # fmt: skip
    assert record["normalisation"]["mode"] == mode
    assert len(record["normalisation"]["training_scans"]) == 1
    results = {}
    for name, folder in (("scan", tmp_path / "m"), ("dataset", model)):
        for volume in (cell / "rec1.h5", tmp_path / "scaled.h5"):
            out = tmp_path / f"{name}_{volume.stem}.h5"
            summary = predict(volume, folder, out, progress=False)
            with h5py.File(out) as fh:
                results[name, volume.stem] = (fh["labels"][()], fh["confidence"][()], summary)
    labels, confidence, summary = results["scan", "rec1"]
    labels2, confidence2, summary2 = results["scan", "scaled"]
    assert summary2["normalisation"]["mean"] == pytest.approx(
        1.8 * summary["normalisation"]["mean"] - 0.7, rel=1e-4, abs=1e-4
    )
    assert np.mean(labels == labels2) > 0.999
    assert np.abs(confidence - confidence2).max() < 1e-2
    fixed, fixed2 = results["dataset", "rec1"], results["dataset", "scaled"]
    assert np.abs(fixed[1] - fixed2[1]).max() > 0.1 and np.mean(fixed[0] != fixed2[0]) > 0.01
