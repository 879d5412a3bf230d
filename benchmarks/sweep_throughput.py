"""Sweep throughput: cases per hour with 1 and 2 worker processes, and the parallel efficiency.

Each configuration (shape, physics) runs the same small sweep (porosity 0.05, pore size 2 um,
grain size 4 um at 0.5 um voxels, `--cases` seeds, all three axes) once with ``workers=1`` and
once with ``workers=2`` (``meso.studies.runner.run_sweep``, exactly what `meso sweep --workers`
runs, worker start-up included), each into a fresh folder. Efficiency = (t1 / t2) / 2.

    python benchmarks/sweep_throughput.py --shape 64 128 --physics conduction elasticity
    python benchmarks/sweep_throughput.py --shape 64 --physics conduction --cases 4 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from mpi4py import MPI

import synth
from meso.cli.sweep import measured_statistics
from meso.studies.grid import parse_sweep
from meso.studies.runner import run_sweep

TEMPLATE = """[sweep]
shape = {shape}
voxel_size_um = 0.5
porosity = 0.05
grain_size_um = 4.0
pore_size_um = 2.0
seeds = {seeds}
physics = ["{physics}"]
axes = "{axes}"
"""


def measure(shape: int, physics: str, cases: int, workers: int, axes: str) -> dict:
    sweep = parse_sweep(TEMPLATE.format(shape=shape, physics=physics, axes=axes,
                                        seeds=list(range(1, cases + 1))))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as folder:
        start = time.perf_counter()
        run, document = run_sweep(sweep, Path(folder) / "out", generate=synth.generate,
                                  measure=measured_statistics, workers=workers,
                                  comm=MPI.COMM_SELF)  # fmt: skip
        seconds = time.perf_counter() - start
    assert not document["failed"], document["failed"]
    per_case = [o.seconds for o in run.ran]
    return {"shape": shape, "physics": physics, "axes": axes, "cases": cases, "workers": workers,
            "wall_seconds": seconds, "cases_per_hour": cases * 3600.0 / seconds,
            "mean_case_seconds": sum(per_case) / len(per_case)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--physics", nargs="+", default=["conduction", "elasticity"])
    parser.add_argument("--cases", type=int, default=4, help="seeds per configuration")
    parser.add_argument("--axes", default="x,y,z")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for shape in args.shape:
        for physics in args.physics:
            pair = [measure(shape, physics, args.cases, w, args.axes) for w in (1, 2)]
            efficiency = pair[0]["wall_seconds"] / pair[1]["wall_seconds"] / 2
            for row in pair:
                row["efficiency_2_vs_1"] = efficiency
                row["load_average"] = os.getloadavg()[0]
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| N^3 | physics | cases | 1 worker: cases/h | 2 workers: cases/h | efficiency |")
    print("|---|---|---|---|---|---|")
    for one, two in zip(rows[::2], rows[1::2], strict=True):
        print(
            f"| {one['shape']} | {one['physics']} | {one['cases']} | {one['cases_per_hour']:.0f} "
            f"| {two['cases_per_hour']:.0f} | {one['efficiency_2_vs_1']:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
