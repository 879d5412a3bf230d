"""Peak memory of slab-by-slab reconstruction of a Data Exchange file much larger than the slab budget.

Writes a synthetic scan (default 1500 angles x 1400 rows x 256 columns float32 = 2.15 GB) slab by
slab, then reconstructs all of it in a fresh process with `imaging.reconstruction.volume.reconstruct_to_file` and
reports that process's peak resident memory above its post-import baseline, next to the file size
and the slab budget `slab_memory_bytes`. Not run by CI (minutes; needs ~2.5 GB of disk).

    .venv/bin/python benchmarks/reconstruct_memory.py --workdir /tmp/meso-bench
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

CHILD = r"""
import json, resource, sys, time
from imaging.io_dxchange import open_dxchange
from imaging.reconstruction.volume import ReconstructionSettings, reconstruct_to_file, slab_memory_bytes
scan, out, slab_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
with open_dxchange(scan) as source:
    t0 = time.perf_counter()
    record = reconstruct_to_file(source, out, ReconstructionSettings(slab_rows=slab_rows), progress=True)
    budget = slab_memory_bytes(source.n_angles, source.n_columns, slab_rows)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"baseline_rss_bytes": baseline, "peak_rss_bytes": peak,
                  "working_bytes": peak - baseline, "slab_budget_bytes": budget,
                  "center": record["center"], "seconds": time.perf_counter() - t0}))
"""


def write_synthetic_scan(
    path: Path, n_angles: int, n_rows: int, n_cols: int, block: int = 32
) -> None:
    """A cylinder with an off-axis rod (analytic chord lengths), written a block of rows at a time."""
    theta = np.linspace(0.0, np.pi, n_angles, endpoint=False)
    u = np.arange(n_cols) - (n_cols - 1) / 2.0
    radius, rod_radius, rod_offset = 0.4 * n_cols, 0.05 * n_cols, 0.2 * n_cols
    chord = 2 * np.sqrt(np.clip(radius**2 - u**2, 0, None))[None, :]
    rod_centre = rod_offset * np.cos(theta)[:, None]
    rod = 2 * np.sqrt(np.clip(rod_radius**2 - (u[None, :] - rod_centre) ** 2, 0, None))
    transmission = np.exp(-(0.002 * chord + 0.01 * rod)).astype(np.float32)  # (angle, column)
    with h5py.File(path, "w") as fh:
        data = fh.create_dataset(
            "/exchange/data", (n_angles, n_rows, n_cols), np.float32, chunks=(n_angles, 1, n_cols)
        )
        for start in range(0, n_rows, block):
            stop = min(start + block, n_rows)
            data[:, start:stop, :] = 1000.0 * transmission[:, None, :]
        fh["/exchange/data_white"] = np.full((4, n_rows, n_cols), 1000.0, np.float32)
        fh["/exchange/data_dark"] = np.zeros((4, n_rows, n_cols), np.float32)
        fh["/exchange/theta"] = np.rad2deg(theta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/meso-bench"))
    parser.add_argument("--angles", type=int, default=1500)
    parser.add_argument("--rows", type=int, default=1400)
    parser.add_argument("--columns", type=int, default=256)
    parser.add_argument("--slab-rows", type=int, default=16)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    scan = args.workdir / "synthetic_scan.h5"
    write_synthetic_scan(scan, args.angles, args.rows, args.columns)
    out = args.workdir / "volume.h5"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(scan), str(out), str(args.slab_rows)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["scan_file_bytes"] = scan.stat().st_size
    result["expected_center"] = (args.columns - 1) / 2.0
    result["within_budget"] = result["working_bytes"] <= result["slab_budget_bytes"]
    print(json.dumps(result, indent=2))
    scan.unlink()
    out.unlink()


if __name__ == "__main__":
    main()
