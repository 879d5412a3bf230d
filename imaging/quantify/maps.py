"""Per-column electrode maps: thickness from sub-voxel edges, current density, pore density through a depth."""

from __future__ import annotations

import numpy as np

from imaging.quantify.regions import Edges, electrode_depth_vox

FARADAY_C_PER_MOL = 96485.0
LI_MOLAR_VOLUME_CM3_PER_MOL = 13.02
LITHIUM, PORE = 3, 0


def envelope_thickness_um(edges: Edges, side: str, voxel_size_um: float) -> np.ndarray:
    """Distance between the electrode's steel|Li and Li|LLZO edges per column, in um (NaN outside)."""
    if side == "bottom":
        extent = edges.bottom_pellet - edges.bottom_collector
    else:
        extent = edges.top_collector - edges.top_pellet
    return np.where(edges.inside, extent * voxel_size_um, np.nan)


def lithium_thickness_um(
    edges: Edges, side: str, labels: np.ndarray, voxel_size_um: float
) -> np.ndarray:
    """Li per unit area as a thickness, in um: the envelope less the voxels inside it that the
    labels do not call lithium (interfacial voids and pores), so voids opened by stripping count."""
    envelope = envelope_thickness_um(edges, side, voxel_size_um)
    _, mask = electrode_depth_vox(edges, side, labels.shape[2])
    not_li = np.count_nonzero(mask & (labels != LITHIUM), axis=2)
    return np.where(edges.inside, envelope - not_li * voxel_size_um, np.nan)


def current_density_uA_per_cm2(
    thickness_before_um: np.ndarray, thickness_after_um: np.ndarray, hours: float
) -> np.ndarray:
    """Local current density j = (t2 - t1) F / (dt V_Li) in uA/cm^2 (positive where the electrode
    grew), with F = 96485 C/mol and V_Li = 13.02 cm^3/mol.

    Examples
    --------
    >>> float(current_density_uA_per_cm2(np.array(10.0), np.array(11.0), 1.0))  # 1 um in 1 h
    205.84...
    """
    if not hours > 0:
        raise ValueError(f"the time between steps must be positive, got {hours} h")
    dt_s = hours * 3600.0
    change_m = (thickness_after_um - thickness_before_um) * 1e-6
    j_A_per_m2 = change_m * FARADAY_C_PER_MOL / (dt_s * LI_MOLAR_VOLUME_CM3_PER_MOL * 1e-6)
    return j_A_per_m2 * 100.0  # 1 A/m^2 = 100 uA/cm^2


def pore_density(
    edges: Edges, side: str, labels: np.ndarray, voxel_size_um: float, depth_um: float
) -> np.ndarray:
    """Porosity per column averaged from the Li|LLZO edge through `depth_um` (or the whole
    electrode where it is thinner); NaN outside the cell."""
    depth, mask = electrode_depth_vox(edges, side, labels.shape[2])
    mask &= depth * voxel_size_um < depth_um
    counted = np.count_nonzero(mask, axis=2)
    pores = np.count_nonzero(mask & (labels == PORE), axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(edges.inside & (counted > 0), pores / counted, np.nan)
