"""`meso elastic VOL`: Young's modulus microstructure factors M_x/M_y/M_z and stress fields."""

from __future__ import annotations

import argparse
from pathlib import Path

from meso.cli.common import (
    add_mesh_arguments,
    add_solver_arguments,
    add_volume_arguments,
    build_conforming,
    check_mesh_arguments,
    conforming_report,
    finite_float,
    load_volume,
    output_dir,
    parse_axes,
    progress_bar,
)
from meso.io.atomic import write_csv, write_json
from meso.materials import load_materials


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "elastic",
        help="effective Young's modulus factors M_x/M_y/M_z and stress concentration",
        description="Linear elasticity (Q1 hexahedra, one per solid voxel, assembled on the voxel "
        "grid and solved with PETSc CG and a two-level multigrid: rigid-body modes of 4^3-vertex "
        "blocks as coarse space, GAMG on the coarse level). For each axis the two faces normal "
        "to it get a prescribed normal displacement (--strain), all other surfaces are traction-free. Reports "
        "M = E_eff / E_grain, the two effective Poisson ratios, and von Mises stress "
        "concentration (max and 99th percentile over the mean axial stress, and how far hot "
        "spots sit from the nearest pore). Pores and solid clusters that do not bridge the two "
        "loaded faces are removed. Runs under MPI: `mpirun -n 4 meso elastic VOL` (as root: "
        "`mpirun --allow-run-as-root -n 4 ...`). --mesh "
        "conforming solves on gmsh tetrahedra instead (P1, or P2 with --degree 2; the solid "
        "with the grain's E and nu): the exact pores of a `meso synth` volume or a label "
        "volume's smoothed walls; stress statistics per tetrahedron (volume-weighted "
        "percentiles, distance to the nearest pore wall); the mesh is cached and the JSON adds "
        "its quality.",
        epilog="example: meso elastic vol.npz --voxel-size 0.5 --axes x,z --fields --out results\n"
        "example: meso elastic vol.npz --strain -1e-3 --out compression (uniaxial compression)\n"
        "example: mpirun --allow-run-as-root -n 4 meso elastic vol.npz --out results (four "
        "ranks; --allow-run-as-root is needed only as root)\n"
        "example: meso elastic synth-out/synth.json --mesh conforming --out results",
    )
    add_volume_arguments(parser)
    add_solver_arguments(parser)
    parser.add_argument(
        "--strain", type=finite_float, default=1e-3, metavar="E",
        help="applied axial strain, 0 < |E| <= 0.1, negative for compression (default %(default)g)",
    )  # fmt: skip
    add_mesh_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    # DOLFINx and MPI are imported here, not at module level, to keep `meso --help` fast
    from mpi4py import MPI

    from meso.elasticity import elastic
    from meso.elasticity.loading import check_strain

    comm = MPI.COMM_WORLD
    axes = parse_axes(args.axes)
    check_mesh_arguments(args, {})
    check_strain(args.strain)  # before a volume is read or a mesh is built
    materials = load_materials(args.materials)
    extra = {"mesh": args.mesh, "materials": materials.source}
    if args.mesh == "voxel":
        target, options = load_volume(args), {}
    else:
        source, target, _ = build_conforming(args, comm)
        options = {"degree": args.degree or 1, "voxel_size_um": source.voxel_size_um}
        extra = conforming_report(source, target, args.degree or 1) | {
            "materials": materials.source,
            "grain_boundaries": {"model": "meshed as grain (the grain's E and nu everywhere)"},
        }
    out = output_dir(args, "elastic-out", inputs=(args.volume,)) if comm.rank == 0 else None
    out = comm.bcast(out, root=0)
    with progress_bar(args, len(axes), f"elasticity ({args.mesh})", comm.rank) as bar:
        result = elastic(target, axes=axes, materials=materials, strain=args.strain, comm=comm,
                         fields_dir=out if args.fields else None, progress=bar, **options)  # fmt: skip
    return _write_results(args, comm, out, result, extra)


def _write_results(args, comm, out, result, extra: dict) -> int:
    """elasticity.json (+ `extra` keys) and elasticity.csv on rank 0; the exit code."""
    if comm.rank != 0:
        return 0
    data = result.to_json() | {"file": str(args.volume)} | extra
    write_json(out / "elasticity.json", data)
    rows = []
    for axis, r in result.axes.items():
        row = {"axis": axis, "M": r.M, "E_eff_Pa": r.E_eff_Pa}
        row |= {f"nu_eff_{k}": v for k, v in r.nu_eff.items()}
        row |= {"percolating": r.percolating, "converged": r.converged, "iterations": r.iterations}
        if r.stress:
            row |= {"von_mises_max_over_mean_axial": r.stress.max_over_mean_axial,
                    "von_mises_p99_over_mean_axial": r.stress.p99_over_mean_axial}  # fmt: skip
        rows.append(row)
    write_csv(out / "elasticity.csv", rows)
    if not args.quiet:
        for row in rows:
            nus = ", ".join(f"{k}={v:.4f}" for k, v in row.items() if k.startswith("nu_") and v)
            print(f"  {row['axis']}: M = {row['M']:.4f}  E_eff = {row['E_eff_Pa'] / 1e9:.2f} GPa"
                  f"  {nus}  converged={row['converged']}")  # fmt: skip
        print(
            f"meso elastic: wrote {Path(args.out or 'elastic-out') / 'elasticity.json'} and "
            "elasticity.csv"
        )
    unconverged = [a for a, r in result.axes.items() if not r.converged]
    if unconverged:
        print(f"meso elastic: warning: the solve did not converge along {unconverged}")
        return 1
    return 0
