"""Field output: DOLFINx functions to XDMF (ParaView) and mid-plane PNG slices, written atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mpi4py import MPI

from meso.fem.compat import write_meshtags


def write_xdmf(
    path: str | os.PathLike, mesh, functions: Sequence, comm: MPI.Comm, tags: Sequence = ()
) -> Path:
    """Write `mesh`, `functions` and MeshTags `tags` to PATH.xdmf (+ its .h5), replacing both
    at once.

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
        with XDMFFile(comm, str(tmpdir / path.name), "w") as xdmf:
            xdmf.write_mesh(mesh)
            if tags:
                mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
                for tag in tags:
                    write_meshtags(xdmf, tag, mesh)
            for function in functions:
                xdmf.write_function(function)
        comm.barrier()
        if comm.rank == 0:
            for produced in tmpdir.iterdir():
                os.replace(produced, path.parent / produced.name)
    finally:
        comm.barrier()
        if comm.rank == 0:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return path
