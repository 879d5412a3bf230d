"""`meso conduct VOL`: ionic conductivity microstructure factors M_x, M_y, M_z (FEniCSx)."""

from __future__ import annotations

import argparse
import json

from meso.atomic import write_csv, write_json
from meso.cli.common import (
    add_solver_arguments,
    add_volume_arguments,
    load_volume,
    output_dir,
    parse_axes,
    progress_bar,
)
from meso.materials import load_materials


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "conduct",
        help="ionic conductivity microstructure factors M_x, M_y, M_z",
        description="Solve steady ionic conduction across the volume along each axis (1 V between "
        "the two faces normal to it, the other faces insulated) and report M = sigma_eff / "
        "sigma_grain, the tortuosity factor eps / M and solver statistics. Pores and solid "
        "clusters that do not connect the two faces are left out; a volume with no connecting "
        "path gives M = 0 and percolating = false. Runs in parallel under `mpirun -n N meso "
        "conduct ...`. Exit code 1 if a solve did not converge (its M is null in the JSON).",
        epilog="example: meso conduct vol.npz --axes x,y,z --method both --out results",
    )
    add_volume_arguments(parser)
    add_solver_arguments(parser)
    parser.add_argument(
        "--method",
        choices=["fv", "fe", "both"],
        default="fv",
        help="fv: cell-centred finite volumes (TauFactor's scheme); fe: Q1 finite elements; "
        "both: report both and their difference (default fv)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    # DOLFINx and MPI are imported here, not at module level, to keep `meso --help` fast
    from mpi4py import MPI

    from meso.conduction import conduct

    comm = MPI.COMM_WORLD
    axes = parse_axes(args.axes)
    m = load_volume(args)
    m.require_solid()
    materials = load_materials(args.materials)
    out = output_dir(args, "conduct-out", (args.volume,)) if comm.rank == 0 else None
    out = comm.bcast(out, root=0)
    steps = len(axes) * (2 if args.method == "both" else 1)
    with progress_bar(args, steps, "conduct", comm.rank) as bar:
        result = conduct(
            m,
            axes=axes,
            method=args.method,
            materials=materials,
            comm=comm,
            fields_dir=out / "fields" if args.fields else None,
            progress=bar,
        )
    if comm.rank != 0:
        return 0 if all(r.converged for e in result.axes.values() for r in e.values()) else 1
    document = result.to_json()
    document["file"] = str(args.volume)
    document["materials"] = materials.source
    write_json(out / "conduction.json", document)
    write_csv(out / "conduction.csv", result.rows())
    if not args.quiet:
        summary = {axis: entry["M"] for axis, entry in document["axes"].items()}
        print(json.dumps({"M": summary, "out": str(out)}))
    failed = [f"{r.method} {r.axis}" for e in result.axes.values() for r in e.values()
              if not r.converged]  # fmt: skip
    if failed:
        print(f"meso conduct: solver did not converge for {', '.join(failed)}")
        return 1
    return 0
