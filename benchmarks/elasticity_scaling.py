"""Elasticity solve time, iterations, DOFs and peak memory vs volume size and MPI ranks, with the
conduction (fv) solve on the same volume measured in the same run.

    .venv/bin/python benchmarks/elasticity_scaling.py [--sizes 64 96 128] [--ranks 1 2]

Each case runs in its own `mpirun` process so that its peak memory (max RSS summed over ranks)
is its own. Goal (issue #5): 128^3 with three axes under 10 minutes and 10 GB on 2 cores; two
ranks at least 1.7x faster than one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


def volume(n: int):
    """A reproducible 5%-porosity LLZO volume (pores only, grain label 1) of n^3 voxels."""
    from synth import generate

    m = generate(n, 1.0, porosity=0.05, pore_size_um=4.0, grain_size_um=10.0, seed=7)
    return m.with_labels((m.labels != 0).astype("uint8"))


def worker(n: int, kind: str) -> None:
    from mpi4py import MPI

    from meso import conduct, elastic

    comm = MPI.COMM_WORLD
    m = volume(n) if comm.rank == 0 else None
    m = comm.bcast(m, root=0)
    start = time.perf_counter()
    if kind == "elastic":
        r = elastic(m, comm=comm)
        iterations = [a.iterations for a in r.axes.values()]
        values = {a: v.M for a, v in r.axes.items()}
        dofs = r.dofs
    else:
        r = conduct(m, method="fv", comm=comm)
        iterations = [e["fv"].iterations for e in r.axes.values()]
        values = {a: e["fv"].M for a, e in r.axes.items()}
        dofs = max(e["fv"].dofs for e in r.axes.values())
    wall = time.perf_counter() - start
    rss_mb = comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, MPI.SUM)
    if comm.rank == 0:
        print(json.dumps({"wall_s": wall, "iterations": iterations, "M": values,
                          "dofs": dofs, "peak_rss_mb": rss_mb}))  # fmt: skip


def run_case(n: int, kind: str, ranks: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_"))}
    proc = subprocess.run(
        [*MPIRUN, "-n", str(ranks), sys.executable, __file__, "--worker", str(n), kind],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {n}^3 on {ranks} ranks failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-conduct", action="store_true", help="skip the conduction run")
    parser.add_argument("--worker", nargs=2, metavar=("N", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(int(args.worker[0]), args.worker[1])
        return
    print(f"{'N^3':>5} {'ranks':>5} {'elastic s':>9} {'iters':>12} {'DOFs':>9} {'peak MB':>8} "
          f"{'conduct s':>9} {'el/cond':>7} {'M_E x':>7} {'M_sigma x':>9}")  # fmt: skip
    base: dict[int, float] = {}
    for n in args.sizes:
        for ranks in args.ranks:
            el = run_case(n, "elastic", ranks)
            co = {"wall_s": float("nan"), "M": {"x": float("nan")}}
            if not args.no_conduct:
                co = run_case(n, "conduct", ranks)
            base.setdefault(n, el["wall_s"])
            print(f"{n:>5} {ranks:>5} {el['wall_s']:>9.1f} {el['iterations']!s:>12} "
                  f"{el['dofs']:>9} {el['peak_rss_mb']:>8.0f} {co['wall_s']:>9.1f} "
                  f"{el['wall_s'] / co['wall_s']:>7.2f} {el['M']['x']:>7.4f} "
                  f"{co['M']['x']:>9.4f}   speed-up vs 1 rank: {base[n] / el['wall_s']:.2f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
