"""Ionic conductivity microstructure factors M_x, M_y, M_z of a voxel volume, solved in DOLFINx.

Steady conduction div(sigma grad phi) = 0 on the conducting voxels; a potential difference
between the two faces normal to an axis, the other faces insulated. M = sigma_eff /
sigma_grain from the total current, and the tortuosity factor tau = eps / M (TauFactor's
convention, eps = conducting volume fraction). Two discretisations of the same voxels:

- ``fv``: cell-centred finite volumes (DG0 unknowns, two-point fluxes on interior facets with
  the harmonic mean of the two conductivities over the centre distance h, and the electrode
  potential imposed weakly at distance h/2): TauFactor's and PoreSpy's scheme family. Defined
  by the DOLFINx form in ``meso.conduction.two_point_flux``, assembled on the voxel grid without a mesh
  (``meso.conduction.voxel_fv``).
- ``fe``: Q1 Lagrange elements on the voxel hexahedra (a DOLFINx mesh) with a DG0
  conductivity.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dolfinx.fem
import dolfinx.fem.petsc
import dolfinx.mesh
import numpy as np
import ufl
from mpi4py import MPI

from meso.conduction.system import (
    axis_conduction,
    dirichlet_system,
    dissipated_current,
    solve_from_linear_guess,
)
from meso.conduction.voxel_fv import FvProblem
from meso.errors import InputError
from meso.fem.compat import cell_dofs, function_space
from meso.fem.solver_options import CG_BOOMERAMG, converged_reason_name
from meso.materials import Materials, load_materials
from meso.mesh.voxel import (
    VoxelMesh,
    build_voxel_mesh,
    electrode_facet_tags,
    spanning_clusters,
)
from meso.microstructure import AXES, Microstructure, axis_index

METHODS = ("fv", "fe")
LOG = logging.getLogger(__name__)


@dataclass
class AxisConduction:
    """The result of one solve along one axis with one method.

    ``M`` is None when the solver did not converge (never a number from a failed solve).
    """

    axis: str
    method: str
    M: float | None
    sigma_eff_S_per_m: float | None
    tortuosity_factor: float | None
    percolating: bool
    iterations: int
    converged: bool
    dofs: int
    current_A: float | None = None
    solver_reason: str = "not solved"
    solve_seconds: float = 0.0

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

    def factor(self, axis: str, method: str | None = None) -> float | None:
        """M along `axis` (by `method`, default the primary one: fv when both were run)."""
        entries = self.axes[AXES[axis_index(axis)]]
        return entries[method or next(iter(entries))].M

    def to_json(self) -> dict[str, Any]:
        """The conduction.json document (DESIGN.md section 4). With method "both" each axis
        entry holds the fv numbers, the fe ones under "fe" and their relative difference."""
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
            "shape": list(self.shape),
            "voxel_size_um": self.voxel_size_um,
            "volume_fractions": self.volume_fractions,
            "conducting_fraction": self.conducting_fraction,
            "axes": axes,
            "dofs": dofs,
            "ranks": self.ranks,
            "wall_seconds": self.wall_seconds,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per axis and method (for conduction.csv)."""
        return [r.to_json() for entries in self.axes.values() for r in entries.values()]


def conductivity_volume(m: Microstructure, materials: Materials) -> np.ndarray:
    """Conductivity of every voxel in S/m (0 for void phases); InputError for a label that has
    no material or a non-void phase without an ionic conductivity."""
    present = set(np.unique(m.labels).tolist())
    sigma_of = materials.conductivities(present, m.voxel_size_m)
    lookup = np.zeros(256)
    for label, sigma in sigma_of.items():
        lookup[label] = sigma
    return lookup[m.labels]


def _sigma_function(vm: VoxelMesh, sigma_by_label: np.ndarray) -> dolfinx.fem.Function:
    """DG0 conductivity from the cell tags (set on owned and ghost cells alike)."""
    Q = function_space(vm.mesh, "DG", 0)
    sigma = dolfinx.fem.Function(Q)
    local_cells = vm.cell_tags.indices
    sigma.x.array[cell_dofs(Q)[local_cells, 0]] = sigma_by_label[vm.cell_tags.values]
    return sigma


class VoxelConduction:
    """The ``fe`` problem (Q1 Lagrange on the voxel hexahedra) on one voxel mesh, assembled per
    axis with its Dirichlet rows: 1 V on the min face of the axis, 0 V on the max face.
    (The ``fv`` scheme needs no mesh: ``meso.conduction.voxel_fv.FvProblem``.)"""

    def __init__(self, vm: VoxelMesh, sigma: dolfinx.fem.Function):
        self.vm, self.sigma = vm, sigma
        self.V = function_space(vm.mesh, "Lagrange", 1)

    def solve(
        self, axis: str | int, solver_options: dict[str, Any] | None = None
    ) -> tuple[dolfinx.fem.Function, float, int, int]:
        """Solve along `axis`: (potential in V, current in A at 1 V, iterations, PETSc reason).

        The current is the dissipated power at 1 V, sigma |grad phi|^2 integrated, which
        equals the electrode current for the discrete solution.
        """
        a_idx = axis_index(axis)
        mesh, sigma = self.vm.mesh, self.sigma
        ds = ufl.Measure("ds", domain=mesh, subdomain_data=electrode_facet_tags(self.vm, a_idx))
        A, b = dirichlet_system(self.V, sigma, ds.subdomain_data())
        uh, iterations, reason = solve_from_linear_guess(
            A, b, self.V, a_idx, self.vm.box_length_m(a_idx), f"meso_fe_{AXES[a_idx]}_",
            solver_options,
        )  # fmt: skip
        current = dissipated_current(uh, sigma)
        return uh, float(current), int(iterations), int(reason)


def fv_potential_function(vm: VoxelMesh, problem: FvProblem, potential: np.ndarray):
    """The fv potential (owned unknowns of `problem`) as a DG0 function on the voxel mesh `vm`
    cut from the same voxels, for writing fields."""
    from meso.conduction.fields import voxel_dg0

    return voxel_dg0(vm, problem.gather(potential, root=None), "potential_V")


def _spanning_masks(conducting: np.ndarray, axes: list[str]) -> tuple[dict[str, int], list]:
    """The voxels in the problem for each axis; axes with identical masks share one problem.

    Returns ``{axis: group}`` (group -1: nothing spans the axis) and the masks, one per group.
    Every rank computes them from its copy of the volume (cheaper than broadcasting).
    """
    groups, masks = {}, []
    for axis in axes:
        mask = spanning_clusters(conducting, axis)
        if not mask.any():
            groups[axis] = -1
            continue
        for g, other in enumerate(masks):
            if np.array_equal(mask, other):
                groups[axis] = g
                break
        else:
            groups[axis] = len(masks)
            masks.append(mask)
    return groups, masks


def conduct(
    m: Microstructure,
    axes: tuple[str, ...] | list[str] = AXES,
    method: str = "fv",
    materials: Materials | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    fields_dir: str | Path | None = None,
    solver_options: dict[str, Any] | None = None,
    progress: Any = None,
) -> ConductionResult:
    """Microstructure factors M = sigma_eff / sigma_grain of `m` along `axes`.

    Parameters
    ----------
    m : Microstructure
        Labels and voxel size, the same on every rank (the CLI reads the file on each); only
        rank 0 meshes it, the other ranks receive their share of the cells.
    axes : sequence of "x", "y", "z"
    method : "fv", "fe" or "both"
    materials : Materials, optional
        Phase conductivities (default: the packaged LLZO table).
    comm : MPI communicator; the mesh is built on rank 0 and distributed over it.
    fields_dir : folder, optional
        Write potential and current density (XDMF) and a mid-plane PNG per solve there.
    solver_options : PETSc options replacing ``meso.fem.solver_options.CG_BOOMERAMG``.
    progress : tqdm-like object with ``update()``, optional (one step per solve).

    Returns
    -------
    ConductionResult

    Examples
    --------
    >>> from meso import Microstructure
    >>> r = conduct(Microstructure(np.ones((8, 8, 8), np.uint8)), axes=["x"], comm=MPI.COMM_SELF)
    >>> round(r.factor("x"), 9)
    1.0
    """
    start = time.perf_counter()
    axes = [AXES[axis_index(a)] for a in axes]
    methods = list(METHODS) if method == "both" else [method]
    if any(mt not in METHODS for mt in methods):
        raise InputError("method", f"unknown method {method!r}; expected fv, fe or both")
    materials = load_materials() if materials is None else materials
    sigma_grain = materials.grain.conductivity(m.voxel_size_m)
    if not sigma_grain:
        raise InputError(materials.source, "the grain phase needs a positive conductivity")
    sigma_volume = conductivity_volume(m, materials)
    conducting = sigma_volume > 0
    eps = float(conducting.mean())
    sigma_by_label = np.zeros(256)
    for label, sigma in materials.conductivities(
        set(np.unique(m.labels).tolist()), m.voxel_size_m
    ).items():
        sigma_by_label[label] = sigma
    groups, masks = _spanning_masks(conducting, axes)
    result = ConductionResult(
        method=method,
        shape=m.shape,
        voxel_size_um=m.voxel_size_um,
        volume_fractions=m.volume_fractions(),
        conducting_fraction=eps,
        ranks=comm.size,
    )
    problems: dict[tuple[int, str], Any] = {}  # one group's problems alive at a time

    def problem_for(group: int, kind: str):
        """The fv problem, the fe problem, or ("mesh") the voxel mesh and its DG0
        conductivity that fe and written fields share, of one group of axes."""
        if (group, kind) not in problems:
            if not any(g == group for g, _ in problems):
                for old in problems.values():
                    if isinstance(old, FvProblem):
                        old.destroy()
                problems.clear()  # keeps the peak memory to one group's problems
            if kind == "fv":
                problems[(group, kind)] = FvProblem(
                    np.where(masks[group], sigma_volume, 0.0), m.voxel_size_m, comm
                )
            elif kind == "mesh":
                vm = build_voxel_mesh(m.labels, m.voxel_size_m, masks[group], comm)
                problems[(group, kind)] = (vm, _sigma_function(vm, sigma_by_label))
            else:
                problems[(group, kind)] = VoxelConduction(*problem_for(group, "mesh"))
        return problems[(group, kind)]

    for axis in axes:
        a = axis_index(axis)
        other = [n for i, n in enumerate(m.shape) if i != a]
        area = other[0] * other[1] * m.voxel_size_m**2
        length = m.shape[a] * m.voxel_size_m
        result.axes[axis] = {}
        for mt in methods:
            if groups[axis] < 0:
                result.axes[axis][mt] = AxisConduction(
                    axis, mt, 0.0, 0.0, None, False, 0, True, 0, 0.0, "no spanning path"
                )
                if progress is not None:
                    progress.update()
                continue
            problem = problem_for(groups[axis], mt)
            t0 = time.perf_counter()
            if mt == "fv":
                solution = problem.solve(axis, solver_options)
                current, iterations, reason = (
                    solution.current, solution.iterations, solution.reason
                )  # fmt: skip
                if reason > 0 and abs(solution.current_in - solution.current_out) > 1e-6 * current:
                    LOG.warning("fv %s: inlet and outlet currents differ by %.2e (relative)", axis,
                                abs(solution.current_in - solution.current_out) / current)  # fmt: skip
                dofs = problem.count
            else:
                uh, current, iterations, reason = problem.solve(axis, solver_options)
                dofs = uh.function_space.dofmap.index_map.size_global
            entry = axis_conduction(axis, mt, current, reason, length, area, sigma_grain, eps,
                                    iterations, dofs, time.perf_counter() - t0)  # fmt: skip
            converged = entry.converged
            if not converged:
                LOG.warning("%s %s: the solver did not converge (%s)", mt, axis,
                            converged_reason_name(reason))  # fmt: skip
            result.axes[axis][mt] = entry
            if fields_dir is not None and converged:
                from meso.conduction.fields import write_conduction_fields

                vm, sigma = problem_for(groups[axis], "mesh")  # once per group, not per axis
                if mt == "fv":
                    uh = fv_potential_function(vm, problem, solution.potential)
                write_conduction_fields(vm, sigma, uh, axis, mt, Path(fields_dir))
            if progress is not None:
                progress.update()
    result.wall_seconds = time.perf_counter() - start
    return result


__all__ = [
    "CG_BOOMERAMG",
    "METHODS",
    "AxisConduction",
    "ConductionResult",
    "VoxelConduction",
    "conduct",
]
