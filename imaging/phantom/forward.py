"""Forward model of the beamline: attenuation/phase at an energy, parallel-beam projection, Fresnel
propagation, photon noise, flats/darks and detector stripes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import xraydb
from scipy import ndimage

from imaging.phantom.cell import BOUNDARY, COLLECTOR, GRAIN, LITHIUM, PORE
from imaging.reconstruction.phase import wavelength_m

# (formula, density g/cm^3) per label; the pore/void is vacuum (argon-filled cells differ by <1e-3).
MATERIALS = {
    GRAIN: ("Li7La3Zr2O12", 5.1),
    BOUNDARY: ("Li7La3Zr2O12", 5.1),
    LITHIUM: ("Li", 0.534),
    COLLECTOR: ("Fe", 7.87),
}


def optical_constants(energy_kev: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-label linear attenuation mu (1/m) and refractive decrement delta at an energy (xraydb)."""
    mu = np.zeros(256)
    delta = np.zeros(256)
    for label, (formula, density) in MATERIALS.items():
        mu[label] = xraydb.material_mu(formula, energy_kev * 1e3, density=density) * 100.0
        delta[label] = xraydb.xray_delta_beta(formula, density, energy_kev * 1e3)[0]
    mu[PORE] = delta[PORE] = 0.0
    return mu, delta


@dataclass
class BeamlineSettings:
    """Scan and detector parameters of the virtual beamline.

    photons_per_pixel : open-beam counts per pixel per projection (dose); None = noise-free.
    distance_m : sample-detector distance for Fresnel propagation (0 = pure absorption).
    stripe_fraction, stripe_strength : share of detector columns whose gain drifts between the
        flats and the projections, and the size of that drift (relative), giving ring artefacts.
    """

    energy_kev: float = 76.2
    n_angles: int = 180
    distance_m: float = 0.0
    photons_per_pixel: float | None = 2.0e4
    n_flats: int = 10
    n_darks: int = 10
    dark_counts: float = 100.0
    read_noise_counts: float = 3.0
    stripe_fraction: float = 0.02
    stripe_strength: float = 0.005
    seed: int = 0


def project(
    mu_per_m: np.ndarray,
    voxel_size_um: float,
    theta_deg: np.ndarray,
    *,
    delta: np.ndarray | None = None,
    energy_kev: float | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Parallel-beam line integrals about the z axis: (angle, row = z, column = x) arrays of
    mu*t (dimensionless) and, when `delta` and `energy_kev` are given, of the phase shift
    -k * integral(delta) in radians.

    The beam runs along y of the volume rotated by +theta about z (scipy.ndimage.rotate, linear
    interpolation), which is the convention `imaging.reconstruction.slices.reconstruct_slice` inverts.
    """
    voxel_m = voxel_size_um * 1e-6
    n_angles, (nx, _, nz) = len(theta_deg), mu_per_m.shape
    attenuation = np.empty((n_angles, nz, nx), np.float32)
    phase = None
    if delta is not None:
        phase = np.empty((n_angles, nz, nx), np.float32)
        wavenumber = 2 * np.pi / wavelength_m(energy_kev)
    for i, angle in enumerate(theta_deg):
        rotated = ndimage.rotate(mu_per_m, angle, axes=(0, 1), reshape=False, order=1)
        attenuation[i] = rotated.sum(axis=1).T * voxel_m
        if delta is not None:
            rotated = ndimage.rotate(delta, angle, axes=(0, 1), reshape=False, order=1)
            phase[i] = -wavenumber * rotated.sum(axis=1).T * voxel_m
    return attenuation, phase


def fresnel_intensity(
    attenuation: np.ndarray,
    phase: np.ndarray,
    energy_kev: float,
    distance_m: float,
    pixel_um: float,
) -> np.ndarray:
    """Intensity after free-space propagation of exp(-mu t / 2 + i phi) over distance_m (Fresnel
    propagator exp(-i pi lambda z |f|^2) in Fourier space, edge-padded against wrap-around)."""
    pad = 16
    wave = np.exp(-attenuation / 2.0 + 1j * phase).astype(np.complex64)
    wave = np.pad(wave, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    rows, cols = wave.shape[1:]
    fy = scipy.fft.fftfreq(rows, d=pixel_um * 1e-6)[:, None]
    fx = scipy.fft.fftfreq(cols, d=pixel_um * 1e-6)[None, :]
    kernel = np.exp(-1j * np.pi * wavelength_m(energy_kev) * distance_m * (fx**2 + fy**2))
    propagated = scipy.fft.ifft2(scipy.fft.fft2(wave, axes=(1, 2)) * kernel, axes=(1, 2))
    return (np.abs(propagated[:, pad:-pad, pad:-pad]) ** 2).astype(np.float32)


def simulate_scan(
    labels: np.ndarray, voxel_size_um: float, settings: BeamlineSettings
) -> dict[str, np.ndarray]:
    """Projections, flats, darks, angles and the true attenuation volume of a label volume.

    Returns a dict with "data" (angle, row, column) counts, "flats", "darks", "theta_deg" and
    "attenuation_per_m" (x, y, z), the ground truth a reconstruction should return.
    """
    rng = np.random.default_rng(settings.seed)
    mu_table, delta_table = optical_constants(settings.energy_kev)
    mu = mu_table[labels].astype(np.float32)
    theta = np.linspace(0.0, 180.0, settings.n_angles, endpoint=False)
    with_phase = settings.distance_m > 0
    delta = delta_table[labels].astype(np.float32) if with_phase else None
    attenuation, phase = project(
        mu, voxel_size_um, theta, delta=delta, energy_kev=settings.energy_kev
    )
    if with_phase:
        intensity = fresnel_intensity(
            attenuation, phase, settings.energy_kev, settings.distance_m, voxel_size_um
        )
    else:
        intensity = np.exp(-attenuation)
    del attenuation, phase
    n_rows, n_cols = intensity.shape[1:]
    # Detector: smooth column gain (scintillator), and some columns whose gain drifts after the
    # flats were taken (uncorrectable by flat-fielding: stripes in sinograms, rings in slices).
    gain = 1.0 + 0.05 * ndimage.gaussian_filter(rng.normal(size=(n_rows, n_cols)), 4) * 4
    drift = np.ones(n_cols)
    n_bad = round(settings.stripe_fraction * n_cols)
    bad = rng.choice(n_cols, size=n_bad, replace=False)
    drift[bad] += settings.stripe_strength * rng.choice([-1.0, 1.0], size=n_bad)
    open_beam = (settings.photons_per_pixel or 1.0e4) * gain

    def counts(expected: np.ndarray) -> np.ndarray:
        if settings.photons_per_pixel is not None:
            expected = rng.poisson(expected).astype(np.float32)
        dark = settings.dark_counts + settings.read_noise_counts * rng.standard_normal(
            expected.shape
        )
        return (expected + dark).astype(np.float32)

    data = counts(open_beam[None] * drift[None, None, :] * intensity)
    flats = counts(np.broadcast_to(open_beam, (settings.n_flats, n_rows, n_cols)))
    darks = counts(np.zeros((settings.n_darks, n_rows, n_cols)))
    return {
        "data": data,
        "flats": flats,
        "darks": darks,
        "theta_deg": theta,
        "attenuation_per_m": mu,
        "mu_table_per_m": mu_table[: max(MATERIALS) + 1],
        "delta_table": delta_table[: max(MATERIALS) + 1],
    }
