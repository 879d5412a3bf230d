"""Voronoi grains of a synth volume as gmsh solids: cells vs voxel labels, interfaces vs perturbation theory."""

import dolfinx.fem
import numpy as np
import pytest
import ufl
from mpi4py import MPI
from scipy.spatial import ConvexHull, Delaunay

from meso import conduct
from meso.mesh.conforming import GRAIN_BOUNDARY_MARKER, build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from meso.mesh.voronoi import voronoi_polyhedra

SELF = MPI.COMM_SELF


def with_interfaces(cm, axis, sigma, asr, degree=1):
    """The "dg" entry of ``meso.conduct`` with grain-boundary facets of resistance `asr`."""
    from meso.materials import parse_materials

    grain = parse_materials(f"[phases.grain]\nlabel = 1\nsigma_S_per_m = {sigma}\n")
    result = conduct(cm, axes=[axis], degree=degree, materials=grain,
                     grain_boundary_asr_ohm_m2=asr)  # fmt: skip
    return result.axes[axis][f"dg{degree}"]


@pytest.fixture(scope="module")
def polycrystal():
    from synth import generate

    m, geometry = generate(16, 1.0, porosity=0.0, pore_size_um=3, grain_size_um=8, seed=5,
                           anisotropy=(1.2, 1.0, 1.0), return_geometry=True)  # fmt: skip
    return m, geometry


def test_polyhedra_tile_the_box_and_hold_their_voxels(polycrystal):
    """The clipped cells fill the box exactly and every voxel centre lies in the cell of the
    grain synth labelled it with (its own nearest-seed labelling, numba)."""
    _, geometry = polycrystal
    cells = voronoi_polyhedra(geometry.seeds_um, geometry.stretch, np.full(3, 16.0))
    assert sum(ConvexHull(v).volume for _, v, _ in cells) == pytest.approx(16.0**3, rel=1e-9)
    centres = np.stack(np.meshgrid(*[np.arange(16) + 0.5] * 3, indexing="ij"), -1)
    by_seed = {i: Delaunay(v) for i, v, _ in cells}
    ids = geometry.grain_ids
    assert set(np.unique(ids)) <= set(by_seed)
    inside = np.zeros(ids.shape, bool)
    for seed, hull in by_seed.items():
        chosen = ids == seed
        inside[chosen] = hull.find_simplex(centres[chosen], tol=1e-9) >= 0
    assert inside.all()


def test_grain_volumes_match_the_voxel_grains(polycrystal):
    m, geometry = polycrystal
    g = PoreGeometry.from_synth(geometry, m.voxel_size_um, grains=True)
    cm = build_conforming_mesh(g, size_um=2.0, comm=SELF)
    assert cm.quality.num_bad == 0 and cm.info["grains"] > 10
    dx = ufl.Measure("dx", domain=cm.mesh, subdomain_data=cm.grain_tags)
    one = dolfinx.fem.Constant(cm.mesh, 1.0)
    counts = np.bincount(geometry.grain_ids.ravel())
    for seed in np.flatnonzero(counts >= 200):
        volume_um3 = dolfinx.fem.assemble_scalar(dolfinx.fem.form(one * dx(int(seed)))) * 1e18
        assert volume_um3 == pytest.approx(counts[seed], rel=0.1), seed


def test_interfaces_sit_within_thomson_bound_and_first_order(polycrystal):
    """A uniform current is admissible (divergence-free, no flux through the sides), so
    Thomson's principle bounds the resistance: M >= 1 / (1 + delta) with
    delta = R sigma integral_GB n_x^2 dS / V (each face adds R (n_x)^2 per area in series),
    and M <= 1. For weak boundaries M is that bound plus a second-order term (measured 1.3 %
    of delta here)."""
    _, geometry = polycrystal
    cm = build_conforming_mesh(PoreGeometry.from_synth(geometry, 1.0, grains=True), 2.0, comm=SELF)
    sigma, asr = 0.05, 0.04e-6 / 0.05  # R sigma = 40 nm, 1/200 of the grain size
    n = ufl.FacetNormal(cm.mesh)
    dS = ufl.Measure("dS", domain=cm.mesh, subdomain_data=cm.facet_tags)
    projected = dolfinx.fem.assemble_scalar(
        dolfinx.fem.form(n("+")[0] ** 2 * dS(GRAIN_BOUNDARY_MARKER))
    )
    delta = asr * sigma * projected / 16e-6**3
    thomson = 1.0 / (1.0 + delta)
    entry = with_interfaces(cm, "x", sigma, asr)
    assert delta > 1e-3  # the boundaries matter
    assert entry.converged and entry.M < 1.0
    assert -1e-6 < entry.M - thomson < 0.03 * delta
