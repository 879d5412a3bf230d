"""Numba kernels over the columns along the cell axis: edge crossings, label faces, counts (exact numpy replicas).

Each kernel visits a column once and stops at what it needs (a crossing walks only to the
first voxel above the half level, a count only between its two edges) instead of building
whole-block temporaries; `nogil` and `prange` over the first lateral axis use both cores.
The arithmetic (float32 fractions, float64 positions and depths) is that of the numpy code
in `regions` and `maps`, so the results are bit-identical (tests/imaging/test_quantify.py).
"""

from __future__ import annotations

import numba
import numpy as np

GRAIN, BOUNDARY, LITHIUM, COLLECTOR = 1, 2, 3, 4
BRIGHT = np.zeros(256, np.float32)  # a label's level: LLZO and steel 1, lithium and pores 0
BRIGHT[[GRAIN, BOUNDARY, COLLECTOR]] = 1.0
HALF = np.float32(0.5)

_jit = numba.njit(nogil=True, cache=True, error_model="numpy")  # x/0 gives inf or NaN
_pjit = numba.njit(nogil=True, cache=True, error_model="numpy", parallel=True)


@_jit
def _position(previous: int, v0, v1, half, step: int) -> float:
    """Sub-voxel crossing between voxel centres `previous` and `previous + step` as `_crossing`
    computes it: frac in float32, clipped to [0, 1] with NaN kept, the position in float64."""
    frac = (half - v0) / (v1 - v0)
    if frac < 0:
        frac = np.float32(0.0)
    elif frac > 1:
        frac = np.float32(1.0)
    return (previous + 0.5) + step * np.float64(frac)


@_pjit
def grey_crossings(profile, half, start: int, stop: int, step: int, out) -> None:
    """`regions._crossing` on float32 (a, b, c) `profile` with (a, b) float32 `half`, into out."""
    n_a, n_b, _ = profile.shape
    n = len(range(start, stop, step))
    for a in numba.prange(n_a):
        for b in range(n_b):
            out[a, b] = np.nan
            if n < 2:
                continue
            h = half[a, b]
            for k in range(1, n):
                c = start + k * step
                v1 = profile[a, b, c]
                if v1 >= h:
                    out[a, b] = _position(c - step, profile[a, b, c - step], v1, h, step)
                    break


@_jit
def _label_crossing(column, start: int, stop: int, step: int) -> float:
    """`_crossing` of one label column's level (BRIGHT) at the half level 0.5: a voxel face."""
    n = len(range(start, stop, step))
    for k in range(1, n):
        c = start + k * step
        v1 = BRIGHT[column[c]]
        if v1 >= HALF:
            return _position(c - step, BRIGHT[column[c - step]], v1, HALF, step)
    return np.nan


@_jit
def _not_lithium(column, near: float, far: float, sign: int) -> int:
    """`maps.lithium_thickness_um`'s count for one column: voxels whose centres lie between the
    electrode's edges (depth = sign (near - centre) in (0, |near - far|)) not labelled lithium."""
    extent = abs(near - far)
    if not (extent >= 0):  # NaN edge: masked out by the caller
        return 0
    lowest = near - extent if sign > 0 else near  # the centres counted lie in (lowest, +extent)
    low = max(int(np.floor(lowest)) - 1, 0)
    high = min(int(np.ceil(lowest + extent)) + 1, column.shape[0])
    count = 0
    for c in range(low, high):
        depth = sign * (near - (c + 0.5))
        if depth > 0 and depth < extent and column[c] != LITHIUM:
            count += 1
    return count


@_pjit
def label_columns(labels, middles, core_start: int, core_stop: int, edges, not_li, core) -> None:
    """Per column of uint8 (a, b, c) `labels`: the four faces (edges[0..3] = bottom collector,
    bottom pellet, top pellet, top collector) walking out from the electrodes' `middles`
    (bottom, top) as `find_edges(..., half_level=0.5)`, the voxels between each electrode's
    faces not labelled lithium (not_li[0] bottom, [1] top) and the bright fraction of
    [core_start, core_stop) as the float32 mean `cell_columns` takes."""
    n_a, n_b, n_c = labels.shape
    length = np.float32(core_stop - core_start)
    bottom, top = middles[0], middles[1]
    for a in numba.prange(n_a):
        for b in range(n_b):
            column = labels[a, b]
            edges[0, a, b] = _label_crossing(column, bottom, -1, -1)
            edges[1, a, b] = _label_crossing(column, bottom, n_c, 1)
            edges[2, a, b] = _label_crossing(column, top, -1, -1)
            edges[3, a, b] = _label_crossing(column, top, n_c, 1)
            not_li[0, a, b] = _not_lithium(column, edges[1, a, b], edges[0, a, b], 1)
            not_li[1, a, b] = _not_lithium(column, edges[2, a, b], edges[3, a, b], -1)
            bright = 0
            for c in range(core_start, core_stop):
                bright += BRIGHT[column[c]] > 0
            core[a, b] = np.float32(bright) / length


@_pjit
def bright_counts(labels, out) -> None:
    """Add to `out` (c,) int64 the number of bright-labelled voxels (LLZO, steel) per index c."""
    n_a, n_b, n_c = labels.shape
    partial = np.zeros((n_a, n_c), np.int64)
    for a in numba.prange(n_a):
        for b in range(n_b):
            for c in range(n_c):
                partial[a, c] += BRIGHT[labels[a, b, c]] > 0
    for a in range(n_a):
        out += partial[a]
