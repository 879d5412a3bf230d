"""Edge-based candidate labels for a user to correct: gradient magnitude + marker watershed (scikit-image)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed

from imaging.segment.classes import GREY_ORDER
from imaging.segment.otsu import otsu_thresholds
from meso.errors import InputError


def autolabel(
    volume: np.ndarray,
    *,
    classes: tuple[int, ...] = GREY_ORDER,
    smoothing_voxels: float = 1.0,
    marker_quantile: float = 0.5,
    margin: float = 0.25,
) -> np.ndarray:
    """Candidate DESIGN labels of a grey volume, as the study bootstrapped its training labels.

    The volume is smoothed by a Gaussian of `smoothing_voxels`; multi-Otsu thresholds of the
    smoothed values split it into `classes` (in grey order). Seeds are voxels in the flat part
    of the image (gradient magnitude below its `marker_quantile`) whose value lies at least
    `margin` of the class's width away from the thresholds; a watershed of the gradient
    magnitude from those seeds then places every other voxel, so boundaries follow edges
    rather than a grey level. The whole volume is held in memory (a few float32 copies).
    """
    volume = np.asarray(volume, np.float32)
    if volume.ndim != 3:
        raise InputError("autolabel", f"expected a 3-D volume, got shape {volume.shape}")
    smooth = ndimage.gaussian_filter(volume, smoothing_voxels) if smoothing_voxels > 0 else volume
    gradient = ndimage.gaussian_gradient_magnitude(volume, max(smoothing_voxels, 0.5))
    thresholds = otsu_thresholds(smooth, len(classes))
    edges = np.concatenate([[smooth.min()], thresholds, [smooth.max()]])
    flat = gradient <= np.quantile(gradient, marker_quantile)
    markers = np.zeros(volume.shape, np.int32)
    for k in range(len(classes)):
        lo, hi = edges[k], edges[k + 1]
        pad = margin * (hi - lo)
        inner_lo = lo if k == 0 else lo + pad
        inner_hi = hi if k == len(classes) - 1 else hi - pad
        markers[flat & (smooth >= inner_lo) & (smooth <= inner_hi)] = k + 1
    del flat, smooth
    regions = watershed(gradient, markers)
    return np.asarray(classes, np.uint8)[regions - 1]
