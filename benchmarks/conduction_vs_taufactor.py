"""Side by side: the whole `meso conduct` (fv) command vs whole TauFactor runs (CPU) on the same volumes.

For each N it builds a reproducible N^3 volume (smoothed-noise pores, seed 0), runs `meso
conduct` under mpirun on each rank count (a fresh process: start-up, reading, labelling,
assembly, multigrid setup, solves and writing all count) and TauFactor on the three axes in a
fresh process (its default stop, conv_crit 1e-2; the time is its three Solver(...).solve() calls,
torch's import excluded). Peak memory is the largest sum of the resident sets of the process
tree (both ranks together), sampled every 20 ms, the same way for both. With --equal-accuracy
TauFactor's stop is tightened (1e-3, 1e-4, ...) until its M is within 1e-5 of ours on every
axis, and that run's time is reported too. --log-view adds PETSc's per-phase times of our
2-rank run (multigrid setup, Galerkin products, smoothing, CG). Not run by CI. TauFactor uses
both cores: note the load average printed with every row (other work on the machine slows it
more than us).

    .venv/bin/python benchmarks/conduction_vs_taufactor.py --sizes 128,256 --ranks 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from scipy import ndimage

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
TAUFACTOR = """
import json, sys, time
import numpy as np
import taufactor
solid, crit = np.load(sys.argv[1]), float(sys.argv[2])
axes = [int(a) for a in sys.argv[3].split(",")]
factors, start = [], time.perf_counter()
for a in axes:
    solver = taufactor.Solver(np.ascontiguousarray(np.moveaxis(solid, a, 0)), device="cpu")
    solver.solve(verbose=False, conv_crit=crit)
    factors.append(float(solver.D_eff))
print(json.dumps({"M": factors, "seconds": time.perf_counter() - start}))
"""
PHASES = ("KSPSolve", "PCSetUp", "MatPtAPSymbolic", "MatPtAPNumeric", "DMCreateInterp", "MatSOR",
          "MatMult", "MatResidual", "MatAssemblyEnd")  # fmt: skip


def porous_volume(n: int, porosity: float = 0.05, seed: int = 0) -> np.ndarray:
    """Solid (1) with pores (0) from thresholded Gaussian-smoothed noise (sigma 2 voxels)."""
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((n,) * 3), 2.0)
    return (field < np.quantile(field, 1.0 - porosity)).astype(np.uint8)


def run_measured(command: list[str], env: dict | None = None) -> tuple[str, float, float]:
    """(stdout, wall seconds, peak GB of the summed RSS of the process tree)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    peak, done = [0], threading.Event()

    def sample():
        parent = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with status {process.returncode}")
    return stdout, wall, peak[0] / 1e9


def run_meso(volume: Path, ranks: int, out: Path, axes: str, *, solver: str = "gmg",
             log_view: Path | None = None) -> tuple[dict, float, float]:  # fmt: skip
    """(conduction.json, wall seconds of the whole command, peak GB of both ranks summed)."""
    meso = str(Path(sys.executable).with_name("meso"))
    command = [*MPIRUN, "-n", str(ranks), meso, "conduct", str(volume), "--out", str(out),
               "--quiet", "--axes", axes, "--solver", solver]  # fmt: skip
    env = dict(os.environ)
    if log_view is not None:
        env["PETSC_OPTIONS"] = f"-log_view :{log_view}"
    _, wall, peak = run_measured(command, env)
    return json.loads((out / "conduction.json").read_text()), wall, peak


def run_taufactor(volume: Path, axes: str, conv_crit: float = 1e-2) -> tuple[dict, float, float]:
    """({"M": [...], "seconds": its solves}, wall of the whole process, peak GB)."""
    indices = ",".join(str("xyz".index(a)) for a in axes.split(","))
    stdout, wall, peak = run_measured([sys.executable, "-c", TAUFACTOR, str(volume),
                                       str(conv_crit), indices])  # fmt: skip
    return json.loads(stdout.strip().splitlines()[-1]), wall, peak


def petsc_phases(log: Path) -> dict[str, float]:
    """Seconds per PETSc event (max over ranks) from a -log_view file."""
    times = {}
    for line in log.read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in PHASES and len(parts) > 3 and re.match(r"[\d.]+e", parts[3]):
            times[parts[0]] = round(float(parts[3]), 2)
    return times


def startup_seconds(ranks: int) -> float:
    """Wall time of `mpirun -n RANKS python -c 'import meso.conduction'` (MPI, PETSc, DOLFINx)."""
    command = [*MPIRUN, "-n", str(ranks), sys.executable, "-c", "import meso.conduction"]
    return run_measured(command)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256")
    parser.add_argument("--ranks", default="2", help="MPI rank counts for meso conduct")
    parser.add_argument("--axes", default="x,y,z")
    parser.add_argument("--porosity", type=float, default=0.05)
    parser.add_argument("--solver", default="gmg", choices=["gmg", "amg"])
    parser.add_argument("--no-taufactor", action="store_true", help="skip the peer")
    parser.add_argument("--equal-accuracy", action="store_true",
                        help="also tighten TauFactor's stop until M is within 1e-5 of ours")  # fmt: skip
    parser.add_argument("--log-view", action="store_true", help="PETSc phases of our run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="meso-bench-"))
    try:
        first_ranks = [int(r) for r in args.ranks.split(",")]
        print(json.dumps({"startup_s": {r: round(startup_seconds(r), 2) for r in first_ranks},
                          "load_average": os.getloadavg()}), flush=True)  # fmt: skip
        for n in (int(s) for s in args.sizes.split(",")):
            solid = porous_volume(n, args.porosity)
            volume = work / f"vol{n}.npy"
            np.save(volume, solid)
            row = {"N": n, "porosity": round(1 - float(solid.mean()), 4), "axes": args.axes,
                   "solver": args.solver, "load_before": round(os.getloadavg()[0], 2)}  # fmt: skip
            ours = None
            for ranks in first_ranks:
                log = work / f"log{n}_{ranks}.txt" if args.log_view else None
                doc, wall, peak = run_meso(volume, ranks, work / f"out{n}_{ranks}", args.axes,
                                           solver=args.solver, log_view=log)  # fmt: skip
                axes = list(doc["axes"])
                row[f"ours_{ranks}rank_s"] = round(wall, 2)
                row[f"ours_{ranks}rank_library_s"] = round(doc["wall_seconds"], 2)
                row[f"ours_{ranks}rank_solves_s"] = [round(doc["axes"][a]["solve_seconds"], 2)
                                                     for a in axes]  # fmt: skip
                row[f"peak_GB_{ranks}rank"] = round(peak, 2)
                row["iterations"] = [doc["axes"][a]["iterations"] for a in axes]
                row["M_ours"] = [round(doc["axes"][a]["M"], 6) for a in axes]
                row["dofs"] = doc["dofs"]
                if log is not None:
                    row[f"petsc_{ranks}rank_s"] = petsc_phases(log)
                ours = ours or [doc["axes"][a]["M"] for a in axes]
            row["load_after_ours"] = round(os.getloadavg()[0], 2)
            if not args.no_taufactor:
                tf, wall, peak = run_taufactor(volume, args.axes)
                row["M_taufactor"] = [round(f, 6) for f in tf["M"]]
                row["taufactor_s"] = round(tf["seconds"], 2)
                row["taufactor_process_s"] = round(wall, 2)
                row["taufactor_peak_GB"] = round(peak, 2)
                row["M_rel_diff_max"] = float(
                    f"{max(abs(t / o - 1) for t, o in zip(tf['M'], ours, strict=True)):.2e}"
                )
                for ranks in first_ranks:
                    row[f"ratio_{ranks}rank"] = round(row[f"ours_{ranks}rank_s"] / tf["seconds"], 3)
                crit = 1e-2
                diff = row["M_rel_diff_max"]
                while args.equal_accuracy and diff > 1e-5 and crit > 1e-7:
                    crit /= 10
                    tf, wall, _ = run_taufactor(volume, args.axes, crit)
                    diff = float(
                        f"{max(abs(t / o - 1) for t, o in zip(tf['M'], ours, strict=True)):.2e}"
                    )
                    row["equal_accuracy"] = {"conv_crit": crit, "taufactor_s": round(tf["seconds"], 2),
                                             "M_rel_diff_max": diff}  # fmt: skip
                    for ranks in first_ranks:
                        row["equal_accuracy"][f"ratio_{ranks}rank"] = round(
                            row[f"ours_{ranks}rank_s"] / tf["seconds"], 3
                        )
                row["load_after_taufactor"] = round(os.getloadavg()[0], 2)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
