"""The phases a grey volume can separate, their DESIGN labels and their order in grey value."""

from __future__ import annotations

import numpy as np

from meso.microstructure import DEFAULT_PHASES

PORE, GRAIN, BOUNDARY, LITHIUM, COLLECTOR = (
    DEFAULT_PHASES[name] for name in ("pore", "grain", "grain_boundary", "lithium", "collector")
)
# Attenuation at 76.2 keV (xraydb, the phantom's `mu_per_m`): pore 0, Li 7.3, steel 524,
# LLZO 1444 1/m. Thresholding classes are taken in this order of increasing grey value.
GREY_ORDER = (PORE, LITHIUM, COLLECTOR, GRAIN)
# A training class only: pore outside the cell's footprint, written as PORE by predict.
GAS = 255
NAMES = {**{label: name for name, label in DEFAULT_PHASES.items()}, GAS: "gas"}


def output_labels(classes) -> np.ndarray:
    """The DESIGN label each network class is written as (gas is pore)."""
    return np.array([PORE if int(c) == GAS else int(c) for c in classes], np.uint8)


def imaging_labels(labels: np.ndarray) -> np.ndarray:
    """Labels as imaging can see them: grain boundaries (same material as the grains) become grain."""
    out = np.asarray(labels, np.uint8).copy()
    out[out == BOUNDARY] = GRAIN
    return out


def class_names(classes) -> list[str]:
    """DESIGN names of a sequence of labels ("pore", "grain", ...)."""
    return [NAMES.get(int(c), f"label_{int(c)}") for c in classes]
