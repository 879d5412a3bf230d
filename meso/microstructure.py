"""The Microstructure type: a labelled voxel volume (axes x, y, z) with voxel size, phases and provenance."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from meso.errors import InputError

DEFAULT_PHASES: dict[str, int] = {
    "pore": 0,
    "grain": 1,
    "grain_boundary": 2,
    "lithium": 3,
    "collector": 4,
}
AXES = ("x", "y", "z")


def axis_index(axis: str | int) -> int:
    """Return 0, 1 or 2 for "x", "y", "z" (or the integer itself)."""
    if isinstance(axis, int | np.integer) and 0 <= int(axis) <= 2:
        return int(axis)
    if isinstance(axis, str) and axis.lower() in AXES:
        return AXES.index(axis.lower())
    raise InputError("axis", f"unknown axis {axis!r}; expected one of x, y, z")


def as_labels(data: Any, source: object, phases: dict[str, int] | None = None) -> np.ndarray:
    """Validate an array as a 3D uint8 label volume; raise InputError naming `source` otherwise.

    A boolean volume means True = solid LLZO (label 1). Float arrays are accepted only when every
    value is a finite integer (TIFF stacks are often saved as float).
    """
    phases = DEFAULT_PHASES if phases is None else phases
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise InputError(
            source, f"expected a 3D volume (x, y, z), got {arr.ndim}D shape {arr.shape}"
        )
    if arr.size == 0:
        raise InputError(source, f"the volume is empty (shape {arr.shape})")
    if arr.dtype == bool:
        return arr.astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise InputError(source, "the volume contains NaN or infinite values")
        if not np.all(arr == np.round(arr)):
            raise InputError(source, "the volume has non-integer values; expected phase labels")
    elif not np.issubdtype(arr.dtype, np.integer):
        raise InputError(source, f"unsupported data type {arr.dtype}; expected integer labels")
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi > 255:
        raise InputError(source, f"labels must lie in 0..255, found {lo}..{hi}")
    labels = arr.astype(np.uint8, copy=False)
    unknown = sorted(set(np.unique(labels).tolist()) - set(phases.values()))
    if unknown:
        known = ", ".join(f"{v}={k}" for k, v in sorted(phases.items(), key=lambda kv: kv[1]))
        raise InputError(source, f"unknown phase labels {unknown}; known: {known}")
    return labels


@dataclass
class Microstructure:
    """A segmented or synthetic volume: uint8 phase labels on a regular grid.

    Axes 0, 1, 2 are x, y, z. ``voxel_size_um`` is the edge of a cubic voxel in micrometres.
    ``phases`` maps phase names to labels (see ``DEFAULT_PHASES``); ``cell_axis`` is the
    Li|SE|Li stacking direction; ``metadata`` records provenance (file, generator, seed, ...).

    Examples
    --------
    >>> import numpy as np
    >>> m = Microstructure(np.ones((4, 4, 4), np.uint8), voxel_size_um=0.5)
    >>> m.volume_fractions()
    {'grain': 1.0}
    """

    labels: np.ndarray
    voxel_size_um: float = 1.0
    phases: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PHASES))
    cell_axis: str = "x"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        source = self.metadata.get("source", "volume")
        self.phases = {str(k): int(v) for k, v in self.phases.items()}
        if len(set(self.phases.values())) != len(self.phases):
            raise InputError(source, f"phase labels are not unique: {self.phases}")
        self.labels = as_labels(self.labels, source, self.phases)
        try:
            size = float(self.voxel_size_um)
        except (TypeError, ValueError):
            raise InputError(source, f"voxel size {self.voxel_size_um!r} is not a number") from None
        if not (math.isfinite(size) and size > 0):
            raise InputError(source, f"voxel size must be a positive number of um, got {size}")
        self.voxel_size_um = size
        self.cell_axis = AXES[axis_index(self.cell_axis)]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.labels.shape)  # type: ignore[return-value]

    @property
    def voxel_size_m(self) -> float:
        return self.voxel_size_um * 1e-6

    def phase_name(self, label: int) -> str:
        for name, value in self.phases.items():
            if value == label:
                return name
        return f"label_{label}"

    def volume_fractions(self) -> dict[str, float]:
        """Volume fraction of every phase present, keyed by phase name."""
        counts = np.bincount(self.labels.ravel(), minlength=256)
        total = self.labels.size
        return {self.phase_name(lab): float(counts[lab] / total) for lab in np.flatnonzero(counts)}

    def with_labels(self, labels: np.ndarray, **metadata: Any) -> Microstructure:
        """A copy with new labels (same voxel size, phases, cell axis) and extra metadata."""
        return Microstructure(
            labels,
            self.voxel_size_um,
            dict(self.phases),
            self.cell_axis,
            {**self.metadata, **metadata},
        )

    def crop(self, start: tuple[int, int, int], stop: tuple[int, int, int]) -> Microstructure:
        """The sub-volume ``labels[start[0]:stop[0], ...]`` (voxel indices, stop exclusive)."""
        if len(start) != 3 or len(stop) != 3:
            raise InputError("crop", "start and stop need three indices (x, y, z)")
        for a, (lo, hi, n) in enumerate(zip(start, stop, self.shape, strict=True)):
            if not 0 <= lo < hi <= n:
                raise InputError("crop", f"range {lo}:{hi} is outside axis {AXES[a]} of size {n}")
        window = tuple(slice(lo, hi) for lo, hi in zip(start, stop, strict=True))
        return self.with_labels(self.labels[window].copy(), crop=[list(start), list(stop)])

    def downsample(self, factor: int) -> Microstructure:
        """Coarsen by an integer factor per axis; each coarse voxel takes the majority label.

        Trailing voxels that do not fill a whole block are dropped. Ties go to the lowest label.
        """
        factor = int(factor)
        if factor < 1:
            raise InputError("downsample", f"factor must be a positive integer, got {factor}")
        if factor == 1:
            return self.with_labels(self.labels.copy())
        n = [s // factor for s in self.shape]
        if min(n) == 0:
            raise InputError("downsample", f"factor {factor} is larger than the shape {self.shape}")
        trimmed = self.labels[: n[0] * factor, : n[1] * factor, : n[2] * factor]
        blocks = trimmed.reshape(n[0], factor, n[1], factor, n[2], factor)
        blocks = blocks.transpose(0, 2, 4, 1, 3, 5).reshape(*n, factor**3)
        from scipy import stats  # imported here: scipy.stats adds ~0.5 s to every CLI start

        majority = stats.mode(blocks, axis=-1, keepdims=False).mode.astype(np.uint8)
        coarse = self.with_labels(majority, downsample_factor=factor)
        coarse.voxel_size_um = self.voxel_size_um * factor
        return coarse

    def solid_mask(self) -> np.ndarray:
        """True where the voxel is not pore (label of phase "pore", default 0)."""
        return self.labels != self.phases.get("pore", 0)

    def require_solid(self) -> None:
        """Raise InputError when the volume holds no solid voxel at all."""
        if not self.solid_mask().any():
            source = self.metadata.get("source", "volume")
            raise InputError(source, "the volume is all pore (no solid voxel to compute on)")
