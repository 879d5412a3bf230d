"""What the voxel staircase costs: M_x, M_y, M_z (conduction, elasticity) of a porous volume, voxels vs conforming.

The volume comes from ``synth.generate`` without grain boundaries (pores only), so both
discretisations solve the same problem: the voxel solves on its labels, the conforming ones
on a gmsh mesh of the exact pore ellipsoids it records. Run:

    python -m validation.voxel_vs_conforming --shape 32 --out vvc          # a few min on 2 cores
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mpi4py import MPI

from meso.atomic import write_csv, write_json
from meso.conduction import conduct
from meso.conforming_conduction import conduct_conforming
from meso.conforming_elasticity import elastic_conforming
from meso.conforming_mesh import build_conforming_mesh
from meso.elasticity import solve_elasticity
from meso.materials import load_materials
from meso.microstructure import AXES
from meso.pore_geometry import PoreGeometry


def compare(shape: int, voxel_size_um: float, porosity: float, pore_size_um: float,
            seed: int, size_voxels: float = 1.0) -> dict:  # fmt: skip
    """Voxel (fv, fe) and conforming (P1 flat, P2 curved) factors of one synthetic volume.

    Returns a dict with the per-axis rows, the porosity of each representation and timings.
    """
    from synth import generate

    m, geometry = generate(shape, voxel_size_um, porosity=porosity, pore_size_um=pore_size_um,
                           grain_size_um=4 * voxel_size_um, gb_thickness_voxels=0, seed=seed,
                           return_geometry=True)  # fmt: skip
    t0 = time.perf_counter()
    voxel = conduct(m, AXES, method="both", comm=MPI.COMM_SELF)
    seconds = {"voxel fv+fe": time.perf_counter() - t0}
    grain = load_materials().grain
    t0 = time.perf_counter()
    voxel_elastic = solve_elasticity(m, AXES, comm=MPI.COMM_SELF).axes
    seconds["voxel elastic"] = time.perf_counter() - t0
    pores = PoreGeometry.from_synth(geometry, voxel_size_um)
    conforming, elastic, porosities = {}, {}, {"voxel": 1.0 - voxel.conducting_fraction}
    for label, degree, order in (("p1", 1, 1), ("p2", 2, 2)):
        t0 = time.perf_counter()
        cm = build_conforming_mesh(pores, size_voxels * voxel_size_um, geometry_order=order,
                                   comm=MPI.COMM_SELF)  # fmt: skip
        conforming[label] = conduct_conforming(cm, AXES, degree, voxel_size_um=voxel_size_um)
        porosities[f"conforming {label}"] = 1.0 - conforming[label].conducting_fraction
        seconds[f"conforming {label}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        elastic[label] = elastic_conforming(cm, AXES, grain.E_Pa, grain.nu, degree=degree)
        seconds[f"conforming {label} elastic"] = time.perf_counter() - t0
    rows = []
    for axis in AXES:
        row = {"axis": axis}
        for method in ("fv", "fe"):
            entry = voxel.axes[axis][method]
            row[f"M_voxel_{method}"], row[f"dofs_voxel_{method}"] = entry.M, entry.dofs
        for label, result in conforming.items():
            entry = result.axes[axis][label]
            row[f"M_conforming_{label}"], row[f"dofs_conforming_{label}"] = entry.M, entry.dofs
        best = row["M_conforming_p2"]
        for key in ("M_voxel_fv", "M_voxel_fe", "M_conforming_p1"):
            row[f"{key[2:]}_minus_p2_relative"] = (row[key] - best) / best
        row["E_M_voxel_q1"] = voxel_elastic[axis].M
        for label, results in elastic.items():
            row[f"E_M_conforming_{label}"] = results[axis].M
        best = row["E_M_conforming_p2"]
        for key in ("E_M_voxel_q1", "E_M_conforming_p1"):
            row[f"{key}_minus_p2_relative"] = (row[key] - best) / best
        rows.append(row)
    return {"shape": [shape] * 3, "voxel_size_um": voxel_size_um, "porosity_requested": porosity,
            "pore_size_um": pore_size_um, "seed": seed, "pores": pores.num_pores,
            "element_size_um": size_voxels * voxel_size_um, "porosity": porosities,
            "rows": rows, "seconds": seconds}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, default=32, help="voxels per edge (default 32)")
    parser.add_argument("--voxel-size", type=float, default=1.0, help="um (default 1)")
    parser.add_argument("--porosity", type=float, default=0.05)
    parser.add_argument("--pore-size", type=float, default=5.0, help="mean diameter, um")
    parser.add_argument("--element-size", type=float, default=1.0, help="in voxels (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="voxel_vs_conforming")
    args = parser.parse_args(argv)
    report = compare(args.shape, args.voxel_size, args.porosity, args.pore_size, args.seed,
                     args.element_size)  # fmt: skip
    out = Path(args.out)
    write_json(out / "voxel_vs_conforming.json", report)
    write_csv(out / "voxel_vs_conforming.csv", report["rows"])
    print("porosity:", {k: round(v, 4) for k, v in report["porosity"].items()})
    for row in report["rows"]:
        print(f"{row['axis']}: fv {row['M_voxel_fv']:.4f} fe {row['M_voxel_fe']:.4f} "
              f"p1 {row['M_conforming_p1']:.4f} p2 {row['M_conforming_p2']:.4f}  "
              f"(fv {row['voxel_fv_minus_p2_relative']:+.2%}, fe "
              f"{row['voxel_fe_minus_p2_relative']:+.2%}, p1 "
              f"{row['conforming_p1_minus_p2_relative']:+.2%} vs p2)")  # fmt: skip
        print(f"   elastic: voxel Q1 {row['E_M_voxel_q1']:.4f} p1 {row['E_M_conforming_p1']:.4f} "
              f"p2 {row['E_M_conforming_p2']:.4f}  (voxel "
              f"{row['E_M_voxel_q1_minus_p2_relative']:+.2%}, p1 "
              f"{row['E_M_conforming_p1_minus_p2_relative']:+.2%} vs p2)")  # fmt: skip
    print("seconds:", {k: round(v, 1) for k, v in report["seconds"].items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
