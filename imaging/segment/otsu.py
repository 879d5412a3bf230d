"""The baseline: multi-level Otsu thresholds of the grey values, one class per phase in grey order."""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_multiotsu

from imaging.segment.classes import GREY_ORDER
from meso.errors import InputError


def otsu_thresholds(values: np.ndarray, n_classes: int) -> np.ndarray:
    """The n_classes - 1 multi-Otsu thresholds (256-bin histogram) of a set of grey values."""
    values = np.asarray(values, np.float32).ravel()
    if values.size < n_classes or np.ptp(values) == 0:
        raise InputError("otsu", f"cannot threshold {values.size} voxels of constant value")
    if n_classes == 2:
        from skimage.filters import threshold_otsu

        return np.array([threshold_otsu(values)])
    return threshold_multiotsu(values, classes=n_classes, nbins=256)


def otsu(
    volume: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    per_slice: bool = False,
    classes: tuple[int, ...] = GREY_ORDER,
    slice_axis: int = 2,
) -> np.ndarray:
    """Label a grey volume by multi-level Otsu thresholding.

    Thresholds are computed from the voxels in `mask` (default all) and applied to every voxel;
    grey values between consecutive thresholds get `classes` in order (default pore < lithium <
    collector < LLZO, the attenuation order at 76.2 keV). With ``per_slice`` each slice across
    `slice_axis` gets its own thresholds (slices with too few mask voxels use the global ones).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((4, 4, 4), np.float32); v[2:] = 1.0
    >>> otsu(v, classes=(0, 1))[:, 0, 0].tolist()
    [0, 0, 1, 1]
    """
    volume = np.asarray(volume, np.float32)
    if volume.ndim != 3:
        raise InputError("otsu", f"expected a 3-D volume, got shape {volume.shape}")
    if mask is not None and mask.shape != volume.shape:
        raise InputError("--mask", f"mask shape {mask.shape} differs from {volume.shape}")
    lut = np.asarray(classes, np.uint8)
    selected = volume if mask is None else volume[mask]
    global_thresholds = otsu_thresholds(selected, len(classes))
    if not per_slice:
        return lut[np.digitize(volume, global_thresholds)]
    out = np.empty(volume.shape, np.uint8)
    for k in range(volume.shape[slice_axis]):
        index = [slice(None)] * 3
        index[slice_axis] = k
        plane = volume[tuple(index)]
        values = plane if mask is None else plane[mask[tuple(index)]]
        try:
            thresholds = otsu_thresholds(values, len(classes)) if values.size > 64 else None
        except (InputError, ValueError):
            thresholds = None
        out[tuple(index)] = lut[
            np.digitize(plane, global_thresholds if thresholds is None else thresholds)
        ]
    return out
