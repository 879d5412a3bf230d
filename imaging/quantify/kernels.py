"""Numba kernels over the columns along the cell axis: edge crossings, label faces, counts (exact numpy replicas).

Each kernel visits a column once and stops at what it needs (a crossing walks only to the
first voxel above the half level, a count only between its two edges) instead of building
whole-block temporaries. They are serial and release the GIL: callers run blocks on threads
(on the shared 2-core machine a `prange` kernel waited for its descheduled second thread at
every call: 0.07 ns/voxel serial against 0.2-2.3 ns/voxel parallel under a load average of 9).
The arithmetic (float32 fractions, float64 positions and depths) is that of the numpy code
in `regions` and `maps`, so the results are bit-identical (tests/imaging/test_quantify.py).
"""

from __future__ import annotations

import numba
import numpy as np

GRAIN, BOUNDARY, LITHIUM, COLLECTOR = 1, 2, 3, 4
HALF = np.float32(0.5)  # the half level of the labels' level: LLZO and steel 1, Li and pores 0

_jit = numba.njit(nogil=True, cache=True, error_model="numpy")  # x/0 gives inf or NaN


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


@_jit
def grey_crossings(profile, half, start: int, stop: int, step: int, out) -> None:
    """`regions._crossing` on float32 (a, b, c) `profile` with (a, b) float32 `half`, into out."""
    n_a, n_b, _ = profile.shape
    n = len(range(start, stop, step))
    for a in range(n_a):
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


def _bytes(value: int) -> np.uint64:
    return np.uint64(0x0101010101010101 * value)


LOW7, HIGH = _bytes(0x7F), _bytes(0x80)
BRIGHT_BYTES = (_bytes(GRAIN), _bytes(BOUNDARY), _bytes(COLLECTOR))
LITHIUM_BYTES, ONES = _bytes(LITHIUM), _bytes(1)
SEVEN, TOP_BYTE = np.uint64(7), np.uint64(56)


@_jit
def _is_bright(label) -> bool:
    return label == GRAIN or label == BOUNDARY or label == COLLECTOR


@_jit
def _nonzero_bytes(word):
    """The high bit of each byte of `word` that is not zero (exact: no carry between bytes)."""
    return (((word & LOW7) + LOW7) | word) & HIGH


@_jit
def _any_bright(word) -> bool:
    equal = ~(_nonzero_bytes(word ^ BRIGHT_BYTES[0]) & _nonzero_bytes(word ^ BRIGHT_BYTES[1])
              & _nonzero_bytes(word ^ BRIGHT_BYTES[2]))  # fmt: skip
    return (equal & HIGH) != 0


@_jit
def _not_lithium_bytes(word) -> int:
    """How many of the word's eight labels are not lithium (the high bits summed by a multiply)."""
    return int(((_nonzero_bytes(word ^ LITHIUM_BYTES) >> SEVEN) * ONES) >> TOP_BYTE)


@_jit
def _face(column, c: int, step: int) -> float:
    """`_crossing`'s position where the walk meets bright voxel c coming from c - step."""
    v0 = np.float32(1.0) if _is_bright(column[c - step]) else np.float32(0.0)
    return _position(c - step, v0, np.float32(1.0), HALF, step)


@_jit
def _walk_up(column, words, offset: int, start: int) -> tuple[float, int]:
    """`_crossing` of one label column's level (bright 1, dark 0) at the half level 0.5 walking
    up from `start` (a voxel face, or start + 0.5 when the start and its neighbour are bright),
    and the dark voxels passed (the start excluded) that are not lithium. Eight labels at a time
    where the column's bytes fill a word of `words` (the block's bytes as uint64)."""
    n_c = column.shape[0]
    not_li = 0
    c = start + 1
    while c < n_c and (offset + c) & 7:
        if _is_bright(column[c]):
            return _face(column, c, 1), not_li
        not_li += column[c] != LITHIUM
        c += 1
    while c + 8 <= n_c:
        word = words[(offset + c) >> 3]
        if _any_bright(word):
            break
        not_li += _not_lithium_bytes(word)
        c += 8
    while c < n_c:
        if _is_bright(column[c]):
            return _face(column, c, 1), not_li
        not_li += column[c] != LITHIUM
        c += 1
    return np.nan, not_li


@_jit
def _walk_down(column, words, offset: int, start: int) -> tuple[float, int]:
    """`_walk_up` walking down from `start`."""
    not_li = 0
    c = start - 1
    while c >= 0 and (offset + c + 1) & 7:
        if _is_bright(column[c]):
            return _face(column, c, -1), not_li
        not_li += column[c] != LITHIUM
        c -= 1
    while c >= 7:
        word = words[(offset + c - 7) >> 3]
        if _any_bright(word):
            break
        not_li += _not_lithium_bytes(word)
        c -= 8
    while c >= 0:
        if _is_bright(column[c]):
            return _face(column, c, -1), not_li
        not_li += column[c] != LITHIUM
        c -= 1
    return np.nan, not_li


@_jit
def _label_columns(labels, words, middles, core_start, core_stop, edges, not_li, core, dark):
    n_a, n_b, n_c = labels.shape
    length = np.float32(core_stop - core_start)
    for a in range(n_a):
        for b in range(n_b):
            column = labels[a, b]
            offset = (a * n_b + b) * n_c
            for side in range(2):
                middle = middles[side]
                down, below = _walk_down(column, words, offset, middle)
                up, above = _walk_up(column, words, offset, middle)
                # the middle lies between the faces unless a walk stopped next to it (bright)
                inside = down < middle + 0.5 < up and column[middle] != LITHIUM
                not_li[side, a, b] = below + above + inside
                edges[2 * side, a, b] = down
                edges[2 * side + 1, a, b] = up
                dark[side, a, b] = not _is_bright(column[middle])
            bright = 0
            for c in range(core_start, core_stop):
                bright += _is_bright(column[c])
            core[a, b] = np.float32(bright) / length


def padded_labels(shape: tuple[int, int, int]) -> np.ndarray:
    """An empty uint8 block whose bytes fill whole uint64 words, as `label_columns` reads it."""
    size = int(np.prod(shape))
    return np.empty(-(-size // 8) * 8, np.uint8)[:size].reshape(shape)


def label_columns(labels, middles, core_start, core_stop, edges, not_li, core, dark=None) -> None:
    """Per column of uint8 (a, b, c) `labels`: the four faces (edges[0..3] = bottom collector,
    bottom pellet, top pellet, top collector) walking out from the electrodes' `middles`
    (bottom, top) as `find_edges(..., half_level=0.5)`, the voxels between each electrode's
    faces not labelled lithium (not_li[0] bottom, [1] top: the dark voxels the two walks pass
    are those between the faces, and so is the middle unless a walk stopped beside it; no
    voxel is visited twice) and the bright fraction of [core_start, core_stop) as the float32
    mean `cell_columns` takes; `dark[side]` whether the middle is dark (then the same faces and
    count hold for any middle between them). `labels` from `padded_labels` is read in place."""
    base = labels if labels.base is None else labels.base
    if not (isinstance(base, np.ndarray) and base.flags.c_contiguous and base.nbytes % 8 == 0
            and base.ctypes.data == labels.ctypes.data and labels.flags.c_contiguous
            and labels.dtype == np.uint8):  # fmt: skip
        base = padded_labels(labels.shape)
        base[...] = labels
        labels, base = base, base.base
    words = base.reshape(-1).view(np.uint64)
    if dark is None:
        dark = np.empty(not_li.shape, np.bool_)
    _label_columns(labels, words, np.asarray(middles, np.int64), core_start, core_stop, edges,
                   not_li, core, dark)  # fmt: skip


@_jit
def bright_counts(labels, out) -> None:
    """Add to `out` (c,) int64 the number of bright-labelled voxels (LLZO, steel) per index c."""
    n_a, n_b, n_c = labels.shape
    row = np.zeros(n_c, np.int32)  # at most n_b per entry; int32 lanes vectorise
    for a in range(n_a):
        row[:] = 0
        for b in range(n_b):
            column = labels[a, b]
            for c in range(n_c):
                label = column[c]
                row[c] += (label == GRAIN) | (label == BOUNDARY) | (label == COLLECTOR)
        out += row
