"""Out-of-core reconstruction: detector-row slabs in, volume slabs out to HDF5 or Zarr, bounded memory."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from tqdm import tqdm

from imaging.io_dxchange import ProjectionSource
from imaging.reconstruction.center import find_center
from imaging.reconstruction.phase import paganin, paganin_margin_rows
from imaging.reconstruction.preprocess import minus_log, normalize, remove_stripes
from imaging.reconstruction.slices import check_algorithm, reconstruct_slice
from meso.errors import InputError
from meso.io.atomic import atomic_path

VOLUME_DATASET = "volume"
OUTPUT_SUFFIXES = (".h5", ".hdf5", ".zarr")
SCAN_ATTRS = ("time_hours", "hours", "step", "cell_axis")  # copied from the scan to the volume


@dataclass
class ReconstructionSettings:
    """Every choice that shapes the reconstructed volume (all recorded in reconstruct.json).

    center : rotation axis in pixels, or None to find it automatically (Vo's method) on center_row.
    rows : detector rows [start, stop) to reconstruct (None: all); slab_rows rows are held at once.
    rings : "sorting", "fft", "wavelet", "all" or "none"; ring_options go to algotom's function.
    phase : Paganin retrieval when energy_kev, distance_m, pixel_size_um and delta_beta are given.
    pixel_size_um : scales the output to 1/m; without it the volume is in 1/pixel.
    """

    algorithm: str = "dfi"
    filter_name: str = "hann"
    center: float | None = None
    center_row: int | None = None
    rows: tuple[int, int] | None = None
    slab_rows: int = 8
    rings: str = "sorting"
    ring_options: dict[str, float] = field(default_factory=dict)
    phase: bool = False
    energy_kev: float | None = None
    distance_m: float | None = None
    delta_beta: float | None = None
    pixel_size_um: float | None = None


def resolve_rows(settings: ReconstructionSettings, n_rows: int) -> tuple[int, int]:
    """The detector row range to reconstruct, checked against the detector height."""
    start, stop = settings.rows if settings.rows is not None else (0, n_rows)
    if not 0 <= start < stop <= n_rows:
        raise InputError("--rows", f"{start}:{stop} is not inside the detector's rows 0:{n_rows}")
    if settings.slab_rows < 1:
        raise InputError("--slab-rows", f"must be >= 1, got {settings.slab_rows}")
    return start, stop


# Peak numpy memory of one slice's reconstruction per detector column squared, measured with
# tracemalloc by benchmarks/reconstruct_timing.py (algotom 1.7; DFI grids a padded 2-D spectrum).
SLICE_WORKSPACE_BYTES_PER_COLUMN2 = {"dfi": 200, "fbp": 60, "gridrec": 200}
# Memory that does not grow with the slab (numba-compiled algotom kernels, FFT plans, the centre
# search), from benchmarks/reconstruct_memory.py at 1, 8 and 32 slab rows.
FIXED_OVERHEAD_BYTES = 48 * 2**20


def slab_memory_bytes(
    n_angles: int, n_columns: int, slab_rows: int, margin_rows: int = 0, algorithm: str = "dfi"
) -> int:
    """Memory budget of slab-by-slab reconstruction above the imported modules: three float32
    copies of the projection slab (at most two are alive at once by design; the third covers
    transient buffers), the output slab, one slice's reconstruction workspace and a fixed overhead.
    Measured peaks stay below it (benchmarks/reconstruct_memory.py)."""
    projection_slab = 4 * n_angles * (slab_rows + 2 * margin_rows) * n_columns
    output_slab = 4 * n_columns * n_columns * slab_rows
    workspace = SLICE_WORKSPACE_BYTES_PER_COLUMN2[algorithm] * n_columns * n_columns
    return 3 * projection_slab + output_slab + workspace + FIXED_OVERHEAD_BYTES


def attenuation_rows(
    source: ProjectionSource, start: int, stop: int, settings: ReconstructionSettings
) -> np.ndarray:
    """Projected attenuation (angle, row, column) of rows [start, stop): normalised, -log or
    Paganin (reading extra rows either side for the filter), and ring-corrected."""
    margin = 0
    if settings.phase:
        margin = paganin_margin_rows(
            settings.energy_kev, settings.distance_m, settings.pixel_size_um, settings.delta_beta
        )
    lo, hi = max(0, start - margin), min(source.n_rows, stop + margin)
    transmission = normalize(*source.read_rows(lo, hi))
    if settings.phase:
        attenuation = paganin(
            transmission,
            energy_kev=settings.energy_kev,
            distance_m=settings.distance_m,
            pixel_size_um=settings.pixel_size_um,
            delta_beta=settings.delta_beta,
        )
    else:
        attenuation = minus_log(transmission)
    del transmission
    attenuation = np.ascontiguousarray(attenuation[:, start - lo : stop - lo, :])
    return remove_stripes(attenuation, settings.rings, **settings.ring_options)


def choose_center(
    source: ProjectionSource, settings: ReconstructionSettings, rows: tuple[int, int]
) -> tuple[float, float | None, int]:
    """(centre used, automatic centre or None when overridden, detector row searched)."""
    row = settings.center_row if settings.center_row is not None else (rows[0] + rows[1]) // 2
    if not 0 <= row < source.n_rows:
        raise InputError("--center-row", f"{row} is not a detector row (0..{source.n_rows - 1})")
    if settings.center is not None:
        if not 0 <= settings.center <= source.n_columns - 1:
            raise InputError("--center", f"{settings.center} lies outside the detector's columns")
        return float(settings.center), None, row
    sinogram = attenuation_rows(source, row, row + 1, settings)[:, 0, :]
    auto = find_center(sinogram, source.theta_deg)
    return auto, auto, row


@contextmanager
def _volume_writer(
    path: Path, shape: tuple[int, int, int], chunks: tuple[int, int, int]
) -> Iterator[Any]:
    """A writable (x, y, z) float32 array on disk at `path`, published atomically on success."""
    if path.suffix in (".h5", ".hdf5"):
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as fh:
            yield fh.create_dataset(VOLUME_DATASET, shape=shape, dtype=np.float32, chunks=chunks)
        return
    import zarr  # only needed for .zarr output

    tmp = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", suffix=".zarr", dir=path.parent))
    try:
        root = zarr.open_group(str(tmp), mode="w")
        yield root.create_dataset(VOLUME_DATASET, shape=shape, chunks=chunks, dtype=np.float32)
        if path.exists():  # a directory cannot be renamed over: move the old one aside first
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            shutil.rmtree(old)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def reconstruct_to_file(
    source: ProjectionSource,
    out_path: str | os.PathLike,
    settings: ReconstructionSettings,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Reconstruct rows slab by slab into out_path (.h5/.hdf5/.zarr, dataset "volume").

    The volume is (x, y, z) float32 with z the detector row (rotation axis) and x the detector
    column direction; memory is bounded by `slab_memory_bytes`, not by the scan size.
    Returns the record written to reconstruct.json (every parameter, the centre, timings).
    """
    out_path = Path(out_path)
    if out_path.suffix not in OUTPUT_SUFFIXES:
        raise InputError(out_path, f"output must end in {', '.join(OUTPUT_SUFFIXES)}")
    check_algorithm(settings.algorithm)
    if settings.phase and None in (
        settings.energy_kev,
        settings.distance_m,
        settings.delta_beta,
        settings.pixel_size_um,
    ):
        raise InputError(
            "--phase", "Paganin needs --energy, --distance, --delta-beta and --pixel-size"
        )
    start, stop = resolve_rows(settings, source.n_rows)
    t0 = time.perf_counter()
    center, auto_center, center_row = choose_center(source, settings, (start, stop))
    n_cols, n_z = source.n_columns, stop - start
    scale = 1.0 / (settings.pixel_size_um * 1e-6) if settings.pixel_size_um else 1.0
    slab = min(settings.slab_rows, n_z)
    chunks = (min(n_cols, 256), min(n_cols, 256), min(slab, 16))
    slice_seconds = []
    with _volume_writer(out_path, (n_cols, n_cols, n_z), chunks) as volume:
        bar = tqdm(range(start, stop, slab), desc="slabs", unit="slab", disable=not progress)
        for first in bar:
            last = min(first + slab, stop)
            attenuation = attenuation_rows(source, first, last, settings)
            block = np.empty((n_cols, n_cols, last - first), np.float32)
            for k in range(last - first):
                tic = time.perf_counter()
                block[:, :, k] = reconstruct_slice(
                    attenuation[:, k, :],
                    center,
                    source.theta_deg,
                    algorithm=settings.algorithm,
                    filter_name=settings.filter_name,
                )
                slice_seconds.append(time.perf_counter() - tic)
            block *= np.float32(scale)
            volume[:, :, first - start : last - start] = block
            del attenuation, block
        volume.attrs.update(
            {
                "axes": "x,y,z (z = detector row / rotation axis)",
                "units": "1/m" if settings.pixel_size_um else "1/pixel",
                "voxel_size_um": settings.pixel_size_um or 1.0,
                "first_row": start,
                # the scan's cycling time and step, so `meso quantify` needs no --times-hours
                **{k: source.attrs[k] for k in SCAN_ATTRS if k in source.attrs},
            }
        )
    return {
        "input": str(source.path),
        "output": str(out_path),
        "dataset": VOLUME_DATASET,
        "shape": [n_cols, n_cols, n_z],
        "axes": "x,y,z; z = detector row (rotation axis), x = detector column direction",
        "units": "1/m" if settings.pixel_size_um else "1/pixel",
        "voxel_size_um": settings.pixel_size_um,
        "settings": asdict(settings),
        "rows": [start, stop],
        "center": center,
        "center_auto": auto_center,
        "center_method": "manual" if auto_center is None else "algotom find_center_vo (Vo 2014)",
        "center_row": center_row,
        "n_angles": source.n_angles,
        "theta_range_deg": [float(source.theta_deg.min()), float(source.theta_deg.max())],
        "slab_memory_bytes": slab_memory_bytes(
            source.n_angles, n_cols, slab, algorithm=settings.algorithm
        ),
        "seconds_per_slice": float(np.mean(slice_seconds)),
        "wall_seconds": time.perf_counter() - t0,
        "algotom_version": version("algotom"),
        "source_attrs": source.attrs,
    }
