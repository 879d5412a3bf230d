"""Paganin single-distance phase retrieval for propagation-based phase-contrast projections."""

from __future__ import annotations

import numpy as np
import scipy.fft

from imaging.reconstruction.preprocess import MIN_TRANSMISSION
from meso.errors import InputError

PLANCK_EV_S = 4.135667696e-15
LIGHT_M_PER_S = 299792458.0


def wavelength_m(energy_kev: float) -> float:
    """X-ray wavelength in metres for a photon energy in keV (lambda = h c / E)."""
    return PLANCK_EV_S * LIGHT_M_PER_S / (energy_kev * 1e3)


def paganin_margin_rows(
    energy_kev: float, distance_m: float, pixel_size_um: float, delta_beta: float
) -> int:
    """Detector rows to read beyond a slab so the Paganin filter sees its full support there.

    The filter is a Lorentzian in frequency; its real-space width is about
    sqrt(lambda z delta/beta / (4 pi)) (Paganin et al. 2002), and six widths are kept.
    """
    width_m = np.sqrt(wavelength_m(energy_kev) * distance_m * delta_beta / (4 * np.pi))
    return int(np.ceil(6 * width_m / (pixel_size_um * 1e-6))) + 2


def paganin(
    transmission: np.ndarray,
    *,
    energy_kev: float,
    distance_m: float,
    pixel_size_um: float,
    delta_beta: float,
    pad: int = 32,
) -> np.ndarray:
    """Projected attenuation mu*t (in units of mu x pixel) from flat-corrected intensity, by Paganin.

    Implements T(r) = -ln F^-1[ F[I/I0] / (1 + pi lambda z (delta/beta) |f|^2) ] of Paganin, Mayo,
    Gureyev, Miller & Wilkins, J. Microsc. 206 (2002) 33, for a single material with a known
    delta/beta. Hand-written because algotom's Fresnel filter takes a dimensionless ratio rather
    than energy, distance and pixel size, and TomoPy (which has retrieve_phase) is conda-only.
    Result is -ln of the filtered intensity (the same units as `minus_log`).

    Parameters
    ----------
    transmission : (angle, row, column) or (row, column) flat-corrected intensity I/I0.
    energy_kev : photon energy in keV.
    distance_m : sample-to-detector distance in metres.
    pixel_size_um : detector pixel size in micrometres (effective, at the sample).
    delta_beta : ratio of the refractive index decrement to the absorption index.
    pad : pixels of edge padding on each side of the image against wrap-around.
    """
    for name, value in (
        ("energy_kev", energy_kev),
        ("distance_m", distance_m),
        ("pixel_size_um", pixel_size_um),
        ("delta_beta", delta_beta),
    ):
        if not (np.isfinite(value) and value > 0):
            raise InputError(
                f"--{name.replace('_', '-')}", f"must be a positive number, got {value}"
            )
    images = np.asarray(transmission, np.float32)
    squeeze = images.ndim == 2
    if squeeze:
        images = images[None]
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    rows, cols = padded.shape[1:]
    pixel_m = pixel_size_um * 1e-6
    fy = scipy.fft.fftfreq(rows, d=pixel_m)[:, None]
    fx = scipy.fft.rfftfreq(cols, d=pixel_m)[None, :]
    lorentz = 1.0 + np.pi * wavelength_m(energy_kev) * distance_m * delta_beta * (fx**2 + fy**2)
    filtered = scipy.fft.irfft2(
        scipy.fft.rfft2(padded, axes=(1, 2)) / lorentz, s=(rows, cols), axes=(1, 2)
    )[:, pad : rows - pad, pad : cols - pad]
    out = -np.log(np.clip(filtered, MIN_TRANSMISSION, None)).astype(np.float32)
    return out[0] if squeeze else out
