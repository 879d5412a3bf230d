"""The finite-volume (two-point flux) conduction scheme as a DOLFINx form: the definition of ``fv``."""

from __future__ import annotations

import dolfinx.fem
import ufl
from petsc4py import PETSc


def two_point_flux_form(sigma: dolfinx.fem.Function, V, voxel_size_m: float):
    """The fv bilinear form on a DG0 space `V` of a voxel mesh: over interior facets, the
    harmonic mean of the two DG0 conductivities over the centre distance h times
    jump(u) jump(v) (a zero cell term keeps every diagonal entry in the sparsity pattern).

    ``meso.conduction.voxel_fv.FvProblem`` assembles the same matrix straight from the voxel grid; the
    tests compare the two.
    """
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    sigma_face = 2 * sigma("+") * sigma("-") / (sigma("+") + sigma("-"))
    zero = dolfinx.fem.Constant(V.mesh, PETSc.ScalarType(0))
    return sigma_face / voxel_size_m * ufl.jump(u) * ufl.jump(v) * ufl.dS + zero * u * v * ufl.dx
