"""`meso hotspot` on two MPI ranks gives the one-rank current, maps, stress and window study."""

import json
import subprocess

import numpy as np
import pytest
from scipy import ndimage


@pytest.mark.mpi
def test_two_ranks_give_the_one_rank_results(mpirun, meso_exe, tmp_path):
    noise = ndimage.gaussian_filter(np.random.default_rng(2).standard_normal((12, 10, 8)), 1.5)
    labels = np.where(noise < np.quantile(noise, 0.85), 1, 0).astype(np.uint8)
    np.save(tmp_path / "vol.npy", labels)
    x, y = np.mgrid[:12, :10]
    np.save(tmp_path / "disk.npy", ((x - 6) ** 2 + (y - 5) ** 2 <= 12).astype(np.uint8))
    docs = {}
    for ranks in (1, 2):
        out = tmp_path / f"hs{ranks}"
        run = subprocess.run(
            [*mpirun, "-n", str(ranks), *meso_exe, "hotspot", str(tmp_path / "vol.npy"),
             "--axis", "z", "--contact-top", str(tmp_path / "disk.npy"), "--pressure-MPa", "4",
             "--window-um", "4", "--fields", "--quiet", "--out", str(out)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        docs[ranks] = json.loads((out / "hotspot.json").read_text())
        assert (out / "fields.xdmf").is_file() and (out / "elastic_z.xdmf").is_file()
    one, two = docs[1], docs[2]
    assert one["current_A"] > 0
    assert two["current_A"] == pytest.approx(one["current_A"], rel=1e-6)
    for face in ("bottom", "top"):
        assert two["faces"][face]["max_over_mean"] == pytest.approx(
            one["faces"][face]["max_over_mean"], rel=1e-5)  # fmt: skip
        maps = [np.load(tmp_path / f"hs{r}" / f"current_density_{face}.npy") for r in (1, 2)]
        np.testing.assert_allclose(maps[1], maps[0], rtol=1e-4, atol=1e-5)  # solver tolerance
    s1, s2 = one["pressure"]["stress"], two["pressure"]["stress"]
    assert s2["E_eff_Pa"] == pytest.approx(s1["E_eff_Pa"], rel=1e-6)
    assert s2["von_mises_max_over_pressure"] == pytest.approx(s1["von_mises_max_over_pressure"],
                                                              rel=1e-5)  # fmt: skip
    w1, w2 = one["pressure"]["windows"], two["pressure"]["windows"]
    assert [r["M_conductivity"] for r in w2["windows"]] == pytest.approx(
        [r["M_conductivity"] for r in w1["windows"]], rel=1e-9)  # fmt: skip
    assert w2["modulus_vs_stress"]["rho"] == pytest.approx(w1["modulus_vs_stress"]["rho"])
