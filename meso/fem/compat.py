"""The one place for DOLFINx calls that differ between 0.5 (Debian 12) and 0.9+ (Debian 13, conda)."""

from __future__ import annotations

import dolfinx
import dolfinx.fem
import dolfinx.mesh
import numpy as np
import ufl

VERSION = tuple(int(p) for p in dolfinx.__version__.split(".")[:2])
NEW_API = VERSION >= (0, 7)


def function_space(mesh, family: str, degree: int, shape: tuple[int, ...] | None = None):
    """A (scalar or vector/tensor) finite element space on `mesh`."""
    if NEW_API:
        element = (family, degree) if shape is None else (family, degree, shape)
        return dolfinx.fem.functionspace(mesh, element)
    if shape is None:
        return dolfinx.fem.FunctionSpace(mesh, (family, degree))
    return dolfinx.fem.VectorFunctionSpace(mesh, (family, degree), dim=shape[0])


def coordinate_element(cell: str, gdim: int = 3):
    """The ufl domain of a degree-1 Lagrange mesh of `cell` ("hexahedron", "tetrahedron")."""
    if NEW_API:
        import basix.ufl

        return ufl.Mesh(basix.ufl.element("Lagrange", cell, 1, shape=(gdim,)))
    return ufl.Mesh(ufl.VectorElement("Lagrange", cell, 1))


def fixed_partitioner(destinations: tuple | None):
    """A cell partitioner that sends the cells given on this rank where `destinations` says.

    `destinations` is ``(data, offsets)`` (int32) of an adjacency list: for local cell i,
    ``data[offsets[i]:offsets[i+1]]`` = owner rank, then the ranks that ghost it. Ranks with
    no cells pass None.
    """
    import dolfinx.cpp.graph

    if destinations is None:
        destinations = (np.zeros(0, np.int32), np.zeros(1, np.int32))
    adjacency = dolfinx.cpp.graph.AdjacencyList_int32(*destinations)

    if NEW_API:
        return lambda comm, nparts, cell_types, cells: adjacency
    return lambda comm, nparts, tdim, cells, ghost_mode: adjacency


def create_mesh(comm, cells, points, cell: str = "hexahedron", partitioner=None):
    """Distribute a mesh given on rank 0 (other ranks pass empty arrays) over `comm`.

    Cells are ghosted across shared facets on both versions (interior-facet integrals need
    it in parallel); without a `partitioner` the default graph partitioner is used.
    """
    domain = coordinate_element(cell, points.shape[1])
    shared_facet = dolfinx.mesh.GhostMode.shared_facet
    if NEW_API:
        if partitioner is None:
            partitioner = dolfinx.mesh.create_cell_partitioner(shared_facet)
        return dolfinx.mesh.create_mesh(comm, cells, points, domain, partitioner)
    if partitioner is None:
        partitioner = dolfinx.mesh.create_cell_partitioner()
    return dolfinx.mesh.create_mesh(comm, cells, points, domain, shared_facet, partitioner)


def cell_geometry_dofs(mesh):
    """Array (num_cells, nodes_per_cell) of geometry node indices of each local cell."""
    dofmap = mesh.geometry.dofmap
    if hasattr(dofmap, "array"):  # 0.5: an AdjacencyList
        return dofmap.array.reshape(-1, dofmap.links(0).size)
    return dofmap


def cell_dofs(V):
    """Array (num_local_cells, dofs_per_cell) of the (block) dofs of every local cell."""
    dofmap = V.dofmap.list
    if hasattr(dofmap, "array"):  # 0.5: an AdjacencyList
        return dofmap.array.reshape(-1, V.dofmap.dof_layout.num_dofs)
    return dofmap


def petsc_vector(function):
    """The PETSc Vec wrapping a Function's values."""
    x = function.x
    return x.petsc_vec if hasattr(x, "petsc_vec") else function.vector


def gmsh_model_to_mesh(model, comm, rank: int = 0, gdim: int = 3):
    """(mesh, cell_tags, facet_tags) from the gmsh model held on `rank` (DOLFINx's gmshio;
    physical groups become the tags), cells ghosted across shared facets (interior-facet
    integrals need it in parallel). 0.5-0.9 return a tuple, 0.10+ a MeshData."""
    try:
        from dolfinx.io import gmshio
    except ImportError:  # 0.10 renamed the module
        from dolfinx.io import gmsh as gmshio

    if NEW_API:  # 0.5 ghosts shared facets by default; later versions take a partitioner
        partitioner = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet)
        data = gmshio.model_to_mesh(model, comm, rank, gdim=gdim, partitioner=partitioner)
    else:
        data = gmshio.model_to_mesh(model, comm, rank, gdim=gdim)
    if hasattr(data, "mesh"):
        return data.mesh, data.cell_tags, data.facet_tags
    return data[0], data[1], data[2]


def write_meshtags(xdmf, tags, mesh) -> None:
    """Write MeshTags to an open XDMFFile after its mesh (0.7+ also want the geometry)."""
    if NEW_API:
        xdmf.write_meshtags(tags, mesh.geometry)
    else:
        xdmf.write_meshtags(tags)
