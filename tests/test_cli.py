"""The `meso` command line: help, global options, one-line errors with exit code 2."""

import json
import subprocess

import numpy as np
import pytest

from meso import Microstructure
from meso.cli import COMMAND_MODULES, main
from meso.io.volumes import save


def test_help_in_a_subprocess_lists_working_commands(meso_exe):
    proc = subprocess.run([*meso_exe, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    for name in COMMAND_MODULES:
        assert name in proc.stdout
    assert "--out" in proc.stdout and "--quiet" in proc.stdout and "--log-level" in proc.stdout


def test_info_reports_volume_fractions(tmp_path, capsys):
    labels = np.ones((4, 5, 10), np.uint8)
    labels[:, :, :1] = 0
    save(Microstructure(labels, voxel_size_um=0.5), tmp_path / "v.npz")
    assert main(["info", str(tmp_path / "v.npz")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shape"] == [4, 5, 10]
    assert out["size_um"] == [2.0, 2.5, 5.0]
    assert out["volume_fractions"] == pytest.approx({"pore": 0.1, "grain": 0.9})


@pytest.mark.parametrize(
    ("make", "args", "problem"),
    [
        (None, [], "no such file"),
        (lambda p: np.save(p, np.ones((3, 3))), [], "expected a 3D volume"),
        (lambda p: np.save(p, np.full((2, 2, 2), np.nan)), [], "NaN"),
        (lambda p: np.save(p, np.ones((2, 2, 2))), ["--voxel-size", "0"], "voxel size"),
        (lambda p: p.write_bytes(b"\x93NUMPY garbage"), [], "cannot read .npy file"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, meso_exe, make, args, problem):
    path = tmp_path / "vol.npy"
    if make:
        make(path)
    proc = subprocess.run(
        [*meso_exe, "info", str(path), *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"meso info: error: {path}") and problem in lines[0]
