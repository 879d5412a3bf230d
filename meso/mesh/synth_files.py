"""The one reader of `meso synth` results: synth.json, the volume it names, synth_geometry.npz."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from meso.errors import InputError
from meso.mesh.pore_geometry import PoreGeometry


def read_synth_json(path: str | Path, required: tuple[str, ...] = ("volume",)) -> dict:
    """The synth.json document at `path` (InputError naming it when it is not one, or when it
    lacks a `required` entry)."""
    try:
        report = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a readable synth.json ({exc.__class__.__name__})") from None
    missing = [key for key in required if not isinstance(report, dict) or key not in report]
    if missing:
        raise InputError(path, f"not a synth.json (no {', '.join(map(repr, missing))} entry)")
    return report


def synth_volume_path(report_path: Path, report: dict) -> Path:
    """The label volume a synth.json describes (its path as written, else beside the json)."""
    written = Path(str(report.get("volume", "")))
    for candidate in (written, report_path.parent / written, report_path.parent / written.name):
        if str(written) and candidate.is_file():
            return candidate
    raise InputError(report_path, f"the volume it names ({written}) is not found")


def synth_json_beside(volume: Path) -> Path | None:
    """The synth.json next to `volume` when it describes that very file (else None)."""
    candidate = volume.parent / "synth.json"
    if not candidate.is_file():
        return None
    try:
        report = json.loads(candidate.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    written = Path(str(report.get("volume", ""))) if isinstance(report, dict) else Path()
    return candidate if written.name == volume.name else None


def load_synth_geometry(path: str | Path, grains: bool = False) -> PoreGeometry:
    """PoreGeometry of a `meso synth` result: its synth.json (voxel size) and the
    synth_geometry.npz written beside it (pore ellipsoids in um; with `grains` also the
    Voronoi seeds and stretch)."""
    path = Path(path)
    report = read_synth_json(path, required=("shape", "voxel_size_um"))
    npz = path.with_name("synth_geometry.npz")
    try:
        with np.load(npz) as data:
            centres, semi_axes = data["pore_centres_um"], data["pore_semi_axes_um"]
            seeds = data["seeds_um"] if grains else None
            stretch = data["stretch"] if grains else None
    except FileNotFoundError:
        raise InputError(npz, "missing (meso synth writes it beside synth.json)") from None
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(npz, f"not a synth geometry file ({exc})") from None
    h = float(report["voxel_size_um"])
    box = np.asarray(report["shape"], dtype=float) * h
    return PoreGeometry(box, centres, semi_axes, h, grain_seeds_um=seeds, grain_stretch=stretch,
                        source=str(path))  # fmt: skip


def load_grain_ids(path: str | Path) -> np.ndarray:
    """The Voronoi grain id of every voxel, from the synth_geometry.npz beside synth.json `path`."""
    npz = Path(path).with_name("synth_geometry.npz")
    try:
        with np.load(npz) as data:
            return data["grain_ids"]
    except FileNotFoundError:
        raise InputError(npz, "missing (meso synth writes it beside synth.json)") from None
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(npz, f"not a synth geometry file ({exc})") from None


def synth_gb_thickness_um(path: str | Path, report: dict) -> float:
    """The grain-boundary thickness (um) of the synth result at synth.json `path`: its
    synth_geometry.npz record, else the voxel count in `report`'s parameters (0: none)."""
    h = float(report.get("voxel_size_um", 0) or 0)
    thickness = float(report.get("parameters", {}).get("gb_thickness_voxels", 0) or 0) * h
    try:
        with np.load(Path(path).with_name("synth_geometry.npz")) as data:
            return float(data["gb_thickness_um"])
    except (OSError, KeyError, ValueError):
        return thickness  # load_synth_geometry names a missing or broken file when it is needed
