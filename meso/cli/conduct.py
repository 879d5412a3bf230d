"""`meso conduct VOL`: ionic conductivity microstructure factors M_x, M_y, M_z (FEniCSx)."""

from __future__ import annotations

import argparse
import json

from meso.cli.common import (
    add_mesh_arguments,
    add_solver_arguments,
    add_volume_arguments,
    build_conforming,
    check_mesh_arguments,
    conforming_report,
    load_volume,
    output_dir,
    parse_axes,
    progress_bar,
)
from meso.io.atomic import write_csv, write_json
from meso.materials import load_materials


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "conduct",
        help="ionic conductivity microstructure factors M_x, M_y, M_z",
        description="Solve steady ionic conduction across the volume along each axis (1 V between "
        "the two faces normal to it, the other faces insulated) and report M = sigma_eff / "
        "sigma_grain, the tortuosity factor eps / M_geometric (M_geometric: every conducting "
        "phase at the grain conductivity, the pore geometry alone) and solver statistics. "
        "Pores and solid "
        "clusters that do not connect the two faces are left out; a volume with no connecting "
        "path gives M = 0 and percolating = false. Runs in parallel under `mpirun -n N meso "
        "conduct ...` (as root: `mpirun --allow-run-as-root -n N ...`). Exit code 1 if a "
        "solve did not converge (its M is null in the JSON). "
        "--mesh conforming solves on gmsh tetrahedra instead (P1, or P2 with --degree 2): the "
        "exact pores of a `meso synth` volume, its grain boundaries as zero-thickness "
        "interfaces of area-specific resistance (the materials' asr_ohm_m2, or t (1/sigma_gb - "
        "1/sigma_grain) for a boundary phase of thickness t), or a label volume's solid with "
        "smoothed walls; the mesh is cached and the JSON adds its quality.",
        epilog="example: meso conduct vol.npz --axes x,y,z --method both --out results\n"
        "example: mpirun --allow-run-as-root -n 2 meso conduct vol.npz --out results (two "
        "ranks; --allow-run-as-root is needed only as root)\n"
        "example: meso conduct synth-out/synth.json --mesh conforming --size-um 1 --out results",
    )
    add_volume_arguments(parser)
    add_solver_arguments(parser)
    parser.add_argument(
        "--method",
        choices=["fv", "fe", "both"],
        default=None,
        help="voxel mesh: fv: cell-centred finite volumes (TauFactor's scheme); fe: Q1 finite "
        "elements; both: report both and their difference (default fv)",
    )
    parser.add_argument(
        "--solver",
        choices=["gmg", "amg"],
        default=None,
        help="voxel mesh, fv: the linear solver: gmg: CG + geometric multigrid on the voxel "
        "grid (fast, little memory); amg: CG + BoomerAMG on the conducting voxels, for "
        "comparison (default gmg)",
    )
    parser.add_argument(
        "--grain-boundaries",
        choices=["layers", "faces"],
        default=None,
        help="voxel mesh: layers: boundary voxels with the boundary phase's conductivity; "
        "faces (a meso synth result, fv, gmg): boundary voxels conduct as grain and every face "
        "between two grains is a resistance of the boundary's ASR (the materials' asr_ohm_m2, or "
        "t (1/sigma_gb - 1/sigma_grain) for a phase of thickness t), as the conforming mesh "
        "puts it, scaled for the orientation of the synth's boundary plane (default layers)",
    )
    add_mesh_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def boundary_faces(args: argparse.Namespace, materials) -> dict:
    """The grain ids, ASR (ohm m^2), Voronoi seeds and stretch of the meso synth result VOL for
    --grain-boundaries faces, as ``meso.conduct`` keywords."""
    from meso.errors import InputError
    from meso.mesh.sources import conforming_source, grain_boundary_resistance
    from meso.mesh.synth_files import load_grain_ids, load_synth_geometry

    if args.method not in (None, "fv") or args.solver == "amg":
        raise InputError("--grain-boundaries", "faces are solved by --method fv --solver gmg only")
    source = conforming_source(args.volume, args.dataset, args.voxel_size)
    if source.synth_json is None:
        raise InputError(args.volume, "--grain-boundaries faces needs a meso synth result (its "
                         "synth.json and grain ids)")  # fmt: skip
    asr, _ = grain_boundary_resistance(source, materials)
    if asr is None:
        raise InputError(materials.source, "--grain-boundaries faces: the materials and the synth "
                         "give the grain boundaries no resistance")  # fmt: skip
    geometry = load_synth_geometry(source.synth_json, grains=True)
    return {"grain_ids": load_grain_ids(source.synth_json), "grain_boundary_asr_ohm_m2": asr,
            "grain_seeds_um": geometry.grain_seeds_um, "grain_stretch": geometry.grain_stretch}  # fmt: skip


def run(args: argparse.Namespace) -> int:
    # DOLFINx and MPI are imported here, not at module level, to keep `meso --help` fast
    from mpi4py import MPI

    from meso.conduction import conduct

    comm = MPI.COMM_WORLD
    axes = parse_axes(args.axes)
    check_mesh_arguments(args, {"--method": args.method, "--solver": args.solver,
                                "--grain-boundaries": args.grain_boundaries})  # fmt: skip
    materials = load_materials(args.materials)
    faces = {}
    if args.mesh == "voxel":
        m = load_volume(args)
        m.require_solid()
        if args.grain_boundaries == "faces":
            faces = boundary_faces(args, materials)
    else:  # the mesh (cached) is made before any output, so bad geometry leaves none
        source, cm, asr = build_conforming(args, comm, materials)
    out = output_dir(args, "conduct-out", (args.volume,)) if comm.rank == 0 else None
    out = comm.bcast(out, root=0)
    fields_dir = out / "fields" if args.fields else None
    extra = {"mesh": args.mesh}
    if args.mesh == "conforming":
        with progress_bar(args, len(axes), "conduct (conforming)", comm.rank) as bar:
            result = conduct(cm, axes=axes, degree=args.degree or 1, materials=materials,
                             voxel_size_um=source.voxel_size_um, progress=bar,
                             grain_boundary_asr_ohm_m2=asr, fields_dir=fields_dir)  # fmt: skip
        extra = conforming_report(source, cm, args.degree or 1)
    else:
        method = args.method or "fv"
        steps = len(axes) * (2 if method == "both" else 1)
        with progress_bar(args, steps, "conduct", comm.rank) as bar:
            result = conduct(
                m,
                axes=axes,
                method=method,
                materials=materials,
                comm=comm,
                fields_dir=fields_dir,
                progress=bar,
                solver=args.solver or "gmg",
                **faces,
            )
    if comm.rank != 0:
        return 0 if all(r.converged for e in result.axes.values() for r in e.values()) else 1
    document = result.to_json()
    document["file"] = str(args.volume)
    document["materials"] = materials.source
    document.update(extra)
    write_json(out / "conduction.json", document)
    write_csv(out / "conduction.csv", result.rows())
    if not args.quiet:
        summary = {axis: entry["M"] for axis, entry in document["axes"].items()}
        print(json.dumps({"M": summary, "out": args.out or "conduct-out"}))
    failed = [f"{r.method} {r.axis}" for e in result.axes.values() for r in e.values()
              if not r.converged]  # fmt: skip
    if failed:
        print(f"meso conduct: solver did not converge for {', '.join(failed)}")
        return 1
    return 0
