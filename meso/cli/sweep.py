"""`meso sweep SWEEP.toml`: a resumable parameter sweep of synthetic volumes (serial, processes or MPI groups)."""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path

from meso.cli.common import progress_bar
from meso.errors import InputError
from meso.studies.grid import Sweep, load_sweep

EXAMPLE = """\
[sweep]
shape = 32                  # voxels per side (or [nx, ny, nz])
voxel_size_um = 0.5
porosity = [0.02, 0.08]     # a list is a grid dimension, a number is held fixed
grain_size_um = [3.0, 5.0]
pore_size_um = 1.5
seeds = [1, 2]
physics = ["conduction"]    # and/or "elasticity"
axes = "x,y,z"
# optional: method = "fv" | "fe" (conduction), materials = "file.toml", strain = 1e-3,
# pore_size_std_um, gb_thickness_voxels (may be lists), pore_placement, anisotropy,
# seed_process (as for `meso synth`)"""


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "sweep",
        help="resumable parameter sweep over porosity, grain size, pore size and seeds",
        description="Generate one synthetic volume per grid point and seed (`meso synth`), solve "
        "conduction and/or elasticity along each axis and collect M into DIR (--out, default "
        "sweep-out). Each case is a folder DIR/cases/<id>/ (case.json with parameters, measured statistics and M; "
        "conduction.json / elasticity.json), written whole; DIR/results.csv has one row per "
        "case, physics and axis, DIR/summary.csv the mean, std and 95% interval over seeds. "
        "Rerunning the same command skips finished cases and runs the rest (failed ones "
        "again); a changed TOML in an existing DIR is refused. Exit code 1 when a case "
        "failed (its error is in its case.json and summary.json).\n\nSWEEP.toml:\n\n" + EXAMPLE,
        epilog="examples: meso sweep sweep.toml --out sweep-out --workers 2\n"
        "mpirun -n 8 meso sweep sweep.toml --out sweep-out --ranks-per-case 2 (as root: "
        "mpirun --allow-run-as-root -n 8 ...)\n"
        "meso sweep sweep.toml --list\nmeso sweep sweep.toml --out sweep-out --case 3",
    )
    parser.add_argument("config", metavar="SWEEP.toml", help="the sweep's grid (see above)")
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="run N cases at once in separate processes (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--ranks-per-case", type=int, default=1, metavar="K",
        help="under `mpirun -n P`: P/K groups of K ranks, each solving one case at a time, "
        "cases handed out by rank 0 as groups finish (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--list", action="store_true",
        help="print the case ids (one per line, in order; --case takes an id or its 0-based "
        "position) and exit",
    )  # fmt: skip
    parser.add_argument(
        "--case", action="append", metavar="I",
        help="run only this case (id or 0-based position, e.g. $SLURM_ARRAY_TASK_ID); may be "
        "repeated; results.csv and summary.csv still cover every finished case",
    )  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def measured_statistics(m) -> dict:
    """The measured porosity, grain size and pore size of a generated volume (results.csv)."""
    import synth

    stats = synth.measure(m)
    return {"porosity": stats.porosity, "grain_size_um": stats.mean_grain_intercept_um,
            "pore_size_um": stats.mean_pore_equivalent_diameter_um,
            "grain_boundary_fraction": stats.grain_boundary_volume_fraction}  # fmt: skip


def check_cases(sweep: Sweep) -> None:
    """The generator's own checks on every case, before any work (InputError naming the file
    and the case)."""
    import synth
    from synth.generate import check_parameters

    defaults = inspect.signature(synth.generate)
    names = inspect.signature(check_parameters).parameters
    for case in sweep.cases:
        bound = defaults.bind(**case.generator)
        bound.apply_defaults()
        try:
            check_parameters(**{k: v for k, v in bound.arguments.items() if k in names})
        except InputError as exc:
            raise InputError(sweep.source, f"case {case.id}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.config)
    check_cases(sweep)
    if args.list:
        print("\n".join(c.id for c in sweep.cases))
        return 0
    only = [sweep.case(key) for key in args.case] if args.case else None
    from mpi4py import MPI

    import synth
    from meso.studies.runner import run_sweep

    comm = MPI.COMM_WORLD
    out = Path(args.out or "sweep-out")
    selection = only if only is not None else sweep.cases
    with progress_bar(args, len(selection), "sweep", comm.rank) as bar:
        ran, document = run_sweep(sweep, out, generate=synth.generate, measure=measured_statistics,
                                  only=only, workers=args.workers,
                                  ranks_per_case=args.ranks_per_case, comm=comm,
                                  progress=bar)  # fmt: skip
    selected = {c.id for c in selection}
    failed = {k: v for k, v in document["failed"].items() if k in selected}
    if comm.rank == 0 and not args.quiet:
        print(json.dumps({"cases": len(selection), "ran": len(ran.ran),
                          "finished_before": len(ran.skipped), "failed": sorted(failed),
                          "wall_seconds": round(ran.wall_seconds, 2), "out": str(out)}))  # fmt: skip
    if failed:
        if comm.rank == 0:
            print(f"meso sweep: {len(failed)} case(s) failed: {', '.join(sorted(failed))} "
                  f"(errors in {out}/summary.json and each case.json; rerun to retry them)")  # fmt: skip
        return 1
    return 0
