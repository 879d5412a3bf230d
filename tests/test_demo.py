"""`meso demo --quick` end to end: every stage runs, the recovered numbers stand next to the
virtual cell's truth, and report.html loads in a real browser with every image decoded."""

import csv
import json
import subprocess

import pytest

from validation.elasticity_references import hashin_shtrikman_upper_porous


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import sys
    from pathlib import Path

    out = tmp_path_factory.mktemp("demo") / "demo"
    exe = Path(sys.executable).with_name("meso")
    proc = subprocess.run(
        [str(exe), "demo", "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stdout


@pytest.mark.slow
def test_every_stage_prints_its_command_and_the_report_gathers_them(demo):
    out, stdout = demo
    commands = [line.split(": ", 1)[1] for line in stdout.splitlines()
                if line.startswith("meso demo [")]  # fmt: skip
    for name in ("phantom", "reconstruct", "segment otsu", "segment train", "segment predict",
                 "segment evaluate", "quantify", "extract", "conduct", "elastic", "compare",
                 "hotspot", "synth"):  # fmt: skip
        assert any(c.startswith(f"meso {name} ") for c in commands), name
    report = (out / "report.html").read_text()
    for title in ("meso phantom", "meso reconstruct", "meso segment", "meso quantify",
                  "against the truth", "meso extract", "meso compare", "meso hotspot",
                  "3D views", "meso synth", "meso conduct", "meso elastic", "Materials",
                  "Software", "Commands", "Run time"):  # fmt: skip
        assert title in report, title
    # the commands section lists what ran, to be copied
    assert all(c in report for c in commands)
    for package in ("dolfinx", "petsc", "torch"):
        assert package in report
    for table in ("virtual_cell", "reconstruction", "segmentation", "quantification",
                  "current_density_vs_truth", "electrolyte_models", "hotspot", "materials",
                  "versions", "run_time"):  # fmt: skip
        assert (out / "tables" / f"{table}.csv").stat().st_size > 0, table


@pytest.mark.slow
def test_recovered_numbers_against_the_virtual_cells_truth(demo):
    out, _ = demo
    # reconstruction: every step correlates with the true attenuation
    for row in _rows(out / "tables" / "reconstruction.csv"):
        assert float(row["correlation with the true attenuation"]) > 0.6, row
    # current density from thickness changes: with the true labels the quantification alone
    # recovers the stripping current map (the phantom rounds it to whole voxels: r ~ 0.94)
    intervals = _rows(out / "tables" / "current_density_vs_truth.csv")
    assert len(intervals) == 2
    for row in intervals:
        assert float(row["r (true labels)"]) > 0.9, row
    # segmentation rows for both methods, every step and electrode
    assert len(_rows(out / "tables" / "segmentation.csv")) == 3 * 2 * 2
    # the flux through the contacting parts of both interfaces
    hotspot = json.loads((out / "hotspot" / "hotspot.json").read_text())
    assert hotspot["current_A"] > 0
    for face in ("bottom", "top"):
        assert 0 < hotspot["contact_fraction"][face] <= 1
        assert hotspot["faces"][face]["max_over_mean"] >= 1
    compare = json.loads((out / "compare" / "compare.json").read_text())
    assert {v["kind"] for v in compare["volumes"]} == {"volume", "twin"}


@pytest.mark.slow
def test_synthetic_stages_against_bounds(demo):
    out, _ = demo
    synth = json.loads((out / "synth" / "synth.json").read_text())
    porosity = next(c for c in synth["comparison"] if c["quantity"] == "porosity")
    assert porosity["measured"] == pytest.approx(0.05, abs=0.005)
    conduction = json.loads((out / "conduct" / "conduction.json").read_text())
    elasticity = json.loads((out / "elastic" / "elasticity.json").read_text())
    p = conduction["volume_fractions"]["pore"]
    for axis in "xyz":
        # grain boundaries ten times less conducting than grains cut M well below the
        # pores-only Hashin-Shtrikman bound 2(1-p)/(2+p)
        assert 0 < conduction["axes"][axis]["M"] < 0.8 * 2 * (1 - p) / (2 + p)
        # fv and fe bracket the same M: their difference is a discretisation estimate
        assert abs(conduction["axes"][axis]["fe_minus_fv_relative"]) < 0.5
    # boundaries share the grain's elastic constants: a pores-only problem, bounded by HS
    mean_M = sum(elasticity["axes"][a]["M"] for a in "xyz") / 3
    assert 0.8 < mean_M < hashin_shtrikman_upper_porous(150e9, 0.257, p) / 150e9


@pytest.mark.slow
def test_report_loads_in_a_browser_with_every_image(demo, open_in_browser):
    out, _ = demo
    images, broken, console = open_in_browser(out / "report.html")
    assert images >= 25 and broken == 0, (images, broken)
    assert console == []
    for view in ("electrode_voids", "interface_current", "flux_streamlines"):
        assert (out / "views" / f"{view}.png").stat().st_size > 10_000, view
