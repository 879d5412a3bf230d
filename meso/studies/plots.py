"""Figures of sweeps (M vs porosity and vs grain size, with reference models) and comparisons (Figure 4d style).

Reference curves in the sweep figures (insulating pores in a grain matrix, M = sigma_eff /
sigma_grain): the Hashin-Shtrikman upper bound 2(1 - p) / (2 + p), a Bruggeman-type
(Archie exponent 1.5) curve (1 - p)^1.5, and, against grain size d, the brick-layer model
M = [1 + (delta / d)(sigma_grain / sigma_gb)]^-1 (no pores), drawn when the materials give
grain boundaries a lower conductivity than the grain (delta: the boundary thickness); against
porosity, the product HS x brick layer per grain size then joins them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from meso.io.atomic import atomic_path

AXIS_COLOURS = {"x": "tab:blue", "y": "tab:orange", "z": "tab:green"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    _pyplot().close(fig)
    return path


def hashin_shtrikman_upper(porosity: np.ndarray) -> np.ndarray:
    return 2.0 * (1.0 - porosity) / (2.0 + porosity)


def bruggeman(porosity: np.ndarray) -> np.ndarray:
    return (1.0 - porosity) ** 1.5


def brick_layer(grain_size_um: np.ndarray, delta_um: float, sigma_ratio: float) -> np.ndarray:
    """[1 + (delta / d)(sigma_grain / sigma_gb)]^-1."""
    return 1.0 / (1.0 + delta_um / grain_size_um * sigma_ratio)


def sweep_figures(
    summary: list[dict[str, Any]],
    out: Path,
    *,
    boundary: tuple[float, float] | None = None,
) -> list[Path]:
    """M vs porosity (one line per grain size) and M vs grain size (one line per porosity),
    one panel per physics, mean over axes and seeds with the seeds' 95% interval as error
    bars; `boundary` = (delta_um, sigma_grain / sigma_gb) draws the brick-layer model.
    `summary` holds summary.csv's rows (numbers, not strings). Returns the PNGs written."""
    plt = _pyplot()
    physics = sorted({r["physics"] for r in summary})
    written = []
    for x_key, line_key, name in (("porosity", "grain_size_um", "M_vs_porosity.png"),
                                  ("grain_size_um", "porosity", "M_vs_grain_size.png")):  # fmt: skip
        xs = sorted({r[x_key] for r in summary if x_key in r})
        if len(xs) < 2:
            continue
        fig, panels = plt.subplots(1, len(physics), figsize=(5.5 * len(physics), 4.2),
                                   constrained_layout=True, squeeze=False)  # fmt: skip
        for ax, p in zip(panels[0], physics, strict=True):
            rows = [r for r in summary if r["physics"] == p]
            for value in sorted({r.get(line_key) for r in rows}, key=lambda v: (v is None, v)):
                mine = [r for r in rows if r.get(line_key) == value]
                points = []
                for x in xs:
                    at = [r for r in mine if r[x_key] == x and r["M_mean"] != ""]
                    if not at:
                        continue
                    mean = float(np.mean([r["M_mean"] for r in at]))
                    half = [(r["M_ci95_high"] - r["M_ci95_low"]) / 2 for r in at
                            if r["M_ci95_high"] != ""]  # fmt: skip
                    points.append((x, mean, float(np.mean(half)) if half else 0.0))
                if points:
                    px, py, pe = zip(*points, strict=True)
                    label = f"{line_key} = {value:g}" if value is not None else "sweep"
                    drawn = ax.errorbar(px, py, yerr=pe, marker="o", capsize=3, label=label)
                    if x_key == "porosity" and p == "conduction" and boundary and value:
                        grid = np.linspace(min(xs), max(xs), 50)
                        reference = hashin_shtrikman_upper(grid) * brick_layer(value, *boundary)
                        ax.plot(grid, reference, "--", lw=0.8, color=drawn.lines[0].get_color(),
                                label=f"HS x brick layer, d = {value:g} um")  # fmt: skip
            grid = np.linspace(min(xs), max(xs), 50)
            if x_key == "porosity" and p == "conduction":
                ax.plot(grid, hashin_shtrikman_upper(grid), "k--", lw=1, label="HS upper bound")
                ax.plot(grid, bruggeman(grid), "k:", lw=1, label="(1 - p)$^{1.5}$ (Bruggeman)")
            if x_key == "grain_size_um" and p == "conduction" and boundary is not None:
                delta, ratio = boundary
                ax.plot(grid, brick_layer(grid, delta, ratio), "k-.", lw=1,
                        label=f"brick layer (delta {delta:g} um)")  # fmt: skip
            ax.set_xlabel("porosity" if x_key == "porosity" else "grain size (um)")
            ax.set_ylabel(f"M ({p}), mean over axes")
            ax.set_title(f"{p}: error bars = 95% interval over seeds")
            ax.legend(fontsize=8)
        written.append(_save(fig, Path(out) / name))
    return written


def compare_figure(document: dict[str, Any], path: Path) -> Path:
    """The study's Figure 4d: per physics, mean (marker) and min..max (bar) of M over the
    windows along each axis, for each volume and its twins (pooled), volume by volume."""
    plt = _pyplot()
    physics = document["physics"]
    axes = document["axes"]
    volumes = [v for v in document["volumes"] if v["kind"] == "volume"]
    fig, panels = plt.subplots(1, len(physics), figsize=(max(5.0, 2.2 * len(volumes) + 3) *
                               len(physics), 4.4), constrained_layout=True, squeeze=False)  # fmt: skip
    for ax, p in zip(panels[0], physics, strict=True):
        for i, volume in enumerate(volumes):
            twins = [
                t for t in document["volumes"] if t["kind"] == "twin" and t["of"] == volume["label"]
            ]
            for k, (group, filled) in enumerate(((([volume]), True), (twins, False))):
                if not group:
                    continue
                for j, axis in enumerate(axes):
                    values = [w["M"][axis] for g in group for w in g["physics"][p]["windows"]
                              if w["M"][axis] is not None]  # fmt: skip
                    if not values:
                        continue
                    x = i + (k - 0.5) * 0.4 + (j - 1) * 0.1
                    mean = float(np.mean(values))
                    colour = AXIS_COLOURS.get(axis)
                    label = f"M_{axis} {'volume' if filled else 'twins'}" if i == 0 else None
                    ax.errorbar([x], [mean], yerr=[[mean - min(values)], [max(values) - mean]],
                                fmt="o" if filled else "s", capsize=3, color=colour,
                                mfc=colour if filled else "white", label=label)  # fmt: skip
        ax.set_xticks(range(len(volumes)), [v["label"] for v in volumes], rotation=15)
        ax.set_ylabel(f"M ({p}): mean, min-max over windows")
        ax.set_title(f"{p}: volume (filled) vs isotropic twins (open)")
        ax.legend(fontsize=7, ncol=2)
        if not math.isnan(ax.get_ylim()[0]):
            ax.set_ylim(bottom=0)
    return _save(fig, Path(path))


__all__ = ["brick_layer", "bruggeman", "compare_figure", "hashin_shtrikman_upper", "sweep_figures"]
