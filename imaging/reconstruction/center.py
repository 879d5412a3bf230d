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
    pixel_size_um: float | None = None,
) -> Path:
    """PNG: slices reconstructed at the chosen centre and at offsets either side, plus the metric.

    ``reconstruct_slice(sinogram, center)`` is the reconstruction used (so the figure shows what
    the volume will look like), returning the slice as rows of y and columns of x (the transpose
    of ``imaging.reconstruction.slices.reconstruct_slice``'s (x, y) array) in attenuation per
    pixel. A wrong centre shows crescent or doubled edges. With `pixel_size_um` the slices are
    drawn in micrometres and attenuation in 1/m (the volume's units), else in pixels and
    1/pixel; x is horizontal and y vertical, origin lower left, as in every map of the package
    (``meso.io.figures.show_plane``), on one colour scale with a colorbar per slice.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from meso.io.figures import show_plane

    scale = 1.0 / (pixel_size_um * 1e-6) if pixel_size_um else 1.0
    unit = "1/m" if pixel_size_um else "1/pixel"
    slices = [np.asarray(reconstruct_slice(sinogram, center + offset)).T * scale
              for offset in offsets_px]  # fmt: skip
    chosen = slices[offsets_px.index(0.0)] if 0.0 in offsets_px else slices[0]
    vmin, vmax = np.nanpercentile(chosen, [0.5, 99.5])
    n = len(offsets_px) + 1
    fig, axes = plt.subplots(1, n, figsize=(4.4 * n, 4.2), constrained_layout=True)
    for ax, offset, plane in zip(axes[:-1], offsets_px, slices, strict=True):
        show_plane(ax, plane, ("x", "y"), pixel_size_um, f"attenuation ({unit})", cmap="gray",
                   vmin=vmin, vmax=vmax)  # fmt: skip
        ax.set_title(f"centre {center + offset:.2f} px" + (" (chosen)" if offset == 0 else ""))
    trial = center + np.linspace(-5.0, 5.0, 41)
    axes[-1].plot(trial, center_metric(sinogram, theta_deg, trial), "k.-")
    axes[-1].axvline(center, color="tab:red", label="chosen")
    if auto_center is not None and abs(auto_center - center) > 1e-9:
        axes[-1].axvline(auto_center, color="tab:blue", ls="--", label="automatic")
    axes[-1].set_xlabel("centre of rotation (detector pixel)")
    axes[-1].set_ylabel("Vo Fourier metric (lower is better)")
    axes[-1].legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)
    return Path(path)
