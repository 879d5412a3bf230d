"""`meso validate`: solve cases with known answers and report whether this build reproduces them."""

from __future__ import annotations

import argparse

from meso.cli.common import output_dir, progress_bar


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "validate",
        help="check this build against analytic references and peer codes",
        description="Solve cases whose answer is known and compare: conduction through laminates "
        "(parallel and series means), the brick-layer model, grain boundaries as face "
        "resistances, Rayleigh's array of spheres (values and convergence orders of voxel fv, "
        "conforming P1 and curved P2), the constriction resistance of a disk contact (Holm, "
        "Roess; order and extrapolated limit), voxels vs conforming P2 on a porous synthetic "
        "volume, TauFactor and PoreSpy on a porous volume (when installed); elasticity of "
        "laminates (Voigt, Reuss), a spherical pore (Eshelby's modulus, Goodier's stress), the "
        "Hashin-Shtrikman bound and voxel Q1 vs conforming P2. Writes validation.json, "
        "validation.csv, the error and convergence figures and validation.html; exit code 1 "
        "when a check fails. Run it after installing on a new machine, also under MPI: "
        "mpirun --allow-run-as-root -n 2 meso validate.",
        epilog="example: meso validate --quick --out validation-out",
    )
    parser.add_argument("--quick", action="store_true",
                        help="the fast subset with coarser refinement studies (under a minute "
                        "on 2 cores), not the full set (a few minutes)")  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from validation.checks import CHECKS, run_checks
    from validation.report import write_validation

    comm = MPI.COMM_WORLD
    out = comm.bcast(output_dir(args, "validation-out") if comm.rank == 0 else None, root=0)
    count = sum(1 for c in CHECKS if c.quick or not args.quick)
    with progress_bar(args, count, "validate", comm.rank) as bar:
        results = run_checks(quick=args.quick, comm=comm, progress=bar)
    if comm.rank != 0:
        return 0 if all(r.passed for r in results) else 1
    document = write_validation(results, out, args.quick, comm.size)
    if not args.quiet:
        for r in results:
            state = "not run" if not r.ran else ("pass" if r.passed else "FAIL")
            numbers = f"{r.value:.6g} vs {r.reference:.6g}" if r.ran else r.source
            print(f"  {state:7s} {r.physics:11s} {r.name}: {numbers}")
        print(f"meso validate: {'all passed' if document['passed'] else 'FAILED'}; "
              f"wrote validation.json and validation.html in {args.out or 'validation-out'}")  # fmt: skip
    return 0 if document["passed"] else 1
