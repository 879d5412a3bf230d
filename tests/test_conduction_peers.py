"""fv conduction against TauFactor on the same image, and 1 vs 2 MPI ranks through the CLI."""

import json
import subprocess

import numpy as np
import pytest
import taufactor  # a test dependency (pyproject [dev])
from mpi4py import MPI
from scipy import ndimage

from meso import conduct
from meso.microstructure import Microstructure


def _porous(n: int, porosity: float, seed: int) -> np.ndarray:
    """Smoothed-noise pores (a few voxels across) at the given porosity; 1 = solid."""
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((n,) * 3), 2.0)
    return (field < np.quantile(field, 1 - porosity)).astype(np.uint8)


@pytest.mark.slow
def test_fv_agrees_with_taufactor_on_every_axis():
    solid = _porous(64, 0.15, seed=42)
    ours = conduct(Microstructure(solid), comm=MPI.COMM_SELF)
    for a, axis in enumerate("xyz"):
        # TauFactor solves along its first array axis
        solver = taufactor.Solver(np.ascontiguousarray(np.moveaxis(solid, a, 0)), device="cpu")
        # its default stop (conv_crit 1e-2) leaves ~1e-4 in M (1.2e-4 along x here); 1e-4 ~1e-6
        solver.solve(verbose=False, conv_crit=1e-4)
        peer = float(solver.D_eff)  # = eps / tau = M for a single conducting phase
        assert ours.factor(axis) == pytest.approx(peer, rel=1e-4), axis
        eps = solid.mean()
        assert ours.axes[axis]["fv"].tortuosity_factor == pytest.approx(eps / peer, rel=1e-4)


@pytest.mark.mpi
def test_one_and_two_ranks_agree(mpirun, meso_exe, tmp_path):
    labels = _porous(24, 0.2, seed=7)
    labels[labels == 1] = np.where(np.random.default_rng(1).random(labels.sum()) < 0.2, 2, 1)
    volume = tmp_path / "vol.npy"
    np.save(volume, labels)
    results = {}
    for ranks in (1, 2):
        out = tmp_path / f"out{ranks}"
        proc = subprocess.run(
            [*mpirun, "-n", str(ranks), *meso_exe, "conduct", str(volume), "--method", "both",
             "--out", str(out), "--quiet"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        results[ranks] = json.loads((out / "conduction.json").read_text())
    assert results[2]["ranks"] == 2
    for axis in "xyz":
        one, two = results[1]["axes"][axis], results[2]["axes"][axis]
        assert one["percolating"] and one["M"] > 0.1
        assert two["M"] == pytest.approx(one["M"], rel=1e-6)
        assert two["fe"]["M"] == pytest.approx(one["fe"]["M"], rel=1e-6)
        assert two["dofs"] == one["dofs"] and two["fe"]["dofs"] == one["fe"]["dofs"]
