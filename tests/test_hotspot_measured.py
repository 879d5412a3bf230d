"""`meso hotspot --measured`: measured maps onto the window of an extracted subvolume, and the
virtual cell's predicted interfacial current against its true and its measured (thickness-change)
current-density maps."""

import json

import numpy as np
import pytest

from meso import InputError
from meso.cli import main
from meso.studies.hotspot_measured import resample_onto_face, smooth_map


def test_same_voxel_size_takes_the_block_means_of_the_window():
    values = np.arange(20 * 16, dtype=float).reshape(20, 16)
    values[5, 6] = np.nan  # a hole is left out of its block's mean
    face = resample_onto_face(values, (3, 4), ([4, 2], 2, 0.5), 0.5, "map.npy")
    window = values[4:10, 2:10]
    for p in range(3):
        for q in range(4):
            assert face[p, q] == pytest.approx(
                np.nanmean(window[2 * p : 2 * p + 2, 2 * q : 2 * q + 2])
            )
    with pytest.raises(InputError, match="does not cover"):
        resample_onto_face(values, (9, 4), ([4, 2], 2, 0.5), 0.5, "map.npy")


def test_another_voxel_size_interpolates_at_the_pixel_centres():
    """A linear map is interpolated exactly: the centre of face pixel (p, q) of a subvolume at
    offsets (o0, o1) source voxels of 0.5 um, downsampled by 3, lies at ((o + (p + 0.5) 3) 0.5)
    um, which is map pixel (that / 1.3 - 0.5) of a map at 1.3 um."""
    i, j = np.mgrid[:30, :30].astype(float)
    values = 2.0 * i - 0.5 * j + 7
    face = resample_onto_face(values, (5, 6), ([6, 3], 3, 0.5), 1.3, "map.npy")
    centres = [((o + (np.arange(n) + 0.5) * 3) * 0.5) / 1.3 - 0.5 for o, n in ((6, 5), (3, 6))]
    expected = 2.0 * centres[0][:, None] - 0.5 * centres[1][None, :] + 7
    assert face == pytest.approx(expected, rel=1e-12)


def test_smoothing_keeps_holes_and_constants():
    values = np.full((12, 12), 3.0)
    values[4:6, 4:6] = np.nan
    smoothed = smooth_map(values, 2.0)
    assert np.isnan(smoothed[4:6, 4:6]).all()
    assert np.nanmax(np.abs(smoothed - 3.0)) < 1e-12


@pytest.fixture(scope="module")
def virtual_cell(tmp_path_factory):
    """A 48^3 virtual cell at 50 uA/cm^2 (moderate stripping: voids at the hot spots of the
    stripped interface), its step-1 electrolyte and contact maps, and meso quantify's map."""
    folder = tmp_path_factory.mktemp("cell")
    assert main(["phantom", "--shape", "48", "--angles", "4", "--current-density", "50",
                 "--quiet", "--out", str(folder / "p")]) == 0  # fmt: skip
    labels = [str(folder / "p" / f"{s}_labels.h5")
              for s in ("step_00_pristine", "step_01_cycle1_strip_bottom")]  # fmt: skip
    assert main(["quantify", *labels, "--no-tortuosity", "--quiet", "--out",
                 str(folder / "q")]) == 0  # fmt: skip
    assert main(["extract", labels[1], "--quiet", "--out", str(folder / "ex")]) == 0
    return folder


def _hotspot(folder, out, *extra):
    ex = folder / "ex"
    return main(["hotspot", str(ex / "subvolume.h5"), "--contact-top", str(ex / "contact_top.npy"),
                 "--contact-bottom", str(ex / "contact_bottom.npy"), "--quiet",
                 "--out", str(out), *extra])  # fmt: skip


def test_prediction_correlates_with_the_true_and_measured_maps(virtual_cell, tmp_path):
    truth = virtual_cell / "p" / "step_01_cycle1_strip_bottom.h5"
    quantify = virtual_cell / "q" / "quantify.h5"
    assert _hotspot(virtual_cell, tmp_path / "hs", "--measured", str(truth), "--measured",
                    str(quantify), "--smooth-um", "1.3") == 0  # fmt: skip
    doc = json.loads((tmp_path / "hs" / "hotspot.json").read_text())
    true_entry, measured_entry = doc["measured"]["comparisons"]
    assert true_entry["kind"] == "ground_truth" and measured_entry["kind"] == "quantify"
    contact = np.load(virtual_cell / "ex" / "contact_bottom.npy")
    # the stripped (bottom) interface: voids opened where the true current was high, and the
    # current the solve sends through the contacts left around them crowds there
    for entry in (true_entry, measured_entry):
        c = entry["faces"]["bottom"]
        assert contact.sum() * 0.95 <= c["pixels"] <= contact.sum()
        # measured: r = 0.59, rho = 0.53 (truth); r = 0.59, rho = 0.53 (quantify)
        assert c["pearson_r"] > 0.45 and c["spearman_rho"] > 0.4 and c["spearman_p"] < 1e-10
    assert (tmp_path / "hs" / "comparison.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--measured", "q/quantify.h5", "--step", "1"], "--step 1 is not one of its intervals"),
     (["--smooth-um", "2"], "--measured maps only"),
     (["--measured", "p/step_00_pristine.h5"], "zero everywhere"),
     (["--measured", "ex/contact_top.npy", "--step", "0"], "applies to a --measured quantify.h5"),
     (["--measured", "ex/extract.json"], "not a readable")],
)  # fmt: skip
def test_bad_measured_input_is_refused_before_any_output(virtual_cell, tmp_path, capsys,
                                                         monkeypatch, extra, message):  # fmt: skip
    monkeypatch.chdir(virtual_cell)
    assert _hotspot(virtual_cell, tmp_path / "hs", *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "hs").exists()
