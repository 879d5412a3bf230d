"""2.5-D inputs: a slice with its neighbours as channels, normalised, padded to the network's stride."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from meso.errors import InputError

STRIDE = 32  # five stride-2 stages in the ResNet encoder
# How grey values are standardised before the network: "dataset" = one mean/std of the training
# voxels for every volume (model.json keeps them); "scan-median" = each volume by its own median
# and 1.4826 x MAD; "scan-peaks" = each volume by its own two main histogram peaks (low peak -> 0,
# high peak -> 1: lithium/gas and LLZO on the virtual cell), computed again for every predicted volume.
NORMALISATIONS = ("dataset", "scan-median", "scan-peaks")
SAMPLE_VALUES = 1 << 22  # voxels sampled per volume for its statistics (16 MB of float32)


def context_stack(block: np.ndarray, first: int, count: int, context: int) -> np.ndarray:
    """(count, 2 context + 1, a, b) channels for slices first..first+count of `block` (slices
    along axis 0), neighbours beyond the ends replaced by the end slice."""
    n = block.shape[0]
    offsets = np.arange(-context, context + 1)
    index = np.clip(np.arange(first, first + count)[:, None] + offsets[None, :], 0, n - 1)
    return block[index]


def normalise(x: np.ndarray, stats: dict[str, float]) -> np.ndarray:
    return ((x - stats["mean"]) / stats["std"]).astype(np.float32)


def _sample(volume: Any, limit: int = SAMPLE_VALUES) -> np.ndarray:
    """Up to about `limit` voxels of a (x, y, z) array or a GreyVolume, read slice by slice
    (every k-th voxel along each axis), so a volume larger than memory can be measured."""
    array = getattr(volume, "array", volume)
    shape = tuple(int(n) for n in array.shape)
    step = max(1, int(np.ceil((np.prod(shape, dtype=np.float64) / limit) ** (1 / 3))))
    parts = [
        np.asarray(array[i, ::step, ::step], np.float32).ravel() for i in range(0, shape[0], step)
    ]
    values = np.concatenate(parts)
    return values[np.isfinite(values)]


def _two_peaks(values: np.ndarray) -> tuple[float, float] | None:
    """The grey values of the two highest histogram peaks at least 1/8 of the range apart."""
    lo, hi = np.percentile(values, [1, 99])
    if not hi > lo:
        return None
    counts, edges = np.histogram(values, bins=256, range=(lo, hi))
    smooth = ndimage.gaussian_filter1d(counts.astype(float), 2.0)
    peaks = [
        i
        for i in range(1, 255)
        if smooth[i] >= smooth[i - 1] and smooth[i] > smooth[i + 1] and smooth[i] > 0
    ]
    peaks.sort(key=lambda i: -smooth[i])
    first = peaks[0] if peaks else None
    second = next((i for i in peaks[1:] if abs(i - first) >= 32), None)
    if first is None or second is None:
        return None
    centres = (edges[:-1] + edges[1:]) / 2
    a, b = sorted((float(centres[first]), float(centres[second])))
    return a, b


def scan_statistics(volume: Any, method: str) -> dict[str, float]:
    """{"mean", "std"} standardising one volume by its own statistics (`method` of
    NORMALISATIONS, not "dataset"): median and 1.4826 MAD, or the two main peaks (low -> 0,
    high -> 1; median/MAD where the histogram has no second peak)."""
    values = _sample(volume)
    if method == "scan-peaks":
        peaks = _two_peaks(values)
        if peaks is not None:
            return {"mean": peaks[0], "std": peaks[1] - peaks[0], "method": "peaks"}
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median))) * 1.4826
    return {"mean": median, "std": mad or float(values.std()) or 1.0, "method": "median-mad"}


def volume_normalisation(normalisation: dict[str, Any], volume: Any) -> dict[str, float]:
    """The {"mean", "std"} to standardise `volume` with, from model.json's "normalisation":
    the training set's (mode "dataset", and every model folder written before modes existed)
    or the volume's own (`scan_statistics`)."""
    mode = normalisation.get("mode", "dataset")
    if mode == "dataset":
        return normalisation
    if mode not in NORMALISATIONS:
        raise InputError("model.json", f"unknown normalisation mode {mode!r}")
    return scan_statistics(volume, mode)


def pad_to_stride(x: np.ndarray, stride: int = STRIDE) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad the last two axes up to a multiple of `stride`; returns the original size."""
    a, b = x.shape[-2:]
    pa, pb = (-a) % stride, (-b) % stride
    if pa or pb:
        pad = [(0, 0)] * (x.ndim - 2) + [(0, pa), (0, pb)]
        x = np.pad(x, pad, mode="reflect" if min(a, b) > max(pa, pb) else "edge")
    return x, (a, b)
