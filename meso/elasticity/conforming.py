"""Effective Young's modulus factors M_x, M_y, M_z on conforming tetrahedral meshes (P1/P2, DOLFINx).

The same loading and result arithmetic as ``meso.elasticity.voxel`` (``solve_uniaxial``,
``uniaxial_result``): along each axis the face normal to it at its start is held at zero normal
displacement and the opposite face is moved by strain * L, tangential motion there is free
(weak springs remove the rigid-body modes), every other surface (box sides, pore walls) is
traction-free. The solid is one phase (the grain's E and nu). Stress concentration is measured
per tetrahedron: cell-averaged von Mises and hydrostatic stress, volume-weighted percentiles,
and each cell's distance to the nearest pore wall.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI  # noqa: F401 (the doctests use it)

from meso.elasticity.loading import (
    BulkStiffness,
    check_strain,
    isotropic_stress,
    solve_uniaxial,
    uniaxial_result,
)
from meso.elasticity.results import ElasticAxisResult, ElasticityResult, StressStatistics
from meso.elasticity.stress import cell_stress_statistics
from meso.errors import InputError
from meso.fem.compat import cell_dofs, function_space
from meso.fem.integrals import cell_averages
from meso.materials import Materials, lame_parameters, load_materials
from meso.mesh.conforming import PORE_SURFACE_MARKER, ConformingMesh
from meso.microstructure import AXES, axis_index
from meso.progress import Progress, report


@dataclass
class ConformingElasticFields:
    """Fields of one conforming solve (distributed): displacement and DG0 cell averages."""

    axis: str
    displacement: fem.Function
    von_mises: fem.Function
    hydrostatic: fem.Function


def _pore_wall_points(cm: ConformingMesh) -> np.ndarray:
    """Midpoints (m) of the pore-wall facets of every rank, gathered on all ranks."""
    walls = cm.facet_tags.indices[cm.facet_tags.values == PORE_SURFACE_MARKER]
    local = dolfinx.mesh.compute_midpoints(cm.mesh, cm.mesh.topology.dim - 1, walls)
    return np.concatenate(cm.mesh.comm.allgather(np.asarray(local).reshape(-1, 3)))


def conforming_stress_statistics(
    cm: ConformingMesh,
    von_mises: fem.Function,
    hydrostatic: fem.Function,
    cell_volumes: np.ndarray,
    mean_axial_Pa: float,
) -> StressStatistics | None:
    """``meso.elasticity.voxel``'s StressStatistics over the tetrahedra (on rank 0, None elsewhere):
    volume-weighted 99th percentile, distance = cell midpoint to the nearest pore-wall facet
    midpoint (within about one wall element of the true distance)."""
    from scipy.spatial import cKDTree

    mesh = cm.mesh
    owned = mesh.topology.index_map(mesh.topology.dim).size_local
    dofs = cell_dofs(von_mises.function_space)[:owned, 0]
    midpoints = dolfinx.mesh.compute_midpoints(mesh, mesh.topology.dim,
                                               np.arange(owned, dtype=np.int32))  # fmt: skip
    walls = _pore_wall_points(cm)
    distance = cKDTree(walls).query(midpoints)[0] * 1e6 if len(walls) else None
    local = (von_mises.x.array[dofs], hydrostatic.x.array[dofs], cell_volumes[dofs], distance)
    gathered = mesh.comm.gather(local, root=0)
    if mesh.comm.rank != 0:
        return None
    vm_values, hydro, weights = (np.concatenate([g[i] for g in gathered]) for i in range(3))
    distances = None if distance is None else np.concatenate([g[3] for g in gathered])
    return cell_stress_statistics(vm_values, hydro, mean_axial_Pa, distances, weights)


def solve_axis_elastic(
    cm: ConformingMesh,
    axis: str | int,
    E_Pa: float,
    nu: float,
    strain: float = 1e-3,
    degree: int = 1,
    solver_options: dict[str, Any] | None = None,
    with_stress: bool = False,
) -> ElasticAxisResult | tuple[ElasticAxisResult, ConformingElasticFields | None]:
    """Uniaxial loading of the meshed solid along `axis` with Lagrange elements of `degree`.

    Returns
    -------
    ElasticAxisResult with M = E_eff / E_Pa (None when the solve did not converge); with
    `with_stress`, (result with ``stress`` statistics on rank 0, fields) instead.

    Examples
    --------
    >>> from meso.mesh.conforming import build_conforming_mesh
    >>> from meso.mesh.pore_geometry import PoreGeometry
    >>> cm = build_conforming_mesh(PoreGeometry((1, 1, 1), [], []), 0.5, comm=MPI.COMM_SELF)
    >>> r = solve_axis_elastic(cm, "x", 150e9, 0.25)
    >>> round(r.M, 6), round(r.nu_eff["y"], 6)
    (1.0, 0.25)
    """
    if degree not in (1, 2):
        raise InputError("degree", f"must be 1 or 2, got {degree}")
    check_strain(strain, "strain")
    a = axis_index(axis)
    V = function_space(cm.mesh, "Lagrange", degree, (3,))
    lam, mu = lame_parameters(E_Pa, nu)
    sigma = isotropic_stress(mu, lam)
    stiffness = BulkStiffness(V, sigma, ufl.dx)
    uh, iterations, reason = solve_uniaxial(stiffness, cm.facet_tags, a, E_Pa, strain, cm.box_m,
                                            f"meso_conforming_elastic_{AXES[a]}_",
                                            solver_options, guess_nu=nu)  # fmt: skip
    stiffness.destroy()
    s = sigma(uh)
    result = uniaxial_result(uh, s, a, ufl.dx, cm.facet_tags, cm.box_m, E_Pa, strain,
                             iterations, reason)  # fmt: skip
    if not with_stress:
        return result
    if not result.converged:
        return result, None
    deviator = s - ufl.tr(s) / 3 * ufl.Identity(3)
    averages = cell_averages(function_space(cm.mesh, "DG", 0), {
        "von_mises_Pa": ufl.sqrt(1.5 * ufl.inner(deviator, deviator)),
        "hydrostatic_Pa": ufl.tr(s) / 3,
    })  # fmt: skip
    vm_f, hydro_f = averages["von_mises_Pa"], averages["hydrostatic_Pa"]
    result.stress = conforming_stress_statistics(cm, vm_f, hydro_f, averages["cell_volume_m3"],
                                                 result.E_eff_Pa * strain)  # fmt: skip
    return result, ConformingElasticFields(AXES[a], uh, vm_f, hydro_f)


def elastic_conforming(
    cm: ConformingMesh,
    *,
    axes: Sequence[str] = AXES,
    materials: Materials | None = None,
    strain: float = 1e-3,
    degree: int = 1,
    voxel_size_um: float | None = None,
    on_fields: Callable[[ConformingElasticFields], None] | None = None,
    progress: Progress | None = None,
) -> ElasticityResult:
    """M, E_eff, nu_eff and stress statistics along each axis of a conforming mesh, the solid
    with the grain's E and nu (``meso.elastic`` with a ConformingMesh; its parameters)."""
    start = time.perf_counter()
    materials = materials or load_materials()
    grain = materials.grain
    if grain.E_Pa is None or grain.nu is None:
        raise InputError(materials.source, "the grain phase has no E_Pa and nu")
    eps = cm.solid_fraction()
    h = voxel_size_um or float(cm.box_m.min()) * 1e6
    results = {}
    for axis in axes:
        result, fields = solve_axis_elastic(cm, axis, grain.E_Pa, grain.nu, strain, degree,
                                            with_stress=True)  # fmt: skip
        results[AXES[axis_index(axis)]] = result
        if fields is not None and on_fields is not None:
            on_fields(fields)
        report(progress, AXES[axis_index(axis)])
    return ElasticityResult(
        shape=[round(float(b) * 1e6 / h) for b in cm.box_m],
        voxel_size_um=h,
        volume_fractions={"pore": 1.0 - eps, "grain": eps},
        strain=strain,
        axes=results,
        dofs=max((r.dofs for r in results.values()), default=0),
        ranks=cm.mesh.comm.size,
        wall_seconds=time.perf_counter() - start,
        method=f"p{degree}",
    )


__all__ = [
    "ConformingElasticFields",
    "conforming_stress_statistics",
    "elastic_conforming",
    "solve_axis_elastic",
]
