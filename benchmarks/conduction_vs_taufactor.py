"""Side by side: `meso conduct` (fv, FEniCSx) vs TauFactor (CPU) on the same 5%-porosity volumes.

For each N it builds a reproducible N^3 volume (smoothed-noise pores, seed 0), runs TauFactor
on the three axes and `meso conduct` (1 rank, and N ranks with --ranks) in a subprocess, and
prints both M per axis, both wall times (ours: the whole command, and its three solves without
building the system), the ratio ours / TauFactor, our peak memory (max RSS of the solver
processes), DOFs and CG iterations. Not run by CI. Note the load average it prints: TauFactor
uses both cores, so a busy machine slows it more than us.

    .venv/bin/python benchmarks/conduction_vs_taufactor.py --sizes 64,128 --ranks 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


def porous_volume(n: int, porosity: float = 0.05, seed: int = 0) -> np.ndarray:
    """Solid (1) with pores (0) from thresholded Gaussian-smoothed noise (sigma 2 voxels)."""
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((n,) * 3), 2.0)
    return (field < np.quantile(field, 1.0 - porosity)).astype(np.uint8)


def run_taufactor(solid: np.ndarray) -> tuple[list[float], float]:
    import taufactor

    factors, start = [], time.perf_counter()
    for a in range(3):
        solver = taufactor.Solver(np.ascontiguousarray(np.moveaxis(solid, a, 0)), device="cpu")
        solver.solve(verbose=False)
        factors.append(float(solver.D_eff))
    return factors, time.perf_counter() - start


def run_meso(volume: Path, ranks: int, out: Path) -> tuple[dict, float, float]:
    """(conduction.json, wall seconds of the whole command, peak RSS in GB of any rank)."""
    meso = [str(Path(sys.executable).with_name("meso"))]
    command = [*meso, "conduct", str(volume), "--out", str(out), "--quiet"]
    if ranks > 1:
        command = [*MPIRUN, "-n", str(ranks), *command]
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed with status {status}")
    return json.loads((out / "conduction.json").read_text()), wall, usage.ru_maxrss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128,192,256")
    parser.add_argument("--ranks", default="1,2", help="MPI rank counts for meso conduct")
    parser.add_argument("--porosity", type=float, default=0.05)
    parser.add_argument("--no-taufactor", action="store_true", help="skip the peer")
    args = parser.parse_args()
    rows = []
    work = Path(tempfile.mkdtemp(prefix="meso-bench-"))
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            solid = porous_volume(n, args.porosity)
            volume = work / f"vol{n}.npy"
            np.save(volume, solid)
            row = {"N": n, "porosity": round(1 - float(solid.mean()), 4)}
            for ranks in (int(r) for r in args.ranks.split(",")):
                doc, wall, peak = run_meso(volume, ranks, work / f"out{n}_{ranks}")
                row[f"ours_{ranks}rank_s"] = round(wall, 1)
                row[f"peak_GB_{ranks}rank"] = round(peak, 2)
                solve = sum(doc["axes"][a]["solve_seconds"] for a in "xyz")
                row[f"solves_{ranks}rank_s"] = round(solve, 1)  # AMG setup + CG, 3 axes
                row["M_ours"] = [round(doc["axes"][a]["M"], 5) for a in "xyz"]
                row["dofs"] = doc["dofs"]
                row["iterations"] = [doc["axes"][a]["iterations"] for a in "xyz"]
            if not args.no_taufactor:
                factors, wall = run_taufactor(solid)
                row["M_taufactor"] = [round(f, 5) for f in factors]
                row["taufactor_s"] = round(wall, 1)
                first = min(int(r) for r in args.ranks.split(","))
                row["ratio_ours_over_tf"] = round(row[f"ours_{first}rank_s"] / wall, 3)
            row["load_average"] = round(os.getloadavg()[0], 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
