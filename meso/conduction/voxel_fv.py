"""Cell-centred finite-volume conduction straight on the voxel grid: numbering, matrix and solve.

The ``fv`` scheme of ``meso.conduction.voxel`` is defined by the DOLFINx form
``meso.conduction.two_point_flux.two_point_flux_form`` (DG0 unknowns, two-point fluxes with the harmonic
mean of the conductivities, the electrode potential imposed at h/2). On a voxel grid that form
is a 7-point stencil, so it is assembled here from the voxel indices alone, with no mesh: the
DOLFINx mesh of a 128^3 volume costs ~16 s and ~1.4 kB per voxel, more than the whole solve
(the tests check this matrix against the DOLFINx assembly of the form). A mesh is built only
when fields are written.

Unknowns are the kept voxels. Rank r owns a contiguous run of them in C order (slabs along x,
the partition of ``meso.mesh.voxel.slab_destinations``), numbered inside the run by
anti-diagonal wavefronts i + j + k: with that order hypre's BoomerAMG setup took 4.7 s on a
128^3 volume, against 9.3 s for plain C order (and ~4.5 s with the DOLFINx mesh's own
bandwidth-reducing cell order, used before).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from meso.fem.solver_options import create_ksp
from meso.mesh.lattice import owned_range
from meso.microstructure import axis_index

_ROWS_PER_CHUNK = 1 << 20  # bounds the temporaries of the matrix build (~100 MB)


@dataclass
class FvSolution:
    """One fv solve: the potential of the owned unknowns (V), the electrode current (A) at
    1 V, CG iterations and PETSc's converged reason; inlet and outlet currents separately."""

    potential: np.ndarray
    current: float
    current_in: float
    current_out: float
    iterations: int
    reason: int


class FvProblem:
    """The two-point-flux conduction problem on the voxels where ``sigma > 0``.

    Parameters
    ----------
    sigma : float array (x, y, z)
        Conductivity of each voxel in S/m; voxels with 0 are not part of the problem (callers
        pass the spanning clusters only). The same array on every rank.
    voxel_size_m : voxel edge h in metres
    comm : MPI communicator; each rank assembles and owns the rows of its slab.
    """

    def __init__(self, sigma: np.ndarray, voxel_size_m: float, comm: MPI.Comm = MPI.COMM_WORLD):
        self.shape = tuple(int(n) for n in sigma.shape)
        self.h, self.comm = float(voxel_size_m), comm
        keep = sigma > 0
        self.count = int(np.count_nonzero(keep))
        self.start, self.end = owned_range(self.count, comm.rank, comm.size)
        kept_flat = np.flatnonzero(keep)
        mine = kept_flat[self.start : self.end]
        ijk = np.stack(np.unravel_index(mine, self.shape), axis=1)
        order = np.argsort(ijk.sum(axis=1), kind="stable")  # wavefronts inside the slab
        self.ijk = ijk[order].astype(np.int32)
        self.sigma_owned = sigma.ravel()[mine[order]]
        # global number of every kept voxel, -1 elsewhere, in a volume padded by one voxel so
        # that the six neighbours of any voxel are valid indices
        local = np.empty(len(mine), dtype=np.int32)
        local[order] = np.arange(self.start, self.end, dtype=np.int32)
        numbers = np.concatenate(comm.allgather(local))
        self.number = np.full(tuple(n + 2 for n in self.shape), -1, dtype=np.int32)
        self.number[1:-1, 1:-1, 1:-1][keep] = numbers  # boolean indexing walks C order
        self.matrix = self._interior_matrix(sigma)
        self.base_diagonal = self.matrix.getDiagonal()

    @property
    def num_owned(self) -> int:
        return self.end - self.start

    def _interior_matrix(self, sigma: np.ndarray) -> PETSc.Mat:
        """Rows of the owned unknowns: conductance g = h * harmonic mean of sigma to each
        face neighbour (area h^2 over distance h), -g off the diagonal, their sum on it."""
        n = self.num_owned
        strides = [s // self.number.itemsize for s in self.number.strides]
        padded_flat = np.ravel_multi_index((self.ijk + 1).T, self.number.shape)
        numbers_flat = self.number.ravel()
        sigma_flat = np.pad(sigma, 1).ravel()
        indptr = np.zeros(n + 1, dtype=PETSc.IntType)
        indices = np.empty(7 * n, dtype=PETSc.IntType)
        values = np.empty(7 * n)
        filled = 0
        for lo in range(0, n, _ROWS_PER_CHUNK):
            hi = min(lo + _ROWS_PER_CHUNK, n)
            centre = padded_flat[lo:hi]
            s_self = self.sigma_owned[lo:hi]
            cols = np.empty((hi - lo, 7), dtype=PETSc.IntType)
            vals = np.zeros((hi - lo, 7))
            cols[:, 0] = self.start + np.arange(lo, hi)
            for k, offset in enumerate((s * d for s in strides for d in (-1, 1)), start=1):
                cols[:, k] = numbers_flat[centre + offset]
                s_other = sigma_flat[centre + offset]
                g = 2 * s_self * s_other / (s_self + s_other)  # 0 where the neighbour is out
                vals[:, k] = -g * self.h
                vals[:, 0] += g * self.h
            present = cols >= 0
            sort = np.argsort(np.where(present, cols, np.iinfo(cols.dtype).max), axis=1)
            cols = np.take_along_axis(cols, sort, axis=1)
            vals = np.take_along_axis(vals, sort, axis=1)
            present = np.take_along_axis(present, sort, axis=1)
            counts = present.sum(axis=1)
            np.cumsum(counts, out=indptr[lo + 1 : hi + 1])
            indptr[lo + 1 : hi + 1] += filled
            filled = int(indptr[hi])
            indices[int(indptr[lo]) : filled] = cols[present]
            values[int(indptr[lo]) : filled] = vals[present]
        matrix = PETSc.Mat().createAIJ(
            size=((n, self.count), (n, self.count)),
            csr=(indptr, indices[:filled], values[:filled]),
            comm=self.comm,
        )
        matrix.assemble()
        return matrix

    def electrode_conductance(
        self, axis: int, electrode_masks: tuple[Any, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Conductance 2 sigma h (area h^2 over h/2) of each owned voxel to the min and the
        max electrode of `axis` (zero away from the two faces). `electrode_masks` (min face,
        max face): 2D 0/1 arrays over the face (its two other axes in order; None = the whole
        face) switching the coupling of each face voxel on or off (partial contact)."""
        g = 2 * self.sigma_owned * self.h
        coordinate = self.ijk[:, axis]
        sides = [coordinate == 0, coordinate == self.shape[axis] - 1]
        if electrode_masks is not None:
            others = [b for b in range(3) if b != axis]
            for side, mask in enumerate(electrode_masks):
                if mask is not None:
                    on = np.asarray(mask, dtype=bool)[
                        self.ijk[:, others[0]], self.ijk[:, others[1]]
                    ]
                    sides[side] = sides[side] & on
        return np.where(sides[0], g, 0.0), np.where(sides[1], g, 0.0)

    def solve(self, axis: str | int, solver_options: dict[str, Any] | None = None,
              electrode_masks: tuple[Any, Any] | None = None) -> FvSolution:  # fmt: skip
        """Potential for 1 V on the min face of `axis` and 0 V on the max face (on the face
        voxels of `electrode_masks` only, see ``electrode_conductance``)."""
        a = axis_index(axis)
        g_min, g_max = self.electrode_conductance(a, electrode_masks)
        diagonal = self.base_diagonal.duplicate()
        diagonal.setArray(self.base_diagonal.getArray() + g_min + g_max)
        self.matrix.setDiagonal(diagonal)
        rhs = self.matrix.createVecRight()
        rhs.setArray(g_min)
        x = self.matrix.createVecRight()
        x.setArray(1.0 - (self.ijk[:, a] + 0.5) / self.shape[a])  # the homogeneous solution
        ksp = create_ksp(self.matrix, f"meso_fv_{'xyz'[a]}_", solver_options)
        ksp.setInitialGuessNonzero(True)
        ksp.solve(rhs, x)
        iterations, reason = ksp.getIterationNumber(), ksp.getConvergedReason()
        potential = x.getArray().copy()
        for obj in (ksp, rhs, x, diagonal):
            obj.destroy()
        self.matrix.setDiagonal(self.base_diagonal)
        local = np.array([np.dot(g_min, 1.0 - potential), np.dot(g_max, potential)])
        current_in, current_out = self.comm.allreduce(local, op=MPI.SUM)
        return FvSolution(potential, 0.5 * float(current_in + current_out), float(current_in),
                          float(current_out), int(iterations), int(reason))  # fmt: skip

    def gather(self, owned_values: np.ndarray, root: int | None = 0) -> np.ndarray | None:
        """Per-unknown values as a voxel volume (NaN outside the problem) on `root`, or on
        every rank with ``root=None``."""
        parts = self.comm.allgather((self.ijk, owned_values)) if root is None else \
            self.comm.gather((self.ijk, owned_values), root=root)  # fmt: skip
        if parts is None:
            return None
        volume = np.full(self.shape, np.nan)
        for ijk, values in parts:
            volume[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = values
        return volume

    def destroy(self) -> None:
        self.matrix.destroy()
        self.base_diagonal.destroy()
