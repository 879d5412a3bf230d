"""`meso extract LABELS.h5`: electrolyte subvolumes and contact maps of a segmented cell."""

from __future__ import annotations

import argparse
import json

from meso.cli.common import (
    add_volume_arguments,
    load_volume,
    non_negative_float,
    non_negative_int,
    output_dir,
    positive_float,
    positive_int,
)


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "extract",
        help="electrolyte subvolumes and contact maps of a segmented cell",
        description="Find the layers of a segmented Li|LLZO|Li cell along its cell axis, cut "
        "the electrolyte (the whole pellet, the --depth-um next to one interface, or the bulk "
        "between) in a centred lateral window, optionally downsampled by majority vote, and "
        "write it (subvolume.h5, for meso conduct / elastic / hotspot) with the contact maps of "
        "the two interfaces over the window (contact_bottom.npy, contact_top.npy: 1 where "
        "lithium touches LLZO, 0 at voids) and extract.json (provenance, contact fractions). "
        "Tomography does not resolve grains: the solid is one phase unless --overlay-grains-um "
        "lays synthetic Voronoi grains and boundaries (the synth generator) over it.",
        epilog="example: meso extract step_02_cycle1_strip_top_labels.h5 --region "
        "interface-top --depth-um 20 --out extract-out\n"
        "example: meso hotspot extract-out/subvolume.h5 --contact-top extract-out/"
        "contact_top.npy --contact-bottom extract-out/contact_bottom.npy\n"
        "example: meso extract labels.h5 --region bulk --depth-um 20 --overlay-grains-um 6 "
        "--out grained (synthetic 6 um grains over the bulk's solid)",
    )
    add_volume_arguments(parser)
    parser.add_argument("--region", choices=["electrolyte", "interface-top", "interface-bottom",
                                              "bulk"], default="electrolyte",
                        help="the part of the pellet along the cell axis (default %(default)s)")  # fmt: skip
    parser.add_argument(
        "--depth-um",
        type=positive_float,
        default=100.0,
        metavar="UM",
        help="depth of the interfacial regions (default %(default)s)",
    )
    parser.add_argument("--window-um", type=positive_float, default=None, metavar="W",
                        help="side of the centred lateral window in um (default: the cell's "
                        "bounding box)")  # fmt: skip
    parser.add_argument(
        "--downsample",
        type=positive_int,
        default=1,
        metavar="F",
        help="coarsen by F, majority vote (default %(default)s)",
    )
    parser.add_argument(
        "--contact-gap-um", type=non_negative_float, default=0.0, metavar="G",
        help="lithium behind at most G um of pore still counts as touching the electrolyte in "
        "the contact maps: a reconstruction blurs about one voxel at the Li|LLZO interface, "
        "which segmentations label pore (default %(default)s: lithium must touch)",
    )  # fmt: skip
    parser.add_argument("--overlay-grains-um", type=positive_float, default=None, metavar="G",
                        help="lay synthetic grains of mean intercept G um (synth generator, "
                        "one-voxel boundaries) over the solid; at least two voxels of the "
                        "output (default: none, one solid phase)")  # fmt: skip
    parser.add_argument("--overlay-seed", type=non_negative_int, default=0, metavar="N",
                        help="random seed of the overlaid grains (default %(default)s)")  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from imaging.extract import extract, write_extract
    from meso.errors import InputError

    if args.overlay_grains_um is None and args.overlay_seed:
        raise InputError("--overlay-seed", "applies to --overlay-grains-um only")
    m = load_volume(args)
    sub, contacts, provenance = extract(m, args.region, depth_um=args.depth_um,
                                        window_um=args.window_um, downsample=args.downsample,
                                        contact_gap_um=args.contact_gap_um,
                                        overlay_grains_um=args.overlay_grains_um,
                                        overlay_seed=args.overlay_seed)  # fmt: skip
    out = output_dir(args, "extract-out", (args.volume,))
    document = write_extract(out, sub, contacts, provenance)
    if not args.quiet:
        print(json.dumps({"shape": document["shape"],
                          "contact_fraction": document["contact_fraction"],
                          "out": args.out or "extract-out"}))  # fmt: skip
    return 0
