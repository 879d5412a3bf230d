"""Pores: overlapping (ellipsoidal) spheres with lognormal diameters, placed to hit a porosity exactly."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from tqdm import tqdm

from meso.errors import InputError

PLACEMENTS = ("random", "boundaries", "triple_junctions")
UNCOVERED = np.iinfo(np.int32).max
MAX_ROUNDS = 60


@dataclass
class PoreSpheres:
    """Pore bodies in voxel index coordinates (voxel (i, j, k) has its centre at (i, j, k)).

    centres: (n, 3); semi_axes: (n, 3) = radius times the volume-preserving stretch. The pore
    space is the union of the ellipsoids sum(((x - c) / a)^2) <= 1 over voxel centres x.
    """

    centres: np.ndarray
    semi_axes: np.ndarray


def lognormal_diameters(
    rng: np.random.Generator, count: int, mean_voxels: float, std_voxels: float
) -> np.ndarray:
    """Diameters (voxels) from a lognormal with the given mean and standard deviation, >= 1 voxel."""
    if std_voxels <= 0:
        return np.full(count, mean_voxels)
    sigma2 = math.log1p((std_voxels / mean_voxels) ** 2)
    mu = math.log(mean_voxels) - 0.5 * sigma2
    return np.maximum(rng.lognormal(mu, math.sqrt(sigma2), size=count), 1.0)


def pore_centres(
    rng: np.random.Generator, count: int, shape: tuple[int, int, int], sites: np.ndarray | None
) -> np.ndarray:
    """Centres uniform in the box, or uniform over the voxels listed in `sites` (flat indices)."""
    if sites is None:
        return rng.uniform(-0.5, np.asarray(shape) - 0.5, size=(count, 3))
    picked = sites[rng.integers(0, len(sites), size=count)]
    voxel = np.stack(np.unravel_index(picked, shape), axis=1).astype(np.float64)
    return voxel + rng.uniform(-0.5, 0.5, size=(count, 3))


def _box(cover_shape, centre, semi_axes):
    lo = np.maximum(np.ceil(centre - semi_axes), 0).astype(int)
    hi = np.minimum(np.floor(centre + semi_axes).astype(int) + 1, cover_shape)
    if np.any(hi <= lo):
        return None, None
    window = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    axes = np.ogrid[window]
    rho2 = sum(((g - c) / s) ** 2 for g, c, s in zip(axes, centre, semi_axes, strict=True))
    return window, rho2


@numba.njit(cache=True)
def paint_first_cover(
    cover: np.ndarray, centres: np.ndarray, semi_axes: np.ndarray, first_index: int
) -> None:
    """Write into `cover` the smallest index of the ellipsoids covering each voxel centre.

    Hand-written (numba) because PoreSpy's sphere inserters return a binary image; the
    first-cover index turns porosity-versus-number-of-pores into one histogram, so the porosity
    is hit exactly. Sequential, so the result does not depend on thread order.
    """
    nx, ny, nz = cover.shape
    for n in range(centres.shape[0]):
        index = first_index + n
        c0, c1, c2 = centres[n, 0], centres[n, 1], centres[n, 2]
        a0, a1, a2 = semi_axes[n, 0], semi_axes[n, 1], semi_axes[n, 2]
        for i in range(max(int(np.ceil(c0 - a0)), 0), min(int(np.floor(c0 + a0)) + 1, nx)):
            r0 = ((i - c0) / a0) ** 2
            for j in range(max(int(np.ceil(c1 - a1)), 0), min(int(np.floor(c1 + a1)) + 1, ny)):
                r1 = r0 + ((j - c1) / a1) ** 2
                if r1 > 1.0:
                    continue
                for k in range(max(int(np.ceil(c2 - a2)), 0), min(int(np.floor(c2 + a2)) + 1, nz)):
                    if r1 + ((k - c2) / a2) ** 2 <= 1.0 and cover[i, j, k] > index:
                        cover[i, j, k] = index


def fill_to_porosity(
    shape: tuple[int, int, int],
    porosity: float,
    draw: Callable[[int], PoreSpheres],
    progress: bool = False,
) -> tuple[np.ndarray, PoreSpheres]:
    """Insert pores from `draw` in order until exactly round(porosity * N) voxels are pore.

    The last pore is shrunk (same centre and shape) so the count is met to the voxel; spheres
    drawn after it are discarded. Returns the pore mask and the pores used.
    """
    total = int(np.prod(shape))
    target = round(porosity * total)
    if target == 0:
        empty = PoreSpheres(np.empty((0, 3)), np.empty((0, 3)))
        return np.zeros(shape, dtype=bool), empty
    cover = np.full(shape, UNCOVERED, dtype=np.int32)
    probe = draw(256)
    mean_volume = float(np.mean(4.0 / 3.0 * math.pi * np.prod(probe.semi_axes, axis=1)))
    batch = first_batch = int(-math.log1p(-porosity) * total / mean_volume * 1.05) + 16
    drawn: list[PoreSpheres] = []
    count, covered_before = 0, 0
    bar = tqdm(total=target, desc="pores", unit="vox", disable=not progress)
    for _ in range(MAX_ROUNDS):
        spheres = draw(batch)
        paint_first_cover(cover, spheres.centres, spheres.semi_axes, count)
        drawn.append(spheres)
        count += batch
        firsts = np.bincount(cover[cover != UNCOVERED].ravel(), minlength=count)
        cumulative = np.cumsum(firsts)
        bar.update(min(int(cumulative[-1]), target) - bar.n)
        if cumulative[-1] >= target:
            break
        gained = int(cumulative[-1]) - covered_before
        if gained == 0:
            break
        covered_before = int(cumulative[-1])
        # Next batch sized from the voxels the last one added per pore, 20% extra.
        batch = min(max(int(1.2 * (target - covered_before) * batch / gained), 16), 4 * first_batch)
    bar.close()
    if cumulative[-1] < target:
        raise InputError(
            "porosity",
            f"cannot reach porosity {porosity:.4f}: pores of this size centred on the allowed "
            f"sites cover at most {cumulative[-1] / total:.4f} (try random placement or larger pores)",
        )
    centres = np.concatenate([d.centres for d in drawn])
    semi_axes = np.concatenate([d.semi_axes for d in drawn])
    last = int(np.searchsorted(cumulative, target))
    remaining = target - (int(cumulative[last - 1]) if last else 0)
    pore = cover < last
    window, rho2 = _box(shape, centres[last], semi_axes[last])
    new = cover[window] == last
    radii = np.sort(np.sqrt(rho2[new]))
    scale = float(radii[remaining - 1])
    pore[window] |= new & (np.sqrt(rho2) <= scale)
    semi_axes = semi_axes[: last + 1].copy()
    semi_axes[last] *= scale
    return pore, PoreSpheres(centres[: last + 1].copy(), semi_axes)
