"""3D fields of a partial-contact solve: the cell-averaged two-point current density and the XDMF
of potential and current density (``meso hotspot --fields``, open in ParaView).

The current density of a voxel along each direction is the mean of the two-point fluxes through
its two faces normal to it (harmonic-mean conductivity between voxels, 2 sigma / h to an
electrode at a contacting face voxel, 0 through insulated faces), the scheme of
``meso.conduction.fields.current_density`` for fv solves. Summed over any plane normal to the
cell axis it gives the total current (conservation), which the tests check.
"""

from __future__ import annotations

from pathlib import Path

import dolfinx.fem
import numpy as np
from mpi4py import MPI

from meso.conduction.contact import ContactConduction
from meso.fem.compat import cell_dofs, function_space
from meso.io.xdmf import write_xdmf
from meso.mesh.voxel import build_voxel_mesh, voxel_dg0
from meso.microstructure import Microstructure, axis_index


def cell_current_density(r: ContactConduction, voxel_size_m: float) -> np.ndarray:
    """(3, nx, ny, nz) current density in A/m^2 of the solve `r` (with its potential and
    conductivity), NaN outside the conducting voxels."""
    if r.potential_V is None or r.sigma_S_per_m is None:
        raise ValueError("the solve kept no potential (conduct_with_contacts(potential=True))")
    a, h = axis_index(r.axis), float(voxel_size_m)
    sigma = r.sigma_S_per_m
    keep = sigma > 0
    phi = np.where(keep, np.nan_to_num(r.potential_V), 0.0)
    flux = np.empty((3, *sigma.shape))
    for c in range(3):
        s0, s1 = np.moveaxis(sigma, c, 0)[:-1], np.moveaxis(sigma, c, 0)[1:]
        p0, p1 = np.moveaxis(phi, c, 0)[:-1], np.moveaxis(phi, c, 0)[1:]
        both = (s0 > 0) & (s1 > 0)
        g = np.where(both, 2 * s0 * s1 / np.where(both, s0 + s1, 1.0), 0.0)
        faces = np.zeros((sigma.shape[c] + 1, *s0.shape[1:]))
        faces[1:-1] = g * (p0 - p1) / h
        if c == a:
            first, last = np.moveaxis(sigma, c, 0)[0], np.moveaxis(sigma, c, 0)[-1]
            on = [np.isfinite(r.current_density_A_per_m2[f]) for f in ("bottom", "top")]
            faces[0] = np.where(on[0], 2 * first / h * (r.bias_V - np.moveaxis(phi, c, 0)[0]), 0)
            faces[-1] = np.where(on[1], 2 * last / h * np.moveaxis(phi, c, 0)[-1], 0.0)
        flux[c] = np.moveaxis(0.5 * (faces[:-1] + faces[1:]), 0, c)
    flux[:, ~keep] = np.nan
    return flux


def write_hotspot_xdmf(
    r: ContactConduction, m: Microstructure, path: str | Path, comm: MPI.Comm = MPI.COMM_WORLD
) -> Path:
    """``path`` (.xdmf + .h5): the potential (V) and current density (A/m^2) of `r` as DG0
    fields on the voxel mesh of its conducting voxels; collective over `comm` (the potential
    on rank 0 is enough)."""
    flux = cell_current_density(r, m.voxel_size_m) if comm.rank == 0 else None
    potential = r.potential_V if comm.rank == 0 else None
    potential, flux = comm.bcast((potential, flux), root=0)
    keep = r.sigma_S_per_m > 0
    vm = build_voxel_mesh(m.labels, m.voxel_size_m, keep, comm)
    phi = voxel_dg0(vm, np.nan_to_num(potential), "potential_V")
    W = function_space(vm.mesh, "DG", 0, (3,))
    J = dolfinx.fem.Function(W, name="current_density_A_per_m2")
    index = vm.voxel_index
    values = J.x.array.reshape(-1, 3)
    values[cell_dofs(W)[: len(index), 0]] = flux[:, index[:, 0], index[:, 1], index[:, 2]].T
    return write_xdmf(path, vm.mesh, [phi, J], comm)


__all__ = ["cell_current_density", "write_hotspot_xdmf"]
