"""Electrolyte porosity: depth profile through the pellet, the sub-surface map, bulk vs interfacial."""

from __future__ import annotations

import numpy as np

from imaging.quantify.regions import Edges, pellet_depth_vox

PORE = 0


def pellet_profile(
    edges: Edges, labels: np.ndarray, voxel_size_um: float, bin_um: float
) -> list[dict[str, float]]:
    """Porosity in bins of `bin_um` from the bottom Li|LLZO interface upward, raw and normalised
    to the whole pellet's porosity."""
    height, mask = pellet_depth_vox(edges, labels.shape[2])
    height_um = height[mask] * voxel_size_um
    pores = labels[mask] == PORE
    if height_um.size == 0:
        return []
    overall = pores.mean()
    n_bins = int(np.ceil(height_um.max() / bin_um))
    index = np.minimum((height_um // bin_um).astype(int), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    pore_counts = np.bincount(index, weights=pores, minlength=n_bins)
    rows = []
    for k in range(n_bins):
        porosity = float(pore_counts[k] / counts[k]) if counts[k] else float("nan")
        rows.append(
            {
                "height_start_um": k * bin_um,
                "height_stop_um": (k + 1) * bin_um,
                "porosity": porosity,
                "normalised_porosity": porosity / overall if overall > 0 else float("nan"),
                "voxels": int(counts[k]),
            }
        )
    return rows


def subsurface_porosity(edges: Edges, labels: np.ndarray) -> np.ndarray:
    """Pellet porosity averaged along the cell axis at each lateral position (NaN outside)."""
    _, mask = pellet_depth_vox(edges, labels.shape[2])
    counted = np.count_nonzero(mask, axis=2)
    pores = np.count_nonzero(mask & (labels == PORE), axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(edges.inside & (counted > 0), pores / counted, np.nan)


def bulk_and_interfacial(
    edges: Edges, labels: np.ndarray, voxel_size_um: float, interface_um: float
) -> dict[str, float | None]:
    """Porosity within `interface_um` of either Li|LLZO interface and in the bulk between; the
    bulk is None when the pellet is thinner than twice the interfacial band."""
    height, mask = pellet_depth_vox(edges, labels.shape[2])
    extent = (edges.top_pellet - edges.bottom_pellet)[:, :, None]
    with np.errstate(invalid="ignore"):
        from_edge = np.minimum(height, extent - height) * voxel_size_um
        interfacial = mask & (from_edge < interface_um)
    bulk = mask & ~interfacial
    pores = labels == PORE

    def fraction(region: np.ndarray) -> float | None:
        total = np.count_nonzero(region)
        return float(np.count_nonzero(region & pores) / total) if total else None

    with np.errstate(invalid="ignore"):
        bottom_band = mask & (height * voxel_size_um < interface_um)
        top_band = mask & ((extent - height) * voxel_size_um < interface_um)
    return {
        "interfacial": fraction(interfacial),
        "interfacial_bottom": fraction(bottom_band),
        "interfacial_top": fraction(top_band),
        "bulk": fraction(bulk),
    }
