"""Predicted vs measured interfacial current density: measured maps resampled onto the face grid
of an extracted subvolume, Pearson / Spearman correlations and a side-by-side figure.

A measured map covers the lateral columns of the whole cell (``meso quantify``'s
``electrodes/{top,bottom}/current_density_uA_per_cm2``, the virtual cell's
``/ground_truth/current_density_uA_per_cm2``, or a 2D .npy), indexed by the two lateral axes in
order at its own voxel size. The subvolume from ``meso extract`` records where its window lies in
that cell (``offset_vox`` in the source's voxels along x, y, z, and the ``downsample`` factor F).
Face pixel (p, q) of the subvolume covers source columns [o + pF, o + (p + 1)F) along each lateral
axis: at the map's own voxel size it takes the mean of the finite values there (NaN if none); at
another voxel size the map is interpolated linearly at the pixel's centre (NaN weight excluded).

The correlation uses the face pixels where the prediction is defined (the contact) and the
measured map is finite, and compares magnitudes: the measured map is signed (positive where an
electrode grew), the predicted one is the current through the contact.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from meso.errors import InputError
from meso.io.atomic import atomic_path
from meso.microstructure import AXES

FACES = ("bottom", "top")


@dataclass
class MeasuredMap:
    """A measured current-density map per face (uA/cm^2, over the cell's lateral columns).

    `kind`: "quantify", "ground_truth" or "map"; `maps`: {"bottom": 2D, "top": 2D};
    `voxel_size_um`: the map's pixel (None: the subvolume's source voxel size)."""

    source: str
    kind: str
    maps: dict[str, np.ndarray]
    voxel_size_um: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short title: "quantify interval K", "true map (STEP)" or "measured map"."""
        step = self.details.get("step")
        if self.kind == "quantify":
            return f"quantify interval {step}"
        if self.kind == "ground_truth":
            return f"true map ({step})" if step else "true map"
        return "measured map"


def source_geometry(provenance: dict[str, Any] | None, axis: int, voxel_size_um: float):
    """(lateral offsets in source voxels, downsample factor, source voxel size in um) of a
    subvolume from its ``meso extract`` provenance; None without one."""
    if not provenance or "offset_vox" not in provenance:
        return None
    factor = int(provenance.get("downsample", 1) or 1)
    offsets = [int(provenance["offset_vox"][b]) for b in range(3) if b != axis]
    source_voxel = float(provenance.get("source_voxel_size_um") or voxel_size_um / factor)
    return offsets, factor, source_voxel


def smooth_map(values: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian smoothing of a map with NaN holes (normalised convolution: NaN stays NaN and
    does not leak into its neighbours); `sigma_px` 0 returns the map."""
    if sigma_px <= 0:
        return values
    from scipy import ndimage

    finite = np.isfinite(values)
    total = ndimage.gaussian_filter(np.where(finite, values, 0.0), sigma_px)
    weight = ndimage.gaussian_filter(finite.astype(float), sigma_px)
    return np.where(finite, total / np.maximum(weight, 1e-12), np.nan)


def resample_onto_face(
    values: np.ndarray,
    face_shape: tuple[int, int],
    geometry: tuple[list[int], int, float] | None,
    map_voxel_size_um: float | None,
    source: object,
) -> np.ndarray:
    """The measured map `values` on the face grid (see the module docstring); a map of the
    face's own shape without a geometry is taken as it is. InputError when the map does not
    cover the window."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise InputError(source, f"a measured map is 2D, got shape {values.shape}")
    if geometry is None:
        if tuple(values.shape) != tuple(face_shape):
            raise InputError(source, f"map of shape {values.shape} for a face of {face_shape} "
                             "and a volume without meso extract provenance (offsets)")  # fmt: skip
        return values
    (o0, o1), factor, source_voxel = geometry
    n0, n1 = face_shape
    map_voxel = source_voxel if map_voxel_size_um is None else float(map_voxel_size_um)
    if np.isclose(map_voxel, source_voxel, rtol=1e-6):
        if o0 + n0 * factor > values.shape[0] or o1 + n1 * factor > values.shape[1]:
            raise InputError(source, f"map of shape {values.shape} does not cover the window "
                             f"(offset {o0}, {o1}, {n0 * factor} x {n1 * factor} voxels)")  # fmt: skip
        window = values[o0 : o0 + n0 * factor, o1 : o1 + n1 * factor]
        blocks = window.reshape(n0, factor, n1, factor).transpose(0, 2, 1, 3).reshape(n0, n1, -1)
        finite = np.isfinite(blocks)
        count = finite.sum(axis=-1)
        total = np.where(finite, blocks, 0.0).sum(axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    from scipy import ndimage

    scale = factor * source_voxel / map_voxel
    centres = [((o + (np.arange(n) + 0.5) * factor) * source_voxel) / map_voxel - 0.5
               for o, n in ((o0, n0), (o1, n1))]  # fmt: skip
    hi = [c.max() for c in centres]
    if min(c.min() for c in centres) < -0.5 or hi[0] > values.shape[0] - 0.5 or \
            hi[1] > values.shape[1] - 0.5:  # fmt: skip
        raise InputError(source, f"map of shape {values.shape} at {map_voxel} um does not "
                         f"cover the window ({n0} x {n1} pixels of {scale * map_voxel} um)")  # fmt: skip
    grid = np.meshgrid(*centres, indexing="ij")
    finite = np.isfinite(values)
    weight = ndimage.map_coordinates(finite.astype(float), grid, order=1, mode="nearest")
    total = ndimage.map_coordinates(np.where(finite, values, 0.0), grid, order=1, mode="nearest")
    return np.where(weight > 0.5, total / np.maximum(weight, 1e-12), np.nan)


def correlations(predicted: np.ndarray, measured: np.ndarray) -> dict[str, Any]:
    """Pearson r and Spearman rho (with p-values) of |predicted| and |measured| over the pixels
    where both are finite; None with a reason where fewer than 3 pixels or a constant map."""
    from scipy import stats

    ok = np.isfinite(predicted) & np.isfinite(measured)
    x, y = np.abs(predicted[ok]), np.abs(measured[ok])
    result: dict[str, Any] = {"pixels": int(ok.sum())}
    if ok.sum() < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        reason = "fewer than 3 pixels" if ok.sum() < 3 else "a constant map"
        return result | {"pearson_r": None, "pearson_p": None, "spearman_rho": None,
                         "spearman_p": None, "reason": reason}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pearson = stats.pearsonr(x, y)
        spearman = stats.spearmanr(x, y)
    return result | {"pearson_r": float(pearson[0]), "pearson_p": float(pearson[1]),
                     "spearman_rho": float(spearman[0]), "spearman_p": float(spearman[1])}  # fmt: skip


def measured_on_face(
    measured: list[MeasuredMap],
    face_shape: tuple[int, int],
    *,
    axis: int,
    voxel_size_um: float,
    provenance: dict[str, Any] | None,
    smooth_um: float = 0.0,
) -> list[dict[str, np.ndarray]]:
    """Each measured map, smoothed by a Gaussian of `smooth_um` (sigma, at the map's own pixel)
    and resampled onto the face grid ({"bottom", "top"} in uA/cm^2); an InputError naming the
    file for a map of another cell axis or one that misses the window (cheap: call before the
    solve)."""
    geometry = source_geometry(provenance, axis, voxel_size_um)
    resampled = []
    for item in measured:
        pixel_um = item.voxel_size_um or (geometry[2] if geometry else voxel_size_um)
        maps = {f: smooth_map(np.asarray(item.maps[f], float), smooth_um / pixel_um)
                for f in FACES}  # fmt: skip
        cell_axis = item.details.get("cell_axis")
        if cell_axis and cell_axis != AXES[axis]:
            raise InputError(item.source, f"maps over the faces normal to {cell_axis}; the "
                             f"solve runs along {AXES[axis]}")  # fmt: skip
        resampled.append({f: resample_onto_face(maps[f], face_shape, geometry,
                                                item.voxel_size_um, item.source)
                          for f in FACES})  # fmt: skip
    return resampled


def compare_with_measured(
    predicted: dict[str, np.ndarray],
    measured: list[MeasuredMap],
    resampled: list[dict[str, np.ndarray]],
) -> list[dict[str, Any]]:
    """JSON entries: per measured map and face, the correlations (``correlations``) of the
    predicted map (A/m^2, NaN off contact) with the resampled measured one."""
    return [{"source": item.source, "kind": item.kind, **item.details,
             "faces": {f: correlations(predicted[f], maps[f]) for f in FACES}}
            for item, maps in zip(measured, resampled, strict=True)]  # fmt: skip


def comparison_png(
    predicted: dict[str, np.ndarray],
    measured: list[MeasuredMap],
    resampled: list[dict[str, np.ndarray]],
    entries: list[dict[str, Any]],
    *,
    axis: int,
    voxel_size_um: float,
    target: Path,
) -> Path:
    """Side by side per face (rows): the predicted map over its mean, then each measured map
    (|j| in uA/cm^2) on the same face grid, in um with unit colorbars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from meso.io.figures import show_plane

    names = tuple(AXES[b] for b in range(3) if b != axis)
    columns = 1 + len(measured)
    fig, axes = plt.subplots(2, columns, figsize=(4.2 * columns, 7), layout="constrained",
                             squeeze=False)  # fmt: skip
    for row, face in enumerate(FACES):
        j = predicted[face]
        mean = np.nanmean(j) if np.isfinite(j).any() else np.nan
        show_plane(axes[row, 0], j / mean, names, voxel_size_um, "predicted j / mean (1)",
                   cmap="inferno")  # fmt: skip
        axes[row, 0].set_title(f"{face}: predicted (blank: no contact)", fontsize=9)
        for col, (item, maps, entry) in enumerate(zip(measured, resampled, entries,
                                                      strict=True), start=1):  # fmt: skip
            show_plane(axes[row, col], np.abs(maps[face]), names, voxel_size_um,
                       "|j| (uA/cm$^2$)", cmap="inferno")  # fmt: skip
            c = entry["faces"][face]
            stats = ("r = n/a" if c["pearson_r"] is None else
                     f"r = {c['pearson_r']:.2f}, rho = {c['spearman_rho']:.2f}")  # fmt: skip
            axes[row, col].set_title(f"{face}: {item.label} ({stats})", fontsize=9)
    fig.suptitle("interfacial current density: predicted vs measured (correlations over the "
                 "contact)", fontsize=10)  # fmt: skip
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return target


__all__ = ["MeasuredMap", "compare_with_measured", "comparison_png", "correlations",
           "measured_on_face", "resample_onto_face", "smooth_map", "source_geometry"]  # fmt: skip
