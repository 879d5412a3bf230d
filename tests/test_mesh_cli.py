"""`meso mesh`: voxel and conforming meshes written as XDMF with tags, read back and measured."""

import json
import subprocess

import dolfinx.fem
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from meso.cli import main
from meso.io.mesh_xdmf import read_mesh_xdmf
from meso.io.volumes import save
from meso.microstructure import Microstructure

SELF = MPI.COMM_SELF


def _measure(mesh, tags, kind, marker):
    """Area (facets) or volume (cells) carrying `marker`, in m^2 or m^3."""
    measure = ufl.Measure(kind, domain=mesh, subdomain_data=tags)
    one = dolfinx.fem.Constant(mesh, 1.0)
    return dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * measure(marker)))


@pytest.fixture(scope="module")
def synth_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    code = main(["synth", "--shape", "16", "16", "16", "--voxel-size", "0.5", "--porosity",
                 "0.05", "--pore-size", "2.5", "--grain-size", "4", "--seed", "4",
                 "--out", str(folder / "s"), "--quiet"])  # fmt: skip
    assert code == 0
    return folder / "s"


def test_voxel_mesh_tags_match_voxel_counts(tmp_path):
    """Cells = solid voxels with their labels; box-face and pore-wall areas equal the voxel
    face counts (numpy, independent of DOLFINx)."""
    rng = np.random.default_rng(0)
    labels = rng.choice([0, 1, 2], size=(6, 5, 4), p=[0.3, 0.5, 0.2]).astype(np.uint8)
    h = 0.5e-6
    save(Microstructure(labels, voxel_size_um=0.5), tmp_path / "vol.npz")
    assert main(["mesh", str(tmp_path / "vol.npz"), "--out", str(tmp_path / "m"), "--quiet"]) == 0
    report = json.loads((tmp_path / "m" / "mesh.json").read_text())
    assert report["cells"] == int((labels > 0).sum()) and report["kind"] == "voxel"
    mesh, tags = read_mesh_xdmf(tmp_path / "m" / "mesh.xdmf", ["cell_tags", "facet_tags"], SELF)
    for label in (1, 2):
        volume = _measure(mesh, tags["cell_tags"], "dx", label)
        assert volume == pytest.approx((labels == label).sum() * h**3, rel=1e-9)
    solid = labels > 0
    assert _measure(mesh, tags["facet_tags"], "ds", 1) == pytest.approx(solid[0].sum() * h**2)
    assert _measure(mesh, tags["facet_tags"], "ds", 6) == pytest.approx(
        solid[:, :, -1].sum() * h**2
    )
    walls = sum(np.count_nonzero(np.diff(solid.astype(int), axis=a)) for a in range(3))
    assert _measure(mesh, tags["facet_tags"], "ds", 7) == pytest.approx(walls * h**2, rel=1e-9)


def test_conforming_mesh_of_a_synth_volume(synth_folder, tmp_path):
    """The conforming mesh of the recorded pores and grains: solid volume close to the voxel
    solid fraction, each box face tagged with at most the face area, grain boundaries and
    grain ids tagged, quality reported."""
    target = tmp_path / "conf.xdmf"
    code = main(["mesh", str(synth_folder / "synth.json"), "--kind", "conforming", "--grains",
                 "--size-um", "1.5", "--out", str(target), "--quiet"])  # fmt: skip
    assert code == 0
    report = json.loads(target.with_suffix(".json").read_text())
    assert report["cell_type"] == "tetrahedron" and report["quality"]["num_bad"] == 0
    assert report["quality"]["min_scaled_jacobian"] > 0
    assert report["tags"] == ["cell_tags", "facet_tags", "grain_ids"]
    assert report["gmsh"]["grains"] > 1
    mesh, tags = read_mesh_xdmf(target, ["cell_tags", "facet_tags", "grain_ids"], SELF)
    assert 1 < len(np.unique(tags["grain_ids"].values)) <= report["gmsh"]["grains"]
    box = 8e-6
    solid = _measure(mesh, tags["cell_tags"], "dx", 1) / box**3
    synth = json.loads((synth_folder / "synth.json").read_text())
    assert solid == pytest.approx(1 - synth["volume_fractions"]["pore"], abs=0.01)
    for marker in range(1, 7):
        assert (
            0.8 * box**2 < _measure(mesh, tags["facet_tags"], "ds", marker) <= box**2 * (1 + 1e-9)
        )
    assert _measure(mesh, tags["facet_tags"], "ds", 7) > 0
    grain_boundaries = ufl.Measure("dS", domain=mesh, subdomain_data=tags["facet_tags"])(8)
    one = dolfinx.fem.Constant(mesh, 1.0)
    assert dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * grain_boundaries)) > box**2


def test_voxel_mesh_of_a_synth_json_has_grain_ids(synth_folder, tmp_path):
    assert main(["mesh", str(synth_folder / "synth.json"), "--out", str(tmp_path), "--quiet"]) == 0
    _, tags = read_mesh_xdmf(tmp_path / "mesh.xdmf", ["grain_ids"], SELF)
    with np.load(synth_folder / "synth_geometry.npz") as data:
        grain_ids = data["grain_ids"]
    labels = np.load(synth_folder / "synth.npz")["labels"]
    assert set(np.unique(tags["grain_ids"].values)) == set(np.unique(grain_ids[labels > 0]))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.npz"], "missing.npz: no such file"),
        (["VOL", "--kind", "conforming", "--grains"], "--grains: needs the synth.json"),
        (["BROKEN_JSON", "--kind", "conforming"], "not a readable synth.json"),
        (["NO_GEOMETRY", "--kind", "conforming"], "synth_geometry.npz: missing"),
        (["ALL_PORE"], "all pore"),
        (["VOL", "--grains"], "--grains: applies to --kind conforming only"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, monkeypatch, arguments, message):
    save(Microstructure(np.ones((4, 4, 4), np.uint8)), tmp_path / "vol.npz")
    save(Microstructure(np.zeros((4, 4, 4), np.uint8)), tmp_path / "pore.npz")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "synth.json").write_text(json.dumps({"volume": "synth.npz", "shape": [4, 4, 4],
                                                     "voxel_size_um": 1.0}))  # fmt: skip
    names = {"VOL": "vol.npz", "BROKEN_JSON": "broken.json", "NO_GEOMETRY": "synth.json",
             "ALL_PORE": "pore.npz"}  # fmt: skip
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["mesh", *[names.get(a, a) for a in arguments], "--out", "out"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and message in lines[0], lines


def test_console_script_exits_with_code_2_on_bad_input(tmp_path, meso_exe):
    run = subprocess.run([*meso_exe, "mesh", "missing.npz", "--kind", "conforming"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip() == "meso mesh: error: missing.npz: no such file"


def test_conforming_conduction_of_a_synth_json_agrees_with_voxels(synth_folder):
    """The same pores meshed conformingly from the exact ellipsoids: porosity and M within the
    staircase error (~2 %) of the voxel fe solve (grain boundaries conduct like grains)."""
    from meso import conduct
    from meso.io.volumes import load
    from meso.materials import parse_materials

    uniform = parse_materials(
        "[phases.pore]\nlabel = 0\nvoid = true\n[phases.grain]\nlabel = 1\nsigma_S_per_m = 1\n"
        "[phases.grain_boundary]\nlabel = 2\nsigma_S_per_m = 1\n"
    )
    voxel = conduct(
        load(synth_folder / "synth.npz"), axes=["z"], method="fe", materials=uniform, comm=SELF
    )
    source, cm, asr = _mesh_file(synth_folder / "synth.json", uniform, size_um=1.0)
    result = conduct(
        cm,
        axes=["z"],
        materials=uniform,
        voxel_size_um=source.voxel_size_um,
        grain_boundary_asr_ohm_m2=asr,
    )
    assert result.shape == (16, 16, 16) and result.method == "p1"
    assert result.conducting_fraction == pytest.approx(voxel.conducting_fraction, abs=0.01)
    assert result.factor("z") == pytest.approx(voxel.factor("z"), rel=0.03)
    assert cm.quality.num_bad == 0


def test_conforming_conduction_of_a_label_volume_file(tmp_path):
    """A label volume goes the smoothed-wall route: the 16-voxel sphere cell within 1 % of
    Rayleigh's value."""
    from meso import conduct
    from validation.conduction_references import rayleigh_cubic_spheres, sphere_cell

    save(Microstructure(sphere_cell(16, 0.2), voxel_size_um=0.25), tmp_path / "cell.npz")
    source, cm, _ = _mesh_file(tmp_path / "cell.npz", None, size_um=0.5)
    result = conduct(cm, axes=["y"], voxel_size_um=source.voxel_size_um)
    assert cm.info["cavities"] == 1 and result.shape == (16, 16, 16)
    assert result.factor("y") == pytest.approx(rayleigh_cubic_spheres(0.2), rel=0.01)


def _mesh_file(path, materials, size_um):
    """The route `meso conduct --mesh conforming` takes from a file to a mesh (no cache)."""
    from meso.mesh.sources import conforming_source, mesh_source

    source = conforming_source(path)
    cm, asr = mesh_source(source, materials, size_um=size_um, comm=SELF)
    return source, cm, asr
