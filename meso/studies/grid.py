"""A sweep TOML -> the grid of cases (one point of the grid and one seed each), with a fingerprint.

The file has one ``[sweep]`` table. Generator parameters given as a list are grid dimensions
(``porosity = [0.02, 0.08]``), a scalar is held fixed; ``seeds`` repeats every grid point. The
cases are the product porosity x grain size x pore size x (other listed parameters) x seeds, in
that order (seeds innermost), each with a readable id such as ``p0.02_g3_d1.5_s1``.

The fingerprint is a SHA-256 of the normalised settings and of the materials file's text, so a
comment or whitespace change keeps a sweep folder usable while any change of the grid is refused
(``meso.studies.runner.prepare_folder``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meso.errors import InputError
from meso.microstructure import AXES

PHYSICS = ("conduction", "elasticity")
# generator parameters that may be grid dimensions (a list) or fixed (a scalar), with the
# letter each contributes to a case id; the first three always appear in the id
SWEEPABLE = {"porosity": "p", "grain_size_um": "g", "pore_size_um": "d",
             "pore_size_std_um": "sd", "gb_thickness_voxels": "t"}  # fmt: skip
REQUIRED = ("shape", "voxel_size_um", "porosity", "grain_size_um", "pore_size_um")
# fixed generator parameters passed through as given
GENERATOR_FIXED = ("pore_placement", "anisotropy", "seed_process")
SETTINGS = ("seeds", "physics", "axes", "method", "materials", "strain")
KNOWN = (*REQUIRED, *SWEEPABLE, *GENERATOR_FIXED, *SETTINGS)


@dataclass(frozen=True)
class Case:
    """One point of the grid and one seed: the generator's keyword arguments and an id."""

    id: str
    index: int
    parameters: dict[str, Any]  # the swept values and the seed (for results.csv)
    generator: dict[str, Any]  # keyword arguments of the generator (shape, voxel size, ...)


@dataclass
class Sweep:
    """A parsed sweep file: settings, the cases and the fingerprint of both."""

    source: str
    settings: dict[str, Any]  # normalised [sweep] table
    physics: tuple[str, ...]
    axes: tuple[str, ...]
    method: str
    strain: float
    materials_text: str | None  # the materials TOML's text (None: packaged defaults)
    materials_source: str | None
    cases: list[Case] = field(default_factory=list)
    grid: dict[str, list[float]] = field(default_factory=dict)  # swept parameter -> values

    @property
    def fingerprint(self) -> str:
        document = {"settings": self.settings, "materials": self.materials_text}
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def case(self, key: str | int) -> Case:
        """The case with id `key`, or at position `key` (0-based, the order of --list)."""
        text = str(key).strip()
        if text.isdigit() and text not in {c.id for c in self.cases}:
            index = int(text)
            if index >= len(self.cases):
                raise InputError(
                    "--case", f"index {index} is out of range (0..{len(self.cases) - 1})"
                )
            return self.cases[index]
        for case in self.cases:
            if case.id == text:
                return case
        raise InputError("--case", f"no case {text!r} in this sweep (see --list)")

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "fingerprint": self.fingerprint, "settings": self.settings,
                "materials": self.materials_source, "cases": [c.id for c in self.cases]}  # fmt: skip


def _number(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(source, f"[sweep] {key} must be a finite number, got {value!r}")
    return float(value)


def _numbers(source: str, key: str, value: Any) -> list[float]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise InputError(source, f"[sweep] {key} is an empty list")
    numbers = [_number(source, key, v) for v in values]
    if len(set(numbers)) != len(numbers):
        raise InputError(source, f"[sweep] {key} lists a value twice: {values!r}")
    return numbers


def _names(source: str, key: str, value: Any, allowed: tuple[str, ...]) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InputError(
            source, f"[sweep] {key} must be a list of names among {', '.join(allowed)}"
        )
    names = [v.lower() for v in value]
    bad = [v for v in names if v not in allowed]
    if bad or len(set(names)) != len(names):
        raise InputError(source, f"[sweep] {key}: expected distinct names among "
                         f"{', '.join(allowed)}, got {value!r}")  # fmt: skip
    return names


def _shape(source: str, value: Any) -> list[int]:
    dims = [value] * 3 if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(dims, list)
        or len(dims) != 3
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 4 for d in dims)
    ):
        raise InputError(source, f"[sweep] shape must be N or [nx, ny, nz] (integers >= 4), "
                         f"got {value!r}")  # fmt: skip
    return dims


def _seeds(source: str, value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value)
        or len(set(value)) != len(value)
    ):
        raise InputError(source, f"[sweep] seeds must be distinct non-negative integers, "
                         f"got {value!r}")  # fmt: skip
    return list(value)


def _label(value: float) -> str:
    return f"{value:g}"


def parse_sweep(text: str, source: str | os.PathLike = "sweep.toml") -> Sweep:
    """The Sweep described by TOML `text`; InputError (naming `source`) for anything wrong.

    Examples
    --------
    >>> s = parse_sweep('''[sweep]
    ... shape = 16
    ... voxel_size_um = 0.5
    ... porosity = [0.02, 0.08]
    ... grain_size_um = 3.0
    ... pore_size_um = 1.5
    ... seeds = [1, 2]''')
    >>> [c.id for c in s.cases]
    ['p0.02_g3_d1.5_s1', 'p0.02_g3_d1.5_s2', 'p0.08_g3_d1.5_s1', 'p0.08_g3_d1.5_s2']
    """
    source = str(source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(source, f"not valid TOML ({exc})") from None
    table = document.get("sweep")
    if not isinstance(table, dict):
        raise InputError(source, "needs a [sweep] table (see `meso sweep --help`)")
    extra = sorted(set(document) - {"sweep"})
    if extra:
        raise InputError(source, f"unknown table(s) {', '.join(extra)}; only [sweep] is read")
    unknown = sorted(set(table) - set(KNOWN))
    if unknown:
        raise InputError(source, f"[sweep] unknown key(s) {', '.join(unknown)}; known: "
                         f"{', '.join(KNOWN)}")  # fmt: skip
    missing = [k for k in REQUIRED if k not in table]
    if missing:
        raise InputError(source, f"[sweep] needs {', '.join(missing)}")

    settings: dict[str, Any] = {"shape": _shape(source, table["shape"]),
                                "voxel_size_um": _number(source, "voxel_size_um",
                                                         table["voxel_size_um"])}  # fmt: skip
    grid: dict[str, list[float]] = {}
    for key in SWEEPABLE:
        if key in table:
            settings[key] = _numbers(source, key, table[key])
            grid[key] = settings[key]
    for key in GENERATOR_FIXED:
        if key in table:
            value = table[key]
            if key == "anisotropy":
                value = [
                    _number(source, key, v) for v in (value if isinstance(value, list) else [value])
                ]
            elif not isinstance(value, str):
                raise InputError(source, f"[sweep] {key} must be a string, got {value!r}")
            settings[key] = value
    settings["seeds"] = _seeds(source, table.get("seeds", [0]))
    settings["physics"] = _names(source, "physics", table.get("physics", ["conduction"]), PHYSICS)
    settings["axes"] = _names(source, "axes", table.get("axes", "x,y,z"), AXES)
    method = table.get("method", "fv")
    if method not in ("fv", "fe"):
        raise InputError(source, f"[sweep] method must be fv or fe, got {method!r}")
    settings["method"] = method
    strain = _number(source, "strain", table.get("strain", 1e-3))
    settings["strain"] = strain

    materials_text = materials_source = None
    if "materials" in table:
        if not isinstance(table["materials"], str):
            raise InputError(source, "[sweep] materials must be a file path")
        path = Path(table["materials"])
        if not path.is_absolute():
            path = Path(source).parent / path
        try:
            materials_text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                path, f"cannot read the sweep's materials file ({exc.__class__.__name__})"
            ) from None
        materials_source = str(path)
        settings["materials"] = table["materials"]

    sweep = Sweep(source=source, settings=settings, physics=tuple(settings["physics"]),
                  axes=tuple(settings["axes"]), method=method, strain=strain,
                  materials_text=materials_text, materials_source=materials_source,
                  grid=grid)  # fmt: skip
    fixed = {k: settings[k] for k in ("shape", "voxel_size_um", *GENERATOR_FIXED) if k in settings}
    swept = list(grid)
    for index, values in enumerate(itertools.product(*grid.values(), settings["seeds"])):
        *point, seed = values
        parameters = dict(zip(swept, point, strict=True))
        parts = [f"{SWEEPABLE[k]}{_label(v)}" for k, v in parameters.items()
                 if k in ("porosity", "grain_size_um", "pore_size_um") or len(grid[k]) > 1]  # fmt: skip
        case_id = "_".join([*parts, f"s{seed}"])
        parameters["seed"] = seed
        sweep.cases.append(Case(id=case_id, index=index, parameters=parameters,
                                generator={**fixed, **parameters}))  # fmt: skip
    return sweep


def load_sweep(path: str | os.PathLike) -> Sweep:
    """The Sweep of the TOML file at `path`."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the sweep file ({exc.__class__.__name__})") from None
    return parse_sweep(text, path)


def changed_settings(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """'key: old -> new' for each setting that differs (for the refusal message)."""
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


__all__ = ["PHYSICS", "Case", "Sweep", "changed_settings", "load_sweep", "parse_sweep"]
