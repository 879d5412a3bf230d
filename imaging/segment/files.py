"""File-to-file entries of `meso segment`: Otsu, autolabel and evaluation from and to disk."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from imaging.segment.autolabel import autolabel
from imaging.segment.classes import class_names
from imaging.segment.evaluate import evaluate
from imaging.segment.figure import overlay_png
from imaging.segment.grey import read_grey
from imaging.segment.labels_file import write_labels
from imaging.segment.otsu import otsu
from imaging.segment.regions import region_mask, region_range
from meso.errors import InputError
from meso.io.atomic import write_json
from meso.io.volumes import load


def _summary(method: str, labels: np.ndarray, grey, seconds: float, **extra: Any) -> dict:
    counts = np.bincount(labels.ravel(), minlength=256)
    present = np.flatnonzero(counts)
    return {
        "method": method,
        "input": str(grey.path),
        "shape": list(labels.shape),
        "voxel_size_um": grey.voxel_size_um,
        "cell_axis": grey.cell_axis,
        "classes": dict(zip(class_names(present), present.tolist(), strict=True)),
        "volume_fractions": dict(
            zip(class_names(present), (counts[present] / labels.size).tolist(), strict=True)
        ),
        "fraction_confidence_above_0.8": None,
        "seconds_per_slice": seconds / labels.shape[2],
        **extra,
    }


def threshold_file(
    volume_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    method: str = "otsu",
    dataset: str | None = None,
    per_slice: bool = False,
    cell_axis: str | None = None,
) -> dict[str, Any]:
    """`meso segment otsu|autolabel`: read VOL whole, label it, write labels.h5 + segment.json."""
    out_dir = Path(out_dir)
    grey_values, grey = read_grey(volume_path, dataset=dataset)
    tic = time.perf_counter()
    if method == "otsu":
        labels = otsu(grey_values, per_slice=per_slice)
    elif method == "autolabel":
        labels = autolabel(grey_values)
    else:
        raise InputError("method", f"unknown method {method!r}")
    seconds = time.perf_counter() - tic
    axis = cell_axis or grey.cell_axis
    write_labels(
        out_dir / "labels.h5",
        labels,
        voxel_size_um=grey.voxel_size_um,
        cell_axis=axis,
        metadata={"source": f"meso segment {method} {Path(volume_path).name}", "method": method},
    )
    summary = _summary(
        method, labels, grey, seconds, per_slice=per_slice if method == "otsu" else None
    )
    write_json(out_dir / "segment.json", summary)
    return summary


def _names(paths: list[str | os.PathLike]) -> list[str]:
    """A label per prediction: its folder's name for DIR/labels.h5, else the file's stem."""
    names = []
    for p in map(Path, paths):
        name = p.parent.name if p.stem == "labels" and p.parent.name else p.stem
        while name in names:
            name += "'"
        names.append(name)
    return names


def evaluate_files(
    predictions: list[str | os.PathLike],
    truth_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    region: str = "all",
    cell_axis: str | None = None,
    image: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """`meso segment evaluate`: score label files against the truth in a region; write
    evaluation.json and evaluation.png (pores over the reconstruction `image`, when given)."""
    out_dir = Path(out_dir)
    truth = load(truth_path)
    axis = cell_axis or truth.cell_axis
    mask = region_mask(truth.labels, axis, region)
    loaded = {}
    for name, path in zip(_names(predictions), predictions, strict=True):
        labels = load(path).labels
        if labels.shape != truth.shape:
            raise InputError(path, f"shape {labels.shape} differs from the truth's {truth.shape}")
        loaded[name] = labels
    result = evaluate(loaded, truth.labels, mask=None if region == "all" else mask)
    document = {
        name: {
            **scores,
            "file": str(path),
            "truth": str(truth_path),
            "region": region,
            "cell_axis": axis,
        }
        for (name, scores), path in zip(result.items(), predictions, strict=True)
    }
    write_json(out_dir / "evaluation.json", document)
    background = read_grey(image)[0] if image else truth.labels
    if background.shape != truth.shape:
        raise InputError(image, f"shape {background.shape} differs from the truth's {truth.shape}")
    start, stop = region_range(truth.labels, axis, region)
    overlay_png(
        out_dir / "evaluation.png",
        background,
        truth.labels,
        loaded,
        cell_axis=axis,
        across_index=(start + stop) // 2,
        voxel_size_um=truth.voxel_size_um,
    )
    return document
