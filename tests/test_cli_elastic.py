"""`meso elastic` end to end: JSON/CSV/XDMF/PNG outputs, and bad input exits 2 with no output."""

import csv
import json
import subprocess

import numpy as np
import pytest

from meso import Microstructure
from meso.io.volumes import save


def test_elastic_writes_results_and_fields(tmp_path, meso_exe):
    labels = np.ones((8, 6, 5), np.uint8)
    labels[2:4, 2:4, :] = 0  # a pore channel along z
    save(Microstructure(labels, voxel_size_um=0.5), tmp_path / "vol.npz")
    out = tmp_path / "out"
    proc = subprocess.run(
        [*meso_exe, "elastic", str(tmp_path / "vol.npz"), "--axes", "x,z", "--fields",
         "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "elasticity.json").read_text())
    assert data["quantity"] == "elasticity" and data["shape"] == [8, 6, 5]
    assert set(data["axes"]) == {"x", "z"}
    # along the channel the solid is a parallel arrangement: M = solid fraction exactly
    assert data["axes"]["z"]["M"] == pytest.approx(1 - 4 / 48, rel=1e-6)
    assert 0 < data["axes"]["x"]["M"] < 1 - 4 / 48
    rows = list(csv.DictReader(open(out / "elasticity.csv")))
    assert [r["axis"] for r in rows] == ["x", "z"]
    for axis in ("x", "z"):
        xdmf = (out / f"elastic_{axis}.xdmf").read_text()
        assert "displacement" in xdmf and "von_mises_Pa" in xdmf
        assert (out / f"elastic_{axis}.h5").stat().st_size > 0
        assert (out / f"elastic_von_mises_{axis}.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left
    # the written displacement meets the loading: u_x = 0 at x = 0 and strain * L at x = L
    import h5py

    with h5py.File(out / "elastic_x.h5", "r") as f:
        points = f["Mesh/mesh/geometry"][:]
        group = f["Function/displacement"]
        u = group[next(iter(group))][:]
    length = 8 * 0.5e-6
    assert len(u) == len(points)
    assert np.abs(u[np.isclose(points[:, 0], 0), 0]).max() < 1e-6 * 1e-3 * length
    assert u[np.isclose(points[:, 0], length), 0] == pytest.approx(1e-3 * length, rel=1e-9)


@pytest.mark.parametrize(
    ("labels", "args", "problem"),
    [
        (np.zeros((4, 4, 4), np.uint8), [], "all pore"),
        (np.ones((4, 4, 4), np.uint8), ["--axes", "x,w"], "--axes"),
        (np.ones((4, 4, 4), np.uint8), ["--strain", "nan"], "--strain"),
        (np.ones((4, 4, 4), np.uint8), ["--materials", "absent.toml"], "absent.toml"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, meso_exe, labels, args, problem):
    np.save(tmp_path / "vol.npy", labels)
    out = tmp_path / "out"
    proc = subprocess.run(
        [*meso_exe, "elastic", str(tmp_path / "vol.npy"), "--out", str(out), *args],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0], proc.stderr
    assert not out.exists() or not any(out.iterdir())
