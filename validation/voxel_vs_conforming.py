"""What the voxel staircase costs: M_x, M_y, M_z (conduction, elasticity) of a porous volume, voxels vs conforming.

One synthetic microstructure (``synth.generate`` without grain boundaries: pores only) is fixed
in micrometres and voxelised at several resolutions (a voxel is pore where its centre lies in a
pore ellipsoid, as synth does), so every solve sees the same pores: voxel fv/fe (Q1) on each
label volume, conforming P1 on flat tetrahedra one voxel in size at each resolution, and
conforming P2 on curved tetrahedra (once) as the reference. Run:

    python -m validation.voxel_vs_conforming --shape 32 48 --out vvc     # minutes on 2 cores
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

from meso import conduct, elastic
from meso.elasticity.conforming import solve_axis_elastic
from meso.io.atomic import write_csv, write_json
from meso.materials import load_materials
from meso.mesh.conforming import build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from meso.microstructure import AXES, Microstructure


def voxelise(pores: PoreGeometry, shape: int) -> Microstructure:
    """Labels (1 solid, 0 pore) of `pores` on a shape^3 grid filling its box."""
    h = float(pores.box_um[0]) / shape
    x = (np.arange(shape) + 0.5) * h
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    labels = np.ones((shape,) * 3, np.uint8)
    for centre, semi in zip(pores.centres_um, pores.semi_axes_um, strict=True):
        inside = ((X - centre[0]) / semi[0]) ** 2 + ((Y - centre[1]) / semi[1]) ** 2
        inside += ((Z - centre[2]) / semi[2]) ** 2
        labels[inside <= 1.0] = 0
    return Microstructure(labels, voxel_size_um=h)


def _conforming(pores, size_um, degree, grain):
    t0 = time.perf_counter()
    cm = build_conforming_mesh(pores, size_um, geometry_order=degree, comm=MPI.COMM_SELF)
    conduction = conduct(cm, axes=AXES, degree=degree, voxel_size_um=size_um)
    elasticity = {axis: solve_axis_elastic(cm, axis, grain.E_Pa, grain.nu, degree=degree)
                  for axis in AXES}  # fmt: skip
    return conduction, elasticity, time.perf_counter() - t0


def compare(shapes: list[int], box_um: float, porosity: float, pore_size_um: float,
            seed: int) -> dict:  # fmt: skip
    """Voxel (fv, fe, Q1 elasticity) and conforming P1 factors at each resolution in `shapes`
    (box edge `box_um` fixed), relative to conforming P2 on curved tetrahedra of the first
    resolution's voxel size. The pores are those synth places at the first resolution."""
    from synth import generate

    h0 = box_um / shapes[0]
    _, geometry = generate(shapes[0], h0, porosity=porosity, pore_size_um=pore_size_um,
                           grain_size_um=4 * h0, gb_thickness_voxels=0, seed=seed,
                           return_geometry=True)  # fmt: skip
    pores = PoreGeometry.from_synth(geometry, h0)
    grain = load_materials().grain
    p2, p2_elastic, p2_seconds = _conforming(pores, h0, 2, grain)
    runs = []
    for shape in shapes:
        m = voxelise(pores, shape)
        h = m.voxel_size_um
        seconds = {}
        t0 = time.perf_counter()
        voxel = conduct(m, axes=AXES, method="both", comm=MPI.COMM_SELF)
        seconds["voxel fv+fe"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        voxel_elastic = elastic(m, axes=AXES, comm=MPI.COMM_SELF).axes
        seconds["voxel elastic"] = time.perf_counter() - t0
        p1, p1_elastic, seconds["conforming p1 (mesh, conduction, elastic)"] = _conforming(
            pores, h, 1, grain
        )
        rows = []
        for axis in AXES:
            best, best_E = p2.axes[axis]["p2"].M, p2_elastic[axis].M
            values = {"fv": voxel.axes[axis]["fv"], "fe": voxel.axes[axis]["fe"],
                      "p1": p1.axes[axis]["p1"]}  # fmt: skip
            row = {"shape": shape, "voxel_size_um": h, "axis": axis}
            for name, entry in values.items():
                row[f"M_{name}"], row[f"dofs_{name}"] = entry.M, entry.dofs
                row[f"{name}_minus_p2_relative"] = (entry.M - best) / best
            row["M_p2"] = best
            row["E_M_q1"], row["E_M_p1"] = voxel_elastic[axis].M, p1_elastic[axis].M
            row["E_q1_minus_p2_relative"] = (row["E_M_q1"] - best_E) / best_E
            row["E_p1_minus_p2_relative"] = (row["E_M_p1"] - best_E) / best_E
            row["E_M_p2"] = best_E
            rows.append(row)
        runs.append({"shape": [shape] * 3, "voxel_size_um": h, "rows": rows, "seconds": seconds,
                     "porosity_voxel": 1.0 - voxel.conducting_fraction})  # fmt: skip
    return {"box_um": box_um, "porosity_requested": porosity, "pore_size_um": pore_size_um,
            "seed": seed, "pores": pores.num_pores,
            "porosity_conforming": 1.0 - p2.conducting_fraction,
            "reference": {"method": "p2 on curved tetrahedra", "element_size_um": h0,
                          "dofs": p2.to_json()["dofs"], "seconds": p2_seconds},
            "runs": runs}  # fmt: skip


def markdown_table(report: dict) -> str:
    """The README table: relative differences from P2 per resolution, method and axis."""
    lines = ["| N^3 (voxel) | M along x / y / z | voxel fv | voxel fe (Q1) | conforming P1 |",
             "|---|---|---|---|---|"]  # fmt: skip

    def cells(rows, prefix, names):
        return [" / ".join(f"{r[f'{prefix}{n}_minus_p2_relative']:+.2%}" for r in rows)
                for n in names]  # fmt: skip

    for run in report["runs"]:
        rows = run["rows"]
        label = f"{run['shape'][0]} ({run['voxel_size_um']:.3g} um)"
        lines.append(f"| {label} | conduction | "
                     + " | ".join(cells(rows, "", ["fv", "fe", "p1"])) + " |")  # fmt: skip
        lines.append(f"| {label} | elasticity (E) | | "
                     + " | ".join(cells(rows, "E_", ["q1", "p1"])) + " |")  # fmt: skip
    ref = report["runs"][0]["rows"]
    lines.append("| reference | conforming P2, curved | "
                 + " / ".join(f"{r['M_p2']:.4f}" for r in ref) + " (conduction), "
                 + " / ".join(f"{r['E_M_p2']:.4f}" for r in ref) + " (E) | | |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs="+", default=[32, 48],
                        help="voxels per edge, one or more resolutions (default 32 48)")  # fmt: skip
    parser.add_argument("--box", type=float, default=16.0, help="box edge in um (default 16)")
    parser.add_argument("--porosity", type=float, default=0.05)
    parser.add_argument("--pore-size", type=float, default=2.5, help="mean diameter, um")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="voxel_vs_conforming")
    args = parser.parse_args(argv)
    report = compare(args.shape, args.box, args.porosity, args.pore_size, args.seed)
    out = Path(args.out)
    write_json(out / "voxel_vs_conforming.json", report)
    write_csv(out / "voxel_vs_conforming.csv", [r for run in report["runs"] for r in run["rows"]])
    table = markdown_table(report)
    (out / "voxel_vs_conforming.md").write_text(table + "\n")
    print(table)
    for run in report["runs"]:
        print(run["shape"][0], "seconds:", {k: round(v, 1) for k, v in run["seconds"].items()})
    print("reference P2:", {k: v for k, v in report["reference"].items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
