"""Meshes with cell and facet tags to XDMF (DOLFINx, ParaView) and back, written atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mpi4py import MPI

from meso.errors import InputError
from meso.io.xdmf import write_xdmf


def write_mesh_xdmf(path: str | os.PathLike, mesh, tags: Sequence, comm: MPI.Comm) -> Path:
    """Write `mesh` (named "mesh") and its MeshTags `tags` (each under its ``name``) to
    PATH.xdmf + PATH.h5, replacing both at once (meso.io.xdmf.write_xdmf)."""
    mesh.name = "mesh"
    return write_xdmf(path, mesh, (), comm, tags)


def read_mesh_xdmf(path: str | os.PathLike, tag_names: Sequence[str], comm: MPI.Comm):
    """Read a mesh written by ``write_mesh_xdmf`` and the named MeshTags: (mesh, {name: tags})."""
    from dolfinx.io import XDMFFile

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such mesh file")
    with XDMFFile(comm, str(path), "r") as xdmf:
        mesh = xdmf.read_mesh(name="mesh")
        tdim = mesh.topology.dim
        mesh.topology.create_connectivity(tdim - 1, tdim)
        tags = {name: xdmf.read_meshtags(mesh, name) for name in tag_names}
    return mesh, tags
