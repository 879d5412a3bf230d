"""Flat/dark normalisation, Beer-Lambert -log and ring (sinogram stripe) removal for projection slabs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from algotom.prep import removal

from meso.errors import InputError

#: Smallest transmission kept before -log, so dead pixels give a large finite value, not inf.
MIN_TRANSMISSION = 1e-6

# Ring-removal methods, all algotom's (Vo et al., Opt. Express 26 (2018) 28396), each applied to one
# sinogram (angle, column). "all" combines sorting, filtering and large/dead-stripe removal.
STRIPE_METHODS: dict[str, Callable[..., np.ndarray]] = {
    "sorting": removal.remove_stripe_based_sorting,
    "fft": removal.remove_stripe_based_fft,
    "wavelet": removal.remove_stripe_based_wavelet_fft,
    "all": removal.remove_all_stripe,
}
STRIPE_DEFAULTS: dict[str, dict[str, float]] = {
    "sorting": {"size": 21},
    "fft": {"u": 20, "n": 8, "v": 1},
    "wavelet": {"level": 4, "size": 1},
    "all": {"snr": 3.0, "la_size": 51, "sm_size": 21},
}


def normalize(projections: np.ndarray, flats: np.ndarray, darks: np.ndarray | None) -> np.ndarray:
    """Transmission (I - D) / (F - D) with the median flat F and median dark D, clipped to (0, inf).

    Works on a slab (angle, row, column) at once; the medians reject zingers in single flats.
    (Hand-written rather than algotom's flat_field_correction, which corrects one 2-D image at a
    time; this is the same formula applied to the whole slab with numpy broadcasting.)

    Parameters
    ----------
    projections : (angle, row, column) raw counts.
    flats, darks : (n, row, column) open-beam and dark images (darks may be None: zero dark).
    """
    flat = np.median(flats, axis=0).astype(np.float32)
    dark = np.zeros_like(flat) if darks is None else np.median(darks, axis=0).astype(np.float32)
    denominator = flat - dark
    denominator[denominator <= 0] = np.float32(np.nan)  # dead flat pixels: flagged, then clipped
    # one new array, then in place: peak memory is the raw slab plus one copy
    transmission = np.subtract(projections, dark, dtype=np.float32)
    transmission /= denominator
    np.clip(transmission, MIN_TRANSMISSION, None, out=transmission)
    return np.nan_to_num(transmission, copy=False, nan=1.0, posinf=1.0)


def minus_log(transmission: np.ndarray) -> np.ndarray:
    """Projected attenuation -ln(I/I0) (Beer-Lambert), in units of mu x pixel length."""
    attenuation = np.clip(np.asarray(transmission, np.float32), MIN_TRANSMISSION, None)
    np.log(attenuation, out=attenuation)
    return np.negative(attenuation, out=attenuation)


def remove_stripes(sinograms: np.ndarray, method: str = "sorting", **options: float) -> np.ndarray:
    """Remove detector stripes (ring artefacts after reconstruction) from each sinogram of a slab.

    Parameters
    ----------
    sinograms : (angle, row, column) attenuation slab; each row's (angle, column) plane is a sinogram.
    method : "sorting", "fft", "wavelet", "all" (algotom's methods) or "none".
    options : keyword arguments of the algotom function, overriding STRIPE_DEFAULTS[method].
    """
    if method == "none":
        return sinograms
    if method not in STRIPE_METHODS:
        raise InputError(
            "--rings", f"unknown method {method!r}; use none, {', '.join(STRIPE_METHODS)}"
        )
    func = STRIPE_METHODS[method]
    kwargs = {**STRIPE_DEFAULTS[method], **options}
    if method == "sorting" and "size" not in options:
        # algotom's 21-column median suits ~2k-column detectors; on narrow sinograms it spans the
        # object's edges and biases the attenuation, so narrow detectors get a narrower window.
        kwargs["size"] = min(21, max(3, (sinograms.shape[2] // 30) | 1))
    out = np.empty_like(sinograms)
    for row in range(sinograms.shape[1]):
        try:
            out[:, row, :] = func(sinograms[:, row, :], **kwargs)
        except ValueError as exc:  # e.g. "all" refuses noise-free (simulated) sinograms
            raise InputError("--rings", f"{method}: {exc}".replace("\n", " ")) from None
    return out
