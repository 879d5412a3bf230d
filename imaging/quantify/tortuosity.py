"""Electrolyte tortuosity-factor maps: lateral windows marched along the cell axis, solved by `meso.conduct`.

The pellet between its two Li|LLZO edges is cut, per lateral window of `window_um` x
`window_um`, into slabs along the cell axis: the interfacial band next to the bottom interface
(`interface_um` thick), the bulk in slabs of about `interface_um`, and the band next to the top
interface. Each window (lateral window x slab) is solved along the cell axis by `meso.conduct`
(finite volumes, TauFactor's scheme): tortuosity factor tau = eps / M_geometric with eps the
LLZO fraction of the window (DESIGN.md section 3). Normalisation: tau divided by the tau the same
solver gives an all-LLZO window of the same shape (analytically 1, so the normalised value is
tau relative to a fully dense window with the solver's discretisation error divided out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imaging.quantify.regions import Edges

GRAIN, BOUNDARY = 1, 2  # the conducting phases; pores (0) and anything else do not conduct
NORMALISATION = (
    "tortuosity_factor / tortuosity_factor of an all-LLZO window of the same shape solved the "
    "same way (analytically 1): the window relative to a fully dense one"
)


@dataclass(frozen=True)
class Window:
    """Voxel ranges [start, stop) of one window in (lateral a, lateral b, cell axis) order."""

    slab: int
    region: str  # "interfacial_bottom", "bulk" or "interfacial_top"
    a: tuple[int, int]
    b: tuple[int, int]
    c: tuple[int, int]

    def centre_um(self, voxel_size_um: float) -> tuple[float, float, float]:
        return tuple(0.5 * (lo + hi) * voxel_size_um for lo, hi in (self.a, self.b, self.c))


def _lateral_ranges(n: int, width: int) -> list[tuple[int, int]]:
    """Tiles of `width` voxels from 0 (the remainder dropped); one tile of n when n < width."""
    if n < width:
        return [(0, n)]
    return [(k, k + width) for k in range(0, n - width + 1, width)]


def plan_windows(
    edges: Edges, voxel_size_um: float, *, window_um: float, interface_um: float
) -> tuple[list[Window], list[str]]:
    """The windows of a pellet (from one step's edges, then used for every step) and the slab
    regions bottom to top. Each lateral window spans along the cell axis from the ceiling of the
    90th percentile of its columns' bottom Li|LLZO edges to the floor of the 10th percentile of
    their top edges (so next to no lithium enters it; what does counts as non-conducting);
    lateral windows with less than half their columns in the cell are left out, the columns
    outside the cell are non-conducting walls parallel to the axis (which leave tau unchanged).
    When the pellet is thinner than two interfacial bands (plus one voxel) it is split in half:
    two interfacial slabs and no bulk."""
    n_a, n_b = edges.inside.shape
    width = max(1, round(window_um / voxel_size_um))
    band = max(1, round(interface_um / voxel_size_um))
    thickness = (edges.top_pellet - edges.bottom_pellet)[edges.inside]
    typical = float(np.median(thickness)) if thickness.size else 0.0
    n_bulk = 0
    if typical >= 2 * band + 1:
        n_bulk = max(1, round((typical - 2 * band) / band))
    regions = ["interfacial_bottom", *["bulk"] * n_bulk, "interfacial_top"]
    windows = []
    for a in _lateral_ranges(n_a, width):
        for b in _lateral_ranges(n_b, width):
            columns = (slice(*a), slice(*b))
            inside = edges.inside[columns]
            if inside.mean() < 0.5:
                continue
            lo = math.ceil(float(np.percentile(edges.bottom_pellet[columns][inside], 90)))
            hi = math.floor(float(np.percentile(edges.top_pellet[columns][inside], 10)))
            if hi - lo < 2 * len(regions):
                continue
            if n_bulk:
                inner = np.linspace(lo + band, hi - band, n_bulk + 1).round().astype(int)
                bounds = [lo, *inner.tolist(), hi]
            else:
                bounds = [lo, (lo + hi) // 2, hi]
            for slab, region in enumerate(regions):
                windows.append(Window(slab, region, a, b, (bounds[slab], bounds[slab + 1])))
    return windows, regions


def window_tortuosity(
    labels: np.ndarray,
    inside: np.ndarray,
    windows: list[Window],
    voxel_size_um: float,
    dense_cache: dict[tuple[int, int, int], float] | None = None,
) -> dict[str, np.ndarray]:
    """Per window: pore fraction (non-LLZO voxels of the columns in the cell, `inside`),
    tortuosity factor along the cell axis (NaN where no LLZO path
    spans the window or the solve failed), the factor normalised to a dense window, and whether
    LLZO percolates. `dense_cache` keeps the dense windows' solves between steps."""
    from meso import Microstructure, conduct

    dense_cache = {} if dense_cache is None else dense_cache
    n = len(windows)
    out = {
        "porosity": np.full(n, np.nan),
        "tortuosity_factor": np.full(n, np.nan),
        "tortuosity_factor_normalised": np.full(n, np.nan),
        "percolating": np.zeros(n, bool),
    }

    def tau(solid: np.ndarray) -> tuple[float, bool]:
        # the window in (a, b, cell axis) order: the cell axis is its z
        result = conduct(Microstructure(solid, voxel_size_um=voxel_size_um), axes=["z"],
                         method="fv")  # fmt: skip
        entry = result.axes["z"]["fv"]
        value = entry.tortuosity_factor
        return (float(value) if value is not None else float("nan")), bool(entry.percolating)

    for index, window in enumerate(windows):
        block = labels[slice(*window.a), slice(*window.b), slice(*window.c)]
        columns = inside[slice(*window.a), slice(*window.b)]
        solid = (np.isin(block, (GRAIN, BOUNDARY)) & columns[:, :, None]).astype(np.uint8)
        out["porosity"][index] = 1.0 - solid[columns].mean()
        if solid.shape not in dense_cache:
            dense_cache[solid.shape] = tau(np.ones(solid.shape, np.uint8))[0]
        if solid[columns].all():  # a dense window is the reference itself (one solve per shape)
            value, percolating = dense_cache[solid.shape], True
        else:
            value, percolating = tau(solid)
        out["tortuosity_factor"][index] = value
        out["tortuosity_factor_normalised"][index] = value / dense_cache[solid.shape]
        out["percolating"][index] = percolating
    return out
