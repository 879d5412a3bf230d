"""Content-hashed cache of gmsh meshes: the same geometry and mesh parameters are meshed once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from meso.io.atomic import atomic_path, write_json

CACHE_FORMAT = 1  # bump when the meshing code changes what a cached mesh would contain


def cache_key(geometry, parameters: dict) -> str:
    """SHA-256 of the geometry's ``cache_arrays()`` (a PoreGeometry or SegmentedGeometry), the
    mesh parameters, the gmsh version and CACHE_FORMAT."""
    import gmsh

    digest = hashlib.sha256()
    for array in geometry.cache_arrays():
        data = np.ascontiguousarray(np.asarray(array if array is not None else [], dtype=float))
        digest.update(str(data.shape).encode())
        digest.update(data.tobytes())
    settings = {**parameters, "gmsh": gmsh.__version__, "format": CACHE_FORMAT}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def load_cached(gmsh, cache_dir: str | Path, key: str) -> dict | None:
    """Open the cached mesh of `key` into the current gmsh session; its info dict, or None."""
    msh, info = Path(cache_dir) / f"{key}.msh", Path(cache_dir) / f"{key}.json"
    if not (msh.is_file() and info.is_file()):
        return None
    try:
        stored = json.loads(info.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # a damaged entry is rebuilt
    gmsh.open(str(msh))
    return stored


def store(gmsh, cache_dir: str | Path, key: str, info: dict) -> None:
    """Write the current gmsh mesh (msh 4, with its physical groups) and `info`, atomically."""
    with atomic_path(Path(cache_dir) / f"{key}.msh") as tmp:
        gmsh.write(str(tmp))
    write_json(Path(cache_dir) / f"{key}.json", info)
