"""Facet markers: the six box faces, pore walls and grain boundaries, shared by every mesh type."""

from __future__ import annotations

from meso.microstructure import AXES, axis_index

# Facet markers of the six faces of the box: 1/2 = x min/max, 3/4 = y min/max, 5/6 = z min/max.
FACE_MARKERS = {(axis, side): 2 * a + 1 + s for a, axis in enumerate(AXES) for s, side in
                enumerate(("min", "max"))}  # fmt: skip


def face_marker(axis: str | int, side: str) -> int:
    """Facet tag of the box face normal to `axis` at its "min" or "max" end."""
    return FACE_MARKERS[(AXES[axis_index(axis)], side)]


# Facet tags beyond the box faces 1..6.
PORE_SURFACE_MARKER = 7
GRAIN_BOUNDARY_MARKER = 8
