"""`meso synth`: a synthetic LLZO microstructure from porosity, pore size and grain size, or a twin of VOL."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from meso.cli.common import (
    SHAPE_HELP,
    add_shape_argument,
    float_range,
    non_negative_float,
    non_negative_int,
    output_dir,
    positive_float,
)
from meso.errors import InputError
from meso.io.atomic import atomic_path, write_csv, write_json
from meso.io.staging import stage
from meso.io.volumes import FORMATS, load, save
from meso.microstructure import Microstructure

GENERATE_ONLY = ("porosity", "pore_size", "pore_size_std", "anisotropy", "seed_process")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "synth",
        help="synthetic grains + grain boundaries + pores from porosity, pore and grain size",
        description="Generate a synthetic LLZO volume (labels 0 pore, 1 grain, 2 grain boundary): "
        "Voronoi grains with the requested mean linear intercept, boundaries of the requested "
        "thickness, and pores with the requested mean equivalent diameter filled to the exact "
        "porosity. With --twin VOL, measure VOL and generate an isotropic volume that matches "
        "its porosity, pore size and grain size. Writes the volume, synth.json and synth.csv "
        "(requested vs measured), synth_slices.png and synth_geometry.npz (seeds, pores).",
        epilog="example: meso synth --shape 128 --voxel-size 1 --porosity 0.05 --pore-size 3 "
        "--grain-size 10 --seed 1 --out vol.npz\n"
        "example: meso synth --shape 64,64,128 --porosity 0.1 --pore-size 2 --grain-size 6 "
        "--out tall\n"
        "example: meso synth --twin tomo.npz --grain-size 8 --out twin",
    )
    required = parser.add_argument_group("required (unless --twin VOL)")
    add_shape_argument(required, help=f"{SHAPE_HELP}; with --twin: default the twin's shape")
    required.add_argument(
        "--porosity", type=float_range(0.0, 0.9), metavar="P", help="pore volume fraction, 0..0.9"
    )
    required.add_argument(
        "--pore-size", type=positive_float, metavar="UM", help="mean pore equivalent diameter"
    )
    required.add_argument(
        "--grain-size", type=positive_float, metavar="UM",
        help="mean linear intercept of the grains (with --twin: measured unless given)",
    )  # fmt: skip
    parser.add_argument(
        "--voxel-size", type=positive_float, metavar="UM",
        help="voxel edge in um (default 1; with --twin: the twin's)",
    )  # fmt: skip
    parser.add_argument(
        "--pore-size-std", type=non_negative_float, metavar="UM",
        help="pore diameter standard deviation (default: the mean / 4)",
    )  # fmt: skip
    parser.add_argument(
        "--gb-thickness", type=non_negative_float, metavar="VOXELS",
        help="grain-boundary thickness, 0 (none) or >= 1 (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--pore-placement", choices=["random", "boundaries", "triple_junctions"], default="random",
        help="where pores sit: anywhere, on grain boundaries or at triple junctions "
        "(default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--anisotropy", type=positive_float, nargs=3, metavar=("AX", "AY", "AZ"),
        help="stretch factors of grains and pores along x, y, z, volume preserved "
        "(default 1 1 1: isotropic)",
    )  # fmt: skip
    parser.add_argument(
        "--seed-process", choices=["hardcore", "poisson"],
        help="grain seeds: hard-core (regular grain sizes) or Poisson (wider spread) "
        "(default hardcore)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="random seed (default %(default)s)"
    )
    parser.add_argument("--twin", metavar="VOL", help="match the statistics of this volume")
    parser.add_argument("--dataset", metavar="PATH", help="array inside the --twin file")
    parser.add_argument(
        "--format", default=".npz", choices=FORMATS,
        help="volume format when --out is a folder (default %(default)s)",
    )  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def _destination(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """(folder to write into, volume path to write, the volume's final path): --out may name
    the volume file itself or a folder; both are written under a staging folder."""
    if args.out and Path(args.out).suffix.lower() in FORMATS:
        volume = Path(args.out)
        if args.twin and volume.resolve() == Path(args.twin).resolve():
            raise InputError(volume, "--out would overwrite the --twin input volume")
        folder = stage(volume.parent)  # moved into place when the command succeeds
        return folder, folder / volume.name, volume
    folder = output_dir(args, "synth-out", (args.twin,) if args.twin else ())
    name = f"synth{args.format}"
    return folder, folder / name, Path(args.out or "synth-out") / name


def _slices_png(m: Microstructure, path: Path) -> None:
    """Three orthogonal mid slices of the label volume, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from meso.io.figures import show_plane

    colours = ListedColormap(["#000000", "#c9c9c9", "#d62728"])
    nx, ny, nz = m.shape
    h = m.voxel_size_um
    views = [
        (m.labels[nx // 2, :, :], f"x = {(nx // 2 + 0.5) * h:.3g} um", ("y", "z")),
        (m.labels[:, ny // 2, :], f"y = {(ny // 2 + 0.5) * h:.3g} um", ("x", "z")),
        (m.labels[:, :, nz // 2], f"z = {(nz // 2 + 0.5) * h:.3g} um", ("x", "y")),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), constrained_layout=True)
    for ax, (image, title, names) in zip(axes, views, strict=True):
        shown = show_plane(ax, np.minimum(image, 2).astype(float), names, h,
                           "phase: 0 pore, 1 grain, 2 boundary", cmap=colours, vmin=-0.5,
                           vmax=2.5)  # fmt: skip
        shown.colorbar.set_ticks([0, 1, 2])
        ax.set_title(f"mid slice {title}")
    fig.suptitle(f"black pore, grey grain, red grain boundary; voxel {m.voxel_size_um:g} um")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from synth import generate, measure, twin
    from synth.generate import check_parameters
    from synth.grains import voronoi_intercepts
    from synth.measure import compare, expected_statistics

    start = time.perf_counter()
    progress = not args.quiet
    shape = args.shape  # (nx, ny, nz) or None
    if args.twin:
        given = [f"--{n.replace('_', '-')}" for n in GENERATE_ONLY if getattr(args, n) is not None]
        if given:
            raise InputError(given[0], "is measured from VOL with --twin; leave it out")
        source = load(args.twin, dataset=args.dataset, voxel_size_um=args.voxel_size)
        folder, volume_path, final_volume = _destination(args)
        m, geometry = twin(
            source,
            grain_size_um=args.grain_size,
            gb_thickness_voxels=args.gb_thickness,
            shape=shape,
            pore_placement=args.pore_placement,
            seed=args.seed,
            return_geometry=True,
            progress=progress,
        )
        requested = m.metadata["twin_target"]
    else:
        for name in ("shape", "porosity", "pore_size", "grain_size"):
            if getattr(args, name) is None:
                raise InputError(f"--{name.replace('_', '-')}", "is required (or use --twin VOL)")
        parameters = dict(
            shape=shape,
            voxel_size_um=1.0 if args.voxel_size is None else args.voxel_size,
            porosity=args.porosity,
            pore_size_um=args.pore_size,
            grain_size_um=args.grain_size,
            pore_size_std_um=args.pore_size_std,
            gb_thickness_voxels=1.0 if args.gb_thickness is None else args.gb_thickness,
            pore_placement=args.pore_placement,
            anisotropy=tuple(args.anisotropy or (1.0, 1.0, 1.0)),
            seed_process=args.seed_process or "hardcore",
            seed=args.seed,
        )
        check_parameters(**parameters)  # bad input stops before any folder is made
        folder, volume_path, final_volume = _destination(args)
        m, geometry = generate(**parameters, return_geometry=True, progress=progress)
        requested = expected_statistics(m.metadata["parameters"])
    stats = measure(m)
    rows = compare(requested, stats)
    save(m, volume_path)
    geometry.save(folder / "synth_geometry.npz")
    _slices_png(m, folder / "synth_slices.png")
    write_csv(folder / "synth.csv", rows)
    report = {
        "mode": "twin" if args.twin else "generate",
        "volume": str(final_volume),
        "twin_of": str(args.twin) if args.twin else None,
        "shape": list(m.shape),
        "voxel_size_um": m.voxel_size_um,
        "seed": m.metadata["seed"],
        "parameters": m.metadata["parameters"],
        "requested": requested,
        "measured": stats.to_dict(),
        "comparison": rows,
        "volume_fractions": m.volume_fractions(),
        # The Voronoi tessellation itself, before boundaries and pores: pores placed on
        # boundaries remove boundary area, so the measured intercept can exceed this one.
        "tessellation_grain_intercept_um": dict(
            zip(
                "xyz",
                (voronoi_intercepts(geometry.grain_ids) * m.voxel_size_um).tolist(),
                strict=True,
            )
        ),
        "grain_seed_count": m.metadata["grain_seed_count"],
        "wall_seconds": time.perf_counter() - start,
    }
    write_json(folder / "synth.json", report)
    if progress:
        for row in rows:
            got = row["measured"]
            text = f"{got:.4g}" if isinstance(got, float) else str(got)
            print(f"{row['quantity']:<40} requested {row['requested']:<10.4g} measured {text}")
        print(
            f"wrote {final_volume} and synth.json, synth.csv, synth_slices.png in "
            f"{final_volume.parent}"
        )
    return 0
