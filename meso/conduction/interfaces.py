"""Conduction with grain boundaries as zero-thickness resistive interfaces (ASR), by symmetric interior penalty DG.

The potential is discontinuous Lagrange (DG) on a conforming mesh whose grain-boundary faces
carry GRAIN_BOUNDARY_MARKER. Inside grains the symmetric interior penalty method (SIPG;
Arnold, SIAM J. Numer. Anal. 19 (1982) 742) enforces continuity weakly; on grain-boundary
faces the flux is continuous and proportional to the potential jump, j = [phi] / R with R the
area-specific resistance (ohm m^2), which adds (1/R) [phi][v] to the bilinear form and nothing
else. The electrodes (1 V / 0 V on the faces normal to the axis) are imposed by Nitsche's
method, every other surface is insulated. A piecewise-linear exact solution (the brick-layer
laminate) is reproduced to solver precision.
"""

from __future__ import annotations

from typing import Any

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from meso.conduction.system import solve_from_linear_guess
from meso.errors import InputError
from meso.fem.compat import function_space
from meso.mesh.conforming import GRAIN_BOUNDARY_MARKER, ConformingMesh
from meso.microstructure import AXES, axis_index

# SIPG penalty per face: SAFETY (p+1)(p+3)/3 |F| / |K| sigma, the form of Shahbazi's explicit
# coercivity bound for tetrahedra (J. Comput. Phys. 205 (2005) 401), with |F| / |K| the
# larger over the two cells: it follows flat gmsh elements, where a fixed alpha / h does not
# (alpha = 10 gave an indefinite matrix beside a pore).
SAFETY = 2.0


def solve_potential_with_interfaces(
    cm: ConformingMesh,
    axis: str | int,
    sigma_S_per_m: float,
    asr_ohm_m2: float,
    degree: int = 1,
    solver_options: dict[str, Any] | None = None,
) -> tuple[dolfinx.fem.Function, float, int, int]:
    """The DG potential along `axis` with grain-boundary faces of resistance `asr_ohm_m2`.

    Parameters
    ----------
    cm : ConformingMesh with grain-boundary facet tags (a PoreGeometry with ``grain_grid``)
    axis : "x", "y", "z" or 0, 1, 2
    sigma_S_per_m : grain conductivity
    asr_ohm_m2 : grain-boundary area-specific resistance (> 0)
    degree : DG degree (1 or 2)
    solver_options : PETSc options (default ``meso.fem.solver_options.CG_BOOMERAMG``)

    Returns
    -------
    (potential, electrode current in A at 1 V (the SIPG-consistent flux, inlet and outlet
    averaged), CG iterations, PETSc converged reason)
    """
    if not (np.isfinite(asr_ohm_m2) and asr_ohm_m2 > 0):
        raise InputError("asr_ohm_m2", f"must be a positive resistance, got {asr_ohm_m2}")
    if degree not in (1, 2):
        raise InputError("degree", f"must be 1 or 2, got {degree}")
    a_idx = axis_index(axis)
    mesh = cm.mesh
    V = function_space(mesh, "DG", degree)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    n = ufl.FacetNormal(mesh)
    sigma = dolfinx.fem.Constant(mesh, PETSc.ScalarType(sigma_S_per_m))
    conductance = dolfinx.fem.Constant(mesh, PETSc.ScalarType(1.0 / asr_ohm_m2))
    scale = SAFETY * (degree + 1) * (degree + 3) / 3.0
    inverse_h = ufl.FacetArea(mesh) / ufl.CellVolume(mesh)  # |F| / |K|, ~ 1 / h
    alpha = dolfinx.fem.Constant(mesh, PETSc.ScalarType(scale))
    dS = ufl.Measure("dS", domain=mesh, subdomain_data=cm.facet_tags)
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=cm.electrode_facet_tags(a_idx))
    electrodes = ds(1) + ds(2)

    def interior_penalty(w, z):  # SIPG terms of one interior face
        return (-ufl.inner(ufl.avg(sigma * ufl.grad(w)), ufl.jump(z, n))
                - ufl.inner(ufl.avg(sigma * ufl.grad(z)), ufl.jump(w, n))
                + alpha * sigma * ufl.max_value(inverse_h("+"), inverse_h("-"))
                * ufl.inner(ufl.jump(w, n), ufl.jump(z, n)))  # fmt: skip

    gb = GRAIN_BOUNDARY_MARKER
    a = (sigma * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx
         + interior_penalty(u, v) * dS - interior_penalty(u, v) * dS(gb)
         + conductance * ufl.jump(u) * ufl.jump(v) * dS(gb)
         - (ufl.inner(sigma * ufl.grad(u), n) * v + ufl.inner(sigma * ufl.grad(v), n) * u)
         * electrodes
         + alpha * sigma * inverse_h * u * v * electrodes)  # fmt: skip
    L = -ufl.inner(sigma * ufl.grad(v), n) * ds(1) + alpha * sigma * inverse_h * v * ds(1)
    a_form, L_form = dolfinx.fem.form(a), dolfinx.fem.form(L)
    A = dolfinx.fem.petsc.assemble_matrix(a_form)
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(L_form)
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    uh, iterations, reason = solve_from_linear_guess(
        A, b, V, a_idx, cm.box_length_m(a_idx), f"meso_gb_dg{degree}_{AXES[a_idx]}_",
        solver_options,
    )  # fmt: skip
    # Numerical flux of SIPG at the electrodes: sigma grad(u).n - alpha sigma / h (u - g).
    flux_in = ufl.inner(sigma * ufl.grad(uh), n) - alpha * sigma * inverse_h * (uh - 1.0)
    flux_out = -ufl.inner(sigma * ufl.grad(uh), n) + alpha * sigma * inverse_h * uh
    currents = [mesh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(f)), op=MPI.SUM)
                for f in (flux_in * ds(1), flux_out * ds(2))]  # fmt: skip
    return uh, float(0.5 * (currents[0] + currents[1])), int(iterations), int(reason)


__all__ = ["SAFETY", "solve_potential_with_interfaces"]
