"""Q1 linear elasticity straight on the voxel grid: node numbering, stiffness matrix and cell stresses.

Every kept voxel is a cube of edge h with trilinear (Q1) displacements, so its element
stiffness is h (lambda K_lambda + mu K_mu) with two fixed 24 x 24 matrices of the unit cube,
and the row of a node is a 27-point stencil of 3 x 3 blocks summed over the (at most eight)
voxels around it. The matrix is assembled here from the voxel indices alone, without a DOLFINx
mesh: on a 128^3 volume the mesh cost ~1.3 GB and its assembly ~50 s, and the mesh is not
needed to solve (the tests check this matrix against DOLFINx's assembly of the same weak form).
A mesh is built only when fields are written.

Nodes are the corners of kept voxels, split where voxels touch only along an edge or at a corner
(``VoxelNodes``, as in ``meso.mesh.voxel``) and numbered in C order of their vertices; rank r owns
a contiguous run of them (slabs along x, as in ``meso.conduction.voxel_fv``), with the three displacement
components interlaced (dof 3 n + c) and the matrix stored in 3 x 3 blocks (PETSc BAIJ).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from meso.mesh.lattice import CORNER_COMPONENTS, owned_range

# Local node a of a voxel sits at corner CORNERS[a] = (i, j, k), a = 4 i + 2 j + k.
CORNERS = np.array([(i, j, k) for i in (0, 1) for j in (0, 1) for k in (0, 1)])
# 2x2x2 Gauss points of the unit cube: exact for products of Q1 gradients on a cube.
GAUSS = np.array([(x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)]) * (
    1 / np.sqrt(3)
) + 0.5 * (1 - 1 / np.sqrt(3))

NODES_PER_CHUNK = 1 << 13  # bounds the temporaries of the matrix build (~100 MB)
_VOXELS_PER_CHUNK = 1 << 17


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim). The chunks of the
    matrix build leave ~20% of the matrix's size as free heap that glibc keeps (measured on a
    64^3 volume: 200 MB of 950 MB), which the solver's allocations do not all reuse."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        pass


def shape_gradients(points: np.ndarray) -> np.ndarray:
    """Gradients (points, 8, 3) of the eight trilinear shape functions of the unit cube."""
    grads = np.empty((len(points), 8, 3))
    for a, corner in enumerate(CORNERS):
        factors = np.where(corner, points, 1 - points)  # (points, 3)
        signs = np.where(corner, 1.0, -1.0)
        for d in range(3):
            others = np.prod(np.delete(factors, d, axis=1), axis=1)
            grads[:, a, d] = signs[d] * others
    return grads


def strain_operators(points: np.ndarray = GAUSS) -> np.ndarray:
    """B (points, 6, 24): engineering strain (xx, yy, zz, yz, xz, xy) from the 24 nodal
    displacements (dof 3 a + c) of the unit cube at `points`."""
    g = shape_gradients(points)
    B = np.zeros((len(points), 6, 24))
    for c in range(3):
        B[:, c, c::3] = g[:, :, c]
    for row, (c, d) in zip((3, 4, 5), ((1, 2), (0, 2), (0, 1)), strict=True):
        B[:, row, c::3] = g[:, :, d]
        B[:, row, d::3] = g[:, :, c]
    return B


def reference_stiffness() -> tuple[np.ndarray, np.ndarray]:
    """(K_lambda, K_mu): the unit cube's stiffness is lambda K_lambda + mu K_mu; a cube of
    edge h has h times that (gradients scale as 1/h, the volume as h^3)."""
    B = strain_operators()
    trace = np.array([1.0, 1, 1, 0, 0, 0])
    shear = np.diag([2.0, 2, 2, 1, 1, 1])
    weight = 1 / len(B)
    K_lambda = weight * sum(np.outer(b.T @ trace, b.T @ trace) for b in B)
    K_mu = weight * sum(b.T @ shear @ b for b in B)
    return K_lambda, K_mu


def _pair_table() -> np.ndarray:
    """G (16, 64 * 9): the 3 x 3 blocks that a node's eight voxels contribute to its row are
    [lambda, mu] of those voxels (voxel p holds the node at its corner p) times G, for every
    pair (p, b) of that corner and a corner b of the same voxel."""
    K_lambda, K_mu = reference_stiffness()
    G = np.zeros((16, 8, 8, 3, 3))
    for p in range(8):
        for b in range(8):
            G[p, p, b] = K_lambda[3 * p : 3 * p + 3, 3 * b : 3 * b + 3]
            G[8 + p, p, b] = K_mu[3 * p : 3 * p + 3, 3 * b : 3 * b + 3]
    return G.reshape(16, 64 * 9)


def nonzeros(diagonal: np.ndarray, off_diagonal: np.ndarray):
    """Per-row preallocation counts for petsc4py, or (0, 0) on a rank that owns no rows:
    petsc4py takes empty arrays as "no preallocation" and skips its collective setup there,
    which leaves the other ranks waiting in the matrix assembly."""
    if len(diagonal) == 0:
        return 0, 0
    return diagonal.astype(PETSc.IntType), off_diagonal.astype(PETSc.IntType)


def set_blocks(
    matrix: PETSc.Mat, rows: np.ndarray, columns: np.ndarray, blocks: np.ndarray,
    mode: PETSc.InsertMode = PETSc.InsertMode.INSERT_VALUES,
) -> None:  # fmt: skip
    """Put the bs x bs `blocks` (n, bs, bs) at block rows `rows` and block columns `columns`
    (sorted by row, distinct pairs) of `matrix` (AIJ, or BAIJ of block size bs), as one
    compressed-row call."""
    bs = blocks.shape[1]
    block_rows, row_of, per_row = np.unique(rows, return_inverse=True, return_counts=True)
    if matrix.getType().endswith("baij"):  # petsc4py takes the blocks one after another
        indptr = np.zeros(len(block_rows) + 1, dtype=PETSc.IntType)
        np.cumsum(per_row, out=indptr[1:])
        matrix.setValuesBlockedIJV(indptr, columns.astype(PETSc.IntType), blocks.ravel(), addv=mode,
                                   rowmap=block_rows.astype(PETSc.IntType))  # fmt: skip
        return
    row_start = np.concatenate([[0], np.cumsum(per_row)[:-1]])
    rank_in_row = np.arange(len(rows)) - row_start[row_of]
    i, j = np.meshgrid(np.arange(bs), np.arange(bs), indexing="ij")
    # scalar row bs r + i holds, for each block of block row r in column order, its row i
    where = (bs * bs * row_start[row_of] + bs * rank_in_row)[:, None, None] + \
        bs * per_row[row_of][:, None, None] * i + j  # fmt: skip
    values = np.empty(blocks.size)
    values[where] = blocks
    scalar_columns = np.empty(blocks.size, dtype=PETSc.IntType)
    scalar_columns[where] = bs * columns[:, None, None] + j
    indptr = np.zeros(bs * len(block_rows) + 1, dtype=PETSc.IntType)
    np.cumsum(np.repeat(bs * per_row, bs), out=indptr[1:])
    scalar_rows = (bs * block_rows[:, None] + np.arange(bs)).ravel().astype(PETSc.IntType)
    matrix.setValuesIJV(indptr, scalar_columns, values, addv=mode, rowmap=scalar_rows)


class VoxelNodes:
    """The nodes of the kept voxels, split as in ``meso.mesh.voxel``: voxels share a lattice
    vertex only when they are face-connected around it (an edge or corner contact carries no
    load), so a node is a (vertex, component) pair, numbered in the order of its key
    4 * vertex + component (C order of the vertices; the same as the DOLFINx voxel mesh's
    input nodes). Rank r owns a contiguous run of the numbers."""

    def __init__(self, keep: np.ndarray, comm: MPI.Comm = MPI.COMM_WORLD):
        self.shape = tuple(int(n) for n in keep.shape)
        self.comm = comm
        self.keep = keep
        self.lattice = tuple(n + 3 for n in self.shape)  # vertices, padded by one
        self.strides = np.array([self.lattice[1] * self.lattice[2], self.lattice[2], 1])
        padded = np.pad(keep, 2)  # voxel (i, j, k) at padded (i + 2, j + 2, k + 2)
        # occupancy pattern of the 2x2x2 voxels around each padded vertex (bit 7 - p: the
        # voxel that holds the vertex at its corner p, as in meso.mesh.voxel)
        self.pattern = np.zeros(self.lattice, dtype=np.uint8)
        for p, c in enumerate(CORNERS):
            window = tuple(slice(1 - c[d], 1 - c[d] + self.lattice[d]) for d in range(3))
            self.pattern |= padded[window].astype(np.uint8) << (7 - p)
        voxels = np.argwhere(keep) + 1  # padded vertex of each kept voxel's corner 0
        keys = self.corner_keys(voxels)
        used = np.zeros(4 * self.pattern.size, dtype=bool)
        used[keys.ravel()] = True
        del voxels, keys
        self.count = int(np.count_nonzero(used))
        self.number = np.full(4 * self.pattern.size, -1, dtype=PETSc.IntType)
        self.number[used] = np.arange(self.count, dtype=PETSc.IntType)
        self.start, end = owned_range(self.count, comm.rank, comm.size)
        self.all_keys = np.flatnonzero(used)  # key of every node, in node order
        self.keys = self.all_keys[self.start : end]
        del used
        vertex = np.stack(np.unravel_index(self.keys // 4, self.lattice), axis=1)
        self.ijk = (vertex - 1).astype(np.int32)  # lattice index of each owned node

    @property
    def num_owned(self) -> int:
        return len(self.keys)

    def corner_keys(self, voxels_padded: np.ndarray, corners=range(8)) -> np.ndarray:
        """Keys (n, len(corners)) of the nodes at `corners` of voxels given by the padded
        vertex of their corner 0."""
        out = []
        for b in corners:
            vertex = (voxels_padded + CORNERS[b]) @ self.strides
            out.append(4 * vertex + CORNER_COMPONENTS[self.pattern.ravel()[vertex], 7 - b])
        return np.stack(out, axis=1)

    def corner_nodes(self, voxels: np.ndarray, corners=range(8)) -> np.ndarray:
        """Node numbers (n, len(corners)) at `corners` of the kept `voxels` (n, 3)."""
        return self.number[self.corner_keys(np.asarray(voxels) + 1, corners)]


@dataclass
class VoxelStiffness:
    """The assembled Q1 stiffness of the voxels where ``mu > 0`` and its nodes.

    Build with ``VoxelStiffness.build(lam, mu, voxel_size_m, comm)`` (lambda and mu in Pa per
    voxel, 0 outside the solid, the same arrays on every rank).
    """

    matrix: PETSc.Mat
    nodes: VoxelNodes
    h: float
    lam: np.ndarray
    mu: np.ndarray

    @classmethod
    def build(
        cls, lam: np.ndarray, mu: np.ndarray, voxel_size_m: float, comm=MPI.COMM_WORLD,
        nodes: VoxelNodes | None = None, consumers: Sequence[Callable] = (),
    ):  # fmt: skip
        """`nodes` are those of ``mu > 0`` (built here unless given); `consumers` are called
        with (row node, column node, 3 x 3 blocks) of every chunk of rows as it is assembled,
        e.g. to form a coarse operator without a second pass."""
        if nodes is None:
            nodes = VoxelNodes(mu > 0, comm)
        self = cls(None, nodes, float(voxel_size_m), lam, mu)
        self.matrix = self._assemble(consumers)
        release_free_memory()
        return self

    @property
    def comm(self) -> MPI.Comm:
        return self.nodes.comm

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.nodes.shape

    @property
    def count(self) -> int:
        return self.nodes.count

    @property
    def start(self) -> int:
        return self.nodes.start

    @property
    def ijk(self) -> np.ndarray:
        return self.nodes.ijk

    @property
    def num_owned(self) -> int:
        return self.nodes.num_owned

    def coordinates(self) -> np.ndarray:
        """(owned nodes, 3) positions in metres."""
        return self.ijk * self.h

    def row_blocks(self, keys: np.ndarray, with_values: bool):
        """The distinct column nodes of the rows of the nodes with `keys` and, with
        `with_values`, their 3 x 3 blocks: (row of each block (index into keys), column node,
        blocks (n, 3, 3) or None), sorted by row and column."""
        nodes = self.nodes
        n = len(keys)
        vertex, component = keys // 4, keys % 4
        padded_ijk = np.stack(np.unravel_index(vertex, nodes.lattice), axis=1)
        pattern = nodes.pattern.ravel()[vertex]
        moduli = np.zeros((n, 16))
        columns = np.empty((n, 8, 8), dtype=np.int64)
        for p in range(8):
            voxel = padded_ijk - CORNERS[p]  # padded vertex of the voxel's corner 0
            inside = CORNER_COMPONENTS[pattern, 7 - p] == component
            inside &= (pattern >> (7 - p)) & 1 == 1
            v = np.clip(voxel - 1, 0, np.array(nodes.shape) - 1)
            moduli[:, p] = np.where(inside, self.lam[v[:, 0], v[:, 1], v[:, 2]], 0.0)
            moduli[:, 8 + p] = np.where(inside, self.mu[v[:, 0], v[:, 1], v[:, 2]], 0.0)
            columns[:, p] = np.where(inside[:, None], nodes.number[nodes.corner_keys(voxel)], -1)
        columns = columns.reshape(n, 64)
        valid = columns >= 0
        row = np.broadcast_to(np.arange(n)[:, None], columns.shape)[valid]
        key = row * (nodes.count + 1) + columns[valid]
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.ones(len(key), bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        blocks = None
        if with_values:
            values = (moduli @ (self.h * _PAIRS)).reshape(n, 64, 3, 3)[valid][order]
            blocks = np.add.reduceat(values, starts, axis=0)
        return row[order][starts], columns[valid][order][starts], blocks

    def _assemble(self, consumers: Sequence[Callable]) -> PETSc.Mat:
        n_owned = self.num_owned
        end = self.start + n_owned
        diagonal_nnz = np.zeros(n_owned, dtype=PETSc.IntType)  # blocks per block row
        offdiag_nnz = np.zeros(n_owned, dtype=PETSc.IntType)
        for lo in range(0, n_owned, NODES_PER_CHUNK):
            hi = min(lo + NODES_PER_CHUNK, n_owned)
            row, column, _ = self.row_blocks(self.nodes.keys[lo:hi], False)
            local = (column >= self.start) & (column < end)
            for counts, chosen in ((diagonal_nnz, local), (offdiag_nnz, ~local)):
                counts[lo:hi] = np.bincount(row[chosen], minlength=hi - lo)
        # 3 x 3 block storage (BAIJ): one column index per block instead of nine, 30% less
        # memory than AIJ (the solver's multigrid takes it; PETSc's GAMG would not)
        A = PETSc.Mat().create(self.comm)
        A.setSizes(((3 * n_owned, 3 * self.count), (3 * n_owned, 3 * self.count)), 3)
        A.setType(PETSc.Mat.Type.BAIJ)
        A.setPreallocationNNZ(nonzeros(diagonal_nnz, offdiag_nnz))
        A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
        del diagonal_nnz, offdiag_nnz
        for lo in range(0, n_owned, NODES_PER_CHUNK):
            hi = min(lo + NODES_PER_CHUNK, n_owned)
            row, column, blocks = self.row_blocks(self.nodes.keys[lo:hi], True)
            set_blocks(A, self.start + lo + row, column, blocks)
            for consumer in consumers:
                consumer(self.start + lo + row, column, blocks)
        A.assemble()
        return A

    def gather_displacement(self, owned: np.ndarray) -> np.ndarray | None:
        """The displacement (nodes, 3) of every node, in node order, on rank 0 (None
        elsewhere): the owned runs of all ranks put end to end."""
        parts = self.comm.gather(owned.reshape(-1, 3), root=0)
        return None if parts is None else np.concatenate(parts)

    def destroy(self) -> None:
        self.matrix.destroy()


_PAIRS = _pair_table()


@dataclass
class CellStresses:
    """Per-voxel averages over the eight Gauss points (Pa; NaN outside the solid)."""

    von_mises: np.ndarray
    hydrostatic: np.ndarray
    axial: np.ndarray


def cell_stresses(
    displacement: np.ndarray, nodes: VoxelNodes, lam: np.ndarray, mu: np.ndarray, h: float,
    axis: int,
) -> CellStresses:  # fmt: skip
    """Von Mises, hydrostatic and axial (component `axis`) stress of every kept voxel of
    `nodes`, averaged over its 2x2x2 Gauss points, from the `displacement` (nodes, 3)."""
    B = strain_operators().transpose(2, 0, 1).reshape(24, -1) / h  # u_e (24) -> 8 x 6 strains
    out = [np.full(lam.shape, np.nan) for _ in range(3)]
    voxels = np.argwhere(nodes.keep)
    for lo in range(0, len(voxels), _VOXELS_PER_CHUNK):
        v = voxels[lo : lo + _VOXELS_PER_CHUNK]
        u = displacement[nodes.corner_nodes(v)]  # (chunk, 8, 3)
        strain = (u.reshape(len(v), 24) @ B).reshape(len(v), 8, 6)
        la, m = lam[v[:, 0], v[:, 1], v[:, 2], None], mu[v[:, 0], v[:, 1], v[:, 2], None]
        trace = strain[..., :3].sum(axis=2)
        normal = la[..., None] * trace[..., None] + 2 * m[..., None] * strain[..., :3]
        shear = m[..., None] * strain[..., 3:]
        deviator = normal - normal.mean(axis=2, keepdims=True)
        von_mises = np.sqrt(1.5 * (deviator**2).sum(axis=2) + 3 * (shear**2).sum(axis=2))
        for target, values in zip(out, (von_mises, normal.mean(axis=2), normal[..., axis]),
                                  strict=True):  # fmt: skip
            target[v[:, 0], v[:, 1], v[:, 2]] = values.mean(axis=1)
    return CellStresses(*out)


def box_face(nodes: VoxelNodes, axis: int, side: str) -> tuple[np.ndarray, np.ndarray]:
    """The kept voxels (n, 3) with a face on the box face normal to `axis` at its "min" or
    "max" end, and the node numbers (n, 4) of those faces."""
    layer = 0 if side == "min" else nodes.shape[axis] - 1
    voxels = np.argwhere(np.take(nodes.keep, layer, axis=axis))
    voxels = np.insert(voxels, axis, layer, axis=1)
    corners = np.flatnonzero(CORNERS[:, axis] == (0 if side == "min" else 1))
    return voxels, nodes.corner_nodes(voxels, corners)


def face_mean_displacement(
    displacement: np.ndarray, nodes: VoxelNodes, component: int, side: str
) -> float | None:
    """Mean of displacement `component` over the kept voxels' faces on the box face normal to
    it (bilinear on each square face, so each face contributes the mean of its 4 nodes)."""
    voxels, face_nodes = box_face(nodes, component, side)
    if not len(voxels):
        return None
    return float(displacement[face_nodes, component].mean())


def face_springs(stiffness: VoxelStiffness, axis: int, k_N_per_m3: float) -> PETSc.Mat:
    """Diagonal (lumped) tangential springs of stiffness per area `k_N_per_m3` on the two box
    faces normal to `axis`: each face node gets k times a quarter of the area of each kept
    voxel face it is a corner of, on the two components other than `axis`."""
    nodes = stiffness.nodes
    share = np.zeros(nodes.count)
    for side in ("min", "max"):
        np.add.at(share, box_face(nodes, axis, side)[1].ravel(), k_N_per_m3 * stiffness.h**2 / 4)
    values = np.zeros((nodes.num_owned, 3))
    for c in range(3):
        if c != axis:
            values[:, c] = share[nodes.start : nodes.start + nodes.num_owned]
    springs = PETSc.Mat().createAIJ(stiffness.matrix.getSizes(), nnz=1, comm=stiffness.comm)
    diagonal = springs.createVecLeft()
    diagonal.setArray(values.ravel())
    springs.setDiagonal(diagonal)
    springs.assemble()
    diagonal.destroy()
    return springs


__all__ = [
    "CORNERS",
    "CellStresses",
    "VoxelNodes",
    "VoxelStiffness",
    "box_face",
    "cell_stresses",
    "face_mean_displacement",
    "face_springs",
    "reference_stiffness",
    "strain_operators",
]
