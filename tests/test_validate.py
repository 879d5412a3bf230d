"""`meso validate`: the checks pass on this build, a wrong reference gives exit code 1, MPI works."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import numpy as np
import pytest
from mpi4py import MPI

from meso.cli import main
from validation import checks, convergence_checks


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
    # the orders and the extrapolated constriction resistance, with their convergence plots
    by_name = {c["name"]: c for c in document["checks"]}
    orders = {"sphere array, order of voxel fv": 1.0, "sphere array, order of conforming P1": 2.0,
              "sphere array, order of conforming P2 (curved)": 4.0,
              "disk constriction resistance, order": 1.0}  # fmt: skip
    for name, expected in orders.items():
        assert by_name[name]["reference"] == expected and by_name[name]["passed"]
        lines = by_name[name]["convergence"]["lines"]
        assert all(len(line["x"]) == len(line["y"]) >= 3 for line in lines.values())
    assert by_name["disk constriction resistance, extrapolated"]["value"] == pytest.approx(
        1.0, abs=5e-3
    )
    assert by_name["boundary faces, cubic grains in series"]["relative_error"] == pytest.approx(
        0.0, abs=1e-6
    )
    # two studies: spheres vs Rayleigh, the disk contact
    assert sorted(p.name for p in (tmp_path / "v").glob("validation_convergence_*.png")) == [
        f"validation_convergence_{i}.png" for i in (1, 2)
    ]
    assert html.count("data:image/png;base64") == 3 and "Constriction resistance" in html


def test_order_is_fitted_in_the_mesh_size():
    dofs = np.array([1e3, 8e3, 64e3])  # h halves at each step
    assert convergence_checks.order_in_h(dofs, 0.3 * dofs ** (-2 / 3)) == pytest.approx(2.0)
    assert convergence_checks.order_in_h(dofs, -0.1 * dofs ** (-1 / 3)) == pytest.approx(1.0)


def test_the_full_only_checks_pass(monkeypatch):
    """Voxel fv and Q1 vs conforming P2 on one porous synth (one figure), and PoreSpy's solve
    where OpenPNM imports (not a dependency: listed as not run, naming it, where it does not)."""
    names = ["voxel fv vs conforming P2, porous synth 32^3", "PoreSpy agreement, 48^3",
             "voxel Q1 vs conforming P2, porous synth 32^3"]  # fmt: skip
    monkeypatch.setattr(checks, "CHECKS", [c for c in checks.CHECKS if c.name in names])
    conduction, porespy, elasticity = checks.run_checks(quick=False, comm=MPI.COMM_SELF)
    assert conduction.passed and -0.025 <= conduction.relative_error < 0  # the staircase
    errors = conduction.convergence["lines"]["conduction, voxel fv"]["y"]
    assert errors == sorted(errors, reverse=True)  # closer at each of 16, 24, 32 voxels
    assert elasticity.passed and abs(elasticity.relative_error) <= 0.01
    assert elasticity.convergence["lines"]["elasticity E, voxel Q1"]["x"] == [16, 24, 32]
    assert conduction.convergence["figure"] == elasticity.convergence["figure"]
    if importlib.util.find_spec("openpnm") is None:
        assert not porespy.ran and porespy.source == "not run: openpnm is not installed"
    else:
        assert porespy.ran and porespy.passed and abs(porespy.relative_error) <= 5e-3


def test_a_wrong_analytic_reference_fails_the_run(tmp_path, monkeypatch):
    """Holm's resistance doubled and a wrong expected order: both checks fail, exit code 1."""
    real = convergence_checks.disk_constriction_resistance
    monkeypatch.setattr(convergence_checks, "disk_constriction_resistance",
                        lambda *args: 2 * real(*args))  # fmt: skip
    wrong_order = checks.Check("conforming P2 order against order 2", "conduction", True,
                               convergence_checks.sphere_conforming_order(2, 2.0, 0.25),
                               refines=True)  # fmt: skip
    extrapolated = next(c for c in checks.CHECKS if c.name.endswith("extrapolated"))
    monkeypatch.setattr(checks, "CHECKS", [extrapolated, wrong_order])
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--quick", "--quiet", "--out", "v"]) == 1
    document = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert document["failed"] == [extrapolated.name, wrong_order.name]
    value = document["checks"][0]["value"]
    assert value == pytest.approx(0.5, abs=0.01)  # half the doubled reference


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
