"""`meso extract` on a phantom's ground-truth labels: the electrolyte and its contact maps."""

import json

import numpy as np
import pytest

from meso.cli import main
from meso.io.volumes import load


@pytest.fixture(scope="module")
def labels_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantom")
    assert main(["phantom", "--shape", "32,32,48", "--angles", "8", "--quiet", "--out",
                 str(folder)]) == 0  # fmt: skip
    return folder / "step_02_cycle1_strip_top_labels.h5"


def test_electrolyte_and_contact_maps_match_the_labels(labels_file, tmp_path):
    out = tmp_path / "ex"
    assert main(["extract", str(labels_file), "--out", str(out), "--quiet"]) == 0
    doc = json.loads((out / "extract.json").read_text())
    sub = load(out / "subvolume.h5")
    assert set(np.unique(sub.labels).tolist()) <= {0, 1, 2}  # LLZO and pores only
    full = load(labels_file).labels
    (i0, j0, _), (k_start, k_stop) = doc["offset_vox"], doc["layers"]["pellet"]
    n0, n1, _ = sub.shape
    window = full[i0 : i0 + n0, j0 : j0 + n1]
    truth = {"bottom": (window[:, :, k_start - 1] == 3) & np.isin(window[:, :, k_start], (1, 2)),
             "top": (window[:, :, k_stop] == 3) & np.isin(window[:, :, k_stop - 1], (1, 2))}  # fmt: skip
    for face, expected in truth.items():
        contact = np.load(out / f"contact_{face}.npy")
        assert contact.shape == (n0, n1)
        assert doc["contact_fraction"][face] == pytest.approx(expected.mean())
    # stripping the top electrode leaves voids at its interface: less contact there
    assert doc["contact_fraction"]["top"] < doc["contact_fraction"]["bottom"]
    assert doc["source"].endswith(labels_file.name) and doc["region"] == "electrolyte"


def test_interface_region_is_next_to_the_interface(labels_file, tmp_path):
    out = tmp_path / "top"
    assert main(["extract", str(labels_file), "--region", "interface-top", "--depth-um", "3",
                 "--window-um", "10", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    doc = json.loads((out / "extract.json").read_text())
    assert doc["shape"] == [15, 15, 5]
    assert doc["offset_vox"][2] + 5 == doc["layers"]["pellet"][1]
    assert main(["extract", str(labels_file), "--depth-um", "1000", "--region", "bulk",
                 "--out", str(tmp_path / "none")]) == 2  # fmt: skip
    assert not (tmp_path / "none").exists()
