"""Result types of every conduction solve: one axis and method (AxisConduction), one volume (ConductionResult)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from meso.fem.solver_options import converged_reason_name
from meso.microstructure import AXES, axis_index

METHODS = ("fv", "fe")
TAU_DEFINITION = (
    "tortuosity_factor = eps / M_geometric (TauFactor's convention, eps = conducting_fraction): "
    "M_geometric has every conducting phase at the grain conductivity (pore geometry only); "
    "M = sigma_eff / sigma_grain includes every phase (grain-boundary resistance too)"
)


@dataclass
class AxisConduction:
    """The result of one solve along one axis with one method.

    ``M`` = sigma_eff / sigma_grain with every phase at its own conductivity (grain boundaries
    included); ``M_geometric`` the same with every conducting phase at the grain conductivity
    (the pore geometry alone), and ``tortuosity_factor`` = eps / M_geometric, a geometric
    tortuosity that grain-boundary resistance does not enter (TAU_DEFINITION). Each is None
    when its solve did not converge (never a number from a failed solve); ``converged`` is
    True only when every solve of the entry converged.
    """

    axis: str
    method: str
    M: float | None
    sigma_eff_S_per_m: float | None
    tortuosity_factor: float | None
    M_geometric: float | None
    percolating: bool
    iterations: int
    converged: bool
    dofs: int
    current_A: float | None = None
    solver_reason: str = "not solved"
    solve_seconds: float = 0.0

    @classmethod
    def from_current(
        cls,
        axis: str,
        method: str,
        current_A: float,
        reason: int,
        *,
        length_m: float,
        area_m2: float,
        sigma_grain_S_per_m: float,
        conducting_fraction: float,
        iterations: int,
        dofs: int,
        solve_seconds: float = 0.0,
        geometric_current_A: float | None = None,
        geometric_reason: int | None = None,
    ) -> AxisConduction:
        """The entry of one converged (PETSc `reason` > 0) or failed solve at 1 V along `axis`:
        sigma_eff = I L / A, M = sigma_eff / sigma_grain, tau = eps / M_geometric; no numbers
        from a solve that did not converge.

        `geometric_current_A` and `geometric_reason` are the current and PETSc reason of the
        same problem with every conducting phase at the grain conductivity; leave them None when
        this solve is that problem already (one phase, or boundaries not resolved), so
        M_geometric = M.

        Examples
        --------
        >>> r = AxisConduction.from_current("x", "p1", 2.0, 2, length_m=1.0, area_m2=4.0,
        ...     sigma_grain_S_per_m=1.0, conducting_fraction=0.5, iterations=3, dofs=10)
        >>> r.M, r.M_geometric, r.sigma_eff_S_per_m, r.tortuosity_factor
        (0.5, 0.5, 0.5, 1.0)
        >>> r = AxisConduction.from_current("x", "fv", 1.0, 2, length_m=1.0, area_m2=4.0,
        ...     sigma_grain_S_per_m=1.0, conducting_fraction=0.5, iterations=3, dofs=10,
        ...     geometric_current_A=2.0, geometric_reason=2)
        >>> r.M, r.M_geometric, r.tortuosity_factor
        (0.25, 0.5, 1.0)
        """
        converged = reason > 0
        sigma_eff = current_A * length_m / area_m2 if converged else None
        factor = sigma_eff / sigma_grain_S_per_m if converged else None
        reason_name = converged_reason_name(reason)
        geometric = factor
        if geometric_current_A is not None or geometric_reason is not None:
            geometric_converged = geometric_reason is not None and geometric_reason > 0
            geometric = (
                geometric_current_A * length_m / area_m2 / sigma_grain_S_per_m
                if geometric_converged and geometric_current_A is not None
                else None
            )
            if not geometric_converged:
                converged = False
                reason_name += f"; geometric solve: {converged_reason_name(geometric_reason or 0)}"
        return cls(
            axis=axis,
            method=method,
            M=factor,
            sigma_eff_S_per_m=sigma_eff,
            tortuosity_factor=conducting_fraction / geometric if geometric else None,
            M_geometric=geometric,
            percolating=True,
            iterations=int(iterations),
            converged=converged,
            dofs=int(dofs),
            current_A=float(current_A) if reason > 0 else None,
            solver_reason=reason_name,
            solve_seconds=solve_seconds,
        )

    @classmethod
    def not_percolating(cls, axis: str, method: str) -> AxisConduction:
        """The entry of an axis that no conducting path spans: M = 0, nothing solved."""
        return cls(axis=axis, method=method, M=0.0, sigma_eff_S_per_m=0.0,
                   tortuosity_factor=None, M_geometric=0.0, percolating=False, iterations=0,
                   converged=True, dofs=0, current_A=0.0,
                   solver_reason="no spanning path")  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ConductionResult:
    """Microstructure factors of a volume; ``axes[axis][method]`` holds each solve."""

    method: str
    shape: tuple[int, int, int]
    voxel_size_um: float
    volume_fractions: dict[str, float]
    conducting_fraction: float
    axes: dict[str, dict[str, AxisConduction]] = field(default_factory=dict)
    ranks: int = 1
    wall_seconds: float = 0.0
    solver: str | None = None  # the fv linear solver ("gmg", "amg"); None without fv
    grain_boundary_asr_ohm_m2: float | None = None  # boundaries as face resistances (voxels)

    def factor(self, axis: str, method: str | None = None) -> float | None:
        """M along `axis` (by `method`, default the primary one: fv when both were run)."""
        entries = self.axes[AXES[axis_index(axis)]]
        return entries[method or next(iter(entries))].M

    def to_json(self) -> dict[str, Any]:
        """The conduction.json document (DESIGN.md section 4). With method "both" each axis
        entry holds the fv numbers, the fe ones under "fe" and their relative difference;
        "tortuosity_definition" says what tortuosity_factor, M and M_geometric are."""
        axes = {}
        for axis, entries in self.axes.items():
            primary = next(iter(entries.values()))
            entry = {k: v for k, v in primary.to_json().items() if k not in ("axis", "method")}
            if "fe" in entries and "fv" in entries:
                fe = entries["fe"].to_json()
                entry["fe"] = {k: v for k, v in fe.items() if k not in ("axis", "method")}
                fv_m, fe_m = entries["fv"].M, entries["fe"].M
                entry["fe_minus_fv_relative"] = (
                    (fe_m - fv_m) / fv_m if fv_m and fe_m is not None else None
                )
            axes[axis] = entry
        dofs = max((r.dofs for e in self.axes.values() for r in e.values()), default=0)
        return {
            "quantity": "conductivity",
            "method": self.method,
            **({"solver": self.solver} if self.solver else {}),
            **(
                {
                    "grain_boundaries": {
                        "model": "voxel faces",
                        "asr_ohm_m2": self.grain_boundary_asr_ohm_m2,
                    }
                }
                if self.grain_boundary_asr_ohm_m2 is not None
                else {}
            ),
            "shape": list(self.shape),
            "voxel_size_um": self.voxel_size_um,
            "volume_fractions": self.volume_fractions,
            "conducting_fraction": self.conducting_fraction,
            "tortuosity_definition": TAU_DEFINITION,
            "axes": axes,
            "dofs": dofs,
            "ranks": self.ranks,
            "wall_seconds": self.wall_seconds,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per axis and method (for conduction.csv)."""
        return [r.to_json() for entries in self.axes.values() for r in entries.values()]


__all__ = ["METHODS", "TAU_DEFINITION", "AxisConduction", "ConductionResult"]
