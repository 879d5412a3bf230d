"""`meso phantom`: the virtual Li|LLZO|Li cell over cycling steps, forward-projected to Data Exchange."""

from __future__ import annotations

import argparse
import json

from meso.cli.common import (
    SHAPE_HELP,
    add_shape_argument,
    float_range,
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)

float_below_half = float_range(0.0, 0.5, high_open=True)


def _dose(text: str) -> float | None:
    if text == "inf":
        return None
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError:
        message = f"expected a positive number or 'inf', got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "phantom",
        help="virtual Li|LLZO|Li cell over cycling steps, forward-projected to Data Exchange .h5",
        description="Build a voxel model of the cell (steel collectors, Li electrodes with pores, "
        "porous grained LLZO pellet; cell axis = z = rotation axis), cycle it with a hot-spot "
        "current-density map (Li thickness change j dt V_Li / F, voids at the stripping "
        "interface), and scan each step. Writes DIR/step_NN_NAME.h5 (projections + ground truth), "
        "DIR/step_NN_NAME_labels.h5 and DIR/phantom.json.",
        epilog="example: meso phantom --out phantom (128^3 at 0.65 um, pristine + one cycle)\n"
        "example: meso phantom --shape 64 --voxel-size 1 --angles 90 --dose inf --distance 0 "
        "--out small, then meso reconstruct small/step_02_cycle1_strip_top.h5 --out recon",
    )
    add_shape_argument(
        p, default=(128, 128, 128),
        help=f"{SHAPE_HELP}; NX = NY >= 16, NZ >= 40 (default 128)",
    )  # fmt: skip
    p.add_argument("--voxel-size", type=positive_float, default=0.65, metavar="UM",
                   help="voxel edge in um (default %(default)s)")  # fmt: skip
    p.add_argument("--grain-size", type=positive_float, default=6.0, metavar="UM",
                   help="LLZO grain size in um (default %(default)s)")  # fmt: skip
    p.add_argument("--porosity", type=float_below_half, default=0.05, metavar="P",
                   help="LLZO pellet porosity, 0 <= P < 0.5 (default %(default)s)")  # fmt: skip
    p.add_argument(
        "--current-density",
        type=non_negative_float,
        default=200.0,
        metavar="UA_PER_CM2",
        help="mean current density in uA/cm^2 (default %(default)s)",
    )
    p.add_argument("--hours", type=non_negative_float, default=2.0, metavar="H",
                   help="duration of each cycling step in hours (default %(default)s)")  # fmt: skip
    p.add_argument(
        "--cycles",
        type=non_negative_int,
        default=1,
        metavar="N",
        help="number of cycles, each: strip bottom, then strip top (default %(default)s)",
    )
    p.add_argument("--hot-spots", type=non_negative_int, default=3, metavar="N",
                   help="number of current hot spots (default %(default)s)")  # fmt: skip
    p.add_argument("--energy", type=positive_float, default=76.2, metavar="KEV",
                   help="photon energy in keV (default %(default)s)")  # fmt: skip
    p.add_argument(
        "--distance",
        type=non_negative_float,
        default=0.02,
        metavar="M",
        help="sample-detector distance in m for phase contrast, 0 = absorption only "
        "(default %(default)s)",
    )
    p.add_argument("--angles", type=positive_int, default=180, metavar="N",
                   help="projections over 180 degrees (default %(default)s)")  # fmt: skip
    p.add_argument(
        "--dose",
        type=_dose,
        default=2.0e4,
        metavar="PHOTONS",
        help="open-beam photons per pixel, 'inf' = noise-free (default %(default)g)",
    )
    p.add_argument(
        "--stripes",
        type=fraction,
        default=0.02,
        metavar="F",
        help="fraction of detector columns with gain drift, i.e. rings (default %(default)s)",
    )
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="random seed (default %(default)s)")  # fmt: skip
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from imaging.phantom.experiment import CyclingStep, PhantomConfig, run_phantom
    from imaging.phantom.forward import BeamlineSettings
    from meso.cli.common import output_dir
    from meso.errors import InputError

    # the cell's own rules (imaging.phantom.cell.build_cell), checked before the folder is made
    nx, ny, nz = args.shape
    if nx != ny:
        raise InputError("--shape", f"NX must equal NY for rotation about z, got {nx},{ny},{nz}")
    if nz < 40 or nx < 16:
        raise InputError("--shape", f"{nx},{ny},{nz} is too small for the seven-layer cell "
                         "(NX = NY >= 16, NZ >= 40)")  # fmt: skip
    steps = []
    for cycle in range(1, args.cycles + 1):
        steps += [
            CyclingStep(f"cycle{cycle}_strip_bottom", args.hours, True),
            CyclingStep(f"cycle{cycle}_strip_top", args.hours, False),
        ]
    config = PhantomConfig(
        shape=args.shape,
        voxel_size_um=args.voxel_size,
        grain_size_um=args.grain_size,
        pellet_porosity=args.porosity,
        current_density_uA_per_cm2=args.current_density,
        n_hot_spots=args.hot_spots,
        steps=tuple(steps),
        beamline=BeamlineSettings(
            energy_kev=args.energy,
            n_angles=args.angles,
            distance_m=args.distance,
            photons_per_pixel=args.dose,
            stripe_fraction=args.stripes,
            seed=args.seed,
        ),
        seed=args.seed,
    )
    out = output_dir(args, "phantom-out")
    result = run_phantom(out, config, progress=not args.quiet)
    if not args.quiet:
        print(
            json.dumps(
                {"out": args.out or "phantom-out", "steps": [s["file"] for s in result["steps"]]}
            )
        )
    return 0
