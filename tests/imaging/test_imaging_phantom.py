"""The virtual Li|LLZO|Li cell: Faraday's law per column, interfacial voids, and scans that reconstruct."""

from __future__ import annotations

import json
import subprocess

import h5py
import numpy as np
import pytest

from imaging.io_dxchange import open_dxchange
from imaging.phantom.cell import LITHIUM, PORE, build_cell
from imaging.phantom.cycling import apply_step, current_density_map, lithium_thickness_vox
from imaging.phantom.forward import BeamlineSettings, simulate_scan
from imaging.reconstruction.center import find_center
from imaging.reconstruction.phase import paganin
from imaging.reconstruction.preprocess import minus_log, normalize, remove_stripes
from imaging.reconstruction.slices import reconstruct_slice
from meso.io.volumes import load

# Faraday's law, written out here independently of imaging.phantom.cycling:
# Li thickness per unit charge = V_m / F = (6.941 g/mol / 0.534 g/cm^3) / 96485.33 C/mol.
LI_M_PER_COULOMB_PER_M2 = 6.941 / 0.534 * 1e-6 / 96485.33212


@pytest.fixture(scope="module")
def cycled():
    geometry = build_cell((48, 48, 48), 1.0, seed=3)
    j = current_density_map(geometry.inside, 100.0, hot_spot_gain=4.0, seed=4)
    labels, change = apply_step(geometry.labels, geometry, j, 3.0, 1.0, strip_bottom=True, seed=5)
    return geometry, j, labels, change


def test_thickness_change_follows_faraday_per_column(cycled):
    geometry, j, labels, change = cycled
    inside = geometry.inside
    below0, above0 = lithium_thickness_vox(geometry.labels, geometry)
    below1, above1 = lithium_thickness_vox(labels, geometry)
    np.testing.assert_array_equal((below0 - below1)[inside], change.stripped_vox[inside])
    np.testing.assert_array_equal((above1 - above0)[inside], change.plated_vox[inside])
    expected_vox = j * 1e-2 * 3.0 * 3600 * LI_M_PER_COULOMB_PER_M2 / 1e-6  # j in uA/cm^2
    moved = (above1 - above0)[inside]
    assert moved.mean() == pytest.approx(expected_vox[inside].mean(), abs=0.05)
    # unbiased rounding: within a voxel, except where the electrode ran out of Li
    exhausted = below0[inside] < expected_vox[inside] + 1
    assert np.abs(moved - expected_vox[inside])[~exhausted].max() < 1.0
    assert exhausted.mean() < 0.01
    assert np.count_nonzero(labels == LITHIUM) == np.count_nonzero(geometry.labels == LITHIUM)
    assert j[inside].mean() == pytest.approx(100.0)


def test_voids_grow_at_the_stripping_interface_under_hot_spots(cycled):
    geometry, j, labels, _ = cycled
    interface = labels[:, :, geometry.bottom_interface - 2 : geometry.bottom_interface]
    void_depth = np.count_nonzero(interface == PORE, axis=2)
    inside = geometry.inside
    hot = inside & (j >= np.quantile(j[inside], 0.95))
    cold = inside & (j <= np.quantile(j[inside], 0.5))
    assert void_depth[hot].mean() > 2 * void_depth[cold].mean()
    # the plating side's pores near the interface are filled first (porosity falls there)
    top = slice(geometry.top_interface, geometry.top_interface + 3)
    before = np.mean(geometry.labels[:, :, top][inside] == PORE)
    after = np.mean(labels[:, :, top][inside] == PORE)
    assert after < before


def test_phantom_cli_scan_reconstructs_to_ground_truth_at_high_dose(meso_exe, tmp_path):
    run = [*meso_exe, "phantom", "--out", str(tmp_path / "ph"), "--shape", "64", "--voxel-size",
           "1", "--angles", "90", "--cycles", "1", "--hours", "1", "--dose", "1e7",
           "--distance", "0", "--quiet"]  # fmt: skip
    assert subprocess.run(run, capture_output=True, text=True).returncode == 0
    record = json.loads((tmp_path / "ph" / "phantom.json").read_text())
    assert [s["name"] for s in record["steps"]] == [
        "pristine", "cycle1_strip_bottom", "cycle1_strip_top"
    ]  # fmt: skip
    scan = tmp_path / "ph" / "step_01_cycle1_strip_bottom.h5"
    done = subprocess.run(
        [
            *meso_exe,
            "reconstruct",
            str(scan),
            "--out",
            str(tmp_path / "rec.h5"),
            "--pixel-size",
            "1",
            "--slab-rows",
            "16",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with h5py.File(tmp_path / "rec.h5") as fh, h5py.File(scan) as truth:
        volume = fh["volume"][()]
        attenuation = truth["/ground_truth/attenuation_per_m"][()]
        labels = truth["/ground_truth/labels"][()]
        j_map = truth["/ground_truth/current_density_uA_per_cm2"][()]
    assert np.corrcoef(volume.ravel(), attenuation.ravel())[0, 1] >= 0.95
    grain = labels == 1
    assert volume[grain].mean() == pytest.approx(attenuation[grain].mean(), rel=0.1)
    assert j_map.shape == (64, 64) and j_map.max() > 2 * j_map[j_map > 0].mean()
    micro = load(tmp_path / "ph" / "step_01_cycle1_strip_bottom_labels.h5")
    assert micro.cell_axis == "z" and np.array_equal(micro.labels, labels)
    with open_dxchange(scan) as source:
        assert source.attrs["pixel_size_um"] == 1.0 and source.n_angles == 90


def _reconstruct(attenuation: np.ndarray, theta_deg: np.ndarray) -> np.ndarray:
    attenuation = remove_stripes(attenuation, "sorting")
    center = find_center(attenuation[:, attenuation.shape[1] // 2, :], theta_deg)
    slices = [
        reconstruct_slice(attenuation[:, z, :], center, theta_deg)
        for z in range(attenuation.shape[1])
    ]
    return np.stack(slices, axis=2) / 1e-6  # 1 um voxels -> 1/m


def test_default_scan_needs_paganin_and_li_hides_among_pores():
    """At the default distance and dose, -log shows phase fringes that Paganin removes, and the
    Li electrodes' Li and pores differ by less than the noise (as in the study)."""
    geometry = build_cell((48, 48, 48), 1.0, seed=7)
    scan = simulate_scan(geometry.labels, 1.0, BeamlineSettings(n_angles=90, distance_m=0.02))
    transmission = normalize(scan["data"], scan["flats"], scan["darks"])
    truth = scan["attenuation_per_m"].ravel()
    plain = _reconstruct(minus_log(transmission), scan["theta_deg"])
    retrieved = _reconstruct(
        paganin(transmission, energy_kev=76.2, distance_m=0.02, pixel_size_um=1.0, delta_beta=94),
        scan["theta_deg"],
    )
    r_plain, r_paganin = (np.corrcoef(v.ravel(), truth)[0, 1] for v in (plain, retrieved))
    assert r_paganin > 0.85 and r_plain < 0.7, (r_plain, r_paganin)
    electrodes = np.zeros(geometry.labels.shape, bool)
    li_layer = slice(geometry.bottom_interface - 7, geometry.bottom_interface)  # Li: 8 slices
    electrodes[:, :, li_layer] = geometry.inside[:, :, None]
    li = retrieved[electrodes & (geometry.labels == LITHIUM)]
    pores = retrieved[electrodes & (geometry.labels == PORE)]
    grain = retrieved[geometry.labels == 1]
    assert abs(li.mean() - pores.mean()) < li.std()
    assert grain.mean() - li.mean() > 3 * li.std()
