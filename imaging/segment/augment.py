"""Training augmentation of 2.5-D patches: flips, 90-degree rotations, intensity jitter and noise."""

from __future__ import annotations

import numpy as np


def augment(
    image: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    *,
    jitter: float = 0.1,
    noise: float = 0.1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Randomly flip and rotate (by 90 degrees, square patches) the (channels, a, b) image with its
    (a, b) target and loss mask; scale and shift the normalised grey values by up to `jitter`
    and add Gaussian noise of up to `noise` standard deviations."""
    for axis in (0, 1):
        if rng.random() < 0.5:
            image, target, mask = (
                np.flip(image, axis + 1),
                np.flip(target, axis),
                np.flip(mask, axis),
            )
    if image.shape[1] == image.shape[2]:
        k = int(rng.integers(4))
        image, target, mask = (np.rot90(image, k, (1, 2)), np.rot90(target, k), np.rot90(mask, k))
    scale = 1.0 + rng.uniform(-jitter, jitter)
    shift = rng.uniform(-jitter, jitter)
    image = image * scale + shift
    image = image + rng.normal(0.0, rng.uniform(0, noise), image.shape)
    return (
        np.ascontiguousarray(image, np.float32),
        np.ascontiguousarray(target),
        np.ascontiguousarray(mask),
    )
