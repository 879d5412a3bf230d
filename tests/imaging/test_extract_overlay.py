"""`meso extract --overlay-grains-um`: synthetic grains from the synth generator over the solid of
the extracted electrolyte, pores untouched, with their provenance in extract.json."""

import json

import numpy as np
import pytest

from meso.cli import main
from meso.io.volumes import load
from synth import measure


@pytest.fixture(scope="module")
def labels_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantom")
    assert main(["phantom", "--shape", "32,32,48", "--angles", "4", "--quiet", "--out",
                 str(folder)]) == 0  # fmt: skip
    return folder / "step_01_cycle1_strip_bottom_labels.h5"


def _extract(labels_file, out, *extra):
    code = main(["extract", str(labels_file), "--quiet", "--out", str(out), *extra])
    return code, (load(out / "subvolume.h5").labels if code == 0 else None)


def test_grains_replace_the_solid_and_keep_the_pores(labels_file, tmp_path):
    _, plain = _extract(labels_file, tmp_path / "plain")
    code, grained = _extract(labels_file, tmp_path / "g", "--overlay-grains-um", "3",
                             "--overlay-seed", "4")  # fmt: skip
    assert code == 0
    assert np.array_equal(grained == 0, plain == 0)  # the pores of the segmentation
    doc = json.loads((tmp_path / "g" / "extract.json").read_text())
    record = doc["overlay_grains"]
    assert record["generator"] == "synth.generate" and record["seed"] == 4
    assert record["grain_size_um"] == 3.0 and record["parameters"]["porosity"] == 0.0
    solid = grained != 0
    assert record["grain_boundary_fraction_of_solid"] == pytest.approx((grained[solid] == 2).mean())
    # the overlaid grains have the requested size, measured by synth's own line intercepts
    stats = measure(load(tmp_path / "g" / "subvolume.h5"))
    assert stats.mean_grain_intercept_um == pytest.approx(3.0, rel=0.15)
    # the same seed gives the same grains, another seed other grains
    _, again = _extract(labels_file, tmp_path / "again", "--overlay-grains-um", "3",
                        "--overlay-seed", "4")  # fmt: skip
    _, other = _extract(labels_file, tmp_path / "other", "--overlay-grains-um", "3")
    assert np.array_equal(again, grained) and not np.array_equal(other, grained)


def test_a_thin_interfacial_slab_takes_grains_larger_than_itself(labels_file, tmp_path):
    code, grained = _extract(labels_file, tmp_path / "slab", "--region", "interface-top",
                             "--depth-um", "2", "--overlay-grains-um", "4")  # fmt: skip
    assert code == 0 and grained.shape[2] == 3 and set(np.unique(grained)) >= {1, 2}
    doc = json.loads((tmp_path / "slab" / "extract.json").read_text())
    assert doc["overlay_grains"]["generated_shape"][2] >= 4 / 0.65


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--overlay-grains-um", "1"], "--overlay-grains-um: 1.0 um is below two voxels"),
     (["--overlay-seed", "3"], "--overlay-seed: applies to --overlay-grains-um only")],
)  # fmt: skip
def test_bad_overlays_are_refused_before_any_output(labels_file, tmp_path, capsys, extra, message):
    code, _ = _extract(labels_file, tmp_path / "bad", *extra)
    assert code == 2 and not (tmp_path / "bad").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
