"""Conforming tetrahedral meshes of a box minus pores (gmsh OpenCASCADE), checked and read into DOLFINx."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import dolfinx.mesh
import numpy as np
from mpi4py import MPI

from meso.errors import InputError
from meso.fem.compat import gmsh_model_to_mesh
from meso.fem.integrals import solid_volume_m3
from meso.mesh import cache as mesh_cache
from meso.mesh.face_markers import (
    FACE_MARKERS,
    GRAIN_BOUNDARY_MARKER,
    PORE_SURFACE_MARKER,
    face_marker,
)
from meso.mesh.gmsh_geometry import build_gmsh_model, gmsh_session
from meso.mesh.pore_geometry import PoreGeometry
from meso.microstructure import axis_index

# Elements refused by the quality check: inverted or flat (scaled Jacobian <= this), or so
# distorted that the stiffness matrix is badly conditioned (radius ratio gamma below this).
MIN_SCALED_JACOBIAN = 1e-6
MIN_GAMMA = 1e-3
GMSH_TETRAHEDRA = {1: 4, 2: 11}  # gmsh's element types of 4- and 10-node tetrahedra


@dataclass
class MeshQuality:
    """Element quality of a tetrahedral mesh (Verdict's measures, computed by VTK).

    ``scaled_jacobian``: the smallest corner Jacobian over the product of its edge lengths,
    scaled so a regular tetrahedron has 1 (<= 0: inverted or flat). ``gamma``: the radius
    ratio 3 r_inscribed / R_circumscribed (1 regular, 0 degenerate), gmsh's "gamma".
    """

    num_cells: int
    min_scaled_jacobian: float
    mean_scaled_jacobian: float
    min_gamma: float
    mean_gamma: float
    num_bad: int

    def to_json(self) -> dict:
        return asdict(self)


def tetrahedron_quality(points: np.ndarray, cells: np.ndarray) -> MeshQuality:
    """Quality of the tetrahedra `cells` (N, 4) over `points` (M, 3) via pyvista/VTK.

    VTK's vtkMeshQuality implements the Verdict library (Stimpson et al., SAND2007-2853), the
    reference definitions of these measures; it is used instead of hand-written formulas.
    """
    import pyvista

    grid = pyvista.UnstructuredGrid({pyvista.CellType.TETRA: cells}, points)
    measured = grid.cell_quality(["scaled_jacobian", "radius_ratio"], null_value=0.0)
    jacobian = np.asarray(measured.cell_data["scaled_jacobian"], dtype=float)
    radius_ratio = np.asarray(measured.cell_data["radius_ratio"], dtype=float)
    with np.errstate(divide="ignore"):
        gamma = np.where(radius_ratio > 0, 1.0 / radius_ratio, 0.0)  # Verdict: R / (3 r)
    bad = (jacobian <= MIN_SCALED_JACOBIAN) | (gamma < MIN_GAMMA)
    return MeshQuality(
        num_cells=len(cells),
        min_scaled_jacobian=float(jacobian.min()),
        mean_scaled_jacobian=float(jacobian.mean()),
        min_gamma=float(gamma.min()),
        mean_gamma=float(gamma.mean()),
        num_bad=int(bad.sum()),
    )


def _gmsh_tetrahedra(gmsh, geometry_order: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates (M, 3) and the corners of the tetrahedra (N, 4, indices into them) of
    the gmsh mesh (gmsh lists the 4 corners first in a 10-node tetrahedron too)."""
    node_tags, coordinates, _ = gmsh.model.mesh.getNodes()
    points = np.asarray(coordinates, dtype=float).reshape(-1, 3)
    index_of = np.zeros(int(node_tags.max()) + 1, dtype=np.int64)
    index_of[node_tags] = np.arange(len(node_tags))
    element_type = GMSH_TETRAHEDRA[geometry_order]
    _, element_nodes = gmsh.model.mesh.getElementsByType(element_type)
    nodes = np.asarray(element_nodes, dtype=np.int64).reshape(-1, 4 if geometry_order == 1 else 10)
    return points, index_of[nodes[:, :4]]


@dataclass
class ConformingMesh:
    """A distributed conforming tetrahedral mesh of a porous box.

    Attributes
    ----------
    mesh : dolfinx.mesh.Mesh
        Coordinates in metres; the box is [0, box_m[0]] x [0, box_m[1]] x [0, box_m[2]].
    cell_tags : MeshTags (dim 3)
        The phase label of every local cell (1 = grain).
    facet_tags : MeshTags (dim 2)
        Box faces with ``meso.mesh.voxel.face_marker(axis, side)``, pore walls with
        PORE_SURFACE_MARKER, faces shared by two grains with GRAIN_BOUNDARY_MARKER.
    box_m : (3,) box edges in metres
    quality : MeshQuality of the whole mesh (computed on rank 0, shared with every rank)
    info : dict of meshing statistics (sizes, solids, timings)
    grain_tags : MeshTags (dim 3) named "grain_ids", or None for a geometry without grains
        The grain of every local cell: the seed index of a Voronoi grain, or
        (i n_y + j) n_z + k for grain (i, j, k) of a ``grain_grid``.
    """

    mesh: dolfinx.mesh.Mesh
    cell_tags: object
    facet_tags: object
    box_m: np.ndarray
    quality: MeshQuality
    info: dict
    grain_tags: object = None

    @property
    def num_cells(self) -> int:
        return self.quality.num_cells

    def box_length_m(self, axis: str | int) -> float:
        return float(self.box_m[axis_index(axis)])

    def solid_fraction(self) -> float:
        """Meshed solid volume over the box volume (exact for the mesh, all ranks)."""
        return solid_volume_m3(self.mesh) / float(np.prod(self.box_m))

    def electrode_facet_tags(self, axis: str | int):
        """Facet tags 1 on the min face and 2 on the max face of `axis` (nothing else)."""
        tags, a = self.facet_tags, axis_index(axis)
        on_min = tags.values == face_marker(a, "min")
        chosen = on_min | (tags.values == face_marker(a, "max"))
        values = np.where(on_min, 1, 2)[chosen].astype(np.int32)
        return dolfinx.mesh.meshtags(self.mesh, tags.dim, tags.indices[chosen], values)


def build_conforming_mesh(
    geometry: PoreGeometry,
    size_um: float | None = None,
    refine_pores: float = 2.0,
    elements_per_circle: int = 12,
    geometry_order: int = 1,
    comm: MPI.Comm = MPI.COMM_WORLD,
    cache_dir: str | Path | None = None,
) -> ConformingMesh:
    """Mesh `geometry` with gmsh on rank 0, check element quality and distribute it with DOLFINx.

    Parameters
    ----------
    geometry : PoreGeometry, or meso.mesh.surface.SegmentedGeometry
        Box and pores in micrometres, or the solid of a label volume (needed on rank 0).
    size_um : float, optional
        Element size in the bulk; default two voxels, or a tenth of the smallest box edge.
    refine_pores : float
        The element size on pore surfaces is ``size_um / refine_pores`` (>= 1).
    elements_per_circle : int
        Curvature sizing: at least this many elements around each pore (0 turns it off).
    geometry_order : 1 or 2
        2: quadratic (10-node) tetrahedra that follow the curved pore walls; pair it with
        degree-2 elements so the geometry error (O(h^2) for flat facets) does not dominate.
    comm : MPI communicator
    cache_dir : folder, optional
        Keep the gmsh mesh there under a hash of the geometry and parameters
        (``meso.mesh.cache``) and reuse it when the same mesh is asked for again.

    Returns
    -------
    ConformingMesh

    Raises
    ------
    InputError
        Bad sizes, pores that leave no solid or that gmsh cannot cut or mesh, or inverted or
        degenerate elements (scaled Jacobian <= MIN_SCALED_JACOBIAN or gamma < MIN_GAMMA).

    Examples
    --------
    >>> g = PoreGeometry.spheres((1, 1, 1), [[0.5, 0.5, 0.5]], [0.3])
    >>> cm = build_conforming_mesh(g, size_um=0.25, comm=MPI.COMM_SELF)
    >>> cm.quality.min_scaled_jacobian > 0
    True
    """
    start = time.perf_counter()
    parameters = _on_root(comm, lambda: _checked_parameters(
        geometry, size_um, refine_pores, elements_per_circle, geometry_order))  # fmt: skip
    with gmsh_session() if comm.rank == 0 else _nothing() as gmsh:
        info, quality = _on_root(comm, lambda: _gmsh_mesh(gmsh, geometry, parameters, cache_dir,
                                                          start))  # fmt: skip
        mesh, cell_tags, facet_tags = gmsh_model_to_mesh(gmsh.model if gmsh else None, comm, 0)
    mesh.geometry.x[:] *= 1e-6  # gmsh works in um (OCC tolerances are absolute); SI inside
    mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
    info["wall_seconds"] = time.perf_counter() - start
    box_m = np.asarray(geometry.box_um, dtype=float) * 1e-6 if comm.rank == 0 else None
    box_m = comm.bcast(box_m, root=0)
    grains = comm.bcast(_grain_definition(geometry) if comm.rank == 0 else None, root=0)
    grain_tags = None if grains is None else _grain_tags(mesh, box_m, *grains)
    return ConformingMesh(mesh, cell_tags, facet_tags, box_m, quality, info, grain_tags)


def _on_root(comm: MPI.Comm, work):
    """`work()` on rank 0, its result broadcast; an InputError there is raised on every rank
    (sent as its parts: an InputError itself does not pickle)."""
    result, failure = None, None
    if comm.rank == 0:
        try:
            result = work()
        except InputError as exc:
            failure = (exc.source, exc.problem)
    failure = comm.bcast(failure, root=0)
    if failure is not None:
        raise InputError(*failure)
    return comm.bcast(result, root=0)


def _checked_parameters(geometry, size_um, refine_pores, elements_per_circle, geometry_order):
    """The gmsh sizing parameters (default size: two voxels, or a tenth of the smallest box
    edge), InputError for any out of range."""
    if size_um is None:
        h = geometry.voxel_size_um
        size_um = 2.0 * h if h else 0.1 * float(geometry.box_um.min())
    if not (np.isfinite(size_um) and size_um > 0):
        raise InputError("size_um", f"must be a positive length, got {size_um}")
    if not (np.isfinite(refine_pores) and refine_pores >= 1):
        raise InputError("refine_pores", f"must be >= 1, got {refine_pores}")
    if geometry_order not in (1, 2):
        raise InputError("geometry_order", f"must be 1 or 2, got {geometry_order}")
    if size_um > float(geometry.box_um.min()):
        raise InputError("size_um", f"{size_um} um exceeds the smallest box edge")
    return dict(size_um=size_um, refine_pores=refine_pores,
                elements_per_circle=elements_per_circle, geometry_order=geometry_order)  # fmt: skip


def _gmsh_mesh(gmsh, geometry, parameters: dict, cache_dir, start: float):
    """Mesh `geometry` in the open gmsh session (or load it from the cache) and check it:
    (info, MeshQuality) on rank 0."""
    key = mesh_cache.cache_key(geometry, parameters) if cache_dir else None
    info = mesh_cache.load_cached(gmsh, cache_dir, key) if key else None
    hit = info is not None
    if not hit:
        builder = getattr(geometry, "build_gmsh_model", None)  # segmented volumes
        if builder is not None:
            info = builder(gmsh, **parameters)
        else:
            info = build_gmsh_model(gmsh, geometry, **parameters)
        info.update(parameters)
        if key:
            mesh_cache.store(gmsh, cache_dir, key, info)
    info["cache"] = None if key is None else ("hit" if hit else "miss")
    points, cells = _gmsh_tetrahedra(gmsh, parameters["geometry_order"])
    if len(cells) == 0:
        raise InputError(geometry.source, "gmsh produced no tetrahedra")
    quality = tetrahedron_quality(points, cells)
    if quality.num_bad:
        raise InputError(
            geometry.source,
            f"{quality.num_bad} inverted or degenerate elements (min scaled Jacobian "
            f"{quality.min_scaled_jacobian:.3g}, min gamma {quality.min_gamma:.3g}); "
            "pores that nearly touch each other or a box face leave slivers; "
            "separate or merge them, or mesh finer",
        )
    info.update(num_vertices=len(points), gmsh_seconds=time.perf_counter() - start)
    return info, quality


def _grain_definition(geometry: PoreGeometry) -> tuple | None:
    """What assigns points to grains: ("grid", counts) or ("voronoi", (seeds_um, stretch))."""
    if geometry.grain_grid is not None:
        return "grid", np.asarray(geometry.grain_grid)
    if geometry.grain_seeds_um is not None:
        return "voronoi", (geometry.grain_seeds_um, geometry.grain_stretch)
    return None


def _grain_tags(mesh, box_m: np.ndarray, kind: str, data) -> object:
    """Grain id of every local cell from its midpoint (a tetrahedron lies inside one grain)."""
    from scipy.spatial import cKDTree

    tdim = mesh.topology.dim
    cell_map = mesh.topology.index_map(tdim)
    cells = np.arange(cell_map.size_local + cell_map.num_ghosts, dtype=np.int32)
    midpoints = dolfinx.mesh.compute_midpoints(mesh, tdim, cells)
    if kind == "grid":
        index = np.floor(midpoints / (box_m / data)).astype(np.int64)
        index = np.clip(index, 0, data - 1)
        ids = (index[:, 0] * data[1] + index[:, 1]) * data[2] + index[:, 2]
    else:
        seeds_um, stretch = data
        ids = cKDTree(seeds_um / stretch).query(midpoints * 1e6 / stretch)[1]
    tags = dolfinx.mesh.meshtags(mesh, tdim, cells, ids.astype(np.int32))
    tags.name = "grain_ids"
    return tags


@contextmanager
def _nothing():
    yield None


__all__ = [
    "FACE_MARKERS",
    "GRAIN_BOUNDARY_MARKER",
    "PORE_SURFACE_MARKER",
    "ConformingMesh",
    "MeshQuality",
    "build_conforming_mesh",
    "tetrahedron_quality",
]
