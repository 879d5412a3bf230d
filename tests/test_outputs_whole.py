"""A command's outputs appear whole or not at all: bad input leaves no folder, an interrupted run
(SIGINT or SIGTERM) leaves the folder exactly as it was, a finished run keeps the user's files."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from meso import Microstructure
from meso.cli import main
from meso.io.staging import replaced_whole, stage, staged_outputs
from meso.io.volumes import save


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (hidden ones included) with its contents."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_staged_files_move_in_on_success_and_vanish_on_failure(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("the user's notes")
    (out / "result.json").write_text("old")
    with staged_outputs():
        folder = stage(out)
        assert folder != out and folder.parent == tmp_path
        (folder / "result.json").write_text("new")
        (folder / "fields").mkdir()
        (folder / "fields" / "a.xdmf").write_text("field")
    assert _tree(out) == {"mine.txt": b"the user's notes", "result.json": b"new",
                          "fields/a.xdmf": b"field"}  # fmt: skip
    before = _tree(out)
    with pytest.raises(RuntimeError), staged_outputs():
        (stage(out) / "result.json").write_text("half")
        raise RuntimeError("solver failed")
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left
    with pytest.raises(KeyboardInterrupt), staged_outputs():
        (stage(tmp_path / "new" / "deeper") / "x.json").write_text("{}")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nor the folders it made


def test_a_failed_demo_puts_its_folder_back(tmp_path):
    """``meso demo`` writes into its folder directly (its printed commands name it); a failure
    part-way restores the earlier run's folder, a success replaces it whole."""
    out = tmp_path / "demo-out"
    (out / "synth").mkdir(parents=True)
    (out / "report.html").write_text("earlier run")
    before = _tree(out)
    with pytest.raises(SystemExit), replaced_whole(out):
        (out / "synth").mkdir(parents=True)
        (out / "synth" / "synth.npz").write_text("half")
        raise SystemExit("stage 'conduct' failed")
    assert _tree(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["demo-out"]
    with replaced_whole(out):
        (out / "report.html").write_text("new run")
    assert _tree(out) == {"report.html": b"new run"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-out"]


@pytest.fixture
def volumes(tmp_path):
    save(Microstructure(np.ones((6, 6, 6), np.uint8)), tmp_path / "solid.npz")
    save(Microstructure(np.zeros((6, 6, 6), np.uint8)), tmp_path / "pore.npz")
    labels = np.ones((6, 6, 6), np.uint8)
    labels[:, :, :2] = 2  # grain boundary, which these materials lack
    save(Microstructure(labels), tmp_path / "boundaries.npz")
    (tmp_path / "grain_only.toml").write_text(
        "[phases.pore]\nlabel = 0\nvoid = true\n[phases.grain]\nlabel = 1\n"
        "sigma_S_per_m = 1e-4\nE_Pa = 150e9\nnu = 0.25\n"
    )
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["elastic", "pore.npz"],
        ["elastic", "solid.npz", "--strain", "0"],
        ["elastic", "boundaries.npz", "--materials", "grain_only.toml"],
        ["conduct", "boundaries.npz", "--materials", "grain_only.toml"],
        ["conduct", "pore.npz"],
        ["reconstruct", "missing.h5"],
        ["synth", "--shape", "8", "--porosity", "2", "--pore-size", "1", "--grain-size", "2"],
        ["mesh", "pore.npz"],
    ],
)
def test_bad_input_leaves_no_output_folder(volumes, monkeypatch, capsys, argv):
    monkeypatch.chdir(volumes)
    before = sorted(p.name for p in volumes.iterdir())
    assert main([*argv, "--out", "results/run"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert sorted(p.name for p in volumes.iterdir()) == before  # no results/, no staging


def _interrupt_when_staging_appears(command: list[str], parent: Path, sig: int) -> int:
    """Start `command`, send `sig` once it has made its staging folder in `parent`, return
    the exit code."""
    # a shell starts background jobs with SIGINT ignored, and Python then never turns it into
    # KeyboardInterrupt: give the command the default disposition a terminal's Ctrl-C meets
    process = subprocess.Popen(command, cwd=parent, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 120
    while not any(".staging-" in p.name for p in parent.iterdir()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no staging folder appeared: {process.communicate()[1]}")
        time.sleep(0.05)
    time.sleep(0.5)  # let it write some of its results there
    os.kill(process.pid, sig)
    return process.wait(timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_conduct_leaves_the_folder_as_it_was(tmp_path, meso_exe, sig):
    """A rerun into a folder of an earlier run, interrupted mid-solve: nothing changes (the
    earlier results stay whole, no new field file, no hidden file)."""
    rng = np.random.default_rng(0)
    # large enough that the fe solves outlast the interrupt (the fv multigrid alone takes ~0.1 s)
    labels = (rng.random((72, 72, 72)) > 0.2).astype(np.uint8)
    save(Microstructure(labels), tmp_path / "vol.npz")
    out = tmp_path / "run"
    out.mkdir()
    (out / "conduction.json").write_text('{"from": "an earlier run"}')
    (out / "notes.txt").write_text("keep me")
    before = _tree(out)
    command = [*meso_exe, "conduct", "vol.npz", "--method", "both", "--fields", "--out", "run"]
    code = _interrupt_when_staging_appears(command, tmp_path, sig)
    assert code == 130
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "vol.npz"]


def test_interrupted_reconstruct_leaves_no_hidden_file(tmp_path, meso_exe):
    """SIGTERM while the volume is being written: no volume, no hidden temporary file."""
    assert main(["phantom", "--shape", "48,48,96", "--angles", "361", "--quiet",
                 "--out", str(tmp_path / "scan")]) == 0  # fmt: skip
    scan = next(p for p in (tmp_path / "scan").glob("step_*.h5") if "_labels" not in p.name)
    command = [*meso_exe, "reconstruct", str(scan), "--slab-rows", "4", "--out", "recon"]
    assert _interrupt_when_staging_appears(command, tmp_path, signal.SIGTERM) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan"]
