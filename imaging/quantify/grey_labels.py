"""Otsu labels of a reconstruction within the detected regions (the stand-in until the segmentation lands)."""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_otsu

from imaging.quantify.regions import Edges, electrode_depth_vox, pellet_depth_vox

PORE, GRAIN, LITHIUM, COLLECTOR = 0, 1, 3, 4


def otsu_labels(grey: np.ndarray, edges: Edges) -> tuple[np.ndarray, dict[str, float]]:
    """Labels from the grey values: pore vs Li by Otsu's threshold over each electrode's voxels,
    pore vs LLZO by Otsu's threshold over the pellet's; everything else collector (4) or, outside
    the cell, pore. Returns the labels and the thresholds used.

    At the virtual cell's default contrast Li and pores differ by less than the noise (as in the
    study), so the electrodes' Otsu pores there are noise: give segmented labels (`--labels`)."""
    n_c = grey.shape[2]
    labels = np.full(grey.shape, COLLECTOR, np.uint8)
    labels[~edges.inside] = PORE
    thresholds = {}
    regions = [
        (name, electrode_depth_vox(edges, name, n_c)[1], LITHIUM) for name in ("bottom", "top")
    ]
    regions.append(("pellet", pellet_depth_vox(edges, n_c)[1], GRAIN))
    for name, mask, solid in regions:
        values = grey[mask]
        if values.size == 0 or np.ptp(values) == 0:
            labels[mask] = solid
            continue
        threshold = float(threshold_otsu(values))
        thresholds[name] = threshold
        labels[mask] = np.where(values > threshold, solid, PORE)
    return labels, thresholds
