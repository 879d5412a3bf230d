"""Writing a quantification: quantify.json, quantify.h5, the CSV tables and the PNG figures."""

from __future__ import annotations

import itertools
from pathlib import Path

import h5py
import numpy as np

from imaging.quantify import figures
from imaging.quantify.pipeline import SIDES, QuantifyResult
from meso.io.atomic import atomic_path, write_csv, write_json

MAX_CROPS = 6
HOT_SPOT_COLUMNS = ("electrode", "interval", "kind", "label", "centre_a_um", "centre_b_um",
                    "area_um2", "mean_j_uA_per_cm2")  # fmt: skip


def _crops(result: QuantifyResult) -> list[tuple[str, np.ndarray, tuple[float, float]]]:
    """Slices along the cell axis through each hot spot's centre, from the step after its
    interval, with the position of their first voxel's corner in the volume (um)."""
    stack, voxel = result.stack, result.stack.voxel_size_um
    crops = []
    for row in [r for r in result.tables["hot_spots"] if r["kind"] == "hot"][:MAX_CROPS]:
        step = stack.steps[row["interval"] + 1]
        volume = step.grey if step.grey is not None else step.labels
        layers = result.record["layers"][row["interval"] + 1]
        c0, c1 = layers[f"{row['electrode']}_electrode"]
        c0, c1 = max(c0 - 6, 0), min(c1 + 6, volume.shape[2])
        a = int(row["centre_a_um"] / voxel)
        b = int(row["centre_b_um"] / voxel)
        half = max(8, int(3 * np.sqrt(row["area_um2"] / np.pi) / voxel))
        a0, a1 = max(a - half, 0), min(a + half, volume.shape[0])
        title = (f"{row['electrode']} {row['interval']}->{row['interval'] + 1}: "
                 f"{stack.lateral_axes[1]} = {row['centre_b_um']:.0f} um")  # fmt: skip
        plane = np.asarray(volume[a0:a1, min(b, volume.shape[1] - 1), c0:c1], float)
        crops.append((title, plane, (a0 * voxel, c0 * voxel)))
    return crops


def _axes(name: str, array: np.ndarray, lateral: tuple[str, str], cell_axis: str) -> str:
    """What each axis of a quantify.h5 dataset runs over."""
    if name == "electrolyte/tortuosity_window_centres_um":
        return f"window; {lateral[0]}, {lateral[1]}, {cell_axis} (um)"
    if name == "electrolyte/tortuosity_window_slab":
        return "window"
    if name.startswith("electrolyte/tortuosity"):
        return "step, window"
    return f"step, {lateral[0]}, {lateral[1]}" if array.ndim == 3 else ""


def _tortuosity_figure(result: QuantifyResult, out: Path, steps: list[str]) -> Path | None:
    """tortuosity_factor.png: the per-window tortuosity factors as lateral maps per slab."""
    record = result.record["electrolyte"].get("tortuosity")
    if not record or not record["windows"]:
        return None
    windows = result.arrays["electrolyte/tortuosity_window_centres_um"]
    slabs = result.arrays["electrolyte/tortuosity_window_slab"]
    width, width_b = record["lateral_window_um"]
    a_index = np.round(windows[:, 0] / width - 0.5).astype(int)
    b_index = np.round(windows[:, 1] / width_b - 0.5).astype(int)
    values = result.arrays["electrolyte/tortuosity_factor"]
    maps = np.full(
        (len(values), len(record["slabs"]), a_index.max() + 1, b_index.max() + 1), np.nan
    )
    for k in range(len(slabs)):
        maps[:, slabs[k], a_index[k], b_index[k]] = values[:, k]
    titles = [s["region"].replace("_", " ") for s in record["slabs"]]
    return figures.tortuosity_maps(
        maps,
        out / "tortuosity_factor.png",
        slab_titles=titles,
        step_titles=steps,
        lateral_axes=result.stack.lateral_axes,
        window_um=width,
    )


def write_outputs(result: QuantifyResult, out_dir: str | Path) -> list[Path]:
    """Every output of `meso quantify` into out_dir; returns the files written."""
    out = Path(out_dir)
    record, stack = result.record, result.stack
    voxel, lateral = stack.voxel_size_um, stack.lateral_axes
    written = [write_json(out / "quantify.json", record)]
    with atomic_path(out / "quantify.h5") as tmp, h5py.File(tmp, "w") as fh:
        for name, array in result.arrays.items():
            dataset = fh.create_dataset(name, data=array, compression="gzip")
            dataset.attrs["axes"] = _axes(name, array, lateral, stack.cell_axis)
        fh.attrs["voxel_size_um"] = voxel
        fh.attrs["cell_axis"] = stack.cell_axis
        fh.attrs["times_hours"] = np.asarray(stack.times_hours or [], float)
    written.append(out / "quantify.h5")
    for name, rows in result.tables.items():
        if rows:
            written.append(write_csv(out / f"{name}.csv", rows))
        elif name == "hot_spots":  # none found is a result too: the header alone
            with atomic_path(out / "hot_spots.csv") as tmp:
                tmp.write_text(",".join(HOT_SPOT_COLUMNS) + "\n")
            written.append(out / "hot_spots.csv")
    steps = [f"step {s['index']}" for s in record["steps"]]
    intervals = [f"{a} -> {b}" for a, b in itertools.pairwise(steps)]
    arrays = result.arrays
    for side in SIDES:
        base = f"electrodes/{side}"
        for name, key, label, titles, symmetric in (
            ("current_density", "current_density_uA_per_cm2", "j (uA/cm$^2$)", intervals, True),
            ("thickness", "thickness_um", "Li thickness (um)", steps, False),
            ("pore_density", "pore_density", "porosity (fraction)", steps, False),
            ("pore_density_difference", "pore_density_difference", "porosity change (fraction)",
             intervals, True),
        ):  # fmt: skip
            path = figures.map_row(
                arrays[f"{base}/{key}"],
                out / f"{name}_{side}.png",
                title=f"{side} electrode: {name.replace('_', ' ')}",
                panel_titles=titles,
                colorbar_label=label,
                lateral_axes=lateral,
                voxel_size_um=voxel,
                symmetric=symmetric,
            )
            if path:
                written.append(path)
    path = figures.map_row(
        arrays["electrolyte/subsurface_porosity"],
        out / "subsurface_porosity.png",
        title="electrolyte: porosity along the cell axis",
        panel_titles=steps,
        colorbar_label="porosity (fraction)",
        lateral_axes=lateral,
        voxel_size_um=voxel,
    )
    written.append(path)
    written.append(figures.porosity_profiles(record, out / "porosity_profiles.png"))
    written.append(figures.electrolyte_profiles(record, out / "electrolyte_profile.png"))
    path = _tortuosity_figure(result, out, steps)
    if path:
        written.append(path)
    grey = stack.steps[0].grey is not None
    path = figures.spot_crops(
        _crops(result),
        out / "hot_spot_slices.png",
        names=(lateral[0], stack.cell_axis),
        voxel_size_um=voxel,
        colorbar_label="attenuation (1/m)" if grey else "label",
    )
    if path:
        written.append(path)
    return written
