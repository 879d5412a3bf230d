"""Time synth.generate at 256^3 (target < 30 s on 2 cores) beside PoreSpy's binary generators.

PoreSpy has no grains + boundaries + pores generator; the closest pieces are
`voronoi_edges` (Voronoi boundaries only) and `overlapping_spheres` (pores only, porosity
within its tolerance), timed here on the same box for scale. voronoi_edges is slow
(about 50 s at 128^3 on 2 busy cores), so its box is set separately.

    .venv/bin/python benchmarks/synth_speed.py                 # 256^3 ours, 128^3 both
    .venv/bin/python benchmarks/synth_speed.py --peer-size 0   # skip PoreSpy
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="edge of the synth box (voxels)")
    parser.add_argument("--peer-size", type=int, default=128, help="edge for the side-by-side")
    parser.add_argument("--porosity", type=float, default=0.05)
    parser.add_argument("--pore-size", type=float, default=3.0, help="voxels")
    parser.add_argument("--grain-size", type=float, default=10.0, help="voxels (mean intercept)")
    args = parser.parse_args()

    from synth import generate, measure

    generate(16, 1.0, args.porosity, 2.0, 4.0, seed=0)  # compile the numba kernels once
    params = dict(
        voxel_size_um=1.0,
        porosity=args.porosity,
        pore_size_um=args.pore_size,
        grain_size_um=args.grain_size,
        seed=1,
    )
    rows = {}
    m, seconds = timed(generate, args.size, **params)
    stats, measure_seconds = timed(measure, m)
    rows[f"synth.generate {args.size}^3"] = seconds
    rows[f"synth.measure {args.size}^3"] = measure_seconds
    result = {
        "size": args.size,
        "porosity_measured": stats.porosity,
        "mean_grain_intercept_voxels": stats.mean_grain_intercept_um,
        "mean_pore_equivalent_diameter_voxels": stats.mean_pore_equivalent_diameter_um,
    }
    if args.peer_size:
        import porespy as ps

        n = args.peer_size
        _, ours = timed(generate, n, **params)
        cells = max(round(n**3 * (0.749 / args.grain_size) ** 3), 2)
        _, edges = timed(ps.generators.voronoi_edges, shape=[n] * 3, ncells=cells, seed=1)
        solid, spheres = timed(
            ps.generators.overlapping_spheres,
            shape=[n] * 3,
            r=round(args.pore_size / 2),
            porosity=1 - args.porosity,
            seed=1,
        )
        rows[f"synth.generate {n}^3 (grains+boundaries+pores)"] = ours
        rows[f"porespy voronoi_edges {n}^3 (boundaries only)"] = edges
        rows[f"porespy overlapping_spheres {n}^3 (pores only)"] = spheres
        result["porespy_overlapping_spheres_porosity"] = float(1 - np.mean(solid))
    for name, seconds in rows.items():
        print(f"{name:<52} {seconds:8.2f} s")
    print(json.dumps({**result, "seconds": rows}, indent=2))


if __name__ == "__main__":
    main()
