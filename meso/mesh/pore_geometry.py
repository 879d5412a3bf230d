"""Analytic pore geometry (a box minus ellipsoidal pores, in um) for conforming meshes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from meso.errors import InputError


@dataclass
class PoreGeometry:
    """A solid box [0, box_um] minus the union of axis-aligned ellipsoidal pores.

    Attributes
    ----------
    box_um : (3,) float
        Box edges along x, y, z in micrometres.
    centres_um : (N, 3) float
        Pore centres in micrometres (pores may cross the box faces).
    semi_axes_um : (N, 3) float
        Pore semi-axes along x, y, z in micrometres (equal for a sphere).
    voxel_size_um : float, optional
        Voxel edge of the volume this geometry belongs to (sets default mesh sizes).
    grain_grid : (nx, ny, nz), optional
        Split the solid into nx x ny x nz equal cubic-lattice grains whose shared faces are
        zero-thickness grain boundaries (the brick-layer geometry); None for one solid.
    grain_seeds_um, grain_stretch : (K, 3) and (3,) arrays, optional
        Voronoi grains instead: grain g holds the points x nearest to seed g in the metric
        |(x - seed) / stretch| (``synth.SynthGeometry``'s convention); faces between grains
        are zero-thickness grain boundaries.
    source : str
        Where the geometry came from (for error messages and reports).

    Examples
    --------
    >>> g = PoreGeometry.spheres((1, 1, 1), [[0.5, 0.5, 0.5]], [0.2])
    >>> round(g.porosity_estimate(), 4)
    0.0335
    """

    box_um: np.ndarray
    centres_um: np.ndarray
    semi_axes_um: np.ndarray
    voxel_size_um: float | None = None
    grain_grid: tuple[int, int, int] | None = None
    grain_seeds_um: np.ndarray | None = None
    grain_stretch: np.ndarray | None = None
    source: str = "geometry"

    def __post_init__(self) -> None:
        self.box_um = np.asarray(self.box_um, dtype=float).reshape(-1)
        self.centres_um = np.asarray(self.centres_um, dtype=float).reshape(-1, 3)
        self.semi_axes_um = np.asarray(self.semi_axes_um, dtype=float).reshape(-1, 3)
        if self.box_um.shape != (3,) or not np.all(np.isfinite(self.box_um) & (self.box_um > 0)):
            raise InputError(
                self.source, f"box edges must be 3 positive lengths, got {self.box_um}"
            )
        if len(self.centres_um) != len(self.semi_axes_um):
            raise InputError(self.source, "pore centres and semi-axes differ in number")
        if not np.all(np.isfinite(self.centres_um)):
            raise InputError(self.source, "pore centres must be finite")
        if not np.all(np.isfinite(self.semi_axes_um) & (self.semi_axes_um > 0)):
            raise InputError(self.source, "pore semi-axes must be finite and positive")
        if self.grain_grid is not None:
            grid = tuple(int(n) for n in np.ravel(self.grain_grid))
            if len(grid) != 3 or min(grid) < 1 or grid != tuple(np.ravel(self.grain_grid)):
                raise InputError(self.source, f"grain_grid needs 3 integers >= 1, got {grid}")
            self.grain_grid = grid
        if self.grain_seeds_um is not None:
            self.grain_seeds_um = np.asarray(self.grain_seeds_um, dtype=float).reshape(-1, 3)
            stretch = 1.0 if self.grain_stretch is None else self.grain_stretch
            self.grain_stretch = np.broadcast_to(np.asarray(stretch, dtype=float), (3,)).copy()
            if len(self.grain_seeds_um) < 2 or not np.all(np.isfinite(self.grain_seeds_um)):
                raise InputError(self.source, "Voronoi grains need at least two finite seeds")
            if not np.all(self.grain_stretch > 0):
                raise InputError(self.source, "grain stretch factors must be positive")
            if self.grain_grid is not None:
                raise InputError(self.source, "give grain_grid or grain seeds, not both")

    def cache_arrays(self) -> tuple:
        """What the mesh depends on (for ``meso.mesh.cache``)."""
        return (self.box_um, self.centres_um, self.semi_axes_um, self.grain_grid,
                self.grain_seeds_um, self.grain_stretch)  # fmt: skip

    @property
    def has_grains(self) -> bool:
        return self.grain_grid is not None or self.grain_seeds_um is not None

    @classmethod
    def spheres(cls, box_um, centres_um, radii_um, voxel_size_um=None) -> PoreGeometry:
        """Spherical pores of the given radii (um)."""
        radii = np.asarray(radii_um, dtype=float).reshape(-1, 1)
        return cls(box_um, centres_um, np.repeat(radii, 3, axis=1), voxel_size_um, source="spheres")

    @classmethod
    def from_synth(cls, geometry, voxel_size_um: float, source: str = "synth",
                   grains: bool = False) -> PoreGeometry:  # fmt: skip
        """The pores (and with `grains` the Voronoi grains) of a ``synth.SynthGeometry``; its
        box is the generated volume."""
        box = np.asarray(geometry.grain_ids.shape, dtype=float) * voxel_size_um
        seeds = geometry.seeds_um if grains else None
        return cls(box, geometry.pore_centres_um, geometry.pore_semi_axes_um, voxel_size_um,
                   grain_seeds_um=seeds, grain_stretch=geometry.stretch if grains else None,
                   source=source)  # fmt: skip

    @property
    def num_pores(self) -> int:
        return len(self.centres_um)

    def porosity_estimate(self) -> float:
        """Sum of pore volumes inside the box over the box volume, ignoring overlaps between
        pores and the parts outside the box (an upper bound for pores inside the box)."""
        volumes = 4.0 / 3.0 * math.pi * np.prod(self.semi_axes_um, axis=1)
        return float(volumes.sum() / np.prod(self.box_um))
