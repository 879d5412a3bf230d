"""Synthetic grains over the solid of an extracted subvolume (`meso extract --overlay-grains-um`).

X-ray tomography does not resolve LLZO grains, so a segmented electrolyte is one solid phase.
On request, Voronoi grains and boundaries from the synth generator (``synth.generate`` at zero
porosity, the same voxel size) are laid over it: every solid voxel (grain 1 or boundary 2) takes
the generator's label, pores stay pores. The generator needs a box at least one grain across, so
a thinner subvolume (an interfacial slab) is cut from a larger generated box.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from meso.errors import InputError
from meso.microstructure import Microstructure

SOLID = (1, 2)


def overlay_grains(
    m: Microstructure, grain_size_um: float, *, seed: int = 0, gb_thickness_voxels: float = 1.0
) -> tuple[Microstructure, dict[str, Any]]:
    """`m` with synthetic grains of mean intercept `grain_size_um` over its solid, and their
    provenance (generator, parameters, seed, grain-boundary fraction of the solid).

    Examples
    --------
    >>> sub = Microstructure(np.ones((12, 12, 4), np.uint8), voxel_size_um=1.0)
    >>> grained, record = overlay_grains(sub, 4.0, seed=1)
    >>> sorted(np.unique(grained.labels).tolist()), record["generated_shape"]
    ([1, 2], [12, 12, 5])
    """
    from synth import generate

    box = [max(n, math.ceil(grain_size_um / m.voxel_size_um) + 1) for n in m.shape]
    try:
        synthetic = generate(box, m.voxel_size_um, porosity=0.0, pore_size_um=m.voxel_size_um,
                             grain_size_um=grain_size_um, gb_thickness_voxels=gb_thickness_voxels,
                             seed=seed)  # fmt: skip
    except InputError as error:
        raise InputError("--overlay-grains-um", error.problem) from None
    grains = synthetic.labels[: m.shape[0], : m.shape[1], : m.shape[2]]
    solid = np.isin(m.labels, SOLID)
    labels = np.where(solid, grains, m.labels).astype(np.uint8)
    record = {
        "generator": "synth.generate",
        "grain_size_um": float(grain_size_um),
        "gb_thickness_voxels": float(gb_thickness_voxels),
        "seed": int(seed),
        "generated_shape": box,
        "grain_seed_count": int(synthetic.metadata["grain_seed_count"]),
        "parameters": synthetic.metadata["parameters"],
        "grain_boundary_fraction_of_solid": float((labels[solid] == 2).mean())
        if solid.any()
        else 0.0,
        "rule": "solid voxels (labels 1, 2) take the generator's grain (1) or boundary (2); "
        "pores keep 0",
    }
    return m.with_labels(labels, overlay_grains=record), record


__all__ = ["overlay_grains"]
