"""Quantification over cycling steps against the virtual cell's truth: current density, hot spots, thickness."""

from __future__ import annotations

import json
import subprocess

import h5py
import numpy as np
import pytest

from imaging.io_dxchange import open_dxchange
from imaging.phantom.experiment import CyclingStep, PhantomConfig, run_phantom
from imaging.phantom.forward import BeamlineSettings
from imaging.quantify import QuantifyParameters, quantify
from imaging.reconstruction.volume import ReconstructionSettings, reconstruct_to_file
from meso.errors import InputError
from meso.io.volumes import load, save

LITHIUM, PORE = 3, 0
VOXEL_UM = 1.0


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    """A 64^3 virtual cell at 1 um, pristine + strip bottom + strip top (2 h each, 200 uA/cm^2),
    scanned in absorption at a high dose and reconstructed."""
    root = tmp_path_factory.mktemp("quantify")
    config = PhantomConfig(
        shape=(64, 64, 64),
        voxel_size_um=VOXEL_UM,
        steps=(CyclingStep("strip_bottom", 2.0, True), CyclingStep("strip_top", 2.0, False)),
        beamline=BeamlineSettings(n_angles=90, distance_m=0.0, photons_per_pixel=1e6),
        seed=0,
    )
    record = run_phantom(root / "ph", config, progress=False)
    recs, labels, truth = [], [], []
    for step in record["steps"]:
        rec = root / f"rec_{step['index']}.h5"
        with open_dxchange(root / "ph" / step["file"]) as source:
            reconstruct_to_file(
                source, rec, ReconstructionSettings(slab_rows=16, pixel_size_um=VOXEL_UM),
                progress=False,
            )  # fmt: skip
        with h5py.File(root / "ph" / step["file"]) as fh:
            truth.append({name: fh[f"/ground_truth/{name}"][()] for name in
                          ("labels", "current_density_uA_per_cm2", "hot_spots_xy_um")})  # fmt: skip
        recs.append(rec)
        labels.append(root / "ph" / step["labels_file"])
    result = quantify(recs, labels=labels)  # times from the label files' metadata
    return {"root": root, "record": record, "recs": recs, "labels": labels, "truth": truth,
            "result": result}  # fmt: skip


@pytest.fixture(scope="module")
def phase_cell(tmp_path_factory):
    """The virtual cell as the study scanned it: 0.65 um voxels, phase contrast at 0.02 m, the
    default dose (Li and voids alike in grey) and ring-causing stripes, Paganin-retrieved with
    LLZO's delta/beta; 64^3 with 4 um hot spots so that the three stay apart in the true map."""
    root = tmp_path_factory.mktemp("quantify_phase")
    config = PhantomConfig(
        shape=(64, 64, 64),
        hot_spot_radius_um=4.0,
        steps=(CyclingStep("strip_bottom", 2.0, True), CyclingStep("strip_top", 2.0, False)),
        beamline=BeamlineSettings(n_angles=90, distance_m=0.02),
        seed=0,
    )
    record = run_phantom(root / "ph", config, progress=False)
    recs = []
    for step in record["steps"]:
        recs.append(root / f"rec_{step['index']}.h5")
        settings = ReconstructionSettings(
            slab_rows=16, pixel_size_um=config.voxel_size_um, phase=True, energy_kev=76.2,
            distance_m=0.02, delta_beta=record["delta_beta"]["grain"],
        )  # fmt: skip
        with open_dxchange(root / "ph" / step["file"]) as source:
            reconstruct_to_file(source, recs[-1], settings, progress=False)
    truth = []
    for step in record["steps"][1:]:
        with h5py.File(root / "ph" / step["file"]) as fh:
            truth.append({name: fh[f"/ground_truth/{name}"][()] for name in
                          ("current_density_uA_per_cm2", "li_moved_vox", "hot_spots_xy_um")})  # fmt: skip
    labels = [root / "ph" / step["labels_file"] for step in record["steps"]]
    # the true labels isolate quantify from the segmentation
    result = quantify(recs, labels=labels, parameters=QuantifyParameters(tortuosity=False))
    return {"record": record, "recs": recs, "truth": truth, "result": result}


def test_stripping_map_of_a_phase_contrast_scan_matches_the_truth(phase_cell):
    """Sign and orientation: the stripping electrode thins where the true (magnitude) map is
    large, the plating one grows, "top" is the high-z electrode and the lateral axes are x, y.
    Before the Li was counted between the labels' own faces, the grey steel|Li edge (cupped by
    the single-material phase retrieval) gave r = 0.84 / 0.83 here and 0.04 on the plating side."""
    arrays, record = phase_cell["result"].arrays, phase_cell["record"]
    voxel_um = record["config"]["voxel_size_um"]
    per_voxel = voxel_um * 1e-6 * 96485.0 / (2.0 * 3600 * 13.02e-6) * 100  # uA/cm^2 per voxel
    for interval, (stripping, plating) in enumerate((("bottom", "top"), ("top", "bottom"))):
        true_j = phase_cell["truth"][interval]["current_density_uA_per_cm2"]
        j = arrays[f"electrodes/{stripping}/current_density_uA_per_cm2"][interval]
        j_plate = arrays[f"electrodes/{plating}/current_density_uA_per_cm2"][interval]
        inside = np.isfinite(j)
        assert inside.sum() > 0.95 * np.count_nonzero(true_j)
        r = np.corrcoef(-j[inside], true_j[inside])[0, 1]
        assert r >= 0.95, (stripping, r)  # 0.973: the phantom moves whole voxels
        assert np.corrcoef(-j[inside], true_j.T[inside])[0, 1] < 0.6  # transposed: 0.46
        assert np.corrcoef(j_plate[inside], true_j[inside])[0, 1] >= 0.95
        assert np.mean(j[inside]) == pytest.approx(-np.mean(true_j[inside]), rel=0.03)
        # exactly the Li the phantom moved, to float precision
        moved = phase_cell["truth"][interval]["li_moved_vox"]
        assert np.allclose(-j[inside], moved[inside] * per_voxel, atol=0.01)


def test_hot_spots_of_a_phase_contrast_scan_are_found(phase_cell):
    """Each true hot spot matched by at most one found spot within its radius, and back."""
    radius = phase_cell["record"]["hot_spot_radius_um"]
    voxel_um = phase_cell["record"]["config"]["voxel_size_um"]
    rows = phase_cell["result"].tables["hot_spots"]
    for interval, stripping in enumerate(("bottom", "top")):
        true_um = phase_cell["truth"][interval]["hot_spots_xy_um"] + 0.5 * voxel_um
        found = np.array([[r["centre_a_um"], r["centre_b_um"]] for r in rows
                          if r["electrode"] == stripping and r["interval"] == interval
                          and r["kind"] == "hot"]).reshape(-1, 2)  # fmt: skip
        distance = np.linalg.norm(found[:, None, :] - true_um[None, :, :], axis=2)
        matched = 0
        while distance.size and distance.min() < radius:  # greedy one-to-one matching
            a, b = np.unravel_index(np.argmin(distance), distance.shape)
            matched += 1
            distance[a, :] = distance[:, b] = np.inf
        precision, recall = matched / max(len(found), 1), matched / len(true_um)
        assert precision >= 0.8 and recall >= 0.8, (stripping, precision, recall, found, true_um)


def test_reconstructions_carry_the_scan_time_and_step(phase_cell, tmp_path):
    """`meso reconstruct` copies the scan's time_hours and step, so no --times-hours is needed."""
    import shutil

    from imaging.quantify.steps import load_steps

    stack = load_steps(phase_cell["recs"])  # reconstructions alone: no label metadata
    assert stack.times_from.startswith("file metadata")
    assert stack.times_hours == [s["time_hours"] for s in phase_cell["record"]["steps"]]
    assert [s.name for s in stack.steps] == [s["name"] for s in phase_cell["record"]["steps"]]
    with h5py.File(phase_cell["recs"][1]) as fh:
        assert fh["volume"].attrs["step"] == "strip_bottom"
        assert fh["volume"].attrs["cell_axis"] == "z"
    turned = shutil.copy(phase_cell["recs"][0], tmp_path / "turned.h5")
    with h5py.File(turned, "r+") as fh:
        fh["volume"].attrs["cell_axis"] = "x"  # a scan whose cell axis lies across the rows
    assert load_steps([turned]).cell_axis == "x"


def _true_li_um(labels: np.ndarray, record: dict, side: str) -> np.ndarray:
    below = labels[:, :, : record["bottom_interface_z"]]
    above = labels[:, :, record["top_interface_z"] :]
    return np.count_nonzero((below if side == "bottom" else above) == LITHIUM, axis=2) * VOXEL_UM


def test_stripping_current_density_correlates_with_the_true_map(cell):
    arrays, truth = cell["result"].arrays, cell["truth"]
    assert cell["result"].record["times_from"].startswith("file metadata")
    for interval, stripping in ((0, "bottom"), (1, "top")):
        j = arrays[f"electrodes/{stripping}/current_density_uA_per_cm2"][interval]
        true_j = truth[interval + 1]["current_density_uA_per_cm2"]
        inside = np.isfinite(j)
        assert inside.sum() > 0.8 * np.count_nonzero(true_j)
        # stripping: the electrode thins, so j < 0 where the true (magnitude) map is large
        r = np.corrcoef(-j[inside], true_j[inside])[0, 1]
        assert r >= 0.9, (stripping, r)
        assert np.mean(j[inside]) == pytest.approx(-np.mean(true_j[inside]), rel=0.1)
        plating = "top" if stripping == "bottom" else "bottom"
        j_plate = arrays[f"electrodes/{plating}/current_density_uA_per_cm2"][interval]
        assert np.corrcoef(j_plate[inside], true_j[inside])[0, 1] >= 0.85


def test_hot_spots_are_found(cell):
    true_um = cell["truth"][1]["hot_spots_xy_um"] + 0.5 * VOXEL_UM  # voxel index -> centre
    radius = cell["record"]["hot_spot_radius_um"]
    rows = cell["result"].tables["hot_spots"]
    for interval, stripping in ((0, "bottom"), (1, "top")):
        found = np.array([[r["centre_a_um"], r["centre_b_um"]] for r in rows
                          if r["electrode"] == stripping and r["interval"] == interval
                          and r["kind"] == "hot"])  # fmt: skip
        assert len(found), stripping
        distance = np.linalg.norm(found[:, None, :] - true_um[None, :, :], axis=2)
        precision = np.mean(distance.min(axis=1) < radius)
        recall = np.mean(distance.min(axis=0) < radius)
        assert precision >= 0.8 and recall >= 0.8, (stripping, precision, recall, found, true_um)


def test_thickness_is_sub_voxel(cell):
    arrays, truth, record = cell["result"].arrays, cell["truth"], cell["record"]
    for side in ("bottom", "top"):
        thickness = arrays[f"electrodes/{side}/thickness_um"]
        assert thickness.shape == (3, 64, 64)
        for step in range(3):
            inside = np.isfinite(thickness[step])
            error = (
                thickness[step][inside] - _true_li_um(truth[step]["labels"], record, side)[inside]
            )
            assert np.abs(error).mean() < 0.5 * VOXEL_UM, (side, step, np.abs(error).mean())


def test_envelope_edges_from_the_reconstruction_alone_are_sub_voxel(cell):
    """Without labels the thickness is the steel|Li to Li|LLZO distance; on the pristine cell
    (no voids yet) it must match the true electrode extent to well under a voxel."""
    result = quantify(cell["recs"][:1], voxel_size_um=VOXEL_UM)
    labels = cell["truth"][0]["labels"]
    for side, layer in (("bottom", slice(0, 32)), ("top", slice(32, 64))):
        column = labels[:, :, layer]
        true_extent = np.count_nonzero(np.isin(column, (LITHIUM, PORE)) & _between(column), axis=2)
        envelope = result.arrays[f"electrodes/{side}/thickness_um"][0]
        inside = np.isfinite(envelope)
        assert np.abs(envelope[inside] - true_extent[inside]).mean() < 0.5


def _between(column: np.ndarray) -> np.ndarray:
    """Voxels between the collector (4) and the pellet (1, 2) in each column of a half cell."""
    collector = np.isin(column, (4,))
    pellet = np.isin(column, (1, 2))
    c = np.arange(column.shape[2])
    last_collector = np.where(collector, c, -1).max(axis=2) if column[..., 0].size else None
    first_pellet = np.where(pellet, c, 10**6).min(axis=2)
    last_pellet = np.where(pellet, c, -1).max(axis=2)
    first_collector = np.where(collector, c, 10**6).min(axis=2)
    bottom = last_collector < first_pellet  # collector below the pellet
    lo = np.where(bottom, last_collector, last_pellet)[:, :, None]
    hi = np.where(bottom, first_pellet, first_collector)[:, :, None]
    return (c > lo) & (c < hi)


def test_interface_porosity_rises_on_stripping_and_falls_on_plating(cell):
    sides = cell["result"].record["electrodes"]
    bottom, top = sides["bottom"]["band_porosity"], sides["top"]["band_porosity"]
    assert bottom[1] > bottom[0] and bottom[2] < bottom[1]  # stripped, then plated
    assert top[1] < top[0] and top[2] > top[1]  # plated, then stripped
    assert sides["bottom"]["band_porosity_normalised"][0] == 1.0
    pore_density = cell["result"].arrays["electrodes/bottom/pore_density"]
    assert np.nanmean(pore_density[1]) > np.nanmean(pore_density[0])


def test_electrolyte_porosity_matches_the_pellet(cell):
    record = cell["result"].record
    pellet = cell["record"]["pellet_porosity"]
    for mean in record["electrolyte"]["mean_subsurface_porosity"]:
        assert mean == pytest.approx(pellet, abs=0.015)
    params = QuantifyParameters(interface_um=4.0, electrolyte_bin_um=5.0)
    result = quantify(cell["labels"], parameters=params)
    split = result.record["electrolyte"]["bulk_vs_interfacial"][0]
    assert split["bulk"] == pytest.approx(pellet, abs=0.02)
    assert split["interfacial"] == pytest.approx(pellet, abs=0.03)
    assert len(result.record["electrolyte"]["profiles"][0]) == 4  # 20 um pellet in 5 um bins


def test_cli_writes_the_contract(cell, meso_exe, tmp_path):
    out = tmp_path / "q"
    run = [*meso_exe, "quantify", *map(str, cell["recs"]), "--labels", *map(str, cell["labels"]),
           "--out", str(out), "--quiet"]  # fmt: skip
    done = subprocess.run(run, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "quantify.json").read_text())
    assert record["units"]["current_density"] == "uA/cm^2"
    assert [s["time_hours"] for s in record["steps"]] == [0.0, 2.0, 4.0]
    with h5py.File(out / "quantify.h5") as fh:
        for side in ("top", "bottom"):
            assert fh[f"electrodes/{side}/thickness_um"].shape == (3, 64, 64)
            assert fh[f"electrodes/{side}/current_density_uA_per_cm2"].shape == (2, 64, 64)
            assert fh[f"electrodes/{side}/pore_density"].shape == (3, 64, 64)
        assert fh["electrolyte/subsurface_porosity"].shape == (3, 64, 64)
        tau = fh["electrolyte/tortuosity_factor"]
        n_windows = fh["electrolyte/tortuosity_window_centres_um"].shape[0]
        assert n_windows >= 2 and tau.shape == (3, n_windows)
        assert np.all(tau[()] >= 1.0) and np.all(tau[()] < 1.5)  # a 5% porous pellet
    tortuosity = record["electrolyte"]["tortuosity"]
    assert "dense" in tortuosity["normalisation"]
    assert {s["region"] for s in tortuosity["slabs"]} >= {"interfacial_bottom", "interfacial_top"}
    modality = record["electrodes"]["bottom"]["local_porosity"][0]["modality"]
    assert modality["modes"] in (1, 2, 3, 4) and modality["samples"] > 10
    for name in ("hot_spots.csv", "profiles.csv", "current_density_top.png", "hot_spot_slices.png",
                 "tortuosity.csv", "tortuosity_factor.png"):  # fmt: skip
        assert (out / name).is_file(), name


def _variant(cell, tmp_path, name, change):
    micro = load(cell["labels"][0])
    labels = micro.labels.copy()
    change(labels)
    path = tmp_path / f"{name}.h5"
    save(micro.with_labels(labels), path)
    return path


def test_edge_cases_are_clear_errors(cell, tmp_path, meso_exe):
    first, second = cell["labels"][:2]
    bi, ti = cell["record"]["bottom_interface_z"], cell["record"]["top_interface_z"]

    def absent(labels):  # top electrode replaced by steel: the collector touches the pellet
        labels[:, :, ti:][labels[:, :, ti:] == LITHIUM] = 4

    def delaminated(labels):  # a void across the whole bottom interface, as deep as the band
        labels[:, :, bi - 10 : bi][labels[:, :, bi - 10 : bi] == LITHIUM] = PORE

    with pytest.raises(InputError, match="top electrode is absent"):
        quantify([_variant(cell, tmp_path, "absent", absent), second])
    with pytest.raises(InputError, match="bottom electrode is fully delaminated"):
        quantify([_variant(cell, tmp_path, "delam", delaminated), second])
    small = load(first)
    save(small.crop((0, 0, 0), (60, 60, 64)), tmp_path / "small.h5")
    with pytest.raises(InputError, match="differs from"):
        quantify([first, tmp_path / "small.h5"])
    save(load(second, voxel_size_um=0.5), tmp_path / "half.h5")
    with pytest.raises(InputError, match="voxel size 0.5 um differs"):
        quantify([first, tmp_path / "half.h5"])
    with pytest.raises(InputError, match="do not match the reconstruction"):
        quantify(cell["recs"][:2], labels=[first, tmp_path / "small.h5"])
    done = subprocess.run(
        [*meso_exe, "quantify", str(first), str(tmp_path / "small.h5"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "o").exists()


def test_tortuosity_of_a_pore_layer_exceeds_that_of_a_dense_window():
    """A pellet 40 voxels thick between flat interfaces at 10 and 50: the bottom interfacial
    band (10 um) holds a perforated pore layer normal to the cell axis, the rest is dense."""
    from imaging.quantify.regions import Edges
    from imaging.quantify.tortuosity import plan_windows, window_tortuosity

    n = 16
    labels = np.full((n, n, 60), LITHIUM, np.uint8)
    labels[:, :, 10:50] = 1
    labels[:, :, 15] = PORE
    labels[::4, ::4, 15] = 1  # one column in 16 passes the layer
    flat = np.ones((n, n))
    edges = Edges(np.ones((n, n), bool), 0 * flat, 10 * flat, 50 * flat, 60 * flat)
    windows, regions = plan_windows(edges, 1.0, window_um=8, interface_um=10)
    assert regions == ["interfacial_bottom", "bulk", "bulk", "interfacial_top"]
    assert len(windows) == 4 * 4 and windows[0].c == (10, 20)
    out = window_tortuosity(labels, edges.inside, windows, 1.0)
    bottom = np.array([w.region == "interfacial_bottom" for w in windows])
    assert np.all(out["tortuosity_factor"][bottom] > 1.5)
    assert np.allclose(out["tortuosity_factor"][~bottom], 1.0, atol=1e-9)
    assert np.allclose(out["tortuosity_factor_normalised"][~bottom], 1.0)
    assert np.allclose(out["porosity"][bottom], (1 - 4 / 64) / 10)  # 60 of 64 in one of 10


def test_modality_tells_bimodal_from_unimodal_porosity():
    from imaging.quantify.modality import porosity_modality

    rng = np.random.default_rng(3)
    unimodal = rng.normal(0.10, 0.02, 200)
    bimodal = np.r_[rng.normal(0.05, 0.01, 100), rng.normal(0.25, 0.02, 100)]
    assert porosity_modality(unimodal)["modes"] == 1
    two = porosity_modality(bimodal)
    assert two["modes"] == 2 and two["means"] == pytest.approx([0.05, 0.25], abs=0.01)
    assert porosity_modality(np.full(20, 0.1))["modes"] is None  # no spread
    assert porosity_modality(unimodal[:5])["modes"] is None  # too few tiles


def test_thickness_read_in_lateral_blocks_matches_the_whole_volume(cell):
    from imaging.quantify.blocks import electrode_thickness_in_blocks

    whole = cell["result"].arrays
    for step in (0, 1):
        blocks = electrode_thickness_in_blocks(
            cell["recs"][step], labels_path=cell["labels"][step], voxel_size_um=VOXEL_UM, block=16
        )
        assert blocks["largest_block_bytes"] <= 16 * 16 * 64 * 5
        for side in ("bottom", "top"):
            mine = blocks[f"{side}_thickness_um"]
            theirs = whole[f"electrodes/{side}/thickness_um"][step]
            both = np.isfinite(mine) & np.isfinite(theirs)
            assert both.sum() > 0.9 * np.isfinite(theirs).sum()
            assert np.abs(mine[both] - theirs[both]).mean() < 0.05, side


def _label_cell(shape, seed, *, thicker_centre=0):
    """Labels (a, b, cell axis last): steel | Li with 5% pores and 1% steel/LLZO specks |
    LLZO | Li | steel, gas around, collectors that step per column; the electrodes of the
    central columns `thicker_centre` voxels thicker."""
    rng = np.random.default_rng(seed)
    n_a, n_b, n_c = shape
    labels = np.full(shape, LITHIUM, np.uint8)
    c = np.arange(n_c)[None, None, :]
    shift = rng.integers(0, 4, (n_a, n_b))[:, :, None]
    centre = np.zeros((n_a, n_b, 1), int)
    centre[n_a // 3 : 2 * n_a // 3, n_b // 3 : 2 * n_b // 3] = thicker_centre
    labels[c < 3 + shift - centre] = PORE
    labels[(c >= 3 + shift - centre) & (c < 8 + shift - centre)] = 4
    labels[:, :, n_c // 2 - 4 : n_c // 2 + 4] = 1
    top = n_c - 8 - shift + centre
    labels[(c >= top) & (c < top + 5)] = 4
    labels[c >= top + 5] = PORE
    li = labels == LITHIUM
    draw = rng.random(shape)
    labels[li & (draw < 0.05)] = PORE
    labels[li & (draw > 0.99)] = rng.choice(
        np.array([1, 2, 4], np.uint8), size=(li & (draw > 0.99)).sum()
    )
    labels[:2] = PORE  # gas beside the cell
    return labels


def _reference_thickness(labels, voxel_um):
    """The numpy path on the whole volume: layers, cell columns, label faces, Li between them."""
    from imaging.quantify.maps import envelope_thickness_um, lithium_thickness_um
    from imaging.quantify.regions import cell_columns, find_edges, find_layers, level_volume

    level = level_volume(None, labels)
    layers = find_layers(level, "ref")
    inside = cell_columns(level, layers)
    edges = find_edges(level, layers, inside, smoothing_vox=0.0, half_level=0.5)
    return {f"{side}_{kind}": fn(*args).astype(np.float32)
            for side in ("bottom", "top")
            for kind, fn, args in (("thickness_um", lithium_thickness_um, (edges, side, labels, voxel_um)),
                                   ("envelope_um", envelope_thickness_um, (edges, side, voxel_um)))}  # fmt: skip


@pytest.mark.parametrize(("thicker_centre", "compression", "passes"),
                         [(0, None, {64: 1}), (0, "gzip", {64: 1}), (3, None, {8: 2, 64: 1})])  # fmt: skip
def test_label_blocks_equal_the_whole_volume_bit_for_bit(tmp_path, thicker_centre, compression,
                                                         passes):  # fmt: skip
    """The numba block path (faces, counts, cell columns; one pass when the centre block's
    layers hold everywhere, two when its electrodes' middles fall outside other columns' dark
    runs) gives exactly the numpy whole-volume numbers, chunks cut by the blocks or not."""
    from imaging.quantify.blocks import electrode_thickness_in_blocks

    labels = _label_cell((37, 41, 90), seed=thicker_centre, thicker_centre=thicker_centre)
    path = tmp_path / "labels.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("labels", data=labels, chunks=(12, 10, 30), compression=compression)
    expected = _reference_thickness(labels, 0.65)
    assert np.isfinite(expected["bottom_thickness_um"]).mean() > 0.8
    for block in (8, 16, 64):
        mine = electrode_thickness_in_blocks(path, dataset=None, voxel_size_um=0.65, block=block)
        assert mine["passes"] == passes.get(block, mine["passes"])  # 64: one block, its layers
        for key, value in expected.items():
            np.testing.assert_array_equal(mine[key], value, err_msg=f"{key} block {block}")


def test_crossing_kernel_equals_the_numpy_walk():
    """`regions._crossing` (numba, stops at the crossing) against the gathered numpy walk it
    replaced, on noisy, rounded (ties) and flat profiles, both directions and short walks."""
    from imaging.quantify.regions import _crossing

    def numpy_crossing(profile, half, start, stop, step):
        order = np.arange(start, stop, step)
        if len(order) < 2:
            return np.full(profile.shape[:2], np.nan)
        walk = profile[:, :, order]
        above = walk >= half[:, :, None]
        above[:, :, 0] = False
        k = np.maximum(np.argmax(above, axis=2), 1)
        v1 = np.take_along_axis(walk, k[:, :, None], 2)[:, :, 0]
        v0 = np.take_along_axis(walk, (k - 1)[:, :, None], 2)[:, :, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.clip((half - v0) / (v1 - v0), 0.0, 1.0)
        return np.where(above.max(axis=2), order[k - 1] + 0.5 + step * frac, np.nan)

    rng = np.random.default_rng(3)
    for trial in range(6):
        profile = rng.normal(size=(9, 11, 40)).astype(np.float32)
        if trial % 3 == 1:
            profile = np.round(profile)  # ties and equal neighbours: 0/0 and x/0
        if trial % 3 == 2:
            profile[:] = 0.5
        half = np.round(rng.normal(size=(9, 11)), 1).astype(np.float32)
        for start, stop, step in ((20, 40, 1), (20, -1, -1), (0, 1, 1), (39, 40, 1), (5, -1, -1)):
            np.testing.assert_array_equal(
                _crossing(profile, half, start, stop, step),
                numpy_crossing(profile, half, start, stop, step),
            )
