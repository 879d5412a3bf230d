"""Voxel geometry of the virtual Li|LLZO|Li cell: collectors, porous Li electrodes, porous grained pellet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import porespy as ps
from scipy.spatial import cKDTree

from meso.errors import InputError
from meso.microstructure import DEFAULT_PHASES

PORE, GRAIN, BOUNDARY, LITHIUM, COLLECTOR = (
    DEFAULT_PHASES[name] for name in ("pore", "grain", "grain_boundary", "lithium", "collector")
)
# Stack along z (the cell axis = rotation axis), as fractions of the height, bottom to top:
# gap, steel, Li, LLZO, Li, steel, gap. The gaps leave room for the stack to move while cycling.
LAYER_FRACTIONS = (0.06, 0.10, 0.18, 0.32, 0.18, 0.10, 0.06)


@dataclass
class CellGeometry:
    """Labels (x, y, z) of the cell and where its layers are (z indices; the cell axis is z).

    ``inside`` is the (x, y) disc of the cylindrical cell; ``bottom_interface`` is the first LLZO
    slice and ``top_interface`` the first Li slice above the pellet.
    """

    labels: np.ndarray
    inside: np.ndarray
    bottom_interface: int
    top_interface: int
    pellet_porosity: float
    n_grains: int


def build_cell(
    shape: tuple[int, int, int],
    voxel_size_um: float,
    *,
    grain_size_um: float = 8.0,
    pellet_porosity: float = 0.05,
    pellet_pore_radius_um: float = 1.5,
    lithium_porosity: float = 0.01,
    lithium_pore_radius_um: float = 1.5,
    seed: int = 0,
) -> CellGeometry:
    """Build the pristine cell: a cylinder (radius 0.45 of the width) stacked along z.

    Parameters
    ----------
    shape : (nx, ny, nz) voxels; nx must equal ny (the cell is rotated about z).
    voxel_size_um : voxel edge in micrometres.
    grain_size_um : mean LLZO grain diameter (Voronoi cells, one-voxel grain boundaries).
    pellet_porosity, pellet_pore_radius_um : LLZO pores (overlapping spheres, PoreSpy).
    lithium_porosity, lithium_pore_radius_um : sparse initial pores in the Li electrodes.
    seed : random seed (geometry is reproducible).
    """
    nx, ny, nz = shape
    if nx != ny:
        raise InputError("--shape", f"nx must equal ny for rotation about z, got {shape}")
    if nz < 40 or nx < 16:
        raise InputError("--shape", f"{shape} is too small for the seven-layer cell (nz >= 40)")
    if voxel_size_um <= 0:
        raise InputError("--voxel-size", f"must be positive, got {voxel_size_um}")
    if not 0 <= pellet_porosity < 0.5 or not 0 <= lithium_porosity < 0.5:
        raise InputError("--porosity", "porosities must lie in [0, 0.5)")
    rng = np.random.default_rng(seed)
    bounds = np.round(np.cumsum((0.0, *LAYER_FRACTIONS)) / sum(LAYER_FRACTIONS) * nz).astype(int)
    x, y = np.mgrid[:nx, :ny]
    middle = (nx - 1) / 2.0
    inside = (x - middle) ** 2 + (y - middle) ** 2 <= (0.45 * nx) ** 2
    column_labels = (PORE, COLLECTOR, LITHIUM, GRAIN, LITHIUM, COLLECTOR, PORE)
    labels = np.zeros(shape, np.uint8)
    for label, z0, z1 in zip(column_labels, bounds[:-1], bounds[1:], strict=True):
        labels[:, :, z0:z1] = np.where(inside[:, :, None], label, PORE)

    # LLZO pellet: Voronoi grains (nearest seed), boundary voxels where the grain id changes.
    z_lo, z_hi = bounds[3], bounds[4]
    pellet_shape = (nx, ny, z_hi - z_lo)
    grain_voxels = max(grain_size_um / voxel_size_um, 2.0) ** 3 * np.pi / 6
    n_grains = max(2, int(np.prod(pellet_shape) / grain_voxels))
    seeds = rng.uniform(0, 1, (n_grains, 3)) * pellet_shape
    grid = np.indices(pellet_shape).reshape(3, -1).T
    grain_id = cKDTree(seeds).query(grid, workers=1)[1].reshape(pellet_shape)
    boundary = np.zeros(pellet_shape, bool)
    for axis in range(3):
        step = np.diff(grain_id, axis=axis) != 0
        index = [slice(None)] * 3
        index[axis] = slice(1, None)
        boundary[tuple(index)] |= step
    pellet = np.where(boundary, BOUNDARY, GRAIN).astype(np.uint8)
    pores = _pores(pellet_shape, pellet_porosity, pellet_pore_radius_um / voxel_size_um, rng)
    pellet[pores] = PORE
    pellet[~inside] = PORE
    labels[:, :, z_lo:z_hi] = pellet

    for z0, z1 in ((bounds[2], bounds[3]), (bounds[4], bounds[5])):
        li_shape = (nx, ny, z1 - z0)
        li_pores = _pores(li_shape, lithium_porosity, lithium_pore_radius_um / voxel_size_um, rng)
        block = labels[:, :, z0:z1]
        block[li_pores & (block == LITHIUM)] = PORE
    measured = float(np.mean(pellet[inside] == PORE))
    return CellGeometry(labels, inside, int(z_lo), int(z_hi), measured, n_grains)


def _pores(
    shape: tuple[int, int, int], porosity: float, radius_vox: float, rng: np.random.Generator
) -> np.ndarray:
    """Boolean pore mask of overlapping spheres (PoreSpy) with the given porosity."""
    if porosity <= 0:
        return np.zeros(shape, bool)
    radius = max(1, round(radius_vox))
    # PoreSpy marks the space between its spheres True; asking for 1 - porosity of it makes the
    # spheres (False) fill `porosity` of the volume, and those spheres are our pores.
    between = ps.generators.overlapping_spheres(
        list(shape), r=radius, porosity=1.0 - porosity, seed=int(rng.integers(2**31))
    )
    return ~np.asarray(between, bool)
