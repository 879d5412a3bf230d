"""Materials TOML: defaults from DESIGN.md, validation, area-specific resistance conversion."""

import pytest

from meso import InputError
from meso.materials import load_materials, parse_materials


def test_defaults_are_the_llzo_values():
    mats = load_materials()
    assert mats.grain.sigma_S_per_m == 5e-2
    assert mats.grain.E_Pa == 150e9
    assert mats.grain.nu == 0.257
    assert mats.by_label(0).void
    assert mats.conductivities({0, 1}, 1e-6) == {0: 0.0, 1: 5e-2}


def test_asr_becomes_a_one_voxel_layer_conductivity():
    mats = parse_materials(
        "[phases.grain]\nlabel = 1\nsigma_S_per_m = 0.05\n"
        "[phases.gb]\nlabel = 2\nasr_ohm_m2 = 1e-4\n"
    )
    # a layer of thickness h and conductivity h/R has resistance R per unit area
    h = 0.5e-6
    sigma = mats.conductivities({2}, h)[2]
    assert h / sigma == pytest.approx(1e-4)


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("[phases.grain]\nlabel = 1\nsigma_S_per_m = -1\n", "must be positive"),
        ("[phases.grain]\nlabel = 1\nE_Pa = 1e9\nnu = 0.5\n", "-1 < nu < 0.5"),
        ("[phases.grain]\nlabel = 1\nE_Pa = 0\nnu = 0.2\n", "must be positive"),
        ("[phases.grain]\nlabel = 1\nE_Pa = 1e9\n", "both E_Pa and nu"),
        ("[phases.grain]\nlabel = 1\n[phases.b]\nlabel = 1\n", "share a label"),
        ("[phases.grain]\nlabel = 300\n", "label in 0..255"),
        ("[phases.grain]\nlabel = 1\nsigma = 1\n", "unknown keys"),
        ("[phases.pore]\nlabel = 0\nvoid = true\nE_Pa = 1e9\nnu=0.1\n", "void"),
        ("[phases.gb]\nlabel = 2\nsigma_S_per_m = 1\nasr_ohm_m2 = 1\n", "keep one"),
        ("phases = 3\n", "no [phases.NAME]"),
        ("[phases.grain\n", "invalid TOML"),
    ],
)
def test_invalid_materials(toml, problem):
    with pytest.raises(InputError, match="^mats.toml: ") as info:
        parse_materials(toml, "mats.toml")
    assert problem in str(info.value)


def test_missing_property_is_named(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("[phases.grain]\nlabel = 1\nE_Pa = 1e9\nnu = 0.3\n")
    mats = load_materials(path)
    with pytest.raises(InputError, match="'grain' has no ionic conductivity"):
        mats.conductivities({1}, 1e-6)
    with pytest.raises(InputError, match="no material is given for label 2"):
        mats.elastic_constants({1, 2})
    with pytest.raises(InputError, match="cannot read materials file"):
        load_materials(tmp_path / "absent.toml")
