"""The voxel lattice: hexahedron corners, face-connected clusters and slabs of ranks."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from meso.microstructure import axis_index

# Corner offsets of a hexahedron in DOLFINx's (tensor-product, lexicographic) vertex order.
HEX_CORNERS = np.array(
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]]
)


# Bit b = 4 i + 2 j + k of a lattice vertex's occupancy pattern is the voxel at offset
# (i, j, k) - 1 from it (C order, so a pattern reshapes to a (2, 2, 2) block); a voxel with
# its corner c at the vertex sits at offset 1 - c, i.e. in bit 7 - (4 c_x + 2 c_y + c_z).
OCTANT_OF_CORNER = 7 - HEX_CORNERS @ np.array([4, 2, 1])


def spanning_clusters(mask: np.ndarray, axis: str | int, connectivity: int = 1) -> np.ndarray:
    """The voxels of `mask` in clusters that touch both faces normal to `axis`.

    Parameters
    ----------
    mask : bool array (x, y, z)
        Voxels that take part in the problem (e.g. the conducting solid).
    axis : "x", "y", "z" or 0, 1, 2
    connectivity : 1, 2 or 3
        Neighbours that join a cluster: 1 = shared faces (a cell-centred finite-volume
        stencil), 3 = shared faces, edges or corners (nodal finite elements couple those).

    Returns
    -------
    bool array of the same shape; all False when no cluster spans the axis.

    Examples
    --------
    >>> m = np.zeros((3, 3, 3), bool); m[:, 0, 0] = True; m[1, 2, 2] = True
    >>> int(spanning_clusters(m, "x").sum())
    3
    """
    a = axis_index(axis)
    structure = ndimage.generate_binary_structure(3, connectivity)
    clusters, count = ndimage.label(mask, structure=structure)
    first = np.unique(np.take(clusters, 0, axis=a))
    last = np.unique(np.take(clusters, -1, axis=a))
    spanning = np.intersect1d(first, last)
    lookup = np.zeros(count + 1, dtype=bool)
    lookup[spanning[spanning > 0]] = True
    return lookup[clusters]


def _corner_components() -> np.ndarray:
    """Table (256, 8): for each occupancy pattern of the 2x2x2 voxels around a lattice vertex,
    the face-connected component (0..3) that each of the eight voxels belongs to."""
    table = np.zeros((256, 8), dtype=np.int64)
    for pattern in range(256):
        block = ((pattern >> np.arange(8)) & 1).astype(bool).reshape(2, 2, 2)
        components, _ = ndimage.label(block)  # face connectivity inside the block
        table[pattern] = np.maximum(components.ravel() - 1, 0)
    return table


CORNER_COMPONENTS = _corner_components()


def owned_range(count: int, rank: int, size: int) -> tuple[int, int]:
    """[start, end) of the kept voxels (C order) that `rank` owns: the k with
    k * size // count == rank, as in ``meso.mesh.voxel.slab_destinations``."""
    return -(-rank * count // size), -(-(rank + 1) * count // size)
