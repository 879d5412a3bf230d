"""Linear elasticity: Young's modulus factors M and stress statistics on voxel and conforming meshes.

``elastic`` is the one entry; the discretisations (``voxel``: Q1 on the voxel grid with a
two-level multigrid; ``conforming``: P1/P2 on gmsh tetrahedra) are internal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from mpi4py import MPI

from meso.elasticity.conforming import elastic_conforming
from meso.elasticity.fields import VoxelFieldWriter, conforming_field_writer
from meso.elasticity.loading import check_strain
from meso.elasticity.results import ElasticAxisResult, ElasticityResult, StressStatistics
from meso.elasticity.voxel import elastic_voxel
from meso.errors import InputError
from meso.materials import Materials
from meso.mesh.conforming import ConformingMesh
from meso.microstructure import AXES, Microstructure
from meso.progress import Progress


def elastic(
    target: Microstructure | ConformingMesh,
    *,
    axes: Sequence[str] = AXES,
    materials: Materials | None = None,
    strain: float = 1e-3,
    comm: MPI.Comm = MPI.COMM_WORLD,
    fields_dir: str | Path | None = None,
    on_fields: Callable | None = None,
    progress: Progress | None = None,
    degree: int = 1,
    voxel_size_um: float | None = None,
) -> ElasticityResult:
    """Effective Young's modulus factors M = E_eff / E_grain, Poisson ratios and stress
    concentration along `axes` under uniaxial strain.

    The face normal to each axis at its start is held at zero normal displacement, the
    opposite face is moved by strain * L (tangential motion there free), every other surface
    is traction-free; solid that does not bridge the two loaded faces carries no load.

    Parameters
    ----------
    target : Microstructure (Q1 on its solid voxels, each phase its E and nu) or
        ConformingMesh (the solid with the grain's E and nu)
    axes : sequence of "x", "y", "z"
    materials : phase elastic constants (default: the packaged LLZO table)
    strain : applied axial strain, non-zero with |strain| <= 0.1 (negative: compression)
    comm : MPI communicator of a voxel solve (a conforming mesh carries its own)
    fields_dir : write displacement and stress fields (XDMF; voxel von Mises PNGs) there
    on_fields : called with each axis's fields (``ElasticFields`` / ``ConformingElasticFields``)
    progress : called with the axis after each solve
    degree, voxel_size_um : conforming meshes only: Lagrange degree, and the voxel size the
        geometry came from (sets ``shape``)

    Examples
    --------
    >>> import numpy as np
    >>> r = elastic(Microstructure(np.ones((4, 4, 4), np.uint8)), axes=["x"], comm=MPI.COMM_SELF)
    >>> round(r.axes["x"].M, 6), round(r.axes["x"].nu_eff["y"], 6)
    (1.0, 0.257)
    """
    check_strain(strain, "strain")
    if isinstance(target, Microstructure):
        if degree != 1 or voxel_size_um is not None:
            raise InputError("degree" if degree != 1 else "voxel_size_um",
                             "applies to conforming meshes only")  # fmt: skip
        writer = VoxelFieldWriter(target, Path(fields_dir), comm) if fields_dir else None
        return elastic_voxel(target, axes=axes, materials=materials, strain=strain, comm=comm,
                             on_fields=_both(writer, on_fields), progress=progress)  # fmt: skip
    if isinstance(target, ConformingMesh):
        writer = conforming_field_writer(target, Path(fields_dir)) if fields_dir else None
        return elastic_conforming(target, axes=axes, materials=materials, strain=strain,
                                  degree=degree, voxel_size_um=voxel_size_um,
                                  on_fields=_both(writer, on_fields), progress=progress)  # fmt: skip
    raise TypeError(f"elastic takes a Microstructure or a ConformingMesh, not {type(target)}")


def _both(first: Callable | None, second: Callable | None) -> Callable | None:
    """One ``on_fields`` callback that calls both (either may be None)."""
    if first is None or second is None:
        return first or second
    return lambda fields: (first(fields), second(fields))


__all__ = ["ElasticAxisResult", "ElasticityResult", "StressStatistics", "elastic"]
