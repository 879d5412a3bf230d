"""Conduction fields: potential and current density of voxel and conforming solves as XDMF, and a
mid-plane PNG of voxel ones."""

from __future__ import annotations

from pathlib import Path

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl
from petsc4py import PETSc

from meso.fem.compat import cell_dofs, function_space
from meso.fem.integrals import cell_averages
from meso.io.figures import plot_midplanes
from meso.io.xdmf import write_xdmf
from meso.mesh.voxel import VoxelMesh, electrode_facet_tags
from meso.microstructure import AXES, axis_index


def current_density(
    vm: VoxelMesh, sigma: dolfinx.fem.Function, potential: dolfinx.fem.Function, axis: str | int
) -> dolfinx.fem.Function:
    """Cell-wise current density J = -sigma grad(phi) in A/m^2 as a DG0 vector field.

    For a DG0 (finite-volume) potential each component is the mean of the two-point fluxes
    through the cell's two faces normal to that direction (electrode faces included,
    insulated faces count as zero). For a Q1 potential it is the cell average of
    -sigma grad(phi).
    """
    mesh, h = vm.mesh, vm.voxel_size_m
    W = function_space(mesh, "DG", 0, shape=(3,))
    w = ufl.TestFunction(W)
    if potential.function_space.ufl_element().degree() == 0:
        inlet, outlet = 1, 2
        ds = ufl.Measure("ds", domain=mesh, subdomain_data=electrode_facet_tags(vm, axis))
        n = ufl.FacetNormal(mesh)
        u = potential
        sigma_face = 2 * sigma("+") * sigma("-") / (sigma("+") + sigma("-"))
        flux = sigma_face / h * (u("+") - u("-"))  # through the facet along n('+')
        form = flux * ufl.dot(n("+"), w("+") + w("-")) / 2 * ufl.dS
        electrode = 2 * sigma / h
        form += electrode * (u - 1.0) * ufl.dot(n, w) / 2 * ds(inlet)
        form += electrode * u * ufl.dot(n, w) / 2 * ds(outlet)
        scale = 1.0 / h**2  # the facet integrals carry the facet area
    else:
        form = -sigma * ufl.inner(ufl.grad(potential), w) * ufl.dx
        scale = 1.0 / h**3  # cell average
    vector = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(form))
    vector.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    J = dolfinx.fem.Function(W, name="current_density_A_per_m2")
    J.x.array[: vector.getLocalSize()] = vector.getArray() * scale
    J.x.scatter_forward()
    vector.destroy()
    return J


def write_conduction_fields(
    vm: VoxelMesh,
    sigma: dolfinx.fem.Function,
    potential: dolfinx.fem.Function,
    axis: str | int,
    method: str,
    folder: Path,
) -> list[Path]:
    """Write ``conduction_<axis>_<method>.xdmf`` (potential, current density) and
    ``current_density_<axis>_<method>.png`` into `folder`; returns the paths (rank 0)."""
    name = f"{AXES[axis_index(axis)]}_{method}"
    potential.name = "potential_V"
    J = current_density(vm, sigma, potential, axis)
    xdmf = write_xdmf(Path(folder) / f"conduction_{name}.xdmf", vm.mesh, [potential, J], vm.comm)
    magnitude = np.linalg.norm(J.x.array.reshape(-1, 3), axis=1)
    cell_to_dof = cell_dofs(J.function_space)[: vm.num_owned_cells, 0]
    voxels = vm.gather_cell_values(magnitude[cell_to_dof])
    if vm.comm.rank != 0:
        return []
    png = plot_midplanes(
        voxels, axis, Path(folder) / f"current_density_{name}.png",
        f"current density, 1 V along {AXES[axis_index(axis)]} ({method})",
        voxel_size_um=vm.voxel_size_m * 1e6,
    )  # fmt: skip
    return [xdmf, png]


def write_conforming_conduction_fields(
    potential: dolfinx.fem.Function, sigma_S_per_m: float, axis: str, method: str, folder: Path
) -> Path:
    """``conduction_AXIS_METHOD.xdmf`` in `folder`: the potential (V) and the current density
    -sigma grad(phi) averaged over each cell (A/m^2, DG0) of a conforming solve."""
    mesh = potential.function_space.mesh
    potential.name = "potential_V"
    volumes = cell_averages(function_space(mesh, "DG", 0), {})["cell_volume_m3"]
    W = function_space(mesh, "DG", 0, (3,))
    flux = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(
        -sigma_S_per_m * ufl.inner(ufl.grad(potential), ufl.TestFunction(W)) * ufl.dx))  # fmt: skip
    flux.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    J = dolfinx.fem.Function(W, name="current_density_A_per_m2")
    J.x.array[: flux.getLocalSize()] = flux.getArray() / np.repeat(volumes, 3)
    J.x.scatter_forward()
    flux.destroy()
    return write_xdmf(folder / f"conduction_{axis}_{method}.xdmf", mesh, [potential, J], mesh.comm)
