"""Current-density mapping of both electrodes over the study's area, read from disk in lateral blocks.

The study needed about 20 minutes to map the current density over 1 mm^2 of both electrodes;
the goal is under 10 s for the same area at 0.65 um voxels (about 1540 x 1540 columns,
electrodes 200 um thick) on 2 cores with bounded memory. This script synthesises two cycling
steps of label volumes on disk in chunks (steel | Li with pores | LLZO | Li | steel, the
electrode thickness varying per column, the second step stripped by a known map), maps the
thickness of both electrodes of each step with `imaging.quantify.blocks` (lateral blocks), the
current density between them, and prints the wall time, the peak memory (tracemalloc for
Python/numpy allocations, and the process's max RSS) and the ratio to the study's 20 minutes.
Each measurement runs in a fresh process (its max RSS is its own); `--baseline DIR` runs the
same measurement with the code of another checkout (e.g. `git worktree add /tmp/old COMMIT`)
on the same files right after, and checks that both give the same maps. The machine's load
average is printed beside every timing.

    .venv/bin/python benchmarks/quantify_speed.py                # 1540 x 1540, 200 um electrodes
    .venv/bin/python benchmarks/quantify_speed.py --columns 512  # a quicker look
    .venv/bin/python benchmarks/quantify_speed.py --data /tmp/q --baseline /tmp/old  # keep files
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import h5py
import numpy as np

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


def measure(root: Path, paths: list[Path], voxel: float, block: int, out: Path) -> dict:
    """Time both steps with the `imaging` package under `root` (a fresh process), the maps to `out`."""
    sys.path.insert(0, str(root))
    from imaging.quantify.blocks import electrode_thickness_in_blocks
    from imaging.quantify.maps import current_density_uA_per_cm2

    load = os.getloadavg()[0]
    tracemalloc.start()
    t0 = time.perf_counter()
    times, maps = [], []
    for path in paths:
        t1 = time.perf_counter()
        maps.append(electrode_thickness_in_blocks(path, dataset=None, voxel_size_um=voxel,
                                                  block=block))  # fmt: skip
        times.append(time.perf_counter() - t1)
    j = {side: current_density_uA_per_cm2(maps[0][f"{side}_thickness_um"],
                                          maps[1][f"{side}_thickness_um"], 2.0)
         for side in ("bottom", "top")}  # fmt: skip
    wall = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrays = {f"j_{side}": value for side, value in j.items()}
    for k, m in enumerate(maps):
        arrays |= {f"{k}_{key}": v for key, v in m.items() if isinstance(v, np.ndarray)}
    np.savez(out, **arrays)
    return {"wall_s": wall, "steps_s": times, "traced_peak_GB": peak / 1e9,
            "max_rss_GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            "load_before": load, "load_after": os.getloadavg()[0],
            "passes": [m.get("passes") for m in maps]}  # fmt: skip


def run(root: Path, paths: list[Path], voxel: float, block: int, out: Path) -> dict:
    command = [sys.executable, __file__, "--child", str(root), "--block", str(block),
               "--voxel-um", str(voxel), "--out", str(out), *map(str, paths)]  # fmt: skip
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=1540, help="lateral size (default 1540)")
    parser.add_argument("--electrode-um", type=float, default=200.0)
    parser.add_argument("--voxel-um", type=float, default=0.65)
    parser.add_argument("--block", type=int, default=256, help="lateral block read at once")
    parser.add_argument("--dir", default=None, help="where to write the volumes (default: tmp)")
    parser.add_argument("--data", default=None,
                        help="keep the volumes in this folder and reuse them when present")  # fmt: skip
    parser.add_argument("--baseline", default=None, help="a checkout to compare against")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("steps", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(Path(args.child), [Path(p) for p in args.steps], args.voxel_um,
                         args.block, Path(args.out))  # fmt: skip
        print(json.dumps(result))
        return
    n, voxel = args.columns, args.voxel_um
    electrode = round(args.electrode_um / voxel)
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:n, 0:n] / n
    shift = np.round(6 + 4 * np.sin(2 * np.pi * xx) * np.cos(2 * np.pi * yy)
                     + rng.normal(0, 0.3, (n, n))).astype(int)  # fmt: skip
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(args.data) if args.data else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / f"step{k}_{n}_{electrode}.h5" for k in range(2)]
        t0 = time.perf_counter()
        for path, s in zip(paths, (np.zeros_like(shift), shift), strict=True):
            if not path.exists():
                synthesise(path, n, electrode, 40, 10, s)
        size = sum(p.stat().st_size for p in paths)
        print(f"2 steps of {n} x {n} x {electrode * 2 + 68} labels ({size / 1e9:.2f} GB), "
              f"ready in {time.perf_counter() - t0:.1f} s; blocks {args.block}^2 columns at most "
              f"(the chunks' 128^2), {os.cpu_count()} CPUs")  # fmt: skip
        here = Path(__file__).resolve().parents[1]
        runs = {"this tree": run(here, paths, voxel, args.block, Path(tmp) / "new.npz")}
        if args.baseline:
            runs[f"baseline {args.baseline}"] = run(Path(args.baseline).resolve(), paths, voxel,
                                                    args.block, Path(tmp) / "old.npz")  # fmt: skip
        true_j = -shift * voxel * 1e-6 * 96485 / (2 * 3600 * 13.02e-6) * 100
        j = np.load(Path(tmp) / "new.npz")
        inside = np.isfinite(j["j_bottom"])
        error = np.abs(j["j_bottom"][inside] - true_j[inside]).mean()
        for name, r in runs.items():
            print(f"{name}: wall {r['wall_s']:.1f} s (steps {r['steps_s'][0]:.1f} + "
                  f"{r['steps_s'][1]:.1f} s, passes {r['passes']}), load average "
                  f"{r['load_before']:.1f} before / {r['load_after']:.1f} after; "
                  f"{STUDY_SECONDS / r['wall_s']:.0f}x faster than the study, "
                  f"{r['wall_s'] / 10:.2f} x the 10 s goal; peak traced {r['traced_peak_GB']:.2f} GB, "
                  f"max RSS {r['max_rss_GB']:.2f} GB")  # fmt: skip
        print(f"one step's labels: {n * n * (2 * electrode + 68) / 1e9:.2f} GB; mean |j - true j| "
              f"on the stripped electrode {error:.2f} uA/cm^2 (true mean {true_j.mean():.0f})")  # fmt: skip
        if args.baseline:
            old = np.load(Path(tmp) / "old.npz")
            same = all(np.array_equal(j[k], old[k], equal_nan=True) for k in old.files)
            ratio = runs[f"baseline {args.baseline}"]["wall_s"] / runs["this tree"]["wall_s"]
            print(f"maps identical to the baseline's: {same}; {ratio:.1f}x faster")


if __name__ == "__main__":
    main()
