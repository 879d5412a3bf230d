"""One function for slice reconstruction with algotom DFI (default), algotom FBP or TomoPy gridrec."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np
from algotom.rec import reconstruction

from meso.errors import InputError

ALGORITHMS = ("dfi", "fbp", "gridrec")


def tomopy_available() -> bool:
    """True when TomoPy imports (conda installs); gridrec needs it."""
    try:
        import tomopy  # noqa: F401
    except ImportError:
        return False
    return True


def check_algorithm(algorithm: str) -> None:
    """Raise InputError for an unknown algorithm, or gridrec without TomoPy."""
    if algorithm not in ALGORITHMS:
        raise InputError(
            "--algorithm", f"unknown {algorithm!r}; use one of {', '.join(ALGORITHMS)}"
        )
    if algorithm == "gridrec" and not tomopy_available():
        raise InputError(
            "--algorithm",
            "gridrec needs TomoPy (conda-forge only); use dfi, the same Fourier family",
        )


@contextmanager
def _single_numba_thread() -> Iterator[None]:
    """Run numba-parallel kernels called inside on one thread (of the calling thread only:
    numba's thread count is thread-local), restoring the previous count afterwards."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def reconstruct_slice(
    sinogram: np.ndarray,
    center: float,
    theta_deg: np.ndarray,
    *,
    algorithm: str = "dfi",
    filter_name: str = "hann",
) -> np.ndarray:
    """Reconstruct one parallel-beam slice, returned as a (x, y) array in units of 1/pixel.

    Parameters
    ----------
    sinogram : (angle, column) projected attenuation (after -log or phase retrieval).
    center : rotation axis position in pixels from the centre of the first detector column.
    theta_deg : projection angles in degrees.
    algorithm : "dfi" (algotom direct Fourier inversion, the gridrec family; default), "fbp"
        (algotom filtered back-projection, CPU) or "gridrec" (TomoPy, when it imports).
    filter_name : reconstruction filter ("hann", "ramp"/"ramlak", "shepp", ...).

    Returns
    -------
    image : (n_columns, n_columns) float32, attenuation per pixel; axis 0 = x = detector column
        direction at theta = 0, axis 1 = y (the beam direction at theta = 0). Divide by the pixel
        size in metres for mu in 1/m.
    """
    check_algorithm(algorithm)
    sino = np.ascontiguousarray(sinogram, dtype=np.float32)
    angles = np.deg2rad(np.asarray(theta_deg, np.float64))
    if algorithm == "dfi":
        image = reconstruction.dfi_reconstruction(
            sino, center, angles=angles, filter_name=filter_name, apply_log=False, ncore=1
        )
    elif algorithm == "fbp":
        # algotom's CPU back-projection (back_projection_cpu, numba parallel=True) runs
        # `prange` over the projection angles and every angle adds into the same image pixels
        # (`recon[y, x] += val`): on more than one numba thread those updates race, so runs differ
        # (lost updates, in streaks) and are wrong. `ncore` does not reach it (it only threads
        # the ramp filter of 3-D input), so the kernel runs on one numba thread here: the
        # additions then happen in a fixed order and the slice is bit-for-bit reproducible.
        with _single_numba_thread():
            image = reconstruction.fbp_reconstruction(
                sino,
                center,
                angles=angles,
                filter_name=filter_name,
                apply_log=False,
                gpu=False,
                ncore=1,
            )
    else:
        image = reconstruction.gridrec_reconstruction(
            sino, center, angles=angles, filter_name=filter_name, apply_log=False, ncore=1
        )
    # algotom returns (image row, image column) with columns along the detector; the contract's
    # volumes are (x, y, z), so the detector (column) direction becomes axis 0.
    return np.ascontiguousarray(np.asarray(image, np.float32).T)
