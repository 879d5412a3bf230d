"""Otsu, edge-based candidates, regions and scoring against known labels; labels.h5 that the solvers accept."""

from __future__ import annotations

import json
import subprocess

import h5py
import numpy as np
import pytest

from imaging.phantom.cell import LAYER_FRACTIONS, build_cell
from imaging.segment import autolabel, evaluate, otsu
from imaging.segment.classes import COLLECTOR, GRAIN, LITHIUM, PORE
from imaging.segment.regions import region_mask, region_range
from meso.errors import InputError
from meso.io.volumes import load, save
from meso.microstructure import Microstructure

GREY = {PORE: 0.0, LITHIUM: 1.0, COLLECTOR: 3.0, GRAIN: 5.0}  # grey order of imaging.segment


def _blocks(noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four phases in slabs along x, grey values 0 / 1 / 3 / 5 plus Gaussian noise."""
    labels = np.zeros((40, 16, 16), np.uint8)
    for i, phase in enumerate((PORE, LITHIUM, COLLECTOR, GRAIN)):
        labels[10 * i : 10 * (i + 1)] = phase
    grey = np.vectorize(GREY.get)(labels).astype(np.float32)
    return grey + np.random.default_rng(seed).normal(0, noise, grey.shape).astype(
        np.float32
    ), labels


def test_otsu_recovers_separable_phases_globally_per_slice_and_in_a_mask():
    grey, labels = _blocks(0.1)
    assert np.mean(otsu(grey) == labels) > 0.999
    assert np.mean(otsu(grey, per_slice=True, slice_axis=1) == labels) > 0.99
    mask = labels != GRAIN  # thresholds from three phases only: two classes suffice there
    two = otsu(grey, mask=mask, classes=(PORE, LITHIUM, COLLECTOR))
    assert np.mean(two[mask] == labels[mask]) > 0.999
    with pytest.raises(InputError, match="mask shape"):
        otsu(grey, mask=mask[:-1])


def test_otsu_confuses_lithium_and_pores_when_their_contrast_is_below_the_noise():
    """The study's failure mode in miniature: pores 0.3 noise-sigmas darker than Li."""
    rng = np.random.default_rng(1)
    labels = np.full((48, 48, 48), LITHIUM, np.uint8)
    labels[:, :, 36:] = GRAIN
    labels[rng.random(labels.shape) < 0.02] = PORE
    grey = np.vectorize({PORE: 0.0, LITHIUM: 0.3, GRAIN: 5.0}.get)(labels).astype(np.float32)
    grey += rng.normal(0, 1.0, grey.shape).astype(np.float32)
    result = evaluate({"otsu": otsu(grey, classes=(PORE, LITHIUM, GRAIN))}, labels,
                      mask=labels != GRAIN)["otsu"]  # fmt: skip
    assert result["pore_fraction"]["predicted"] > 10 * result["pore_fraction"]["true"]
    assert result["per_class"]["pore"]["iou"] < 0.1


def test_evaluate_matches_hand_counted_iou_dice_and_confusion():
    truth = np.full((2, 2, 5), LITHIUM, np.uint8)
    truth[0, 0, :] = PORE  # 5 pore voxels of 20
    pred = truth.copy()
    pred[0, 0, :2] = LITHIUM  # 2 pores missed
    pred[1, 1, :1] = PORE  # 1 false pore
    pred[1, 0, 0] = 2  # a grain-boundary label counts as grain
    r = evaluate({"p": pred}, truth)["p"]
    assert r["per_class"]["pore"]["iou"] == pytest.approx(3 / 6)
    assert r["per_class"]["pore"]["dice"] == pytest.approx(6 / 9)
    assert r["pore_fraction"] == pytest.approx(
        {"predicted": 4 / 20, "true": 5 / 20, "error": -1 / 20}
    )
    assert r["confusion"]["labels"] == ["pore", "grain", "lithium"]
    assert r["confusion"]["counts"] == [[3, 0, 2], [0, 0, 0], [1, 1, 13]]
    half = np.zeros(truth.shape, bool)
    half[:, :, :2] = True
    assert evaluate({"p": pred}, truth, mask=half)["p"]["voxels"] == 8


def test_regions_locate_the_electrodes_of_the_phantom_cell():
    geometry = build_cell((48, 48, 48), 1.0, seed=2)
    bounds = np.round(np.cumsum((0.0, *LAYER_FRACTIONS)) / sum(LAYER_FRACTIONS) * 48).astype(int)
    assert region_range(geometry.labels, "z", "bottom") == (bounds[2], bounds[3])
    assert region_range(geometry.labels, "z", "electrolyte") == (bounds[3], bounds[4])
    assert region_range(geometry.labels, "z", "top") == (bounds[4], bounds[5])
    mask = region_mask(geometry.labels, "z", "top")
    assert not mask[0, 0].any() and mask[24, 24, bounds[4] : bounds[5]].all()  # gas left out
    assert np.isin(geometry.labels[mask], (PORE, LITHIUM)).all()
    with pytest.raises(InputError, match="--region"):
        region_range(geometry.labels, "z", "middle")
    stripped = np.where(geometry.labels == LITHIUM, PORE, geometry.labels)
    with pytest.raises(InputError, match="no lithium electrode"):
        region_range(stripped, "z", "top")


def test_autolabel_places_edges_between_noisy_phases():
    grey, labels = _blocks(0.4, seed=3)
    assert np.mean(otsu(grey) == labels) < 0.99
    candidates = autolabel(grey)
    assert np.mean(candidates == labels) > 0.99


def _cell_grey(tmp_path):
    """A phantom cell's labels and a noisy grey volume of them (1/m), cell axis z."""
    geometry = build_cell((32, 32, 48), 1.0, seed=4)
    mu = {PORE: 0.0, GRAIN: 1444.0, 2: 1444.0, LITHIUM: 300.0, COLLECTOR: 800.0}
    grey = np.vectorize(mu.get)(geometry.labels).astype(np.float32)
    grey += np.random.default_rng(5).normal(0, 30, grey.shape).astype(np.float32)
    with h5py.File(tmp_path / "rec.h5", "w") as fh:
        fh["volume"] = grey
        fh["volume"].attrs.update({"voxel_size_um": 1.0, "cell_axis": "z"})
    save(Microstructure(geometry.labels, 1.0, cell_axis="z"), tmp_path / "truth.h5")
    return geometry.labels


def test_otsu_cli_labels_are_read_by_info_conduct_and_evaluate(meso_exe, tmp_path):
    truth = _cell_grey(tmp_path)
    run = subprocess.run([*meso_exe, "segment", "otsu", str(tmp_path / "rec.h5"), "--out",
                          str(tmp_path / "otsu"), "--quiet"], capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    micro = load(tmp_path / "otsu" / "labels.h5")
    assert micro.cell_axis == "z" and micro.voxel_size_um == 1.0
    assert np.mean(micro.labels == np.where(truth == 2, GRAIN, truth)) > 0.99
    summary = json.loads((tmp_path / "otsu" / "segment.json").read_text())
    assert summary["method"] == "otsu" and set(summary["classes"]) == {"pore", "grain", "lithium",
                                                                        "collector"}  # fmt: skip
    info = subprocess.run([*meso_exe, "info", str(tmp_path / "otsu" / "labels.h5")],
                          capture_output=True, text=True)  # fmt: skip
    assert info.returncode == 0 and json.loads(info.stdout)["shape"] == [32, 32, 48]
    materials = tmp_path / "with_li.toml"
    materials.write_text(
        "[phases.pore]\nlabel = 0\nvoid = true\n[phases.grain]\nlabel = 1\nsigma_S_per_m = 5e-2\n"
        "[phases.lithium]\nlabel = 3\nsigma_S_per_m = 1e7\n[phases.collector]\nlabel = 4\n"
        "sigma_S_per_m = 1.4e6\n"
    )
    conduct = subprocess.run([*meso_exe, "conduct", str(tmp_path / "otsu" / "labels.h5"), "--axes",
                              "x", "--materials", str(materials), "--out", str(tmp_path / "c"),
                              "--quiet"], capture_output=True, text=True)  # fmt: skip
    assert conduct.returncode == 0, conduct.stderr
    solved = json.loads((tmp_path / "c" / "conduction.json").read_text())
    assert solved["volume_fractions"]["lithium"] > 0.2 and solved["axes"]["x"]["converged"]
    ev = subprocess.run([*meso_exe, "segment", "evaluate", str(tmp_path / "otsu" / "labels.h5"),
                         "--truth", str(tmp_path / "truth.h5"), "--region", "top", "--image",
                         str(tmp_path / "rec.h5"), "--out", str(tmp_path / "ev"), "--quiet"],
                        capture_output=True, text=True)  # fmt: skip
    assert ev.returncode == 0, ev.stderr
    scores = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert set(scores) == {"otsu"} and scores["otsu"]["region"] == "top"
    assert scores["otsu"]["per_class"]["lithium"]["iou"] > 0.95
    assert (tmp_path / "ev" / "evaluation.png").read_bytes()[:4] == b"\x89PNG"


def test_segment_cli_bad_input_is_one_line_and_exit_2(meso_exe, tmp_path):
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    for args in (["otsu", str(tmp_path / "missing.h5")], ["otsu", str(tmp_path / "junk.h5")],
                 ["predict", str(tmp_path / "junk.h5"), "--model", str(tmp_path)]):  # fmt: skip
        run = subprocess.run([*meso_exe, "segment", *args, "--out", str(tmp_path / "o")],
                             capture_output=True, text=True)  # fmt: skip
        assert run.returncode == 2, (args, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1 and "error" in run.stderr
    assert not (tmp_path / "o").exists()
