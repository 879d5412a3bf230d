"""Arguments and helpers shared by the subcommands: reading VOL, choosing the output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from meso.errors import InputError
from meso.microstructure import AXES, Microstructure
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


def add_solver_arguments(parser: argparse.ArgumentParser) -> None:
    """--axes, --materials, --fields: shared by the commands that solve on a volume."""
    parser.add_argument(
        "--axes", default="x,y,z", metavar="x,y,z",
        help="comma-separated directions to load/drive along (default x,y,z)",
    )  # fmt: skip
    parser.add_argument(
        "--materials", metavar="FILE",
        help="phase properties TOML (default: LLZO values in meso/data/llzo.toml)",
    )  # fmt: skip
    parser.add_argument(
        "--fields", action="store_true",
        help="also write fields as XDMF (open in ParaView) and a PNG of the mid-plane",
    )  # fmt: skip


def parse_axes(text: str) -> list[str]:
    """ "x,z" -> ["x", "z"]; InputError for anything else."""
    axes = [a.strip().lower() for a in text.split(",") if a.strip()]
    if not axes or any(a not in AXES for a in axes) or len(set(axes)) != len(axes):
        raise InputError("--axes", f"expected distinct axes among x, y, z, got {text!r}")
    return axes


def progress_bar(args: argparse.Namespace, total: int, desc: str, rank: int = 0):
    """A tqdm bar on stderr that appears only for work longer than 2 s, never with --quiet
    or on MPI ranks other than 0 (and so never on a fast bad-input exit)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, delay=2, disable=args.quiet or rank != 0)
