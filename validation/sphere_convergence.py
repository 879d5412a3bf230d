"""Error vs DOFs of voxel (fv, fe) and conforming (P1, P2, smoothed voxels) conduction: a sphere in a cube.

With insulated side faces the cube is the unit cell of a simple cubic array of spheres, so the
reference is Rayleigh's value for the array (``rayleigh_cubic_spheres``). Run:

    python -m validation.sphere_convergence --out sphere_convergence   # PNG + JSON + CSV
    python -m validation.sphere_convergence --quick --out /tmp/sc      # smaller, ~20 s
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

from meso import conduct
from meso.io.atomic import atomic_path, write_csv, write_json
from meso.mesh.conforming import build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from meso.mesh.surface import SegmentedGeometry
from meso.microstructure import Microstructure
from validation.conduction_references import rayleigh_cubic_spheres, sphere_cell

VOXELS_PER_CELL = {"quick": (8, 12, 16, 24, 32), "full": (8, 12, 16, 24, 32, 48, 64, 96)}
ELEMENT_SIZES = {"quick": (0.3, 0.2, 0.15, 0.1), "full": (0.3, 0.2, 0.15, 0.1, 0.07, 0.05)}
# label, Lagrange degree, geometry order of the tetrahedra
CONFORMING = (("conforming P1", 1, 1), ("conforming P2 (curved)", 2, 2))
# the voxel labels meshed with smoothed walls (meso.mesh.surface), P1
SEGMENTED_VOXELS = {"quick": (12, 16, 24), "full": (12, 16, 24, 32, 48)}


def sphere_convergence(porosity: float = 0.2, quick: bool = False) -> list[dict]:
    """One row per solve: method, resolution, DOFs, M, relative error against Rayleigh."""
    reference = rayleigh_cubic_spheres(porosity)
    mode = "quick" if quick else "full"
    rows = []
    for n in VOXELS_PER_CELL[mode]:
        t0 = time.perf_counter()
        result = conduct(Microstructure(sphere_cell(n, porosity)), axes=["x"], method="both",
                         comm=MPI.COMM_SELF)  # fmt: skip
        for method in ("fv", "fe"):
            entry = result.axes["x"][method]
            rows.append({"method": f"voxel {method}", "resolution": f"{n} voxels/cell",
                         "dofs": entry.dofs, "M": entry.M,
                         "relative_error": (entry.M - reference) / reference,
                         "seconds": time.perf_counter() - t0})  # fmt: skip
    for n in SEGMENTED_VOXELS[mode]:
        t0 = time.perf_counter()
        cm = build_conforming_mesh(SegmentedGeometry(sphere_cell(n, porosity), 1.0 / n),
                                   size_um=2.0 / n, comm=MPI.COMM_SELF)  # fmt: skip
        entry = conduct(cm, axes=["x"]).axes["x"]["p1"]
        rows.append({"method": "voxels, smoothed walls P1", "resolution": f"{n} voxels/cell",
                     "dofs": entry.dofs, "M": entry.M,
                     "relative_error": (entry.M - reference) / reference,
                     "seconds": time.perf_counter() - t0})  # fmt: skip
    radius = (3.0 * porosity / (4.0 * math.pi)) ** (1.0 / 3.0)
    geometry = PoreGeometry.spheres((1, 1, 1), [[0.5, 0.5, 0.5]], [radius])
    for size in ELEMENT_SIZES[mode]:
        for label, degree, order in CONFORMING:
            t0 = time.perf_counter()
            cm = build_conforming_mesh(geometry, size_um=size, geometry_order=order,
                                       comm=MPI.COMM_SELF)  # fmt: skip
            entry = conduct(cm, axes=["x"], degree=degree).axes["x"][f"p{degree}"]
            rows.append({"method": label, "resolution": f"h = {size} cell",
                         "dofs": entry.dofs, "M": entry.M,
                         "relative_error": (entry.M - reference) / reference,
                         "seconds": time.perf_counter() - t0})  # fmt: skip
    return rows


def fitted_orders(rows: list[dict]) -> dict[str, float]:
    """Slope of log|error| against log(DOFs) per method (error ~ DOFs^-slope)."""
    orders = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        dofs = np.array([r["dofs"] for r in rows if r["method"] == method], float)
        errors = np.abs([r["relative_error"] for r in rows if r["method"] == method])
        orders[method] = float(-np.polyfit(np.log(dofs), np.log(errors), 1)[0])
    return orders


def plot(rows: list[dict], orders: dict[str, float], path: Path, porosity: float) -> Path:
    """Log-log PNG of |relative error| against DOFs, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.5), dpi=120)
    for method, marker in zip(orders, "osDv^", strict=False):
        chosen = [r for r in rows if r["method"] == method]
        ax.loglog([r["dofs"] for r in chosen], [abs(r["relative_error"]) for r in chosen],
                  marker=marker, label=f"{method} (log-log slope {-orders[method]:.2f})")  # fmt: skip
    ax.set_xlabel("degrees of freedom")
    ax.set_ylabel("|M - M_Rayleigh| / M_Rayleigh")
    ax.set_title(f"Insulating sphere in a cube (simple cubic array), porosity {porosity}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="sphere_convergence", help="output folder")
    parser.add_argument("--porosity", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="coarser meshes only (~20 s)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    rows = sphere_convergence(args.porosity, args.quick)
    orders = fitted_orders(rows)
    write_csv(out / "sphere_convergence.csv", rows)
    write_json(out / "sphere_convergence.json", {
        "porosity": args.porosity, "reference": "Rayleigh (1892) simple cubic array, "
        "validation.conduction_references.rayleigh_cubic_spheres",
        "M_reference": rayleigh_cubic_spheres(args.porosity),
        "error_vs_dofs_slope": orders, "rows": rows})  # fmt: skip
    plot(rows, orders, out / "sphere_convergence.png", args.porosity)
    for row in rows:
        print(f"{row['method']:<24} {row['resolution']:<18} dofs {row['dofs']:>8} "
              f"M {row['M']:.6f} error {row['relative_error']:+.2e}")  # fmt: skip
    print("slopes (error ~ DOFs^-s):", {k: round(v, 2) for k, v in orders.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
