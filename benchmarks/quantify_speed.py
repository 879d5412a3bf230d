"""Current-density mapping of both electrodes over the study's area, read from disk in lateral blocks.

The study needed about 20 minutes to map the current density over 1 mm^2 of both electrodes;
the goal is under 10 s for the same area at 0.65 um voxels (about 1540 x 1540 columns,
electrodes 200 um thick) on 2 cores with bounded memory. This script synthesises two cycling
steps of label volumes on disk in chunks (steel | Li with pores | LLZO | Li | steel, the
electrode thickness varying per column, the second step stripped by a known map), maps the
thickness of both electrodes of each step with `imaging.quantify.blocks` (lateral blocks), the
current density between them, and prints the wall time, the peak memory (tracemalloc for
Python/numpy allocations, and the process's max RSS) and the ratio to the study's 20 minutes.

    .venv/bin/python benchmarks/quantify_speed.py                # 1540 x 1540, 200 um electrodes
    .venv/bin/python benchmarks/quantify_speed.py --columns 512  # a quicker look
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import h5py
import numpy as np

from imaging.quantify.blocks import electrode_thickness_in_blocks
from imaging.quantify.maps import current_density_uA_per_cm2

STUDY_SECONDS = 20 * 60
PORE, GRAIN, LITHIUM, STEEL = 0, 1, 3, 4


def synthesise(path: Path, n: int, electrode: int, pellet: int, collector: int, shift: np.ndarray,
               chunk: int = 128, seed: int = 0) -> None:  # fmt: skip
    """Labels (n, n, cell axis last) written chunk by chunk: bottom electrode `electrode` voxels
    thinner by `shift` per column (stripped), top one thicker, 1% pores in the Li."""
    rng = np.random.default_rng(seed)
    n_c = 2 * collector + 2 * electrode + pellet + 8
    with h5py.File(path, "w") as fh:
        ds = fh.create_dataset("labels", (n, n, n_c), np.uint8, chunks=(chunk, chunk, n_c))
        ds.attrs["voxel_size_um"] = 0.65
        for a in range(0, n, chunk):
            for b in range(0, n, chunk):
                s = shift[a : a + chunk, b : b + chunk][:, :, None]
                bottom_pellet = collector + electrode + 4
                top_pellet = bottom_pellet + pellet
                block = np.full((*s.shape[:2], n_c), LITHIUM, np.uint8)
                c = np.broadcast_to(np.arange(n_c, dtype=np.int32), block.shape)
                block[(c < 4 + s) | (c >= n_c - 4 + s)] = PORE  # outside the cell axis ends
                block[(c >= 4 + s) & (c < 4 + collector + s)] = STEEL  # bottom collector moves up
                block[(c >= bottom_pellet) & (c < top_pellet)] = GRAIN
                top_collector = top_pellet + electrode + s
                block[(c >= top_collector) & (c < top_collector + collector)] = STEEL
                li = block == LITHIUM
                block[li & (rng.random(block.shape, np.float32) < 0.01)] = PORE
                ds[a : a + chunk, b : b + chunk] = block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=1540, help="lateral size (default 1540)")
    parser.add_argument("--electrode-um", type=float, default=200.0)
    parser.add_argument("--voxel-um", type=float, default=0.65)
    parser.add_argument("--block", type=int, default=256, help="lateral block read at once")
    parser.add_argument("--dir", default=None, help="where to write the volumes (default: tmp)")
    args = parser.parse_args()
    n, voxel = args.columns, args.voxel_um
    electrode = round(args.electrode_um / voxel)
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:n, 0:n] / n
    shift = np.round(6 + 4 * np.sin(2 * np.pi * xx) * np.cos(2 * np.pi * yy)
                     + rng.normal(0, 0.3, (n, n))).astype(int)  # fmt: skip
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        paths = [Path(tmp) / f"step{k}.h5" for k in range(2)]
        t0 = time.perf_counter()
        synthesise(paths[0], n, electrode, 40, 10, np.zeros_like(shift))
        synthesise(paths[1], n, electrode, 40, 10, shift)
        size = sum(p.stat().st_size for p in paths)
        print(f"synthesised 2 steps of {n} x {n} x {electrode * 2 + 68} labels "
              f"({size / 1e9:.2f} GB) in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        load = os.getloadavg()[0]
        tracemalloc.start()
        t0 = time.perf_counter()
        times = {}
        maps = []
        for path in paths:
            t1 = time.perf_counter()
            maps.append(electrode_thickness_in_blocks(path, dataset=None, voxel_size_um=voxel,
                                                      block=args.block))  # fmt: skip
            times[path.name] = time.perf_counter() - t1
        j = {side: current_density_uA_per_cm2(maps[0][f"{side}_thickness_um"],
                                              maps[1][f"{side}_thickness_um"], 2.0)
             for side in ("bottom", "top")}  # fmt: skip
        wall = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB -> GB on Linux
    true_j = -shift * voxel * 1e-6 * 96485 / (2 * 3600 * 13.02e-6) * 100
    inside = np.isfinite(j["bottom"])
    error = np.abs(j["bottom"][inside] - true_j[inside]).mean()
    print(f"area {n * voxel / 1000:.2f} x {n * voxel / 1000:.2f} mm, electrodes {args.electrode_um:g} um,"
          f" blocks {args.block}^2 columns, load average before {load:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"per step: {', '.join(f'{k} {v:.1f} s' for k, v in times.items())}")
    print(f"wall {wall:.1f} s (goal 10 s, study {STUDY_SECONDS} s): {STUDY_SECONDS / wall:.0f}x faster "
          f"than the study, {wall / 10:.2f} x the goal")  # fmt: skip
    print(f"peak traced memory {peak / 1e9:.2f} GB, max RSS {rss:.2f} GB "
          f"(one step's labels: {n * n * (2 * electrode + 68) / 1e9:.2f} GB)")  # fmt: skip
    print(
        f"mean |j - true j| on the stripped electrode: {error:.2f} uA/cm^2 "
        f"(true mean {true_j.mean():.0f})"
    )


if __name__ == "__main__":
    main()
