"""`meso compare`: an anisotropic synthetic volume stands out against its isotropic twins; an isotropic one not."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

import synth
from meso.io.volumes import save
from meso.studies.compare import anisotropy_index, window_bounds

PARAMETERS = {"shape": 24, "voxel_size_um": 0.5, "porosity": 0.05, "pore_size_um": 1.5,
              "grain_size_um": 3.0, "seed": 1}  # fmt: skip


def test_windows_and_index():
    assert window_bounds(24, 6) == [(0, 6), (6, 12), (12, 18), (18, 24)]
    assert window_bounds(10, 4) == [(1, 5), (5, 9)] and window_bounds(5, 9) == [(0, 5)]
    assert anisotropy_index({"x": 0.6, "y": 0.5, "z": 0.4}) == pytest.approx(0.5)
    assert anisotropy_index({"x": 0.6, "y": 0.0, "z": 0.4}) is None


def test_anisotropic_volume_against_twins(tmp_path, meso_exe):
    """`meso synth --anisotropy 1.6 1 1` grains conduct better along x: its anisotropy index is
    above every isotropic twin's; an isotropic volume with the same statistics stays within
    its twins' spread."""
    save(synth.generate(**PARAMETERS, anisotropy=(1.6, 1.0, 1.0)), tmp_path / "aniso.npz")
    save(synth.generate(**PARAMETERS), tmp_path / "iso.npz")
    out = tmp_path / "cmp"
    run = subprocess.run([*meso_exe, "compare", str(tmp_path / "aniso.npz"),
                          str(tmp_path / "iso.npz"), "--twins", "3", "--window-um", "3",
                          "--out", str(out), "--quiet"], capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    document = json.loads((out / "compare.json").read_text())
    summary = {row["volume"]: row["physics"]["conduction"] for row in document["summary"]}
    aniso, iso = summary["aniso"], summary["iso"]
    assert aniso["more_anisotropic_than_every_twin"] and aniso["anisotropy_z_score"] > 3
    assert aniso["anisotropy_index"] > 3 * aniso["twins_anisotropy_index"]["max"]
    assert iso["within_twins_spread"] and not iso["more_anisotropic_than_every_twin"]
    assert len(aniso["twins_anisotropy_index"]["values"]) == 3
    volume = next(v for v in document["volumes"] if v["label"] == "aniso")
    whole = volume["physics"]["conduction"]["whole"]
    assert whole["x"] > whole["y"] and whole["x"] > whole["z"]  # stretched along x
    windows = volume["physics"]["conduction"]["windows"]
    assert [(w["start_um"], w["stop_um"]) for w in windows] == [(0, 3), (3, 6), (6, 9), (9, 12)]
    stats = volume["physics"]["conduction"]["window_stats"]["y"]
    assert stats["min"] <= stats["mean"] <= stats["max"]
    twins = [v for v in document["volumes"] if v["kind"] == "twin" and v["of"] == "aniso"]
    assert len(twins) == 3
    for t in twins:  # matched to the volume's porosity
        assert t["volume_fractions"]["pore"] == pytest.approx(
            volume["volume_fractions"]["pore"], abs=0.005
        )
    with open(out / "compare.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 4 * 5 * 3  # volumes x (volume + 3 twins) x (whole + 4 windows) x axes
    assert (out / "compare.png").stat().st_size > 10_000


@pytest.mark.parametrize("extra, message", [(["--physics", "heat"], "--physics"),
                                            (["--window-um", "0"], "--window-um"),
                                            (["--twins", "-1"], "--twins")])  # fmt: skip
def test_bad_options(tmp_path, meso_exe, extra, message):
    save(synth.generate(**{**PARAMETERS, "shape": 12}), tmp_path / "v.npz")
    run = subprocess.run([*meso_exe, "compare", str(tmp_path / "v.npz"), *extra, "--out",
                          str(tmp_path / "o")], capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 2 and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_missing_volume(tmp_path, meso_exe):
    run = subprocess.run([*meso_exe, "compare", str(tmp_path / "absent.npz")], capture_output=True,
                         text=True)  # fmt: skip
    assert run.returncode == 2 and "absent.npz" in run.stderr
