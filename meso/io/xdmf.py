"""Field output: DOLFINx functions to XDMF (ParaView) and mid-plane PNG slices, written atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from mpi4py import MPI


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
                from meso.fem.compat import write_meshtags

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


def plot_midplane(
    path: str | os.PathLike,
    volume: np.ndarray,
    normal_axis: int,
    title: str,
    colorbar_label: str,
    voxel_size_um: float,
) -> Path:
    """PNG of the mid-plane slice of a voxel field normal to `normal_axis` (NaN = removed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from meso.io.atomic import atomic_path

    axes_names = "xyz"
    index = volume.shape[normal_axis] // 2
    plane = np.take(volume, index, axis=normal_axis)
    rows, cols = [a for a in range(3) if a != normal_axis]
    extent = [0, volume.shape[rows] * voxel_size_um, 0, volume.shape[cols] * voxel_size_um]
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    image = ax.imshow(np.ma.masked_invalid(plane).T, origin="lower", extent=extent, cmap="magma")
    ax.set_xlabel(f"{axes_names[rows]} (um)")
    ax.set_ylabel(f"{axes_names[cols]} (um)")
    ax.set_title(f"{title}\n{axes_names[normal_axis]} = {(index + 0.5) * voxel_size_um:.3g} um")
    fig.colorbar(image, ax=ax, label=colorbar_label)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return Path(path)
