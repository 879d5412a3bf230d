"""`meso hotspot --pressure-MPa`: the stress under a stack pressure against uniaxial stress, window
factors against series laminates, and the window correlations on a case where the study's claim
must hold (pores concentrate both flux and stress)."""

import numpy as np
import pytest
from mpi4py import MPI
from scipy import stats

from meso import Microstructure
from meso.materials import load_materials
from meso.studies.hotspot import hotspot_study
from meso.studies.hotspot_pressure import lateral_windows, stress_under_pressure, window_factors

SOFT_BOUNDARY = """
[phases.pore]
label = 0
void = true
[phases.grain]
label = 1
sigma_S_per_m = 5e-2
E_Pa = 150e9
nu = 0.0
[phases.grain_boundary]
label = 2
sigma_S_per_m = 5e-3
E_Pa = 50e9
nu = 0.0
"""


def test_a_dense_slab_is_in_uniaxial_stress_at_the_pressure():
    m = Microstructure(np.ones((6, 5, 8), np.uint8), voxel_size_um=1.0, cell_axis="z")
    s = stress_under_pressure(m, 2, 3e6, comm=MPI.COMM_SELF)
    assert s.E_eff_Pa == pytest.approx(150e9, rel=1e-6) and s.M == pytest.approx(1.0, rel=1e-6)
    # sigma_zz = -P, the rest 0: von Mises P, hydrostatic -P/3 in every voxel
    assert s.von_mises_Pa / 3e6 == pytest.approx(np.ones(m.shape), abs=1e-5)
    assert s.hydrostatic_Pa / 3e6 == pytest.approx(np.full(m.shape, -1 / 3), abs=1e-5)


def test_window_factors_are_those_of_series_laminates(tmp_path):
    """Window k (of 3 x 3) holds k grain-boundary layers across the axis (10 layers): its own
    factors are the series (Reuss) means, exact for the modulus when the lateral strains of
    the layers agree (Poisson ratio 0 in both)."""
    (tmp_path / "soft.toml").write_text(SOFT_BOUNDARY)
    materials = load_materials(tmp_path / "soft.toml")
    labels = np.ones((12, 12, 10), np.uint8)
    windows = lateral_windows((12, 12), 4)
    assert len(windows) == 9
    for k, (i0, i1, j0, j1) in enumerate(windows):
        labels[i0:i1, j0:j1, :k] = 2
    m = Microstructure(labels, voxel_size_um=1.0, cell_axis="z")
    for k, window in enumerate(windows):
        f = k / 10
        M_sigma, M_E = window_factors(m, 2, window, materials)
        assert M_sigma == pytest.approx(1 / (f * 10 + 1 - f), rel=1e-6)  # solver tolerance
        assert M_E == pytest.approx(1 / (f * 3 + 1 - f), rel=1e-5)


@pytest.fixture(scope="module")
def porous_windows(tmp_path_factory):
    """16 windows of 4 x 4 voxels with random pores at 0, 2, ..., 30% (fixed seed)."""
    rng = np.random.default_rng(3)
    labels = np.ones((16, 16, 10), np.uint8)
    for k, (i0, i1, j0, j1) in enumerate(lateral_windows((16, 16), 4)):
        block = labels[i0:i1, j0:j1]
        block[rng.random(block.shape) < 0.02 * k] = 0
    out = tmp_path_factory.mktemp("pressure")
    m = Microstructure(labels, voxel_size_um=1.0, cell_axis="z")
    return hotspot_study(m, out, pressure_MPa=2.0, window_um=4, comm=MPI.COMM_SELF), out


def test_windows_with_more_pores_carry_higher_peak_flux_and_stress(porous_windows):
    document, out = porous_windows
    study = document["pressure"]["windows"]
    rows = study["windows"]
    assert len(rows) == 16 and rows[0]["M_conductivity"] == pytest.approx(1.0)
    for key, (x, y) in {"conductivity_vs_flux": ("M_conductivity", "flux_p99_over_mean"),
                        "modulus_vs_stress": ("M_modulus", "von_mises_p99_over_pressure")}.items():  # fmt: skip
        rho, p = stats.spearmanr([r[x] for r in rows], [r[y] for r in rows])
        entry = study[key]
        assert entry["windows"] == 16 and entry["rho"] == pytest.approx(rho)
        assert entry["p_value"] == pytest.approx(p)
        # measured: rho -0.70 (p 0.003) for the flux, -0.57 (p 0.02) for the stress
        assert entry["rho"] < -0.4 and entry["p_value"] < 0.05, key
    assert (out / "pressure_scatter.png").stat().st_size > 0


def test_stress_concentrates_next_to_pores(porous_windows):
    document, out = porous_windows
    stress = document["pressure"]["stress"]
    assert stress["pressure_MPa"] == 2.0 and 0 < stress["M_modulus"] < 1
    near = stress["next_to_pores"]
    # measured: every stress hot spot next to a pore, against 53% of the solid
    assert near["stress_hot_spot_fraction"] > 1.5 * near["solid_fraction"]
    assert stress["von_mises_max_over_pressure"] > 1.5 * stress["von_mises_mean_over_pressure"]
    for face in ("bottom", "top"):  # the current and the stress crowd at the same pores
        spots = stress["at_current_hot_spots"][face]
        assert spots["pixels"] >= 1
        assert (
            spots["von_mises_mean_over_pressure"] > spots["face_layer_von_mises_mean_over_pressure"]
        )
    assert (out / "stress_section.png").stat().st_size > 0
