"""Voronoi grains: seed point processes, nearest-seed labelling and grain boundaries of set thickness."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy.spatial import cKDTree
from tqdm import tqdm

# Mean linear intercept L of a Poisson-Voronoi tessellation times lambda^(1/3): L = 2 / S_V with
# S_V = 2.9105 lambda^(1/3) (Meijering 1953, Philips Res. Rep. 8, 270).
POISSON_VORONOI_INTERCEPT = 2.0 / 2.9105
# Hard-core seeds: random sequential inhibition at this sphere packing fraction (jamming is ~0.38).
HARDCORE_PACKING = 0.30
# L * lambda^(1/3) for the hard-core process above, measured with `sample_line_intercepts` on three
# 160^3 tessellations with L ~ 9 voxels (0.748-0.750); only the starting guess: generate()
# calibrates the seed spacing of each realisation.
HARDCORE_VORONOI_INTERCEPT = 0.749
SEED_PROCESSES = ("hardcore", "poisson")


def volume_preserving_stretch(anisotropy: tuple[float, float, float]) -> np.ndarray:
    """Stretch factors scaled so that their product is 1 (grain and pore volumes are unchanged)."""
    a = np.asarray(anisotropy, dtype=np.float64)
    return a / np.prod(a) ** (1.0 / 3.0)


def seed_density(grain_size_voxels: float, seed_process: str) -> float:
    """Seeds per voxel^3 that give a mean linear intercept of `grain_size_voxels`."""
    constant = (
        HARDCORE_VORONOI_INTERCEPT if seed_process == "hardcore" else POISSON_VORONOI_INTERCEPT
    )
    return (constant / grain_size_voxels) ** 3


def poisson_seeds(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, density: float):
    """A homogeneous Poisson point process of `density` points per unit volume in the box [lo, hi)."""
    count = rng.poisson(density * float(np.prod(hi - lo)))
    return rng.uniform(lo, hi, size=(max(int(count), 1), 3))


def hardcore_seeds(
    rng: np.random.Generator,
    lo: np.ndarray,
    hi: np.ndarray,
    density: float,
    packing: float = HARDCORE_PACKING,
) -> np.ndarray:
    """Random sequential inhibition: uniform candidates, each kept only if no kept point is closer
    than the hard-core distance d with (pi/6) density d^3 = packing.

    Candidates are drawn in batches and resolved in draw order, which is the sequential process
    exactly (and so deterministic for a given generator state).
    """
    count = max(round(density * float(np.prod(hi - lo))), 1)
    min_distance = (6.0 * packing / (math.pi * density)) ** (1.0 / 3.0)
    kept = np.empty((0, 3))
    batch = max(count // 4, 64)
    while len(kept) < count:
        cand = rng.uniform(lo, hi, size=(batch, 3))
        if len(kept):
            dist, _ = cKDTree(kept).query(cand, k=1)
            cand = cand[dist >= min_distance]
        pairs = cKDTree(cand).query_pairs(min_distance, output_type="ndarray")
        keep = np.ones(len(cand), dtype=bool)
        if len(pairs):
            pairs = np.sort(pairs, axis=1)
            pairs = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]
            # Pairs ordered by their later candidate: earlier candidates are decided first.
            for first, later in pairs.tolist():
                if keep[first] and keep[later]:
                    keep[later] = False
        kept = np.concatenate([kept, cand[keep]])
    return kept[:count]


def draw_seeds(
    rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, density: float, seed_process: str
) -> np.ndarray:
    if seed_process == "hardcore":
        return hardcore_seeds(rng, lo, hi, density)
    return poisson_seeds(rng, lo, hi, density)


@dataclass
class VoronoiLabels:
    """Per-voxel result of `label_voronoi`.

    grain_ids: index of the nearest seed (int32); facet_distance: real-space distance (voxels,
    float32) from the voxel centre to the nearest Voronoi face (inf with a single seed);
    junction: within `junction_width_voxels` of the bisectors with both the second and third
    nearest seeds (a triple line).
    """

    grain_ids: np.ndarray
    facet_distance: np.ndarray
    junction: np.ndarray


@numba.njit(parallel=True, cache=True)
def _label_blocks(
    first, last, shape, block, seeds, stretch, cand_ptr, cand_idx, junction_width, ids, facet, tj
):
    # Hand-written (numba) because no library gives per-voxel facet distances of an anisotropic
    # Voronoi diagram; every voxel is independent, so the parallel loop is deterministic.
    nby = (shape[1] + block - 1) // block
    nbz = (shape[2] + block - 1) // block
    for b in numba.prange(first, last):
        bx, by, bz = b // (nby * nbz), (b // nbz) % nby, b % nbz
        cands = cand_idx[cand_ptr[b] : cand_ptr[b + 1]]
        for i in range(bx * block, min((bx + 1) * block, shape[0])):
            for j in range(by * block, min((by + 1) * block, shape[1])):
                for k in range(bz * block, min((bz + 1) * block, shape[2])):
                    u0, u1, u2 = i / stretch[0], j / stretch[1], k / stretch[2]
                    d1, d2, d3 = np.inf, np.inf, np.inf
                    s1, s2, s3 = -1, -1, -1
                    for c in cands:
                        d = (u0 - seeds[c, 0]) ** 2 + (u1 - seeds[c, 1]) ** 2
                        d = d + (u2 - seeds[c, 2]) ** 2
                        if d < d1:
                            d3, s3, d2, s2, d1, s1 = d2, s2, d1, s1, d, c
                        elif d < d2:
                            d3, s3, d2, s2 = d2, s2, d, c
                        elif d < d3:
                            d3, s3 = d, c
                    ids[i, j, k] = s1
                    near, second, third = np.inf, np.inf, np.inf
                    for c in cands:
                        if c == s1:
                            continue
                        w0 = (seeds[c, 0] - seeds[s1, 0]) / stretch[0]
                        w1 = (seeds[c, 1] - seeds[s1, 1]) / stretch[1]
                        w2 = (seeds[c, 2] - seeds[s1, 2]) / stretch[2]
                        d = (u0 - seeds[c, 0]) ** 2 + (u1 - seeds[c, 1]) ** 2
                        d = d + (u2 - seeds[c, 2]) ** 2
                        # Real-space distance to the bisector plane of seeds s1 and c.
                        plane = 0.5 * (d - d1) / np.sqrt(w0 * w0 + w1 * w1 + w2 * w2)
                        if c == s2:
                            second = plane
                        elif c == s3:
                            third = plane
                        near = min(near, plane)
                    facet[i, j, k] = near
                    tj[i, j, k] = s3 >= 0 and second < junction_width and third < junction_width


def label_voronoi(
    shape: tuple[int, int, int],
    seeds: np.ndarray,
    stretch: np.ndarray,
    junction_width_voxels: float,
    reach_voxels: float,
    progress: bool = False,
) -> VoronoiLabels:
    """Label every voxel centre (i, j, k) with its nearest seed (seeds in metric coordinates
    u = x / stretch) and its distance to the nearest grain face.

    Work is split into cubic blocks; a scipy k-d tree lists for each block the seeds that can be
    nearest to one of its voxels or own a face within `reach_voxels` of it, so the facet
    distances are exact up to that reach.
    """
    seeds = np.ascontiguousarray(seeds, dtype=np.float64)
    stretch = np.asarray(stretch, dtype=np.float64)
    spacing = (np.prod(np.asarray(shape) / stretch) / max(len(seeds), 1)) ** (1.0 / 3.0)
    block = int(np.clip(round(spacing / 2.0), 2, 8))
    counts = [-(-n // block) for n in shape]
    corner = np.stack(np.meshgrid(*[np.arange(c) * block for c in counts], indexing="ij"), -1)
    corner = corner.reshape(-1, 3).astype(np.float64)
    upper = np.minimum(corner + block - 1, np.asarray(shape) - 1)
    centre = 0.5 * (corner + upper) / stretch
    half_diagonal = np.linalg.norm(0.5 * (upper - corner) / stretch, axis=1)
    tree = cKDTree(seeds)
    nearest, _ = tree.query(centre, k=1, workers=-1)
    radius = nearest + 2.0 * half_diagonal + 2.0 * reach_voxels / stretch.min() + 1e-9
    lists = tree.query_ball_point(centre, radius, workers=-1, return_sorted=True)
    cand_ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    cand_ptr[1:] = np.cumsum([len(c) for c in lists])
    cand_idx = np.fromiter((i for c in lists for i in c), dtype=np.int64, count=cand_ptr[-1])
    ids = np.empty(shape, dtype=np.int32)
    facet = np.empty(shape, dtype=np.float32)
    junction = np.empty(shape, dtype=bool)
    step = max(len(lists) // 32, 1)
    for first in tqdm(range(0, len(lists), step), desc="grains", unit="part", disable=not progress):
        _label_blocks(
            first, min(first + step, len(lists)), np.asarray(shape, dtype=np.int64), block,
            seeds, stretch, cand_ptr, cand_idx, float(junction_width_voxels), ids, facet, junction,
        )  # fmt: skip
    return VoronoiLabels(ids, facet, junction)


def sample_line_intercepts(
    shape: tuple[int, int, int], seeds: np.ndarray, stretch: np.ndarray, lines_per_side: int = 24
) -> np.ndarray:
    """Mean linear intercept (voxels) along x, y, z on a lattice of sample lines of the voxel grid.

    Used to calibrate the seed spacing before labelling the whole volume; the intercept is the
    length between first and last voxel centre of each line over the number of grain changes.
    """
    tree = cKDTree(seeds)
    result = np.empty(3)
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        coords = [
            np.unique(np.linspace(0, shape[a] - 1, min(shape[a], lines_per_side)).round())
            for a in others
        ]
        c1, c2 = np.meshgrid(*coords, indexing="ij")
        along = np.arange(shape[axis], dtype=np.float64)
        points = np.empty((c1.size, shape[axis], 3))
        points[..., axis] = along
        points[..., others[0]] = c1.reshape(-1, 1)
        points[..., others[1]] = c2.reshape(-1, 1)
        _, ids = tree.query(points.reshape(-1, 3) / stretch, k=1, workers=-1)
        ids = ids.reshape(c1.size, shape[axis])
        changes = np.count_nonzero(ids[:, 1:] != ids[:, :-1])
        result[axis] = c1.size * (shape[axis] - 1) / max(changes, 1)
    return result


def voronoi_intercepts(grain_ids: np.ndarray) -> np.ndarray:
    """Mean linear intercept (voxels) along x, y, z of a grain-id volume: steps / id changes."""
    result = np.empty(3)
    for axis in range(3):
        steps = grain_ids.size // grain_ids.shape[axis] * (grain_ids.shape[axis] - 1)
        changes = np.count_nonzero(np.diff(grain_ids, axis=axis))
        result[axis] = steps / max(changes, 1)
    return result
