"""2.5-D inputs: a slice with its neighbours as channels, normalised, padded to the network's stride."""

from __future__ import annotations

import numpy as np

STRIDE = 32  # five stride-2 stages in the ResNet encoder


def context_stack(block: np.ndarray, first: int, count: int, context: int) -> np.ndarray:
    """(count, 2 context + 1, a, b) channels for slices first..first+count of `block` (slices
    along axis 0), neighbours beyond the ends replaced by the end slice."""
    n = block.shape[0]
    offsets = np.arange(-context, context + 1)
    index = np.clip(np.arange(first, first + count)[:, None] + offsets[None, :], 0, n - 1)
    return block[index]


def normalise(x: np.ndarray, stats: dict[str, float]) -> np.ndarray:
    return ((x - stats["mean"]) / stats["std"]).astype(np.float32)


def pad_to_stride(x: np.ndarray, stride: int = STRIDE) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad the last two axes up to a multiple of `stride`; returns the original size."""
    a, b = x.shape[-2:]
    pa, pb = (-a) % stride, (-b) % stride
    if pa or pb:
        pad = [(0, 0)] * (x.ndim - 2) + [(0, pa), (0, pb)]
        x = np.pad(x, pad, mode="reflect" if min(a, b) > max(pa, pb) else "edge")
    return x, (a, b)
