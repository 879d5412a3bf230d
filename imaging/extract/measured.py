"""Measured interfacial current-density maps for `meso hotspot --measured`: from `meso quantify`'s
quantify.h5, from a virtual cell's Data Exchange file (its ground truth) or from a 2D .npy."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meso.errors import InputError
from meso.studies.hotspot_measured import MeasuredMap

QUANTIFY = "electrodes/{face}/current_density_uA_per_cm2"
TRUTH = "/ground_truth/current_density_uA_per_cm2"


def _quantify(fh, path: Path, step: int | None) -> MeasuredMap:
    stacks = {face: fh[QUANTIFY.format(face=face)] for face in ("bottom", "top")}
    intervals = stacks["bottom"].shape[0]
    if intervals == 0:
        raise InputError(path, "holds no current-density map (one step only)")
    if step is None:
        if intervals > 1:
            raise InputError(path, f"holds {intervals} intervals between steps: choose one "
                             f"with --step 0..{intervals - 1}")  # fmt: skip
        step = 0
    if not 0 <= step < intervals:
        raise InputError(path, f"--step {step} is not one of its intervals 0..{intervals - 1}")
    times = np.asarray(fh.attrs.get("times_hours", []), float)
    details = {"step": int(step), "cell_axis": str(fh.attrs.get("cell_axis", ""))}
    if len(times) > step + 1:
        details["hours"] = [float(times[step]), float(times[step + 1])]
    return MeasuredMap(str(path), "quantify", {f: s[step][...] for f, s in stacks.items()},
                       float(fh.attrs["voxel_size_um"]), details)  # fmt: skip


def _truth(fh, path: Path) -> MeasuredMap:
    values = fh[TRUTH][...]
    if not np.any(values):
        raise InputError(path, "its true current density is zero everywhere (a step "
                         "without current, e.g. the pristine scan)")  # fmt: skip
    voxel = fh.attrs.get("pixel_size_um")
    details = {
        "step": str(fh.attrs.get("step", "")),
        "cell_axis": str(fh.attrs.get("cell_axis", "")),
    }
    return MeasuredMap(str(path), "ground_truth", {"bottom": values, "top": values},
                       None if voxel is None else float(voxel), details)  # fmt: skip


def read_measured(path: str | Path, step: int | None = None) -> MeasuredMap:
    """The measured map in `path`: quantify.h5 (interval `step`, required when it holds more
    than one; other files ignore `step`), a Data Exchange file with the virtual cell's
    ``/ground_truth/current_density_uA_per_cm2`` (the same map on both faces) or a 2D .npy
    (uA/cm^2, both faces, at the subvolume's source voxel size). InputError naming the file for
    anything else."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    if path.suffix.lower() == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise InputError(path, f"not a readable .npy map ({error})") from None
        if values.ndim != 2 or values.dtype.kind not in "biuf":
            raise InputError(path, f"a measured map is a 2D numeric array, got {values.dtype} "
                             f"of shape {values.shape}")  # fmt: skip
        return MeasuredMap(str(path), "map", {"bottom": values, "top": values})
    import h5py

    try:
        fh = h5py.File(path, "r")
    except OSError as error:
        raise InputError(path, f"not a readable .h5 file ({error})") from None
    with fh:
        if QUANTIFY.format(face="bottom") in fh and QUANTIFY.format(face="top") in fh:
            return _quantify(fh, path, step)
        if TRUTH in fh:
            return _truth(fh, path)
    raise InputError(path, f"holds neither {QUANTIFY.format(face='{top,bottom}')} (meso "
                     f"quantify) nor {TRUTH} (meso phantom)")  # fmt: skip


__all__ = ["read_measured"]
