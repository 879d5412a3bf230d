"""`meso conduct VOL`: ionic conductivity microstructure factors M_x, M_y, M_z (FEniCSx)."""

from __future__ import annotations

import argparse
import json

from mpi4py import MPI
from tqdm import tqdm

from meso.atomic import write_csv, write_json
from meso.cli.common import add_volume_arguments, load_volume, output_dir
from meso.conduction import conduct
from meso.errors import InputError
from meso.materials import load_materials
from meso.microstructure import AXES, axis_index


def parse_axes(text: str) -> list[str]:
    """ "x,z" -> ["x", "z"]; InputError naming --axes otherwise."""
    try:
        axes = [AXES[axis_index(part.strip())] for part in text.split(",") if part.strip()]
    except InputError:
        raise InputError("--axes", f"expected a comma list of x, y, z; got {text!r}") from None
    if not axes or len(set(axes)) != len(axes):
        raise InputError("--axes", f"expected distinct axes from x, y, z; got {text!r}")
    return axes


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
    parser.add_argument("--axes", default="x,y,z", help="axes to solve along (default x,y,z)")
    parser.add_argument("--materials", metavar="FILE", help="materials TOML (default: LLZO)")
    parser.add_argument(
        "--method",
        choices=["fv", "fe", "both"],
        default="fv",
        help="fv: cell-centred finite volumes (TauFactor's scheme); fe: Q1 finite elements; "
        "both: report both and their difference (default fv)",
    )
    parser.add_argument(
        "--fields",
        action="store_true",
        help="also write potential and current density (XDMF) and a mid-plane PNG per solve",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    comm = MPI.COMM_WORLD
    axes = parse_axes(args.axes)
    m = load_volume(args)
    m.require_solid()
    materials = load_materials(args.materials)
    out = output_dir(args, "conduct-out", (args.volume,)) if comm.rank == 0 else None
    out = comm.bcast(out, root=0)
    steps = len(axes) * (2 if args.method == "both" else 1)
    with tqdm(
        total=steps, desc="conduct", unit="solve", disable=args.quiet or comm.rank != 0
    ) as bar:
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
