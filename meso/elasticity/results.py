"""Result types of every elasticity solve: one axis (ElasticAxisResult), one volume (ElasticityResult)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from meso.fem.solver_options import converged_reason_name
from meso.microstructure import AXES


@dataclass
class StressStatistics:
    """Stress concentration in the solid, relative to the mean axial (applied) stress."""

    mean_axial_stress_Pa: float
    von_mises_max_Pa: float
    von_mises_p99_Pa: float
    max_over_mean_axial: float
    p99_over_mean_axial: float
    hydrostatic_min_Pa: float
    hydrostatic_max_Pa: float
    # distance (um) from each solid voxel centre to the nearest pore voxel centre
    distance_bins_um: list[float] = field(default_factory=list)
    hotspot_counts: list[int] = field(default_factory=list)  # von Mises >= 99th percentile
    solid_counts: list[int] = field(default_factory=list)


@dataclass
class ElasticAxisResult:
    """Uniaxial loading along one axis (prescribed normal displacement, free lateral faces)."""

    M: float | None  # None when the solve did not converge: never a number from a failed solve
    E_eff_Pa: float | None
    nu_eff: dict[str, float | None]
    percolating: bool
    converged: bool
    iterations: int
    solver_reason: str = "not solved"  # PETSc's converged/diverged reason
    dofs: int = 0
    stress: StressStatistics | None = None

    @classmethod
    def not_percolating(cls, axis: int) -> ElasticAxisResult:
        """The entry of an axis that no load-bearing cluster spans: M = 0, nothing solved."""
        return cls(M=0.0, E_eff_Pa=0.0, nu_eff={AXES[c]: None for c in range(3) if c != axis},
                   percolating=False, converged=True, iterations=0)  # fmt: skip


@dataclass
class ElasticityResult:
    shape: list[int]
    voxel_size_um: float
    volume_fractions: dict[str, float]
    strain: float
    axes: dict[str, ElasticAxisResult]
    dofs: int = 0
    ranks: int = 1
    wall_seconds: float = 0.0
    method: str = "fe"
    quantity: str = "elasticity"

    def to_json(self) -> dict:
        """The `elasticity.json` document (DESIGN.md section 4)."""
        data = asdict(self)
        order = ["quantity", "method", "shape", "voxel_size_um", "volume_fractions", "strain"]
        return {k: data[k] for k in order} | {k: v for k, v in data.items() if k not in order}


def axis_result(
    axis: int,
    axial_integral: float | None,
    face_means: dict[int, tuple[float | None, float | None]],
    box_m: np.ndarray,
    E_reference_Pa: float,
    strain: float,
    iterations: int,
    reason: int,
    dofs: int,
) -> ElasticAxisResult:
    """E_eff = (integral of the axial stress over the box) / box volume / strain (pores carry
    none), M = E_eff / E_ref, and the two Poisson ratios from the mean displacements (lo, hi)
    of the lateral faces of each lateral component; M None and no numbers for a solve that did
    not converge (reason <= 0)."""
    lateral = [c for c in range(3) if c != axis]
    common = dict(percolating=True, iterations=iterations, dofs=dofs,
                  solver_reason=converged_reason_name(reason))  # fmt: skip
    if reason <= 0:
        return ElasticAxisResult(M=None, E_eff_Pa=None, nu_eff={AXES[c]: None for c in lateral},
                                 converged=False, **common)  # fmt: skip
    E_eff = axial_integral / float(np.prod(box_m)) / strain
    nu_eff: dict[str, float | None] = {}
    for c in lateral:
        lo, hi = face_means[c]
        nu_eff[AXES[c]] = None if lo is None or hi is None else -(hi - lo) / box_m[c] / strain
    return ElasticAxisResult(M=E_eff / E_reference_Pa, E_eff_Pa=E_eff, nu_eff=nu_eff,
                             converged=True, **common)  # fmt: skip
