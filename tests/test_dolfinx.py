"""DOLFINx smoke test: a tiny Poisson solve with 1 and 2 MPI ranks gives the exact solution."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("mpi_poisson.py")


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2])
def test_poisson_exact_under_mpi(mpirun, ranks):
    proc = subprocess.run(
        [*mpirun, "-n", str(ranks), sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ranks"] == ranks
    assert result["cells"] == 6 * 5 * 4  # distributed, not replicated
    assert result["reason"] > 0
    assert result["l2_error"] < 1e-8
