"""`generate`: a synthetic LLZO volume (grains, grain boundaries, pores) from porosity, pore and grain size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meso.errors import InputError
from meso.io.atomic import atomic_path
from meso.microstructure import DEFAULT_PHASES, Microstructure
from synth import grains, pores

# PoreSpy's generators are not used for the volume itself: voronoi_edges draws boundaries only
# (about 45 s at 128^3 here), and overlapping/polydisperse_spheres are binary, random-placement
# only and meet the porosity to about 0.01 (0.0565 for 0.05 at 128^3); see
# benchmarks/synth_speed.py. The grain and pore builders are in synth.grains and synth.pores.
CALIBRATION_ROUNDS = 3
CALIBRATION_TOLERANCE = 0.01
SCALE_LIMITS = (0.9, 1.12)


@dataclass
class SynthGeometry:
    """The analytic geometry behind a generated volume, in micrometres.

    The box is [0, n h] along each axis and voxel (i, j, k) has its centre at ((i, j, k) + 0.5) h.
    Grain g holds the points x whose scaled distance |(x - seeds_um[g]) / stretch| is smallest;
    the grain boundary is the set within gb_thickness_um / 2 of a grain face; the pore space is
    the union of the ellipsoids sum(((x - pore_centres_um) / pore_semi_axes_um)^2) <= 1.
    """

    grain_ids: np.ndarray
    seeds_um: np.ndarray
    stretch: np.ndarray
    gb_thickness_um: float
    pore_centres_um: np.ndarray
    pore_semi_axes_um: np.ndarray

    def save(self, path: str | Path) -> Path:
        """Write every field to an .npz file, atomically."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                grain_ids=self.grain_ids,
                seeds_um=self.seeds_um,
                stretch=self.stretch,
                gb_thickness_um=self.gb_thickness_um,
                pore_centres_um=self.pore_centres_um,
                pore_semi_axes_um=self.pore_semi_axes_um,
            )
        return Path(path)


def _number(name: str, value: object, low: float = 0.0, *, inclusive: bool = False) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(name, f"{value!r} is not a number") from None
    if not math.isfinite(number) or number < low or (number == low and not inclusive):
        relation = ">=" if inclusive else ">"
        raise InputError(name, f"must be a finite number {relation} {low:g}, got {value!r}")
    return number


def _shape(shape: int | Sequence[int]) -> tuple[int, int, int]:
    dims = [shape] * 3 if isinstance(shape, int | np.integer) else list(shape)
    if len(dims) != 3 or any(int(d) != d or int(d) < 4 for d in dims):
        raise InputError("shape", f"need three integers >= 4 (x, y, z), got {shape!r}")
    return tuple(int(d) for d in dims)  # type: ignore[return-value]


def check_parameters(
    shape, voxel_size_um, porosity, pore_size_um, pore_size_std_um, grain_size_um,
    gb_thickness_voxels, pore_placement, anisotropy, seed_process, seed,
):  # fmt: skip
    """Validate the generator parameters; raise InputError naming the first bad one."""
    dims = _shape(shape)
    h = _number("voxel_size_um", voxel_size_um)
    p = _number("porosity", porosity, inclusive=True)
    if p > 0.9:
        raise InputError("porosity", f"must lie in [0, 0.9], got {porosity}")
    box_um = min(dims) * h
    pore = _number("pore_size_um", pore_size_um)
    if pore < h:
        raise InputError("pore_size_um", f"{pore} um is below one voxel ({h} um)")
    if pore > box_um:
        raise InputError("pore_size_um", f"{pore} um is larger than the box ({box_um} um)")
    spread = 0.25 * pore if pore_size_std_um is None else pore_size_std_um
    spread = _number("pore_size_std_um", spread, inclusive=True)
    grain = _number("grain_size_um", grain_size_um)
    if grain < 2 * h:
        raise InputError("grain_size_um", f"{grain} um is below two voxels ({2 * h} um)")
    if grain > box_um:
        raise InputError("grain_size_um", f"{grain} um is larger than the box ({box_um} um)")
    thickness = _number("gb_thickness_voxels", gb_thickness_voxels, inclusive=True)
    if 0 < thickness < 1:
        raise InputError("gb_thickness_voxels", f"{thickness} is below one voxel (use 0 or >= 1)")
    if thickness >= 0.5 * grain / h:
        raise InputError("gb_thickness_voxels", f"{thickness} is not below half the grain size")
    if pore_placement not in pores.PLACEMENTS:
        raise InputError("pore_placement", f"{pore_placement!r}; use {', '.join(pores.PLACEMENTS)}")
    stretch = [_number("anisotropy", a) for a in np.ravel(anisotropy)]
    if len(stretch) != 3:
        raise InputError("anisotropy", f"need three stretch factors (x, y, z), got {anisotropy!r}")
    if seed_process not in grains.SEED_PROCESSES:
        raise InputError("seed_process", f"{seed_process!r}; use hardcore or poisson")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError("seed", f"must be a non-negative integer, got {seed!r}")
    return dims, h, p, pore, spread, grain, thickness, tuple(stretch), int(seed)


def _calibrated_seeds(rng, shape, grain_voxels, stretch, seed_process):
    """Seeds (metric coordinates, voxel units) whose tessellation has the requested intercept.

    Seeds fill a margin around the box so that grains at the faces are not enlarged, and the
    seed pattern is scaled about the box centre until the mean intercept on sample lines of the
    voxel grid is within 1 % of the request (the discrete grid and finite box shift it slightly).
    """
    density = grains.seed_density(grain_voxels, seed_process)
    spacing = density ** (-1.0 / 3.0)
    lo = -0.5 / stretch
    hi = (np.asarray(shape) - 0.5) / stretch
    margin = 0.12 * (hi - lo) / 2.0 + 2.5 * spacing
    seeds = grains.draw_seeds(rng, lo - margin, hi + margin, density, seed_process)
    centre = (lo + hi) / 2.0
    total_scale = 1.0
    for _ in range(CALIBRATION_ROUNDS):
        measured = grains.sample_line_intercepts(shape, seeds, stretch) / stretch
        factor = grain_voxels / float(np.prod(measured) ** (1.0 / 3.0))
        if abs(factor - 1.0) < CALIBRATION_TOLERANCE:
            break
        factor = float(np.clip(total_scale * factor, *SCALE_LIMITS)) / total_scale
        seeds = centre + (seeds - centre) * factor
        total_scale *= factor
    return seeds, total_scale


def generate(
    shape: int | Sequence[int],
    voxel_size_um: float,
    porosity: float,
    pore_size_um: float,
    grain_size_um: float,
    *,
    pore_size_std_um: float | None = None,
    gb_thickness_voxels: float = 1.0,
    pore_placement: str = "random",
    anisotropy: Sequence[float] = (1.0, 1.0, 1.0),
    seed_process: str = "hardcore",
    seed: int = 0,
    return_geometry: bool = False,
    progress: bool = False,
) -> Microstructure | tuple[Microstructure, SynthGeometry]:
    """A synthetic polycrystal: Voronoi grains, boundaries of set thickness and pores.

    Parameters
    ----------
    shape : int or (nx, ny, nz)
        Voxels along x, y, z (an int gives a cube).
    voxel_size_um : float
        Voxel edge in micrometres.
    porosity : float
        Pore volume fraction in [0, 0.9]; met to the voxel (the last pore is shrunk).
    pore_size_um : float
        Mean equivalent diameter of the inserted pores (lognormal, at least one voxel each).
    grain_size_um : float
        Mean linear intercept of the grains (geometric mean over x, y, z), at least two voxels.
    pore_size_std_um : float, optional
        Standard deviation of the pore diameters; default a quarter of the mean, 0 for one size.
    gb_thickness_voxels : float
        Grain boundary = voxel centres within half this distance of a grain face; 0 for none,
        else at least 1 (a thinner layer cannot separate grains on the voxel grid).
    pore_placement : {"random", "boundaries", "triple_junctions"}
        Pore centres uniform in the box, on boundary voxels, or on voxels near triple lines.
    anisotropy : (ax, ay, az)
        Stretch factors for grains and pores; normalised to product 1, so the intercept along
        axis i is grain_size_um * a_i / (ax ay az)^(1/3) and volumes are unchanged.
    seed_process : {"hardcore", "poisson"}
        Voronoi seeds by random sequential inhibition (even grains) or a Poisson process.
    seed : int
        Random seed; the same parameters and seed give a bit-identical volume.
    return_geometry : bool
        Also return the SynthGeometry (grain ids, seeds, pore ellipsoids) for exact re-meshing.
    progress : bool
        Show tqdm progress bars.

    Returns
    -------
    Microstructure, or (Microstructure, SynthGeometry)
        Labels 0 pore, 1 grain, 2 grain boundary; metadata holds the parameters and seed.

    Examples
    --------
    >>> m = generate(32, 1.0, porosity=0.05, pore_size_um=3, grain_size_um=8, seed=1)
    >>> abs(m.volume_fractions()["pore"] - 0.05) < 1e-4
    True
    """
    dims, h, p, pore_um, spread_um, grain_um, thickness, anis, seed = check_parameters(
        shape, voxel_size_um, porosity, pore_size_um, pore_size_std_um, grain_size_um,
        gb_thickness_voxels, pore_placement, anisotropy, seed_process, seed,
    )  # fmt: skip
    stretch = grains.volume_preserving_stretch(anis)
    grain_rng, pore_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    seeds, scale = _calibrated_seeds(grain_rng, dims, grain_um / h, stretch, seed_process)
    site_width = max(0.5 * thickness, 0.5)
    junction_width = site_width + 0.5
    voronoi = grains.label_voronoi(dims, seeds, stretch, junction_width, junction_width, progress)
    boundary = voronoi.facet_distance < np.float32(0.5 * thickness)
    labels = np.where(boundary, DEFAULT_PHASES["grain_boundary"], DEFAULT_PHASES["grain"])
    labels = labels.astype(np.uint8)

    sites = None
    if pore_placement == "boundaries":
        sites = np.flatnonzero(voronoi.facet_distance < np.float32(site_width))
    elif pore_placement == "triple_junctions":
        sites = np.flatnonzero(voronoi.junction)
    if sites is not None and len(sites) == 0:
        raise InputError("pore_placement", f"no {pore_placement} in this volume (a single grain)")

    def draw(count: int) -> pores.PoreSpheres:
        diameters = pores.lognormal_diameters(pore_rng, count, pore_um / h, spread_um / h)
        centres = pores.pore_centres(pore_rng, count, dims, sites)
        return pores.PoreSpheres(centres, 0.5 * diameters[:, None] * stretch)

    pore_mask, spheres = pores.fill_to_porosity(dims, p, draw, progress)
    labels[pore_mask] = DEFAULT_PHASES["pore"]

    parameters = {
        "shape": list(dims),
        "voxel_size_um": h,
        "porosity": p,
        "pore_size_um": pore_um,
        "pore_size_std_um": spread_um,
        "grain_size_um": grain_um,
        "gb_thickness_voxels": thickness,
        "pore_placement": pore_placement,
        "anisotropy": list(anis),
        "seed_process": seed_process,
    }
    metadata = {
        "source": "synth.generate",
        "generator": "synth.generate",
        "parameters": parameters,
        "seed": seed,
        "grain_seed_count": len(seeds),
        "grain_seed_scale": scale,
        "pore_count_inserted": len(spheres.centres),
    }
    m = Microstructure(labels, h, dict(DEFAULT_PHASES), "x", metadata)
    if not return_geometry:
        return m
    geometry = SynthGeometry(
        grain_ids=voronoi.grain_ids,
        seeds_um=(seeds * stretch + 0.5) * h,
        stretch=stretch,
        gb_thickness_um=thickness * h,
        pore_centres_um=(spheres.centres + 0.5) * h,
        pore_semi_axes_um=spheres.semi_axes * h,
    )
    return m, geometry
