"""`meso hotspot VOL`: interfacial current hot spots with partial electrode contact."""

from __future__ import annotations

import argparse
import json

from meso.cli.common import add_volume_arguments, finite_float, load_volume, output_dir
from meso.materials import load_materials


def non_zero_float(text: str) -> float:
    """A finite number other than 0."""
    value = finite_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be non-zero, got 0")
    return value


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "hotspot",
        help="interfacial current hot spots between partially contacting electrodes",
        description="Solve steady ionic conduction through the electrolyte VOL between two "
        "electrodes normal to --axis, the current entering and leaving only through the "
        "contacting parts of the two faces (0/1 maps; no map = full contact; cell-centred "
        "finite volumes). Writes hotspot.json (current_A, resistance_ohm, bias_V, "
        "contact_fraction and focusing statistics per face: max_over_mean, p99_over_mean, "
        "area_fraction_above_2x_mean) and the interfacial current-density map of each face "
        "normalised by its mean (.npy, PNG in um). Bottom is the min face of the axis (at "
        "--bias-V), top the max face (0 V); a map is indexed by the face's two other axes in "
        "order. Runs in parallel under `mpirun -n N meso hotspot ...` (as root: `mpirun "
        "--allow-run-as-root -n N ...`).",
        epilog="example: meso hotspot electrolyte.npz --contact-top contact_top.npy "
        "--contact-bottom contact_bottom.npy --axis z --out hotspot-out\n"
        "example: mpirun --allow-run-as-root -n 2 meso hotspot vol.npz --fields --out hs "
        "(two ranks; --allow-run-as-root is needed only as root)",
    )
    add_volume_arguments(parser)
    parser.add_argument(
        "--contact-top",
        metavar="MAP.npy",
        help="0/1 contact map of the max face of the axis (default: full contact)",
    )
    parser.add_argument("--contact-bottom", metavar="MAP.npy",
                        help="0/1 contact map of the min face of the axis (default: full "
                        "contact)")  # fmt: skip
    parser.add_argument(
        "--axis",
        choices=["x", "y", "z"],
        default=None,
        help="transport (cell) axis (default: the volume's cell axis)",
    )
    parser.add_argument("--bias-V", type=non_zero_float, default=1.0, metavar="V",
                        help="potential of the bottom electrode, the top at 0 V, non-zero "
                        "(default %(default)s)")  # fmt: skip
    parser.add_argument(
        "--materials",
        metavar="FILE",
        help="phase properties TOML (default: LLZO values in meso/data/llzo.toml)",
    )
    parser.add_argument("--fields", action="store_true",
                        help="also write the potential (potential_V.npy) and a PNG of the flux "
                        "around the strongest spot with streamlines")  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from meso.conduction.contact import face_shape, read_contact_map
    from meso.conduction.hotspot_report import hotspot

    comm = MPI.COMM_WORLD
    materials = load_materials(args.materials)
    m = load_volume(args)
    m.require_solid()
    axis = args.axis or m.cell_axis
    face = face_shape(m.shape, axis)
    maps = {name: None if path is None else read_contact_map(path, face)
            for name, path in (("bottom", args.contact_bottom), ("top", args.contact_top))}  # fmt: skip
    inputs = tuple(p for p in (args.volume, args.contact_top, args.contact_bottom) if p)
    out = output_dir(args, "hotspot-out", inputs) if comm.rank == 0 else None
    out = comm.bcast(out, root=0)
    document = hotspot(m, out, axis=axis, contact_bottom=maps["bottom"], contact_top=maps["top"],
                       bias_V=args.bias_V, materials=materials, comm=comm, fields=args.fields,
                       inputs={"file": str(args.volume), "contact_top": args.contact_top,
                               "contact_bottom": args.contact_bottom,
                               "materials": materials.source})  # fmt: skip
    if comm.rank != 0:
        return 0
    if not args.quiet:
        print(json.dumps({"current_A": document["current_A"],
                          "resistance_ohm": document["resistance_ohm"],
                          "out": args.out or "hotspot-out"}))  # fmt: skip
    if not document["solver"]["converged"]:
        print("meso hotspot: the solver did not converge")
        return 1
    return 0
