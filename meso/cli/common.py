"""Arguments and helpers shared by the subcommands: reading VOL, choosing the output folder."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from meso.errors import InputError
from meso.io.staging import stage
from meso.io.volumes import FORMATS, load
from meso.microstructure import AXES, Microstructure

# Checked argument types (argparse `type=`): a bad value stops at parsing, before any work, with
# the one-line error "meso CMD: error: --option: problem" and exit code 2 (meso.cli.MesoParser).


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def finite_float(text: str) -> float:
    """Any finite number (no nan, no inf)."""
    return _number(text)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def float_range(low: float, high: float, *, high_open: bool = False) -> Callable[[str], float]:
    """A type for a finite number in [low, high] ([low, high) with `high_open`)."""
    bracket = ")" if high_open else "]"

    def parse(text: str) -> float:
        value = _number(text)
        if not low <= value <= high or (high_open and value == high):
            raise argparse.ArgumentTypeError(f"must lie in [{low:g}, {high:g}{bracket}, got {text}")
        return value

    parse.__name__ = f"number in [{low:g}, {high:g}{bracket}"
    return parse


fraction = float_range(0.0, 1.0)
"""A type for a number in [0, 1]."""


def at_least(low: float) -> Callable[[str], float]:
    """A type for a finite number >= low."""

    def parse(text: str) -> float:
        value = _number(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low:g}, got {text}")
        return value

    parse.__name__ = f"number >= {low:g}"
    return parse


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def axes_list(text: str) -> str:
    """--axes: distinct directions among x, y, z, comma-separated; returned as "x,z"."""
    try:
        return ",".join(parse_axes(text))
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


SHAPE_METAVAR = "N|NX,NY,NZ"
SHAPE_HELP = "voxels: N for a cube or NX,NY,NZ (NX NY NZ is read the same)"


def _shape_numbers(text: str) -> list[int]:
    numbers = [_integer(part) for part in text.split(",")]
    if min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"voxel counts must be positive, got {text!r}")
    return numbers


class ShapeAction(argparse.Action):
    """--shape N | NX,NY,NZ (or NX NY NZ): stored as a tuple of three positive voxel counts."""

    def __call__(self, parser, namespace, values, option_string=None):
        numbers = [n for value in values for n in value]
        if len(numbers) not in (1, 3):
            raise argparse.ArgumentError(self, f"give N or NX,NY,NZ, got {len(numbers)} numbers")
        setattr(namespace, self.dest, tuple(numbers * 3 if len(numbers) == 1 else numbers))


def add_shape_argument(parser, *, default: tuple[int, int, int] | None = None, help: str) -> None:
    """--shape, spelled the same in every command: N or NX,NY,NZ (also NX NY NZ)."""
    parser.add_argument("--shape", nargs="+", type=_shape_numbers, action=ShapeAction,
                        default=default, metavar=SHAPE_METAVAR, help=help)  # fmt: skip


def add_volume_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("volume", metavar="VOL", help=f"label volume ({', '.join(FORMATS)})")
    parser.add_argument(
        "--dataset", metavar="PATH", help="array inside an .h5/.npz/.vti file (default: labels)"
    )
    parser.add_argument(
        "--voxel-size",
        metavar="UM",
        type=finite_float,  # <= 0 is refused when VOL is read, naming the file (the README's rule)
        default=None,
        help="voxel edge in micrometres, > 0 (default: the file's value, else 1)",
    )


def load_volume(args: argparse.Namespace) -> Microstructure:
    """The label volume VOL, or the one a `meso synth` synth.json names."""
    path = Path(args.volume)
    if path.suffix.lower() == ".json":
        from meso.mesh.synth_files import read_synth_json, synth_volume_path

        path = synth_volume_path(path, read_synth_json(path))
    return load(path, dataset=args.dataset, voxel_size_um=args.voxel_size)


def output_dir(args: argparse.Namespace, default: str, inputs: tuple[str, ...] = ()) -> Path:
    """The folder to write results into (refusing one that is an input file): a staging folder
    whose files move into --out when the command succeeds (``meso.io.staging``)."""
    out = Path(args.out or default)
    for item in inputs:
        if Path(item).resolve() == out.resolve():
            raise InputError(out, "the output folder would overwrite an input file")
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    return stage(out)


def add_solver_arguments(parser: argparse.ArgumentParser) -> None:
    """--axes, --materials, --fields: shared by the commands that solve on a volume."""
    parser.add_argument(
        "--axes", default="x,y,z", metavar="x,y,z", type=axes_list,
        help="comma-separated directions to load/drive along (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--materials", metavar="FILE",
        help="phase properties TOML (default: LLZO values in meso/data/llzo.toml)",
    )  # fmt: skip
    parser.add_argument(
        "--fields", action="store_true",
        help="also write fields as XDMF (open in ParaView) and, on voxel meshes, a PNG of the "
        "mid-plane",
    )  # fmt: skip


def add_conforming_arguments(parser: argparse.ArgumentParser) -> None:
    """--size-um, --refine-pores, --smoothing, --cache-dir: how a conforming (gmsh) mesh is made."""
    parser.add_argument(
        # > 0 and <= the box: checked by the mesher before gmsh runs and before any output
        # (InputError "size_um: ..."), as tests/test_conforming_cli.py expects
        "--size-um", metavar="H", type=finite_float, default=None,
        help="conforming: element size in the bulk in um, > 0 (default two voxels)",
    )  # fmt: skip
    parser.add_argument(
        "--refine-pores", metavar="F", type=at_least(1.0), default=None,
        help="conforming: element size on pore walls = H / F, F >= 1 (default 2)",
    )  # fmt: skip
    parser.add_argument(
        "--smoothing", metavar="VOXELS", type=non_negative_float, default=None,
        help="conforming mesh of a label volume: Gaussian smoothing of the solid before its "
        "walls are extracted (default 0.5)",
    )  # fmt: skip
    parser.add_argument(
        "--cache-dir", metavar="DIR",
        help="conforming: keep gmsh meshes there, keyed by a hash of geometry and sizes, and "
        "reuse them (default $MESO_CACHE_DIR, else $XDG_CACHE_HOME/meso/meshes; 'none': off)",
    )  # fmt: skip


def add_mesh_arguments(parser: argparse.ArgumentParser) -> None:
    """--mesh voxel|conforming and the conforming options: shared by conduct and elastic."""
    parser.add_argument(
        "--mesh", choices=("voxel", "conforming"), default="voxel",
        help="voxel: one hexahedron per solid voxel; conforming: gmsh tetrahedra of the exact "
        "pores of a `meso synth` volume (its synth.json, given or beside VOL; grain boundaries "
        "as zero-thickness interfaces) or of a label volume's smoothed walls (default "
        "%(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--degree", type=int, choices=(1, 2), default=None,
        help="conforming: Lagrange degree; 2 also curves the tetrahedra on exact pores "
        "(default 1)",
    )  # fmt: skip
    add_conforming_arguments(parser)


def check_mesh_arguments(args: argparse.Namespace, voxel_only: dict[str, object]) -> None:
    """InputError for conforming options with --mesh voxel, or `voxel_only` ones (option ->
    value, None when not given) with --mesh conforming."""
    if args.mesh == "conforming":
        given = [option for option, value in voxel_only.items() if value is not None]
        if given:
            raise InputError(given[0], "applies to --mesh voxel only")
        return
    conforming = {"--size-um": args.size_um, "--refine-pores": args.refine_pores,
                  "--smoothing": args.smoothing, "--cache-dir": args.cache_dir,
                  "--degree": args.degree}  # fmt: skip
    for option, value in conforming.items():
        if value is not None:
            raise InputError(option, "applies to --mesh conforming only")


def mesh_cache_dir(args: argparse.Namespace) -> Path | None:
    """--cache-dir, else $MESO_CACHE_DIR, else $XDG_CACHE_HOME/meso/meshes (~/.cache); None
    for 'none'."""
    chosen = args.cache_dir or os.environ.get("MESO_CACHE_DIR")
    if chosen is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        chosen = Path(base) / "meso" / "meshes"
    return None if str(chosen).lower() == "none" else Path(chosen)


def build_conforming(args: argparse.Namespace, comm, materials=None):
    """The conforming mesh of VOL|SYNTH.json from the --mesh options: (ConformingSource,
    ConformingMesh, grain-boundary ASR or None); `materials` for conduction (grain-boundary
    interfaces, ``meso.mesh.sources.mesh_source``)."""
    from meso.mesh.sources import conforming_source, mesh_source

    source = conforming_source(args.volume, args.dataset, args.voxel_size)
    cache = mesh_cache_dir(args) if comm.rank == 0 else None
    cm, asr = mesh_source(source, materials, degree=args.degree or 1, size_um=args.size_um,
                          refine_pores=args.refine_pores, smoothing_voxels=args.smoothing,
                          cache_dir=cache, comm=comm)  # fmt: skip
    return source, cm, asr


def conforming_report(source, cm, degree: int) -> dict:
    """What conduction.json / elasticity.json add for a conforming mesh."""
    info = {k: v for k, v in cm.info.items() if k != "grain_boundaries"}
    return {"mesh": "conforming", "degree": degree, "geometry_source": source.kind,
            "mesh_cells": cm.num_cells, "mesh_quality": cm.quality.to_json(), "gmsh": info,
            **({"grain_boundaries": cm.info["grain_boundaries"]}
               if "grain_boundaries" in cm.info else {})}  # fmt: skip


def parse_axes(text: str) -> list[str]:
    """ "x,z" -> ["x", "z"]; InputError for anything else."""
    axes = [a.strip().lower() for a in text.split(",") if a.strip()]
    if not axes or any(a not in AXES for a in axes) or len(set(axes)) != len(axes):
        raise InputError("--axes", f"expected distinct axes among x, y, z, got {text!r}")
    return axes


class ProgressBar:
    """A tqdm bar on stderr, used as the ``progress`` callable of the library (one step per
    call, the step's name shown beside the bar)."""

    def __init__(self, total: int, desc: str, disable: bool):
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=desc, delay=2, disable=disable)

    def __call__(self, step: str) -> None:
        self.bar.set_postfix_str(step, refresh=False)
        self.bar.update(1)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


def progress_bar(args: argparse.Namespace, total: int, desc: str, rank: int = 0) -> ProgressBar:
    """A bar that appears only for work longer than 2 s, never with --quiet or on MPI ranks
    other than 0 (and so never on a fast bad-input exit)."""
    return ProgressBar(total, desc, disable=args.quiet or rank != 0)
