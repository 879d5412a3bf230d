"""The virtual in-situ experiment: build the cell, cycle it, scan every step to Data Exchange files."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from imaging.io_dxchange import write_dxchange
from imaging.phantom.cell import LITHIUM, PORE, build_cell
from imaging.phantom.cycling import (
    apply_step,
    current_density_map,
    hot_spot_centres,
    lithium_thickness_vox,
    thickness_change_m,
)
from imaging.phantom.forward import BeamlineSettings, simulate_scan
from imaging.reconstruction.phase import wavelength_m
from meso.errors import InputError
from meso.io.atomic import write_json
from meso.io.volumes import save
from meso.microstructure import Microstructure


@dataclass
class CyclingStep:
    """One galvanostatic step: `hours` at the mean current density, stripping the bottom or top Li."""

    name: str
    hours: float
    strip_bottom: bool


DEFAULT_STEPS = (
    CyclingStep("strip_bottom", 2.0, True),
    CyclingStep("strip_top", 2.0, False),
)


@dataclass
class PhantomConfig:
    """Everything that defines the virtual experiment (recorded in phantom.json).

    The defaults are the study's cell scaled down: 0.65 um voxels, 76.2 keV, phase contrast from a
    0.02 m sample-detector distance, and a dose at which Li and pores are hard to tell apart.
    """

    shape: tuple[int, int, int] = (128, 128, 128)
    voxel_size_um: float = 0.65
    grain_size_um: float = 6.0
    pellet_porosity: float = 0.05
    lithium_porosity: float = 0.01
    current_density_uA_per_cm2: float = 200.0
    n_hot_spots: int = 3
    hot_spot_gain: float = 4.0
    hot_spot_radius_um: float = 6.0
    steps: tuple[CyclingStep, ...] = DEFAULT_STEPS
    beamline: BeamlineSettings = field(default_factory=lambda: BeamlineSettings(distance_m=0.02))
    seed: int = 0


def _step_summary(labels: np.ndarray, geometry, voxel_size_um: float) -> dict[str, Any]:
    below, above = lithium_thickness_vox(labels, geometry)
    near = 3  # voxels either side of each interface
    bi, ti = geometry.bottom_interface, geometry.top_interface
    inside = geometry.inside

    def void_fraction(z0: int, z1: int) -> float:
        return float(np.mean(labels[:, :, z0:z1][inside] == PORE))

    return {
        "li_thickness_bottom_um_mean": float(below[inside].mean() * voxel_size_um),
        "li_thickness_top_um_mean": float(above[inside].mean() * voxel_size_um),
        "void_fraction_near_bottom_interface": void_fraction(bi - near, bi),
        "void_fraction_near_top_interface": void_fraction(ti, ti + near),
        "lithium_volume_fraction": float(np.mean(labels == LITHIUM)),
    }


def run_phantom(
    out_dir: str | Path, config: PhantomConfig, *, progress: bool = True
) -> dict[str, Any]:
    """Build, cycle and scan the virtual cell; write one Data Exchange file per step.

    Each ``step_NN_NAME.h5`` holds /exchange/{data, data_white, data_dark, theta} and the ground
    truth /ground_truth/{labels (x, y, z), attenuation_per_m (x, y, z),
    current_density_uA_per_cm2 (x, y), li_moved_vox (x, y), hot_spots_xy_um (n, 2)}, li_moved_vox
    being the Li voxels moved per column from the stripping to the plating electrode (j dt V_Li /
    F rounded stochastically to whole voxels). The map is the current's magnitude, the same for
    both electrodes: `meso quantify` (positive where an electrode grew) reports -j on the
    stripping one. The files' attribute time_hours is the cumulative cycling time; ``step_NN_NAME_labels.h5``
    holds the labels as a Microstructure (cell_axis "z") for the other commands. Returns phantom.json's dict.
    """
    out_dir = Path(out_dir)
    if any(step.hours < 0 for step in config.steps):
        raise InputError("--hours", "step durations must be >= 0")
    if config.current_density_uA_per_cm2 < 0:
        raise InputError("--current-density", "must be >= 0")
    t0 = time.perf_counter()
    geometry = build_cell(
        config.shape,
        config.voxel_size_um,
        grain_size_um=config.grain_size_um,
        pellet_porosity=config.pellet_porosity,
        lithium_porosity=config.lithium_porosity,
        seed=config.seed,
    )
    j_map = current_density_map(
        geometry.inside,
        config.current_density_uA_per_cm2,
        n_hot_spots=config.n_hot_spots,
        hot_spot_gain=config.hot_spot_gain,
        hot_spot_radius_vox=config.hot_spot_radius_um / config.voxel_size_um,
        seed=config.seed + 1,
    )
    # ground truth of hot-spot detection: the centres the map was built from, in um (x, y)
    hot_spots_um = (
        hot_spot_centres(
            geometry.inside,
            config.n_hot_spots,
            config.hot_spot_radius_um / config.voxel_size_um,
            seed=config.seed + 1,
        )
        * config.voxel_size_um
    ).astype(np.float64)
    plan = [CyclingStep("pristine", 0.0, True), *config.steps]
    labels = geometry.labels
    records = []
    time_hours = 0.0  # cumulative cycling time at the end of each step (the scan's time)
    for index, step in enumerate(tqdm(plan, desc="cycling steps", disable=not progress)):
        time_hours += step.hours
        change = np.zeros(j_map.shape, np.int32)
        if step.hours > 0:
            labels, moved = apply_step(
                labels,
                geometry,
                j_map,
                step.hours,
                config.voxel_size_um,
                strip_bottom=step.strip_bottom,
                seed=config.seed + 100 + index,
            )
            change = moved.stripped_vox.astype(np.int32)
        beam = BeamlineSettings(**{**asdict(config.beamline), "seed": config.seed + 200 + index})
        scan = simulate_scan(labels, config.voxel_size_um, beam)
        stem = f"step_{index:02d}_{step.name}"
        step_j = j_map if step.hours > 0 else np.zeros_like(j_map)
        write_dxchange(
            out_dir / f"{stem}.h5",
            scan["data"],
            scan["flats"],
            scan["darks"],
            scan["theta_deg"],
            extra={
                "/ground_truth/labels": labels,
                "/ground_truth/attenuation_per_m": scan["attenuation_per_m"],
                "/ground_truth/current_density_uA_per_cm2": step_j.astype(np.float32),
                "/ground_truth/li_moved_vox": change,
                "/ground_truth/hot_spots_xy_um": hot_spots_um.reshape(-1, 2),
            },
            attrs={
                "energy_kev": beam.energy_kev,
                "distance_m": beam.distance_m,
                "pixel_size_um": config.voxel_size_um,
                "step": step.name,
                "hours": step.hours,
                "time_hours": time_hours,
                "strip_bottom": step.strip_bottom,
                "cell_axis": "z",
            },
        )
        micro = Microstructure(
            labels,
            config.voxel_size_um,
            cell_axis="z",
            metadata={
                "source": f"meso phantom {stem}",
                "seed": config.seed,
                "step": step.name,
                "time_hours": time_hours,
            },
        )
        save(micro, out_dir / f"{stem}_labels.h5")
        records.append(
            {
                "index": index,
                "name": step.name,
                "hours": step.hours,
                "time_hours": time_hours,
                "strip_bottom": step.strip_bottom,
                "file": f"{stem}.h5",
                "labels_file": f"{stem}_labels.h5",
                "max_li_change_um_faraday": float(
                    thickness_change_m(j_map.max(), step.hours) * 1e6
                ),
                **_step_summary(labels, geometry, config.voxel_size_um),
            }
        )
    mu_table = dict(
        zip(
            ("pore", "grain", "grain_boundary", "lithium", "collector"),
            scan["mu_table_per_m"].tolist(),
            strict=True,
        )
    )
    result = {
        "config": asdict(config),
        "cell_axis": "z",
        "rotation_axis": "z (detector rows); detector columns run along x",
        "bottom_interface_z": geometry.bottom_interface,
        "top_interface_z": geometry.top_interface,
        "pellet_porosity": geometry.pellet_porosity,
        "n_grains": geometry.n_grains,
        "hot_spots_xy_um": hot_spots_um.tolist(),
        "hot_spot_radius_um": config.hot_spot_radius_um,
        "mu_per_m": mu_table,
        "delta": dict(zip(mu_table, scan["delta_table"].tolist(), strict=True)),
        # delta/beta with beta = mu lambda / (4 pi): the --delta-beta for Paganin retrieval
        "delta_beta": {
            name: float(delta / (mu * wavelength_m(config.beamline.energy_kev) / (4 * np.pi)))
            for name, mu, delta in zip(
                mu_table, scan["mu_table_per_m"], scan["delta_table"], strict=True
            )
            if mu > 0
        },
        "steps": records,
        "wall_seconds": time.perf_counter() - t0,
    }
    write_json(out_dir / "phantom.json", result)
    return result
