"""`meso conduct`: conduction.json per DESIGN.md section 4, CSV, fields, and bad input."""

import csv
import json
import subprocess

import numpy as np
import pytest


def _run(meso_exe, *args):
    return subprocess.run([*meso_exe, "conduct", *map(str, args)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    labels = np.ones((10, 8, 6), np.uint8)
    labels[4, :, :] = 2  # a grain-boundary plane across x
    labels[2:4, 2:4, 2:4] = 0
    path = tmp_path_factory.mktemp("vol") / "vol.npy"
    np.save(path, labels)
    return path


def test_json_csv_and_fields(meso_exe, volume, tmp_path):
    out = tmp_path / "out"
    proc = _run(meso_exe, volume, "--method", "both", "--voxel-size", "0.5", "--axes", "x,z",
                "--fields", "--out", out, "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "conduction.json").read_text())
    assert doc["quantity"] == "conductivity" and doc["method"] == "both"
    assert doc["shape"] == [10, 8, 6] and doc["voxel_size_um"] == 0.5 and doc["ranks"] == 1
    assert set(doc["axes"]) == {"x", "z"}
    assert doc["volume_fractions"]["pore"] == pytest.approx(8 / 480)
    for key in ("M", "sigma_eff_S_per_m", "tortuosity_factor", "percolating", "iterations",
                "converged", "fe", "fe_minus_fv_relative"):  # fmt: skip
        assert key in doc["axes"]["x"], key
    x = doc["axes"]["x"]
    assert x["converged"] and x["percolating"] and 0 < x["M"] < 1
    assert x["sigma_eff_S_per_m"] == pytest.approx(x["M"] * 5e-2)
    assert x["tortuosity_factor"] == pytest.approx((1 - 8 / 480) / x["M_geometric"])
    assert x["fe_minus_fv_relative"] == pytest.approx((x["fe"]["M"] - x["M"]) / x["M"])
    assert doc["dofs"] > 0 and doc["wall_seconds"] > 0
    rows = list(csv.DictReader((out / "conduction.csv").open()))
    assert [(r["axis"], r["method"]) for r in rows] == [
        ("x", "fv"), ("x", "fe"), ("z", "fv"), ("z", "fe")
    ]  # fmt: skip
    assert float(rows[0]["M"]) == pytest.approx(x["M"])
    for name in ("conduction_x_fv.xdmf", "conduction_x_fv.h5", "current_density_z_fe.png"):
        assert (out / "fields" / name).stat().st_size > 0, name
    assert "potential_V" in (out / "fields" / "conduction_x_fe.xdmf").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--axes", "x,w"], "--axes"),
        (["--materials", "missing.toml"], "missing.toml"),
        (["--voxel-size", "-1"], "voxel size"),
    ],
)
def test_bad_input_exits_2_with_one_line(meso_exe, volume, tmp_path, args, message):
    proc = _run(meso_exe, volume, *args, "--out", tmp_path / "out")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_phase_without_conductivity_is_an_input_error(meso_exe, tmp_path):
    labels = np.ones((4, 4, 4), np.uint8)
    labels[0] = 3  # lithium: an electronic conductor with no ionic conductivity given
    path = tmp_path / "cell.npy"
    np.save(path, labels)
    proc = _run(meso_exe, path, "--out", tmp_path / "out")
    assert proc.returncode == 2 and "lithium" in proc.stderr
    assert not (tmp_path / "out" / "conduction.json").exists()
