"""Shared fixtures: paths to the project, the reference data folder and the meso executable."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


@pytest.fixture
def meso_exe() -> list[str]:
    """The `meso` console script of the environment running the tests."""
    exe = Path(sys.executable).with_name("meso")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "meso.cli"]


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (it is not part of a clone)")
    return SHARED_DATA


@pytest.fixture
def mpirun() -> list[str]:
    """The mpirun command line, run in a clean environment.

    Once this test process has initialised MPI (any import of mpi4py or DOLFINx), Open MPI has
    put its own variables into the C environment, which a child inherits and which make a
    child mpirun exit silently with code 1. They are not in os.environ, so the child gets
    exactly os.environ (``env -i`` plus its items) instead.
    """
    if shutil.which("mpirun") is None:
        pytest.fail("mpirun is not on PATH although the Debian MPI packages are a requirement")
    clean = [f"{k}={v}" for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_"))]
    return ["env", "-i", *clean, *MPIRUN]
