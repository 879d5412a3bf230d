"""PNG figures of the quantification: maps in um with unit colorbars, profiles, hot-spot crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meso.io.atomic import atomic_path
from meso.io.figures import show_plane


def _save(fig, target: Path) -> Path:
    with atomic_path(target) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return target


def _figure(n_panels: int, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1,
        max(n_panels, 1),
        figsize=(4.2 * max(n_panels, 1), 3.6),
        layout="constrained",
        squeeze=False,
    )
    fig.suptitle(title)
    return fig, axes[0]


def map_row(
    stack: np.ndarray,
    target: Path,
    *,
    title: str,
    panel_titles: list[str],
    colorbar_label: str,
    lateral_axes: tuple[str, str],
    voxel_size_um: float,
    symmetric: bool = False,
) -> Path | None:
    """One panel per entry of a (n, a, b) stack of maps, shared colour range, lateral axes in um."""
    if len(stack) == 0:
        return None
    fig, axes = _figure(len(stack), title)
    finite = stack[np.isfinite(stack)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    cmap = "viridis"
    if symmetric:
        bound = max(abs(vmin), abs(vmax), 1e-12)
        vmin, vmax, cmap = -bound, bound, "RdBu_r"
    for ax, plane, name in zip(axes, stack, panel_titles, strict=True):
        show_plane(
            ax, plane, lateral_axes, voxel_size_um, colorbar_label, vmin=vmin, vmax=vmax, cmap=cmap
        )
        ax.set_title(name)
    return _save(fig, target)


def porosity_profiles(record: dict, target: Path) -> Path:
    """Band porosity over time (normalised to the first step) and each step's depth profiles."""
    fig, axes = _figure(3, "Electrode porosity")
    times = [
        s["time_hours"] if s["time_hours"] is not None else s["index"] for s in record["steps"]
    ]
    for side, marker in (("bottom", "o"), ("top", "s")):
        side_record = record["electrodes"][side]
        axes[0].plot(times, side_record["band_porosity_normalised"], marker=marker, label=side)
        ax = axes[1] if side == "bottom" else axes[2]
        for index, profile in enumerate(side_record["depth_profiles"]):
            depth = [(r["depth_start_um"] + r["depth_stop_um"]) / 2 for r in profile]
            ax.plot(depth, [r["porosity"] for r in profile], marker=".", label=f"step {index}")
        ax.set_xlabel("depth from the Li|LLZO interface (um)")
        ax.set_ylabel("porosity (fraction)")
        ax.set_title(f"{side} electrode")
        ax.legend(fontsize="small")
    band = record["parameters"]["band_um"]
    axes[0].set_xlabel("time (h)")
    axes[0].set_ylabel(f"porosity within {band:g} um / first step")
    axes[0].legend()
    return _save(fig, target)


def electrolyte_profiles(record: dict, target: Path) -> Path:
    """Normalised pellet porosity against height above the bottom interface, per step."""
    fig, axes = _figure(1, "Electrolyte porosity profile")
    for index, profile in enumerate(record["electrolyte"]["profiles"]):
        height = [(r["height_start_um"] + r["height_stop_um"]) / 2 for r in profile]
        axes[0].plot(
            height, [r["normalised_porosity"] for r in profile], marker=".", label=f"step {index}"
        )
    axes[0].set_xlabel("height above the bottom Li|LLZO interface (um)")
    axes[0].set_ylabel("porosity / pellet porosity")
    axes[0].legend(fontsize="small")
    return _save(fig, target)


def spot_crops(
    crops: list[tuple[str, np.ndarray, tuple[float, float]]],
    target: Path,
    *,
    names: tuple[str, str],
    voxel_size_um: float,
    colorbar_label: str,
) -> Path | None:
    """The raw slices through each hot spot (lateral axis horizontal, cell axis vertical), axes in
    um of the volume (each crop placed at its `origin`, the corner of its first voxel)."""
    if not crops:
        return None
    fig, axes = _figure(len(crops), "Slices through the hot spots")
    for ax, (title, plane, origin) in zip(axes, crops, strict=True):
        image = show_plane(ax, plane, names, voxel_size_um, colorbar_label, cmap="gray")
        x0, x1, y0, y1 = image.get_extent()
        image.set_extent([x0 + origin[0], x1 + origin[0], y0 + origin[1], y1 + origin[1]])
        ax.set_xlim(x0 + origin[0], x1 + origin[0])
        ax.set_ylim(y0 + origin[1], y1 + origin[1])
        ax.set_title(title, fontsize="small")
    return _save(fig, target)


def tortuosity_maps(
    maps: np.ndarray,
    target: Path,
    *,
    slab_titles: list[str],
    step_titles: list[str],
    lateral_axes: tuple[str, str],
    window_um: float,
) -> Path | None:
    """(steps, slabs, windows a, windows b) tortuosity factors: one row per step, one column per
    slab along the cell axis (bottom interface to top), lateral axes in um, one colour range."""
    if maps.size == 0:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_steps, n_slabs = maps.shape[:2]
    fig, axes = plt.subplots(
        n_steps,
        n_slabs,
        figsize=(3.4 * n_slabs, 2.9 * n_steps),
        layout="constrained",
        squeeze=False,
    )
    fig.suptitle("electrolyte: tortuosity factor along the cell axis per window")
    finite = maps[np.isfinite(maps)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (1.0, 2.0)
    vmax = max(vmax, vmin + 1e-6)
    for row, step_title in enumerate(step_titles):
        for col, slab_title in enumerate(slab_titles):
            ax = axes[row, col]
            show_plane(ax, maps[row, col], lateral_axes, window_um, "tortuosity factor",
                       vmin=vmin, vmax=vmax, cmap="magma")  # fmt: skip
            ax.set_title(f"{step_title}: {slab_title}", fontsize="small")
    return _save(fig, target)
