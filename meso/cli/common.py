"""Arguments and helpers shared by the subcommands: reading VOL, choosing the output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from meso.errors import InputError
from meso.microstructure import Microstructure
from meso.volume_io import FORMATS, load


def add_volume_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("volume", metavar="VOL", help=f"label volume ({', '.join(FORMATS)})")
    parser.add_argument(
        "--dataset", metavar="PATH", help="array inside an .h5/.npz/.vti file (default: labels)"
    )
    parser.add_argument(
        "--voxel-size",
        metavar="UM",
        type=float,
        default=None,
        help="voxel edge in micrometres (default: the file's value, else 1)",
    )


def load_volume(args: argparse.Namespace) -> Microstructure:
    return load(args.volume, dataset=args.dataset, voxel_size_um=args.voxel_size)


def output_dir(args: argparse.Namespace, default: str, inputs: tuple[str, ...] = ()) -> Path:
    """The folder results go to (created); refuse one that is an input file."""
    out = Path(args.out or default)
    for item in inputs:
        if Path(item).resolve() == out.resolve():
            raise InputError(out, "the output folder would overwrite an input file")
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out
