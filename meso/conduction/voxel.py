"""Ionic conductivity microstructure factors M_x, M_y, M_z of a voxel volume, solved in DOLFINx.

Steady conduction div(sigma grad phi) = 0 on the conducting voxels; a potential difference
between the two faces normal to an axis, the other faces insulated. M = sigma_eff /
sigma_grain from the total current with every phase at its conductivity, and the tortuosity
factor tau = eps / M_geometric (TauFactor's convention, eps = conducting volume fraction) with
M_geometric from a second solve of the same voxels all at the grain conductivity, so that tau
describes the pore geometry and grain-boundary resistance enters M only (``meso synth --shape 32
--voxel-size 0.5 --porosity 0.08 --pore-size 2 --grain-size 4 --seed 1`` with the default
boundaries, ten times less conducting: eps / M = 2.12 / 2.10 / 2.16 along x / y / z, the pore
geometry alone 1.08 / 1.08 / 1.08). When every conducting phase has the grain's conductivity
the one solve gives both, at no extra cost. Two discretisations of the same voxels:

- ``fv``: cell-centred finite volumes (DG0 unknowns, two-point fluxes on interior facets with
  the harmonic mean of the two conductivities over the centre distance h, and the electrode
  potential imposed weakly at distance h/2): TauFactor's and PoreSpy's scheme family. Defined
  by the DOLFINx form in ``meso.conduction.two_point_flux``, assembled on the voxel grid without a mesh
  and solved by CG with a geometric multigrid on a PETSc DMDA of the whole box (``solver="gmg"``,
  ``meso.conduction.voxel_gmg``; default) or with BoomerAMG on the kept voxels alone
  (``solver="amg"``, ``meso.conduction.voxel_fv``).
- ``fe``: Q1 Lagrange elements on the voxel hexahedra (a DOLFINx mesh) with a DG0
  conductivity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dolfinx.fem
import dolfinx.fem.petsc
import dolfinx.mesh
import numpy as np
import ufl
from mpi4py import MPI

from meso.conduction.fields import write_conduction_fields
from meso.conduction.results import METHODS, AxisConduction, ConductionResult
from meso.conduction.system import dirichlet_system, dissipated_current, solve_from_linear_guess
from meso.conduction.voxel_fv import FvProblem
from meso.conduction.voxel_gmg import BoundaryFaces, GmgProblem
from meso.errors import InputError
from meso.fem.compat import cell_dofs, function_space
from meso.fem.solver_options import CG_BOOMERAMG, CG_GMG, converged_reason_name
from meso.materials import Materials, load_materials
from meso.mesh.lattice import spanning_clusters
from meso.mesh.voxel import VoxelMesh, build_voxel_mesh, electrode_facet_tags, voxel_dg0
from meso.microstructure import AXES, Microstructure, axis_index
from meso.progress import Progress, report

LOG = logging.getLogger(__name__)
SOLVERS = ("gmg", "amg")  # the fv linear solver: geometric multigrid on a DMDA, or BoomerAMG


def conductivity_lookup(m: Microstructure, materials: Materials) -> np.ndarray:
    """Conductivity in S/m by label (256 entries, 0 for void phases and absent labels);
    InputError for a label that has no material or a non-void phase without an ionic
    conductivity."""
    lookup = np.zeros(256)
    for label, sigma in materials.conductivities(
        set(np.unique(m.labels).tolist()), m.voxel_size_m
    ).items():
        lookup[label] = sigma
    return lookup


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


def fv_potential_function(vm: VoxelMesh, problem: FvProblem | GmgProblem, potential: np.ndarray):
    """The fv potential (owned unknowns of `problem`) as a DG0 function on the voxel mesh `vm`
    cut from the same voxels, for writing fields."""
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


class _GroupProblems:
    """The fv problem, the fe problem and the voxel mesh (with its DG0 conductivity, shared by
    fe and written fields) of one group of axes, built on first use; only one group's problems
    are alive at a time, which keeps the peak memory to one group. ``geometric=True`` gives the
    same problems with the conductivities of `sigma_geometric_by_label` (every conducting phase
    at the grain's); the fe one reuses the mesh, and only one fv problem is alive at a time.
    With ``solver="gmg"`` one GmgProblem serves every group and both conductivities: it is
    refilled in place (its grid, pattern and multigrid hierarchy do not depend on them)."""

    def __init__(self, m: Microstructure, sigma_by_label: np.ndarray, masks: list, comm, *,
                 sigma_geometric_by_label: np.ndarray | None = None, solver: str = "gmg",
                 solver_options: dict[str, Any] | None = None,
                 boundary_faces: BoundaryFaces | None = None):  # fmt: skip
        self.m, self.sigma_by_label, self.masks, self.comm = m, sigma_by_label, masks, comm
        self.sigma_geometric_by_label = sigma_geometric_by_label
        self.solver, self.solver_options = solver, solver_options
        self.boundary_faces = boundary_faces  # not in the geometric solve
        self.group, self.built = None, {}
        self.gmg: GmgProblem | None = None
        self.gmg_filled: tuple[int, bool] | None = None

    def _gmg(self, group: int, geometric: bool) -> GmgProblem:
        """The one GmgProblem, filled with the conductivities of `group` (and `geometric`)."""
        if self.gmg_filled != (group, geometric):
            lookup = self.sigma_geometric_by_label if geometric else self.sigma_by_label
            sigma = np.where(self.masks[group], lookup[self.m.labels], 0.0)
            faces = None if geometric else self.boundary_faces
            if self.gmg is None:
                self.gmg = GmgProblem(sigma, self.m.voxel_size_m, self.comm, self.solver_options,
                                      boundaries=faces)  # fmt: skip
            else:
                self.gmg.set_conductivity(sigma, faces)
            self.gmg_filled = (group, geometric)
        return self.gmg

    def get(self, group: int, kind: str, geometric: bool = False):
        """`kind` "fv" (GmgProblem or FvProblem), "fe" (VoxelConduction) or "mesh" ((VoxelMesh,
        sigma))."""
        if kind == "fv" and self.solver == "gmg":
            return self._gmg(group, geometric)
        if group != self.group:
            self.destroy()
            self.group = group
        key = (kind, geometric and kind != "mesh")
        if kind == "fv" and ("fv", not geometric) in self.built:
            self.built.pop(("fv", not geometric)).destroy()  # one fv matrix alive at a time
        if key not in self.built:
            mask = self.masks[group]
            lookup = self.sigma_geometric_by_label if geometric else self.sigma_by_label
            if kind == "fv":
                sigma = np.where(mask, lookup[self.m.labels], 0.0)
                self.built[key] = FvProblem(sigma, self.m.voxel_size_m, self.comm)
            elif kind == "mesh":
                vm = build_voxel_mesh(self.m.labels, self.m.voxel_size_m, mask, self.comm)
                self.built[key] = (vm, _sigma_function(vm, self.sigma_by_label))
            else:
                vm, sigma = self.get(group, "mesh")
                self.built[key] = VoxelConduction(vm, _sigma_function(vm, lookup) if geometric
                                                  else sigma)  # fmt: skip
        return self.built[key]

    def amg_problem(self, group: int, geometric: bool) -> FvProblem | None:
        """A new FvProblem (BoomerAMG) of the gmg problem's conductivities, for a fallback;
        None with boundary faces, which only the gmg problem has."""
        if self.boundary_faces is not None and not geometric:
            return None
        lookup = self.sigma_geometric_by_label if geometric else self.sigma_by_label
        sigma = np.where(self.masks[group], lookup[self.m.labels], 0.0)
        return FvProblem(sigma, self.m.voxel_size_m, self.comm)

    def destroy(self, *, gmg: bool = False) -> None:
        """Free the problems of the current group (and the GmgProblem with `gmg`)."""
        for problem in self.built.values():
            if isinstance(problem, FvProblem):
                problem.destroy()
        self.built.clear()
        if gmg and self.gmg is not None:
            self.gmg.destroy()
            self.gmg, self.gmg_filled = None, None


def _solve(problem, method: str, axis: str, solver_options):
    """(potential, current A, iterations, PETSc reason, dofs) of one fv or fe solve; the fv
    potential is the owned unknowns, the fe one a DOLFINx function."""
    if method == "fe":
        uh, current, iterations, reason = problem.solve(axis, solver_options)
        return uh, current, iterations, reason, uh.function_space.dofmap.index_map.size_global
    solution = problem.solve(axis, solver_options)
    mismatch = abs(solution.current_in - solution.current_out)
    # (GMG reports the inlet current, second-order accurate in the error of the potential; its
    # outlet current is first-order, so the two differ by ~1e-5 there when M is right to 1e-7)
    if (
        isinstance(problem, FvProblem)
        and solution.reason > 0
        and mismatch > 1e-6 * solution.current
    ):
        LOG.warning("fv %s: inlet and outlet currents differ by %.2e (relative)", axis,
                    mismatch / solution.current)  # fmt: skip
    return (solution.potential, solution.current, solution.iterations, solution.reason,
            problem.count)  # fmt: skip


def _amg_fallback(problems: _GroupProblems, gmg: GmgProblem, group: int, geometric: bool,
                  axis: str, failed: tuple) -> tuple:  # fmt: skip
    """The fv solve of `axis` again with CG + BoomerAMG (its default options) after the
    multigrid with its default options failed (options given are the caller's to keep):
    `failed` is _solve's tuple; the potential comes back in the gmg layout. `failed` itself
    where no fallback exists (boundary faces)."""
    reason = converged_reason_name(failed[3])
    amg = problems.amg_problem(group, geometric)
    if amg is None:
        LOG.warning("fv %s: the multigrid did not converge (%s); boundary faces have no "
                    "BoomerAMG route to fall back to", axis, reason)  # fmt: skip
        return failed
    LOG.warning("fv %s: the multigrid did not converge (%s); solving again with CG + "
                "BoomerAMG", axis, reason)  # fmt: skip
    potential, current, iterations, amg_reason, dofs = _solve(amg, "fv", axis, None)
    volume = amg.gather(potential, root=None)
    amg.destroy()
    return gmg.owned_values(volume), current, iterations, amg_reason, dofs


def _boundary_faces(m: Microstructure, grain_ids, asr_ohm_m2, methods: list[str], solver: str,
                    seeds: tuple | None = None) -> BoundaryFaces | None:  # fmt: skip
    """Grain boundaries as face resistances, None without; InputError for half of the pair, a
    bad shape or resistance, seeds that the ids do not index, or a method/solver that has no
    face model. `seeds`: (seeds_um, stretch or None) or None."""
    if grain_ids is None and asr_ohm_m2 is None:
        return None
    if grain_ids is None or asr_ohm_m2 is None:
        raise InputError("grain_ids" if grain_ids is None else "grain_boundary_asr_ohm_m2",
                         "boundaries on faces need both grain_ids and an ASR")  # fmt: skip
    if methods != ["fv"] or solver != "gmg":
        raise InputError("grain_boundary_asr_ohm_m2", "boundaries on voxel faces are solved by "
                         "method fv with solver gmg only")  # fmt: skip
    if not (np.isfinite(asr_ohm_m2) and asr_ohm_m2 > 0):
        raise InputError("grain_boundary_asr_ohm_m2", f"must be a positive resistance, got "
                         f"{asr_ohm_m2}")  # fmt: skip
    grain_ids = np.asarray(grain_ids)
    if grain_ids.shape != m.shape or not np.issubdtype(grain_ids.dtype, np.integer):
        raise InputError("grain_ids", f"need integers of the volume's shape {m.shape}, got "
                         f"{grain_ids.dtype} {grain_ids.shape}")  # fmt: skip
    if seeds is None or seeds[0] is None:
        return BoundaryFaces(grain_ids, float(asr_ohm_m2))
    seeds_um = np.asarray(seeds[0], float)
    if seeds_um.ndim != 2 or seeds_um.shape[1] != 3 or grain_ids.min() < 0 or \
            grain_ids.max() >= len(seeds_um):  # fmt: skip
        raise InputError("grain_seeds_um", f"need one (x, y, z) seed per grain id (ids up to "
                         f"{grain_ids.max()}), got shape {seeds_um.shape}")  # fmt: skip
    return BoundaryFaces(grain_ids, float(asr_ohm_m2), seeds_um, seeds[1])


def conduct_voxel(
    m: Microstructure,
    *,
    axes: Sequence[str] = AXES,
    method: str = "fv",
    materials: Materials | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    fields_dir: str | Path | None = None,
    solver_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    solver: str = "gmg",
    grain_ids: np.ndarray | None = None,
    grain_boundary_asr_ohm_m2: float | None = None,
    grain_seeds_um: np.ndarray | None = None,
    grain_stretch: np.ndarray | None = None,
) -> ConductionResult:
    """Microstructure factors M = sigma_eff / sigma_grain of the voxels of `m` along `axes`
    (``meso.conduct`` with a Microstructure; its parameters), and tortuosity factors eps /
    M_geometric from the same voxels all at the grain conductivity (a second solve per axis
    and method, only when some conducting phase differs from the grain). Every rank holds `m`;
    the fv system is assembled in 3D blocks (gmg) or slabs (amg), the fe mesh is built on rank
    0 and distributed. `solver` picks the fv linear solver: "gmg" (CG + geometric multigrid,
    options ``CG_GMG``) or "amg" (CG + BoomerAMG, ``CG_BOOMERAMG``, as fe always uses).

    `grain_ids` (ints, the volume's shape) with `grain_boundary_asr_ohm_m2` put the grain
    boundaries on the voxel faces between different grains, as resistances of that ASR in
    series (fv, gmg), instead of a layer of boundary voxels: boundary-phase voxels conduct as
    grain then, and M_geometric is the solve without the face resistances. With the grains'
    Voronoi `grain_seeds_um` (and `grain_stretch`) each face gets its boundary plane's
    orientation (``meso.conduction.voxel_gmg.BoundaryFaces``)."""
    start = time.perf_counter()
    axes = [AXES[axis_index(a)] for a in axes]
    methods = list(METHODS) if method == "both" else [method]
    if any(mt not in METHODS for mt in methods):
        raise InputError("method", f"unknown method {method!r}; expected fv, fe or both")
    if solver not in SOLVERS:
        raise InputError("solver", f"unknown fv solver {solver!r}; expected gmg or amg")
    materials = load_materials() if materials is None else materials
    sigma_grain = materials.grain.conductivity(m.voxel_size_m)
    if not sigma_grain:
        raise InputError(materials.source, "the grain phase needs a positive conductivity")
    sigma_by_label = conductivity_lookup(m, materials)
    sigma_geometric_by_label = np.where(sigma_by_label > 0, sigma_grain, 0.0)
    boundary_faces = _boundary_faces(m, grain_ids, grain_boundary_asr_ohm_m2, methods, solver,
                                     (grain_seeds_um, grain_stretch))  # fmt: skip
    if boundary_faces is not None:  # the boundary phase is grain; its resistance is on faces
        gb_label = m.phases.get("grain_boundary", -1)
        if gb_label in m.labels:
            if sigma_by_label[gb_label] <= 0:
                raise InputError(materials.source, "a void grain-boundary phase cannot be a "
                                 "face resistance")  # fmt: skip
            sigma_by_label[gb_label] = sigma_grain
    conducting = sigma_by_label[m.labels] > 0
    eps = float(conducting.mean())
    present = np.unique(m.labels)
    geometric_solve = boundary_faces is not None or not np.array_equal(
        sigma_by_label[present], sigma_geometric_by_label[present])  # fmt: skip
    groups, masks = _spanning_masks(conducting, axes)
    result = ConductionResult(method=method, shape=m.shape, voxel_size_um=m.voxel_size_um,
                              volume_fractions=m.volume_fractions(), conducting_fraction=eps,
                              ranks=comm.size,
                              solver=solver if "fv" in methods else None,
                              grain_boundary_asr_ohm_m2=grain_boundary_asr_ohm_m2)  # fmt: skip
    problems = _GroupProblems(m, sigma_by_label, masks, comm,
                              sigma_geometric_by_label=sigma_geometric_by_label, solver=solver,
                              solver_options=solver_options,
                              boundary_faces=boundary_faces)  # fmt: skip
    for axis in axes:  # the document's order, whatever the order of the solves
        result.axes[axis] = {}
        if groups[axis] < 0:
            for mt in methods:
                result.axes[axis][mt] = AxisConduction.not_percolating(axis, mt)
                report(progress, f"{axis} {mt}")

    def entry_of(axis: str, mt: str, solved: tuple, geometric: tuple | None) -> AxisConduction:
        a = axis_index(axis)
        _, current, iterations, reason, dofs, seconds = solved
        entry = AxisConduction.from_current(
            axis, mt, current, reason, length_m=m.shape[a] * m.voxel_size_m,
            area_m2=float(np.prod(np.delete(m.shape, a))) * m.voxel_size_m**2,
            sigma_grain_S_per_m=sigma_grain, conducting_fraction=eps, iterations=iterations,
            dofs=dofs, solve_seconds=seconds + (geometric[5] if geometric else 0.0),
            geometric_current_A=geometric[1] if geometric else None,
            geometric_reason=geometric[3] if geometric else None,
        )  # fmt: skip
        if not entry.converged:
            LOG.warning("%s %s: the solver did not converge (%s)", mt, axis,
                        entry.solver_reason)  # fmt: skip
        result.axes[axis][mt] = entry
        report(progress, f"{axis} {mt}")
        return entry

    def timed_solve(group: int, mt: str, axis: str, geometric: bool) -> tuple:
        t0 = time.perf_counter()
        problem = problems.get(group, mt, geometric)
        solved = _solve(problem, mt, axis, solver_options)
        if isinstance(problem, GmgProblem) and solved[3] <= 0 and solver_options is None:
            solved = _amg_fallback(problems, problem, group, geometric, axis, solved)
        return (*solved, time.perf_counter() - t0)

    # group by group (axes with one spanning mask share its problems), every solve with the
    # materials' conductivities first, then the geometric ones, so one fv matrix is alive
    for group in range(len(masks)):
        group_axes = [axis for axis in axes if groups[axis] == group]
        solved = {}
        for axis in group_axes:
            for mt in methods:
                potential, *numbers = timed_solve(group, mt, axis, geometric=False)
                solved[axis, mt] = (None, *numbers)  # the numbers, not the field
                if fields_dir is not None and numbers[2] > 0:
                    vm, sigma = problems.get(group, "mesh")  # once per group, not per axis
                    if mt == "fv":
                        potential = fv_potential_function(vm, problems.get(group, "fv"),
                                                          potential)  # fmt: skip
                    write_conduction_fields(vm, sigma, potential, axis, mt, Path(fields_dir))
                if not geometric_solve:
                    entry_of(axis, mt, solved[axis, mt], None)
        if geometric_solve:
            for axis in group_axes:
                for mt in methods:
                    geometric = timed_solve(group, mt, axis, geometric=True)
                    entry_of(axis, mt, solved.pop((axis, mt)), geometric)
    problems.destroy(gmg=True)
    result.wall_seconds = time.perf_counter() - start
    return result


__all__ = [
    "CG_BOOMERAMG",
    "CG_GMG",
    "SOLVERS",
    "VoxelConduction",
    "conduct_voxel",
    "conductivity_lookup",
]
