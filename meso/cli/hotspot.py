"""`meso hotspot VOL`: interfacial current hot spots with partial electrode contact."""

from __future__ import annotations

import argparse
import json

from meso.cli.common import (
    add_volume_arguments,
    finite_float,
    load_volume,
    non_negative_float,
    non_negative_int,
    output_dir,
    positive_float,
)
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
        "order. --fields adds the 3D potential and current density (fields.xdmf, ParaView) and "
        "a section through the strongest spot; --pressure-MPa adds the stress under a stack "
        "pressure (meso elastic) and Spearman correlations over lateral windows between the "
        "windows' own microstructure factors and the flux and stress there; --measured "
        "compares the prediction with measured current-density maps. Runs in parallel under "
        "`mpirun -n N meso hotspot ...` (as root: `mpirun "
        "--allow-run-as-root -n N ...`).",
        epilog="example: meso hotspot electrolyte.npz --contact-top contact_top.npy "
        "--contact-bottom contact_bottom.npy --axis z --out hotspot-out\n"
        "example: mpirun --allow-run-as-root -n 2 meso hotspot vol.npz --fields --out hs "
        "(two ranks; --allow-run-as-root is needed only as root)\n"
        "example: meso hotspot ex/subvolume.h5 --contact-top ex/contact_top.npy "
        "--contact-bottom ex/contact_bottom.npy --measured quant/quantify.h5 --step 0 "
        "--measured phantom/step_01_cycle1_strip_bottom.h5 --smooth-um 1.3 --out hs "
        "(the virtual cell: predicted vs measured and vs true maps)\n"
        "example: meso hotspot ex/subvolume.h5 --contact-top ex/contact_top.npy "
        "--pressure-MPa 5 --window-um 10 --out hs (stress and window correlations)",
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
                        help="also write the potential and current density as XDMF "
                        "(fields.xdmf; with --pressure-MPa also elastic_AXIS.xdmf), the "
                        "potential as potential_V.npy and a PNG of the flux around the "
                        "strongest spot with streamlines")  # fmt: skip
    parser.add_argument(
        "--pressure-MPa", type=positive_float, default=None, metavar="P",
        help="also solve elasticity under this stack pressure along the axis (meso elastic): "
        "stress concentration at pores and under the current hot spots, and Spearman "
        "correlations over lateral windows (pressure_scatter.png, stress_section.png)",
    )  # fmt: skip
    parser.add_argument(
        "--window-um", type=positive_float, default=None, metavar="W",
        help="with --pressure-MPa: side of the lateral windows (default: four along the "
        "shorter lateral axis)",
    )  # fmt: skip
    parser.add_argument(
        "--measured", action="append", default=[], metavar="FILE",
        help="compare the predicted interfacial current density with a measured map "
        "(repeatable): meso quantify's quantify.h5 (electrodes/{top,bottom}/"
        "current_density_uA_per_cm2, interval --step), a virtual cell's Data Exchange file "
        "(/ground_truth/current_density_uA_per_cm2) or a 2D .npy in uA/cm^2; maps over the "
        "whole cell are cut to VOL's window with the offsets and downsampling that meso extract "
        "recorded in VOL. Adds Pearson/Spearman per face to hotspot.json and comparison.png (default: none)",
    )  # fmt: skip
    parser.add_argument(
        "--step", type=non_negative_int, default=None, metavar="K",
        help="with --measured quantify.h5: the interval K (steps K -> K+1; required when it "
        "holds more than one)",
    )  # fmt: skip
    parser.add_argument(
        "--smooth-um", type=non_negative_float, default=0.0, metavar="S",
        help="Gaussian sigma in um applied to the --measured maps before the comparison; "
        "thickness-change maps are quantised by the voxels and need ~2 voxels (default "
        "%(default)s: none)",
    )  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from imaging.extract.measured import read_measured
    from meso.conduction.contact import face_shape, read_contact_map
    from meso.errors import InputError
    from meso.studies.hotspot import hotspot_study

    comm = MPI.COMM_WORLD
    materials = load_materials(args.materials)
    m = load_volume(args)
    m.require_solid()
    axis = args.axis or m.cell_axis
    face = face_shape(m.shape, axis)
    maps = {name: None if path is None else read_contact_map(path, face)
            for name, path in (("bottom", args.contact_bottom), ("top", args.contact_top))}  # fmt: skip
    measured = [read_measured(path, args.step) for path in args.measured]
    if args.step is not None and not any(item.kind == "quantify" for item in measured):
        raise InputError("--step", "applies to a --measured quantify.h5 only")
    if args.smooth_um and not measured:
        raise InputError("--smooth-um", "applies to --measured maps only")
    if args.window_um is not None and args.pressure_MPa is None:
        raise InputError("--window-um", "applies to --pressure-MPa only")
    inputs = tuple(p for p in (args.volume, args.contact_top, args.contact_bottom,
                               *args.measured) if p)  # fmt: skip
    out = output_dir(args, "hotspot-out", inputs) if comm.rank == 0 else None
    out = comm.bcast(out, root=0)
    document = hotspot_study(
        m, out, axis=axis, contact_bottom=maps["bottom"], contact_top=maps["top"],
        bias_V=args.bias_V, materials=materials, comm=comm, fields=args.fields, measured=measured,
        smooth_um=args.smooth_um, pressure_MPa=args.pressure_MPa, window_um=args.window_um,
        inputs={"file": str(args.volume), "contact_top": args.contact_top,
                "contact_bottom": args.contact_bottom, "materials": materials.source,
                "measured": list(args.measured), "step": args.step,
                "smooth_um": args.smooth_um, "pressure_MPa": args.pressure_MPa,
                "window_um": args.window_um},
    )  # fmt: skip
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
