"""`meso demo --quick` end to end: every stage runs and report.html gathers its results."""

import json
import subprocess

import pytest

from validation.elasticity_references import hashin_shtrikman_upper_porous


@pytest.mark.slow
def test_quick_demo_runs_every_stage(tmp_path, meso_exe):
    out = tmp_path / "demo"
    proc = subprocess.run(
        [*meso_exe, "demo", "--quick", "--quiet", "--out", str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
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
    # boundaries share the grain's elastic constants: a pores-only problem, bounded by HS
    mean_M = sum(elasticity["axes"][a]["M"] for a in "xyz") / 3
    assert 0.8 < mean_M < hashin_shtrikman_upper_porous(150e9, 0.257, p) / 150e9
    report = (out / "report.html").read_text()
    for title in ("meso synth", "meso conduct", "meso elastic", "meso phantom", "Run time"):
        assert title in report
    assert report.count("data:image/png;base64,") >= 6
    assert (out / "reconstruct" / "volume.h5").stat().st_size > 0
