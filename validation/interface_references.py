"""Exact references for grain boundaries as zero-thickness resistive interfaces (area-specific resistance)."""

from __future__ import annotations


def cubic_grains_with_interfaces(grains_along_axis: int, grain_size_m: float,
                                 sigma_S_per_m: float, asr_ohm_m2: float) -> float:  # fmt: skip
    """Exact M of a box of cubic grains (edge d) between two electrodes, each boundary plane
    of resistance R per area: the n - 1 planes normal to the current are in series with the
    grains and those along it carry no current, so M = [1 + (n - 1) R sigma / (n d)]^-1.

    This is the brick-layer model M = [1 + (delta/d)(sigma_g/sigma_gb)]^-1
    (``validation.conduction_references.brick_layer``) with R = delta / sigma_gb and n - 1
    instead of n planes over n grains (the box faces are electrodes, not boundaries).
    """
    n = int(grains_along_axis)
    if n < 1:
        raise ValueError(f"need at least one grain, got {n}")
    return 1.0 / (1.0 + (n - 1) * asr_ohm_m2 * sigma_S_per_m / (n * grain_size_m))
