"""Electrode thickness maps read from disk in lateral blocks: memory bounded by one block, not the volume.

Two passes over an h5py dataset of a cycling step (cell axis last, as `meso reconstruct` writes a
scan whose rotation axis is z): the first accumulates the mean profile along the cell axis (the
layers), the pellet core map (the cell's columns) and a strided sample of the electrodes'
levels; the second finds the sub-voxel edges and the thickness per lateral block with the same
functions as `quantify` (`regions.find_edges`, `maps.*_thickness_um`; with labels, Li is counted
between the labels' own faces).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from imaging.quantify import maps
from imaging.quantify.regions import (
    Layers,
    cell_columns,
    find_edges,
    find_layers,
    level_volume,
)

SAMPLE_STRIDE = 8  # every 8th column in each lateral direction feeds the electrode levels


def lateral_blocks(n_a: int, n_b: int, block: int) -> Iterator[tuple[slice, slice]]:
    for a in range(0, n_a, block):
        for b in range(0, n_b, block):
            yield slice(a, min(a + block, n_a)), slice(b, min(b + block, n_b))


def _read(dataset, labels_dataset, columns) -> tuple[np.ndarray, np.ndarray | None]:
    grey = None if dataset is None else np.asarray(dataset[columns], np.float32)
    labels = None if labels_dataset is None else np.asarray(labels_dataset[columns])
    return grey, labels


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
    SAMPLE_STRIDE-th each way) rather than of every column. Returns bottom/top thickness,
    the cell's columns, the layers and the largest block read in bytes.
    """
    with h5py.File(path, "r") as fh, h5py.File(labels_path, "r") if labels_path else _null() as lh:
        grey_ds = fh[dataset] if dataset is not None else None
        label_ds = lh[labels_dataset] if labels_path else None
        if grey_ds is None and label_ds is None:
            label_ds = fh[labels_dataset]
        source = grey_ds if grey_ds is not None else label_ds
        n_a, n_b, n_c = source.shape
        smoothing = smoothing_vox if grey_ds is not None else 0.0

        profile, label_profile = np.zeros(n_c), np.zeros(n_c)
        biggest = 0
        blocks = list(lateral_blocks(n_a, n_b, block))
        for columns in blocks:
            grey, labels = _read(grey_ds, label_ds, columns)
            level = level_volume(grey, labels)
            biggest = max(biggest, level.nbytes + (0 if labels is None else labels.nbytes))
            profile += level.sum(axis=(0, 1), dtype=np.float64)
            if labels is not None and grey is not None:
                label_profile += level_volume(None, labels).sum(axis=(0, 1), dtype=np.float64)
        profile /= n_a * n_b
        layers = find_layers(profile[None, None, :].astype(np.float32), str(path), override)
        # with labels, Li is counted between the labels' own faces, as `quantify` does
        label_layers = (
            find_layers(label_profile[None, None, :].astype(np.float32), str(path), override)
            if label_ds is not None and grey_ds is not None
            else layers
        )

        start, stop = layers.pellet
        quarter = (stop - start) // 4
        core_run = slice(start + quarter, max(stop - quarter, start + quarter + 1))
        core = np.zeros((n_a, n_b), np.float32)
        samples: dict[str, list[np.ndarray]] = {"bottom": [], "top": []}
        for columns in blocks:
            grey, labels = _read(grey_ds, label_ds, columns)
            level = level_volume(grey, labels)
            core[columns] = level[:, :, core_run].mean(axis=2)
            sample = level[::SAMPLE_STRIDE, ::SAMPLE_STRIDE]
            if smoothing > 0:
                from scipy import ndimage

                sample = ndimage.gaussian_filter1d(sample, smoothing, axis=2)
            for side, run in (("bottom", layers.bottom_electrode), ("top", layers.top_electrode)):
                # a copy: a view would keep the whole block alive
                samples[side].append(sample[:, :, run[0] : run[1]].copy())
        whole = Layers((0, 0), (0, 0), (0, 1), (1, 1), (1, 1))
        inside = cell_columns(core[:, :, None], whole)
        levels = {}
        for side, parts in samples.items():
            values = [
                part[inside[columns][::SAMPLE_STRIDE, ::SAMPLE_STRIDE]].ravel()
                for columns, part in zip(blocks, parts, strict=True)
            ]
            levels[side] = float(np.median(np.concatenate(values)))
        del samples

        out = {f"{side}_{kind}": np.full((n_a, n_b), np.nan, np.float32)
               for side in ("bottom", "top") for kind in ("thickness_um", "envelope_um")}  # fmt: skip
        for columns in blocks:
            grey, labels = _read(grey_ds, label_ds, columns)
            level = level_volume(grey, labels)
            if grey is None:  # labels alone: their voxel faces
                edges = find_edges(level, layers, inside[columns], smoothing_vox=0.0,
                                   half_level=0.5)  # fmt: skip
            else:
                edges = find_edges(level, layers, inside[columns], smoothing_vox=smoothing,
                                   electrode_levels=levels)  # fmt: skip
            faces = edges if grey is None else None
            if labels is not None and grey is not None:
                faces = find_edges(level_volume(None, labels), label_layers, inside[columns],
                                   smoothing_vox=0.0, half_level=0.5)  # fmt: skip
            for side in ("bottom", "top"):
                envelope = maps.envelope_thickness_um(edges, side, voxel_size_um)
                out[f"{side}_envelope_um"][columns] = envelope
                out[f"{side}_thickness_um"][columns] = (
                    maps.lithium_thickness_um(faces, side, labels, voxel_size_um)
                    if faces is not None
                    else envelope
                )
    return {**out, "inside": inside, "layers": layers, "largest_block_bytes": float(biggest)}


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
