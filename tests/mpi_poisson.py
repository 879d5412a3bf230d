"""Solve a tiny Poisson problem with a known linear solution; run under mpirun by test_dolfinx.py."""

import json
import sys

import dolfinx.fem.petsc
import numpy as np
import ufl
from dolfinx import fem, mesh
from mpi4py import MPI
from petsc4py import PETSc

from meso.fem.compat import function_space

domain = mesh.create_box(
    MPI.COMM_WORLD, [np.zeros(3), np.ones(3)], [6, 5, 4], mesh.CellType.hexahedron
)
V = function_space(domain, "Lagrange", 1)
exact = fem.Function(V)
exact.interpolate(lambda x: 1 + x[0] + 2 * x[1] + 3 * x[2])  # harmonic: Q1 reproduces it exactly
boundary = mesh.locate_entities_boundary(domain, 2, lambda x: np.full(x.shape[1], True))
bc = fem.dirichletbc(exact, fem.locate_dofs_topological(V, 2, boundary))
u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
a = ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx
L = fem.Constant(domain, PETSc.ScalarType(0)) * v * ufl.dx
problem = dolfinx.fem.petsc.LinearProblem(
    a, L, bcs=[bc], petsc_options={"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-12}
)
uh = problem.solve()
error = domain.comm.allreduce(fem.assemble_scalar(fem.form((uh - exact) ** 2 * ufl.dx)), op=MPI.SUM)
cells = domain.topology.index_map(3).size_local
total = domain.comm.allreduce(cells, op=MPI.SUM)
if domain.comm.rank == 0:
    json.dump(
        {
            "ranks": domain.comm.size,
            "l2_error": error**0.5,
            "cells": total,
            "reason": problem.solver.getConvergedReason(),
        },
        sys.stdout,
    )
