"""`meso quantify`: cycling steps -> electrode porosity, thickness and current-density maps, hot spots."""

from __future__ import annotations

import argparse
import json

from meso.cli.common import non_negative_float, positive_float


def _times(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated hours, got {text!r}") from None
    return values


def _layers(text: str) -> dict[str, list[int]]:
    try:
        z = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected six integers, got {text!r}") from None
    if len(z) != 6:
        raise argparse.ArgumentTypeError(f"expected six integers, got {len(z)}")
    c0, e0, p0, p1, e1, c1 = z
    return {
        "bottom_collector": [c0, e0], "bottom_electrode": [e0, p0], "pellet": [p0, p1],
        "top_electrode": [p1, e1], "top_collector": [e1, c1],
    }  # fmt: skip


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "quantify",
        help="electrode porosity, thickness and current-density maps, hot spots, electrolyte "
        "porosity over cycling steps",
        description="Quantify reconstructions of a Li|LLZO|Li cell over cycling steps, each step "
        "processed identically: collectors, electrodes and pellet along the cell axis per lateral "
        "position, sub-voxel electrode thickness maps, current-density maps j = (t2 - t1) F / "
        "(dt V_Li) in uA/cm^2 with hot and cold spots, electrode porosity near the interface and "
        "in depth with its modality (Gaussian mixture, BIC), pore-density maps, electrolyte porosity "
        "profile, sub-surface map, bulk vs interfacial, tortuosity-factor maps by meso.conduct "
        "over lateral windows marched along the cell axis. Writes DIR/quantify.json, "
        "quantify.h5, CSV tables and PNG figures.",
        epilog="example: meso quantify rec0.h5 rec1.h5 rec2.h5 --labels l0.h5 l1.h5 l2.h5 "
        "--times-hours 0,2,4 --out quant",
    )
    p.add_argument("steps", nargs="+", metavar="STEP",
                   help="reconstruction (.h5/.zarr from meso reconstruct) or label volume per "
                   "cycling step, in order")  # fmt: skip
    p.add_argument("--labels", nargs="+", metavar="LABELS",
                   help="segmented label volume per reconstruction (default: Otsu within the "
                   "detected regions)")  # fmt: skip
    p.add_argument("--times-hours", type=_times, metavar="T0,T1,...",
                   help="time of each step in hours (default: the files' metadata)")  # fmt: skip
    p.add_argument("--cell-axis", choices=["x", "y", "z"],
                   help="stacking direction (default: the labels' cell axis, else z)")  # fmt: skip
    p.add_argument("--voxel-size", type=positive_float, metavar="UM",
                   help="voxel edge in um (default: the files' value)")  # fmt: skip
    p.add_argument("--band-um", type=positive_float, default=10.0, metavar="UM",
                   help="electrode band next to the interface (default %(default)s)")  # fmt: skip
    p.add_argument("--depth-um", type=positive_float, default=500.0, metavar="UM",
                   help="depth of the pore-density average (default %(default)s)")  # fmt: skip
    p.add_argument("--bin-um", type=positive_float, default=10.0, metavar="UM",
                   help="electrode depth-profile bins (default %(default)s)")  # fmt: skip
    p.add_argument("--electrolyte-bin-um", type=positive_float, default=36.0, metavar="UM",
                   help="pellet profile bins (default %(default)s)")  # fmt: skip
    p.add_argument("--interface-um", type=positive_float, default=100.0, metavar="UM",
                   help="interfacial band of the pellet (default %(default)s)")  # fmt: skip
    p.add_argument("--hot-spot-std", type=non_negative_float, default=2.0, metavar="N",
                   help="spots beyond the mean |j| by N standard deviations (default "
                   "%(default)s)")  # fmt: skip
    p.add_argument("--hot-spot-min-area", type=non_negative_float, default=10.0, metavar="UM2",
                   help="smallest spot area in um^2 (default %(default)s)")  # fmt: skip
    p.add_argument("--hot-spot-smoothing-um", type=non_negative_float, default=1.0, metavar="UM",
                   help="lateral Gaussian smoothing of |j| before the spots are found, against "
                   "column-to-column noise (default %(default)s; 0 = none)")  # fmt: skip
    p.add_argument("--window-um", type=positive_float, default=100.0, metavar="UM",
                   help="lateral window of the electrolyte tortuosity-factor maps (default "
                   "%(default)s; the whole lateral extent when smaller)")  # fmt: skip
    p.add_argument("--no-tortuosity", action="store_true",
                   help="skip the electrolyte tortuosity-factor maps (one meso.conduct solve "
                   "per window and step)")  # fmt: skip
    p.add_argument("--max-modes", type=int, default=4, metavar="K",
                   help="most Gaussian-mixture components tried for the modality of the local "
                   "porosity (default %(default)s)")  # fmt: skip
    p.add_argument("--layers", type=_layers, metavar="C0,E0,P0,P1,E1,C1",
                   help="override the detected layers: voxel indices along the cell axis where "
                   "the bottom collector, bottom electrode, pellet, top electrode and top "
                   "collector start, and where the top collector ends")  # fmt: skip
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from imaging.quantify import QuantifyParameters, quantify
    from imaging.quantify.report import write_outputs
    from meso.cli.common import output_dir

    parameters = QuantifyParameters(
        band_um=args.band_um,
        depth_um=args.depth_um,
        bin_um=args.bin_um,
        electrolyte_bin_um=args.electrolyte_bin_um,
        interface_um=args.interface_um,
        hot_spot_n_std=args.hot_spot_std,
        hot_spot_min_area_um2=args.hot_spot_min_area,
        hot_spot_smoothing_um=args.hot_spot_smoothing_um,
        layers=args.layers,
        window_um=args.window_um,
        tortuosity=not args.no_tortuosity,
        max_modes=args.max_modes,
    )
    result = quantify(
        args.steps,
        labels=args.labels,
        times_hours=args.times_hours,
        cell_axis=args.cell_axis,
        voxel_size_um=args.voxel_size,
        parameters=parameters,
    )  # every input is read and checked here, before the output folder exists
    out = output_dir(args, "quantify-out", tuple(args.steps) + tuple(args.labels or ()))
    write_outputs(result, out)
    if not args.quiet:
        sides = result.record["electrodes"]
        print(json.dumps({
            "out": args.out or "quantify-out",
            "steps": len(result.record["steps"]),
            "mean_thickness_um": {s: sides[s]["mean_thickness_um"] for s in sides},
            "hot_spots": len(result.tables["hot_spots"]),
        }))  # fmt: skip
    return 0
