"""`meso sweep`: grid parsing, resumable runs (killed and resumed), worker processes, MPI groups, failures."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mpi4py import MPI

import synth
from meso.cli.sweep import measured_statistics
from meso.errors import InputError
from meso.studies.grid import parse_sweep
from meso.studies.runner import run_sweep

GRID = """\
[sweep]
shape = {shape}                  # voxels per side
voxel_size_um = 0.5
porosity = [0.02, 0.08]
grain_size_um = [2.0, 3.0]
pore_size_um = 1.5
seeds = [1, 2]
physics = ["conduction"]
axes = "x,y,z"
"""


def write_grid(folder: Path, shape: int = 12, text: str = GRID) -> Path:
    path = folder / "sweep.toml"
    path.write_text(text.format(shape=shape))
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def case_files(out: Path) -> dict[str, int]:
    """path -> mtime (ns) of every file of every finished case folder."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns
            for p in (out / "cases").glob("[!.]*/*")}  # fmt: skip


def test_grid_ids_order_and_fingerprint():
    sweep = parse_sweep(GRID.format(shape=12))
    assert [c.id for c in sweep.cases][:3] == ["p0.02_g2_d1.5_s1", "p0.02_g2_d1.5_s2",
                                                "p0.02_g3_d1.5_s1"]  # fmt: skip
    assert len(sweep.cases) == 8 and sweep.settings["shape"] == [12, 12, 12]
    assert sweep.cases[5].generator == {"shape": [12, 12, 12], "voxel_size_um": 0.5,
                                        "porosity": 0.08, "grain_size_um": 2.0,
                                        "pore_size_um": 1.5, "seed": 2}  # fmt: skip
    # comments and layout do not change the grid; a value does
    relaid = parse_sweep(GRID.format(shape=12).replace("# voxels per side", "# edited"))
    assert relaid.fingerprint == sweep.fingerprint
    assert parse_sweep(GRID.format(shape=14)).fingerprint != sweep.fingerprint
    assert sweep.case("3").id == sweep.case("p0.02_g3_d1.5_s2").id == sweep.cases[3].id


@pytest.mark.parametrize(
    "edit, message",
    [
        (("seeds = [1, 2]", "seeds = [1, 1]"), "distinct"),
        (('axes = "x,y,z"', 'axes = "x,w"'), "axes"),
        (('physics = ["conduction"]', 'physics = ["heat"]'), "physics"),
        (("pore_size_um = 1.5", "pore_size_um = 1.5\nporosty = 0.1"), "unknown key"),
        (("pore_size_um = 1.5", "pore_size_um = 40.0"), "case p0.02_g2_d40_s1: pore_size_um"),
        (("shape = 12", "shape = [12, 12]"), "shape"),
    ],
)
def test_bad_toml_is_one_line_error(tmp_path, meso_exe, edit, message):
    path = write_grid(tmp_path)
    path.write_text(path.read_text().replace(*edit))
    run = subprocess.run([*meso_exe, "sweep", str(path), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert str(path) in run.stderr
    assert not (tmp_path / "out").exists()


def test_two_workers_killed_and_resumed(tmp_path, meso_exe):
    """A 2 x 2 x 2 sweep with 2 worker processes, killed (the whole process group, like a lost
    job) after some cases finished, then rerun: every case once, finished ones untouched."""
    path = write_grid(tmp_path, shape=24)
    out = tmp_path / "out"
    command = [*meso_exe, "sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"]
    job = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and job.poll() is None:
        if len(list((out / "cases").glob("[!.]*"))) >= 2:
            break
        time.sleep(0.01)
    assert job.poll() is None, f"the sweep ended before it could be killed: {job.stderr.read()}"
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    before = case_files(out)
    finished = {Path(p).parts[1] for p in before}
    assert 2 <= len(finished) < 8, finished

    rerun = subprocess.run([*command[:-1]], capture_output=True, text=True)  # not --quiet
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert report["finished_before"] == len(finished) and report["ran"] == 8 - len(finished)
    after = case_files(out)
    assert {k: after[k] for k in before} == before  # finished cases not recomputed
    cases = sorted(p.name for p in (out / "cases").iterdir())
    assert len(cases) == 8 and not [c for c in cases if c.startswith(".")]  # no half-written
    for case in cases:
        record = json.loads((out / "cases" / case / "case.json").read_text())
        assert record["status"] == "ok" and set(record["results"]["conduction"]) == set("xyz")
        assert (out / "cases" / case / "conduction.json").exists()
    rows = read_csv(out / "results.csv")
    assert len(rows) == 24 and len({(r["case"], r["axis"]) for r in rows}) == 24
    for column in ("case", "porosity", "grain_size_um", "pore_size_um", "seed", "physics", "axis",
                   "M", "measured_porosity", "measured_grain_size_um"):  # fmt: skip
        assert column in rows[0]
    assert all(0 < float(r["M"]) < 1 for r in rows)
    assert all(abs(float(r["measured_porosity"]) - float(r["porosity"])) < 0.01 for r in rows)
    summary = read_csv(out / "summary.csv")
    assert len(summary) == 12 and all(r["n_seeds"] == "2" and r["n_failed"] == "0" for r in summary)
    for row in summary:
        assert float(row["M_ci95_low"]) <= float(row["M_mean"]) <= float(row["M_ci95_high"])
    # more porosity, less conduction (means over seeds, same grain size and axis)
    mean = {(r["porosity"], r["grain_size_um"], r["axis"]): float(r["M_mean"]) for r in summary}
    assert all(mean[("0.08", g, a)] < mean[("0.02", g, a)] for (_, g, a) in mean)

    # a changed TOML in the same folder is refused, and nothing is touched
    path.write_text(path.read_text().replace("seeds = [1, 2]", "seeds = [1, 3]"))
    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode == 2 and "different grid (seeds: [1, 2] -> [1, 3])" in refused.stderr
    assert case_files(out) == after


def test_list_and_one_case(tmp_path, meso_exe):
    path = write_grid(tmp_path)
    listed = subprocess.run([*meso_exe, "sweep", str(path), "--list"], capture_output=True,
                            text=True, check=True).stdout.split()  # fmt: skip
    assert listed == [c.id for c in parse_sweep(path.read_text()).cases]
    out = tmp_path / "out"
    one = subprocess.run([*meso_exe, "sweep", str(path), "--out", str(out), "--case", "5",
                          "--case", listed[0], "--quiet"], capture_output=True, text=True)  # fmt: skip
    assert one.returncode == 0, one.stderr
    assert sorted(p.name for p in (out / "cases").iterdir()) == sorted([listed[0], listed[5]])
    assert len(read_csv(out / "results.csv")) == 6
    bad = subprocess.run([*meso_exe, "sweep", str(path), "--out", str(out), "--case", "8"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "out of range" in bad.stderr


def _flaky_generate(**kwargs):
    """synth.generate, except that the case with seed 2 and porosity 0.08 raises."""
    if kwargs["seed"] == 2 and kwargs["porosity"] == 0.08:
        raise RuntimeError("disk on fire")
    return synth.generate(**kwargs)


def test_failed_case_is_recorded_and_retried(tmp_path):
    sweep = parse_sweep(GRID.format(shape=12).replace("grain_size_um = [2.0, 3.0]",
                                                     "grain_size_um = 3.0"))  # fmt: skip
    out = tmp_path / "out"
    run, document = run_sweep(sweep, out, generate=_flaky_generate, measure=measured_statistics,
                              comm=MPI.COMM_SELF)  # fmt: skip
    assert document["failed"] == {"p0.08_g3_d1.5_s2": "RuntimeError: disk on fire"}
    assert document["finished"] == 3
    record = json.loads((out / "cases" / "p0.08_g3_d1.5_s2" / "case.json").read_text())
    assert record["status"] == "failed" and "disk on fire" in record["traceback"]
    summary = read_csv(out / "summary.csv")
    failed_point = [r for r in summary if r["porosity"] == "0.08"]
    assert all(r["n_seeds"] == "1" and r["failed_cases"] == "p0.08_g3_d1.5_s2"
               for r in failed_point)  # fmt: skip
    assert all(r["M_std"] == "" for r in failed_point)  # one seed: no spread
    before = case_files(out)
    run, document = run_sweep(sweep, out, generate=synth.generate, measure=measured_statistics,
                              comm=MPI.COMM_SELF)  # fmt: skip
    assert [o.id for o in run.ran] == ["p0.08_g3_d1.5_s2"] and not document["failed"]
    after = case_files(out)
    assert all(after[k] == v for k, v in before.items() if "p0.08_g3_d1.5_s2" not in k)


def test_elasticity_and_conduction_case(tmp_path):
    """Both physics in one case: rows for each, modulus factors below 1 and the full JSON."""
    text = GRID.replace('physics = ["conduction"]', 'physics = ["conduction", "elasticity"]')
    sweep = parse_sweep(text.format(shape=10).replace("seeds = [1, 2]", "seeds = 1"))
    _, document = run_sweep(sweep, tmp_path / "out", generate=synth.generate,
                            only=[sweep.cases[0]], comm=MPI.COMM_SELF)  # fmt: skip
    assert document["finished"] == 1 and not document["failed"]
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert [(r["physics"], r["axis"]) for r in rows] == [(p, a) for p in ("conduction", "elasticity")
                                                         for a in "xyz"]  # fmt: skip
    assert all(0 < float(r["M"]) < 1 for r in rows)
    case = tmp_path / "out" / "cases" / sweep.cases[0].id
    elasticity = json.loads((case / "elasticity.json").read_text())
    assert elasticity["axes"]["x"]["M"] == pytest.approx(float(rows[3]["M"]))


def test_parallel_options_checked(tmp_path):
    sweep = parse_sweep(GRID.format(shape=12))
    with pytest.raises(InputError, match="does not divide"):
        run_sweep(sweep, tmp_path / "o", generate=synth.generate, ranks_per_case=2,
                  comm=MPI.COMM_SELF)  # fmt: skip
    with pytest.raises(InputError, match="--workers"):
        run_sweep(sweep, tmp_path / "o", generate=synth.generate, workers=0, comm=MPI.COMM_SELF)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("keep me")
    with pytest.raises(InputError, match="not a sweep folder"):
        run_sweep(sweep, tmp_path / "busy", generate=synth.generate, comm=MPI.COMM_SELF)
    assert not (tmp_path / "o").exists()


@pytest.mark.mpi
def test_mpi_groups_equal_serial(tmp_path, meso_exe, mpirun):
    """mpirun -n 2 with --ranks-per-case 1 (two groups, rank-0 queue) and 2 (one group of two
    PETSc ranks) give the serial results."""
    text = GRID.replace("porosity = [0.02, 0.08]", "porosity = 0.08")
    path = write_grid(tmp_path, shape=16, text=text)
    serial = subprocess.run([*meso_exe, "sweep", str(path), "--out", str(tmp_path / "serial"),
                             "--quiet"], capture_output=True, text=True)  # fmt: skip
    assert serial.returncode == 0, serial.stderr
    expected = {
        (r["case"], r["axis"]): float(r["M"]) for r in read_csv(tmp_path / "serial" / "results.csv")
    }
    assert len(expected) == 12
    for ranks_per_case, tolerance in ((1, 0.0), (2, 1e-6)):
        out = tmp_path / f"k{ranks_per_case}"
        run = subprocess.run([*mpirun, "-n", "2", *meso_exe, "sweep", str(path), "--out",
                              str(out), "--ranks-per-case", str(ranks_per_case)],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        assert run.returncode == 0, run.stderr
        got = {(r["case"], r["axis"]): float(r["M"]) for r in read_csv(out / "results.csv")}
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert abs(got[key] - value) <= tolerance * value, (ranks_per_case, key)
        records = [json.loads(p.read_text()) for p in out.glob("cases/*/case.json")]
        assert {r["ranks"] for r in records} == {ranks_per_case}
        if ranks_per_case == 1:  # both groups took cases from the queue
            assert len({r["pid"] for r in records}) == 2
