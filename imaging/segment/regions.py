"""Where the electrodes and the electrolyte are: slabs along the cell axis, located from labels."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from imaging.segment.classes import BOUNDARY, COLLECTOR, GRAIN, LITHIUM, PORE
from meso.errors import InputError
from meso.microstructure import AXES, axis_index

REGIONS = ("top", "bottom", "electrolyte", "all")


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True."""
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def region_range(labels: np.ndarray, cell_axis: str, region: str) -> tuple[int, int]:
    """[start, stop) along the cell axis of `region`.

    Each slice across the cell axis is given its dominant solid (LLZO, lithium or collector).
    The electrolyte is the longest run of LLZO slices; "top" / "bottom" is the lithium electrode
    between it and the next collector slice at the high / low end (voids included, so a stripped
    interface stays inside the region); "all" is the whole axis.
    """
    if region not in REGIONS:
        raise InputError("--region", f"expected one of {', '.join(REGIONS)}, got {region!r}")
    axis = axis_index(cell_axis)
    n = labels.shape[axis]
    if region == "all":
        return 0, n
    other = tuple(a for a in range(3) if a != axis)
    counts = np.stack(
        [
            np.count_nonzero(np.isin(labels, (GRAIN, BOUNDARY)), axis=other),
            np.count_nonzero(labels == LITHIUM, axis=other),
            np.count_nonzero(labels == COLLECTOR, axis=other),
        ]
    )
    dominant = np.where(counts.sum(0) > 0, counts.argmax(0), -1)
    runs = _runs(dominant == 0)
    if not runs:
        raise InputError("--region", "no LLZO slices in the labels to locate the electrolyte by")
    lo, hi = max(runs, key=lambda r: r[1] - r[0])
    if region == "electrolyte":
        return lo, hi
    if region == "top":
        collector = np.flatnonzero(dominant[hi:] == 2)
        stop = hi + int(collector[0]) if len(collector) else n
        start = hi
    else:
        collector = np.flatnonzero(dominant[:lo] == 2)
        start = int(collector[-1]) + 1 if len(collector) else 0
        stop = lo
    if stop <= start or not np.any(dominant[start:stop] == 1):
        raise InputError(
            "--region", f"no lithium electrode at the {region} of the {AXES[axis]} axis"
        )
    return start, stop


def footprint(labels: np.ndarray, cell_axis: str) -> np.ndarray:
    """The cell's cross-section: columns along the cell axis that hold any solid, holes filled."""
    axis = axis_index(cell_axis)
    solid = np.any(labels != PORE, axis=axis)
    return ndimage.binary_fill_holes(ndimage.binary_opening(solid, iterations=1))


def region_mask(labels: np.ndarray, cell_axis: str, region: str) -> np.ndarray:
    """Voxels of `region` inside the cell's footprint (the gas around the cell left out), so that
    pore metrics measure the electrode's porosity; "all" is every voxel."""
    if region == "all":
        return np.ones(labels.shape, bool)
    start, stop = region_range(labels, cell_axis, region)
    axis = axis_index(cell_axis)
    mask = np.expand_dims(footprint(labels, cell_axis), axis)
    shape = [1, 1, 1]
    shape[axis] = labels.shape[axis]
    along = np.zeros(shape, bool)
    index = [slice(None)] * 3
    index[axis] = slice(start, stop)
    along[tuple(index)] = True
    return np.broadcast_to(mask, labels.shape) & along
