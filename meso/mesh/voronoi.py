"""Voronoi grains clipped to a box as convex polyhedra (scipy), and as OpenCASCADE solids for gmsh."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, Delaunay, HalfspaceIntersection


def _halfspaces(i: int, seeds: np.ndarray, neighbours: set[int], box: np.ndarray) -> np.ndarray:
    """Rows [a, b] with a.x + b <= 0: the box and the bisectors between seed i and its neighbours."""
    rows = [np.r_[-np.eye(3)[a], 0.0] for a in range(3)]
    rows += [np.r_[np.eye(3)[a], -box[a]] for a in range(3)]
    for j in neighbours:
        normal = seeds[j] - seeds[i]
        rows.append(np.r_[normal, -0.5 * (seeds[j] @ seeds[j] - seeds[i] @ seeds[i])])
    return np.array(rows)


def _interior_point(halfspaces: np.ndarray) -> tuple[np.ndarray, float]:
    """Chebyshev centre of {x: A x + b <= 0} and its radius (<= 0: empty or flat)."""
    A, b = halfspaces[:, :3], halfspaces[:, 3]
    norms = np.linalg.norm(A, axis=1)
    result = linprog(np.r_[0, 0, 0, -1.0], A_ub=np.c_[A, norms], b_ub=-b,
                     bounds=[(None, None)] * 3 + [(0, None)], method="highs")  # fmt: skip
    if not result.success:
        return np.zeros(3), 0.0
    return result.x[:3], float(result.x[3])


def _polygon_faces(vertices: np.ndarray) -> list[list[int]]:
    """The faces of a convex polyhedron as vertex lists ordered around each face (the hull's
    coplanar triangles merged by their plane equation)."""
    hull = ConvexHull(vertices)
    scale = float(np.ptp(vertices, axis=0).max())
    planes: dict[tuple, set[int]] = {}
    normals: dict[tuple, np.ndarray] = {}
    for simplex, equation in zip(hull.simplices, hull.equations, strict=True):
        key = tuple(np.round(np.r_[equation[:3], equation[3] / scale], 7))
        planes.setdefault(key, set()).update(simplex.tolist())
        normals[key] = equation[:3]
    faces = []
    for key, members in planes.items():
        idx = np.array(sorted(members))
        points = vertices[idx]
        centre = points.mean(axis=0)
        normal = normals[key]
        u = points[0] - centre
        u /= np.linalg.norm(u)
        w = np.cross(normal, u)
        angles = np.arctan2((points - centre) @ w, (points - centre) @ u)
        faces.append(idx[np.argsort(angles)].tolist())
    return faces


def voronoi_polyhedra(seeds_um: np.ndarray, stretch: np.ndarray, box_um: np.ndarray,
                      min_radius_um: float = 1e-6) -> list[tuple[int, np.ndarray, list[list[int]]]]:  # fmt: skip
    """The Voronoi cells of `seeds_um` in the metric |(x - s) / stretch|, clipped to [0, box_um].

    In coordinates u = x / stretch the cells are ordinary Voronoi cells, i.e. the intersection of
    the box with the bisector half-spaces of the Delaunay neighbours (scipy's
    HalfspaceIntersection); the linear map back keeps them convex polyhedra.

    Returns
    -------
    list of (seed index, vertices (V, 3) in um, faces as ordered vertex-index lists) for every
    cell that meets the box with an inscribed radius above `min_radius_um`.
    """
    stretch = np.asarray(stretch, dtype=float)
    seeds = np.asarray(seeds_um, dtype=float) / stretch
    box = np.asarray(box_um, dtype=float) / stretch
    neighbours: list[set[int]] = [set() for _ in seeds]
    for simplex in Delaunay(seeds).simplices:
        for a in simplex:
            neighbours[a].update(int(b) for b in simplex if b != a)
    tolerance = 1e-9 * float(np.max(box_um))
    cells = []
    for i in range(len(seeds)):
        halfspaces = _halfspaces(i, seeds, neighbours[i], box)
        point, radius = _interior_point(halfspaces)
        if radius * stretch.min() <= min_radius_um:  # outside the box, or a sliver of it
            continue
        vertices = HalfspaceIntersection(halfspaces, point).intersections * stretch
        # several planes through one vertex give it several times: merge within tolerance
        _, first = np.unique(np.round(vertices / tolerance), axis=0, return_index=True)
        vertices = vertices[np.sort(first)]
        cells.append((i, vertices, _polygon_faces(vertices)))
    return cells


def add_occ_polyhedra(occ, cells) -> list[tuple[int, int]]:
    """OpenCASCADE solids of the convex polyhedra from ``voronoi_polyhedra`` (one per cell)."""
    solids = []
    for _, vertices, faces in cells:
        points = [occ.addPoint(*map(float, v)) for v in vertices]
        lines: dict[tuple[int, int], int] = {}
        surfaces = []
        for face in faces:
            loop = []
            for a, b in zip(face, face[1:] + face[:1], strict=True):
                key = (min(a, b), max(a, b))
                if key not in lines:
                    lines[key] = occ.addLine(points[key[0]], points[key[1]])
                loop.append(lines[key] if a < b else -lines[key])
            surfaces.append(occ.addPlaneSurface([occ.addCurveLoop(loop)]))
        solids.append((3, occ.addVolume([occ.addSurfaceLoop(surfaces)])))
    return solids
