"""`meso mesh VOL|SYNTH.json`: a voxel or conforming (gmsh) mesh with cell and facet tags, and its quality."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from meso.cli.common import add_conforming_arguments, finite_float
from meso.errors import InputError
from meso.io.staging import stage

KINDS = ("voxel", "conforming")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "mesh",
        help="voxel or conforming (gmsh) mesh with phase and face tags + quality report",
        description="Mesh the solid of a volume and write it as XDMF (DOLFINx, ParaView) with "
        "cell tags (phase labels: 1 grain, 2 grain boundary, ...) and facet tags (box faces "
        "1/2 = x min/max, 3/4 = y, 5/6 = z; 7 = pore surfaces; 8 = grain boundaries), plus "
        "mesh.json with the element quality. --kind voxel: one hexahedron per solid voxel of VOL "
        "(or of the volume of a synth.json, then also cell tags grain_ids). --kind conforming: "
        "tetrahedra made by gmsh on rank 0 and distributed by DOLFINx; from a synth.json the box "
        "minus the exact pore ellipsoids (OpenCASCADE; synth_geometry.npz must sit beside it; "
        "--grains adds the Voronoi grains), from a label volume the solid bounded by smoothed "
        "marching-cubes walls. Inverted or degenerate elements are refused.",
        epilog="example: meso mesh synth-out/synth.json --kind conforming --size-um 2 "
        "--refine-pores 2 --out mesh",
    )
    parser.add_argument("source", metavar="VOL|SYNTH.json",
                        help="label volume, or the synth.json written by `meso synth`")  # fmt: skip
    parser.add_argument("--dataset", metavar="PATH", help="array inside an .h5/.npz/.vti file")
    # <= 0 is refused when the volume is read, naming the file (as in conduct and elastic)
    parser.add_argument("--voxel-size", metavar="UM", type=finite_float, default=None,
                        help="voxel edge in um, > 0 (default: the file's value, else 1)")  # fmt: skip
    parser.add_argument("--kind", choices=KINDS, default="voxel",
                        help="voxel: hexahedra; conforming: gmsh tetrahedra "
                        "(default %(default)s)")  # fmt: skip
    parser.add_argument("--grains", action="store_true",
                        help="conforming: also split the solid into the synth's Voronoi grains "
                        "(facet tag 8 on grain boundaries, cell tags grain_ids)")  # fmt: skip
    add_conforming_arguments(parser)
    parser.add_argument("--geometry-order", type=int, choices=(1, 2), default=1,
                        help="conforming: 2 = curved 10-node tetrahedra "
                        "(default %(default)s)")  # fmt: skip
    parser.epilog += ("\n--out DIR writes DIR/mesh.xdmf (+ .h5) and DIR/mesh.json; "
                      "--out FILE.xdmf writes FILE.xdmf and FILE.json")  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def _targets(out: str | None) -> tuple[Path, Path]:
    """(mesh.xdmf, mesh.json) paths from --out (a folder, or a file ending in .xdmf)."""
    out_path = Path(out or "mesh-out")
    if out_path.suffix.lower() == ".xdmf":
        return out_path, out_path.with_suffix(".json")
    if out_path.exists() and not out_path.is_dir():
        raise InputError(out_path, "exists and is not a folder")
    return out_path / "mesh.xdmf", out_path / "mesh.json"


def _voxel_mesh(args, source: Path, comm):
    """The voxel mesh of VOL (or of a synth.json's volume, with its grain ids), tags, report."""
    from meso.io.volumes import load
    from meso.mesh.synth_files import load_grain_ids, read_synth_json, synth_volume_path
    from meso.mesh.voxel import tagged_voxel_mesh

    synth = source.suffix.lower() == ".json"
    volume = synth_volume_path(source, read_synth_json(source)) if synth else source
    m = load(volume, dataset=args.dataset, voxel_size_um=args.voxel_size)
    vm, tags = tagged_voxel_mesh(m, comm, load_grain_ids(source) if synth else None)
    report = {"cells": vm.num_cells, "cell_type": "hexahedron", "voxel_size_um": m.voxel_size_um,
              "shape": list(m.shape), "volume": str(volume),
              # every cell is a cube: Verdict's scaled Jacobian and gamma are exactly 1
              "quality": {"num_cells": vm.num_cells, "min_scaled_jacobian": 1.0,
                          "mean_scaled_jacobian": 1.0, "num_bad": 0}}  # fmt: skip
    return vm.mesh, tags, report


def _conforming_mesh(args, source: Path, comm):
    """The conforming mesh of a synth's exact geometry or a label volume's smoothed walls (the
    route ``meso conduct`` and ``meso elastic`` take), its tags and a report."""
    from meso.cli.common import mesh_cache_dir
    from meso.mesh.sources import conforming_source, mesh_source

    geometry = conforming_source(source, args.dataset, args.voxel_size)
    cm, _ = mesh_source(geometry, size_um=args.size_um, refine_pores=args.refine_pores,
                        smoothing_voxels=args.smoothing, grains=args.grains,
                        geometry_order=args.geometry_order,
                        cache_dir=mesh_cache_dir(args) if comm.rank == 0 else None,
                        comm=comm)  # fmt: skip
    report = {"cells": cm.num_cells, "cell_type": "tetrahedron", "geometry_source": geometry.kind,
              "geometry_order": args.geometry_order if geometry.kind == "synth" else 1,
              "quality": cm.quality.to_json(), "gmsh": cm.info,
              "box_um": (cm.box_m * 1e6).tolist(), "voxel_size_um": geometry.voxel_size_um}  # fmt: skip
    tags = [cm.cell_tags, cm.facet_tags] + ([cm.grain_tags] if cm.grain_tags else [])
    return cm.mesh, tags, report


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from meso.cli.common import progress_bar
    from meso.io.atomic import write_json
    from meso.io.mesh_xdmf import write_mesh_xdmf
    from meso.mesh.face_markers import FACE_MARKERS, GRAIN_BOUNDARY_MARKER, PORE_SURFACE_MARKER
    from meso.microstructure import DEFAULT_PHASES

    comm = MPI.COMM_WORLD
    start = time.perf_counter()
    source = Path(args.source)
    if not source.exists():
        raise InputError(source, "no such file")
    if args.kind == "voxel":
        conforming_only = {"--size-um": args.size_um, "--refine-pores": args.refine_pores,
                           "--grains": args.grains or None, "--cache-dir": args.cache_dir,
                           "--smoothing": args.smoothing,
                           "--geometry-order": None if args.geometry_order == 1 else 2}  # fmt: skip
        for option, value in conforming_only.items():
            if value is not None:
                raise InputError(option, "applies to --kind conforming only")
    final_xdmf, report_path = _targets(args.out)
    if final_xdmf.resolve() == source.resolve():
        raise InputError(final_xdmf, "the output would overwrite the input")
    with progress_bar(args, 2, f"mesh ({args.kind})", comm.rank) as bar:
        build = _voxel_mesh if args.kind == "voxel" else _conforming_mesh
        mesh, tags, report = build(args, source, comm)  # bad input stops before any output
        tags[0].name, tags[1].name = "cell_tags", "facet_tags"
        bar("meshed")
        # written under a staging folder, moved into place when the command succeeds
        folder = comm.bcast(stage(final_xdmf.parent) if comm.rank == 0 else None, root=0)
        xdmf, staged_report = folder / final_xdmf.name, folder / report_path.name
        write_mesh_xdmf(xdmf, mesh, tags, comm)
        bar("written")
    if comm.rank != 0:
        return 0
    document = {
        "kind": args.kind,
        "source": str(source),
        "mesh": str(final_xdmf),
        "tags": [t.name for t in tags],
        "cell_markers": {name: v for name, v in DEFAULT_PHASES.items() if name != "pore"},
        "facet_markers": {
            **{f"{axis}_{side}": v for (axis, side), v in FACE_MARKERS.items()},
            "pore_surface": PORE_SURFACE_MARKER,
            "grain_boundary": GRAIN_BOUNDARY_MARKER,
        },
        **report,
        "ranks": comm.size,
        "wall_seconds": time.perf_counter() - start,
    }
    write_json(staged_report, document)
    if not args.quiet:
        q = document["quality"]
        print(f"wrote {final_xdmf} ({document['cells']} {document['cell_type']} cells, min scaled "
              f"Jacobian {q['min_scaled_jacobian']:.3g}) and {report_path}")  # fmt: skip
    return 0
