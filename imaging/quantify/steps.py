"""Reading the cycling steps (reconstructions and/or labels), their times, voxel size and cell axis, checked."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from meso.errors import InputError
from meso.io.volumes import load
from meso.microstructure import AXES, axis_index

GREY_DATASET = "volume"  # what `meso reconstruct` writes


@dataclass
class StepVolumes:
    """One cycling step, cell axis moved last: (lateral a, lateral b, cell axis)."""

    name: str
    grey: np.ndarray | None
    labels: np.ndarray | None
    time_hours: float | None


@dataclass
class StepStack:
    """The steps in order, with what they share (voxel size, cell axis, lateral axis names)."""

    steps: list[StepVolumes]
    voxel_size_um: float
    cell_axis: str
    lateral_axes: tuple[str, str]
    times_hours: list[float] | None
    times_from: str
    files: list[dict[str, str | None]]

    @property
    def shape(self) -> tuple[int, int, int]:
        first = self.steps[0]
        return (first.grey if first.grey is not None else first.labels).shape


def _is_grey(path: Path) -> bool:
    """True for a reconstruction (an .h5/.zarr holding `volume`), False for a label volume."""
    if path.suffix == ".zarr" or path.is_dir():
        return True
    if path.suffix in (".h5", ".hdf5"):
        try:
            with h5py.File(path, "r") as fh:
                return GREY_DATASET in fh
        except OSError as exc:
            raise InputError(path, f"cannot read .h5 file ({exc})") from None
    return False


def _read_grey(path: Path) -> tuple[np.ndarray, dict]:
    try:
        if path.suffix == ".zarr" or path.is_dir():
            import zarr

            dataset = zarr.open_group(str(path), mode="r")[GREY_DATASET]
            return np.asarray(dataset[...], np.float32), dict(dataset.attrs)
        with h5py.File(path, "r") as fh:
            dataset = fh[GREY_DATASET]
            return np.asarray(dataset[()], np.float32), dict(dataset.attrs)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(path, f"cannot read the reconstruction ({exc})") from None


def _reconstruct_record(path: Path) -> dict:
    """`reconstruct.json` beside a volume, when it describes that volume (it records the scan's
    attributes, where the virtual cell puts each step's time)."""
    record = path.parent / "reconstruct.json"
    if not record.is_file():
        return {}
    try:
        data = json.loads(record.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    if Path(str(data.get("output", ""))).name != path.name:
        return {}
    return data


def _float_or_none(value) -> float | None:
    try:
        value = float(np.asarray(value))
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _step_name(path: Path, attrs: dict, micro) -> str:
    """The scan's step name (a `meso reconstruct` volume or a phantom label file carries it),
    else the file's stem."""
    name = attrs.get("step") or (micro.metadata.get("step") if micro is not None else None)
    name = name.decode() if isinstance(name, bytes) else name
    return str(name) if name else path.stem


def load_steps(
    paths: Sequence[str | Path],
    *,
    labels: Sequence[str | Path] | None = None,
    times_hours: Sequence[float] | None = None,
    cell_axis: str | None = None,
    voxel_size_um: float | None = None,
) -> StepStack:
    """Read and check every step: same shape and voxel size throughout, labels matching their
    reconstruction, times increasing; any disagreement is an InputError naming the file.

    `paths` are reconstructions (`meso reconstruct` .h5/.zarr) or label volumes (then they are
    the labels); `labels` optionally gives one label volume per reconstruction. Times come from
    `times_hours` when given, else from the files (the volume's attribute `time_hours`, which
    `meso reconstruct` copies from the scan, a label file's metadata, or the `reconstruct.json`
    beside a volume); the cell axis from `cell_axis`, else a label file's, else a volume's
    attribute, else z (the rotation axis of a tomography scan).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("STEP", "give at least one step")
    if labels is not None and len(labels) != len(paths):
        raise InputError("--labels", f"{len(labels)} label files for {len(paths)} steps")
    if times_hours is not None and len(times_hours) != len(paths):
        raise InputError("--times-hours", f"{len(times_hours)} times for {len(paths)} steps")
    if voxel_size_um is not None and not (math.isfinite(voxel_size_um) and voxel_size_um > 0):
        raise InputError("--voxel-size", f"must be a positive number of um, got {voxel_size_um}")
    if cell_axis is not None and cell_axis not in AXES:
        raise InputError("--cell-axis", f"must be one of x, y, z, got {cell_axis!r}")
    raw = []
    for index, path in enumerate(paths):
        if not path.exists():
            raise InputError(path, "no such file")
        grey = attrs = micro = None
        if _is_grey(path):
            grey, attrs = _read_grey(path)
            if grey.ndim != 3:
                raise InputError(path, f"expected a 3D volume, got shape {grey.shape}")
            if not np.isfinite(grey).all():
                raise InputError(path, "the reconstruction holds NaN or inf")
            label_path = Path(labels[index]) if labels is not None else None
            if label_path is not None:
                micro = load(label_path)
                if micro.labels.shape != grey.shape:
                    raise InputError(
                        label_path,
                        f"labels of shape {micro.labels.shape} do not match the reconstruction "
                        f"{path.name} of shape {grey.shape}",
                    )
        else:
            if labels is not None:
                raise InputError(path, "is a label volume; --labels goes with reconstructions")
            label_path = path
            micro = load(path)
        raw.append((path, label_path, grey, attrs or {}, micro))

    # voxel size: the option, else the files (a reconstruction in 1/pixel has none)
    sizes = []
    for path, label_path, grey, attrs, micro in raw:
        if micro is not None:
            sizes.append((label_path, micro.voxel_size_um))
        if grey is not None and str(attrs.get("units", "")) == "1/m":
            sizes.append((path, float(attrs["voxel_size_um"])))
        elif grey is not None and voxel_size_um is None and micro is None:
            raise InputError(
                path, "the reconstruction has no voxel size (1/pixel): give --voxel-size"
            )
    if voxel_size_um is None:
        first_path, first = sizes[0]
        for path, size in sizes[1:]:
            if not math.isclose(size, first, rel_tol=1e-6):
                raise InputError(
                    path, f"voxel size {size:g} um differs from {first:g} um of {first_path.name}"
                )
        voxel_size_um = first

    shapes = [(p, (g if g is not None else m.labels).shape) for p, _, g, _, m in raw]
    for path, shape in shapes[1:]:
        if shape != shapes[0][1]:
            raise InputError(
                path, f"shape {shape} differs from {shapes[0][1]} of {shapes[0][0].name}"
            )

    if cell_axis is None:
        cell_axis = next((m.cell_axis for *_, m in raw if m is not None), None)
    if cell_axis is None:  # the scan's, which `meso reconstruct` copies to the volume
        found_axes = [str(a.get("cell_axis", "")) for _, _, g, a, _ in raw if g is not None]
        cell_axis = next((a for a in found_axes if a in AXES), "z")
    axis = axis_index(cell_axis)
    lateral = tuple(a for a in AXES if a != cell_axis)

    found = []
    for path, _, grey, attrs, micro in raw:
        value = _float_or_none(attrs.get("time_hours"))
        if value is None and grey is not None:
            value = _float_or_none(
                _reconstruct_record(path).get("source_attrs", {}).get("time_hours")
            )
        if value is None and micro is not None:
            value = _float_or_none(micro.metadata.get("time_hours"))
        found.append(value)
    if times_hours is not None:
        times, times_from = [float(t) for t in times_hours], "--times-hours"
    elif all(t is not None for t in found):
        times, times_from = found, "file metadata (time_hours)"
    elif len(paths) == 1:
        times, times_from = None, "none (one step)"
    else:
        missing = paths[found.index(None)]
        raise InputError(missing, "records no time: give --times-hours")
    if times is not None:
        for k in range(1, len(times)):
            if not times[k] > times[k - 1]:
                raise InputError(
                    paths[k],
                    f"time {times[k]:g} h is not after {times[k - 1]:g} h of the step before",
                )

    steps = []
    for path, _, grey, attrs, micro in raw:
        steps.append(
            StepVolumes(
                name=_step_name(path, attrs, micro),
                grey=None if grey is None else np.moveaxis(grey, axis, -1),
                labels=None if micro is None else np.moveaxis(micro.labels, axis, -1),
                time_hours=None,
            )
        )
    for step, t in zip(steps, times or [None] * len(steps), strict=True):
        step.time_hours = t
    files = [
        {"step": str(p), "labels": None if lp is None or lp == p else str(lp)} for p, lp, *_ in raw
    ]
    return StepStack(steps, float(voxel_size_um), cell_axis, lateral, times, times_from, files)
