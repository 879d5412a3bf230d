"""Electrode porosity: the band next to the interface, depth profiles in bins, local porosity in tiles."""

from __future__ import annotations

import numpy as np

from imaging.quantify.regions import Edges, electrode_depth_vox

PORE = 0


def band_porosity(
    edges: Edges, side: str, labels: np.ndarray, voxel_size_um: float, band_um: float
) -> float:
    """Pore fraction of the electrode's voxels within `band_um` of its Li|LLZO edge."""
    depth, mask = electrode_depth_vox(edges, side, labels.shape[2])
    mask &= depth * voxel_size_um < band_um
    total = np.count_nonzero(mask)
    return float(np.count_nonzero(mask & (labels == PORE)) / total) if total else float("nan")


def depth_profile(
    edges: Edges, side: str, labels: np.ndarray, voxel_size_um: float, bin_um: float
) -> list[dict[str, float]]:
    """Porosity in bins of `bin_um` from the Li|LLZO interface (depth 0) to the collector:
    rows of depth_start_um, depth_stop_um, porosity, voxels."""
    depth, mask = electrode_depth_vox(edges, side, labels.shape[2])
    depth_um = depth[mask] * voxel_size_um
    pores = labels[mask] == PORE
    if depth_um.size == 0:
        return []
    n_bins = int(np.ceil(depth_um.max() / bin_um))
    index = np.minimum((depth_um // bin_um).astype(int), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    pore_counts = np.bincount(index, weights=pores, minlength=n_bins)
    return [
        {
            "depth_start_um": k * bin_um,
            "depth_stop_um": (k + 1) * bin_um,
            "porosity": float(pore_counts[k] / counts[k]) if counts[k] else float("nan"),
            "voxels": int(counts[k]),
        }
        for k in range(n_bins)
    ]


def local_porosity(
    edges: Edges,
    side: str,
    labels: np.ndarray,
    voxel_size_um: float,
    *,
    band_um: float,
    tile_um: float,
) -> np.ndarray:
    """Porosity of the interface band in lateral tiles of `tile_um` (the sub-regions whose
    distribution Figure S5a shows); tiles with less than half their columns in the cell drop out."""
    depth, mask = electrode_depth_vox(edges, side, labels.shape[2])
    mask &= depth * voxel_size_um < band_um
    pores = np.count_nonzero(mask & (labels == PORE), axis=2)
    voxels = np.count_nonzero(mask, axis=2)
    tile = max(1, round(tile_um / voxel_size_um))
    values = []
    n_a, n_b = pores.shape
    for a in range(0, n_a - tile + 1, tile):
        for b in range(0, n_b - tile + 1, tile):
            inside = edges.inside[a : a + tile, b : b + tile]
            total = voxels[a : a + tile, b : b + tile].sum()
            if inside.mean() >= 0.5 and total:
                values.append(pores[a : a + tile, b : b + tile].sum() / total)
    return np.asarray(values, float)
