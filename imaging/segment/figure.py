"""The evaluation figure: predictions' pores overlaid on the reconstruction, along and across the cell axis."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from imaging.segment.classes import PORE
from meso.io.atomic import atomic_path
from meso.microstructure import axis_index


def overlay_png(
    path: Path,
    background: np.ndarray,
    truth: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    cell_axis: str,
    across_index: int,
    voxel_size_um: float,
) -> Path:
    """One column per prediction (and the truth): pores in red on the grey background, in a
    mid-plane that contains the cell axis (top row) and a plane across it (bottom row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axis = axis_index(cell_axis)
    along_axis = (axis + 1) % 3
    views = [(along_axis, background.shape[along_axis] // 2), (axis, across_index)]
    columns = {"truth": truth, **predictions}
    fig, axes = plt.subplots(2, len(columns), figsize=(3.2 * len(columns), 6.4), squeeze=False)
    for row, (a, k) in enumerate(views):
        grey = np.take(background, k, axis=a).astype(np.float32)
        lo, hi = np.percentile(grey, (1, 99))
        for col, (name, labels) in enumerate(columns.items()):
            ax = axes[row, col]
            pore = np.take(labels, k, axis=a) == PORE
            rgb = np.repeat(np.clip((grey - lo) / max(hi - lo, 1e-12), 0, 1)[..., None], 3, axis=2)
            rgb[pore] = 0.5 * rgb[pore] + 0.5 * np.array([1.0, 0.1, 0.1])
            extent = (0, grey.shape[1] * voxel_size_um, grey.shape[0] * voxel_size_um, 0)
            ax.imshow(rgb, extent=extent)
            ax.set_title(f"{name}: {'xyz'[a]} = {k}", fontsize=9)
            ax.set_xlabel("um")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
