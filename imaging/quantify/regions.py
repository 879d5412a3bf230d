"""Collectors, electrodes and pellet along the cell axis: the cell's layers, then sub-voxel edges per column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

from imaging.quantify import kernels
from meso.errors import InputError

GRAIN, BOUNDARY, COLLECTOR = 1, 2, 4  # DESIGN.md labels; "high" (bright) phases of the cell


@dataclass
class Layers:
    """Index runs [start, stop) along the cell axis of the cell's mean profile, bottom to top."""

    bottom_collector: tuple[int, int]
    bottom_electrode: tuple[int, int]
    pellet: tuple[int, int]
    top_electrode: tuple[int, int]
    top_collector: tuple[int, int]

    def as_dict(self) -> dict[str, list[int]]:
        return {name: list(run) for name, run in self.__dict__.items()}


@dataclass
class Edges:
    """Per lateral position (a, b): edge positions along the cell axis in voxel units (voxel k
    spans [k, k + 1)); NaN outside the cell. The bottom electrode lies between
    `bottom_collector` and `bottom_pellet`, the top one between `top_pellet` and `top_collector`."""

    inside: np.ndarray
    bottom_collector: np.ndarray
    bottom_pellet: np.ndarray
    top_pellet: np.ndarray
    top_collector: np.ndarray


def level_volume(grey: np.ndarray | None, labels: np.ndarray | None) -> np.ndarray:
    """What the edges are found on: the reconstruction, else the labels' bright phases (LLZO and
    steel 1, lithium and pores 0), so that both inputs share one edge finder."""
    if grey is not None:
        return grey
    return np.isin(labels, (GRAIN, BOUNDARY, COLLECTOR)).astype(np.float32)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) runs of True in a 1D mask."""
    padded = np.concatenate([[False], mask, [False]])
    change = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(change[::2].tolist(), change[1::2].tolist(), strict=True))


def _dark_threshold(profile: np.ndarray) -> float:
    """Half-way between the dark layers (Li, gaps: the profile's 10th percentile) and the darker
    of the bright ones (steel or LLZO: the lowest median of the runs above a fifth of the range)."""
    low, high = float(np.percentile(profile, 10)), float(profile.max())
    runs = _runs(profile > low + 0.2 * (high - low))
    darkest = min(float(np.median(profile[a:b])) for a, b in runs)
    return low + 0.5 * (darkest - low)


def find_layers(level: np.ndarray, source: str, override: Layers | None = None) -> Layers:
    """The seven-layer order from the mean profile along the cell axis: bright runs are steel
    and LLZO (the longest is the pellet, the nearest ones either side the collectors), dark runs
    between them the electrodes. `override` skips the detection (its runs are checked)."""
    if override is not None:
        layers = override
    else:
        profile = level.mean(axis=(0, 1))
        if np.ptp(profile) <= 0:
            raise InputError(source, "no contrast along the cell axis: no layers to find")
        bright = profile > _dark_threshold(profile)
        runs = _runs(bright)
        pellet = max(runs, key=lambda run: run[1] - run[0])
        below = [run for run in runs if run[1] <= pellet[0]]
        above = [run for run in runs if run[0] >= pellet[1]]
        if not below or not above:
            side, where = ("bottom", "below") if not below else ("top", "above")
            raise InputError(
                source, f"the {side} electrode is absent: no lithium layer between the pellet and "
                f"a current collector {where} it along the cell axis (is the cell axis right? "
                "--layers sets the layers by hand)",
            )  # fmt: skip
        bottom, top = below[-1], above[0]
        layers = Layers(bottom, (bottom[1], pellet[0]), pellet, (pellet[1], top[0]), top)
    for name in ("bottom_electrode", "top_electrode"):
        start, stop = getattr(layers, name)
        if stop - start < 1:
            electrode = name.split("_")[0]
            raise InputError(
                source, f"the {electrode} electrode is absent: the collector touches the pellet"
            )
    n = level.shape[2]
    runs = [layers.bottom_collector, layers.bottom_electrode, layers.pellet]
    runs += [layers.top_electrode, layers.top_collector]
    flat = [i for run in runs for i in run]
    if flat != sorted(flat) or flat[0] < 0 or flat[-1] > n:
        raise InputError(source, f"layers {layers.as_dict()} are not in order within 0..{n}")
    return layers


def cell_columns(level: np.ndarray, layers: Layers) -> np.ndarray:
    """(a, b) mask of the columns through the cell: bright in the pellet's middle half."""
    start, stop = layers.pellet
    quarter = (stop - start) // 4
    core = level[:, :, start + quarter : max(stop - quarter, start + quarter + 1)].mean(axis=2)
    if np.ptp(core) < 0.5 * np.abs(core).max():  # no outside region: every column is the cell
        return np.ones(core.shape, bool)
    inside = core > threshold_otsu(core)
    return ndimage.binary_opening(inside, iterations=1) if inside.sum() > 8 else inside


def _crossing(
    profile: np.ndarray, half: np.ndarray, start: int, stop: int, step: int
) -> np.ndarray:
    """Sub-voxel position of the first rise of `profile` above `half` walking from index `start`
    towards `stop` (step +1 or -1): linear interpolation between the two voxel centres
    (`kernels.grey_crossings`: each column walks only as far as its crossing)."""
    out = np.empty(profile.shape[:2])
    kernels.grey_crossings(
        np.ascontiguousarray(profile, np.float32), np.asarray(half, np.float32), start, stop, step,
        out,
    )  # fmt: skip
    return out


def find_edges(
    level: np.ndarray,
    layers: Layers,
    inside: np.ndarray,
    *,
    smoothing_vox: float,
    electrode_levels: dict[str, float] | None = None,
    half_level: float | None = None,
) -> Edges:
    """Per column: the steel|Li and Li|LLZO edges of both electrodes at the half-level crossing
    of the profile smoothed along the cell axis (Gaussian, `smoothing_vox`; 0 for labels), walking
    out from the middle of each electrode. The half level lies between the electrode's level (the
    median over the cell, or `electrode_levels[side]` when a block of the cell is given) and
    that column's collector or pellet level (their medians), or is `half_level` everywhere
    (0.5 on a label level, whose edges are then the voxel faces)."""
    profile = level.astype(np.float32)
    if smoothing_vox > 0:
        profile = ndimage.gaussian_filter1d(profile, smoothing_vox, axis=2)
    n_c = profile.shape[2]

    def column_level(run: tuple[int, int]) -> np.ndarray:
        start, stop = run
        return np.median(profile[:, :, start:stop], axis=2)

    pellet = column_level(layers.pellet)
    edges = {}
    for side, electrode, collector_run in (
        ("bottom", layers.bottom_electrode, layers.bottom_collector),
        ("top", layers.top_electrode, layers.top_collector),
    ):
        if electrode_levels is not None:
            low = electrode_levels[side]
        else:
            low = float(np.median(profile[:, :, electrode[0] : electrode[1]][inside]))
        collector = column_level(collector_run)
        middle = (electrode[0] + electrode[1] - 1) // 2
        toward_pellet = 1 if side == "bottom" else -1
        limit_pellet = n_c if side == "bottom" else -1
        limit_collector = -1 if side == "bottom" else n_c
        to_pellet, to_collector = (low + pellet) / 2, (low + collector) / 2
        if half_level is not None:
            to_pellet = to_collector = np.full(pellet.shape, half_level, np.float32)
        edges[f"{side}_pellet"] = _crossing(profile, to_pellet, middle, limit_pellet, toward_pellet)
        edges[f"{side}_collector"] = _crossing(
            profile, to_collector, middle, limit_collector, -toward_pellet
        )
    for name, value in edges.items():
        edges[name] = np.where(inside, value, np.nan)
    return Edges(inside=inside & np.isfinite(sum(edges.values())), **edges)


def label_edges(
    labels: np.ndarray, inside: np.ndarray, source: str, override: Layers | None = None
) -> tuple[Layers, Edges]:
    """The layers and edges of the labels' own phases (LLZO and steel bright, Li and pores
    dark): voxel faces, so that the Li counted between them does not depend on the grey levels.
    (On the virtual cell's phase-retrieved reconstruction the steel layer is cupped and
    fringed, and its grey steel|Li edge errs by 2.4 voxels on average, up to 16 at 96^3.)"""
    level = level_volume(None, labels)
    layers = find_layers(level, source, override)
    return layers, find_edges(level, layers, inside, smoothing_vox=0.0, half_level=0.5)


def electrode_depth_vox(edges: Edges, side: str, n_c: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b, c) depth of each voxel centre below the electrode's pellet edge, in voxels, and the
    (a, b, c) mask of the voxels whose centres lie inside the electrode (between its two edges)."""
    centres = np.arange(n_c, dtype=np.float32) + 0.5
    if side == "bottom":
        near, far = edges.bottom_pellet, edges.bottom_collector
        depth = near[:, :, None] - centres
    else:
        near, far = edges.top_pellet, edges.top_collector
        depth = centres - near[:, :, None]
    extent = np.abs(near - far)[:, :, None]
    with np.errstate(invalid="ignore"):
        mask = (depth > 0) & (depth < extent) & edges.inside[:, :, None]
    return depth, mask


def pellet_depth_vox(edges: Edges, n_c: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b, c) height of each voxel centre above the bottom Li|LLZO edge, in voxels, and the
    mask of voxel centres inside the pellet (between its two edges)."""
    centres = np.arange(n_c, dtype=np.float32) + 0.5
    height = centres - edges.bottom_pellet[:, :, None]
    extent = (edges.top_pellet - edges.bottom_pellet)[:, :, None]
    with np.errstate(invalid="ignore"):
        mask = (height > 0) & (height < extent) & edges.inside[:, :, None]
    return height, mask
