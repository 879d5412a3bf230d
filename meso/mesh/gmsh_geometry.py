"""The gmsh (OpenCASCADE) model of a box minus pores, optionally split into grains, tagged and meshed."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from meso.errors import InputError
from meso.mesh.face_markers import GRAIN_BOUNDARY_MARKER, PORE_SURFACE_MARKER, face_marker
from meso.mesh.pore_geometry import PoreGeometry
from meso.mesh.voronoi import add_occ_polyhedra, voronoi_polyhedra
from meso.microstructure import DEFAULT_PHASES


@contextmanager
def gmsh_session(threads: int = 1):
    """An initialised gmsh with terminal output off; finalised on exit, whatever happens."""
    import gmsh

    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", threads)
        yield gmsh
    finally:
        gmsh.finalize()


def _pore_solids(occ, geometry: PoreGeometry) -> list[tuple[int, int]]:
    """OCC solids of the pores: spheres, or unit spheres stretched into ellipsoids."""
    solids = []
    for centre, semi in zip(geometry.centres_um, geometry.semi_axes_um, strict=True):
        x, y, z = (float(c) for c in centre)
        if np.allclose(semi, semi[0], rtol=1e-9):
            solids.append((3, occ.addSphere(x, y, z, float(semi[0]))))
        else:
            tag = occ.addSphere(x, y, z, 1.0)
            occ.dilate([(3, tag)], x, y, z, *(float(s) for s in semi))
            solids.append((3, tag))
    return solids


def _grain_solids(occ, geometry: PoreGeometry) -> list[tuple[int, int]]:
    """The box, the boxes of a cubic grain lattice filling it, or its Voronoi grains."""
    if geometry.grain_seeds_um is not None:
        cells = voronoi_polyhedra(geometry.grain_seeds_um, geometry.grain_stretch,
                                  geometry.box_um)  # fmt: skip
        return add_occ_polyhedra(occ, cells)
    box = geometry.box_um
    counts = geometry.grain_grid or (1, 1, 1)
    edge = box / np.asarray(counts)
    return [(3, occ.addBox(*(np.array([i, j, k]) * edge), *edge))
            for i in range(counts[0]) for j in range(counts[1]) for k in range(counts[2])]  # fmt: skip


def _box_face_of(bounds: tuple[float, ...], box_um: np.ndarray, tolerance: float) -> int | None:
    """The box-face marker of a surface whose bounding box lies in a box face, else None."""
    low, high = np.asarray(bounds[:3]), np.asarray(bounds[3:])
    for a in range(3):
        if high[a] - low[a] > tolerance:
            continue
        if abs(low[a]) < tolerance:
            return face_marker(a, "min")
        if abs(high[a] - box_um[a]) < tolerance:
            return face_marker(a, "max")
    return None


def _solid_volumes(gmsh, geometry: PoreGeometry) -> tuple[list[int], int]:
    """Volume tags of the solid (grains minus pores, sharing their interfaces) and the pore count.

    One grain: OCC cuts the pores out. Several: OCC fragments grains and pores together
    (matching meshes on shared faces) and the pieces that belong to a pore are removed.
    """
    occ = gmsh.model.occ
    grains = _grain_solids(occ, geometry)
    pores = _pore_solids(occ, geometry)
    try:
        if len(grains) == 1:
            solids = occ.cut(grains, pores)[0] if pores else grains
        else:
            pieces, origin = occ.fragment(grains, pores)
            in_pore = {piece for produced in origin[len(grains) :] for piece in produced}
            solids = [p for p in pieces if p[0] == 3 and p not in in_pore]
            if in_pore:
                occ.remove(sorted(in_pore), recursive=True)
        occ.synchronize()
    except Exception as exc:  # gmsh raises a bare Exception with OCC's message
        raise InputError(geometry.source, f"gmsh could not cut the pores: {exc}") from None
    return [tag for dim, tag in solids if dim == 3], len(pores)


def _connected_to_faces(volumes: dict[int, list[int]], box_surfaces: set[int]) -> set[int]:
    """Volumes joined to a box face through shared surfaces (a flood fill over volumes)."""
    by_surface: dict[int, list[int]] = {}
    for volume, surfaces in volumes.items():
        for s in surfaces:
            by_surface.setdefault(s, []).append(volume)
    reached = {v for v, surfaces in volumes.items() if box_surfaces.intersection(surfaces)}
    frontier = list(reached)
    while frontier:
        for s in volumes[frontier.pop()]:
            for other in by_surface[s]:
                if other not in reached:
                    reached.add(other)
                    frontier.append(other)
    return reached


def build_gmsh_model(gmsh, geometry: PoreGeometry, size_um: float, refine_pores: float = 2.0,
                     elements_per_circle: int = 12, geometry_order: int = 1) -> dict:  # fmt: skip
    """Build and mesh (3D tetrahedra) the box minus pores, split into grains if asked.

    The element size is `size_um` in the bulk and ``size_um / refine_pores`` on the pore
    surfaces, graded linearly over a distance of `size_um` (gmsh Distance + Threshold fields);
    gmsh's curvature sizing adds at least `elements_per_circle` elements around small pores.
    ``geometry_order`` 2 gives 10-node tetrahedra whose faces follow curved pore walls.
    Physical groups: the solid volumes DEFAULT_PHASES["grain"], the six box faces with
    ``meso.mesh.voxel.FACE_MARKERS``, the pore walls PORE_SURFACE_MARKER and the faces shared
    by two grains GRAIN_BOUNDARY_MARKER. Solid pieces enclosed by pores (joined to no box
    face) are dropped: they carry no current and would leave the problem singular.

    Returns
    -------
    dict with the numbers of grains kept, enclosed pieces dropped and pores.
    """
    gmsh.model.add("box_minus_pores")
    tolerance = 1e-6 * float(geometry.box_um.max())
    solids, num_pores = _solid_volumes(gmsh, geometry)
    volumes = {v: [s for _, s in gmsh.model.getBoundary([(3, v)], oriented=False, combined=False)]
               for v in solids}  # fmt: skip
    marker_of = {s: _box_face_of(gmsh.model.getBoundingBox(2, s), geometry.box_um, tolerance)
                 for surfaces in volumes.values() for s in surfaces}  # fmt: skip
    kept = _connected_to_faces(volumes, {s for s, m in marker_of.items() if m is not None})
    if not kept:
        raise InputError(geometry.source, "no solid is left once the pores are cut from the box")
    uses = {}
    for v in kept:
        for s in volumes[v]:
            uses[s] = uses.get(s, 0) + 1
    groups: dict[int, list[int]] = {}
    for s, count in uses.items():
        marker = GRAIN_BOUNDARY_MARKER if count > 1 else marker_of[s] or PORE_SURFACE_MARKER
        groups.setdefault(marker, []).append(s)
    gmsh.model.addPhysicalGroup(3, sorted(kept), DEFAULT_PHASES["grain"])
    for marker, surfaces in sorted(groups.items()):
        gmsh.model.addPhysicalGroup(2, sorted(surfaces), marker)

    fine = size_um / refine_pores
    gmsh.option.setNumber("Mesh.MeshSizeMax", size_um)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.25 * fine)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", elements_per_circle if num_pores else 0)
    pore_walls = groups.get(PORE_SURFACE_MARKER, [])
    if pore_walls and refine_pores != 1.0:
        field = gmsh.model.mesh.field
        distance = field.add("Distance")
        field.setNumbers(distance, "SurfacesList", sorted(pore_walls))
        threshold = field.add("Threshold")
        field.setNumber(threshold, "InField", distance)
        field.setNumber(threshold, "SizeMin", fine)
        field.setNumber(threshold, "SizeMax", size_um)
        field.setNumber(threshold, "DistMin", 0.0)
        field.setNumber(threshold, "DistMax", size_um)
        field.setAsBackgroundMesh(threshold)
    try:
        gmsh.model.mesh.generate(3)
        if geometry_order == 2:
            gmsh.model.mesh.setOrder(2)
    except Exception as exc:
        raise InputError(geometry.source, f"gmsh could not mesh the geometry: {exc}") from None
    return {"grains": len(kept), "enclosed_solids_dropped": len(solids) - len(kept),
            "pores": num_pores}  # fmt: skip
