"""Conforming gmsh meshes of a box minus pores: geometry, element quality, conduction vs Rayleigh."""

import math

import dolfinx.fem
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from meso import conduct
from meso.errors import InputError
from meso.fem.integrals import solid_volume_m3
from meso.mesh.conforming import (
    PORE_SURFACE_MARKER,
    build_conforming_mesh,
    tetrahedron_quality,
)
from meso.mesh.face_markers import face_marker
from meso.mesh.pore_geometry import PoreGeometry
from meso.microstructure import Microstructure
from validation.conduction_references import rayleigh_cubic_spheres, sphere_cell

SELF = MPI.COMM_SELF
POROSITY = 0.2
RADIUS = (3 * POROSITY / (4 * math.pi)) ** (1 / 3)  # in a unit cube
REFERENCE = rayleigh_cubic_spheres(POROSITY)


def _sphere_cell(edge_um=1.0):
    return PoreGeometry.spheres([edge_um] * 3, [[edge_um / 2] * 3], [RADIUS * edge_um])


def _area(cm, marker):
    ds = ufl.Measure("ds", domain=cm.mesh, subdomain_data=cm.facet_tags)
    one = dolfinx.fem.Constant(cm.mesh, 1.0)
    return SELF.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * ds(marker))))


def test_quality_of_regular_flat_and_inverted_tetrahedra():
    """Verdict's measures on cells with known values: a regular tetrahedron has scaled
    Jacobian 1 and gamma 1; a flat one 0; swapping two vertices inverts it (-1)."""
    regular = np.array([[1, 1, 1], [-1, 1, -1], [1, -1, -1], [-1, -1, 1]], float)  # det > 0
    q = tetrahedron_quality(regular, np.array([[0, 1, 2, 3]]))
    assert q.min_scaled_jacobian == pytest.approx(1.0, abs=1e-9)
    assert q.min_gamma == pytest.approx(1.0, abs=1e-9)
    assert q.num_bad == 0
    inverted = tetrahedron_quality(regular, np.array([[1, 0, 2, 3]]))
    assert inverted.min_scaled_jacobian == pytest.approx(-1.0, abs=1e-9)
    assert inverted.num_bad == 1
    flat = regular.copy()
    flat[3] = (flat[0] + flat[1] + flat[2]) / 3
    assert tetrahedron_quality(flat, np.array([[0, 1, 2, 3]])).num_bad == 1


def test_box_faces_and_pore_surface_are_tagged_and_curved_geometry_is_accurate():
    """Face areas exact; sphere area and solid volume of the quadratic mesh within 1e-3 of
    4 pi r^2 and 1 - 4/3 pi r^3 (flat facets alone would miss by ~1e-2)."""
    cm = build_conforming_mesh(_sphere_cell(2.0), size_um=0.3, geometry_order=2, comm=SELF)
    for axis in "xyz":
        for side in ("min", "max"):
            assert _area(cm, face_marker(axis, side)) == pytest.approx(4e-12, rel=1e-9)
    r = RADIUS * 2e-6
    assert _area(cm, PORE_SURFACE_MARKER) == pytest.approx(4 * math.pi * r**2, rel=1e-3)
    assert solid_volume_m3(cm.mesh) == pytest.approx(8e-18 * (1 - POROSITY), rel=1e-4)
    assert set(np.unique(cm.cell_tags.values)) == {1}
    assert cm.quality.min_scaled_jacobian > 0.05 and cm.quality.mean_gamma > 0.6
    assert cm.num_cells == cm.quality.num_cells > 100


def test_pore_free_box_has_M_one_along_every_axis():
    g = PoreGeometry((1.0, 2.0, 1.5), np.zeros((0, 3)), np.zeros((0, 3)))
    result = conduct(build_conforming_mesh(g, 0.5, comm=SELF), degree=1)
    for axis in "xyz":
        assert result.axes[axis]["p1"].M == pytest.approx(1.0, rel=1e-7)
        assert result.axes[axis]["p1"].converged


def test_sphere_cell_converges_to_rayleigh_faster_than_voxels():
    """One insulating sphere in a cube with insulated sides = unit cell of the simple cubic
    array (Rayleigh's value). P1 on flat facets converges at about second order in h and
    with 730 DOFs beats voxel fv on 24^3 voxels (11k DOFs); P2 on curved tetrahedra reaches
    5e-4 with 4.6k DOFs, where voxel fv and fe are still 1-3 % off."""
    errors, dofs = [], []
    for size in (0.3, 0.15):
        cm = build_conforming_mesh(_sphere_cell(), size_um=size, comm=SELF)
        entry = conduct(cm, axes=["x"], degree=1).axes["x"]["p1"]
        errors.append(abs(entry.M - REFERENCE) / REFERENCE)
        dofs.append(entry.dofs)
    assert errors[0] / errors[1] > 2.2, errors  # halving h: at least 2^1.1 less error
    curved = build_conforming_mesh(_sphere_cell(), size_um=0.15, geometry_order=2, comm=SELF)
    p2 = conduct(curved, axes=["x", "z"], degree=2)
    for axis in "xz":
        assert p2.axes[axis]["p2"].M == pytest.approx(REFERENCE, rel=5e-4)
    voxels = conduct(
        Microstructure(sphere_cell(24, POROSITY)), axes=["x"], method="both", comm=SELF
    )
    for method in ("fv", "fe"):
        entry = voxels.axes["x"][method]
        voxel_error = abs(entry.M - REFERENCE) / REFERENCE
        assert entry.dofs > 2 * p2.axes["x"]["p2"].dofs and entry.dofs > 10 * dofs[1]
        assert voxel_error > 10 * abs(p2.axes["x"]["p2"].M - REFERENCE) / REFERENCE
    fv_error = abs(voxels.axes["x"]["fv"].M - REFERENCE) / REFERENCE
    assert fv_error > errors[1], (fv_error, errors)  # with 15x the DOFs of P1


def test_synthetic_pores_mesh_with_the_volume_porosity():
    """Pores of a synth volume (ellipsoids recorded in um) meshed exactly: the mesh porosity
    equals the union of the ellipsoids inside the box, which the voxel porosity samples."""
    from synth import generate

    m, geometry = generate(20, 1.0, porosity=0.06, pore_size_um=5, grain_size_um=8, seed=3,
                           anisotropy=(1.3, 1.0, 1.0), return_geometry=True)  # fmt: skip
    g = PoreGeometry.from_synth(geometry, m.voxel_size_um)
    assert g.num_pores >= 3 and not np.allclose(g.semi_axes_um[:, 0], g.semi_axes_um[:, 1])
    cm = build_conforming_mesh(g, size_um=2.0, comm=SELF)
    porosity = 1.0 - solid_volume_m3(cm.mesh) / 20e-6**3
    assert porosity == pytest.approx(m.volume_fractions()["pore"], abs=0.01)
    result = conduct(cm, axes=["y"], degree=1, voxel_size_um=1.0)
    assert result.shape == (20, 20, 20)
    assert 0.8 < result.factor("y") < 1.0


@pytest.mark.parametrize(
    ("geometry", "kwargs", "message"),
    [
        (PoreGeometry.spheres((1, 1, 1), [[0.5, 0.5, 0.5]], [1.0]), {}, "no solid is left"),
        (PoreGeometry.spheres((1, 1, 1), [[0.5, 0.5, 0.5]], [0.2]), {"size_um": 0}, "size_um"),
        (PoreGeometry.spheres((1, 1, 1), [], []), {"refine_pores": 0.5}, "refine_pores"),
        (  # a 1e-7 um gap between two pores: slivers no element size resolves
            PoreGeometry.spheres((2, 1, 1), [[0.6, 0.5, 0.5], [1.4000001, 0.5, 0.5]], [0.4] * 2),
            {"size_um": 0.2},
            "inverted or degenerate elements",
        ),
    ],
)
def test_bad_geometry_or_sizes_are_input_errors(geometry, kwargs, message):
    with pytest.raises(InputError, match=message):
        build_conforming_mesh(geometry, **{"size_um": 0.5, **kwargs}, comm=SELF)


def test_bad_pore_arrays_are_input_errors():
    with pytest.raises(InputError, match="positive"):
        PoreGeometry.spheres((1, 1, 1), [[0.5, 0.5, 0.5]], [-0.1])
    with pytest.raises(InputError, match="box"):
        PoreGeometry.spheres((1, 0, 1), [], [])


MPI_SCRIPT = """
import json, math
from meso import conduct
from meso.mesh.conforming import build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from mpi4py import MPI
g = PoreGeometry.spheres((1, 1, 1), [[0.5, 0.5, 0.5]], [(0.6 / (4 * math.pi)) ** (1 / 3)])
cm = build_conforming_mesh(g, size_um=0.15, comm=MPI.COMM_WORLD)
r = conduct(cm, axes=["y"], degree=2)
owned = cm.mesh.topology.index_map(3).size_local
counts = MPI.COMM_WORLD.gather(owned)
lattice = PoreGeometry((3, 2, 2), [], [], grain_grid=(3, 2, 2))
grains = build_conforming_mesh(lattice, size_um=0.5, comm=MPI.COMM_WORLD)
dg = conduct(grains, axes=["x"], grain_boundary_asr_ohm_m2=4e-6)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps({"M": r.factor("y"), "cells": counts, "ranks": r.ranks,
                      "M_interfaces": dg.factor("x")}))
"""


@pytest.mark.mpi
def test_two_ranks_give_the_serial_value(mpirun, tmp_path):
    """Meshed on rank 0, distributed by DOLFINx: both ranks hold cells and M matches 1 rank;
    the interface (DG) solve gives the exact laminate across ranks too."""
    import json
    import subprocess
    import sys

    script = tmp_path / "conforming_mpi.py"
    script.write_text(MPI_SCRIPT)
    run = subprocess.run([*mpirun, "-n", "2", sys.executable, str(script)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    parallel = json.loads(run.stdout.strip().splitlines()[-1])
    assert parallel["ranks"] == 2 and min(parallel["cells"]) > 0
    serial = conduct(build_conforming_mesh(_sphere_cell(), 0.15, comm=SELF), axes=["y"], degree=2)
    assert parallel["M"] == pytest.approx(serial.factor("y"), rel=1e-6)
    # interior-facet (DG) terms across the rank boundary: the exact laminate value, R sigma = 0.2 um
    assert parallel["M_interfaces"] == pytest.approx(1 / (1 + 2 * 4e-6 * 0.05 / 3e-6), rel=1e-6)


def test_convergence_study_fits_slopes_and_writes_png(tmp_path):
    """The validation script's slope fit recovers known rates; its PNG is written."""
    from validation.sphere_convergence import fitted_orders, plot

    dofs = np.array([1e3, 4e3, 1.6e4])
    rows = [{"method": "a", "dofs": d, "relative_error": 3 * d ** (-2 / 3)} for d in dofs]
    rows += [{"method": "b", "dofs": d, "relative_error": -0.5 * d ** (-1 / 3)} for d in dofs]
    orders = fitted_orders(rows)
    assert orders == pytest.approx({"a": 2 / 3, "b": 1 / 3}, rel=1e-9)
    png = plot(rows, orders, tmp_path / "convergence.png", POROSITY)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cached_mesh_is_reused_and_keyed_on_its_parameters(tmp_path):
    """The second request for the same mesh reads the stored msh (same cells, same M); a
    different size is a different entry."""
    first = build_conforming_mesh(_sphere_cell(), 0.3, comm=SELF, cache_dir=tmp_path)
    again = build_conforming_mesh(_sphere_cell(), 0.3, comm=SELF, cache_dir=tmp_path)
    other = build_conforming_mesh(_sphere_cell(), 0.25, comm=SELF, cache_dir=tmp_path)
    assert (first.info["cache"], again.info["cache"], other.info["cache"]) == (
        "miss",
        "hit",
        "miss",
    )
    assert again.num_cells == first.num_cells != other.num_cells
    assert len(list(tmp_path.glob("*.msh"))) == 2
    m_first = conduct(first, axes=["x"]).factor("x")
    assert conduct(again, axes=["x"]).factor("x") == pytest.approx(m_first, rel=1e-12)
    assert np.array_equal(np.sort(again.facet_tags.values), np.sort(first.facet_tags.values))
