"""Projection readers (Data Exchange HDF5, TIFF stacks) that hand out detector-row slabs, and a writer."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import tifffile

from meso.errors import InputError
from meso.io.atomic import atomic_path

DXCHANGE_PATHS = {
    "data": "/exchange/data",
    "white": "/exchange/data_white",
    "dark": "/exchange/data_dark",
    "theta": "/exchange/theta",
}


@dataclass
class ProjectionSource:
    """Projections (angle, row, column) that are read a slab of detector rows at a time.

    ``data`` may be an open h5py dataset or a numpy array; flats and darks are small and held in
    memory as (n, row, column) arrays (darks may be None). ``theta_deg`` are the projection angles.
    """

    path: Path
    data: Any
    flats: np.ndarray
    darks: np.ndarray | None
    theta_deg: np.ndarray
    pixel_size_um: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    _file: Any = None

    @property
    def n_angles(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_rows(self) -> int:
        return int(self.data.shape[1])

    @property
    def n_columns(self) -> int:
        return int(self.data.shape[2])

    def read_rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Projections, flats and darks of detector rows [start, stop) as float32 arrays."""
        if not 0 <= start < stop <= self.n_rows:
            raise InputError(
                self.path, f"rows {start}:{stop} outside the detector's 0:{self.n_rows}"
            )
        proj = np.asarray(self.data[:, start:stop, :], dtype=np.float32)
        flats = self.flats[:, start:stop, :]
        darks = None if self.darks is None else self.darks[:, start:stop, :]
        return proj, flats, darks

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ProjectionSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_stack(path: Path, name: str, arr: Any, n_rows: int, n_columns: int) -> None:
    if arr.ndim != 3 or arr.shape[1:] != (n_rows, n_columns):
        raise InputError(path, f"{name} has shape {arr.shape}, expected (n, {n_rows}, {n_columns})")


def open_dxchange(
    path: str | os.PathLike,
    *,
    data_path: str = DXCHANGE_PATHS["data"],
    white_path: str = DXCHANGE_PATHS["white"],
    dark_path: str = DXCHANGE_PATHS["dark"],
    theta_path: str = DXCHANGE_PATHS["theta"],
    theta_deg: np.ndarray | None = None,
) -> ProjectionSource:
    """Open a Data Exchange HDF5 file; projections stay on disk and are read slab by slab.

    Parameters
    ----------
    path : Data Exchange .h5 file.
    data_path, white_path, dark_path, theta_path : dataset paths inside the file (theta in degrees).
    theta_deg : angles to use when the file has none (default: evenly over 180 degrees, with a warning
        in the source's attrs).

    Examples
    --------
    >>> with open_dxchange("tooth.h5") as src:            # doctest: +SKIP
    ...     proj, flats, darks = src.read_rows(0, 2)
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file ({exc})") from None
    try:
        if data_path not in fh:
            raise InputError(path, f"no projection dataset {data_path!r}; use --data-path")
        data = fh[data_path]
        if data.ndim != 3:
            raise InputError(
                path, f"{data_path} has shape {data.shape}, expected (angle, row, col)"
            )
        _, n_rows, n_cols = data.shape
        if white_path not in fh:
            raise InputError(path, f"no flat-field dataset {white_path!r}; use --white-path")
        flats = np.asarray(fh[white_path][()], dtype=np.float32)
        _check_stack(path, white_path, flats, n_rows, n_cols)
        darks = None
        if dark_path in fh:
            darks = np.asarray(fh[dark_path][()], dtype=np.float32)
            _check_stack(path, dark_path, darks, n_rows, n_cols)
        attrs: dict[str, Any] = {}
        if theta_deg is None and theta_path in fh:
            theta_deg = np.asarray(fh[theta_path][()], dtype=np.float64).ravel()
        elif theta_deg is None:
            theta_deg = np.linspace(0.0, 180.0, data.shape[0], endpoint=False)
            attrs["theta_note"] = f"no {theta_path}; assumed evenly spaced over [0, 180) degrees"
        theta_deg = np.asarray(theta_deg, dtype=np.float64)
        if theta_deg.shape != (data.shape[0],) or not np.all(np.isfinite(theta_deg)):
            raise InputError(
                path, f"{theta_path} has {theta_deg.size} finite angles? expected {data.shape[0]}"
            )
        # (Data Exchange's /measurement/instrument/detector/pixel_size_x has no fixed unit, so
        # only our own file attribute pixel_size_um is trusted; otherwise the user gives it.)
        pixel_um = None
        for key in ("energy_kev", "distance_m", "pixel_size_um", "time_hours", "hours"):
            if key in fh.attrs:
                attrs[key] = float(fh.attrs[key])
        # a cycling scan's step and cell axis (meso phantom writes them) travel to the volume
        for key in ("step", "cell_axis"):
            if key in fh.attrs:
                value = fh.attrs[key]
                attrs[key] = value.decode() if isinstance(value, bytes) else str(value)
        if "pixel_size_um" in attrs:
            pixel_um = attrs["pixel_size_um"]
    except Exception:
        fh.close()
        raise
    return ProjectionSource(path, data, flats, darks, theta_deg, pixel_um, attrs, fh)


def read_tiff_projections(
    projections: str | os.PathLike,
    flats: str | os.PathLike,
    darks: str | os.PathLike | None = None,
    *,
    theta_deg: np.ndarray | None = None,
) -> ProjectionSource:
    """Read projections from a multi-page TIFF or a folder of single-image TIFFs (sorted by name).

    Pages (or files) are angles; each image is (row, column). Flats and darks are given the same way.
    The projections are memory-mapped where tifffile can, else read whole.
    """

    def read(p: str | os.PathLike, what: str) -> np.ndarray:
        p = Path(p)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".tif", ".tiff"))
            if not files:
                raise InputError(p, f"folder holds no .tif files for the {what}")
            return np.stack([tifffile.imread(f) for f in files])
        if not p.is_file():
            raise InputError(p, f"no such file ({what})")
        try:
            try:
                arr = tifffile.memmap(p, mode="r")
            except ValueError:  # compressed or tiled pages cannot be memory-mapped
                arr = tifffile.imread(p)
        except (tifffile.TiffFileError, OSError) as exc:
            raise InputError(p, f"not a readable TIFF ({exc})") from None
        return arr[None] if arr.ndim == 2 else arr

    data = read(projections, "projections")
    if data.ndim != 3:
        raise InputError(
            projections, f"projection images have shape {data.shape[1:]}, expected 2-D"
        )
    flat = np.asarray(read(flats, "flat fields"), dtype=np.float32)
    _check_stack(Path(flats), "flat fields", flat, *data.shape[1:])
    dark = None
    if darks is not None:
        dark = np.asarray(read(darks, "dark fields"), dtype=np.float32)
        _check_stack(Path(darks), "dark fields", dark, *data.shape[1:])
    if theta_deg is None:
        theta_deg = np.linspace(0.0, 180.0, data.shape[0], endpoint=False)
    theta_deg = np.asarray(theta_deg, dtype=np.float64)
    if theta_deg.shape != (data.shape[0],):
        raise InputError(
            projections, f"{theta_deg.size} angles given for {data.shape[0]} projections"
        )
    return ProjectionSource(Path(projections), data, flat, dark, theta_deg)


def write_dxchange(
    path: str | os.PathLike,
    data: np.ndarray,
    flats: np.ndarray,
    darks: np.ndarray,
    theta_deg: np.ndarray,
    *,
    extra: dict[str, np.ndarray] | None = None,
    attrs: dict[str, Any] | None = None,
) -> Path:
    """Write projections, flats, darks and angles in the Data Exchange layout, atomically.

    ``extra`` maps dataset paths (e.g. "/ground_truth/labels") to arrays stored beside them;
    ``attrs`` become file attributes (numbers or strings), e.g. energy_kev, distance_m, pixel_size_um.
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as fh:
        fh.create_dataset(
            DXCHANGE_PATHS["data"], data=data, chunks=(data.shape[0], 1, data.shape[2])
        )
        fh.create_dataset(DXCHANGE_PATHS["white"], data=flats)
        fh.create_dataset(DXCHANGE_PATHS["dark"], data=darks)
        fh.create_dataset(DXCHANGE_PATHS["theta"], data=np.asarray(theta_deg, np.float64))
        fh.attrs["implements"] = "exchange:measurement"
        for name, value in (extra or {}).items():
            fh.create_dataset(name, data=value, compression="gzip", compression_opts=1)
        for key, value in (attrs or {}).items():
            fh.attrs[key] = value
    return Path(path)
