"""Integrals every solver shares: cell averages as DG0 functions and the meshed solid volume."""

from __future__ import annotations

from typing import Any

import dolfinx.fem.petsc
import ufl
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc


def cell_averages(V0, expressions: dict[str, Any]) -> dict[str, fem.Function]:
    """Cell averages of scalar UFL expressions as DG0 functions (integral over the cell volume)."""
    w = ufl.TestFunction(V0)
    one = fem.Constant(V0.mesh, PETSc.ScalarType(1.0))
    volumes = dolfinx.fem.petsc.assemble_vector(fem.form(one * w * ufl.dx))
    volumes.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    result = {}
    for name, expr in expressions.items():
        vec = dolfinx.fem.petsc.assemble_vector(fem.form(expr * w * ufl.dx))
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        f = fem.Function(V0, name=name)
        f.x.array[: vec.getLocalSize()] = vec.getArray() / volumes.getArray()
        f.x.scatter_forward()
        vec.destroy()
        result[name] = f
    result["cell_volume_m3"] = volumes.getArray().copy()
    volumes.destroy()
    return result


def solid_volume_m3(mesh) -> float:
    """Volume of the meshed solid in m^3 (exact for the mesh, summed over ranks)."""
    one = fem.Constant(mesh, PETSc.ScalarType(1.0))
    local = fem.assemble_scalar(fem.form(one * ufl.dx(domain=mesh)))
    return float(mesh.comm.allreduce(local, op=MPI.SUM))
