"""Load and save Microstructures as .npy, .npz, .h5, .tif/.tiff and .vti, losslessly and atomically."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from meso.errors import InputError
from meso.io.atomic import atomic_path
from meso.microstructure import DEFAULT_PHASES, Microstructure

FORMATS = (".npy", ".npz", ".h5", ".hdf5", ".tif", ".tiff", ".vti")
DEFAULT_DATASET = "labels"


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(path, f"unsupported format {suffix or '(none)'}; use {', '.join(FORMATS)}")
    return suffix


def _attrs(m: Microstructure) -> dict[str, str | float]:
    """The non-array part of a Microstructure as flat, text-safe attributes."""
    return {
        "voxel_size_um": m.voxel_size_um,
        "cell_axis": m.cell_axis,
        "phases": json.dumps(m.phases),
        "metadata": json.dumps(m.metadata, default=str),
    }


def _from_attrs(labels: Any, attrs: dict[str, Any], path: Path, voxel_size_um: float | None):
    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    try:
        phases = json.loads(text(attrs["phases"])) if "phases" in attrs else dict(DEFAULT_PHASES)
        metadata = json.loads(text(attrs["metadata"])) if "metadata" in attrs else {}
    except json.JSONDecodeError as exc:
        raise InputError(path, f"corrupt metadata ({exc.msg})") from None
    metadata["source"] = str(path)
    size = voxel_size_um if voxel_size_um is not None else attrs.get("voxel_size_um", 1.0)
    return Microstructure(
        labels,
        voxel_size_um=float(np.asarray(size)),
        phases=phases,
        cell_axis=text(attrs.get("cell_axis", "x")),
        metadata=metadata,
    )


def load(
    path: str | os.PathLike,
    *,
    dataset: str | None = None,
    voxel_size_um: float | None = None,
) -> Microstructure:
    """Read a label volume; `voxel_size_um` overrides the value stored in the file.

    ``dataset`` names the array inside an .h5 or .npz file (default "labels", or the only array).
    Any problem (missing or truncated file, wrong shape or dtype, unknown labels, NaN) raises
    InputError with a one-line message naming the file.
    """
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        labels, attrs = _READERS[suffix](path, dataset)
    except InputError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"cannot read {suffix} file ({problem})") from None
    try:
        return _from_attrs(labels, attrs, path, voxel_size_um)
    except InputError as exc:
        raise InputError(path, exc.problem) from None


def save(m: Microstructure, path: str | os.PathLike, *, dataset: str = DEFAULT_DATASET) -> Path:
    """Write a Microstructure atomically; the format follows the suffix.

    .npy stores the labels only; every other format also keeps voxel size, phases, cell axis
    and metadata, so ``load(save(m, p))`` reproduces ``m``.
    """
    path = Path(path)
    suffix = _suffix(path)
    with atomic_path(path) as tmp:
        _WRITERS[suffix](m, tmp, dataset)
    return path


# --- per-format readers: return (array, attribute dict) -------------------------------------


def _not_numpy(head: bytes, kind: str) -> str:
    """What a file that should be `kind` (".npy" or ".npz") but does not start like one is."""
    if head.startswith(b"PK"):
        return "not a NumPy .npy file: it is a zip archive (an .npz renamed .npy?)"
    if head.startswith(np.lib.format.MAGIC_PREFIX):
        return "not a NumPy .npz file: it is a single .npy array (rename it .npy)"
    if head.startswith(b"\x80"):
        return f"not a NumPy {kind} file: it is a Python pickle, which is never loaded"
    text = head.decode("ascii", "replace")
    if head.isascii() and all(c.isprintable() or c in "\t\r\n" for c in text):
        return f"not a NumPy {kind} file: it holds text ({text.splitlines()[0][:16]!r}...)"
    return f"not a NumPy {kind} file: it starts with {head[:8]!r}"


def _npy_header(fp, size: int, what: str) -> None:
    """Check the .npy header of the open binary file `fp` (`size` bytes; `what` names it in
    messages) without reading the data or unpickling anything: a ValueError with a one-line
    problem for an empty file, one not in NumPy's format, an object (pickled) array and a
    truncated one."""
    head = fp.read(16)
    if not head:
        raise ValueError(f"{what} is empty (0 bytes), not a NumPy array")
    if not head.startswith(np.lib.format.MAGIC_PREFIX):
        raise ValueError(_not_numpy(head, ".npy"))
    fp.seek(0)
    version = np.lib.format.read_magic(fp)
    reader = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }.get(version)
    if reader is None:
        return  # a newer header version: np.load checks it
    try:
        shape, _, dtype = reader(fp)
    except ValueError as exc:
        if str(exc).startswith("EOF"):
            raise ValueError(f"{what} is truncated inside its header ({size} bytes)") from None
        raise ValueError(f"{what} has a corrupt .npy header ({exc})") from None
    if dtype.hasobject:
        raise ValueError(
            f"{what} holds an object array (dtype {dtype}, stored as pickled Python objects); "
            "only numeric label arrays are read and pickles are never loaded"
        )
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size - fp.tell() < expected:
        raise ValueError(
            f"{what} is truncated: shape {tuple(shape)} {dtype} needs {expected} data bytes, "
            f"the file has {max(size - fp.tell(), 0)}"
        )


def _read_npy(path: Path, dataset: str | None):
    with path.open("rb") as fp:
        try:
            _npy_header(fp, path.stat().st_size, "the file")
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
    return np.load(path, allow_pickle=False), {}


def _npz_members(path: Path) -> None:
    """InputError for an empty file, one that is not a zip archive, a truncated archive or a
    member array that is empty, not NumPy's format, an object (pickled) array or truncated."""
    with path.open("rb") as fp:
        head = fp.read(16)
    if not head:
        raise InputError(path, "the file is empty (0 bytes), not a NumPy .npz archive")
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK"):
            raise InputError(path, "cannot read .npz file: a truncated or corrupt zip archive")
        raise InputError(path, _not_numpy(head, ".npz"))
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as fp:
                try:
                    _npy_header(fp, info.file_size, f"array {info.filename[:-4]!r}")
                except ValueError as exc:
                    raise InputError(path, str(exc)) from None


def _read_npz(path: Path, dataset: str | None):
    _npz_members(path)
    with np.load(path, allow_pickle=False) as z:
        names = list(z.files)
        name = dataset or (DEFAULT_DATASET if DEFAULT_DATASET in names else None)
        arrays = [n for n in names if z[n].ndim == 3]
        if name is None:
            if len(arrays) != 1:
                raise InputError(path, f"cannot tell which array holds the labels: {names}")
            name = arrays[0]
        if name not in names:
            raise InputError(path, f"no array {name!r} in the file (has {names})")
        attrs = {
            k: z[k][()] for k in ("voxel_size_um", "cell_axis", "phases", "metadata") if k in z
        }
        return z[name], attrs


def _read_h5(path: Path, dataset: str | None):
    import h5py

    name = dataset or DEFAULT_DATASET
    with h5py.File(path, "r") as f:
        if name not in f or not isinstance(f[name], h5py.Dataset):
            found = []
            f.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) else None)
            raise InputError(path, f"no dataset {name!r} (datasets: {found[:8]}); use --dataset")
        return f[name][()], dict(f[name].attrs)


def _read_tif(path: Path, dataset: str | None):
    import tifffile

    with tifffile.TiffFile(path) as tif:
        data = tif.asarray()
        attrs = dict(tif.shaped_metadata[0]) if tif.shaped_metadata else {}
    attrs.pop("shape", None)
    return data, attrs


def _read_vti(path: Path, dataset: str | None):
    import pyvista as pv

    grid = pv.read(path)
    name = dataset or DEFAULT_DATASET
    if name not in grid.cell_data:
        raise InputError(path, f"no cell array {name!r} (has {list(grid.cell_data.keys())})")
    shape = tuple(int(d) - 1 for d in grid.dimensions)
    labels = np.asarray(grid.cell_data[name]).reshape(shape, order="F")
    attrs: dict[str, Any] = {k: grid.field_data[k][0] for k in grid.field_data.keys()}
    spacing = grid.spacing[0]
    attrs.setdefault("voxel_size_um", spacing)
    return labels, attrs


# --- per-format writers ---------------------------------------------------------------------


def _write_npy(m: Microstructure, tmp: Path, dataset: str):
    np.save(tmp, m.labels)


def _write_npz(m: Microstructure, tmp: Path, dataset: str):
    np.savez_compressed(tmp, **{dataset: m.labels}, **_attrs(m))


def _write_h5(m: Microstructure, tmp: Path, dataset: str):
    import h5py

    with h5py.File(tmp, "w") as f:
        d = f.create_dataset(dataset, data=m.labels, compression="gzip", chunks=True)
        d.attrs.update(_attrs(m))


def _write_tif(m: Microstructure, tmp: Path, dataset: str):
    import tifffile

    tifffile.imwrite(
        tmp, m.labels, metadata=_attrs(m), photometric="minisblack", compression="zlib"
    )


def _write_vti(m: Microstructure, tmp: Path, dataset: str):
    import pyvista as pv

    grid = pv.ImageData(dimensions=np.array(m.shape) + 1, spacing=(m.voxel_size_um,) * 3)
    grid.cell_data[dataset] = m.labels.ravel(order="F")  # VTK runs x fastest
    for key, value in _attrs(m).items():
        grid.field_data[key] = [value]
    grid.save(tmp)


_READERS = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".h5": _read_h5,
    ".hdf5": _read_h5,
    ".tif": _read_tif,
    ".tiff": _read_tif,
    ".vti": _read_vti,
}
_WRITERS = {
    ".npy": _write_npy,
    ".npz": _write_npz,
    ".h5": _write_h5,
    ".hdf5": _write_h5,
    ".tif": _write_tif,
    ".tiff": _write_tif,
    ".vti": _write_vti,
}
