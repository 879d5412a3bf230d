"""Meshes with cell and facet tags to XDMF (DOLFINx, ParaView) and back, written atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mpi4py import MPI

from meso.dolfinx_compat import write_meshtags
from meso.errors import InputError


def write_mesh_xdmf(path: str | os.PathLike, mesh, tags: Sequence, comm: MPI.Comm) -> Path:
    """Write `mesh` (named "mesh") and its MeshTags `tags` (each under its ``name``) to
    PATH.xdmf + PATH.h5, replacing both at once.

    XDMF names its HDF5 file inside the XML, so both are written under their final names in a
    temporary folder beside the target and moved into place only after the writer has closed.
    """
    from dolfinx.io import XDMFFile

    path = Path(path)
    tmpdir = None
    if comm.rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmpdir = tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent)
    tmpdir = Path(comm.bcast(tmpdir, root=0))
    try:
        mesh.name = "mesh"
        with XDMFFile(comm, str(tmpdir / path.name), "w") as xdmf:
            xdmf.write_mesh(mesh)
            mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
            for tag in tags:
                write_meshtags(xdmf, tag, mesh)
        comm.barrier()
        if comm.rank == 0:
            for produced in tmpdir.iterdir():
                os.replace(produced, path.parent / produced.name)
    finally:
        comm.barrier()
        if comm.rank == 0:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return path


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
