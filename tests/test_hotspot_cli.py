"""`meso hotspot`: hotspot.json, maps and figures; contact maps checked before any work."""

import json

import numpy as np
import pytest

from meso import Microstructure
from meso.cli import main
from meso.io.volumes import save


@pytest.fixture
def cell(tmp_path, monkeypatch):
    save(Microstructure(np.ones((12, 10, 8), np.uint8), voxel_size_um=0.5, cell_axis="z"),
         tmp_path / "vol.npz")  # fmt: skip
    half = np.ones((12, 10))
    half[:6] = 0
    np.save(tmp_path / "half.npy", half)
    np.save(tmp_path / "transposed.npy", np.ones((10, 12)))
    np.save(tmp_path / "grey.npy", np.full((12, 10), 0.5))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_hotspot_writes_json_maps_and_figures(cell):
    assert main(["hotspot", "vol.npz", "--contact-top", "half.npy", "--bias-V", "0.5", "--fields",
                 "--out", "hs", "--quiet"]) == 0  # fmt: skip
    doc = json.loads((cell / "hs" / "hotspot.json").read_text())
    assert doc["axis"] == "z" and doc["bias_V"] == 0.5
    assert doc["contact_fraction"] == {"bottom": 1.0, "top": 0.5}
    assert doc["current_A"] * doc["resistance_ohm"] == pytest.approx(0.5)
    top = doc["faces"]["top"]
    assert top["max_over_mean"] > top["p99_over_mean"] * 0.999 > 1.0
    normalised = np.load(cell / "hs" / "current_density_top.npy")
    assert np.isnan(normalised[:6]).all() and np.nanmean(normalised) == pytest.approx(1.0)
    for name in ("current_density_top.png", "current_density_bottom.png", "flux_section.png",
                 "potential_V.npy", "fields.xdmf", "fields.h5"):  # fmt: skip
        assert (cell / "hs" / name).stat().st_size > 0
    assert doc["fields"]["xdmf"] == "fields.xdmf" and "pressure" not in doc


def test_pressure_writes_stress_windows_and_figures(cell):
    assert main(["hotspot", "vol.npz", "--contact-top", "half.npy", "--pressure-MPa", "3",
                 "--window-um", "2", "--out", "hs", "--quiet"]) == 0  # fmt: skip
    pressure = json.loads((cell / "hs" / "hotspot.json").read_text())["pressure"]
    # a dense block: uniaxial stress at the pressure in every voxel
    assert pressure["stress"]["von_mises_max_over_pressure"] == pytest.approx(1.0, abs=1e-4)
    windows = pressure["windows"]
    assert windows["window_um"] == 2.0 and len(windows["windows"]) == 3 * 2  # 4 voxels
    assert all(r["M_conductivity"] == pytest.approx(1.0) for r in windows["windows"])
    # every window has M = 1: no ranking, said so instead of a number
    assert windows["modulus_vs_stress"]["rho"] is None
    for name in ("stress_section.png", "pressure_scatter.png"):
        assert (cell / "hs" / name).stat().st_size > 0
    assert not (cell / "hs" / "elastic_z.xdmf").exists()  # only with --fields


@pytest.mark.parametrize(
    ("option", "path", "message"),
    [("--contact-top", "transposed.npy", "shape"), ("--contact-bottom", "grey.npy", "only 0"),
     ("--contact-top", "missing.npy", "missing.npy")],
)  # fmt: skip
def test_bad_contact_maps_are_refused_before_any_output(cell, capsys, option, path, message):
    assert main(["hotspot", "vol.npz", option, path, "--out", "hs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (cell / "hs").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--window-um", "2"], "--window-um: applies to --pressure-MPa only"),
     (["--pressure-MPa", "-1"], "--pressure-MPa"),
     (["--pressure-MPa", "0"], "--pressure-MPa")],
)  # fmt: skip
def test_bad_pressure_options_are_refused(cell, capsys, args, message):
    assert main(["hotspot", "vol.npz", *args, "--out", "hs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (cell / "hs").exists()


def test_zero_bias_is_refused(cell, capsys):
    assert main(["hotspot", "vol.npz", "--bias-V", "0"]) == 2
    assert "--bias-V" in capsys.readouterr().err
