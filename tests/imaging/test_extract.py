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


def _cell(tmp_path, bottom_columns, top_columns):
    """Columns along z: collector 4, lithium 3, the given electrode voxels next to each
    interface (pellet side first), pellet 1; the first column has a lithium voxel inside the
    pellet. Gas around the cell; each column repeated along y."""
    from meso.io.volumes import save
    from meso.microstructure import Microstructure

    columns = []
    for k, (bottom, top) in enumerate(zip(bottom_columns, top_columns, strict=True)):
        pellet = [1] * 12
        pellet[6] = 3 if k == 0 else 1
        columns.append([4] * 4 + [3] * 6 + [*bottom[::-1], *pellet, *top] + [3] * 6 + [4] * 4)
    labels = np.zeros((len(columns) + 2, 5, len(columns[0])), np.uint8)
    labels[1:-1, 1:-1, :] = np.array(columns, np.uint8)[:, None, :]
    path = tmp_path / "cell.h5"
    save(Microstructure(labels, voxel_size_um=0.5, cell_axis="z"), path)
    return path


def test_contact_gap_counts_lithium_behind_unresolved_pore(tmp_path):
    # per column, the three voxels next to the interface (pellet side first): Li touching, Li
    # behind one pore voxel, Li behind two, a void three voxels deep
    near = [[3, 3, 3], [0, 3, 3], [0, 0, 3], [0, 0, 0]]
    path = _cell(tmp_path, near, near)
    for gap_um, expected in (("0", [1, 0, 0, 0]), ("0.5", [1, 1, 0, 0]), ("1.0", [1, 1, 1, 0])):
        out = tmp_path / f"gap{gap_um}"
        assert main(["extract", str(path), "--contact-gap-um", gap_um, "--quiet",
                     "--out", str(out)]) == 0  # fmt: skip
        doc = json.loads((out / "extract.json").read_text())
        for face in ("bottom", "top"):
            contact = np.load(out / f"contact_{face}.npy")
            assert contact[:, 1].tolist() == expected, (gap_um, face)
        # the lithium voxel inside the pellet's run is made pore: the electrolyte is LLZO + pores
        sub = load(out / "subvolume.h5").labels
        assert set(np.unique(sub).tolist()) <= {0, 1, 2}
        assert doc["non_llzo_voxels_made_pore"] == 3
