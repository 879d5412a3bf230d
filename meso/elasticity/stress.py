"""Stress concentration statistics: peak and 99th-percentile von Mises stress, hot spots against pores."""

from __future__ import annotations

import numpy as np

from meso.elasticity.results import StressStatistics


def _percentile(values: np.ndarray, q: float, weights: np.ndarray | None) -> float:
    """numpy's percentile, or with `weights` (cell volumes) the volume-weighted one."""
    if weights is None:
        return float(np.percentile(values, q))
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    centres = (cumulative - 0.5 * weights[order]) / cumulative[-1]
    return float(np.interp(q / 100.0, centres, values[order]))


def cell_stress_statistics(
    von_mises_Pa: np.ndarray,
    hydrostatic_Pa: np.ndarray,
    mean_axial_Pa: float,
    distance_um: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    min_range_um: float = 0.0,
) -> StressStatistics:
    """StressStatistics of per-cell values of the solid (voxels, or tetrahedra with their
    volumes as `weights`). `distance_um`: each cell's distance to the nearest pore, for the
    histogram of hot spots (von Mises >= its 99th percentile) against all cells."""
    p99 = _percentile(von_mises_Pa, 99, weights)
    peak = float(von_mises_Pa.max())
    stats = StressStatistics(
        mean_axial_stress_Pa=mean_axial_Pa,
        von_mises_max_Pa=peak,
        von_mises_p99_Pa=p99,
        max_over_mean_axial=peak / mean_axial_Pa,
        p99_over_mean_axial=p99 / mean_axial_Pa,
        hydrostatic_min_Pa=float(hydrostatic_Pa.min()),
        hydrostatic_max_Pa=float(hydrostatic_Pa.max()),
    )
    if distance_um is not None and len(distance_um):
        bins = np.linspace(0.0, max(float(distance_um.max()), min_range_um), 11)
        stats.distance_bins_um = bins.tolist()
        stats.hotspot_counts = np.histogram(distance_um[von_mises_Pa >= p99], bins)[0].tolist()
        stats.solid_counts = np.histogram(distance_um, bins)[0].tolist()
    return stats


def stress_statistics(
    fields, pore_mask: np.ndarray, mean_axial_Pa: float, voxel_size_um: float
) -> StressStatistics:
    """Peak and 99th-percentile von Mises stress over the solid voxels of a voxel solve's
    ``ElasticFields``, and how far the hot
    spots sit from pores (voxel centre to nearest pore voxel centre)."""
    import edt

    solid = np.isfinite(fields.von_mises_Pa)
    distance = None
    if pore_mask.any():
        distance = (edt.edt(~pore_mask, black_border=False) * voxel_size_um)[solid]
    return cell_stress_statistics(fields.von_mises_Pa[solid], fields.hydrostatic_Pa[solid],
                                  mean_axial_Pa, distance, min_range_um=voxel_size_um)  # fmt: skip
