"""Electrolyte subvolumes and contact maps cut from a segmented Li|LLZO|Li cell (`meso extract`).

The layers along the cell axis come from ``imaging.quantify.regions.find_layers`` on the labels'
bright phases; the pellet's run is the electrolyte. Regions along the cell axis: the whole
pellet (``electrolyte``), the `depth` next to each interface (``interface-bottom``,
``interface-top``) and what lies between them (``bulk``); laterally a centred square window
(default: the bounding box of the cell's columns). Contact maps (one per interface, over the
window): 1 where lithium (label 3) in the electrode's last slice touches LLZO (grain 1 or grain
boundary 2) in the pellet's first slice, 0 where a void or delamination breaks contact. With a
`contact_gap_um` of g, lithium behind up to g of pore counts as touching: at the Li|LLZO interface
a reconstruction blurs one voxel between the two (partial volume and phase fringes), which a
segmentation labels pore although no gap can be resolved there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imaging.extract.overlay import overlay_grains
from imaging.quantify.regions import cell_columns, find_layers, level_volume
from meso.errors import InputError
from meso.io.atomic import atomic_path, write_json
from meso.io.volumes import save
from meso.microstructure import AXES, Microstructure, axis_index

REGIONS = ("electrolyte", "interface-top", "interface-bottom", "bulk")
PORE, LITHIUM, LLZO = 0, 3, (1, 2)


def _bounding_box(mask: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (int(rows[0]), int(rows[-1]) + 1), (int(cols[0]), int(cols[-1]) + 1)


def _window(box: tuple[int, int], width: int | None) -> tuple[int, int]:
    lo, hi = box
    if width is None or width >= hi - lo:
        return lo, hi
    start = lo + (hi - lo - width) // 2
    return start, start + width


def _coarse_map(contact: np.ndarray, factor: int) -> np.ndarray:
    """Block average >= 1/2 as contact (trailing pixels dropped, as in the volume)."""
    n0, n1 = contact.shape[0] // factor, contact.shape[1] // factor
    blocks = contact[: n0 * factor, : n1 * factor].reshape(n0, factor, n1, factor)
    return (blocks.mean(axis=(1, 3)) >= 0.5).astype(np.uint8)


def _touching(outward: np.ndarray, gap: int) -> np.ndarray:
    """Columns whose first non-pore voxel, going away from the pellet (`outward`: the electrode's
    voxels, the one next to the pellet first), is lithium and lies within `gap` voxels."""
    contact = outward[:, :, 0] == LITHIUM
    open_gap = np.ones_like(contact)
    for d in range(1, min(gap, outward.shape[2] - 1) + 1):
        open_gap &= outward[:, :, d - 1] == PORE
        contact |= open_gap & (outward[:, :, d] == LITHIUM)
    return contact


def extract(
    m: Microstructure,
    region: str = "electrolyte",
    *,
    depth_um: float = 100.0,
    window_um: float | None = None,
    downsample: int = 1,
    contact_gap_um: float = 0.0,
    overlay_grains_um: float | None = None,
    overlay_seed: int = 0,
) -> tuple[Microstructure, dict[str, np.ndarray], dict[str, Any]]:
    """The subvolume of `region`, the contact maps {"bottom", "top"} over its lateral window
    (uint8, indexed by the two lateral axes in order) and the provenance (offsets in voxels and
    um, layers, contact fractions); with `overlay_grains_um`, synthetic grains over its solid
    after the downsampling (``imaging.extract.overlay``, recorded as ``overlay_grains``)."""
    if region not in REGIONS:
        raise InputError("region", f"unknown region {region!r}; expected one of {REGIONS}")
    a = axis_index(m.cell_axis)
    source = str(m.metadata.get("source", "labels"))
    labels = np.moveaxis(m.labels, a, 2)  # the cell axis last, as regions.py expects
    level = level_volume(None, labels)
    layers = find_layers(level, source)
    start, stop = layers.pellet
    depth = round(depth_um / m.voxel_size_um)
    if depth < 1:
        raise InputError("depth_um", f"{depth_um} um is less than one voxel ({m.voxel_size_um} um)")
    runs = {"electrolyte": (start, stop), "interface-bottom": (start, min(start + depth, stop)),
            "interface-top": (max(stop - depth, start), stop),
            "bulk": (start + depth, stop - depth)}  # fmt: skip
    k0, k1 = runs[region]
    if k1 <= k0:
        raise InputError("depth_um", f"the pellet ({stop - start} voxels) has no bulk beyond "
                         f"{depth} voxels from each interface")  # fmt: skip
    box = _bounding_box(cell_columns(level, layers))
    width = None if window_um is None else max(1, round(window_um / m.voxel_size_um))
    (i0, i1), (j0, j1) = (_window(b, width) for b in box)
    sub = np.ascontiguousarray(np.moveaxis(labels[i0:i1, j0:j1, k0:k1], 2, a))
    # the electrolyte is LLZO and pores: lithium (or collector) labelled inside the pellet's run
    # (filaments, or segmentation errors next to a rough interface) conducts no Li ions through
    # the electrolyte and is far softer than LLZO, so it is counted and made pore
    foreign = ~np.isin(sub, (PORE, *LLZO))
    sub[foreign] = PORE
    gap = round(contact_gap_um / m.voxel_size_um)
    columns = labels[i0:i1, j0:j1]
    contacts = {
        "bottom": _touching(columns[:, :, start - 1 :: -1], gap)
        & np.isin(columns[:, :, start], LLZO),
        "top": _touching(columns[:, :, stop:], gap) & np.isin(columns[:, :, stop - 1], LLZO),
    }
    contacts = {face: c.astype(np.uint8) for face, c in contacts.items()}
    lateral = [b for b in range(3) if b != a]
    offsets = [0, 0, 0]
    offsets[lateral[0]], offsets[lateral[1]], offsets[a] = i0, j0, k0
    provenance = {
        "source": source, "step": m.metadata.get("step"), "region": region,
        "cell_axis": AXES[a], "depth_um": depth_um, "window_um": window_um,
        "contact_gap_um": contact_gap_um, "contact_gap_vox": gap,
        "non_llzo_voxels_made_pore": int(foreign.sum()),
        "offset_vox": offsets, "offset_um": [o * m.voxel_size_um for o in offsets],
        "layers": layers.as_dict(),
    }  # fmt: skip
    out = m.with_labels(sub, extract=provenance)
    if downsample > 1:
        out = out.downsample(downsample)
        contacts = {face: _coarse_map(c, downsample) for face, c in contacts.items()}
    provenance["downsample"] = int(downsample)
    provenance["source_voxel_size_um"] = m.voxel_size_um
    provenance["shape"] = list(out.shape)
    provenance["voxel_size_um"] = out.voxel_size_um
    provenance["contact_fraction"] = {face: float(c.mean()) for face, c in contacts.items()}
    if overlay_grains_um is not None:
        out, provenance["overlay_grains"] = overlay_grains(
            out, overlay_grains_um, seed=overlay_seed
        )
    return out, contacts, provenance


def write_extract(out_dir: str | Path, m: Microstructure, contacts: dict[str, np.ndarray],
                  provenance: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """subvolume.h5 (labels), contact_top.npy, contact_bottom.npy and extract.json in `out_dir`."""
    out_dir = Path(out_dir)
    save(m, out_dir / "subvolume.h5")
    for face, contact in contacts.items():
        with atomic_path(out_dir / f"contact_{face}.npy") as tmp:
            with open(tmp, "wb") as fp:
                np.save(fp, contact)
    document = {**provenance, "files": {"labels": "subvolume.h5", "contact_top": "contact_top.npy",
                                        "contact_bottom": "contact_bottom.npy"}}  # fmt: skip
    write_json(out_dir / "extract.json", document)
    return document


__all__ = ["REGIONS", "extract", "write_extract"]
