"""`quantify`: every step measured identically (electrodes, electrolyte), then maps between the steps."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imaging.quantify import electrolyte, maps, profiles, tortuosity
from imaging.quantify.grey_labels import otsu_labels
from imaging.quantify.hotspots import find_spots
from imaging.quantify.modality import DEFINITION as MODALITY_DEFINITION
from imaging.quantify.modality import porosity_modality
from imaging.quantify.regions import (
    Edges,
    Layers,
    cell_columns,
    electrode_depth_vox,
    find_edges,
    find_layers,
    label_edges,
    level_volume,
)
from imaging.quantify.steps import StepStack, load_steps
from meso.errors import InputError

SIDES = ("bottom", "top")  # "top" is the electrode at the high end of the cell axis
LITHIUM = 3


@dataclass
class QuantifyParameters:
    """Every choice that shapes the numbers (all recorded in quantify.json), lengths in um."""

    band_um: float = 10.0
    depth_um: float = 500.0
    bin_um: float = 10.0
    electrolyte_bin_um: float = 36.0
    interface_um: float = 100.0
    tile_um: float = 10.0
    hot_spot_n_std: float = 2.0
    hot_spot_min_area_um2: float = 10.0
    hot_spot_smoothing_um: float = 1.0
    edge_smoothing_vox: float = 1.0
    layers: dict[str, list[int]] | None = None
    window_um: float = 100.0
    tortuosity: bool = True
    max_modes: int = 4

    def check(self) -> None:
        for name in ("band_um", "depth_um", "bin_um", "electrolyte_bin_um", "interface_um",
                     "tile_um", "window_um"):  # fmt: skip
            value = getattr(self, name)
            if not value > 0:
                raise InputError(f"--{name[:-3].replace('_', '-')}-um", f"must be > 0, got {value}")
        if min(self.hot_spot_n_std, self.hot_spot_min_area_um2, self.hot_spot_smoothing_um) < 0:
            raise InputError("--hot-spot-std", "hot-spot thresholds must be >= 0")
        if self.max_modes < 1:
            raise InputError("--max-modes", f"must be >= 1, got {self.max_modes}")


@dataclass
class QuantifyResult:
    """quantify.json's document, the arrays of quantify.h5, the CSV tables and what the figures need."""

    record: dict[str, Any]
    arrays: dict[str, np.ndarray]
    tables: dict[str, list[dict[str, Any]]]
    spot_maps: dict[str, np.ndarray] = field(default_factory=dict)
    stack: StepStack | None = None


def _check_contact(
    edges: Edges, side: str, labels: np.ndarray, source: str, band_vox: float
) -> None:
    """An electrode without lithium, or whose lithium stays out of the interface band (`band_vox`
    voxels next to the pellet) in all but 2% of the columns, is refused."""
    depth, mask = electrode_depth_vox(edges, side, labels.shape[2])
    li = mask & (labels == LITHIUM)
    if np.count_nonzero(li) < 0.01 * max(np.count_nonzero(mask), 1):
        raise InputError(source, f"the {side} electrode is absent: no lithium between its edges")
    near = np.any(li & (depth < max(band_vox, 1.5)), axis=2)
    if near[edges.inside].mean() < 0.02:
        raise InputError(
            source, f"the {side} electrode is fully delaminated: no lithium within "
            f"{band_vox:g} voxels of the pellet",
        )  # fmt: skip


def _step_measures(
    step,
    stack: StepStack,
    params: QuantifyParameters,
    source: str,
    windows: list[tortuosity.Window] | None,
    dense_cache: dict,
) -> dict:
    """Every per-step number; the tortuosity windows are planned on the first step (`windows`
    None) and reused for the others, so every step is solved on the same windows."""
    voxel = stack.voxel_size_um
    level = level_volume(step.grey, step.labels)
    override = Layers(**{k: tuple(v) for k, v in params.layers.items()}) if params.layers else None
    layers = find_layers(level, source, override)
    inside = cell_columns(level, layers)
    if step.grey is not None:
        edges = find_edges(level, layers, inside, smoothing_vox=params.edge_smoothing_vox)
    else:  # labels alone: their voxel faces
        edges = find_edges(level, layers, inside, smoothing_vox=0.0, half_level=0.5)
    if not edges.inside.any():
        raise InputError(source, "no column through the cell has all four edges")
    thresholds = {}
    grey_edges = edges
    if step.labels is not None:
        labels = step.labels
        if step.grey is not None:
            # what the labels measure (Li, pores) is measured between the labels' own edges;
            # the grey's sub-voxel edges give the envelope
            edges = label_edges(labels, inside, source, override)[1]
            if not edges.inside.any():
                raise InputError(source, "no column through the labelled cell has all four edges")
        for side in SIDES:
            _check_contact(edges, side, labels, source, params.band_um / stack.voxel_size_um)
    else:
        labels, thresholds = otsu_labels(step.grey, edges)
    out: dict[str, Any] = {"layers": layers.as_dict(), "edges": edges, "otsu": thresholds}
    for side in SIDES:
        envelope = maps.envelope_thickness_um(grey_edges, side, voxel)
        li = (
            maps.lithium_thickness_um(edges, side, labels, voxel)
            if step.labels is not None
            else None
        )
        out[side] = {
            "envelope_um": envelope,
            "thickness_um": li if li is not None else envelope,
            "pore_density": maps.pore_density(edges, side, labels, voxel, params.depth_um),
            "band_porosity": profiles.band_porosity(edges, side, labels, voxel, params.band_um),
            "depth_profile": profiles.depth_profile(edges, side, labels, voxel, params.bin_um),
            "local_porosity": profiles.local_porosity(
                edges, side, labels, voxel, band_um=params.band_um, tile_um=params.tile_um
            ),
        }
    out["electrolyte"] = {
        "profile": electrolyte.pellet_profile(edges, labels, voxel, params.electrolyte_bin_um),
        "subsurface": electrolyte.subsurface_porosity(edges, labels),
        "bulk_interfacial": electrolyte.bulk_and_interfacial(
            edges, labels, voxel, params.interface_um
        ),
    }
    if params.tortuosity:
        if windows is None:
            windows, regions = tortuosity.plan_windows(
                edges, voxel, window_um=params.window_um, interface_um=params.interface_um
            )
            out["tortuosity_plan"] = (windows, regions)
        out["tortuosity"] = tortuosity.window_tortuosity(
            labels, edges.inside, windows, voxel, dense_cache
        )
    return out


def _tortuosity_outputs(
    measures: list[dict], voxel: float, stack: StepStack, arrays: dict, tables: dict
) -> dict[str, Any]:
    """quantify.h5's `electrolyte/tortuosity_*` (steps x windows), the `tortuosity` table and
    the record: per-window values and the mean per region (interfacial bottom, bulk, top)."""
    from meso.conduction.results import TAU_DEFINITION

    windows, regions = measures[0]["tortuosity_plan"]
    per_step = [m["tortuosity"] for m in measures]
    for key in ("tortuosity_factor", "tortuosity_factor_normalised", "porosity"):
        name = key if key != "porosity" else "tortuosity_window_porosity"
        arrays[f"electrolyte/{name}"] = np.array([t[key] for t in per_step], np.float32).reshape(
            len(measures), len(windows)
        )
    centres = np.array([w.centre_um(voxel) for w in windows], np.float32).reshape(-1, 3)
    arrays["electrolyte/tortuosity_window_centres_um"] = centres
    arrays["electrolyte/tortuosity_window_slab"] = np.array([w.slab for w in windows], np.int32)
    names = (*stack.lateral_axes, stack.cell_axis)
    tables["tortuosity"] = []
    for index, t in enumerate(per_step):
        for k, window in enumerate(windows):
            tables["tortuosity"].append({
                "step": index, "window": k, "slab": window.slab, "region": window.region,
                **{f"centre_{n}_um": float(c) for n, c in zip(names, centres[k], strict=True)},
                "thickness_um": (window.c[1] - window.c[0]) * voxel,
                "porosity": float(t["porosity"][k]),
                "tortuosity_factor": float(t["tortuosity_factor"][k]),
                "tortuosity_factor_normalised": float(t["tortuosity_factor_normalised"][k]),
                "percolating": bool(t["percolating"][k]),
            })  # fmt: skip
    slab_of = np.array([w.slab for w in windows], int)
    region_of = np.array([w.region for w in windows], dtype=object).reshape(-1)

    def by(key: str, t: dict, select: np.ndarray) -> float | None:
        select = np.asarray(select, bool).reshape(-1)
        return _mean(t[key][select]) if select.any() else None

    return {
        "solver": "meso.conduct, method fv, along the cell axis of each window",
        "tortuosity_definition": TAU_DEFINITION,
        "normalisation": tortuosity.NORMALISATION,
        "lateral_window_um": [
            (windows[0].a[1] - windows[0].a[0]) * voxel if windows else None,
            (windows[0].b[1] - windows[0].b[0]) * voxel if windows else None,
        ],
        "slabs": [{"slab": k, "region": r} for k, r in enumerate(regions)],
        "windows": len(windows),
        "window_centres_um": centres.tolist(),
        "window_centres_axes": list(names),
        "per_step": [
            {
                "mean_by_region": {r: by("tortuosity_factor", t, region_of == r)
                                   for r in dict.fromkeys(regions)},
                "mean_normalised_by_region": {
                    r: by("tortuosity_factor_normalised", t, region_of == r)
                    for r in dict.fromkeys(regions)
                },
                "mean_by_slab": [by("tortuosity_factor", t, slab_of == k)
                                 for k in range(len(regions))],
                "tortuosity_factor": [_finite(v) for v in t["tortuosity_factor"]],
                "tortuosity_factor_normalised": [
                    _finite(v) for v in t["tortuosity_factor_normalised"]
                ],
                "porosity": [_finite(v) for v in t["porosity"]],
                "percolating": t["percolating"].tolist(),
            }
            for t in per_step
        ],
    }  # fmt: skip


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _mean(values: np.ndarray) -> float | None:
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


def quantify(
    steps: Sequence[str | Path],
    *,
    labels: Sequence[str | Path] | None = None,
    times_hours: Sequence[float] | None = None,
    cell_axis: str | None = None,
    voxel_size_um: float | None = None,
    parameters: QuantifyParameters | None = None,
    progress: Any = None,
) -> QuantifyResult:
    """Quantify a stack of cycling steps (reconstructions, with or without their labels, or
    label volumes alone), every step the same way; see the README's `meso quantify`.

    Thickness maps are the Li per unit area (the voxels the labels call Li between the labels'
    steel|Li and Li|LLZO faces) when labels are given, else the envelope between the grey's
    sub-voxel steel|Li and Li|LLZO edges; entry k of a current-density map is between step k and
    k + 1.
    """
    t0 = time.perf_counter()
    params = parameters or QuantifyParameters()
    params.check()
    stack = load_steps(
        steps,
        labels=labels,
        times_hours=times_hours,
        cell_axis=cell_axis,
        voxel_size_um=voxel_size_um,
    )
    voxel = stack.voxel_size_um
    measures = []
    windows, dense_cache = None, {}
    for step, files in zip(stack.steps, stack.files, strict=True):
        if progress is not None:
            progress(step.name)
        measures.append(_step_measures(step, stack, params, files["step"], windows, dense_cache))
        windows = windows if windows is not None else measures[0].get("tortuosity_plan", [None])[0]
    inside = np.logical_and.reduce([m["edges"].inside for m in measures])
    with_labels = stack.steps[0].labels is not None
    arrays: dict[str, np.ndarray] = {}
    tables: dict[str, list[dict[str, Any]]] = {"hot_spots": [], "profiles": [], "electrolyte": []}
    spot_maps: dict[str, np.ndarray] = {}
    record_sides: dict[str, Any] = {}
    times = stack.times_hours
    for side in SIDES:

        def stacked(key: str, side: str = side) -> np.ndarray:
            return np.stack([np.where(inside, m[side][key], np.nan) for m in measures]).astype(
                np.float32
            )

        thickness = stacked("thickness_um")
        pore_density = stacked("pore_density")
        arrays[f"electrodes/{side}/thickness_um"] = thickness
        arrays[f"electrodes/{side}/envelope_thickness_um"] = stacked("envelope_um")
        arrays[f"electrodes/{side}/pore_density"] = pore_density
        arrays[f"electrodes/{side}/pore_density_difference"] = np.diff(pore_density, axis=0)
        currents = []
        spots_record = []
        for k in range(len(measures) - 1):
            j = maps.current_density_uA_per_cm2(
                thickness[k], thickness[k + 1], times[k + 1] - times[k]
            )
            currents.append(j)
            rows, spot_map = find_spots(
                j, voxel, n_std=params.hot_spot_n_std, min_area_um2=params.hot_spot_min_area_um2,
                smoothing_um=params.hot_spot_smoothing_um,
            )  # fmt: skip
            spot_maps[f"{side}/{k}"] = spot_map
            for row in rows:
                tables["hot_spots"].append({"electrode": side, "interval": k, **row})
            spots_record.append(
                {
                    "interval": k,
                    "mean_j_uA_per_cm2": _mean(j),
                    "std_j_uA_per_cm2": float(np.nanstd(j)),
                    "hot": sum(r["kind"] == "hot" for r in rows),
                    "cold": sum(r["kind"] == "cold" for r in rows),
                }
            )
        shape = (0, *thickness.shape[1:])
        arrays[f"electrodes/{side}/current_density_uA_per_cm2"] = (
            np.stack(currents).astype(np.float32) if currents else np.zeros(shape, np.float32)
        )
        band = [m[side]["band_porosity"] for m in measures]
        first = band[0]
        for index, m in enumerate(measures):
            for row in m[side]["depth_profile"]:
                tables["profiles"].append({"electrode": side, "step": index, **row})
        record_sides[side] = {
            "mean_thickness_um": [_mean(t) for t in thickness],
            "mean_envelope_thickness_um": [_mean(t) for t in stacked("envelope_um")],
            "band_porosity": band,
            "band_porosity_normalised": [b / first if first else None for b in band],
            "mean_pore_density": [_mean(p) for p in pore_density],
            "depth_profiles": [m[side]["depth_profile"] for m in measures],
            "local_porosity": [
                {
                    "tiles": int(m[side]["local_porosity"].size),
                    "mean": _mean(m[side]["local_porosity"]),
                    "std": float(np.std(m[side]["local_porosity"]))
                    if m[side]["local_porosity"].size
                    else None,
                    "values": m[side]["local_porosity"].tolist(),
                    "modality": porosity_modality(
                        m[side]["local_porosity"], max_modes=params.max_modes
                    ),
                }
                for m in measures
            ],
            "current_density": spots_record,
        }
    arrays["electrolyte/subsurface_porosity"] = np.stack(
        [np.where(inside, m["electrolyte"]["subsurface"], np.nan) for m in measures]
    ).astype(np.float32)
    arrays["cell_columns"] = inside
    for index, m in enumerate(measures):
        for row in m["electrolyte"]["profile"]:
            tables["electrolyte"].append({"step": index, **row})
    record = {
        "quantity": "cycling quantification",
        "steps": [
            {"index": i, "name": s.name, "time_hours": None if times is None else times[i], **f}
            for i, (s, f) in enumerate(zip(stack.steps, stack.files, strict=True))
        ],
        "times_from": stack.times_from,
        "shape": list(stack.shape),
        "cell_axis": stack.cell_axis,
        "lateral_axes": list(stack.lateral_axes),
        "voxel_size_um": voxel,
        "parameters": asdict(params),
        "labels_from": "label files" if with_labels else "Otsu within each detected region",
        "thickness_definition": (
            "Li per unit area: the voxels the labels call lithium between the labels' steel|Li "
            "and Li|LLZO faces (envelope_thickness_um: between the grey's sub-voxel edges)"
            if with_labels
            else "envelope between the sub-voxel steel|Li and Li|LLZO edges (without labels, "
            "voids inside the electrode are not subtracted)"
        ),
        "current_density_definition": "j = (t2 - t1) F / (dt V_Li), F = 96485 C/mol, "
        "V_Li = 13.02 cm^3/mol, positive where the electrode grew; entry k: steps k -> k + 1",
        "hot_spot_definition": f"|j| smoothed laterally (Gaussian sigma "
        f"{params.hot_spot_smoothing_um:g} um) beyond mean +- {params.hot_spot_n_std:g} std, "
        f"connected, >= {params.hot_spot_min_area_um2:g} um^2",
        "units": {
            "thickness": "um",
            "current_density": "uA/cm^2",
            "porosity": "fraction",
            "lengths": "um",
            "time": "h",
            "area": "um^2",
        },
        "cell_columns": int(inside.sum()),
        "layers": [m["layers"] for m in measures],
        "otsu_thresholds": [m["otsu"] for m in measures],
        "electrodes": record_sides,
        "electrolyte": {
            "bulk_vs_interfacial": [m["electrolyte"]["bulk_interfacial"] for m in measures],
            "mean_subsurface_porosity": [
                _mean(s) for s in arrays["electrolyte/subsurface_porosity"]
            ],
            "profiles": [m["electrolyte"]["profile"] for m in measures],
        },
        "local_porosity_modality_definition": MODALITY_DEFINITION,
    }
    if params.tortuosity:
        record["electrolyte"]["tortuosity"] = _tortuosity_outputs(
            measures, voxel, stack, arrays, tables
        )
    record["wall_seconds"] = time.perf_counter() - t0
    return QuantifyResult(record, arrays, tables, spot_maps, stack)
