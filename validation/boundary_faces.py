"""Grain boundaries as voxel-face resistances (fv, gmg) vs the conforming interface solve, under refinement.

One synthetic polycrystal (``synth.generate``: Voronoi grains and pores) is fixed in
micrometres. The reference is the conforming mesh of its exact pores and grain faces with the
boundaries as zero-thickness interfaces of area-specific resistance ASR (DG, ``meso.conduct``
with ``grain_boundary_asr_ohm_m2``). The same geometry is voxelised at several resolutions (a
voxel is pore where its centre lies in a pore ellipsoid, and belongs to the grain of the
nearest seed, as synth does) and solved with the boundaries on the faces between different
grains (``grain_ids``), plain and with each face given its boundary plane's orientation from
the Voronoi seeds (``grain_seeds_um``; ``meso.conduction.voxel_gmg.BoundaryFaces``). For
comparison, the synth's own label volume at the first resolution with one-voxel boundary layers
of conductivity t / (ASR + t / sigma_grain) (the same resistance per area). Run:

    python -m validation.boundary_faces --shapes 16 32 64 --out gb-faces   # minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI
from scipy.spatial import cKDTree

from meso import conduct
from meso.io.atomic import write_json
from meso.materials import parse_materials
from meso.mesh.conforming import build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from meso.microstructure import AXES, Microstructure

SIGMA = 0.05  # S/m, the grain


def voxelise(geometry, box_um: float, shape: int) -> tuple[Microstructure, np.ndarray]:
    """Labels (1 solid, 0 pore) and grain ids of the synth `geometry` on a shape^3 grid."""
    h = box_um / shape
    x = (np.arange(shape) + 0.5) * h
    points = np.stack(np.meshgrid(x, x, x, indexing="ij"), axis=-1).reshape(-1, 3)
    stretch = np.asarray(geometry.stretch, float)
    _, ids = cKDTree(geometry.seeds_um / stretch).query(points / stretch)
    labels = np.ones(len(points), np.uint8)
    for centre, semi in zip(geometry.pore_centres_um, geometry.pore_semi_axes_um, strict=True):
        labels[(((points - centre) / semi) ** 2).sum(axis=1) <= 1.0] = 0
    grids = (labels.reshape((shape,) * 3), ids.reshape((shape,) * 3).astype(np.int32))
    return Microstructure(grids[0], voxel_size_um=h), grids[1]


def compare(shapes: list[int], *, box_um: float, porosity: float, pore_size_um: float,
            grain_size_um: float, asr_ohm_m2: float, seed: int, size_um: float,
            reference: list[float] | None = None) -> dict:  # fmt: skip
    """M per axis: conforming DG1 reference (or the given one), face models at each of
    `shapes`, voxel layers."""
    from synth import generate

    h0 = box_um / shapes[0]
    synth_m, geometry = generate(shapes[0], h0, porosity=porosity, pore_size_um=pore_size_um,
                                 grain_size_um=grain_size_um, seed=seed, return_geometry=True)  # fmt: skip
    grain = parse_materials(f"[phases.pore]\nlabel = 0\nvoid = true\n[phases.grain]\nlabel = 1\n"
                            f"sigma_S_per_m = {SIGMA}\n")  # fmt: skip
    rows: dict = {"asr_ohm_m2": asr_ohm_m2, "box_um": box_um, "faces": {}, "oriented": {},
                  "seconds": {}}  # fmt: skip
    t0 = time.perf_counter()
    if reference is None:
        pores = PoreGeometry(np.full(3, box_um), geometry.pore_centres_um,
                             geometry.pore_semi_axes_um, voxel_size_um=h0,
                             grain_seeds_um=geometry.seeds_um, grain_stretch=geometry.stretch)  # fmt: skip
        cm = build_conforming_mesh(pores, size_um, comm=MPI.COMM_SELF)
        solved = conduct(cm, axes=AXES, materials=grain, voxel_size_um=h0,
                         grain_boundary_asr_ohm_m2=asr_ohm_m2)  # fmt: skip
        reference = [solved.factor(a) for a in AXES]
    rows["conforming_dg1"] = reference
    rows["seconds"]["conforming"] = time.perf_counter() - t0
    for shape in shapes:
        t0 = time.perf_counter()
        m, ids = voxelise(geometry, box_um, shape)
        result = conduct(m, materials=grain, comm=MPI.COMM_SELF, grain_ids=ids,
                         grain_boundary_asr_ohm_m2=asr_ohm_m2)  # fmt: skip
        rows["faces"][shape] = [result.factor(a) for a in AXES]
        rows["seconds"][f"faces {shape}"] = time.perf_counter() - t0
        oriented = conduct(m, materials=grain, comm=MPI.COMM_SELF, grain_ids=ids,
                           grain_boundary_asr_ohm_m2=asr_ohm_m2, grain_seeds_um=geometry.seeds_um,
                           grain_stretch=geometry.stretch)  # fmt: skip
        rows["oriented"][shape] = [oriented.factor(a) for a in AXES]
    t = synth_m.voxel_size_m  # one-voxel layers with the same resistance per area
    layer = parse_materials(
        f"[phases.pore]\nlabel = 0\nvoid = true\n[phases.grain]\nlabel = 1\n"
        f"sigma_S_per_m = {SIGMA}\n[phases.grain_boundary]\nlabel = 2\n"
        f"sigma_S_per_m = {t / (asr_ohm_m2 + t / SIGMA)}\n"
    )
    layers = conduct(synth_m, materials=layer, comm=MPI.COMM_SELF)
    rows["voxel_layers"] = {shapes[0]: [layers.factor(a) for a in AXES]}
    rows["relative_to_conforming"] = {
        f"{kind} {s}": [v / r - 1 for v, r in zip(rows[kind][s], reference, strict=True)]
        for kind in ("faces", "oriented") for s in shapes
    }  # fmt: skip
    rows["relative_to_conforming"][f"layers {shapes[0]}"] = [
        v / r - 1 for v, r in zip(rows["voxel_layers"][shapes[0]], rows["conforming_dg1"],
                                  strict=True)
    ]  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--box-um", type=float, default=8.0)
    parser.add_argument("--porosity", type=float, default=0.05)
    parser.add_argument("--pore-size-um", type=float, default=1.5)
    parser.add_argument("--grain-size-um", type=float, default=2.5)
    parser.add_argument("--asr-ohm-m2", type=float, default=2e-5)  # sigma R / d = 0.4
    parser.add_argument("--size-um", type=float, default=0.25, help="conforming element size")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--out", default="gb-faces")
    parser.add_argument("--reference", help="boundary_faces.json of an earlier run with the same "
                        "geometry: reuse its conforming M")  # fmt: skip
    args = parser.parse_args()
    rows = compare(args.shapes, box_um=args.box_um, porosity=args.porosity,
                   pore_size_um=args.pore_size_um, grain_size_um=args.grain_size_um,
                   asr_ohm_m2=args.asr_ohm_m2, seed=args.seed, size_um=args.size_um,
                   reference=json.loads(Path(args.reference).read_text())["conforming_dg1"]
                   if args.reference else None)  # fmt: skip
    write_json(Path(args.out) / "boundary_faces.json", rows)
    for name, values in rows["relative_to_conforming"].items():
        print(f"{name:>12}: " + " / ".join(f"{v:+.4f}" for v in values))


if __name__ == "__main__":
    main()
