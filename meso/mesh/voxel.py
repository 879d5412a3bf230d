"""Hexahedral DOLFINx meshes built directly from the voxels of a label volume, tagged by phase."""

from __future__ import annotations

from dataclasses import dataclass

import dolfinx.mesh
import numpy as np
from mpi4py import MPI

from meso.errors import InputError
from meso.fem.compat import cell_dofs, create_mesh, fixed_partitioner, function_space
from meso.mesh.face_markers import FACE_MARKERS, PORE_SURFACE_MARKER, face_marker
from meso.mesh.lattice import CORNER_COMPONENTS, HEX_CORNERS, OCTANT_OF_CORNER
from meso.microstructure import AXES, axis_index


@dataclass
class VoxelMesh:
    """A distributed hexahedral mesh with one cell per kept voxel.

    Attributes
    ----------
    mesh : dolfinx.mesh.Mesh
        Coordinates in metres; the box is [0, n_x h] x [0, n_y h] x [0, n_z h].
    cell_tags : MeshTags (dim 3)
        The phase label of every local cell (owned and ghost).
    facet_tags : MeshTags (dim 2)
        The box-face facets, marked with ``face_marker(axis, side)``.
    voxel_index : int array (num_local_cells, 3)
        The (i, j, k) voxel of every local cell (owned first, then ghosts).
    shape : (n_x, n_y, n_z) of the volume the mesh was cut from
    voxel_size_m : voxel edge h in metres
    num_cells : number of cells over all ranks
    """

    mesh: dolfinx.mesh.Mesh
    cell_tags: dolfinx.mesh.MeshTagsMetaClass
    facet_tags: dolfinx.mesh.MeshTagsMetaClass
    voxel_index: np.ndarray
    shape: tuple[int, int, int]
    voxel_size_m: float
    num_cells: int

    @property
    def comm(self) -> MPI.Comm:
        return self.mesh.comm

    @property
    def num_owned_cells(self) -> int:
        return self.mesh.topology.index_map(3).size_local

    def box_length_m(self, axis: str | int) -> float:
        return self.shape[axis_index(axis)] * self.voxel_size_m

    def gather_cell_values(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray | None:
        """Collect per-cell values (owned cells first, any trailing component axes) into a
        voxel array of shape ``self.shape + values.shape[1:]`` on rank 0 (None elsewhere)."""
        owned = self.num_owned_cells
        values = np.asarray(values)[:owned]
        parts = self.comm.gather((self.voxel_index[:owned], values), root=0)
        if self.comm.rank != 0:
            return None
        out = np.full(self.shape + values.shape[1:], fill, dtype=np.float64)
        for index, vals in parts:
            out[index[:, 0], index[:, 1], index[:, 2]] = vals
        return out


def _hexahedra(keep: np.ndarray, voxel_size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Cells (n, 8) and vertex coordinates (m, 3) in metres of the voxels where `keep` is True.

    Voxels share a vertex only when they are face-connected around it: where kept voxels meet
    just along an edge or at a corner, each side gets its own copy of the vertex. The mesh is
    then a manifold (DOLFINx 0.5 hangs building facets of non-manifold meshes in parallel),
    and a corner contact, which has no area, carries no current or load. Written with numpy
    because no field library meshes a voxel subset without meshing the bounding box first.
    """
    nx, ny, nz = keep.shape
    lattice = (nx + 1, ny + 1, nz + 1)
    # occupancy pattern of the 2x2x2 voxels around every lattice vertex (bit = octant)
    padded = np.pad(keep, 1)
    pattern = np.zeros(lattice, dtype=np.int64)
    for bit in range(8):
        i, j, k = (bit >> 2) & 1, (bit >> 1) & 1, bit & 1
        pattern |= padded[i : i + nx + 1, j : j + ny + 1, k : k + nz + 1].astype(np.int64) << bit
    voxels = np.stack(np.nonzero(keep), axis=1).astype(np.int64)
    stride = np.array([(ny + 1) * (nz + 1), nz + 1, 1], dtype=np.int64)
    vertices = (voxels @ stride)[:, None] + (HEX_CORNERS @ stride)[None, :]
    del voxels
    # the voxel sits in octant (1 - corner offset) of the block around its vertex
    octant = OCTANT_OF_CORNER[None, :]
    component = CORNER_COMPONENTS[pattern.ravel()[vertices], octant]
    keys = vertices * 4 + component
    del vertices, component
    used = np.zeros(4 * pattern.size, dtype=bool)
    used[keys.ravel()] = True
    node_keys = np.flatnonzero(used)
    del used
    cells = np.searchsorted(node_keys, keys)
    ijk = np.stack(np.unravel_index(node_keys // 4, lattice), axis=1)
    return cells, ijk.astype(np.float64) * voxel_size_m


def slab_destinations(keep: np.ndarray, num_ranks: int) -> tuple[np.ndarray, np.ndarray]:
    """Owner and ghost ranks of each kept voxel (C order) for `num_ranks` ranks.

    The kept voxels are dealt out in equal contiguous runs of C order (slabs along x); a voxel
    is ghosted on every other rank that owns one of its 26 neighbours (face, edge or corner).
    Returned as an adjacency list ``(data, offsets)`` (int32): owner first, then the ghosting
    ranks. Hand-written because DOLFINx 0.5's graph partitioner with facet ghosting mis-builds
    voxel subsets in parallel (two cells sharing one DG0 dof; a vertex shared with another
    rank only through an edge or corner neighbour is not seen as shared), and because slabs
    cost nothing to compute where graph partitioning on rank 0 is slow for large volumes.
    """
    count = int(np.count_nonzero(keep))
    owner = (np.arange(count, dtype=np.int64) * num_ranks // max(count, 1)).astype(np.int32)
    if num_ranks == 1:
        return owner, np.arange(count + 1, dtype=np.int32)
    owner_grid = np.full(tuple(n + 2 for n in keep.shape), -1, dtype=np.int32)
    owner_grid[1:-1, 1:-1, 1:-1][keep] = owner
    inner = owner_grid[1:-1, 1:-1, 1:-1]
    neighbours = []
    for offset in np.ndindex(3, 3, 3):
        if offset == (1, 1, 1):
            continue
        window = tuple(slice(o, o + n) for o, n in zip(offset, keep.shape, strict=True))
        other = owner_grid[window][keep]
        neighbours.append(np.where(other == inner[keep], -1, other))
    ghosts = np.sort(np.stack(neighbours, axis=1), axis=1)
    distinct = ghosts >= 0
    distinct[:, 1:] &= ghosts[:, 1:] != ghosts[:, :-1]
    table = np.concatenate([owner[:, None], ghosts], axis=1)
    chosen = np.concatenate([np.ones((count, 1), bool), distinct], axis=1)
    offsets = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(chosen.sum(axis=1), out=offsets[1:])
    return table[chosen].astype(np.int32), offsets


def build_voxel_mesh(
    labels: np.ndarray | None,
    voxel_size_m: float,
    keep: np.ndarray | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
) -> VoxelMesh:
    """Mesh the voxels of `labels` where `keep` is True, one hexahedron per voxel.

    The cells are created on rank 0 and sent to the ranks in slabs along x (ghosted across
    shared facets; see ``slab_destinations``), so no rank holds the whole mesh afterwards.

    Parameters
    ----------
    labels : uint8 array (x, y, z) on rank 0 (other ranks may pass None)
        Phase labels; they become the cell tags.
    voxel_size_m : float
        Voxel edge in metres.
    keep : bool array (x, y, z) on rank 0, optional
        The voxels to mesh (default: every voxel with a non-zero label).
    comm : MPI communicator

    Returns
    -------
    VoxelMesh

    Examples
    --------
    >>> vm = build_voxel_mesh(np.ones((2, 3, 4), np.uint8), 1e-6, comm=MPI.COMM_SELF)
    >>> vm.num_cells, sorted(set(vm.cell_tags.values))
    (24, [1])
    """
    if not (np.isfinite(voxel_size_m) and voxel_size_m > 0):
        raise InputError("voxel_size_m", f"must be a positive length, got {voxel_size_m}")
    if comm.rank == 0:
        labels = np.ascontiguousarray(labels, dtype=np.uint8)
        if labels.ndim != 3:
            raise InputError("labels", f"expected a 3D volume, got shape {labels.shape}")
        keep = labels != 0 if keep is None else np.asarray(keep, dtype=bool)
        if keep.shape != labels.shape:
            raise InputError("keep", f"shape {keep.shape} differs from labels {labels.shape}")
        if not keep.any():
            raise InputError("keep", "no voxel to mesh")
        cells, points = _hexahedra(keep, voxel_size_m)
        destinations = slab_destinations(keep, comm.size)
        shape = labels.shape
    else:
        cells, points, shape = np.empty((0, 8), np.int64), np.empty((0, 3)), None
        destinations = None
    shape = tuple(int(n) for n in comm.bcast(shape, root=0))
    partitioner = fixed_partitioner(destinations)
    mesh = create_mesh(comm, cells, points, "hexahedron", partitioner)
    del destinations
    del cells, points

    # The voxel of each local cell follows from its centre; the labels travel once, as uint8.
    tdim = mesh.topology.dim
    cell_map = mesh.topology.index_map(tdim)
    num_local = cell_map.size_local + cell_map.num_ghosts
    local_cells = np.arange(num_local, dtype=np.int32)
    centres = dolfinx.mesh.compute_midpoints(mesh, tdim, local_cells)
    voxel_index = np.floor(centres / voxel_size_m).astype(np.int64)
    if comm.size > 1:
        if comm.rank != 0:
            labels = np.empty(shape, dtype=np.uint8)
        comm.Bcast(labels, root=0)
    cell_labels = labels[voxel_index[:, 0], voxel_index[:, 1], voxel_index[:, 2]].astype(np.int32)
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, local_cells, cell_labels)

    mesh.topology.create_connectivity(tdim - 1, tdim)
    facets, markers = [], []
    for (axis, side), marker in FACE_MARKERS.items():
        a = AXES.index(axis)
        plane = 0.0 if side == "min" else shape[a] * voxel_size_m
        found = dolfinx.mesh.locate_entities_boundary(
            mesh,
            tdim - 1,
            lambda x, a=a, plane=plane: np.abs(x[a] - plane) < 1e-6 * voxel_size_m,
        )
        facets.append(found)
        markers.append(np.full(found.size, marker, dtype=np.int32))
    facets_all = np.concatenate(facets)
    order = np.argsort(facets_all)
    facet_tags = dolfinx.mesh.meshtags(
        mesh, tdim - 1, facets_all[order], np.concatenate(markers)[order]
    )
    num_cells = comm.allreduce(cell_map.size_local, op=MPI.SUM)
    return VoxelMesh(mesh, cell_tags, facet_tags, voxel_index, shape, voxel_size_m, num_cells)


def electrode_facet_tags(vm: VoxelMesh, axis: str | int) -> dolfinx.mesh.MeshTagsMetaClass:
    """Facet tags 1 on the min face and 2 on the max face of `axis` (nothing else).

    Forms written with ``ds(1)`` / ``ds(2)`` then read the same for every axis, so they are
    compiled once and reused.
    """
    a = axis_index(axis)
    tags = vm.facet_tags
    on_min = tags.values == face_marker(a, "min")
    chosen = on_min | (tags.values == face_marker(a, "max"))
    values = np.where(on_min, 1, 2)[chosen].astype(np.int32)
    return dolfinx.mesh.meshtags(vm.mesh, tags.dim, tags.indices[chosen], values)


def voxel_dg0(vm: VoxelMesh, volume: np.ndarray, name: str) -> dolfinx.fem.Function:
    """A DG0 function on `vm` taking each cell's value from the voxel array `volume` (the
    same array on every rank)."""
    Q = function_space(vm.mesh, "DG", 0)
    f = dolfinx.fem.Function(Q, name=name)
    index = vm.voxel_index
    f.x.array[cell_dofs(Q)[: len(index), 0]] = volume[index[:, 0], index[:, 1], index[:, 2]]
    return f


def tagged_voxel_mesh(m, comm: MPI.Comm, grain_ids: np.ndarray | None = None):
    """The voxel mesh of the solid of `m` as ``meso mesh --kind voxel`` writes it: (VoxelMesh,
    [cell tags (phase labels), facet tags (box faces 1-6, pore walls PORE_SURFACE_MARKER)] and,
    with `grain_ids` (an array of the volume's shape), cell tags "grain_ids")."""
    m.require_solid()
    vm = build_voxel_mesh(m.labels, m.voxel_size_m, m.solid_mask(), comm)
    mesh, tdim = vm.mesh, vm.mesh.topology.dim
    # pore walls: exterior facets that are not on a box face
    exterior = dolfinx.mesh.exterior_facet_indices(mesh.topology)
    walls = np.setdiff1d(exterior, vm.facet_tags.indices)
    facets = np.concatenate([vm.facet_tags.indices, walls])
    values = np.concatenate([vm.facet_tags.values, np.full(walls.size, PORE_SURFACE_MARKER)])
    order = np.argsort(facets)
    facet_tags = dolfinx.mesh.meshtags(mesh, tdim - 1, facets[order],
                                       values[order].astype(np.int32))  # fmt: skip
    tags = [vm.cell_tags, facet_tags]
    if grain_ids is not None:
        if grain_ids.shape != m.shape:
            raise InputError("grain_ids", f"shape {grain_ids.shape} differs from the volume "
                             f"{m.shape}")  # fmt: skip
        index = vm.voxel_index
        grains = grain_ids[index[:, 0], index[:, 1], index[:, 2]].astype(np.int32)
        grain_tags = dolfinx.mesh.meshtags(mesh, tdim, np.arange(len(grains), dtype=np.int32),
                                           grains)  # fmt: skip
        grain_tags.name = "grain_ids"
        tags.append(grain_tags)
    return vm, tags
