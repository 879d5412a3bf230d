"""`meso compare VOL...`: M per axis and along the cell axis of label volumes against isotropic synthetic twins."""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

from meso.cli.common import output_dir, parse_axes, progress_bar
from meso.errors import InputError
from meso.io.atomic import write_csv, write_json
from meso.io.volumes import FORMATS, load
from meso.materials import load_materials
from meso.microstructure import AXES
from meso.studies.grid import PHYSICS


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "compare",
        help="tomography vs isotropic twins: M per axis, anisotropy, windows along the cell axis",
        description="For each label volume (e.g. one segmented tomogram per cycling step) and "
        "N isotropic synthetic twins of it (`meso synth --twin`: same porosity, pore size and "
        "grain size), solve M along each axis on the whole volume and on windows marched along "
        "the cell axis. Writes into --out (default compare-out) compare.json (per volume and "
        "twin: M of the whole volume, mean / min / max / std over windows per axis, the "
        "anisotropy index max(M) / min(M) - 1, and "
        "the volume's index against its twins'), compare.csv (one row per volume, region and "
        "axis) and compare.png (mean and min-max over windows per axis, volume vs twins, "
        "volume by volume: the study's Figure 4d). Windows and volumes are independent solves "
        "run on --workers processes or, under mpirun, on groups of --ranks-per-case ranks.",
        epilog="examples: meso compare step_00.npz step_01.npz --twins 3 --window-um 10 --out "
        "compare-out\nmeso compare tomo.h5 --grain-size 4 --physics conduction,elasticity "
        "--workers 2\nmpirun -n 4 meso compare step_*.npz --ranks-per-case 2 (as root: mpirun "
        "--allow-run-as-root -n 4 ...)",
    )
    parser.add_argument(
        "volumes", metavar="VOL", nargs="+", help=f"label volumes ({', '.join(FORMATS)})"
    )
    parser.add_argument("--dataset", metavar="PATH", help="array inside .h5/.npz/.vti files")
    parser.add_argument("--voxel-size", metavar="UM", type=float, default=None,
                        help="voxel edge in um (default: each file's value, else 1)")  # fmt: skip
    parser.add_argument("--twins", type=int, default=3, metavar="N",
                        help="isotropic twins per volume, seeds 1..N (default 3)")  # fmt: skip
    parser.add_argument("--window-um", type=float, default=None, metavar="W",
                        help="window width along the cell axis in um (default: a quarter of "
                        "the volume's length)")  # fmt: skip
    parser.add_argument("--physics", default="conduction", metavar="LIST",
                        help="conduction and/or elasticity, comma-separated (default "
                        "conduction)")  # fmt: skip
    parser.add_argument("--axes", default="x,y,z", metavar="x,y,z",
                        help="directions to solve along (default x,y,z)")  # fmt: skip
    parser.add_argument("--method", choices=("fv", "fe"), default="fv",
                        help="conduction discretisation (default fv)")  # fmt: skip
    parser.add_argument("--materials", metavar="FILE",
                        help="phase properties TOML (default: meso/data/llzo.toml)")  # fmt: skip
    parser.add_argument("--grain-size", type=float, default=None, metavar="UM",
                        help="grain size of the twins (needed when a volume has no grain-"
                        "boundary phase; default: measured)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="solve N windows at once in separate processes (default 1)")  # fmt: skip
    parser.add_argument("--ranks-per-case", type=int, default=1, metavar="K",
                        help="under `mpirun -n P`: P/K groups of K ranks (default 1)")  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def make_twin(m, seed: int, grain_size_um: float | None = None):
    """An isotropic twin of `m` (``synth.twin``) with this seed."""
    import synth

    return synth.twin(m, seed=seed, grain_size_um=grain_size_um)


def _labels(paths: list[str]) -> list[str]:
    stems = [Path(p).stem for p in paths]
    return stems if len(set(stems)) == len(stems) else [str(p) for p in paths]


def run(args: argparse.Namespace) -> int:
    physics = [p.strip().lower() for p in args.physics.split(",") if p.strip()]
    if not physics or any(p not in PHYSICS for p in physics) or len(set(physics)) != len(physics):
        raise InputError(
            "--physics", f"expected names among {', '.join(PHYSICS)}, got {args.physics!r}"
        )
    axes = parse_axes(args.axes)
    if args.twins < 0:
        raise InputError("--twins", f"must be >= 0, got {args.twins}")
    if args.window_um is not None and not args.window_um > 0:
        raise InputError("--window-um", f"must be > 0, got {args.window_um}")
    if args.grain_size is not None and not args.grain_size > 0:
        raise InputError("--grain-size", f"must be > 0, got {args.grain_size}")
    materials = load_materials(args.materials)
    volumes = []
    for path, label in zip(args.volumes, _labels(args.volumes), strict=True):
        m = load(path, dataset=args.dataset, voxel_size_um=args.voxel_size)
        m.require_solid()
        volumes.append((label, m))
    from mpi4py import MPI

    from meso.studies.compare import compare, compare_rows, window_bounds
    from meso.studies.parallel import check_parallel
    from meso.studies.plots import compare_figure

    comm = MPI.COMM_WORLD
    check_parallel(comm, args.workers, args.ranks_per_case)
    out = output_dir(args, "compare-out", tuple(args.volumes)) if comm.rank == 0 else None
    out = comm.bcast(out, root=0)
    twin = functools.partial(make_twin, grain_size_um=args.grain_size)
    steps = 0
    for _, m in volumes:
        cell = AXES.index(m.cell_axis)
        width = round((args.window_um or m.shape[cell] * m.voxel_size_um / 4) / m.voxel_size_um)
        steps += args.twins + (args.twins + 1) * (
            1 + len(window_bounds(m.shape[cell], max(1, width)))
        )
    with progress_bar(args, steps, "compare", comm.rank) as bar:
        document = compare(volumes, make_twin=twin, twins=args.twins, window_um=args.window_um,
                           physics=physics, axes=axes, method=args.method, materials=materials,
                           workers=args.workers, ranks_per_case=args.ranks_per_case, comm=comm,
                           progress=bar)  # fmt: skip
    if comm.rank != 0:
        return 0
    document["files"] = list(args.volumes)
    document["materials"] = materials.source
    write_json(out / "compare.json", document)
    write_csv(out / "compare.csv", compare_rows(document))
    compare_figure(document, out / "compare.png")
    if not args.quiet:
        brief = {row["volume"]: {p: {"anisotropy_index": v["anisotropy_index"],
                                     "twins_mean": v["twins_anisotropy_index"]["mean"]}
                                 for p, v in row["physics"].items()}
                 for row in document["summary"]}  # fmt: skip
        print(json.dumps({"anisotropy_index": brief, "out": args.out or "compare-out"}))
    return 0
