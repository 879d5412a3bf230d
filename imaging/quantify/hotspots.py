"""Hot and cold spots of a current-density map: connected regions beyond the mean by n standard deviations."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def find_spots(
    j_uA_per_cm2: np.ndarray,
    voxel_size_um: float,
    *,
    n_std: float,
    min_area_um2: float,
    smoothing_um: float = 0.0,
) -> tuple[list[dict[str, float]], np.ndarray]:
    """Spots of the local current magnitude |j| (so a hot spot is where most current flowed, on
    the stripping electrode as on the plating one): "hot" where |j| > mean + n_std std, "cold"
    where |j| < mean - n_std std, connected through edges and corners, at least `min_area_um2`.
    |j| is first smoothed laterally (Gaussian, `smoothing_um`, NaN-aware): a thickness map holds
    a column-to-column noise of about a voxel, which otherwise bridges neighbouring spots.

    Returns table rows (kind, centre_a_um, centre_b_um, area_um2, mean_j_uA_per_cm2, label) and
    the (a, b) map of spot labels (0 none; hot spots count up from 1, cold spots down from -1).
    Centres are voxel-centre coordinates in um, weighted by |j - mean| (smoothed); the mean j is
    that of the unsmoothed map over the spot.
    """
    valid = np.isfinite(j_uA_per_cm2)
    magnitude = np.abs(np.where(valid, j_uA_per_cm2, 0.0))
    if valid.sum() < 2:
        return [], np.zeros(j_uA_per_cm2.shape, np.int32)
    if smoothing_um > 0:
        sigma = smoothing_um / voxel_size_um
        weight = ndimage.gaussian_filter(valid.astype(float), sigma)
        with np.errstate(invalid="ignore", divide="ignore"):
            magnitude = np.where(valid, ndimage.gaussian_filter(magnitude, sigma) / weight, 0.0)
    mean, std = magnitude[valid].mean(), magnitude[valid].std()
    pixel_area = voxel_size_um**2
    rows, spot_map = [], np.zeros(j_uA_per_cm2.shape, np.int32)
    for kind, sign, mask in (
        ("hot", 1, valid & (magnitude > mean + n_std * std)),
        ("cold", -1, valid & (magnitude < mean - n_std * std)),
    ):
        regions, _ = ndimage.label(mask, structure=np.ones((3, 3)))
        number = 0
        for index, region in enumerate(ndimage.find_objects(regions), start=1):
            here = regions[region] == index
            area = here.sum() * pixel_area
            if area < min_area_um2:
                continue
            number += 1
            a, b = np.nonzero(here)
            a, b = a + region[0].start, b + region[1].start
            weight = np.abs(magnitude[a, b] - mean) + 1e-30
            spot_map[a, b] = sign * number
            rows.append(
                {
                    "kind": kind,
                    "label": sign * number,
                    "centre_a_um": float(((a + 0.5) * weight).sum() / weight.sum() * voxel_size_um),
                    "centre_b_um": float(((b + 0.5) * weight).sum() / weight.sum() * voxel_size_um),
                    "area_um2": float(area),
                    "mean_j_uA_per_cm2": float(j_uA_per_cm2[a, b].mean()),
                }
            )
    return rows, spot_map
