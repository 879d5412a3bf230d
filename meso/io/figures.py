"""Figures of fields: mid-plane slices of voxel fields in micrometres, with colorbars in units."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from meso.io.atomic import atomic_path
from meso.microstructure import AXES, axis_index


def plot_midplanes(magnitude: np.ndarray, axis: str | int, target: Path, title: str) -> Path:
    """PNG of |J| on two mid-planes: across the transport axis and along it (voxel units)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = axis_index(axis)
    b = (a + 1) % 3
    across = np.take(magnitude, magnitude.shape[a] // 2, axis=a)
    along = np.take(magnitude, magnitude.shape[b] // 2, axis=b)
    fig, panels = plt.subplots(1, 2, figsize=(10, 4.4), constrained_layout=True)
    vmax = np.nanpercentile(magnitude, 99.5) if np.isfinite(magnitude).any() else 1.0
    for ax, plane, cut, label in (
        (panels[0], across, a, f"{AXES[a]} = mid (across the current)"),
        (panels[1], along, b, f"{AXES[b]} = mid (along {AXES[a]})"),
    ):
        image = ax.imshow(np.ma.masked_invalid(plane).T, origin="lower", vmin=0, vmax=vmax,
                          cmap="inferno")  # fmt: skip
        rest = [AXES[i] for i in range(3) if i != cut]
        ax.set(title=label, xlabel=f"{rest[0]} (voxels)", ylabel=f"{rest[1]} (voxels)")
    fig.colorbar(image, ax=panels, label="|J| (A/m$^2$), pores blank")
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
    """PNG of the mid-plane slice of a voxel field normal to `normal_axis` (NaN = removed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes_names = "xyz"
    index = volume.shape[normal_axis] // 2
    plane = np.take(volume, index, axis=normal_axis)
    rows, cols = [a for a in range(3) if a != normal_axis]
    extent = [0, volume.shape[rows] * voxel_size_um, 0, volume.shape[cols] * voxel_size_um]
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    image = ax.imshow(np.ma.masked_invalid(plane).T, origin="lower", extent=extent, cmap="magma")
    ax.set_xlabel(f"{axes_names[rows]} (um)")
    ax.set_ylabel(f"{axes_names[cols]} (um)")
    ax.set_title(f"{title}\n{axes_names[normal_axis]} = {(index + 0.5) * voxel_size_um:.3g} um")
    fig.colorbar(image, ax=ax, label=colorbar_label)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return Path(path)
