"""`meso phantom`: the virtual Li|LLZO|Li cell over cycling steps, forward-projected to Data Exchange."""

from __future__ import annotations

import argparse
import json


def _shape(text: str) -> tuple[int, int, int]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NX,NY,NZ, got {text!r}") from None
    if len(values) == 1:
        values = values * 3
    if len(values) != 3 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected NX,NY,NZ (positive), got {text!r}")
    return values


def _dose(text: str) -> float | None:
    return None if text == "inf" else float(text)


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "phantom",
        help="virtual Li|LLZO|Li cell over cycling steps, forward-projected to Data Exchange .h5",
        description="Build a voxel model of the cell (steel collectors, Li electrodes with pores, "
        "porous grained LLZO pellet; cell axis = z = rotation axis), cycle it with a hot-spot "
        "current-density map (Li thickness change j dt V_Li / F, voids at the stripping "
        "interface), and scan each step. Writes DIR/step_NN_NAME.h5 (projections + ground truth), "
        "DIR/step_NN_NAME_labels.h5 and DIR/phantom.json.",
    )
    p.add_argument(
        "--shape",
        type=_shape,
        default=(128, 128, 128),
        metavar="NX,NY,NZ",
        help="voxels (NX = NY; default 128,128,128)",
    )
    p.add_argument("--voxel-size", type=float, default=0.65, metavar="UM", help="voxel edge in um")
    p.add_argument("--grain-size", type=float, default=6.0, metavar="UM", help="LLZO grain size")
    p.add_argument("--porosity", type=float, default=0.05, help="LLZO pellet porosity")
    p.add_argument(
        "--current-density",
        type=float,
        default=200.0,
        metavar="UA_PER_CM2",
        help="mean current density in uA/cm^2",
    )
    p.add_argument("--hours", type=float, default=2.0, help="duration of each cycling step (h)")
    p.add_argument(
        "--cycles",
        type=int,
        default=1,
        help="number of cycles (each: strip bottom, then strip top)",
    )
    p.add_argument("--hot-spots", type=int, default=3, help="number of current hot spots")
    p.add_argument("--energy", type=float, default=76.2, metavar="KEV", help="photon energy (keV)")
    p.add_argument(
        "--distance",
        type=float,
        default=0.02,
        metavar="M",
        help="sample-detector distance for phase contrast (0 = absorption only)",
    )
    p.add_argument("--angles", type=int, default=180, help="projections over 180 degrees")
    p.add_argument(
        "--dose",
        type=_dose,
        default=2.0e4,
        metavar="PHOTONS",
        help="open-beam photons per pixel ('inf' = noise-free)",
    )
    p.add_argument(
        "--stripes",
        type=float,
        default=0.02,
        help="fraction of detector columns with gain drift (rings)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from imaging.phantom.experiment import CyclingStep, PhantomConfig, run_phantom
    from imaging.phantom.forward import BeamlineSettings
    from meso.cli.common import output_dir
    from meso.errors import InputError

    for name, value in (
        ("--voxel-size", args.voxel_size),
        ("--energy", args.energy),
        ("--grain-size", args.grain_size),
        ("--angles", args.angles),
    ):
        if not value > 0:
            raise InputError(name, f"must be positive, got {value}")
    if args.cycles < 0 or args.hot_spots < 0 or args.distance < 0:
        raise InputError("--cycles/--hot-spots/--distance", "must be >= 0")
    if args.dose is not None and not args.dose > 0:
        raise InputError("--dose", f"must be positive or 'inf', got {args.dose}")
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
