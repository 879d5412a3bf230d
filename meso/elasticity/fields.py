"""Elasticity fields: displacement and von Mises / hydrostatic stress as XDMF, mid-plane PNGs."""

from __future__ import annotations

from pathlib import Path

import dolfinx.fem
import numpy as np

from meso.fem.compat import cell_dofs, function_space
from meso.io.figures import plot_midplane
from meso.io.xdmf import write_xdmf
from meso.mesh.lattice import HEX_CORNERS
from meso.mesh.voxel import VoxelMesh, build_voxel_mesh, voxel_dg0
from meso.microstructure import Microstructure


def elastic_field_functions(vm: VoxelMesh, fields) -> list[dolfinx.fem.Function]:
    """Displacement (Q1, m) and von Mises and hydrostatic stress (DG0, Pa) of one voxel
    elasticity solve (``meso.elasticity.voxel.ElasticFields``, arrays on rank 0) on the voxel mesh
    `vm` cut from the same voxels."""
    displacement, von_mises, hydrostatic = vm.comm.bcast(
        (fields.displacement_m, fields.von_mises_Pa, fields.hydrostatic_Pa), root=0
    )
    V = function_space(vm.mesh, "Lagrange", 1, (3,))
    u = dolfinx.fem.Function(V, name="displacement")
    # local vertex i of a DOLFINx hexahedron sits at corner HEX_CORNERS[i] of its voxel
    corners = HEX_CORNERS @ np.array([4, 2, 1])
    nodes = fields.nodes.corner_nodes(vm.voxel_index, corners)
    values = u.x.array.reshape(-1, 3)
    values[cell_dofs(V)[: len(vm.voxel_index)]] = displacement[nodes]
    return [u, voxel_dg0(vm, von_mises, "von_mises_Pa"), voxel_dg0(vm, hydrostatic,
                                                                    "hydrostatic_Pa")]  # fmt: skip


class VoxelFieldWriter:
    """``on_fields`` of a voxel solve that writes ``elastic_AXIS.xdmf`` (displacement, von
    Mises and hydrostatic stress) and ``elastic_von_mises_AXIS.png`` (a mid-plane containing the
    load axis, in um) into `folder`; the voxel mesh of each load-bearing set is built once."""

    def __init__(self, m: Microstructure, folder: Path, comm):
        self.m, self.folder, self.comm = m, Path(folder), comm
        self.meshes: dict[bytes, VoxelMesh] = {}

    def __call__(self, fields) -> None:
        key = fields.nodes.keep.tobytes()
        if key not in self.meshes:
            self.meshes.clear()  # one mesh alive at a time
            self.meshes[key] = build_voxel_mesh(self.m.labels, self.m.voxel_size_m,
                                                fields.nodes.keep, self.comm)  # fmt: skip
        vm = self.meshes[key]
        functions = elastic_field_functions(vm, fields)
        write_xdmf(self.folder / f"elastic_{fields.axis}.xdmf", vm.mesh, functions, self.comm)
        if self.comm.rank == 0:
            normal = 2 if fields.axis != "z" else 1  # a plane that contains the load axis
            plot_midplane(
                self.folder / f"elastic_von_mises_{fields.axis}.png", fields.von_mises_Pa / 1e6,
                normal, f"von Mises stress, loading along {fields.axis}",
                "von Mises stress (MPa)",
                self.m.voxel_size_um,
            )  # fmt: skip


def conforming_field_writer(cm, folder: Path):
    """``on_fields`` of a conforming solve: ``elastic_AXIS.xdmf`` in `folder`."""

    def write(fields) -> None:
        functions = [fields.displacement, fields.von_mises, fields.hydrostatic]
        write_xdmf(Path(folder) / f"elastic_{fields.axis}.xdmf", cm.mesh, functions, cm.mesh.comm)

    return write
