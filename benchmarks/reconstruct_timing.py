"""Per-slice reconstruction time of `reconstruct_slice` against algotom called directly.

Same sinogram (default 1500 angles x 2048 columns, a cylinder with an off-axis rod), same centre,
same filter; reports the median of --repeats runs for both, our overhead, and the peak numpy memory
of one slice (tracemalloc). Not run by CI.

For fbp, algotom called directly runs its back-projection on every numba thread, where its updates
race (runs differ); `reconstruct_slice` runs it on one thread (imaging/reconstruction/slices.py),
so it is checked against algotom on one thread, and "repeatable" says whether two runs agree.

    .venv/bin/python benchmarks/reconstruct_timing.py --angles 1500 --columns 2048
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numba
import numpy as np
from algotom.rec import reconstruction

from imaging.reconstruction.slices import reconstruct_slice


def synthetic_sinogram(n_angles: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    theta = np.linspace(0.0, np.pi, n_angles, endpoint=False)
    u = np.arange(n_cols) - (n_cols - 1) / 2.0
    chord = 2 * np.sqrt(np.clip((0.4 * n_cols) ** 2 - u**2, 0, None))[None, :]
    rod_centre = 0.2 * n_cols * np.cos(theta)[:, None]
    rod = 2 * np.sqrt(np.clip((0.05 * n_cols) ** 2 - (u[None, :] - rod_centre) ** 2, 0, None))
    return (0.002 * chord + 0.01 * rod).astype(np.float32), np.rad2deg(theta)


def median_seconds(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        func()
        times.append(time.perf_counter() - tic)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--angles", type=int, default=1500)
    parser.add_argument("--columns", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sinogram, theta_deg = synthetic_sinogram(args.angles, args.columns)
    center = (args.columns - 1) / 2.0
    angles = np.deg2rad(theta_deg)
    results = {"angles": args.angles, "columns": args.columns, "repeats": args.repeats}
    for name in ("dfi", "fbp"):
        direct = getattr(reconstruction, f"{name}_reconstruction")
        extra = {"gpu": False} if name == "fbp" else {}

        def call_direct(direct=direct, extra=extra):
            return direct(sinogram, center, angles=angles, apply_log=False, ncore=1, **extra)

        def call_ours(name=name):
            return reconstruct_slice(sinogram, center, theta_deg, algorithm=name)

        # the same image; angles pass through degrees in ours, so a few mask-edge pixels differ.
        # The reference runs on one numba thread: algotom's multi-threaded fbp races.
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        reference = call_direct().T
        numba.set_num_threads(threads)
        np.testing.assert_allclose(call_ours(), reference, atol=1e-2 * np.abs(reference).max())
        ours, theirs = (
            median_seconds(call_ours, args.repeats),
            median_seconds(call_direct, args.repeats),
        )
        tracemalloc.start()
        call_ours()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[name] = {
            "ours_s": ours,
            "algotom_direct_s": theirs,
            "overhead_percent": 100 * (ours - theirs) / theirs,
            "repeatable": {
                "ours": bool(np.array_equal(call_ours(), call_ours())),
                "algotom_direct": bool(np.array_equal(call_direct(), call_direct())),
            },
            "peak_numpy_bytes_per_slice": peak,
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
