"""`meso info VOL`: shape, voxel size, phases and volume fractions of a label volume."""

from __future__ import annotations

import argparse
import json

from meso.cli.common import add_volume_arguments, load_volume


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "info",
        help="describe a label volume (shape, voxel size, volume fractions)",
        description="Read a label volume and print what the solvers will see: shape (x, y, z), "
        "voxel size in um, phases present and their volume fractions, as JSON.",
        epilog="example: meso info vol.npz",
    )
    add_volume_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    m = load_volume(args)
    summary = {
        "file": args.volume,
        "shape": list(m.shape),
        "voxel_size_um": m.voxel_size_um,
        "size_um": [n * m.voxel_size_um for n in m.shape],
        "cell_axis": m.cell_axis,
        "volume_fractions": m.volume_fractions(),
        "metadata": {k: v for k, v in m.metadata.items() if k != "source"},
    }
    print(json.dumps(summary, indent=2, default=str))
    return 0
