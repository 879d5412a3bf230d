"""Electrode thickness maps read from disk in lateral blocks: memory bounded by one block, not the volume.

Passes over the h5py datasets of a cycling step (cell axis last, as `meso reconstruct` writes a
scan whose rotation axis is z), each reading lateral blocks into reused buffers while a thread
reads the next block: the first accumulates the mean profile along the cell axis (the layers;
skipped for labels alone when the layers are given); then, for labels, one pass finds every
column's voxel faces, its non-lithium voxels between them and the pellet core map (the cell's
columns) with the numba kernels of `kernels`; a reconstruction takes two more (the core map and
a strided sample of the electrodes' levels, then its sub-voxel edges with `regions.find_edges`).
The numbers are those of `quantify` (`find_edges`, `maps.*_thickness_um`; with labels, Li is
counted between the labels' own faces), bit for bit.

Measured (benchmarks/quantify_speed.py, labels alone, 1540 x 1540 x 684 per step): the numpy
version spent its time in `np.isin` and float32 copies of every block, `_crossing`'s gathered
walks and `electrode_depth_vox`'s whole-block depth arrays, over three passes; the kernels touch
each voxel once or twice and stop a walk at its crossing.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import h5py
import numpy as np
from scipy import ndimage

from imaging.quantify import kernels, maps
from imaging.quantify.regions import Edges, Layers, cell_columns, find_edges, find_layers

SAMPLE_STRIDE = 8  # every 8th column in each lateral direction feeds the electrode levels
SIDES = ("bottom", "top")


def lateral_blocks(n_a: int, n_b: int, block: int) -> Iterator[tuple[slice, slice]]:
    for a in range(0, n_a, block):
        for b in range(0, n_b, block):
            yield slice(a, min(a + block, n_a)), slice(b, min(b + block, n_b))


def _open(fh: h5py.File, name: str, block: int) -> h5py.Dataset:
    """The dataset with a chunk cache that holds a row of chunks when the blocks cut through
    chunks (a compressed chunk shared by two block rows is then decompressed once)."""
    dataset = fh[name]
    if dataset.chunks is None:
        return dataset
    ca, cb, cc = dataset.chunks
    if block % ca == 0 and block % cb == 0:
        return dataset
    _, n_b, n_c = dataset.shape
    row = -(-n_b // cb) * -(-n_c // cc) * ca * cb * cc * dataset.dtype.itemsize
    access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    access.set_chunk_cache(100_003, row + (1 << 20), 1.0)  # a prime number of slots
    return h5py.Dataset(h5py.h5d.open(fh.id, dataset.name.encode(), access))


class _Reader:
    """Lateral blocks of up to two datasets (float32 grey, uint8 labels) read into two sets of
    reused buffers: block i + 1 is read on a thread while the caller works on block i (numba
    kernels and most numpy release the GIL), and no block allocates fresh pages."""

    def __init__(self, grey: h5py.Dataset | None, labels: h5py.Dataset | None, block: int):
        self.sources = [(ds, dtype) for ds, dtype in ((grey, np.float32), (labels, np.uint8))
                        if ds is not None]  # fmt: skip
        self.grey, self.labels = grey is not None, labels is not None
        n_a, n_b, self.n_c = (grey if grey is not None else labels).shape
        self.blocks = list(lateral_blocks(n_a, n_b, block))
        self.buffers: dict[tuple[int, int, int], list[np.ndarray]] = {}
        self.largest_bytes = 0

    def _read(self, index: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        a, b = self.blocks[index]
        shape = (a.stop - a.start, b.stop - b.start, self.n_c)
        out = []
        for k, (ds, dtype) in enumerate(self.sources):
            key = (*shape, index % 2, k)
            if key not in self.buffers:
                self.buffers[key] = np.empty(shape, dtype)
            ds.read_direct(self.buffers[key], np.s_[a, b])
            out.append(self.buffers[key])
        self.largest_bytes = max(self.largest_bytes, sum(x.nbytes for x in out))
        grey = out[0] if self.grey else None
        return grey, (out[-1] if self.labels else None)

    def __iter__(
        self,
    ) -> Iterator[tuple[tuple[slice, slice], np.ndarray | None, np.ndarray | None]]:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(self._read, 0)
            for index, columns in enumerate(self.blocks):
                grey, labels = pending.result()
                if index + 1 < len(self.blocks):
                    pending = pool.submit(self._read, index + 1)  # the other set of buffers
                yield columns, grey, labels


def _label_pass(reader: _Reader, layers: Layers, core_run: slice, n_a: int, n_b: int):
    """Every column's four label faces (bottom collector, bottom pellet, top pellet, top
    collector), its non-lithium voxels between each electrode's faces and its core map."""
    edges = np.empty((4, n_a, n_b))
    not_li = np.empty((2, n_a, n_b), np.int64)
    core = np.empty((n_a, n_b), np.float32)
    middles = np.array([(run[0] + run[1] - 1) // 2
                        for run in (layers.bottom_electrode, layers.top_electrode)])  # fmt: skip
    for columns, _, labels in reader:
        kernels.label_columns(labels, middles, core_run.start, core_run.stop,
                              edges[(slice(None), *columns)], not_li[(slice(None), *columns)],
                              core[columns])  # fmt: skip
    return edges, not_li, core


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
    """Thickness maps (um) of both electrodes of one step, read in `block` x `block` columns.

    `path` holds the reconstruction (`dataset`, None for a label volume alone); `labels_path`
    the labels (`labels_dataset`), with which the thickness is the Li per unit area, else the
    envelope. The electrodes' level is the median of a strided sample of columns (every
    SAMPLE_STRIDE-th each way) rather than of every column. Returns bottom/top thickness and
    envelope, the cell's columns, the layers and the largest block read in bytes (two blocks'
    buffers are held: the one worked on and the one being read).
    """
    with ExitStack() as files:
        fh = files.enter_context(h5py.File(path, "r"))
        lh = files.enter_context(h5py.File(labels_path, "r")) if labels_path else None
        grey_ds = _open(fh, dataset, block) if dataset is not None else None
        label_ds = None
        if lh is not None or grey_ds is None:  # a label volume alone is the step itself
            label_ds = _open(lh if lh is not None else fh, labels_dataset, block)
        reader = _Reader(grey_ds, label_ds, block)
        n_a, n_b, n_c = (grey_ds if grey_ds is not None else label_ds).shape
        smoothing = smoothing_vox if grey_ds is not None else 0.0

        profile, label_counts = np.zeros(n_c), np.zeros(n_c, np.int64)
        if grey_ds is not None or override is None:
            for _, grey, labels in reader:
                if grey is not None:
                    profile += grey.sum(axis=(0, 1), dtype=np.float64)
                if labels is not None:
                    kernels.bright_counts(labels, label_counts)
        if grey_ds is None:
            profile = label_counts.astype(np.float64)
        profile /= n_a * n_b
        layers = find_layers(profile[None, None, :].astype(np.float32), str(path), override)
        label_layers = layers
        if label_ds is not None and grey_ds is not None:  # Li between the labels' own faces
            label_profile = label_counts / (n_a * n_b)
            label_layers = find_layers(label_profile[None, None, :].astype(np.float32),
                                       str(path), override)  # fmt: skip

        out = {f"{side}_{kind}": np.full((n_a, n_b), np.nan, np.float32)
               for side in SIDES for kind in ("thickness_um", "envelope_um")}  # fmt: skip
        whole = Layers((0, 0), (0, 0), (0, 1), (1, 1), (1, 1))
        if grey_ds is None:  # labels alone: one pass gives faces, counts and the cell's columns
            edges, not_li, core = _label_pass(reader, layers, _core_run(layers), n_a, n_b)
            inside = cell_columns(core[:, :, None], whole)
            faces, thickness = _label_thickness(edges, not_li, inside, voxel_size_um)
            for side in SIDES:
                out[f"{side}_envelope_um"][...] = maps.envelope_thickness_um(
                    faces, side, voxel_size_um
                )
                out[f"{side}_thickness_um"][...] = thickness[side]
            return {**out, "inside": inside, "layers": layers,
                    "largest_block_bytes": float(reader.largest_bytes)}  # fmt: skip

        core_run = _core_run(layers)
        core = np.zeros((n_a, n_b), np.float32)
        samples: dict[str, list[np.ndarray]] = {"bottom": [], "top": []}
        if label_ds is not None:
            label_edges = np.empty((4, n_a, n_b))
            not_li = np.empty((2, n_a, n_b), np.int64)
            label_core = np.empty((n_a, n_b), np.float32)
            label_run = _core_run(label_layers)
            label_middles = np.array([(r[0] + r[1] - 1) // 2 for r in
                                      (label_layers.bottom_electrode, label_layers.top_electrode)])  # fmt: skip
        for columns, grey, labels in reader:
            core[columns] = grey[:, :, core_run].mean(axis=2)
            sample = grey[::SAMPLE_STRIDE, ::SAMPLE_STRIDE]
            if smoothing > 0:
                sample = ndimage.gaussian_filter1d(sample, smoothing, axis=2)
            for side, run in (("bottom", layers.bottom_electrode), ("top", layers.top_electrode)):
                # a copy: a view would keep the whole block alive
                samples[side].append(sample[:, :, run[0] : run[1]].copy())
            if labels is not None:
                everything = (slice(None), *columns)
                kernels.label_columns(labels, label_middles, label_run.start, label_run.stop,
                                      label_edges[everything], not_li[everything],
                                      label_core[columns])  # fmt: skip
        inside = cell_columns(core[:, :, None], whole)
        levels = {}
        for side, parts in samples.items():
            values = [
                part[inside[columns][::SAMPLE_STRIDE, ::SAMPLE_STRIDE]].ravel()
                for columns, part in zip(reader.blocks, parts, strict=True)
            ]
            levels[side] = float(np.median(np.concatenate(values)))
        del samples
        if label_ds is not None:
            thickness = _label_thickness(label_edges, not_li, inside, voxel_size_um)[1]
            for side in SIDES:
                out[f"{side}_thickness_um"][...] = thickness[side]

        for columns, grey, _ in _Reader(grey_ds, None, block):  # the labels are done
            edges = find_edges(grey, layers, inside[columns], smoothing_vox=smoothing,
                               electrode_levels=levels)  # fmt: skip
            for side in SIDES:
                envelope = maps.envelope_thickness_um(edges, side, voxel_size_um)
                out[f"{side}_envelope_um"][columns] = envelope
                if label_ds is None:
                    out[f"{side}_thickness_um"][columns] = envelope
    return {**out, "inside": inside, "layers": layers,
            "largest_block_bytes": float(reader.largest_bytes)}  # fmt: skip
