"""fv by CG + geometric multigrid on a DMDA vs the slab assembly, BoomerAMG and exact values; boundary faces."""

import json
import subprocess

import numpy as np
import pytest
from mpi4py import MPI
from scipy import ndimage

from meso import conduct
from meso.conduction.voxel_fv import FvProblem
from meso.conduction.voxel_gmg import BoundaryFaces, GmgProblem
from meso.errors import InputError
from meso.fem.solver_options import CG_BOOMERAMG, CG_GMG
from meso.materials import parse_materials
from meso.microstructure import Microstructure
from validation.conduction_references import parallel_laminate, series_laminate
from validation.interface_references import cubic_grains_with_interfaces

SELF = MPI.COMM_SELF
AMG_TIGHT = {**CG_BOOMERAMG, "ksp_rtol": 1e-12}  # the reference: the slab system solved tightly
EXACT = 1e-6
# grain boundaries 1000 times less conducting than the grain (issue 20's contrast)
CONTRAST = parse_materials("""
[phases.pore]
label = 0
void = true
[phases.grain]
label = 1
sigma_S_per_m = 0.05
[phases.grain_boundary]
label = 2
sigma_S_per_m = 5e-5
""")  # fmt: skip


def _porous(n: int, porosity: float, seed: int) -> np.ndarray:
    """Smoothed-noise pores (a few voxels across) at the given porosity; 1 = solid."""
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((n,) * 3), 2.0)
    return (field < np.quantile(field, 1 - porosity)).astype(np.uint8)


def test_matrix_is_the_slab_matrix_on_the_kept_voxels():
    """Same couplings and diagonal as FvProblem (checked against the DOLFINx form); points
    outside the problem are decoupled with a positive diagonal."""
    rng = np.random.default_rng(3)
    labels = rng.choice([0, 1, 2], size=(9, 6, 5), p=[0.25, 0.5, 0.25])
    sigma = np.array([0.0, 0.05, 0.005])[labels]
    gmg, fv = GmgProblem(sigma, 2e-6, SELF), FvProblem(sigma, 2e-6, SELF)
    kept = np.argwhere(sigma > 0) + 1
    ours = gmg.matrix.convert("dense").getDenseArray()
    g = gmg.numbers[tuple(kept.T)]
    f = fv.number[tuple(kept.T)]
    expected = fv.matrix.convert("dense").getDenseArray()[np.ix_(f, f)]
    np.testing.assert_allclose(ours[np.ix_(g, g)], expected, rtol=1e-13, atol=1e-20)
    out = np.setdiff1d(np.arange(ours.shape[0]), g)
    assert out.size == np.prod(gmg.grid) - sigma.astype(bool).sum() > 0  # pores and padding
    np.testing.assert_array_equal(ours[np.ix_(out, g)], 0.0)
    assert (np.diag(ours)[out] > 0).all()


def test_refilled_matrix_solves_like_a_new_one():
    """set_conductivity keeps the pattern and the multigrid; the result is that of a new problem."""
    rng = np.random.default_rng(5)
    first, second = (np.where(rng.random((12, 10, 9)) < 0.85, s, 0.0) for s in (1.0, 3.0))
    problem = GmgProblem(first, 1e-6, SELF)
    problem.solve("y")
    problem.set_conductivity(second)
    fresh = GmgProblem(second, 1e-6, SELF)
    assert problem.solve("y").current == pytest.approx(fresh.solve("y").current, rel=1e-12)


@pytest.mark.parametrize("shape", [(13, 7, 10), (17, 17, 17), (3, 20, 6)])
def test_homogeneous_and_laminates_are_exact_on_padded_grids(shape):
    """Sizes that are not 2^k + 1 (the DMDA pads them) and a 1000:1 laminate."""
    ones = np.ones(shape)
    problem = GmgProblem(ones, 1.0, SELF)
    for a in range(3):
        area_over_length = np.prod(np.delete(shape, a)) / shape[a]
        assert problem.solve(a).current == pytest.approx(area_over_length, rel=EXACT)
    layers = np.where(np.arange(shape[1]) % 3 == 1, 1e-3, 1.0)
    sigma = np.broadcast_to(layers[None, :, None], shape).copy()
    problem.set_conductivity(sigma)
    fractions = np.ones(shape[1])
    for a in range(3):
        current = problem.solve(a).current
        M = current * shape[a] / np.prod(np.delete(shape, a))
        exact = (series_laminate if a == 1 else parallel_laminate)(fractions, layers, 1.0)
        assert M == pytest.approx(exact, rel=EXACT), a


@pytest.mark.parametrize(
    ("porosity", "seed", "most_iterations"),
    [(0.05, 1, 8), (0.2, 2, 10), (0.35, 3, 12), (0.86, 5, 20)],  # 0.86: near percolation
)
def test_M_equals_the_tight_amg_solve(porosity, seed, most_iterations):
    """Within the GMG stop (1e-6 of M): 5-35% porosity and a solid barely spanning the box
    (M ~ 0.005-0.01), the first-iteration-count bound from issue 20's probe plus margin."""
    solid = _porous(32, porosity, seed)
    m = Microstructure(solid)
    gmg = conduct(m, solver="gmg", comm=SELF)
    amg = conduct(m, solver="amg", comm=SELF, solver_options=AMG_TIGHT)
    for axis in "xyz":
        ours, reference = gmg.axes[axis]["fv"], amg.axes[axis]["fv"]
        assert ours.converged and ours.percolating, axis
        assert ours.M == pytest.approx(reference.M, rel=1e-5), axis
        assert ours.iterations <= most_iterations, axis
    assert gmg.to_json()["solver"] == "gmg"


def test_grain_boundary_contrast_1e3():
    """A boundary-phase network 1000 times less conducting (every 4th plane of each axis) with
    pores: M and M_geometric (a second solve, refilled in place) as by BoomerAMG. Trilinear
    interpolation does not follow the jumps: 23-26 CG iterations here (BoomerAMG 15)."""
    solid = _porous(28, 0.1, 4)
    planes = np.zeros(28, bool)
    planes[::4] = True
    boundary = planes[:, None, None] | planes[None, :, None] | planes[None, None, :]
    labels = np.where(solid == 1, np.where(boundary, 2, 1), 0).astype(np.uint8)
    m = Microstructure(labels)
    gmg = conduct(m, solver="gmg", comm=SELF, materials=CONTRAST)
    amg = conduct(m, solver="amg", comm=SELF, materials=CONTRAST, solver_options=AMG_TIGHT)
    for axis in "xyz":
        ours, reference = gmg.axes[axis]["fv"], amg.axes[axis]["fv"]
        assert ours.M < 0.01  # the boundaries dominate
        assert ours.M == pytest.approx(reference.M, rel=1e-5), axis
        assert ours.M_geometric == pytest.approx(reference.M_geometric, rel=1e-5), axis
        assert ours.iterations <= 30, axis


@pytest.mark.mpi
def test_two_ranks_equal_one_and_amg(mpirun, meso_exe, tmp_path):
    """A non-cubic volume split into blocks on 2 ranks; --solver amg on 1 rank alike."""
    labels = _porous(24, 0.25, seed=9)[:, :20, :22].copy()
    labels[(labels == 1) & (np.random.default_rng(2).random(labels.shape) < 0.2)] = 2
    volume = tmp_path / "vol.npy"
    np.save(volume, labels)
    results = {}
    for ranks, solver in ((1, "gmg"), (2, "gmg"), (1, "amg")):
        out = tmp_path / f"out{ranks}{solver}"
        proc = subprocess.run(
            [*mpirun, "-n", str(ranks), *meso_exe, "conduct", str(volume), "--solver", solver,
             "--out", str(out), "--quiet"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        results[ranks, solver] = json.loads((out / "conduction.json").read_text())
    assert results[2, "gmg"]["ranks"] == 2 and results[1, "amg"]["solver"] == "amg"
    for axis in "xyz":
        one = results[1, "gmg"]["axes"][axis]
        assert one["percolating"] and one["M"] > 0.1
        assert results[2, "gmg"]["axes"][axis]["M"] == pytest.approx(one["M"], rel=1e-6)
        assert results[1, "amg"]["axes"][axis]["M"] == pytest.approx(one["M"], rel=1e-5)
        assert results[2, "gmg"]["axes"][axis]["dofs"] == one["dofs"]


@pytest.mark.parametrize(
    ("options", "words"),
    [(["--mesh", "conforming", "--solver", "amg"], ["--solver", "voxel"]),
     (["--grain-boundaries", "faces"], ["--grain-boundaries", "synth"]),
     (["--grain-boundaries", "faces", "--solver", "amg"], ["--grain-boundaries", "gmg"])],
)  # fmt: skip
def test_cli_bad_solver_options_exit_2(meso_exe, tmp_path, options, words):
    volume = tmp_path / "vol.npy"
    np.save(volume, np.ones((4, 4, 4), np.uint8))
    proc = subprocess.run([*meso_exe, "conduct", str(volume), *options, "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert all(word in proc.stderr for word in words)
    assert not (tmp_path / "o").exists()


def _cubic_grain_ids(shape, d):
    i, j, k = np.indices(shape)
    return ((i // d) * 10000 + (j // d) * 100 + k // d).astype(np.int32)


def test_boundary_faces_give_the_exact_cubic_grain_value():
    """Cubic grains of 4 voxels, boundaries as face resistances: the brick-layer value with
    n - 1 planes in series (validation.interface_references), to solver precision."""
    h, d, sigma = 0.5e-6, 4, 0.05
    asr = 0.2 * d * h / sigma  # each boundary adds a fifth of a grain's resistance
    grain = parse_materials(f"[phases.grain]\nlabel = 1\nsigma_S_per_m = {sigma}\n")
    m = Microstructure(np.ones((12, 8, 8), np.uint8), voxel_size_um=h * 1e6)
    ids = _cubic_grain_ids(m.shape, d)
    # the cubes are the Voronoi cells of their centres: oriented faces are the plain ones here
    centres = np.zeros((ids.max() + 1, 3))
    for g in np.unique(ids):
        centres[g] = (np.argwhere(ids == g).mean(axis=0) + 0.5) * h * 1e6
    for seeds in (None, centres):
        result = conduct(m, materials=grain, comm=SELF, grain_ids=ids,
                         grain_boundary_asr_ohm_m2=asr, grain_seeds_um=seeds)  # fmt: skip
        for axis, grains_along in zip("xyz", (3, 2, 2), strict=True):
            entry = result.axes[axis]["fv"]
            exact = cubic_grains_with_interfaces(grains_along, d * h, sigma, asr)
            assert entry.M == pytest.approx(exact, rel=EXACT), axis
            assert entry.M_geometric == pytest.approx(1.0, rel=EXACT)  # the boundaries left out
    assert result.to_json()["grain_boundaries"] == {"model": "voxel faces", "asr_ohm_m2": asr}


def test_oriented_faces_carry_the_area_of_the_boundary_plane():
    """A staircase of a plane with unit normal n has |n|_1 times its area in voxel faces, so
    each face gets ASR |n|_1 / |n|_2: 1 along an axis, sqrt(2) and sqrt(3) on the diagonals,
    with the normal in the stretched metric of the Voronoi grains."""
    seeds = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    faces = BoundaryFaces(np.zeros((2, 2, 2), int), 3.0, seeds)
    ratios = faces.face_asr(np.zeros(3, int), np.array([1, 2, 3])) / 3.0
    np.testing.assert_allclose(ratios, [1.0, np.sqrt(2), np.sqrt(3)], rtol=1e-14)
    stretched = BoundaryFaces(faces.grain_ids, 3.0, seeds, np.array([1.0, np.sqrt(2), 1.0]))
    # normal (1, 1/2, 0) / |.|: (1 + 1/2) / sqrt(5/4)
    assert stretched.face_asr(np.array([0]), np.array([2]))[0] / 3.0 == pytest.approx(
        1.5 / np.sqrt(1.25)
    )


def test_boundary_faces_replace_the_boundary_phase_and_refuse_bad_input():
    """Boundary-phase voxels conduct as grain with faces: a layer-labelled volume gives the
    same M as the plain one; half a pair, fe, amg, a bad shape or ASR are input errors."""
    labels = np.ones((12, 8, 8), np.uint8)
    labels[4] = 2
    ids = _cubic_grain_ids(labels.shape, 4)
    kwargs = {"axes": ["x"], "comm": SELF, "grain_ids": ids, "grain_boundary_asr_ohm_m2": 1e-5}
    with_layer = conduct(Microstructure(labels), **kwargs).factor("x")
    assert with_layer == pytest.approx(conduct(Microstructure(labels * 0 + 1), **kwargs).factor("x"),
                                       rel=1e-9)  # fmt: skip
    m = Microstructure(labels)
    bad = [{"grain_ids": ids}, {"grain_boundary_asr_ohm_m2": 1e-5},
           {**kwargs, "method": "fe"}, {**kwargs, "solver": "amg"},
           {**kwargs, "grain_ids": ids[:-1]}, {**kwargs, "grain_boundary_asr_ohm_m2": -1.0},
           {**kwargs, "grain_seeds_um": np.zeros((3, 3))}]  # fmt: skip
    for extra in bad:
        with pytest.raises(InputError):
            conduct(m, **{"axes": ["x"], "comm": SELF, **extra})


@pytest.mark.mpi
def test_boundary_faces_on_a_synth_agree_on_two_ranks(mpirun, meso_exe, tmp_path):
    """`meso conduct SYNTH.json --grain-boundaries faces`: grain ids across rank blocks."""
    synth = subprocess.run([*meso_exe, "synth", "--shape", "20", "--voxel-size", "0.5",
                            "--porosity", "0.05", "--pore-size", "1.5", "--grain-size", "2.5",
                            "--seed", "1", "--out", str(tmp_path / "s"), "--quiet"],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert synth.returncode == 0, synth.stderr[-2000:]
    results = {}
    for ranks, faces in ((1, True), (2, True), (1, False)):
        out = tmp_path / f"out{ranks}{faces}"
        command = [*mpirun, "-n", str(ranks), *meso_exe, "conduct", str(tmp_path / "s/synth.json"),
                   "--out", str(out), "--quiet"]  # fmt: skip
        proc = subprocess.run(command + (["--grain-boundaries", "faces"] if faces else []),
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        results[ranks, faces] = json.loads((out / "conduction.json").read_text())
    assert results[1, True]["grain_boundaries"]["asr_ohm_m2"] > 0
    for axis in "xyz":
        one, two = results[1, True]["axes"][axis], results[2, True]["axes"][axis]
        assert two["M"] == pytest.approx(one["M"], rel=1e-6)
        # the same boundaries as layers one voxel thick cut more of the grains' area
        assert 0.2 < results[1, False]["axes"][axis]["M"] < one["M"] < one["M_geometric"]


def test_failed_multigrid_falls_back_to_boomeramg(caplog, monkeypatch):
    """A GMG solve with the default options that stops unconverged (here: one iteration
    allowed) is redone by CG + BoomerAMG with a warning, its potential in the DMDA layout."""
    solid = _porous(20, 0.2, seed=6)
    m = Microstructure(solid)
    monkeypatch.setitem(CG_GMG, "ksp_max_it", 1)  # the defaults GmgProblem reads
    with caplog.at_level("WARNING"):
        result = conduct(m, axes=["y"], comm=SELF)
    assert "solving again with CG + BoomerAMG" in caplog.text
    entry, reference = result.axes["y"]["fv"], conduct(m, axes=["y"], comm=SELF, solver="amg")
    assert entry.converged and entry.iterations > 1
    assert entry.M == pytest.approx(reference.factor("y"), rel=1e-12)
    problem = GmgProblem(np.where(solid == 1, 1.0, 0.0), 1e-6, SELF)
    volume = np.where(solid == 1, np.random.default_rng(0).random(solid.shape), np.nan)
    np.testing.assert_array_equal(problem.gather(problem.owned_values(volume)), volume)
