"""Centre-of-rotation search (algotom's Vo method) with a diagnostic figure of the search."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from algotom.prep import calculation
from scipy import ndimage

from meso.errors import InputError
from meso.io.atomic import atomic_path


def sinogram_180(sinogram: np.ndarray, theta_deg: np.ndarray) -> np.ndarray:
    """The rows of a sinogram whose angles lie in one half-turn [theta_0, theta_0 + 180]."""
    theta = np.asarray(theta_deg, float) - float(theta_deg[0])
    keep = theta <= 180.0 + 1e-6
    if np.ptp(theta[keep]) < 170.0:
        raise InputError(
            "theta", f"the scan covers {np.ptp(theta):.1f} degrees; a centre search needs 180"
        )
    return sinogram[keep]


def find_center(
    sinogram: np.ndarray, theta_deg: np.ndarray, *, search_radius_px: float | None = None
) -> float:
    """Centre of rotation (column, in pixels from the first column's centre) of a 180-degree scan.

    Uses algotom's ``find_center_vo`` (Vo, Atwood & Drakopoulos, Opt. Express 22 (2014) 19078):
    the double-wedge Fourier metric of the sinogram joined with its flipped mirror, coarse search
    then 0.25-pixel refinement. Image-sharpness or entropy scores are deliberately not used: on real
    scans they pick centres several pixels off.

    Parameters
    ----------
    sinogram : (angle, column) attenuation sinogram (after -log).
    theta_deg : its angles in degrees.
    search_radius_px : search only this far either side of the detector middle (default: 1/8 width).
    """
    sino = sinogram_180(np.asarray(sinogram, np.float32), theta_deg)
    n_cols = sino.shape[1]
    middle = (n_cols - 1) / 2.0
    radius = search_radius_px if search_radius_px is not None else n_cols / 8.0
    start, stop = int(np.floor(middle - radius)), int(np.ceil(middle + radius))
    return float(calculation.find_center_vo(sino, start=start, stop=stop, step=0.25, ncore=1))


def center_metric(
    sinogram: np.ndarray, theta_deg: np.ndarray, centers: np.ndarray, *, ratio: float = 0.5
) -> np.ndarray:
    """algotom's Vo metric (lower is better) at each trial centre, as its fine search computes it."""
    sino = sinogram_180(np.asarray(sinogram, np.float32), theta_deg)
    sino = ndimage.gaussian_filter(sino, (2, 2), mode="reflect")
    n_rows, n_cols = sino.shape
    mask = calculation.make_inverse_double_wedge_mask(2 * n_rows, n_cols, 0.5 * ratio * n_cols)
    flip, comp = np.fliplr(sino), np.flipud(sino)
    return np.array(
        [calculation.calculate_center_metric(c, sino, flip, comp, mask) for c in centers]
    )


def save_center_figure(
    path: str | os.PathLike,
    sinogram: np.ndarray,
    theta_deg: np.ndarray,
    center: float,
    reconstruct_slice,
    *,
    offsets_px: tuple[float, ...] = (-3.0, 0.0, 3.0),
    auto_center: float | None = None,
) -> Path:
    """PNG: slices reconstructed at the chosen centre and at offsets either side, plus the metric.

    ``reconstruct_slice(sinogram, center)`` is the reconstruction used (so the figure shows what
    the volume will look like). A wrong centre shows crescent or doubled edges.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(offsets_px) + 1, figsize=(4 * (len(offsets_px) + 1), 4))
    for ax, offset in zip(axes[:-1], offsets_px, strict=True):
        image = reconstruct_slice(sinogram, center + offset)
        ax.imshow(image, cmap="gray")
        ax.set_title(f"centre {center + offset:.2f}" + (" (chosen)" if offset == 0 else ""))
        ax.axis("off")
    trial = center + np.linspace(-5.0, 5.0, 41)
    axes[-1].plot(trial, center_metric(sinogram, theta_deg, trial), "k.-")
    axes[-1].axvline(center, color="tab:red", label="chosen")
    if auto_center is not None and abs(auto_center - center) > 1e-9:
        axes[-1].axvline(auto_center, color="tab:blue", ls="--", label="automatic")
    axes[-1].set_xlabel("centre of rotation (pixel)")
    axes[-1].set_ylabel("Vo Fourier metric (lower is better)")
    axes[-1].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    return Path(path)
