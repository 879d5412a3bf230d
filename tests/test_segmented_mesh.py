"""Conforming meshes of segmented label volumes (smoothed marching-cubes walls) against Rayleigh and voxels."""

import json

import numpy as np
import pytest
from mpi4py import MPI

from meso import conduct
from meso.cli import main
from meso.errors import InputError
from meso.io.volumes import save
from meso.mesh.conforming import PORE_SURFACE_MARKER, build_conforming_mesh
from meso.mesh.surface import SegmentedGeometry
from meso.microstructure import Microstructure
from validation.conduction_references import rayleigh_cubic_spheres, sphere_cell

SELF = MPI.COMM_SELF


def test_voxel_sphere_meshed_with_smooth_walls_beats_voxel_solves():
    """The 24-voxel sphere lattice cell, as labels: its smoothed-wall conforming mesh gives
    Rayleigh's M to 0.3 % (measured 0.06 %), where voxel fv and fe on the same labels miss
    by 2.8 % and 0.8 %; the cavity is a hole of the volume (porosity kept)."""
    labels = sphere_cell(24, 0.2)
    reference = rayleigh_cubic_spheres(0.2)
    cm = build_conforming_mesh(SegmentedGeometry(labels, 1 / 24), size_um=2 / 24, comm=SELF)
    assert cm.info["cavities"] == 1 and cm.quality.num_bad == 0
    result = conduct(cm, axes=["x"])
    assert 1 - result.conducting_fraction == pytest.approx(0.2, abs=0.005)
    error = abs(result.factor("x") / reference - 1)
    assert error < 3e-3
    voxels = conduct(Microstructure(labels), axes=["x"], method="both", comm=SELF)
    for method in ("fv", "fe"):
        assert abs(voxels.factor("x", method) / reference - 1) > 2 * error


def test_open_pores_cavities_and_islands():
    """A pore through the box, a closed cavity and a solid island inside a large pore: the
    island is dropped, the cavity becomes a hole, and the open pore's walls meet the faces."""
    labels = np.ones((12, 12, 12), np.uint8)
    labels[2:5, 2:5, :] = 0  # a channel through z
    labels[7:11, 7:11, 7:11] = 0  # a closed pore
    labels[8:10, 8:10, 8:10] = 1  # an island inside it
    cm = build_conforming_mesh(SegmentedGeometry(labels, 1.0, 0.0), size_um=2.0, comm=SELF)
    assert cm.info["cavities"] == 1
    assert set(np.unique(cm.facet_tags.values)) == {1, 2, 3, 4, 5, 6, PORE_SURFACE_MARKER}
    solid_fraction = conduct(cm, axes=["z"]).conducting_fraction
    assert solid_fraction == pytest.approx((labels.size - 9 * 12 - 64) / labels.size, abs=0.01)


def test_all_pore_or_negative_smoothing_is_an_input_error():
    with pytest.raises(InputError, match="all pore"):
        SegmentedGeometry(np.zeros((4, 4, 4), bool), 1.0)
    with pytest.raises(InputError, match="smoothing"):
        SegmentedGeometry(np.ones((4, 4, 4), bool), 1.0, smoothing_voxels=-1)


def test_meso_mesh_conforming_of_a_label_volume(tmp_path):
    save(Microstructure(sphere_cell(12, 0.2), voxel_size_um=0.5), tmp_path / "vol.npz")
    code = main(["mesh", str(tmp_path / "vol.npz"), "--kind", "conforming", "--size-um", "1",
                 "--out", str(tmp_path / "m"), "--quiet"])  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "m" / "mesh.json").read_text())
    assert report["cell_type"] == "tetrahedron" and report["gmsh"]["cavities"] == 1
    assert report["quality"]["num_bad"] == 0 and (tmp_path / "m" / "mesh.xdmf").is_file()
