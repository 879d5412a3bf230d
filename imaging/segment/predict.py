"""U-Net inference that streams slices from disk to labels.h5: labels, confidence, seconds per slice."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from imaging.segment.classes import class_names, output_labels
from imaging.segment.grey import open_grey
from imaging.segment.labels_file import labels_writer
from imaging.segment.model_files import load_model
from imaging.segment.slices import (
    context_stack,
    normalise,
    pad_to_stride,
    volume_normalisation,
)
from imaging.segment.train import set_threads
from meso.errors import InputError
from meso.microstructure import axis_index

CONFIDENT = 0.8


def device_for(name: str | None = None) -> torch.device:
    """The GPU when torch sees one (unless `name` says otherwise), else the CPU."""
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Segmenter:
    """A loaded model ready to label batches of slices: ``__call__(channels) -> (labels, confidence)``."""

    def __init__(
        self, model_dir: str | os.PathLike, *, device: str | None = None, threads: int | None = None
    ):
        self.threads = set_threads(threads)
        self.network, self.record = load_model(model_dir)
        self.device = device_for(device)
        self.network = self.network.to(self.device, memory_format=torch.channels_last)
        self.lut = output_labels(self.record["classes"])
        self.context = int(self.record["context"])

    @torch.inference_mode()
    def __call__(
        self, channels: np.ndarray, stats: dict[str, float] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2 context + 1, a, b) grey slices -> (n, a, b) DESIGN labels and max softmax;
        `stats` ({"mean", "std"}) standardise them, by default model.json's "normalisation"
        (a model trained with per-scan normalisation needs the volume's: `volume_normalisation`)."""
        stats = stats or self.record["normalisation"]
        if "mean" not in stats:
            raise InputError("model.json", "per-scan normalisation: pass the volume's statistics")
        x, (a, b) = pad_to_stride(normalise(channels, stats))
        x = torch.from_numpy(x).to(self.device).contiguous(memory_format=torch.channels_last)
        probs = torch.softmax(self.network(x).float(), dim=1)[:, :, :a, :b]
        confidence, index = probs.max(dim=1)
        return self.lut[index.cpu().numpy()], confidence.cpu().numpy()


def predict(
    volume_path: str | os.PathLike,
    model_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    dataset: str | None = None,
    batch_size: int = 4,
    device: str | None = None,
    threads: int | None = None,
    cell_axis: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Label a reconstruction slice by slice along the model's slice axis into labels.h5.

    Only `batch_size` slices (plus the context neighbours) are in memory at a time, so a volume
    larger than RAM streams through. Returns segment.json's dict: classes, volume fractions,
    fraction of voxels with confidence (max softmax probability) >= 0.8, seconds per slice.
    """
    segmenter = Segmenter(model_dir, device=device, threads=threads)
    record = segmenter.record
    axis = axis_index(record["slice_axis"])
    c = segmenter.context
    counts = np.zeros(256, np.int64)
    confident = 0
    t0 = time.perf_counter()
    with open_grey(volume_path, dataset=dataset) as grey:
        n = grey.shape[axis]
        stats = volume_normalisation(record["normalisation"], grey)
        metadata = {
            "source": f"meso segment predict {Path(volume_path).name}",
            "method": "unet",
            "model": str(Path(model_dir).resolve()),
        }
        with labels_writer(
            out_path,
            grey.shape,
            voxel_size_um=grey.voxel_size_um,
            cell_axis=cell_axis or grey.cell_axis or record.get("cell_axis"),
            metadata=metadata,
            with_confidence=True,
        ) as writer:
            for start in tqdm(
                range(0, n, batch_size), desc="predict", unit="batch", disable=not progress, delay=2
            ):
                stop = min(start + batch_size, n)
                lo, hi = max(0, start - c), min(n, stop + c)
                block = grey.slab(axis, lo, hi)
                channels = context_stack(block, start - lo, stop - start, c)
                # context_stack clips at the block ends; at the volume ends that is the end slice
                labels, confidence = segmenter(channels, stats)
                writer.write(axis, start, labels, confidence)
                counts += np.bincount(labels.ravel(), minlength=256)
                confident += int(np.count_nonzero(confidence >= CONFIDENT))
        seconds = time.perf_counter() - t0
        total = int(counts.sum())
        present = np.flatnonzero(counts)
        return {
            "method": "unet",
            "model": str(Path(model_dir).resolve()),
            "input": str(volume_path),
            "shape": list(grey.shape),
            "voxel_size_um": grey.voxel_size_um,
            "slice_axis": record["slice_axis"],
            "classes": dict(
                zip(
                    class_names(record["classes"]),
                    output_labels(record["classes"]).tolist(),
                    strict=True,
                )
            ),
            "volume_fractions": dict(
                zip(class_names(present), (counts[present] / total).tolist(), strict=True)
            ),
            "fraction_confidence_above_0.8": confident / total,
            "seconds_per_slice": seconds / n,
            "slices": n,
            "batch_size": batch_size,
            "device": str(segmenter.device),
            "threads": segmenter.threads,
            "normalisation": stats,
        }
