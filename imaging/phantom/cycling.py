"""Cycling the virtual cell: hot-spot current-density maps move Li (t2 - t1 = j dt V_Li / F) per column."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imaging.phantom.cell import COLLECTOR, LITHIUM, PORE, CellGeometry

FARADAY_C_PER_MOL = 96485.33212
LI_MOLAR_VOLUME_M3_PER_MOL = 1.30e-5  # 6.94 g/mol / 0.534 g/cm^3


def current_density_map(
    inside: np.ndarray,
    mean_uA_per_cm2: float,
    *,
    n_hot_spots: int = 3,
    hot_spot_gain: float = 4.0,
    hot_spot_radius_vox: float = 4.0,
    seed: int = 0,
) -> np.ndarray:
    """Interfacial current density j(x, y) in uA/cm^2 with Gaussian hot spots, mean over the cell
    area equal to `mean_uA_per_cm2` (the applied current is conserved); zero outside the cell.

    Each hot spot peaks at about (1 + hot_spot_gain) times the background before normalisation.
    """
    x, y = np.mgrid[: inside.shape[0], : inside.shape[1]]
    shape_factor = np.ones(inside.shape)
    for cx, cy in hot_spot_centres(inside, n_hot_spots, hot_spot_radius_vox, seed=seed):
        shape_factor += hot_spot_gain * np.exp(
            -((x - cx) ** 2 + (y - cy) ** 2) / (2 * hot_spot_radius_vox**2)
        )
    j = np.where(inside, shape_factor, 0.0)
    return j * (mean_uA_per_cm2 / j[inside].mean())


def hot_spot_centres(
    inside: np.ndarray, n_hot_spots: int, hot_spot_radius_vox: float, *, seed: int = 0
) -> np.ndarray:
    """(n, 2) voxel indices (x, y) of the hot-spot centres `current_density_map` uses (the ground
    truth of hot-spot detection): random inside points at least a radius from the cell's edge."""
    rng = np.random.default_rng(seed)
    candidates = np.argwhere(ndimage.binary_erosion(inside, iterations=int(hot_spot_radius_vox)))
    if len(candidates) == 0:
        candidates = np.argwhere(inside)
    return candidates[rng.choice(len(candidates), size=n_hot_spots, replace=False)]


def thickness_change_m(j_uA_per_cm2: np.ndarray, hours: float) -> np.ndarray:
    """Li thickness moved per unit area: j dt V_Li / F (Faraday's law), in metres."""
    j_A_per_m2 = np.asarray(j_uA_per_cm2) * 1e-2  # 1 uA/cm^2 = 1e-2 A/m^2
    return j_A_per_m2 * hours * 3600.0 * LI_MOLAR_VOLUME_M3_PER_MOL / FARADAY_C_PER_MOL


@dataclass
class StepChange:
    """Integer Li voxels removed (stripping electrode) and added (plating electrode) per column;
    below Faraday's amount only where the stripping electrode ran out of Li."""

    stripped_vox: np.ndarray
    plated_vox: np.ndarray


def apply_step(
    labels: np.ndarray,
    geometry: CellGeometry,
    j_uA_per_cm2: np.ndarray,
    hours: float,
    voxel_size_um: float,
    *,
    strip_bottom: bool,
    seed: int = 0,
) -> tuple[np.ndarray, StepChange]:
    """Move Li from the stripping electrode to the plating one, column by column, returning a new label volume.

    Per (x, y) column the Li thickness changes by exactly n = stochastic_round(j dt V_Li / F / voxel)
    voxels (unbiased rounding), so t2 - t1 measured by counting Li voxels recovers j dt V_Li / F.
    Stripping: the part every column shares (the minimum) moves the rigid collector toward the
    pellet; the excess, largest at hot spots, opens voids at the Li|LLZO interface. Plating: the
    shared part pushes the collector away; the excess first fills pores and voids in the Li nearest
    the interface (porosity reduction), then thickens that column.
    """
    rng = np.random.default_rng(seed)
    exact = thickness_change_m(j_uA_per_cm2, hours) / (voxel_size_um * 1e-6)
    n_vox = np.floor(exact + rng.uniform(size=exact.shape)).astype(int)
    n_vox[~geometry.inside] = 0
    out = labels.copy()
    # Views of `out` with each column running from the interface outwards (index 0 touches the
    # pellet); the column functions edit them in place.
    bottom = out[:, :, : geometry.bottom_interface][:, :, ::-1]
    top = out[:, :, geometry.top_interface :]
    strip_side, plate_side = (bottom, top) if strip_bottom else (top, bottom)
    inside = np.argwhere(geometry.inside)
    shared_strip = int(n_vox[geometry.inside].min())
    moved = np.zeros_like(n_vox)
    for ix, iy in inside:
        moved[ix, iy] = _strip_column(strip_side[ix, iy], int(n_vox[ix, iy]), shared_strip)
        _plate_column(plate_side[ix, iy], int(moved[ix, iy]), shared_strip)
    return out, StepChange(stripped_vox=moved, plated_vox=moved.copy())


def _strip_column(column: np.ndarray, n: int, shared: int) -> int:
    """Remove n Li voxels from a column (index 0 at the pellet): `shared` by closing up the stack
    (collector moves in, gap opens at the far end), the rest as voids at the interface.
    Returns the voxels removed (fewer than n where the electrode is used up)."""
    if n <= 0:
        return 0
    li = np.flatnonzero(column == LITHIUM)
    if len(li) < n:  # the electrode is used up here: strip what there is
        n, shared = len(li), min(shared, len(li))
    if shared:
        drop = li[:shared]
        kept = np.delete(column, drop)
        column[:] = np.concatenate([kept, np.full(shared, PORE, column.dtype)])
        li = np.flatnonzero(column == LITHIUM)
    column[li[: n - shared]] = PORE
    return n


def _plate_column(column: np.ndarray, n: int, shared: int) -> None:
    """Add n Li voxels to a column (index 0 at the pellet): `shared` by pushing the stack out,
    the rest by filling pores/voids inside the electrode nearest the interface, then by thickening."""
    n = min(n, len(column))  # a column cannot grow past the field of view
    if n <= 0:
        return
    shared = min(shared, n)
    if shared:
        column[:] = np.concatenate([np.full(shared, LITHIUM, column.dtype), column[:-shared]])
    rest = n - shared
    collector = np.flatnonzero(column == COLLECTOR)
    end = collector[0] if len(collector) else len(column)
    voids = np.flatnonzero(column[:end] == PORE)[:rest]
    column[voids] = LITHIUM
    rest -= len(voids)
    if rest > 0:
        column[:] = np.concatenate([np.full(rest, LITHIUM, column.dtype), column[:-rest]])


def lithium_thickness_vox(
    labels: np.ndarray, geometry: CellGeometry
) -> tuple[np.ndarray, np.ndarray]:
    """Li voxel count per (x, y) column below and above the pellet (the electrodes' thickness maps)."""
    below = np.count_nonzero(labels[:, :, : geometry.bottom_interface] == LITHIUM, axis=2)
    above = np.count_nonzero(labels[:, :, geometry.top_interface :] == LITHIUM, axis=2)
    return below, above
