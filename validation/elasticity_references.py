"""Analytic references for effective elastic moduli: Voigt/Reuss, Hashin-Shtrikman, dilute pores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bulk_shear(E: float, nu: float) -> tuple[float, float]:
    """Bulk and shear modulus (Pa) of an isotropic solid from E (Pa) and Poisson's ratio."""
    return E / (3 * (1 - 2 * nu)), E / (2 * (1 + nu))


def young_poisson(K: float, G: float) -> tuple[float, float]:
    """Young's modulus (Pa) and Poisson's ratio from bulk and shear moduli."""
    return 9 * K * G / (3 * K + G), (3 * K - 2 * G) / (2 * (3 * K + G))


def voigt(fractions: Sequence[float], moduli: Sequence[float]) -> float:
    """Arithmetic mean: the exact E of a laminate loaded along its layers when all nu are equal."""
    return sum(f * m for f, m in zip(fractions, moduli, strict=True))


def reuss(fractions: Sequence[float], moduli: Sequence[float]) -> float:
    """Harmonic mean: the exact E of a laminate loaded across its layers when nu_i / E_i is equal
    in every layer (the lateral strains then match without interlayer stresses)."""
    return 1.0 / sum(f / m for f, m in zip(fractions, moduli, strict=True))


def hashin_shtrikman_upper_porous(E: float, nu: float, porosity: float) -> float:
    """Hashin-Shtrikman upper bound on Young's modulus (Pa) of a solid with void fraction `porosity`.

    Hashin & Shtrikman, J. Mech. Phys. Solids 11 (1963) 127, with the void as the second phase
    (K2 = G2 = 0); the lower bound is zero for voids.
    """
    K, G = bulk_shear(E, nu)
    p, s = porosity, 1 - porosity
    if p == 0:
        return E
    K_hs = K + p / (-1 / K + 3 * s / (3 * K + 4 * G))
    G_hs = G + p / (-1 / G + 6 * s * (K + 2 * G) / (5 * G * (3 * K + 4 * G)))
    return young_poisson(K_hs, G_hs)[0]


def dilute_spherical_pores_E(E: float, nu: float, porosity: float) -> float:
    """Young's modulus (Pa) of a solid with a dilute fraction of spherical pores (Eshelby).

    First order in porosity: E_eff / E = 1 - 3 (1 - nu)(9 + 5 nu) / (2 (7 - 5 nu)) * porosity,
    from the dilute bulk and shear moduli of spherical cavities (e.g. Nemat-Nasser & Hori,
    Micromechanics, 1999).
    """
    return E * (1 - 3 * (1 - nu) * (9 + 5 * nu) / (2 * (7 - 5 * nu)) * porosity)


def spherical_pore_stress_concentration(nu: float) -> float:
    """Peak axial stress at the equator of a spherical cavity under remote uniaxial tension,
    over the remote stress: (27 - 15 nu) / (14 - 10 nu) (Goodier, J. Appl. Mech. 1933)."""
    return (27 - 15 * nu) / (14 - 10 * nu)


def spherical_pore_equator_stress(r_over_R, nu: float):
    """Axial stress on the equatorial plane of a spherical cavity at distance r >= R from its
    centre, over the remote uniaxial stress (Goodier 1933; Timoshenko & Goodier, Theory of
    Elasticity, sec. 142): 1 + (4 - 5 nu) / (2 (7 - 5 nu)) (R/r)^3 + 9 / (2 (7 - 5 nu)) (R/r)^5.
    At r = R it equals ``spherical_pore_stress_concentration(nu)``."""
    q = 1.0 / np.asarray(r_over_R, dtype=float)
    return 1 + (4 - 5 * nu) / (2 * (7 - 5 * nu)) * q**3 + 9 / (2 * (7 - 5 * nu)) * q**5
