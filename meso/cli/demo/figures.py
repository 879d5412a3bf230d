"""The demo's own figures: what the pipeline recovered next to the virtual cell's ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meso.io.atomic import atomic_path
from meso.io.figures import show_plane


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 12, "axes.titlesize": 12})
    return plt


def _save(fig, target: Path) -> Path:
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    _pyplot().close(fig)
    return target


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over the entries where both are finite (NaN when either is constant)."""
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3 or a[keep].std() == 0 or b[keep].std() == 0:
        return float("nan")
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


def scans_vs_truth(
    rows: list[tuple[str, np.ndarray, np.ndarray]], voxel_um: float, target: Path
) -> Path:
    """One row per step: true attenuation and reconstruction on the mid plane y through the
    cell axis z, in micrometres."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 2, figsize=(13, 4.2 * len(rows)), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    for (name, truth, recon), (left, right) in zip(rows, axes, strict=True):
        mid = truth.shape[1] // 2
        where = f"y = {(mid + 0.5) * voxel_um:.3g} um"
        show_plane(left, truth[:, mid, :], ("x", "z = cell axis"), voxel_um,
                   "attenuation (1/m)", cmap="gray")  # fmt: skip
        left.set_title(f"{name}: true attenuation, {where}")
        show_plane(right, recon[:, mid, :], ("x", "z = cell axis"), voxel_um,
                   "reconstructed attenuation (1/m)", cmap="gray")  # fmt: skip
        right.set_title(f"{name}: reconstruction (r = {pearson(truth, recon):.2f})")
    return _save(fig, target)


def current_maps(
    rows: list[tuple[str, np.ndarray, list[tuple[str, np.ndarray]]]],
    voxel_um: float,
    target: Path,
) -> Path:
    """One row per interval: the true stripping current density, then each recovered map (same
    colour scale as the truth) with its Pearson r against it."""
    plt = _pyplot()
    cols = 1 + max(len(recovered) for *_, recovered in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(5.2 * cols, 4.2 * len(rows)),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    for (title, truth, recovered), row in zip(rows, axes, strict=True):
        shown = np.where(truth > 0, truth, np.nan)
        top = float(np.nanpercentile(shown, 99.5)) if np.isfinite(shown).any() else 1.0
        scale = {"vmin": 0.0, "vmax": top, "cmap": "inferno"}
        show_plane(row[0], shown, ("x", "y"), voxel_um, "j (uA/cm$^2$)", **scale)
        row[0].set_title(f"{title}: truth")
        for ax, (name, j) in zip(row[1:], recovered, strict=False):
            show_plane(ax, j, ("x", "y"), voxel_um, "j (uA/cm$^2$)", **scale)
            ax.set_title(f"{name} (r = {pearson(j, truth):.2f})")
        for ax in row[1 + len(recovered) :]:
            ax.axis("off")
    return _save(fig, target)
