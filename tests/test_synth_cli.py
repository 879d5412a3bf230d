"""`meso synth`: files written, requested vs measured in synth.json, twin mode, exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess

import numpy as np
from matplotlib import image

from meso.io.volumes import load, save
from synth import generate

ARGS = ["--shape", "32", "--voxel-size", "0.5", "--porosity", "0.05", "--pore-size", "1.5",
        "--grain-size", "4", "--seed", "3"]  # fmt: skip


def run(meso_exe, *args):
    return subprocess.run([*meso_exe, "synth", *args], capture_output=True, text=True, timeout=300)


def test_synth_writes_volume_report_and_slices(meso_exe, tmp_path):
    volume = tmp_path / "vol.npz"
    done = run(meso_exe, *ARGS, "--out", str(volume), "--quiet")
    assert done.returncode == 0, done.stderr
    m = load(volume)
    expected = generate(32, 0.5, 0.05, 1.5, 4.0, seed=3)
    assert np.array_equal(m.labels, expected.labels)  # the CLI is the library, bit for bit
    assert m.voxel_size_um == 0.5 and m.metadata["seed"] == 3
    report = json.loads((tmp_path / "synth.json").read_text())
    assert report["mode"] == "generate"
    assert report["requested"]["porosity"] == 0.05
    assert abs(report["measured"]["porosity"] - 0.05) <= 0.005
    assert report["measured"]["mean_grain_intercept_um"] > 0
    rows = {row["quantity"]: row for row in report["comparison"]}
    assert rows["mean_grain_intercept_um"]["requested"] == 4.0
    assert (tmp_path / "synth.csv").read_text().startswith("quantity,requested,measured")
    picture = image.imread(tmp_path / "synth_slices.png")
    assert picture.shape[1] > 2 * picture.shape[0]  # three panels side by side
    reds = (picture[..., 0] > 0.7) & (picture[..., 1] < 0.3)
    assert reds.mean() > 0.01  # grain boundaries are drawn
    geometry = np.load(tmp_path / "synth_geometry.npz")
    assert geometry["pore_centres_um"].shape[1] == 3
    assert np.array_equal(np.unique(geometry["grain_ids"]).size > 1, True)


def test_synth_twin_of_a_volume(meso_exe, tmp_path):
    source = tmp_path / "source.h5"
    save(generate(32, 0.5, 0.05, 1.5, 4.0, seed=3), source)
    out = tmp_path / "twin"
    done = run(meso_exe, "--twin", str(source), "--seed", "9", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "synth.json").read_text())
    assert report["mode"] == "twin" and report["twin_of"] == str(source)
    assert abs(report["measured"]["porosity"] - report["requested"]["porosity"]) <= 0.005
    assert load(out / "synth.npz").shape == (32, 32, 32)
    clash = run(meso_exe, "--twin", str(source), "--out", str(source), "--quiet")
    assert clash.returncode == 2 and "overwrite" in clash.stderr
    assert load(source).shape == (32, 32, 32)


def test_synth_bad_input_exits_2_with_one_line(meso_exe, tmp_path):
    cases = [
        (["--porosity", "1.5"], "porosity"),
        (["--grain-size", "0.6"], "grain_size_um"),
        (["--shape", "32", "32"], "--shape"),
    ]
    for change, name in cases:
        args = list(ARGS)
        flag = change[0]
        if flag in args:
            index = args.index(flag)
            del args[index : index + 2]
        done = run(meso_exe, *args, *change, "--out", str(tmp_path / "bad"))
        assert done.returncode == 2, (change, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0], done.stderr
        assert not (tmp_path / "bad").exists()  # nothing written for bad input
    missing = run(meso_exe, "--shape", "32", "--porosity", "0.1", "--pore-size", "2")
    assert missing.returncode == 2 and "--grain-size" in missing.stderr
    absent = run(meso_exe, "--twin", str(tmp_path / "nope.npz"))
    assert absent.returncode == 2 and "nope.npz" in absent.stderr
    mixed = run(meso_exe, "--twin", str(tmp_path / "nope.npz"), "--porosity", "0.1")
    assert mixed.returncode == 2 and "--porosity" in mixed.stderr
