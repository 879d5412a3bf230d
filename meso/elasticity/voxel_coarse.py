"""Coarse space of the voxel elasticity solve: rigid-body modes on blocks of lattice vertices.

PETSc's GAMG builds its first coarse level from the matrix graph: it squares the graph of the
27-point stencil (125 nodes a row) to find aggregates, then forms P^T A P with a parallel
Galerkin product whose intermediate A P is several times P's size; on a 128^3 volume that cost
~5 GB on top of the 6 GB matrix (two ranks), and it needs the matrix in AIJ storage. On a voxel
grid the aggregates are known beforehand, so this module does the same plain (unsmoothed)
aggregation geometrically: the nodes of each block of BLOCK^3 lattice vertices form an aggregate
whose six rigid-body modes, orthonormalised, are the columns of the tentative prolongator P, and
P^T A P is summed from the matrix's rows while they are assembled
(``assemble_with_coarse_space``). Each loading then corrects the coarse operator in place for
its Dirichlet rows and face springs (``CoarseSpace.loaded``), and PCMG runs Chebyshev on the fine
matrix and GAMG on the small coarse one (``meso.fem.solver_options.CG_AGGREGATION_ELASTICITY``).
PETSc has no way to hand GAMG ready-made aggregates (3.18), hence the hand-written level.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import dolfinx.la
import numpy as np
from petsc4py import PETSc

from meso.elasticity.voxel_stiffness import (
    NODES_PER_CHUNK,
    VoxelNodes,
    VoxelStiffness,
    nonzeros,
    set_blocks,
)
from meso.fem.solver_options import GAMG_SETUP_OPTIONS, global_options
from meso.mesh.lattice import owned_range

BLOCK = 4  # lattice vertices per aggregate edge (see CG_AGGREGATION_ELASTICITY)
MODES = 6
_RELATIVE_RANK_TOLERANCE = 1e-9  # modes an aggregate cannot hold (too few nodes) are dropped
_PROLONGATOR_CHUNK = 1 << 16  # nodes per insertion into P (~60 MB of temporaries)


def rigid_modes(d: np.ndarray) -> np.ndarray:
    """R (n, 3, 6): displacement at offsets `d` (n, 3) of a translation t and rotation w,
    u = t + w x d, for the six unit (t, w)."""
    R = np.zeros((len(d), 3, MODES))
    R[:, [0, 1, 2], [0, 1, 2]] = 1.0
    # w x d: column 3 + k is e_k x d
    R[:, 1, 3], R[:, 2, 3] = -d[:, 2], d[:, 1]
    R[:, 0, 4], R[:, 2, 4] = d[:, 2], -d[:, 0]
    R[:, 0, 5], R[:, 1, 5] = -d[:, 1], d[:, 0]
    return R


class RigidAggregates:
    """Aggregates (blocks of `block`^3 lattice vertices) of the nodes of `nodes`, their
    orthonormalised rigid-body modes, the prolongator P and the Galerkin operator P^T A P.

    Aggregates are numbered by (owning rank, block) where the owner is the rank owning the
    aggregate's first node, so every rank owns a contiguous run of coarse rows (six each).
    """

    def __init__(self, nodes: VoxelNodes, block: int = BLOCK):
        self.nodes, self.block = nodes, block
        comm = nodes.comm
        self.blocks_shape = tuple(n // block + 1 for n in nodes.shape)  # vertices 0..n
        block_of_node = self._block_index(nodes.all_keys)
        present, first = np.unique(block_of_node, return_index=True)
        bounds = [owned_range(nodes.count, r, comm.size)[0] for r in range(comm.size)]
        owner = np.searchsorted(bounds, first, side="right") - 1
        order = np.lexsort((present, owner))
        self.count = len(present)
        self.aggregate_of_block = np.full(int(np.prod(self.blocks_shape)), -1, np.int64)
        self.aggregate_of_block[present[order]] = np.arange(self.count)
        counts = np.bincount(owner, minlength=comm.size)
        self.start = int(counts[: comm.rank].sum())
        self.num_owned = int(counts[comm.rank])
        self.block_of_aggregate = present[order]
        self.basis = self._orthonormal_bases(block_of_node)  # (aggregates, 6, 6)

    def _block_index(self, keys: np.ndarray) -> np.ndarray:
        ijk = np.unravel_index(keys // 4, self.nodes.lattice)  # padded by one
        return np.ravel_multi_index(tuple((c - 1) // self.block for c in ijk), self.blocks_shape)

    def _offsets(self, keys: np.ndarray) -> np.ndarray:
        """Position (n, 3) of each node relative to the centre of its block, in voxels."""
        ijk = np.stack(np.unravel_index(keys // 4, self.nodes.lattice), axis=1) - 1
        return ijk - (ijk // self.block) * self.block - (self.block - 1) / 2

    def _orthonormal_bases(self, block_of_node: np.ndarray) -> np.ndarray:
        """T (aggregates, 6, 6) with R T orthonormal over each aggregate's nodes (columns of
        modes it cannot hold are zero): the eigenvectors of the Gram matrix R^T R, summed from
        the moments of the node offsets, scaled by 1 / sqrt(eigenvalue)."""
        aggregate = self.aggregate_of_block[block_of_node]
        d = self._offsets(self.nodes.all_keys)

        def total(weights=None):
            return np.bincount(aggregate, weights, minlength=self.count)

        n = total()
        s1 = np.stack([total(d[:, i]) for i in range(3)], axis=1)
        s2 = np.array([[total(d[:, i] * d[:, j]) for j in range(3)] for i in range(3)])
        s2 = s2.transpose(2, 0, 1)  # (aggregates, 3, 3): sum of d d^T
        gram = np.zeros((self.count, MODES, MODES))
        gram[:, [0, 1, 2], [0, 1, 2]] = n[:, None]
        skew = np.zeros((self.count, 3, 3))  # [s1]_x
        skew[:, 0, 1], skew[:, 0, 2], skew[:, 1, 2] = -s1[:, 2], s1[:, 1], -s1[:, 0]
        skew -= skew.transpose(0, 2, 1)
        gram[:, :3, 3:] = -skew
        gram[:, 3:, :3] = skew
        gram[:, 3:, 3:] = np.trace(s2, axis1=1, axis2=2)[:, None, None] * np.eye(3) - s2
        values, vectors = np.linalg.eigh(gram)
        kept = values > _RELATIVE_RANK_TOLERANCE * values[:, -1:]
        return vectors * np.where(kept, 1 / np.sqrt(np.where(kept, values, 1.0)), 0.0)[:, None]

    def aggregate_of(self, node_numbers: np.ndarray) -> np.ndarray:
        return self.aggregate_of_block[self._block_index(self.nodes.all_keys[node_numbers])]

    def modes(self, node_numbers: np.ndarray, aggregate: np.ndarray | None = None) -> np.ndarray:
        """Q (n, 3, 6): the rows of P at the given nodes (R at the node times its basis);
        `aggregate` is their ``aggregate_of`` where the caller has it already."""
        if aggregate is None:
            aggregate = self.aggregate_of(node_numbers)
        offsets = self._offsets(self.nodes.all_keys[node_numbers])
        return rigid_modes(offsets) @ self.basis[aggregate]

    def prolongator(self) -> PETSc.Mat:
        """P: owned fine dofs (3 per node, interlaced) x coarse dofs (6 per aggregate)."""
        nodes = self.nodes
        owned = np.arange(nodes.start, nodes.start + nodes.num_owned)
        aggregate = self.aggregate_of(owned)
        local = (aggregate >= self.start) & (aggregate < self.start + self.num_owned)
        d_nnz = np.repeat(np.where(local, MODES, 0), 3).astype(PETSc.IntType)
        P = PETSc.Mat().createAIJ(
            ((3 * nodes.num_owned, 3 * nodes.count), (MODES * self.num_owned, MODES * self.count)),
            nnz=nonzeros(d_nnz, MODES - d_nnz), comm=nodes.comm,
        )  # fmt: skip
        for lo in range(0, len(owned), _PROLONGATOR_CHUNK):
            nodes_chunk = owned[lo : lo + _PROLONGATOR_CHUNK]
            columns = np.repeat(MODES * aggregate[lo : lo + _PROLONGATOR_CHUNK], 3)[:, None]
            columns = (columns + np.arange(MODES)).astype(PETSc.IntType)
            indptr = np.arange(0, columns.size + 1, MODES, dtype=PETSc.IntType)
            rows = np.arange(3 * nodes_chunk[0], 3 * nodes_chunk[-1] + 3, dtype=PETSc.IntType)
            P.setValuesIJV(indptr, columns.ravel(), self.modes(nodes_chunk).ravel(), rowmap=rows)
        P.assemble()
        return P

    def empty_operator(self) -> PETSc.Mat:
        """The coarse matrix (block size 6), preallocated for the 27 neighbouring blocks."""
        owned_blocks = self.block_of_aggregate[self.start : self.start + self.num_owned]
        ijk = np.stack(np.unravel_index(owned_blocks, self.blocks_shape), axis=1)
        d_nnz = np.zeros(len(ijk), np.int64)
        o_nnz = np.zeros(len(ijk), np.int64)
        for offset in np.ndindex(3, 3, 3):
            neighbour = ijk + np.array(offset) - 1
            valid = np.all((neighbour >= 0) & (neighbour < self.blocks_shape), axis=1)
            index = np.ravel_multi_index(tuple(np.clip(neighbour, 0, None).T), self.blocks_shape,
                                         mode="clip")  # fmt: skip
            aggregate = np.where(valid, self.aggregate_of_block[index], -1)
            local = (aggregate >= self.start) & (aggregate < self.start + self.num_owned)
            d_nnz += local
            o_nnz += (aggregate >= 0) & ~local
        size = (MODES * self.num_owned, MODES * self.count)
        C = PETSc.Mat().createAIJ(
            (size, size), bsize=MODES, comm=self.nodes.comm,
            nnz=nonzeros(np.repeat(MODES * d_nnz, MODES), np.repeat(MODES * o_nnz, MODES)),
        )  # fmt: skip
        return C

    def add_blocks(self, C: PETSc.Mat, rows: np.ndarray, columns: np.ndarray,
                   blocks: np.ndarray) -> None:  # fmt: skip
        """Add Q_r^T K Q_c of the fine 3 x 3 blocks K at (row node r, column node c) to C."""
        if not len(rows):
            return
        row_nodes, row = np.unique(rows, return_inverse=True)
        column_nodes, column = np.unique(columns, return_inverse=True)
        row_aggregate = self.aggregate_of(row_nodes)
        column_node_aggregate = self.aggregate_of(column_nodes)
        column_aggregate = column_node_aggregate[column]
        # K Q_c summed over the columns of a row that share an aggregate, then Q_r^T of it:
        # about five (row, aggregate) pairs per row instead of 27 blocks
        key = row * self.count + column_aggregate
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        column_modes = self.modes(column_nodes, column_node_aggregate)
        KQ = np.add.reduceat(blocks[order] @ column_modes[column[order]], first, axis=0)
        row, column_aggregate = row[order][first], column_aggregate[order][first]
        contributions = self.modes(row_nodes, row_aggregate)[row].transpose(0, 2, 1) @ KQ
        pair = row_aggregate[row] * self.count + column_aggregate
        order = np.argsort(pair, kind="stable")
        pair = pair[order]
        first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        summed = np.add.reduceat(contributions[order], first, axis=0)
        set_blocks(C, pair[first] // self.count, pair[first] % self.count, summed,
                   PETSc.InsertMode.ADD_VALUES)  # fmt: skip

    def galerkin(self) -> tuple[PETSc.Mat, Callable]:
        """An empty coarse matrix and the consumer that adds a chunk of fine rows to it (pass
        it to ``VoxelStiffness.build``; assemble the matrix after the build)."""
        C = self.empty_operator()
        # a mode an aggregate cannot hold (it has one node, or its nodes are on a line) has a
        # zero column in P; a 1 on its diagonal keeps the coarse matrix regular (the mode is
        # then decoupled, and the coarse near-nullspace is zero there)
        owned = self.basis[self.start : self.start + self.num_owned]
        dropped = np.flatnonzero((owned == 0).all(axis=1).ravel()) + MODES * self.start
        C.setValuesIJV(np.arange(len(dropped) + 1, dtype=PETSc.IntType),
                       dropped.astype(PETSc.IntType), np.ones(len(dropped)),
                       addv=PETSc.InsertMode.ADD_VALUES,
                       rowmap=dropped.astype(PETSc.IntType))  # fmt: skip
        return C, lambda rows, columns, blocks: self.add_blocks(C, rows, columns, blocks)

    def coarse_rigid_modes(self, C: PETSc.Mat) -> PETSc.NullSpace:
        """The six rigid-body modes of the whole volume in coarse coordinates (what GAMG on
        the coarse level needs as near-nullspace): per aggregate T^+ [G(c); 0 I], where G(c)
        moves the rotation centre from the box centre to the aggregate's block centre c."""
        ijk = np.stack(np.unravel_index(
            self.block_of_aggregate[self.start : self.start + self.num_owned],
            self.blocks_shape), axis=1)  # fmt: skip
        centre = ijk * self.block + (self.block - 1) / 2 - np.array(self.nodes.shape) / 2
        G = rigid_modes(centre)  # (aggregates, 3, 6): the translation at the block centre
        basis = self.basis[self.start : self.start + self.num_owned]
        squared = np.einsum("aij,aij->aj", basis, basis)  # 1 / eigenvalue (0: dropped)
        pseudo_inverse = (
            basis.transpose(0, 2, 1) / np.where(squared > 0, squared, np.inf)[..., None]
        )
        full = np.zeros((len(ijk), MODES, MODES))
        full[:, :3] = G
        full[:, 3:, 3:] = np.eye(3)
        coefficients = pseudo_inverse @ full  # (aggregates, 6 coarse, 6 modes)
        vectors = []
        for k in range(MODES):
            v = C.createVecLeft()
            v.setArray(coefficients[:, :, k].ravel())
            vectors.append(v)
        dolfinx.la.orthonormalize(vectors)
        return PETSc.NullSpace().create(vectors=vectors)


def aggregation_ksp(
    A: PETSc.Mat, P: PETSc.Mat, coarse: PETSc.Mat, prefix: str, options: dict
) -> PETSc.KSP:
    """CG on `A` preconditioned by a two-level V-cycle: a smoother on `A`, the prolongator `P`
    and a solver of the `coarse` operator, configured from `options` under `prefix` (PCMG
    options; CG_AGGREGATION_ELASTICITY: GAMG with the coarse near-nullspace there). Set up
    here, with GAMG freeing its product intermediates."""
    if options.get("pc_type", "mg") != "mg":
        raise ValueError(f"the two-level cycle is a PCMG; got pc_type {options['pc_type']!r}")
    ksp = PETSc.KSP().create(A.getComm())
    with global_options(options, prefix), global_options(GAMG_SETUP_OPTIONS):
        ksp.setOptionsPrefix(prefix)
        ksp.setOperators(A)
        pc = ksp.getPC()
        pc.setType(PETSc.PC.Type.MG)
        pc.setMGLevels(2)
        pc.setMGInterpolation(1, P)
        pc.getMGCoarseSolve().setOperators(coarse)
        ksp.setFromOptions()
        ksp.setUp()
    return ksp


@dataclass
class CoarseSpace:
    """The aggregates, their prolongator P and the unloaded coarse operator P^T A P."""

    aggregates: RigidAggregates
    prolongator: PETSc.Mat
    operator: PETSc.Mat

    def destroy(self) -> None:
        self.prolongator.destroy()
        self.operator.destroy()

    @contextmanager
    def loaded(self, stiffness: VoxelStiffness, dirichlet: np.ndarray, springs: np.ndarray):
        """The coarse operator turned into P^T A' P for the block, and back after it: A' is the
        stiffness plus diagonal `springs` (owned nodes, 3) with the Dirichlet dofs `dirichlet`
        (owned nodes, 3; bool) eliminated as ``zeroRowsColumns`` does (rows and columns zero,
        1 on the diagonal). Changed in place (a copy would cost as much again)."""
        self._add_loading(stiffness, dirichlet, springs, 1.0)
        try:
            yield self.operator
        finally:
            self._add_loading(stiffness, dirichlet, springs, -1.0)

    def _add_loading(self, stiffness, dirichlet, springs, sign: float) -> None:
        """Add `sign` P^T (A' - A) P: only the rows of nodes with a spring or a Dirichlet dof
        differ, so only those rows are regenerated."""
        nodes = stiffness.nodes
        aggregates, A1 = self.aggregates, self.operator
        touched_local = np.flatnonzero(dirichlet.any(axis=1) | (springs != 0).any(axis=1))
        parts = nodes.comm.allgather((nodes.start + touched_local, dirichlet[touched_local]))
        touched_all = np.concatenate([numbers for numbers, _ in parts])
        touched = np.zeros(nodes.count, bool)  # all ranks' touched nodes
        touched[touched_all] = True
        fixed = np.zeros((nodes.count, 3), bool)
        fixed[touched_all] = np.concatenate([mask for _, mask in parts])
        for lo in range(0, len(touched_local), NODES_PER_CHUNK):
            chunk = touched_local[lo : lo + NODES_PER_CHUNK]
            row, column, blocks = stiffness.row_blocks(nodes.keys[chunk], True)
            r = nodes.start + chunk[row]
            keep_r = ~fixed[r]
            keep_c = ~fixed[column]
            modified = blocks * keep_r[:, :, None] * keep_c[:, None, :]
            diagonal = column == r
            modified[diagonal] += np.einsum("ni,ij->nij", springs[chunk[row[diagonal]]] *
                                            keep_r[diagonal], np.eye(3))  # fmt: skip
            modified[diagonal] += np.einsum("ni,ij->nij", fixed[r[diagonal]], np.eye(3))
            delta = sign * (modified - blocks)
            aggregates.add_blocks(A1, r, column, delta)
            # the symmetric column entries of rows not regenerated here
            mirror = ~touched[column]
            aggregates.add_blocks(A1, column[mirror], r[mirror], delta[mirror].transpose(0, 2, 1))
        A1.assemble()


def assemble_with_coarse_space(
    lam: np.ndarray, mu: np.ndarray, voxel_size_m: float, comm, block: int = BLOCK
) -> tuple[VoxelStiffness, CoarseSpace]:
    """The voxel stiffness (``VoxelStiffness.build``) and its coarse space, summed in the
    same pass over the rows."""
    nodes = VoxelNodes(mu > 0, comm)
    aggregates = RigidAggregates(nodes, block)
    C, add_rows = aggregates.galerkin()
    stiffness = VoxelStiffness.build(lam, mu, voxel_size_m, comm, nodes, [add_rows])
    C.assemble()
    C.setNearNullSpace(aggregates.coarse_rigid_modes(C))
    return stiffness, CoarseSpace(aggregates, aggregates.prolongator(), C)
