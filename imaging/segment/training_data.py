"""Training slices from (reconstruction, labels) pairs: region, class indices, loss mask, 80/20 split by slice."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imaging.segment.classes import GAS, PORE, imaging_labels
from imaging.segment.grey import read_grey
from imaging.segment.regions import footprint, region_range
from imaging.segment.slices import NORMALISATIONS, scan_statistics
from meso.errors import InputError
from meso.io.volumes import load
from meso.microstructure import axis_index


@dataclass
class Pair:
    """One volume with the slice axis first: grey (n, a, b), class indices, loss mask, crop box."""

    image: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    score_mask: np.ndarray
    box: tuple[int, int, int, int]
    provenance: dict
    stats: dict = field(default_factory=dict)  # {"mean", "std"} its grey values are standardised by


@dataclass
class TrainingData:
    pairs: list[Pair]
    classes: list[int]
    train: list[tuple[int, int]]  # (pair, slice)
    validation: list[tuple[int, int]]
    stats: dict  # model.json's "normalisation"
    cell_axis: str
    slice_axis: str
    provenance: list[dict] = field(default_factory=list)


def along_cell_axis(cell_axis: str) -> str:
    """The default slice axis: y, or x for a cell stacked along y, so that every slice holds
    the cell axis (on the 48^3 virtual cell with 3 neighbours each side every training seed gave
    sane pore fractions; across the cell axis with one neighbour one seed of three called almost
    every electrode voxel pore: README, meso segment)."""
    return "x" if cell_axis == "y" else "y"


def _file_record(path: Path) -> dict:
    stat = path.stat() if path.is_file() else None
    return {"path": str(path.resolve()), "bytes": stat.st_size if stat else None}


def load_training_data(
    images: list[str | os.PathLike],
    labels: list[str | os.PathLike],
    *,
    region: str,
    slice_axis: str,
    cell_axis: str | None = None,
    validation_fraction: float = 0.2,
    normalisation: str = "dataset",
) -> TrainingData:
    """Read every pair, keep the slices across `slice_axis` ("auto": `along_cell_axis` of the
    first pair) that meet `region` (located along the cell axis from the labels) and split them:
    every round(1/validation_fraction)-th slice of each volume validates (slices spread over the
    region), the rest train. `normalisation` (slices.NORMALISATIONS): one mean/std over the
    training voxels of all pairs, or each volume's own statistics (`scan_statistics`)."""
    if normalisation not in NORMALISATIONS:
        raise InputError(
            "--normalisation", f"expected one of {', '.join(NORMALISATIONS)}, got {normalisation!r}"
        )
    if len(images) != len(labels) or not images:
        raise InputError(
            "--labels", f"need one labels file per image, got {len(images)} and {len(labels)}"
        )
    if not 0 < validation_fraction < 1:
        raise InputError("--validation", f"fraction must lie in (0, 1), got {validation_fraction}")
    pairs, classes, axes = [], set(), set()
    for image_path, label_path in zip(images, labels, strict=True):
        micro = load(label_path)
        if slice_axis == "auto":
            slice_axis = along_cell_axis(cell_axis or micro.cell_axis)
        axis = axis_index(slice_axis)
        grey, _ = read_grey(image_path)
        if grey.shape != micro.shape:
            raise InputError(
                image_path, f"shape {grey.shape} differs from its labels {micro.shape}"
            )
        along = cell_axis or micro.cell_axis
        axes.add(along)
        start, stop = region_range(micro.labels, along, region)
        target = imaging_labels(micro.labels)
        mask = np.zeros(target.shape, bool)
        index = [slice(None)] * 3
        index[axis_index(along)] = slice(start, stop)
        mask[tuple(index)] = True
        # The gas around the cell is pore too, and trivially so: as its own class it cannot
        # make the pore Dice look good while the pores inside the cell are missed (predict
        # writes it as pore). Validation scores the cell only.
        inside = np.broadcast_to(
            np.expand_dims(footprint(micro.labels, along), axis_index(along)), target.shape
        )
        target[(target == PORE) & ~inside] = GAS
        classes.update(np.unique(target[mask]).tolist())
        score_mask = mask & inside
        image, target, mask, score_mask = (
            np.ascontiguousarray(np.moveaxis(a, axis, 0)) for a in (grey, target, mask, score_mask)
        )
        rows, cols = np.flatnonzero(mask.any((0, 2))), np.flatnonzero(mask.any((0, 1)))
        box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        provenance = {
            "image": _file_record(Path(image_path)),
            "labels": _file_record(Path(label_path)),
            "labels_metadata": {k: v for k, v in micro.metadata.items() if k != "source"},
            "region": region,
            "region_range": [start, stop],
            "cell_axis": along,
        }
        pair = Pair(image, target, mask, score_mask, box, provenance)
        if normalisation != "dataset":
            pair.stats = scan_statistics(grey, normalisation)
            provenance["normalisation"] = pair.stats
        pairs.append(pair)
    if PORE not in classes:
        raise InputError(
            "--labels", f"no pores in the {region!r} region of the labels to learn from"
        )
    ordered = sorted(int(c) for c in classes)
    lut = np.full(256, 0, np.int64)
    lut[ordered] = np.arange(len(ordered))
    train, validation = [], []
    every = max(2, round(1 / validation_fraction))
    for p, pair in enumerate(pairs):
        pair.target = lut[pair.target].astype(np.int64)
        used = np.flatnonzero(pair.mask.any((1, 2)))
        for i, k in enumerate(used):
            (validation if i % every == every - 1 else train).append((p, int(k)))
    if not validation or not train:
        raise InputError(
            "--region", "too few slices in the region to split into training and validation"
        )
    if normalisation == "dataset":
        values = np.concatenate([pair.image[pair.mask] for pair in pairs])
        stats = {"mean": float(values.mean()), "std": float(values.std() or 1.0)}
        for pair in pairs:
            pair.stats = stats
    else:
        stats = {"mode": normalisation, "training_scans": [pair.stats for pair in pairs]}
    return TrainingData(
        pairs,
        ordered,
        train,
        validation,
        stats,
        axes.pop() if len(axes) == 1 else "mixed",
        slice_axis,
        [pair.provenance for pair in pairs],
    )
