"""labels.h5: segmented labels (a Microstructure for `meso info/conduct`) and confidence, written by slice."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from meso.io.atomic import atomic_path
from meso.microstructure import AXES, DEFAULT_PHASES

LABELS_DATASET = "labels"
CONFIDENCE_DATASET = "confidence"


class LabelsWriter:
    """Datasets of an open labels.h5; ``write(axis, start, labels, confidence)`` stores slices
    [start, start + n) along `axis` (arrays with that axis first)."""

    def __init__(self, fh: h5py.File, shape: tuple[int, int, int], with_confidence: bool):
        self.labels = fh.create_dataset(
            LABELS_DATASET, shape=shape, dtype=np.uint8, compression="gzip", chunks=True
        )
        self.confidence = None
        if with_confidence:
            self.confidence = fh.create_dataset(
                CONFIDENCE_DATASET, shape=shape, dtype=np.float32, compression="gzip", chunks=True
            )

    def write(self, axis: int, start: int, labels: np.ndarray, confidence=None) -> None:
        index: list[Any] = [slice(None)] * 3
        index[axis] = slice(start, start + labels.shape[0])
        self.labels[tuple(index)] = np.moveaxis(np.asarray(labels, np.uint8), 0, axis)
        if self.confidence is not None and confidence is not None:
            self.confidence[tuple(index)] = np.moveaxis(np.asarray(confidence, np.float32), 0, axis)


@contextmanager
def labels_writer(
    path: str | os.PathLike,
    shape: tuple[int, int, int],
    *,
    voxel_size_um: float,
    cell_axis: str | None,
    metadata: dict[str, Any],
    with_confidence: bool = False,
) -> Iterator[LabelsWriter]:
    """Write labels.h5 atomically: dataset "labels" (uint8 DESIGN labels with the attributes of
    ``meso.io.volumes``: voxel size, cell axis, phases, metadata) and optionally "confidence"
    (float32, the maximum softmax probability per voxel)."""
    with atomic_path(Path(path)) as tmp, h5py.File(tmp, "w") as fh:
        writer = LabelsWriter(fh, shape, with_confidence)
        writer.labels.attrs.update(
            {
                "voxel_size_um": float(voxel_size_um),
                "cell_axis": cell_axis if cell_axis in AXES else "x",
                "phases": json.dumps(DEFAULT_PHASES),
                "metadata": json.dumps(metadata, default=str),
            }
        )
        yield writer


def write_labels(
    path: str | os.PathLike,
    labels: np.ndarray,
    *,
    voxel_size_um: float,
    cell_axis: str | None,
    metadata: dict[str, Any],
    confidence: np.ndarray | None = None,
) -> Path:
    """A whole in-memory label volume (and confidence) to labels.h5."""
    with labels_writer(
        path,
        labels.shape,
        voxel_size_um=voxel_size_um,
        cell_axis=cell_axis,
        metadata=metadata,
        with_confidence=confidence is not None,
    ) as writer:
        writer.write(0, 0, labels, confidence)
    return Path(path)
