"""The fv conduction system on a PETSc DMDA over the voxel box, solved by CG + geometric multigrid.

The same two-point-flux scheme as ``meso.conduction.voxel_fv`` (face conductance h times the
harmonic mean of the two conductivities, 2 sigma h to an electrode h/2 outside the first cell
centres), but with one unknown per voxel of the whole box, distributed in 3D blocks by a DMDA:
its grid hierarchy is known in advance, so PCMG coarsens it with the DMDA's trilinear
interpolation and Galerkin coarse operators, with no graph work. Voxels outside the problem
(pores, solid clusters that do not span the two electrodes, the padding planes the DMDA's
coarsening needs) have no couplings and a diagonal of INACTIVE_SCALE times that of a full solid
voxel: with 1.0 the multigrid took 23-37 CG iterations instead of 4-7 (issue 20's probe), with
1e-9 the preconditioned residual came to mean nothing. Options in
``meso.fem.solver_options.CG_GMG``.

CG starts from zero and stops when the inlet current changes by less than `m_rtol` (relative)
between iterations, with the remaining change extrapolated from the last two: from a zero guess
the inlet current of a CG iterate is sum(g_in) - b.x_k, which CG's Galerkin property makes
decrease monotonically to the exact current, its error being the squared energy norm of the
error of x_k. The inlet current is what M is computed from (the outlet current, first-order in
that error, is reported but differs by ~1e-5 at the stop). PETSc has no reason code for a user's
test: this stop reports CONVERGED_ITS (running out of iterations is DIVERGED_MAX_IT).

The matrix is the DMDA's own (its star pattern preallocated only), filled row by row in C
(``setValuesRCV``) from numpy slices of the block's global numbers: 1.0 s for 129^3 points,
against 3.6 s for building and sorting a CSR copy in numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from meso.conduction.voxel_fv import FvSolution
from meso.fem.solver_options import CG_GMG, global_options
from meso.microstructure import axis_index

INACTIVE_SCALE = 1e-3  # diagonal of a decoupled voxel over that of a solid voxel with 6 faces
COARSEST_INTERVALS = 8  # the coarsest grid has about 9 points along its shortest edge
M_RTOL = 1e-6  # stop when the current is within this (relative) of its extrapolated limit
_PLANE_POINTS = 1 << 20  # bounds the temporaries of the matrix build (~100 MB)


@dataclass
class BoundaryFaces:
    """Grain boundaries on the voxel faces between different grains, each of area-specific
    resistance ASR (ohm m^2) in series with the two half-voxels.

    A staircase of voxel faces has more area than the boundary it stands for: |n_x| + |n_y| +
    |n_z| times as much for a plane of unit normal n, so faces of resistance ASR pass that many
    times the current of the boundary (up to sqrt(3); a first-order error that refinement does
    not remove). With the Voronoi seeds of the grains (ids index them; a synth result's
    ``seeds_um`` and ``stretch``) each face gets the normal of its boundary plane, (s_b - s_a) /
    stretch^2, and the resistance ASR |n|_1 / |n|_2, which restores the boundary's conductance
    per true area.
    """

    grain_ids: np.ndarray
    asr_ohm_m2: float
    seeds_um: np.ndarray | None = None
    stretch: np.ndarray | None = None

    def face_asr(self, first: np.ndarray, second: np.ndarray) -> np.ndarray | float:
        """ASR (ohm m^2) of the faces between grains `first` and `second` (id arrays)."""
        if self.seeds_um is None:
            return self.asr_ohm_m2
        stretch = np.ones(3) if self.stretch is None else np.asarray(self.stretch, float)
        normal = (self.seeds_um[second] - self.seeds_um[first]) / stretch**2
        length = np.linalg.norm(normal, axis=-1)
        ratio = np.divide(np.abs(normal).sum(axis=-1), length, out=np.ones_like(length),
                          where=length > 0)  # fmt: skip
        return self.asr_ohm_m2 * ratio


def multigrid_levels(shape: tuple[int, ...], coarsest: int = COARSEST_INTERVALS) -> int:
    """Number of grid levels: the coarsest has about `coarsest` intervals on the shortest edge,
    and there are at least two (with one, PCMG's only level is a smoother, not a direct solve).

    >>> multigrid_levels((128, 128, 128)), multigrid_levels((7, 5, 4)), multigrid_levels((256, 64, 64))
    (5, 2, 4)
    """
    return 1 + max(1, math.floor(math.log2(min(shape) / coarsest)))


def padded_shape(shape: tuple[int, ...], levels: int) -> tuple[int, ...]:
    """Grid points per axis: at least the voxels, with (N - 1) divisible by 2^(levels - 1), as the
    DMDA's non-periodic coarsening needs on every level.

    >>> padded_shape((128, 100, 7), 5)
    (129, 113, 17)
    """
    step = 1 << (levels - 1)
    return tuple(max(1, -(-(n - 1) // step)) * step + 1 if levels > 1 else n for n in shape)


class GmgProblem:
    """The two-point-flux conduction problem on the voxels where ``sigma > 0``, on a DMDA.

    Parameters
    ----------
    sigma : float array (x, y, z)
        Conductivity of each voxel in S/m; voxels with 0 are not part of the problem (callers
        pass the spanning clusters only). The same array on every rank.
    voxel_size_m : voxel edge h in metres
    comm : MPI communicator; each rank owns a 3D block of the grid.
    solver_options : PETSc options replacing ``CG_GMG`` (the multigrid levels are added).
    boundaries : grain boundaries as face resistances (``set_conductivity``).

    The matrix keeps the DMDA's star pattern whatever the conductivities (absent couplings are
    stored zeros), so ``set_conductivity`` refills it in place and PCMG keeps its
    interpolation and symbolic Galerkin products: one problem serves every axis and every
    spanning mask of a volume.

    Examples
    --------
    >>> p = GmgProblem(np.ones((6, 4, 4)), 1.0, MPI.COMM_SELF)
    >>> round(p.solve("x").current, 9)  # sigma A / L = 16 / 6
    2.666666667
    """

    def __init__(self, sigma: np.ndarray, voxel_size_m: float, comm: MPI.Comm = MPI.COMM_WORLD,
                 solver_options: dict[str, Any] | None = None, *,
                 boundaries: BoundaryFaces | None = None):  # fmt: skip
        self.shape = tuple(int(n) for n in sigma.shape)
        self.h, self.comm = float(voxel_size_m), comm
        self.levels = multigrid_levels(self.shape)
        self.grid = padded_shape(self.shape, self.levels)
        # DMDA dimensions are (fastest, ..., slowest): our z, y, x, so that a rank's block in
        # PETSc order is its (x, y, z) block in C order
        self.da = PETSc.DMDA().create(dim=3, sizes=self.grid[::-1], dof=1, stencil_width=1,
                                      stencil_type=PETSc.DMDA.StencilType.STAR,
                                      comm=comm, setup=False)  # fmt: skip
        with global_options({"dm_preallocate_only": True}):  # the pattern comes with the values
            self.da.setFromOptions()
        self.da.setUp()
        ranges = self.da.getRanges()[::-1]
        self.block = tuple(slice(lo, hi) for lo, hi in ranges)
        self.block_shape = tuple(hi - lo for lo, hi in ranges)
        self.numbers = self._ghosted_numbers()
        self.matrix = self.da.createMatrix()
        self.matrix.setOption(PETSc.Mat.Option.SORTED_FULL, False)
        self.set_conductivity(sigma, boundaries)
        self.matrix.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
        self.ksp = self._create_ksp(solver_options)

    @property
    def num_owned(self) -> int:
        return int(np.prod(self.block_shape))

    def _ghosted_numbers(self) -> np.ndarray:
        """PETSc's global number of every owned point and of its six neighbours: an int array
        over the owned block and one layer around it, -1 outside the grid."""
        starts, sizes = (c[::-1] for c in self.da.getGhostCorners())
        ghosted = self.da.getLGMap().getIndices().reshape(sizes)
        out = np.full(tuple(w + 2 for w in self.block_shape), -1, dtype=PETSc.IntType)
        offset = tuple(g - b.start + 1 for g, b in zip(starts, self.block, strict=True))
        out[tuple(slice(o, o + s) for o, s in zip(offset, sizes, strict=True))] = ghosted
        return out

    def _block_with_ghosts(self, sigma: np.ndarray) -> np.ndarray:
        """sigma on the owned block and one layer around it, 0 outside the voxels."""
        out = np.zeros(tuple(w + 2 for w in self.block_shape), dtype=sigma.dtype)
        src, dst = [], []
        for b, n in zip(self.block, self.shape, strict=True):
            lo, hi = max(b.start - 1, 0), min(b.stop + 1, n)
            src.append(slice(lo, max(hi, lo)))
            dst.append(slice(lo - (b.start - 1), lo - (b.start - 1) + max(hi - lo, 0)))
        out[tuple(dst)] = sigma[tuple(src)]
        return out

    def set_conductivity(self, sigma: np.ndarray, boundaries: BoundaryFaces | None = None) -> None:
        """(Re)fill the matrix for the conductivities `sigma` (same shape; 0 = not in the
        problem): -g to each face neighbour with g = h times the harmonic mean (0 where either
        voxel is out), their sum on the diagonal, INACTIVE_SCALE x 6 h sigma_max on the
        diagonal of decoupled points.

        With `boundaries` a face between two voxels of different grains is a grain boundary of
        area-specific resistance ASR in series with the two half-voxels: g = h^2 / (h / (2
        sigma_1) + ASR + h / (2 sigma_2)).
        """
        if tuple(sigma.shape) != self.shape:
            raise ValueError(f"sigma has shape {sigma.shape}, the problem {self.shape}")
        grain_ids = None if boundaries is None else np.asarray(boundaries.grain_ids)
        if grain_ids is not None and tuple(grain_ids.shape) != self.shape:
            raise ValueError(f"grain_ids has shape {grain_ids.shape}, the problem {self.shape}")
        self.count = int(np.count_nonzero(sigma > 0))
        s, h, c = self._block_with_ghosts(np.asarray(sigma, float)), self.h, self.numbers
        ids = None if grain_ids is None else self._block_with_ghosts(grain_ids)
        self.sigma_block = s
        inactive = INACTIVE_SCALE * 6 * h * self.comm.allreduce(float(s.max()), op=MPI.MAX)
        n0, n1, n2 = self.block_shape
        self.base_diagonal = np.empty(self.num_owned)
        planes, row = max(1, _PLANE_POINTS // max(1, n1 * n2)), 0
        for p in range(0, n0, planes):
            q = min(p + planes, n0)
            inner = (slice(1 + p, 1 + q), slice(1, 1 + n1), slice(1, 1 + n2))
            shifted = []  # the six face neighbours of the planes p..q
            for axis in range(3):
                for step in (-1, 1):
                    cut = list(inner)
                    cut[axis] = slice(cut[axis].start + step, cut[axis].stop + step)
                    shifted.append(tuple(cut))
            centre = s[inner]
            m = centre.size
            cols = np.empty((m, 7), dtype=PETSc.IntType)
            vals = np.empty((m, 7))
            cols[:, 0] = c[inner].ravel()
            for k, cut in enumerate(shifted, start=1):
                other = s[cut]
                total = centre + other
                g = np.divide(2 * h * centre * other, total, out=np.zeros_like(centre),
                              where=total > 0)  # fmt: skip
                if ids is not None:
                    boundary = (ids[inner] != ids[cut]) & (centre > 0) & (other > 0)
                    resistance = np.divide(0.5 / h, centre, out=np.zeros_like(centre),
                                           where=boundary)  # fmt: skip
                    resistance += np.divide(0.5 / h, other, out=np.zeros_like(centre),
                                            where=boundary)  # fmt: skip
                    resistance[boundary] += boundaries.face_asr(ids[inner][boundary],
                                                                ids[cut][boundary]) / h**2  # fmt: skip
                    g[boundary] = 1.0 / resistance[boundary]
                cols[:, k] = c[cut].ravel()
                vals[:, k] = -g.ravel()
            diagonal = -vals[:, 1:].sum(axis=1)
            diagonal[centre.ravel() <= 0] = inactive
            vals[:, 0] = self.base_diagonal[row : row + m] = diagonal
            self.matrix.setValuesRCV(cols[:, :1].copy(), cols, vals)  # column -1: skipped
            row += m
        self.matrix.assemble()

    def _create_ksp(self, solver_options: dict[str, Any] | None) -> PETSc.KSP:
        options = dict(CG_GMG if solver_options is None else solver_options)
        if options.get("pc_type") == "mg":
            options.setdefault("pc_mg_levels", self.levels)
        self.options, prefix = options, "meso_gmg_"
        with global_options(options, prefix):
            ksp = PETSc.KSP().create(self.comm)
            ksp.setOptionsPrefix(prefix)
            ksp.setDM(self.da)
            ksp.setDMActive(False)
            ksp.setOperators(self.matrix)
            ksp.setFromOptions()
        self.rtol = float(options.get("ksp_rtol", 1e-10))
        self.m_rtol = float(options.get("meso_m_rtol", M_RTOL))
        return ksp

    def electrode_conductance(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Conductance 2 sigma h of each owned point to the min and max electrode of `axis`
        (zero away from the two faces and on decoupled points)."""
        s = self.sigma_block[1:-1, 1:-1, 1:-1]
        g = 2 * self.h * s
        coordinate = np.arange(self.block[axis].start, self.block[axis].stop)
        view = [None, None, None]
        view[axis] = slice(None)
        coordinate = coordinate[tuple(view)]
        g_min = np.where(coordinate == 0, g, 0.0).ravel()
        g_max = np.where(coordinate == self.shape[axis] - 1, g, 0.0).ravel()
        return g_min, g_max

    def solve(self, axis: str | int, solver_options: Any = None) -> FvSolution:
        """Potential for 1 V on the min face of `axis` and 0 V on the max face.
        (`solver_options` are given to the constructor; the argument is ignored.)"""
        a = axis_index(axis)
        g_min, g_max = self.electrode_conductance(a)
        diagonal = self.da.createGlobalVec()
        diagonal.setArray(self.base_diagonal + g_min + g_max)
        self.matrix.setDiagonal(diagonal)
        rhs = self.da.createGlobalVec()
        rhs.setArray(g_min)
        x = self.da.createGlobalVec()
        x.set(0.0)
        inlet = self.comm.allreduce(float(g_min.sum()), op=MPI.SUM)
        history: list[float] = []

        def converged(ksp, its, rnorm):  # the inlet current of the current iterate
            if not math.isfinite(rnorm):
                return PETSc.KSP.ConvergedReason.DIVERGED_NANORINF
            history.append(inlet - rhs.dot(x))
            if its == 0:
                self._rnorm0 = rnorm
                return 0
            if rnorm <= self.rtol * self._rnorm0:
                return PETSc.KSP.ConvergedReason.CONVERGED_RTOL
            if len(history) >= 3:
                change, before = abs(history[-2] - history[-1]), abs(history[-3] - history[-2])
                ratio = change / before if before > 0 else 0.0
                remaining = change * max(1.0, ratio / (1.0 - ratio)) if ratio < 1 else math.inf
                if remaining <= self.m_rtol * abs(history[-1]):
                    return PETSc.KSP.ConvergedReason.CONVERGED_ITS
            return 0

        self.ksp.setConvergenceTest(converged)
        self.ksp.setInitialGuessNonzero(False)
        self.ksp.setOperators(self.matrix)
        with global_options(self.options, self.ksp.getOptionsPrefix()):  # PCMG reads its
            self.ksp.solve(rhs, x)  # levels' options when it first sets them up
        iterations, reason = self.ksp.getIterationNumber(), self.ksp.getConvergedReason()
        self.ksp.setConvergenceTest(None)
        potential = x.getArray().copy()
        current_in = inlet - rhs.dot(x)
        current_out = self.comm.allreduce(float(np.dot(g_max, potential)), op=MPI.SUM)
        for vec in (rhs, x, diagonal):
            vec.destroy()
        return FvSolution(potential, float(current_in), float(current_in), float(current_out),
                          int(iterations), int(reason))  # fmt: skip

    def gather(self, owned_values: np.ndarray, root: int | None = 0) -> np.ndarray | None:
        """Per-point values of the owned block as a voxel volume (NaN outside the problem) on
        `root`, or on every rank with ``root=None``."""
        values = np.where(self.sigma_block[1:-1, 1:-1, 1:-1] > 0,
                          np.asarray(owned_values).reshape(self.block_shape), np.nan)  # fmt: skip
        item = (self.block, values)
        parts = self.comm.allgather(item) if root is None else self.comm.gather(item, root=root)
        if parts is None:
            return None
        volume = np.full(self.shape, np.nan)
        for block, part in parts:
            cut = tuple(
                slice(b.start, min(b.stop, n)) for b, n in zip(block, self.shape, strict=True)
            )
            volume[cut] = part[tuple(slice(0, c.stop - c.start) for c in cut)]
        return volume

    def owned_values(self, volume: np.ndarray) -> np.ndarray:
        """Per-point values of the owned block from a voxel `volume` (the inverse of
        ``gather``; 0 on decoupled points and NaNs)."""
        out = np.zeros(self.block_shape)
        cut = tuple(
            slice(b.start, min(b.stop, n)) for b, n in zip(self.block, self.shape, strict=True)
        )
        out[tuple(slice(0, max(c.stop - c.start, 0)) for c in cut)] = volume[cut]
        out[self.sigma_block[1:-1, 1:-1, 1:-1] <= 0] = 0.0
        return np.nan_to_num(out).ravel()

    def destroy(self) -> None:
        for obj in (self.ksp, self.matrix, self.da):
            obj.destroy()


__all__ = ["BoundaryFaces", "GmgProblem", "multigrid_levels", "padded_shape"]
