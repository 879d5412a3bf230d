"""Electrode thickness maps read from disk in lateral blocks: memory bounded by one block, not the volume.

Passes over the h5py datasets of a cycling step (cell axis last, as `meso reconstruct` writes a
scan whose rotation axis is z) in lateral blocks that follow the chunks, read into reused buffers
by the calling thread while two threads work on the blocks before. Labels alone: one pass finds
every column's voxel faces walking from the electrodes' middles, its non-lithium voxels between
them, the pellet core map (the cell's columns) and the profile along the cell axis (the layers),
with the middles and core run of the layers of the block at the volume's centre; when the
profile's layers differ such that the faces could (`_holds`), a second pass redoes the columns.
A reconstruction takes three passes (the profile; the core map and a strided sample of the
electrodes' levels, with the labels' faces and counts; its sub-voxel edges, `find_edges`).
The numbers are those of `quantify` (`find_edges`, `maps.*_thickness_um`; with labels, Li is
counted between the labels' own faces), bit for bit.

Measured (benchmarks/quantify_speed.py, labels alone, 1540^2 x 684 voxels per step, 2 steps,
load average 5 on 2 cores): 303.5 s for the numpy version, which spent its time in `np.isin`
and float32 copies of every block, `_crossing`'s gathered walks and `electrode_depth_vox`'s
whole-block depth arrays over three passes; 9.0-9.9 s with the kernels, which touch each voxel
once or twice and stop a walk at its faces.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import h5py
import numpy as np
from scipy import ndimage

from imaging.quantify import kernels, maps
from imaging.quantify.regions import Edges, Layers, cell_columns, find_edges, find_layers
from meso.errors import InputError

SAMPLE_STRIDE = 8  # every 8th column in each lateral direction feeds the electrode levels
SIDES = ("bottom", "top")
WORKERS = 2  # threads working on blocks: the 2 cores


def _cuts(n: int, chunk: int, block: int) -> list[tuple[int, int]]:
    """[start, stop) runs of at most `block` that never cross a multiple of `unit` (the chunk
    size, grouped to 64 when smaller)."""
    unit = chunk * max(1, min(block, 64) // chunk)
    return [(s, min(s + block, start + unit, n))
            for start in range(0, n, unit) for s in range(start, min(start + unit, n), block)]  # fmt: skip


def chunk_blocks(shape, chunks, block: int) -> list[tuple[slice, slice]]:
    """Lateral blocks of at most `block` x `block` columns that follow the dataset's chunks:
    HDF5 then reads each chunk straight into the block's buffer (measured 2.3x faster than
    gathering 128^2-column chunks into 256^2-column blocks); plain blocks when not chunked."""
    n_a, n_b = shape[:2]
    ca, cb = chunks[:2] if chunks else (n_a, n_b)
    return [(slice(*a), slice(*b)) for a in _cuts(n_a, ca, block) for b in _cuts(n_b, cb, block)]


def _open(fh: h5py.File, name: str, blocks: list[tuple[slice, slice]]) -> h5py.Dataset:
    """The dataset with a chunk cache that holds a row of chunks when the blocks cut through
    its chunks (a compressed chunk shared by two blocks is then decompressed once)."""
    dataset = fh[name]
    if dataset.chunks is None:
        return dataset
    ca, cb, cc = dataset.chunks
    starts = {(a.start % ca, b.start % cb) for a, b in blocks}
    stops = {(a.stop % ca, b.stop % cb) for a, b in blocks if a.stop < dataset.shape[0]
             and b.stop < dataset.shape[1]}  # fmt: skip
    if starts <= {(0, 0)} and stops <= {(0, 0)}:
        return dataset
    _, n_b, n_c = dataset.shape
    row = -(-n_b // cb) * -(-n_c // cc) * ca * cb * cc * dataset.dtype.itemsize
    access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    access.set_chunk_cache(100_003, min(row, 1 << 30) + (1 << 20), 1.0)  # slots: a prime
    return h5py.Dataset(h5py.h5d.open(fh.id, dataset.name.encode(), access))


def _sampled(columns: tuple[slice, slice]) -> tuple[slice, slice]:
    """The block's columns on the volume's every-SAMPLE_STRIDE-th grid, whatever the blocks."""
    return tuple(slice(-part.start % SAMPLE_STRIDE, None, SAMPLE_STRIDE) for part in columns)


class _Reader:
    """Lateral blocks of up to two datasets (float32 grey, uint8 labels) read into reused
    buffers (no block allocates fresh pages), WORKERS blocks worked on by threads while the
    calling thread reads the next (h5py holds the GIL; the kernels and most numpy release it)."""

    def __init__(self, grey: h5py.Dataset | None, labels: h5py.Dataset | None, blocks):
        self.sources = [(ds, dtype) for ds, dtype in ((grey, np.float32), (labels, np.uint8))
                        if ds is not None]  # fmt: skip
        self.grey, self.labels = grey is not None, labels is not None
        self.n_c = (grey if grey is not None else labels).shape[2]
        self.blocks = blocks
        self.sets = WORKERS + 1  # buffers: one per block in work and one being read
        self.buffers: dict[tuple[int, ...], np.ndarray] = {}
        self.largest_bytes = 0

    def _read(self, index: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = self.blocks[index]
        shape = (a.stop - a.start, b.stop - b.start, self.n_c)
        out = []
        for k, (ds, dtype) in enumerate(self.sources):
            key = (*shape, index % self.sets, k)
            if key not in self.buffers:  # labels: whole uint64 words, read in place by kernels
                new = kernels.padded_labels if dtype == np.uint8 else partial(np.empty, dtype=dtype)
                self.buffers[key] = new(shape)
            ds.read_direct(self.buffers[key], np.s_[a, b])
            out.append(self.buffers[key])
        self.largest_bytes = max(self.largest_bytes, sum(x.nbytes for x in out))
        grey = out[0] if self.grey else None
        return grey, (out[-1] if self.labels else None)

    def map(self, work: Callable) -> list:
        """work(columns, grey, labels) of every block, in block order; work must not keep the
        buffers (they are refilled once its block is done)."""
        with ThreadPoolExecutor(WORKERS) as pool:
            futures, pending = [], deque()
            for index, columns in enumerate(self.blocks):
                if len(pending) == self.sets - 1:  # the buffers read next are free again
                    pending.popleft().result()
                grey, labels = self._read(index)
                futures.append(pool.submit(work, columns, grey, labels))
                pending.append(futures[-1])
            return [future.result() for future in futures]


def _middles(layers: Layers) -> np.ndarray:
    return np.array([(run[0] + run[1] - 1) // 2
                     for run in (layers.bottom_electrode, layers.top_electrode)])  # fmt: skip


def _label_pass(reader: _Reader, layers: Layers, n_a: int, n_b: int, *, count: bool = False):
    """Every column's four label faces (bottom collector, bottom pellet, top pellet, top
    collector), its non-lithium voxels between each electrode's faces, its core map, whether
    each electrode's middle is dark and (`count`) the bright voxels per index of the blocks."""
    edges = np.empty((4, n_a, n_b))
    not_li = np.empty((2, n_a, n_b), np.int64)
    core = np.empty((n_a, n_b), np.float32)
    dark = np.empty((2, n_a, n_b), np.bool_)
    middles, core_run = _middles(layers), _core_run(layers)

    def work(columns, _, labels):
        every = (slice(None), *columns)
        kernels.label_columns(labels, middles, core_run.start, core_run.stop, edges[every],
                              not_li[every], core[columns], dark[every])  # fmt: skip
        if count:
            counts = np.zeros(reader.n_c, np.int64)
            kernels.bright_counts(labels, counts)
            return counts

    counts = reader.map(work)
    return edges, not_li, core, dark, (np.sum(counts, axis=0) if count else None)


def _holds(guess: Layers, layers: Layers, edges: np.ndarray, dark: np.ndarray) -> bool:
    """Whether faces and counts walked from `guess`'s middles are those from `layers`': the same
    core run, and each true middle in the dark run (between the faces) the guessed one lies in."""
    if _core_run(guess) != _core_run(layers):
        return False
    for side, (mine, true) in enumerate(zip(_middles(guess), _middles(layers), strict=True)):
        if mine == true:
            continue
        down, up = edges[2 * side], edges[2 * side + 1]
        with np.errstate(invalid="ignore"):
            between = (np.isnan(down) | (down <= true)) & (np.isnan(up) | (true < up))
        if not (dark[side] & between).all():
            return False
    return True


def _labels_alone(reader: _Reader, path, override: Layers | None, n_a: int, n_b: int):
    """Labels alone, in one pass when the layers of the block at the volume's centre (or the
    given ones) hold for every column (`_holds`), else in two (the layers, then the columns)."""
    guess = override
    if guess is None:
        index = next(k for k, (a, b) in enumerate(reader.blocks)
                     if a.start <= n_a // 2 < a.stop and b.start <= n_b // 2 < b.stop)  # fmt: skip
        counts = np.zeros(reader.n_c, np.int64)
        kernels.bright_counts(reader._read(index)[1], counts)
        a, b = reader.blocks[index]
        level = counts / ((a.stop - a.start) * (b.stop - b.start))
        try:
            guess = find_layers(level[None, None, :].astype(np.float32), str(path))
        except InputError:
            guess = None
    if guess is None:  # the layers first

        def count(_, __, labels):
            counts = np.zeros(reader.n_c, np.int64)
            kernels.bright_counts(labels, counts)
            return counts

        counts = np.sum(reader.map(count), axis=0)
    else:
        edges, not_li, core, dark, counts = _label_pass(reader, guess, n_a, n_b, count=True)
    profile = counts.astype(np.float64)
    profile /= n_a * n_b
    layers = find_layers(profile[None, None, :].astype(np.float32), str(path), override)
    if guess is not None and _holds(guess, layers, edges, dark):
        return layers, edges, not_li, core, 1
    edges, not_li, core, _, _ = _label_pass(reader, layers, n_a, n_b)
    return layers, edges, not_li, core, 2


def _label_thickness(edges: np.ndarray, not_li: np.ndarray, inside: np.ndarray, voxel: float):
    """`maps.lithium_thickness_um` from the faces and counts of `_label_pass`, per side."""
    masked = np.where(inside, edges, np.nan)
    faces = Edges(inside & np.isfinite(masked.sum(axis=0)), *masked)
    out = {}
    for k, side in enumerate(SIDES):
        envelope = maps.envelope_thickness_um(faces, side, voxel)
        out[side] = np.where(faces.inside, envelope - not_li[k] * voxel, np.nan)
    return faces, out


def _core_run(layers: Layers) -> slice:
    start, stop = layers.pellet
    quarter = (stop - start) // 4
    return slice(start + quarter, max(stop - quarter, start + quarter + 1))


def electrode_thickness_in_blocks(
    path: str | Path,
    *,
    dataset: str | None = "volume",
    labels_path: str | Path | None = None,
    labels_dataset: str = "labels",
    voxel_size_um: float,
    block: int = 256,
    smoothing_vox: float = 1.0,
    override: Layers | None = None,
) -> dict[str, np.ndarray | Layers | float]:
    """Thickness maps (um) of both electrodes of one step, read in blocks of at most `block` x
    `block` columns that follow the dataset's chunks (`chunk_blocks`).

    `path` holds the reconstruction (`dataset`, None for a label volume alone); `labels_path`
    the labels (`labels_dataset`), with which the thickness is the Li per unit area, else the
    envelope. The electrodes' level is the median of a strided sample of columns (every
    SAMPLE_STRIDE-th each way) rather than of every column. Returns bottom/top thickness and
    envelope, the cell's columns, the layers, the passes over the data and the largest block
    read in bytes (WORKERS + 1 blocks' buffers are held: those worked on and the one read).
    """
    with ExitStack() as files:
        fh = files.enter_context(h5py.File(path, "r"))
        lh = files.enter_context(h5py.File(labels_path, "r")) if labels_path else None
        label_fh = lh if lh is not None else fh if dataset is None else None
        main = fh[dataset] if dataset is not None else label_fh[labels_dataset]
        blocks = chunk_blocks(main.shape, main.chunks, block)  # the grey's chunks when both
        grey_ds = _open(fh, dataset, blocks) if dataset is not None else None
        label_ds = _open(label_fh, labels_dataset, blocks) if label_fh is not None else None
        reader = _Reader(grey_ds, label_ds, blocks)
        n_a, n_b, n_c = (grey_ds if grey_ds is not None else label_ds).shape
        smoothing = smoothing_vox if grey_ds is not None else 0.0

        whole = Layers((0, 0), (0, 0), (0, 1), (1, 1), (1, 1))
        out = {f"{side}_{kind}": np.full((n_a, n_b), np.nan, np.float32)
               for side in SIDES for kind in ("thickness_um", "envelope_um")}  # fmt: skip
        if grey_ds is None:  # labels alone: faces, counts and the cell's columns, mostly one pass
            layers, edges, not_li, core, passes = _labels_alone(reader, path, override, n_a, n_b)
            inside = cell_columns(core[:, :, None], whole)
            faces, thickness = _label_thickness(edges, not_li, inside, voxel_size_um)
            for side in SIDES:
                out[f"{side}_envelope_um"][...] = maps.envelope_thickness_um(
                    faces, side, voxel_size_um
                )
                out[f"{side}_thickness_um"][...] = thickness[side]
            return {**out, "inside": inside, "layers": layers, "passes": passes,
                    "largest_block_bytes": float(reader.largest_bytes)}  # fmt: skip

        profile, label_counts = np.zeros(n_c), np.zeros(n_c, np.int64)

        def count(_, grey, labels):
            counts = np.zeros(n_c, np.int64)
            if labels is not None:
                kernels.bright_counts(labels, counts)
            return grey.sum(axis=(0, 1), dtype=np.float64), counts

        for sums, counts in reader.map(count):  # added in block order, as read one by one
            profile += sums
            label_counts += counts
        profile /= n_a * n_b
        layers = find_layers(profile[None, None, :].astype(np.float32), str(path), override)
        label_layers = layers
        if label_ds is not None:  # Li between the labels' own faces
            label_profile = label_counts / (n_a * n_b)
            label_layers = find_layers(label_profile[None, None, :].astype(np.float32),
                                       str(path), override)  # fmt: skip

        core_run = _core_run(layers)
        core = np.zeros((n_a, n_b), np.float32)
        if label_ds is not None:  # the labels' faces and counts ride on the grey's second pass
            label_edges = np.empty((4, n_a, n_b))
            not_li = np.empty((2, n_a, n_b), np.int64)
            label_run = _core_run(label_layers)
            label_middles = _middles(label_layers)

        def core_and_sample(columns, grey, labels):
            core[columns] = grey[:, :, core_run].mean(axis=2)
            sample = grey[_sampled(columns)]
            if smoothing > 0:
                sample = ndimage.gaussian_filter1d(sample, smoothing, axis=2)
            if labels is not None:
                every = (slice(None), *columns)
                kernels.label_columns(labels, label_middles, label_run.start, label_run.stop,
                                      label_edges[every], not_li[every],
                                      np.empty(labels.shape[:2], np.float32))  # fmt: skip
            # copies: a view would keep the whole buffer, which the next block refills
            return [sample[:, :, run[0] : run[1]].copy()
                    for run in (layers.bottom_electrode, layers.top_electrode)]  # fmt: skip

        samples = reader.map(core_and_sample)
        inside = cell_columns(core[:, :, None], whole)
        levels = {}
        for k, side in enumerate(SIDES):
            values = [
                parts[k][inside[columns][_sampled(columns)]].ravel()
                for columns, parts in zip(reader.blocks, samples, strict=True)
            ]
            levels[side] = float(np.median(np.concatenate(values)))
        del samples
        if label_ds is not None:
            thickness = _label_thickness(label_edges, not_li, inside, voxel_size_um)[1]
            for side in SIDES:
                out[f"{side}_thickness_um"][...] = thickness[side]

        def envelopes(columns, grey, _):
            edges = find_edges(grey, layers, inside[columns], smoothing_vox=smoothing,
                               electrode_levels=levels)  # fmt: skip
            for side in SIDES:
                envelope = maps.envelope_thickness_um(edges, side, voxel_size_um)
                out[f"{side}_envelope_um"][columns] = envelope
                if label_ds is None:
                    out[f"{side}_thickness_um"][columns] = envelope

        _Reader(grey_ds, None, blocks).map(envelopes)  # the labels are done
    return {**out, "inside": inside, "layers": layers, "passes": 3,
            "largest_block_bytes": float(reader.largest_bytes)}  # fmt: skip
