"""The shell example examples/tomography_pipeline.sh on a small virtual cell: scans in, the
electrolyte's M against twins and the hot-spot flux out, with the cell's true labels as LABELS."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meso.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_tomography_pipeline_example_runs_on_the_virtual_cell(tmp_path):
    cell = tmp_path / "cell"
    assert main(["phantom", "--shape", "40,40,48", "--angles", "60", "--quiet",
                 "--out", str(cell)]) == 0  # fmt: skip
    scans = sorted(str(p) for p in cell.glob("step_*.h5") if "_labels" not in p.name)
    labels = sorted(str(p) for p in cell.glob("step_*_labels.h5"))
    env = {**os.environ, "LABELS": " ".join(labels), "TWINS": "1", "WINDOW_UM": "16",
           "MESO": str(Path(sys.executable).with_name("meso"))}  # fmt: skip
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(ROOT / "examples" / "tomography_pipeline.sh"), str(out),
                           *scans], capture_output=True, text=True, env=env, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    quantify = json.loads((out / "quantify" / "quantify.json").read_text())
    assert [s["time_hours"] for s in quantify["steps"]] == [0.0, 2.0, 4.0]
    compare = json.loads((out / "compare" / "compare.json").read_text())
    tomogram = next(v for v in compare["volumes"] if v["kind"] == "volume")
    for axis in "xyz":  # a 5%-porous pellet with resistive grain boundaries
        assert 0.1 < tomogram["physics"]["conduction"]["whole"][axis] < 1
    hotspot = json.loads((out / "hotspot" / "hotspot.json").read_text())
    # step 1 stripped the bottom electrode: its voids cut the contact there
    assert hotspot["contact_fraction"]["bottom"] < hotspot["contact_fraction"]["top"]
    assert hotspot["measured"]["comparisons"][0]["step"] == 0
    assert (out / "hotspot" / "fields.xdmf").exists()


def test_tomography_pipeline_example_refuses_mismatched_labels(tmp_path):
    env = {**os.environ, "LABELS": "a.h5"}
    proc = subprocess.run(["bash", str(ROOT / "examples" / "tomography_pipeline.sh"),
                           str(tmp_path / "out"), "s0.h5", "s1.h5"],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert proc.returncode == 2 and "LABELS names 1 files for 2 scans" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_sweep_example_lists_its_cases_and_the_slurm_script_parses(capsys):
    assert main(["sweep", str(ROOT / "examples" / "sweep.toml"), "--list"]) == 0
    cases = capsys.readouterr().out.split()
    assert len(cases) == 8 and len(set(cases)) == 8  # 2 porosities x 2 grain sizes x 2 seeds
    proc = subprocess.run(["bash", "-n", str(ROOT / "examples" / "slurm_sweep.sh")])
    assert proc.returncode == 0


@pytest.mark.parametrize(("script", "args", "outputs"), [
    ("synth_microstructure.py", ["--size", "32"], ["isotropic.npz", "twin.npz", "stats.json"]),
    ("conforming_meshes.py", ["--size", "12"], []),
])  # fmt: skip
def test_python_examples_run_in_a_quick_size(tmp_path, script, args, outputs):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--out", str(out),
                           *args], capture_output=True, text=True, timeout=600, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any(out.iterdir())
    for name in outputs:
        assert (out / name).stat().st_size > 0


def test_elasticity_example_stays_below_the_hashin_shtrikman_bound(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "elasticity_hotspots.py"),
                           str(tmp_path), "32"], capture_output=True, text=True, timeout=600,
                          cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    bound = float(proc.stdout.split("M <= ")[1].split()[0])
    factors = [float(line.split("M = ")[1].split(",")[0]) for line in proc.stdout.splitlines()
               if "M = " in line]  # fmt: skip
    # the bound holds for the isotropic modulus: the mean over the axes (one axis of a 32^3
    # sample may exceed it by a few 1e-3)
    assert len(factors) == 3 and 0.5 < sum(factors) / 3 <= bound, proc.stdout
    assert (tmp_path / "von_mises_x.png").stat().st_size > 0


def test_reconstruct_tooth_example_on_the_aps_scan(tmp_path, shared_data):
    scan = shared_data / "tooth.h5"
    if not scan.exists():
        pytest.skip(f"{scan} is absent from the reference data folder")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "reconstruct_tooth.py"),
                           str(scan), str(tmp_path)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any(p.suffix == ".png" for p in tmp_path.iterdir())
