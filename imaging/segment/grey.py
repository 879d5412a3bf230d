"""Read reconstructed (grey) volumes slice by slice from .h5/.zarr/.tif/.npy/.npz without loading them whole."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from meso.errors import InputError
from meso.microstructure import AXES

GREY_SUFFIXES = (".h5", ".hdf5", ".zarr", ".tif", ".tiff", ".npy", ".npz")
DEFAULT_DATASETS = ("volume", "labels")


@dataclass
class GreyVolume:
    """A 3-D float volume (x, y, z) on disk: ``array`` supports numpy slicing and reads only what
    is asked for (h5py / zarr / memory-mapped .npy and .tif; .npz is read whole).

    ``cell_axis`` comes from the file's attributes, else from a ``reconstruct.json`` beside it
    (the scan's attributes, written by `meso reconstruct`), else None.
    """

    path: Path
    array: Any
    voxel_size_um: float
    cell_axis: str | None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.array.shape)  # type: ignore[return-value]

    def slab(self, axis: int, start: int, stop: int) -> np.ndarray:
        """Slices [start, stop) along `axis`, as float32 with that axis first: (n, a, b)."""
        index: list[Any] = [slice(None)] * 3
        index[axis] = slice(start, stop)
        block = np.asarray(self.array[tuple(index)], np.float32)
        block = np.moveaxis(block, axis, 0)
        if not np.isfinite(block).all():
            raise InputError(self.path, f"non-finite values in slices {start}:{stop}")
        return block

    def read(self) -> np.ndarray:
        """The whole volume in memory (float32)."""
        return self.slab(0, 0, self.shape[0])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _cell_axis(attrs: dict[str, Any], path: Path) -> str | None:
    """The file's own cell_axis attribute, else the one of the scan that `meso reconstruct`
    made it from (reconstruct.json beside it names the scan; the phantom's scans carry one)."""
    if "cell_axis" in attrs:
        return _text(attrs["cell_axis"])
    record_path = path.with_name("reconstruct.json")
    if not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text())
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict) or Path(str(record.get("output", ""))).name != path.name:
        return None
    axis = (record.get("source_attrs") or {}).get("cell_axis")
    scan = Path(str(record.get("input", "")))
    if not scan.is_absolute() and not scan.is_file():
        scan = record_path.parent / scan
    if axis is None and scan.suffix in (".h5", ".hdf5") and scan.is_file():
        import h5py

        try:
            with h5py.File(scan, "r") as fh:
                axis = fh.attrs.get("cell_axis")
        except OSError:
            return None
    axis = _text(axis) if axis is not None else None
    return axis if axis in AXES else None


def _pick(names: list[str], dataset: str | None, path: Path) -> str:
    if dataset is not None:
        if dataset not in names:
            raise InputError(path, f"no dataset {dataset!r} (has {names[:8]}); use --dataset")
        return dataset
    for name in DEFAULT_DATASETS:
        if name in names:
            return name
    if len(names) == 1:
        return names[0]
    raise InputError(path, f"cannot tell which array is the volume: {names[:8]}; use --dataset")


@contextmanager
def open_grey(
    path: str | os.PathLike, *, dataset: str | None = None, voxel_size_um: float | None = None
) -> Iterator[GreyVolume]:
    """Open a reconstruction for slice-wise reading (dataset "volume" by default, as
    `meso reconstruct` writes it; a label volume's "labels" also works)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in GREY_SUFFIXES:
        raise InputError(
            path, f"unsupported volume format {suffix}; use {', '.join(GREY_SUFFIXES)}"
        )
    if not path.exists():
        raise InputError(path, "no such file")
    handle = None
    try:
        if suffix in (".h5", ".hdf5"):
            import h5py

            handle = h5py.File(path, "r")
            names: list[str] = []
            handle.visititems(
                lambda n, o: (
                    names.append(n) if isinstance(o, h5py.Dataset) and o.ndim == 3 else None
                )
            )
            array = handle[_pick(names, dataset, path)]
            attrs = dict(array.attrs)
        elif suffix == ".zarr":
            import zarr

            group = zarr.open(str(path), mode="r")
            if hasattr(group, "array_keys"):
                array = group[_pick(list(group.array_keys()), dataset, path)]
            else:
                array = group
            attrs = dict(array.attrs)
        elif suffix in (".tif", ".tiff"):
            import tifffile

            array = tifffile.memmap(path, mode="r")
            with tifffile.TiffFile(path) as tif:
                attrs = dict(tif.shaped_metadata[0]) if tif.shaped_metadata else {}
        elif suffix == ".npy":
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            attrs = {}
        else:
            with np.load(path, allow_pickle=False) as z:
                name = _pick([n for n in z.files if z[n].ndim == 3], dataset, path)
                array = z[name]
                attrs = {k: z[k][()] for k in ("voxel_size_um", "cell_axis") if k in z}
    except InputError:
        if handle is not None:
            handle.close()
        raise
    except (OSError, ValueError, KeyError) as exc:
        if handle is not None:
            handle.close()
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"cannot read volume ({problem})") from None
    try:
        if getattr(array, "ndim", 0) != 3:
            raise InputError(
                path, f"expected a 3-D volume, got shape {getattr(array, 'shape', '?')}"
            )
        size = voxel_size_um if voxel_size_um is not None else attrs.get("voxel_size_um", 1.0)
        size = float(np.asarray(size))
        if not (np.isfinite(size) and size > 0):
            raise InputError(path, f"voxel size must be positive, got {size}")
        yield GreyVolume(path, array, size, _cell_axis(attrs, path), attrs)
    finally:
        if handle is not None:
            handle.close()


def read_grey(path: str | os.PathLike, **kwargs: Any) -> tuple[np.ndarray, GreyVolume]:
    """The whole volume in memory and its description (for methods that need all of it)."""
    with open_grey(path, **kwargs) as grey:
        return grey.read(), grey
