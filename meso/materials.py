"""Phase material properties (conductivity, elastic constants) from a validated TOML file."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from meso.errors import InputError

_KEYS = {"label", "void", "sigma_S_per_m", "asr_ohm_m2", "E_Pa", "nu"}


@dataclass(frozen=True)
class Phase:
    """One phase: its label and whichever properties it has (None = not given)."""

    name: str
    label: int
    void: bool = False
    sigma_S_per_m: float | None = None
    asr_ohm_m2: float | None = None
    E_Pa: float | None = None
    nu: float | None = None

    def conductivity(self, voxel_size_m: float) -> float | None:
        """Ionic conductivity in S/m; an area-specific resistance R becomes that of a one-voxel
        layer, sigma = h / R, so the resistance per unit boundary area is preserved."""
        if self.void:
            return 0.0
        if self.asr_ohm_m2 is not None:
            return voxel_size_m / self.asr_ohm_m2
        return self.sigma_S_per_m


@dataclass(frozen=True)
class Materials:
    """The phase table used by the solvers, keyed by phase name."""

    phases: dict[str, Phase]
    source: str = "defaults"

    def by_label(self, label: int) -> Phase:
        for phase in self.phases.values():
            if phase.label == label:
                return phase
        raise InputError(self.source, f"no material is given for label {label}")

    @property
    def grain(self) -> Phase:
        if "grain" not in self.phases:
            raise InputError(self.source, "no [phases.grain] entry (the reference phase for M)")
        return self.phases["grain"]

    def conductivities(self, labels: set[int], voxel_size_m: float) -> dict[int, float]:
        """Conductivity (S/m) of each label present; error if a non-void label lacks one."""
        result = {}
        for label in sorted(labels):
            phase = self.by_label(label)
            sigma = phase.conductivity(voxel_size_m)
            if sigma is None:
                raise InputError(self.source, f"phase {phase.name!r} has no ionic conductivity")
            result[label] = sigma
        return result

    def elastic_constants(self, labels: set[int]) -> dict[int, tuple[float, float]]:
        """(E in Pa, nu) of each non-void label present; error if one lacks them."""
        result = {}
        for label in sorted(labels):
            phase = self.by_label(label)
            if phase.void:
                continue
            if phase.E_Pa is None or phase.nu is None:
                raise InputError(self.source, f"phase {phase.name!r} has no E_Pa and nu")
            result[label] = (phase.E_Pa, phase.nu)
        return result


def _phase(name: str, entry: object, source: str) -> Phase:
    where = f"[phases.{name}]"
    if not isinstance(entry, dict):
        raise InputError(source, f"{where} must be a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise InputError(
            source, f"{where} has unknown keys {sorted(unknown)}; allowed {sorted(_KEYS)}"
        )
    label = entry.get("label")
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= 255:
        raise InputError(source, f"{where} needs an integer label in 0..255")
    values = {}
    for key in ("sigma_S_per_m", "asr_ohm_m2", "E_Pa", "nu"):
        if key in entry:
            value = entry[key]
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                raise InputError(source, f"{where} {key} must be a finite number")
            values[key] = float(value)
    void = bool(entry.get("void", False))
    if void and values:
        raise InputError(source, f"{where} is void and cannot have material properties")
    for key in ("sigma_S_per_m", "asr_ohm_m2", "E_Pa"):
        if key in values and values[key] <= 0:
            raise InputError(source, f"{where} {key} must be positive, got {values[key]}")
    if "sigma_S_per_m" in values and "asr_ohm_m2" in values:
        raise InputError(source, f"{where} gives both sigma_S_per_m and asr_ohm_m2; keep one")
    if "nu" in values and not -1.0 < values["nu"] < 0.5:
        raise InputError(source, f"{where} nu must satisfy -1 < nu < 0.5, got {values['nu']}")
    if ("E_Pa" in values) != ("nu" in values):
        raise InputError(source, f"{where} needs both E_Pa and nu, or neither")
    return Phase(name=name, label=label, void=void, **values)


def parse_materials(text: str, source: str = "materials") -> Materials:
    """Parse and validate materials TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(source, f"invalid TOML ({exc})") from None
    table = data.get("phases")
    if not isinstance(table, dict) or not table:
        raise InputError(source, "no [phases.NAME] tables found")
    phases = {name: _phase(name, entry, source) for name, entry in table.items()}
    labels = [p.label for p in phases.values()]
    if len(set(labels)) != len(labels):
        raise InputError(source, f"two phases share a label: {sorted(labels)}")
    return Materials(phases, source)


def load_materials(path: str | os.PathLike | None = None) -> Materials:
    """The materials in `path`, or the packaged LLZO defaults when `path` is None."""
    if path is None:
        text = resources.files("meso").joinpath("data/llzo.toml").read_text()
        return parse_materials(text, "defaults (meso/data/llzo.toml)")
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read materials file ({exc.__class__.__name__})") from None
    return parse_materials(text, str(path))


def lame_parameters(E: np.ndarray, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lambda, mu) in Pa from Young's modulus and Poisson's ratio."""
    return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
