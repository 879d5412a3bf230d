"""Independent references for conduction: laminates, brick layer, spheres, disk constriction resistance.

Every function computes its value from a formula or from the voxel array with numpy alone
(no FEniCSx), so the solvers in ``meso.conduction.voxel`` can be checked against them.
"""

from __future__ import annotations

import numpy as np

from meso.microstructure import axis_index


def parallel_laminate(fractions, sigmas, sigma_ref: float) -> float:
    """M of layers stacked along the current (arithmetic mean): sum f_i sigma_i / sigma_ref."""
    f, s = np.asarray(fractions, float), np.asarray(sigmas, float)
    return float(np.sum(f * s) / np.sum(f) / sigma_ref)


def series_laminate(fractions, sigmas, sigma_ref: float) -> float:
    """M of layers stacked across the current (harmonic mean); 0 if any layer insulates."""
    f, s = np.asarray(fractions, float), np.asarray(sigmas, float)
    if np.any(s <= 0):
        return 0.0
    return float(np.sum(f) / np.sum(f / s) / sigma_ref)


def brick_layer(grain_size_m: float, boundary_thickness_m: float, sigma_grain: float,
                sigma_boundary: float) -> float:  # fmt: skip
    """Brick-layer model of a grain-boundary network: M = [1 + (delta/d)(sigma_g/sigma_gb)]^-1
    (series boundaries only; d = grain size, delta = boundary thickness)."""
    ratio = boundary_thickness_m / grain_size_m
    return float(1.0 / (1.0 + ratio * sigma_grain / sigma_boundary))


def maxwell_spheres(porosity: float) -> float:
    """Maxwell-Garnett = Hashin-Shtrikman upper bound for insulating spheres: 2(1-p)/(2+p)."""
    return float(2.0 * (1.0 - porosity) / (2.0 + porosity))


def rayleigh_cubic_spheres(porosity: float) -> float:
    """Rayleigh's result for insulating spheres on a simple cubic lattice (with Runge's
    lattice-sum coefficient 1.3045 for the octupole term), accurate to O(p^(14/3)):

        M = 1 - 3p / (2 + p - 1.3045 * (3/4) * p^(10/3)),

    the general form sigma_2 -> 0 of 1 + 3p / ((s2 + 2)/(s2 - 1) - p - 1.3045 (s2 - 1)/(s2 + 4/3)
    p^(10/3)) (Rayleigh 1892; McPhedran & McKenzie, Proc. R. Soc. A 359 (1978) 45).
    """
    p = float(porosity)
    if not 0 <= p < np.pi / 6:
        raise ValueError(f"porosity {p} is outside 0..pi/6 (touching spheres)")
    return float(1.0 - 3.0 * p / (2.0 + p - 1.3045 * 0.75 * p ** (10.0 / 3.0)))


def two_point_network_bounds(sigma_volume: np.ndarray, axis: str | int) -> tuple[float, float]:
    """Rigorous bounds on sigma_eff of the two-point-flux voxel network (the fv scheme).

    The network has a conductance sigma_harmonic * h between face neighbours and 2 sigma h
    from a boundary cell to its electrode. The lower bound lets current flow only in straight
    columns along the axis (Thomson's principle: columns in parallel, each the series sum of
    1/sigma of its voxels); the upper bound holds the potential constant on each slab across
    the axis (Dirichlet's principle: slabs in series). For laminates the two coincide.

    Returns
    -------
    (lower, upper) in the units of `sigma_volume`.
    """
    s = np.moveaxis(np.asarray(sigma_volume, float), axis_index(axis), 0)
    n, area = s.shape[0], s.shape[1] * s.shape[2]
    with np.errstate(divide="ignore"):
        column_resistance = np.sum(np.where(s > 0, 1.0 / np.where(s > 0, s, 1.0), np.inf), axis=0)
    lower = np.sum(1.0 / column_resistance) * n / area
    pair_sum = s[:-1] + s[1:]
    harmonic = np.where(pair_sum > 0, 2 * s[:-1] * s[1:] / np.where(pair_sum > 0, pair_sum, 1), 0)
    conductances = np.concatenate(
        [[2 * s[0].sum()], harmonic.reshape(n - 1, -1).sum(axis=1), [2 * s[-1].sum()]]
    )
    if np.any(conductances <= 0):
        return float(lower), 0.0
    upper = n / area / np.sum(1.0 / conductances)
    return float(lower), float(upper)


def grain_boundary_network(grains_per_axis: int, grain_voxels: int) -> np.ndarray:
    """Labels of cubic grains (1) of `grain_voxels`^3 separated by one-voxel boundaries (2):
    period grain_voxels + 1, the boundary planes at the end of each period."""
    period = grain_voxels + 1
    n = grains_per_axis * period
    on_boundary = (np.arange(n) % period) == grain_voxels
    walls = on_boundary[:, None, None] | on_boundary[None, :, None] | on_boundary[None, None, :]
    return np.where(walls, 2, 1).astype(np.uint8)


def sphere_cell(voxels_per_cell: int, porosity: float) -> np.ndarray:
    """One cubic cell of a simple cubic sphere lattice: a centred insulating sphere (0) of the
    given volume fraction in solid (1); a voxel is pore when its centre lies in the sphere."""
    radius = (3.0 * porosity / (4.0 * np.pi)) ** (1.0 / 3.0) * voxels_per_cell
    centres = np.arange(voxels_per_cell) + 0.5 - voxels_per_cell / 2.0
    r2 = centres[:, None, None] ** 2 + centres[None, :, None] ** 2 + centres[None, None, :] ** 2
    return np.where(r2 < radius**2, 0, 1).astype(np.uint8)


def roess_constriction_factor(contact_ratio: float) -> float:
    """Constriction factor psi of an equipotential disk of radius a centred on the end of a
    semi-infinite circular flux tube of radius b, e = a / b < 1 (Roess 1950; Yovanovich and
    Marotta, Heat Transfer Handbook, Wiley 2003, ch. 4): R = psi / (4 sigma a)."""
    e = float(contact_ratio)
    if not 0 < e < 1:
        raise ValueError(f"contact ratio a / b = {e} is outside 0..1")
    return 1 - 1.40925 * e + 0.29591 * e**3 + 0.05254 * e**5 + 0.02105 * e**7 + 0.01107 * e**9


def disk_constriction_resistance(sigma_S_per_m: float, radius_m: float,
                                 tube_radius_m: float = np.inf) -> float:  # fmt: skip
    """Constriction (spreading) resistance of a disk contact of radius a: Holm's 1 / (4 sigma a)
    on a half-space (Holm, Electric Contacts, Springer 1967), times Roess's factor in a flux tube
    of radius b (the finite-size correction)."""
    psi = 1.0 if np.isinf(tube_radius_m) else roess_constriction_factor(radius_m / tube_radius_m)
    return psi / (4 * sigma_S_per_m * radius_m)
