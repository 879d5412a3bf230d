"""`meso validate`: the checks pass on this build, a failing check gives exit code 1, MPI works."""

from __future__ import annotations

import json
import subprocess

import pytest

from meso.cli import main
from validation import checks


def test_quick_validation_passes_and_reports_every_check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--quick", "--quiet", "--out", "v"]) == 0
    document = json.loads((tmp_path / "v" / "validation.json").read_text())
    quick = [c.name for c in checks.CHECKS if c.quick]
    assert [c["name"] for c in document["checks"]] == quick and document["passed"]
    for check in document["checks"]:
        assert (check["ran"] and abs(check["relative_error"]) <= check["tolerance"]) or (
            check["tolerance"] == 0 and check["value"] <= check["reference"])  # fmt: skip
    html = (tmp_path / "v" / "validation.html").read_text()
    assert "every check passed" in html and "data:image/png;base64" in html


def test_a_failing_check_fails_the_run(tmp_path, monkeypatch):
    wrong = checks.Check("laminate against a wrong reference", "conduction", True,
                         lambda comm: (*checks._laminate(True, "fv")(comm)[:1], 0.5, 1e-6, False,
                                       "a deliberately wrong reference"))  # fmt: skip
    monkeypatch.setattr(checks, "CHECKS", [checks.CHECKS[0], wrong])
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--quick", "--quiet", "--out", "v"]) == 1
    document = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert document["failed"] == ["laminate against a wrong reference"]
    assert not document["passed"]


@pytest.mark.mpi
def test_validation_under_two_mpi_ranks(tmp_path, mpirun, meso_exe):
    run = subprocess.run([*mpirun, "-n", "2", *meso_exe, "validate", "--quick", "--quiet",
                          "--out", str(tmp_path / "v")], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    document = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert document["ranks"] == 2 and document["passed"]
