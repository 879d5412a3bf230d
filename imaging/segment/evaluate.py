"""Scoring label volumes against ground truth: per-class IoU and Dice, pore fraction, confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from imaging.segment.classes import PORE, class_names, imaging_labels
from meso.errors import InputError


def score(prediction: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """IoU/Dice per class, pore fraction (predicted, true, error = predicted - true) and the
    confusion matrix (rows = truth, columns = prediction) over the voxels in `mask`.

    Grain boundaries count as grain on both sides (they are the same material to X-rays).
    Classes are those present in either volume; a class absent from both is not listed.
    """
    if prediction.shape != truth.shape:
        raise InputError(
            "evaluate", f"prediction {prediction.shape} and truth {truth.shape} differ"
        )
    p, t = imaging_labels(prediction), imaging_labels(truth)
    if mask is not None:
        p, t = p[mask], t[mask]
    p, t = p.ravel(), t.ravel()
    if p.size == 0:
        raise InputError("--region", "the region holds no voxels")
    classes = np.union1d(np.unique(p), np.unique(t))
    confusion = np.zeros((len(classes), len(classes)), np.int64)
    index = {int(c): i for i, c in enumerate(classes)}
    pair = np.searchsorted(classes, t) * len(classes) + np.searchsorted(classes, p)
    confusion = np.bincount(pair, minlength=len(classes) ** 2).reshape(confusion.shape)
    per_class = {}
    for name, c in zip(class_names(classes), classes, strict=True):
        i = index[int(c)]
        tp = int(confusion[i, i])
        fp = int(confusion[:, i].sum()) - tp
        fn = int(confusion[i, :].sum()) - tp
        union = tp + fp + fn
        per_class[name] = {
            "iou": tp / union if union else 1.0,
            "dice": 2 * tp / (2 * tp + fp + fn) if union else 1.0,
            "true_voxels": tp + fn,
            "predicted_voxels": tp + fp,
        }
    predicted, true = float(np.mean(p == PORE)), float(np.mean(t == PORE))
    return {
        "per_class": per_class,
        "pore_fraction": {"predicted": predicted, "true": true, "error": predicted - true},
        "confusion": {
            "labels": class_names(classes),
            "rows": "truth",
            "counts": confusion.tolist(),
        },
        "voxels": int(p.size),
    }


def evaluate(
    predictions: Mapping[str, np.ndarray], truth: np.ndarray, *, mask: np.ndarray | None = None
) -> dict[str, dict]:
    """Score any number of predictions side by side: {name: score(...)}.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.full((4, 4, 4), 3, np.uint8); truth[0] = 0
    >>> r = evaluate({"all Li": np.full_like(truth, 3)}, truth)
    >>> r["all Li"]["pore_fraction"]["error"], r["all Li"]["per_class"]["pore"]["iou"]
    (-0.25, 0.0)
    """
    return {name: score(pred, truth, mask) for name, pred in predictions.items()}
