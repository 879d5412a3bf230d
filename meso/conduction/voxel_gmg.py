"""The fv conduction system on a PETSc DMDA over the voxel box, solved by CG + cell-centred multigrid.

The same two-point-flux scheme as ``meso.conduction.voxel_fv`` (face conductance h times the
harmonic mean of the two conductivities, 2 sigma h to an electrode h/2 outside the first cell
centres), but with one unknown per voxel of the whole box, distributed in 3D blocks by a DMDA.
The multigrid hierarchy is the DMDA's own: each coarse cell is 2 x 2 x 2 cells (PETSc's Q0
interpolation: a coarse correction is constant over its eight cells, and restriction sums
them), and each coarse operator is the same kind of 7-point system re-discretised from the
cells below it (``coarsen``): no Galerkin products, so no matrix products to set up and none to
keep. Issue 20's measurements (CG iterations to a 1e-8 residual, 64^3 / 128^3): 5%-porous 7 / 7,
20% 9 / 10, 35% 13 / 14, against 7 / 9, 10 / 15, 16 / 23 with the trilinear interpolation and
Galerkin coarse operators that this replaced, which also held ~880 bytes per unknown.

Voxels outside the problem (pores, solid clusters that do not span the two electrodes, the
padding cells that make each axis divisible by 2^(levels - 1)) have no couplings and a
diagonal of INACTIVE_SCALE times that of a full solid voxel: with 1.0 the Galerkin multigrid
took 23-37 CG iterations instead of 4-7 (issue 20's probe), with 1e-9 the preconditioned
residual came to mean nothing. Options in ``meso.fem.solver_options.CG_GMG``.

CG starts from zero and stops when the inlet current changes by less than `m_rtol` (relative)
between iterations, with the remaining change extrapolated from the last two: from a zero guess
the inlet current of a CG iterate is sum(g_in) - b.x_k, which CG's Galerkin property makes
decrease monotonically to the exact current, its error being the squared energy norm of the
error of x_k. The inlet current is what M is computed from (the outlet current, first-order in
that error, is reported but differs by ~1e-5 at the stop). PETSc has no reason code for a user's
test: this stop reports CONVERGED_ITS (running out of iterations is DIVERGED_MAX_IT).

Each matrix is its DMDA's own (its star pattern preallocated only), filled row by row in C
(``setValuesRCV``) from numpy slices of the block's global numbers: 1.0 s for 129^3 points,
against 3.6 s for building and sorting a CSR copy in numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from meso.conduction.voxel_fv import FvSolution
from meso.fem.solver_options import CG_GMG, global_options
from meso.microstructure import axis_index

INACTIVE_SCALE = 1e-3  # diagonal of a decoupled voxel over that of a solid voxel with 6 faces
COARSEST_CELLS = 8  # the coarsest grid has about 8 cells along its shortest edge
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


def face_conductance(first: np.ndarray, second: np.ndarray, h: float,
                     boundaries: BoundaryFaces | None = None, first_ids: np.ndarray | None = None,
                     second_ids: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Two-point conductance (S) of the faces between voxels of conductivities `first` and
    `second`: h times their harmonic mean, 0 where either is 0; with `boundaries` (and the
    grain ids on both sides) a face between two grains is h^2 / (h / (2 sigma_1) + ASR + h /
    (2 sigma_2))."""
    total = first + second
    g = np.divide(2 * h * first * second, total, out=np.zeros_like(total), where=total > 0)
    if boundaries is not None:
        boundary = (first_ids != second_ids) & (first > 0) & (second > 0)
        resistance = (0.5 / h) * (1.0 / first[boundary] + 1.0 / second[boundary])
        resistance += boundaries.face_asr(first_ids[boundary], second_ids[boundary]) / h**2
        g[boundary] = 1.0 / resistance
    return g


def series(*conductances: np.ndarray) -> np.ndarray:
    """Conductance of conductances in series, elementwise (0 where any of them is 0).

    >>> series(np.array([2.0, 1.0]), np.array([2.0, 0.0])).tolist()
    [1.0, 0.0]
    """
    connected = np.logical_and.reduce([g > 0 for g in conductances])
    resistance = sum(np.divide(1.0, g, out=np.zeros_like(g), where=connected)
                     for g in conductances)  # fmt: skip
    return np.divide(1.0, resistance, out=np.zeros_like(resistance), where=connected)


def pair_sum(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Sums of neighbouring pairs (0 and 1, 2 and 3, ...) along `axes` (even lengths there).

    >>> pair_sum(np.arange(8.0).reshape(2, 4), (1,)).tolist()
    [[1.0, 5.0], [9.0, 13.0]]
    """
    shape, summed = [], []
    for a, n in enumerate(values.shape):
        if a in axes:
            summed.append(len(shape) + 1)
            shape += [n // 2, 2]
        else:
            shape.append(n)
    return values.reshape(shape).sum(axis=tuple(summed))


def multigrid_levels(shape: tuple[int, ...], coarsest: int = COARSEST_CELLS) -> int:
    """Number of grid levels: the coarsest has about `coarsest` cells on the shortest edge, and
    there are at least two (with one, PCMG's only level is a smoother, not a direct solve).

    >>> multigrid_levels((128, 128, 128)), multigrid_levels((7, 5, 4)), multigrid_levels((256, 64, 64))
    (5, 2, 4)
    """
    return 1 + max(1, math.floor(math.log2(min(shape) / coarsest)))


def padded_shape(shape: tuple[int, ...], levels: int) -> tuple[int, ...]:
    """Cells per axis: at least the voxels and a multiple of 2^(levels - 1), since every
    coarsening halves every axis.

    >>> padded_shape((128, 100, 7), 5)
    (128, 112, 16)
    """
    step = 1 << (levels - 1)
    return tuple(-(-n // step) * step for n in shape)


class FineCells:
    """The voxels as ``coarsen`` reads them: conductivities (S/m) on the padded grid (0 on the
    padding) and the two-point face conductances, with grain boundaries where given."""

    def __init__(self, sigma: np.ndarray, grid: tuple[int, ...], h: float,
                 boundaries: BoundaryFaces | None = None):  # fmt: skip
        self.sigma, self.grid, self.h, self.boundaries = sigma, grid, h, boundaries

    def _planes(self, values: np.ndarray, lo: int, hi: int, fill: float) -> np.ndarray:
        out = np.full((hi - lo, *self.grid[1:]), fill, dtype=values.dtype)
        part = values[lo:hi]
        out[: part.shape[0], : part.shape[1], : part.shape[2]] = part
        return out

    def sigma_of(self, lo: int, hi: int) -> np.ndarray:
        """Conductivities of planes lo..hi - 1 (axis 0), 0 beyond the voxels."""
        return self._planes(self.sigma, lo, hi, 0.0)

    def face_of(self, axis: int, lo: int, hi: int) -> np.ndarray:
        """Conductance from each cell of planes lo..hi - 1 to the next along `axis` (0 from the
        last)."""
        ahead = hi + 1 if axis == 0 else hi
        s = self.sigma_of(lo, ahead)
        first = [slice(0, hi - lo), slice(None), slice(None)]
        first[axis] = slice(0, first[axis].indices(s.shape[axis])[1] - (axis != 0))
        second = list(first)
        second[axis] = slice(1, first[axis].stop + 1)
        first, second = tuple(first), tuple(second)
        out = np.zeros((hi - lo, *self.grid[1:]))
        if self.boundaries is None:
            out[first] = face_conductance(s[first], s[second], self.h)
        else:
            ids = self._planes(np.asarray(self.boundaries.grain_ids), lo, ahead, -1)
            out[first] = face_conductance(s[first], s[second], self.h, self.boundaries,
                                          ids[first], ids[second])  # fmt: skip
        return out


@dataclass
class CoarseCells:
    """One coarse level as arrays over its whole grid (the same on every rank): the mean
    conductivity of each cell (S/m), and the conductance (S) between cell i and cell i + 1
    along each axis, stored at i (0 on the last plane)."""

    sigma: np.ndarray
    faces: tuple[np.ndarray, ...]
    h: float

    def sigma_of(self, lo: int, hi: int) -> np.ndarray:
        return np.pad(self.sigma[lo:hi], ((0, max(0, hi - len(self.sigma))), (0, 0), (0, 0)))

    def face_of(self, axis: int, lo: int, hi: int) -> np.ndarray:
        return np.pad(self.faces[axis][lo:hi], ((0, max(0, hi - len(self.sigma))), (0, 0), (0, 0)))


def coarsen(cells: FineCells | CoarseCells, shape: tuple[int, ...]) -> CoarseCells:
    """Cells of 2 x 2 x 2 `cells` (grid `shape`), re-discretised: the conductance between two
    coarse cells is the series path from centre to centre (the half of the fine cell next to
    the shared face on each side, and the fine face between them) summed over the 2 x 2 fine
    columns that cross the face; the conductivity of a coarse cell is the mean of its eight
    (what the half-cells of the next coarsening are made of). Works through slabs of planes to
    bound the temporaries."""
    coarse = tuple(n // 2 for n in shape)
    sigma = np.empty(coarse)
    faces = tuple(np.zeros(coarse) for _ in range(3))
    slab = max(1, _PLANE_POINTS // (4 * shape[1] * shape[2]))
    for p in range(0, coarse[0], slab):
        q = min(p + slab, coarse[0])
        lo, hi = 2 * p, 2 * q + 1  # one plane more: the faces to the next coarse plane
        half = 2 * cells.h * cells.sigma_of(lo, hi)  # from a fine centre to a face
        sigma[p:q] = pair_sum(half[:-1], (0, 1, 2)) / (16 * cells.h)
        half = np.pad(half, ((0, 0), (0, 1), (0, 1)))  # a cell beyond the last on every axis
        for a in range(3):
            g = cells.face_of(a, lo, hi)
            high = [slice(0, 2 * (q - p)), slice(0, shape[1]), slice(0, shape[2])]
            high[a] = slice(1, high[a].stop, 2)  # the fine cells on the high side of a coarse one
            beyond = list(high)
            beyond[a] = slice(2, high[a].stop + 1, 2)
            high, beyond = tuple(high), tuple(beyond)
            columns = series(half[high], g[high], half[beyond])
            faces[a][p:q] = pair_sum(columns, tuple(b for b in range(3) if b != a))
    return CoarseCells(sigma, faces, 2 * cells.h)


class _Grid:
    """One level: a DMDA, its matrix (the star pattern, preallocated only) and the global
    number of every owned point and of its six neighbours (-1 outside the grid)."""

    def __init__(self, da: PETSc.DMDA):
        self.da = da
        ranges = da.getRanges()[::-1]
        self.block = tuple(slice(lo, hi) for lo, hi in ranges)
        self.block_shape = tuple(hi - lo for lo, hi in ranges)
        starts, sizes = (c[::-1] for c in da.getGhostCorners())
        ghosted = da.getLGMap().getIndices().reshape(sizes)
        self.numbers = np.full(tuple(w + 2 for w in self.block_shape), -1, dtype=PETSc.IntType)
        offset = tuple(g - b.start + 1 for g, b in zip(starts, self.block, strict=True))
        self.numbers[tuple(slice(o, o + s) for o, s in zip(offset, sizes, strict=True))] = ghosted
        self.matrix = da.createMatrix()
        self.matrix.setOption(PETSc.Mat.Option.SORTED_FULL, False)
        self.base_diagonal = np.empty(int(np.prod(self.block_shape)))

    def with_ghosts(self, values: np.ndarray, fill: float = 0) -> np.ndarray:
        """`values` (over the grid or its first part) on the owned block and one layer around
        it, `fill` outside `values`."""
        out = np.full(tuple(w + 2 for w in self.block_shape), fill, dtype=values.dtype)
        src, dst = [], []
        for b, n in zip(self.block, values.shape, strict=True):
            lo, hi = max(b.start - 1, 0), min(b.stop + 1, n)
            src.append(slice(lo, max(hi, lo)))
            dst.append(slice(lo - (b.start - 1), lo - (b.start - 1) + max(hi - lo, 0)))
        out[tuple(dst)] = values[tuple(src)]
        return out

    def plane_terms(self, axis: int, plane: np.ndarray, index: int) -> np.ndarray:
        """Per owned point: `plane` (over the other two axes) on the points at `index` along
        `axis`, 0 elsewhere."""
        out = np.zeros(self.block_shape)
        b = self.block[axis]
        if b.start <= index < b.stop:
            cut = list(self.block)
            cut[axis] = index - b.start
            out[tuple(cut[a] if a == axis else slice(None) for a in range(3))] = plane[
                tuple(s for a, s in enumerate(self.block) if a != axis)
            ]
        return out.ravel()

    def fill(self, conductance: Callable, decoupled: np.ndarray, decoupled_diagonal: float):
        """(Re)fill the matrix: -g to each face neighbour with g = ``conductance(inner,
        neighbour)`` (index tuples into the ghosted block), their sum on the diagonal,
        `decoupled_diagonal` on the points where `decoupled` (ghosted) is true."""
        n0, n1, n2 = self.block_shape
        planes, row = max(1, _PLANE_POINTS // max(1, n1 * n2)), 0
        for p in range(0, n0, planes):
            q = min(p + planes, n0)
            inner = (slice(1 + p, 1 + q), slice(1, 1 + n1), slice(1, 1 + n2))
            m = (q - p) * n1 * n2
            cols = np.empty((m, 7), dtype=PETSc.IntType)
            vals = np.empty((m, 7))
            cols[:, 0] = self.numbers[inner].ravel()
            k = 1
            for axis in range(3):
                for step in (-1, 1):
                    cut = list(inner)
                    cut[axis] = slice(cut[axis].start + step, cut[axis].stop + step)
                    cols[:, k] = self.numbers[tuple(cut)].ravel()
                    vals[:, k] = -conductance(inner, tuple(cut)).ravel()
                    k += 1
            diagonal = -vals[:, 1:].sum(axis=1)
            diagonal[decoupled[inner].ravel()] = decoupled_diagonal
            vals[:, 0] = self.base_diagonal[row : row + m] = diagonal
            self.matrix.setValuesRCV(cols[:, :1].copy(), cols, vals)  # column -1: skipped
            row += m
        self.matrix.assemble()

    def set_diagonal(self, extra: np.ndarray) -> None:
        """The diagonal: the couplings' plus `extra` (per owned point: electrodes)."""
        diagonal = self.da.createGlobalVec()
        diagonal.setArray(self.base_diagonal + extra)
        self.matrix.setDiagonal(diagonal)
        diagonal.destroy()

    def destroy(self) -> None:
        self.matrix.destroy()
        self.da.destroy()


class GmgProblem:
    """The two-point-flux conduction problem on the voxels where ``sigma > 0``, on a DMDA.

    Parameters
    ----------
    sigma : float array (x, y, z)
        Conductivity of each voxel in S/m; voxels with 0 are not part of the problem (callers
        pass the spanning clusters only). The same array on every rank.
    voxel_size_m : voxel edge h in metres
    comm : MPI communicator; each rank owns a 3D block of every level.
    solver_options : PETSc options replacing ``CG_GMG``.
    boundaries : grain boundaries as face resistances (``set_conductivity``).

    Every level's matrix keeps its DMDA's star pattern whatever the conductivities (absent
    couplings are stored zeros), so ``set_conductivity`` refills them in place: one problem
    serves every axis and every spanning mask of a volume.

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
        self.options = dict(CG_GMG if solver_options is None else solver_options)
        multigrid = self.options.get("pc_type") == "mg"
        self.levels = multigrid_levels(self.shape) if multigrid else 1
        self.grid = padded_shape(self.shape, self.levels)
        # DMDA dimensions are (fastest, ..., slowest): our z, y, x, so that a rank's block in
        # PETSc order is its (x, y, z) block in C order; Q0: a coarse cell is 2 x 2 x 2 cells
        da = PETSc.DMDA().create(dim=3, sizes=self.grid[::-1], dof=1, stencil_width=1,
                                 stencil_type=PETSc.DMDA.StencilType.STAR, comm=comm,
                                 setup=False)  # fmt: skip
        da.setInterpolationType(PETSc.DMDA.InterpolationType.Q0)
        with global_options({"dm_preallocate_only": True}):  # the pattern comes with the values
            da.setFromOptions()
            da.setUp()
            self.grids = [_Grid(da)]
            for _ in range(1, self.levels):
                self.grids.append(_Grid(self.grids[-1].da.coarsen()))
        fine = self.grids[0]
        self.matrix, self.numbers = fine.matrix, fine.numbers
        self.block, self.block_shape = fine.block, fine.block_shape
        self.set_conductivity(sigma, boundaries)
        for grid in self.grids:
            grid.matrix.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
        self.ksp = self._create_ksp()

    @property
    def num_owned(self) -> int:
        return int(np.prod(self.block_shape))

    def set_conductivity(self, sigma: np.ndarray, boundaries: BoundaryFaces | None = None) -> None:
        """(Re)fill every level for the conductivities `sigma` (same shape; 0 = not in the
        problem). The voxels: -g to each face neighbour (``face_conductance``; with
        `boundaries` a face between two grains has the boundary's resistance in series), their
        sum on the diagonal, INACTIVE_SCALE x 6 h sigma_max on the diagonal of decoupled points.
        Coarse levels: the same from ``coarsen``, decoupled where a cell has no coupling.
        """
        if tuple(sigma.shape) != self.shape:
            raise ValueError(f"sigma has shape {sigma.shape}, the problem {self.shape}")
        if boundaries is not None and tuple(np.shape(boundaries.grain_ids)) != self.shape:
            raise ValueError(f"grain_ids has shape {np.shape(boundaries.grain_ids)}, the "
                             f"problem {self.shape}")  # fmt: skip
        self.sigma = np.asarray(sigma, float)
        self.count = int(np.count_nonzero(self.sigma > 0))
        fine = self.grids[0]
        s = self.sigma_block = fine.with_ghosts(self.sigma)
        self.inactive = (
            INACTIVE_SCALE * 6 * self.h * self.comm.allreduce(float(s.max()), op=MPI.MAX)
        )
        if boundaries is None:

            def conductance(inner, cut):
                return face_conductance(s[inner], s[cut], self.h)

        else:
            ids = fine.with_ghosts(np.asarray(boundaries.grain_ids), fill=-1)

            def conductance(inner, cut):
                return face_conductance(s[inner], s[cut], self.h, boundaries, ids[inner], ids[cut])

        fine.fill(conductance, s <= 0, self.inactive)
        cells, shape = FineCells(self.sigma, self.grid, self.h, boundaries), self.grid
        self.coarse: list[CoarseCells] = []
        for grid in self.grids[1:]:
            cells = coarsen(cells, shape)
            shape = cells.sigma.shape
            self.coarse.append(cells)
            faces = [grid.with_ghosts(f) for f in cells.faces]

            def stored(inner, cut, faces=faces):  # a face is stored at its lower cell
                axis = next(a for a in range(3) if inner[a] != cut[a])
                return faces[axis][cut if cut[axis].start < inner[axis].start else inner]

            coupled = sum(f + np.roll(f, 1, axis=a) for a, f in enumerate(faces)) > 0
            grid.fill(stored, ~coupled, self.inactive * cells.h / self.h)

    def electrode_planes(self, axis: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Per level: the conductance of each cell next to the min and the max electrode of
        `axis` (planes over the level's other two axes) and the index of the max cells. Coarse
        levels: the fine electrode conductance in series with the fine half-cell up to the
        coarse centre, summed over the 2 x 2 fine cells (where the last voxel is the first of
        its coarse cell, whose centre then lies on the electrode, the fine conductances)."""
        last = self.shape[axis] - 1
        transverse = [(0, self.grid[b] - self.shape[b]) for b in range(3) if b != axis]
        lo, hi = (np.pad(np.take(self.sigma, i, axis=axis), transverse) for i in (0, last))
        planes = [(2 * self.h * lo, 2 * self.h * hi, last)]
        h = self.h
        for cells in self.coarse:
            g_lo, g_hi, _ = planes[-1]
            g_lo = pair_sum(series(g_lo, 2 * h * lo), (0, 1))
            g_hi = pair_sum(series(g_hi, 2 * h * hi) if last % 2 else g_hi, (0, 1))
            last //= 2
            lo, hi = (np.take(cells.sigma, i, axis=axis) for i in (0, last))
            planes.append((g_lo, g_hi, last))
            h = cells.h
        return planes

    def _create_ksp(self) -> PETSc.KSP:
        prefix = "meso_gmg_"
        with global_options(self.options, prefix):
            ksp = PETSc.KSP().create(self.comm)
            ksp.setOptionsPrefix(prefix)
            ksp.setOperators(self.matrix)
            self.interpolations = []
            if self.levels > 1:
                pc = ksp.getPC()
                pc.setType("mg")
                pc.setMGLevels(self.levels)
                for level, grid in enumerate(reversed(self.grids)):  # PCMG's 0 is the coarsest
                    pc.getMGSmoother(level).setOperators(grid.matrix)
                    if level:
                        finer = self.grids[self.levels - 1 - level]
                        interpolation, scale = self.grids[
                            self.levels - level
                        ].da.createInterpolation(finer.da)
                        scale.destroy()
                        pc.setMGInterpolation(level, interpolation)
                        self.interpolations.append(interpolation)
            ksp.setFromOptions()
        self.rtol = float(self.options.get("ksp_rtol", 1e-10))
        self.m_rtol = float(self.options.get("meso_m_rtol", M_RTOL))
        return ksp

    def electrode_conductance(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """Conductance 2 sigma h of each owned point to the min and max electrode of `axis`
        (zero away from the two faces and on decoupled points)."""
        g_lo, g_hi, last = self.electrode_planes(axis)[0]
        fine = self.grids[0]
        return fine.plane_terms(axis, g_lo, 0), fine.plane_terms(axis, g_hi, last)

    def solve(self, axis: str | int, solver_options: Any = None) -> FvSolution:
        """Potential for 1 V on the min face of `axis` and 0 V on the max face.
        (`solver_options` are given to the constructor; the argument is ignored.)"""
        a = axis_index(axis)
        planes = self.electrode_planes(a)
        for grid, (g_lo, g_hi, last) in zip(self.grids, planes, strict=True):
            grid.set_diagonal(grid.plane_terms(a, g_lo, 0) + grid.plane_terms(a, g_hi, last))
        fine = self.grids[0]
        g_min, g_max = (
            fine.plane_terms(a, planes[0][0], 0),
            fine.plane_terms(a, planes[0][1], planes[0][2]),
        )
        rhs = fine.da.createGlobalVec()
        rhs.setArray(g_min)
        x = fine.da.createGlobalVec()
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
        for vec in (rhs, x):
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
        for obj in (self.ksp, *self.interpolations, *self.grids):
            obj.destroy()


__all__ = [
    "BoundaryFaces",
    "GmgProblem",
    "coarsen",
    "face_conductance",
    "multigrid_levels",
    "padded_shape",
]
