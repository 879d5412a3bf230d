"""Figures of fields: mid-plane slices of voxel fields in micrometres, with colorbars in units.

One convention for every map of the package (``show_plane``): a plane of a volume with axes
(x, y, z) keeps its two remaining axes in order, the first horizontal and the second vertical,
origin at the lower left (``imshow(plane.T, origin="lower")``), both in micrometres; every image
has its own colorbar labelled with the quantity and its unit, and figures use constrained
layout so that no title is clipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from meso.io.atomic import atomic_path
from meso.microstructure import AXES, axis_index


def show_plane(
    ax: Any,
    plane: np.ndarray,
    names: tuple[str, str],
    voxel_size_um: float | None,
    colorbar_label: str,
    **imshow: Any,
) -> Any:
    """Draw the 2D slice `plane` (index 0 along `names[0]`, horizontal; index 1 along
    `names[1]`, vertical; NaN blank) on the matplotlib axes `ax` in micrometres, with a
    colorbar labelled `colorbar_label` (quantity and unit); returns the image. Without
    `voxel_size_um` the axes are in pixels (a detector without a known pixel size).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> image = show_plane(ax, np.ones((4, 3)), ("x", "z"), 0.5, "|J| (A/m$^2$)")
    >>> ax.get_xlabel(), image.get_extent(), image.colorbar.ax.get_ylabel()
    ('x (um)', [0.0, 2.0, 0.0, 1.5], '|J| (A/m$^2$)')
    >>> plt.close(fig)
    """
    size, unit = (voxel_size_um, "um") if voxel_size_um else (1.0, "pixels")
    extent = [0.0, plane.shape[0] * size, 0.0, plane.shape[1] * size]
    image = ax.imshow(np.ma.masked_invalid(plane).T, origin="lower", extent=extent, **imshow)
    ax.set_xlabel(f"{names[0]} ({unit})")
    ax.set_ylabel(f"{names[1]} ({unit})")
    ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    return image


def plot_midplanes(
    magnitude: np.ndarray, axis: str | int, target: Path, title: str, *, voxel_size_um: float
) -> Path:
    """PNG of |J| on two mid-planes, across the transport axis and along it, in micrometres."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = axis_index(axis)
    b = (a + 1) % 3
    vmax = np.nanpercentile(magnitude, 99.5) if np.isfinite(magnitude).any() else 1.0
    fig, panels = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True)
    for ax, cut, label in (
        (panels[0], a, "across the current"),
        (panels[1], b, f"along {AXES[a]}"),
    ):
        index = magnitude.shape[cut] // 2
        rest = [AXES[i] for i in range(3) if i != cut]
        show_plane(ax, np.take(magnitude, index, axis=cut), (rest[0], rest[1]), voxel_size_um,
                   "|J| (A/m$^2$), pores blank", vmin=0, vmax=vmax, cmap="inferno")  # fmt: skip
        ax.set_title(f"{AXES[cut]} = {(index + 0.5) * voxel_size_um:.3g} um ({label})")
    fig.suptitle(title)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return target


def plot_midplane(
    path: str | os.PathLike,
    volume: np.ndarray,
    normal_axis: int,
    title: str,
    colorbar_label: str,
    voxel_size_um: float,
) -> Path:
    """PNG of the mid-plane slice of a voxel field normal to `normal_axis` (NaN = removed), in
    micrometres, with a colorbar labelled `colorbar_label` (quantity and unit)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    index = volume.shape[normal_axis] // 2
    plane = np.take(volume, index, axis=normal_axis)
    first, second = (AXES[a] for a in range(3) if a != normal_axis)
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120, constrained_layout=True)
    show_plane(ax, plane, (first, second), voxel_size_um, colorbar_label, cmap="magma")
    ax.set_title(f"{title}\n{AXES[normal_axis]} = {(index + 0.5) * voxel_size_um:.3g} um")
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return Path(path)
