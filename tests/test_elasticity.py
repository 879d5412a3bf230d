"""Elasticity factors against exact and analytic references: homogeneous block, laminates,
porous bounds, a spherical pore (Eshelby, Goodier), and 1 vs 2 MPI ranks."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from meso import Microstructure, elastic
from meso.materials import parse_materials
from validation.elasticity_references import (
    dilute_spherical_pores_E,
    hashin_shtrikman_upper_porous,
    reuss,
    spherical_pore_equator_stress,
    voigt,
)

E1, NU1 = 150e9, 0.257


def two_phase(E2: float, nu2: float):
    return parse_materials(
        f"[phases.pore]\nlabel = 0\nvoid = true\n"
        f"[phases.grain]\nlabel = 1\nE_Pa = {E1}\nnu = {NU1}\n"
        f"[phases.grain_boundary]\nlabel = 2\nE_Pa = {E2}\nnu = {nu2}\n"
    )


def laminate(n: int = 8) -> Microstructure:
    """Layers normal to z: a quarter of phase 2, three quarters of phase 1."""
    labels = np.ones((6, 5, n), np.uint8)
    labels[:, :, : n // 4] = 2
    return Microstructure(labels)


def test_homogeneous_block_gives_the_bulk_constants():
    result = elastic(Microstructure(np.ones((6, 5, 4), np.uint8)))
    for axis, r in result.axes.items():
        assert r.converged and r.percolating
        assert r.M == pytest.approx(1.0, rel=1e-6)
        assert r.E_eff_Pa == pytest.approx(E1, rel=1e-6)
        assert set(r.nu_eff) == {"x", "y", "z"} - {axis}
        for value in r.nu_eff.values():
            assert value == pytest.approx(NU1, rel=1e-6)
    assert result.dofs == 3 * 7 * 6 * 5


def test_laminate_along_layers_is_voigt_with_equal_nu():
    r = elastic(laminate(), axes=["x"], materials=two_phase(E1 / 3, NU1))
    assert r.axes["x"].M == pytest.approx(voigt([0.75, 0.25], [1, 1 / 3]), rel=1e-6)


def test_laminate_across_layers_is_reuss_when_lateral_strains_match():
    # nu_i / E_i equal in both layers: lateral strains are compatible, Reuss is exact
    r = elastic(laminate(), axes=["z"], materials=two_phase(E1 / 2, NU1 / 2))
    assert r.axes["z"].M == pytest.approx(reuss([0.75, 0.25], [1, 0.5]), rel=1e-6)


def test_laminate_across_layers_with_equal_nu_departs_slightly_above_reuss():
    r = elastic(laminate(), axes=["z"], materials=two_phase(E1 / 2, NU1))
    lower = reuss([0.75, 0.25], [1, 0.5])
    departure = r.axes["z"].M / lower - 1
    assert 1e-5 < departure < 0.02  # interlayer constraint stiffens it, but only a little


def spheres(n: int, centres_um, radius_um: float, size_um: float) -> np.ndarray:
    """Voxelise insulating spheres given in physical units on an n^3 grid of a cube of size_um."""
    x = (np.arange(n) + 0.5) * size_um / n
    solid = np.ones((n, n, n), bool)
    for cx, cy, cz in centres_um:
        d2 = (x[:, None, None] - cx) ** 2 + (x[None, :, None] - cy) ** 2
        solid &= d2 + (x[None, None, :] - cz) ** 2 > radius_um**2
    return solid.astype(np.uint8)


def test_porous_volume_lies_between_references_and_converges():
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 30, size=(14, 3))  # 14 pores of radius 3 um in a 30 um cube: p ~ 5%
    coarse = Microstructure(spheres(20, centres, 3.0, 30.0), voxel_size_um=1.5)
    p = coarse.volume_fractions()["pore"]
    result = elastic(coarse)
    # HS bounds the modulus of an isotropic body; 14 pores are not quite isotropic (one axis
    # may exceed it by a few 1e-3), so the bound is checked on the mean over the three axes
    mean_M = np.mean([r.M for r in result.axes.values()])
    assert mean_M < hashin_shtrikman_upper_porous(E1, NU1, p) / E1
    # Rice's minimum-solid-area estimate for spherical pores, exp(-3p), lies below measured
    # moduli of porous ceramics (Rice, J. Mater. Sci. 31 (1996) 102)
    assert min(r.M for r in result.axes.values()) > np.exp(-3 * p)
    fine = Microstructure(spheres(30, centres, 3.0, 30.0), voxel_size_um=1.0)
    assert elastic(fine, axes=["x"]).axes["x"].M == pytest.approx(result.axes["x"].M, abs=0.003)


def test_single_pore_matches_eshelby_and_goodier():
    n, radius = 24, 4.0
    c = np.arange(n) + 0.5 - n / 2
    r2 = c[:, None, None] ** 2 + c[None, :, None] ** 2 + c[None, None, :] ** 2
    labels = (r2 > radius**2).astype(np.uint8)
    captured = {}
    result = elastic(Microstructure(labels), axes=["x"], on_fields=lambda f: captured.update(f=f))
    ax = result.axes["x"]
    p = 1 - labels.mean()
    dilute = dilute_spherical_pores_E(1.0, NU1, p)
    assert abs(ax.M - dilute) < 0.1 * (1 - dilute)
    # the axial stress next to the equator, averaged over the voxels there, against the
    # analytic field averaged over the same voxel centres
    f = captured["f"]
    r_yz = np.broadcast_to(np.sqrt(c[None, :, None] ** 2 + c[None, None, :] ** 2), labels.shape)
    ring = (np.abs(c)[:, None, None] <= 0.5) & (r_yz > radius) & (r_yz <= radius + 1.5)
    numeric = f.axial_stress_Pa[ring].mean() / (ax.E_eff_Pa * result.strain)
    analytic = spherical_pore_equator_stress(r_yz[ring] / radius, NU1).mean()
    assert numeric == pytest.approx(analytic, rel=0.1)
    assert ax.stress.max_over_mean_axial > 1.5
    assert sum(ax.stress.hotspot_counts) > 0
    # hot spots sit next to the pore: their median distance is below that of all solid voxels
    bins = np.array(ax.stress.distance_bins_um)
    mids = (bins[1:] + bins[:-1]) / 2
    hot = np.repeat(mids, ax.stress.hotspot_counts)
    every = np.repeat(mids, ax.stress.solid_counts)
    assert np.median(hot) < np.median(every)


def test_disconnected_solid_does_not_percolate():
    labels = np.ones((6, 6, 6), np.uint8)
    labels[3] = 0  # a pore layer across x
    r = elastic(Microstructure(labels), axes=["x", "y"])
    assert not r.axes["x"].percolating and r.axes["x"].M == 0.0
    assert r.axes["y"].percolating and r.axes["y"].M == pytest.approx(5 / 6, rel=1e-6)


SCRIPT = """
import json, sys
import numpy as np
from mpi4py import MPI
from meso import Microstructure
from meso import elastic
labels = np.load(sys.argv[1])
r = elastic(Microstructure(labels), axes=["x", "z"])
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps({a: v.M for a, v in r.axes.items()} | {"ranks": r.ranks}))
"""


@pytest.mark.mpi
def test_one_and_two_ranks_agree(tmp_path, mpirun):
    rng = np.random.default_rng(5)
    labels = spheres(16, rng.uniform(0, 16, size=(6, 3)), 2.5, 16.0)
    np.save(tmp_path / "vol.npy", labels)
    (tmp_path / "run.py").write_text(SCRIPT)
    out = {}
    for ranks in (1, 2):
        proc = subprocess.run(
            [*mpirun, "-n", str(ranks), sys.executable, str(tmp_path / "run.py"),
             str(tmp_path / "vol.npy")],
            capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1],
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[ranks] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out[2]["ranks"] == 2
    for axis in ("x", "z"):
        assert 0.5 < out[1][axis] < 1
        assert out[2][axis] == pytest.approx(out[1][axis], rel=1e-6)
