"""Fields of voxel solves as DOLFINx functions: conduction potential and current density (XDMF, a
mid-plane PNG) and elastic displacement and stresses (XDMF)."""

from __future__ import annotations

from pathlib import Path

import dolfinx.fem
import dolfinx.fem.petsc
import numpy as np
import ufl
from petsc4py import PETSc

from meso.fem.compat import cell_dofs, function_space
from meso.io.atomic import atomic_path
from meso.io.xdmf import write_xdmf
from meso.mesh.voxel import HEX_CORNERS, VoxelMesh, electrode_facet_tags
from meso.microstructure import AXES, axis_index


def voxel_dg0(vm: VoxelMesh, volume: np.ndarray, name: str) -> dolfinx.fem.Function:
    """A DG0 function on `vm` taking each cell's value from the voxel array `volume` (the
    same array on every rank)."""
    Q = function_space(vm.mesh, "DG", 0)
    f = dolfinx.fem.Function(Q, name=name)
    index = vm.voxel_index
    f.x.array[cell_dofs(Q)[: len(index), 0]] = volume[index[:, 0], index[:, 1], index[:, 2]]
    return f


def elastic_field_functions(vm: VoxelMesh, fields) -> list[dolfinx.fem.Function]:
    """Displacement (Q1, m) and von Mises and hydrostatic stress (DG0, Pa) of one voxel
    elasticity solve (``meso.elasticity.voxel.ElasticFields``, arrays on rank 0) on the voxel mesh
    `vm` cut from the same voxels."""
    displacement, von_mises, hydrostatic = vm.comm.bcast(
        (fields.displacement_m, fields.von_mises_Pa, fields.hydrostatic_Pa), root=0
    )
    V = function_space(vm.mesh, "Lagrange", 1, (3,))
    u = dolfinx.fem.Function(V, name="displacement")
    # local vertex i of a DOLFINx hexahedron sits at corner HEX_CORNERS[i] of its voxel
    corners = HEX_CORNERS @ np.array([4, 2, 1])
    nodes = fields.nodes.corner_nodes(vm.voxel_index, corners)
    values = u.x.array.reshape(-1, 3)
    values[cell_dofs(V)[: len(vm.voxel_index)]] = displacement[nodes]
    return [u, voxel_dg0(vm, von_mises, "von_mises_Pa"), voxel_dg0(vm, hydrostatic,
                                                                    "hydrostatic_Pa")]  # fmt: skip


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


def plot_midplanes(magnitude: np.ndarray, axis: str | int, target: Path, title: str) -> Path:
    """PNG of |J| on two mid-planes: across the transport axis and along it (voxel units)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = axis_index(axis)
    b = (a + 1) % 3
    across = np.take(magnitude, magnitude.shape[a] // 2, axis=a)
    along = np.take(magnitude, magnitude.shape[b] // 2, axis=b)
    fig, panels = plt.subplots(1, 2, figsize=(10, 4.4), constrained_layout=True)
    vmax = np.nanpercentile(magnitude, 99.5) if np.isfinite(magnitude).any() else 1.0
    for ax, plane, cut, label in (
        (panels[0], across, a, f"{AXES[a]} = mid (across the current)"),
        (panels[1], along, b, f"{AXES[b]} = mid (along {AXES[a]})"),
    ):
        image = ax.imshow(np.ma.masked_invalid(plane).T, origin="lower", vmin=0, vmax=vmax,
                          cmap="inferno")  # fmt: skip
        rest = [AXES[i] for i in range(3) if i != cut]
        ax.set(title=label, xlabel=f"{rest[0]} (voxels)", ylabel=f"{rest[1]} (voxels)")
    fig.colorbar(image, ax=panels, label="|J| (A/m$^2$), pores blank")
    fig.suptitle(title)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return target


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
    )  # fmt: skip
    return [xdmf, png]
