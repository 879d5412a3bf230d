"""Voxel meshes: cells, tags, box faces, vertex splitting and spanning clusters against counts
computed directly from the voxel arrays."""

import dolfinx.fem
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from meso.errors import InputError
from meso.mesh.face_markers import FACE_MARKERS, face_marker
from meso.mesh.lattice import spanning_clusters
from meso.mesh.voxel import build_voxel_mesh, electrode_facet_tags, slab_destinations

H = 2e-6  # voxel edge in metres


def _integrate(vm, integrand_measure) -> float:
    return vm.comm.allreduce(
        dolfinx.fem.assemble_scalar(dolfinx.fem.form(integrand_measure)), op=MPI.SUM
    )


@pytest.fixture(scope="module")
def labelled():
    rng = np.random.default_rng(3)
    labels = rng.integers(1, 3, size=(9, 7, 5)).astype(np.uint8)
    labels[rng.random(labels.shape) < 0.25] = 0
    return labels


def test_cells_tags_and_faces_match_the_voxels(labelled):
    vm = build_voxel_mesh(labelled, H, comm=MPI.COMM_SELF)
    solid = labelled != 0
    assert vm.num_cells == solid.sum()
    volume = _integrate(vm, dolfinx.fem.Constant(vm.mesh, 1.0) * ufl.dx)
    assert volume == pytest.approx(solid.sum() * H**3, rel=1e-12)
    # each cell's tag is the label of the voxel its centre lies in
    i, j, k = vm.voxel_index.T
    assert np.array_equal(vm.cell_tags.values, labelled[i, j, k])
    assert sorted(map(tuple, vm.voxel_index)) == sorted(map(tuple, np.argwhere(solid)))
    # area of each tagged box face = solid voxels on that face of the array
    ds = ufl.Measure("ds", domain=vm.mesh, subdomain_data=vm.facet_tags)
    one = dolfinx.fem.Constant(vm.mesh, 1.0)
    for (axis, side), marker in FACE_MARKERS.items():
        a = "xyz".index(axis)
        face = np.take(solid, 0 if side == "min" else -1, axis=a)
        assert _integrate(vm, one * ds(marker)) == pytest.approx(face.sum() * H**2, rel=1e-12)
    # gathering a cell field returns the voxel array (NaN outside the mesh)
    gathered = vm.gather_cell_values(vm.cell_tags.values.astype(float))
    assert np.array_equal(np.nan_to_num(gathered), labelled.astype(float))


def test_electrode_tags_pick_the_two_faces_of_one_axis(labelled):
    vm = build_voxel_mesh(labelled, H, comm=MPI.COMM_SELF)
    tags = electrode_facet_tags(vm, "y")
    ds = ufl.Measure("ds", domain=vm.mesh, subdomain_data=tags)
    one = dolfinx.fem.Constant(vm.mesh, 1.0)
    solid = labelled != 0
    assert _integrate(vm, one * ds(1)) == pytest.approx(solid[:, 0, :].sum() * H**2)
    assert _integrate(vm, one * ds(2)) == pytest.approx(solid[:, -1, :].sum() * H**2)
    assert face_marker("y", "min") == 3 and face_marker(2, "max") == 6


@pytest.mark.parametrize(
    "second, vertices",
    [((1, 0, 0), 12), ((1, 1, 0), 16), ((1, 1, 1), 16)],  # face, edge and corner contact
)
def test_vertices_are_shared_only_across_faces(second, vertices):
    keep = np.zeros((2, 2, 2), bool)
    keep[0, 0, 0] = keep[second] = True
    vm = build_voxel_mesh(keep.astype(np.uint8), H, comm=MPI.COMM_SELF)
    assert vm.mesh.geometry.x.shape[0] == vertices


def test_spanning_clusters_drop_dead_islands():
    solid = np.zeros((6, 5, 5), bool)
    solid[:, 1, 1] = True  # spans x
    solid[2:4, 3, 3] = True  # floating island
    solid[0:3, 3, 0] = True  # touches x-min only
    kept = spanning_clusters(solid, "x")
    expected = np.zeros_like(solid)
    expected[:, 1, 1] = True
    assert np.array_equal(kept, expected)
    assert not spanning_clusters(solid, "y").any()
    # a diagonal (edge) contact joins clusters only with connectivity 2 or 3
    chain = np.zeros((2, 2, 1), bool)
    chain[0, 0, 0] = chain[1, 1, 0] = True
    assert not spanning_clusters(chain, "x").any()
    assert spanning_clusters(chain, "x", connectivity=3).sum() == 2


def test_slab_destinations_ghost_every_neighbouring_rank():
    keep = np.ones((4, 2, 1), bool)
    data, offsets = slab_destinations(keep, 2)
    rows = [data[offsets[i] : offsets[i + 1]].tolist() for i in range(8)]
    # C order: voxels 0-3 (x = 0, 1) on rank 0, 4-7 (x = 2, 3) on rank 1; x = 1 and 2 touch
    assert rows == [[0], [0], [0, 1], [0, 1], [1, 0], [1, 0], [1], [1]]


def test_bad_input_is_reported():
    with pytest.raises(InputError, match="no voxel"):
        build_voxel_mesh(np.zeros((3, 3, 3), np.uint8), H, comm=MPI.COMM_SELF)
    with pytest.raises(InputError, match="positive"):
        build_voxel_mesh(np.ones((3, 3, 3), np.uint8), -1.0, comm=MPI.COMM_SELF)


MPI_SCRIPT = """
import json, numpy as np
from mpi4py import MPI
from meso.mesh.voxel import build_voxel_mesh
rng = np.random.default_rng(5)
labels = np.where(rng.random((12, 9, 7)) < 0.3, 0, 1).astype(np.uint8)
vm = build_voxel_mesh(labels if MPI.COMM_WORLD.rank == 0 else None, 1e-6)
owned = vm.num_owned_cells
i, j, k = vm.voxel_index.T
gathered = vm.gather_cell_values(np.ones(len(vm.voxel_index)))
owned_all = MPI.COMM_WORLD.gather(owned, root=0)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps({"owned": owned_all, "total": vm.num_cells, "solid": int(labels.sum()),
                      "gathered": int(np.nansum(gathered)),
                      "tags_ok": bool(np.all(labels[i, j, k] == vm.cell_tags.values))}))
"""


@pytest.mark.mpi
def test_mesh_is_distributed_over_two_ranks(mpirun):
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [*mpirun, "-n", "2", sys.executable, "-c", MPI_SCRIPT],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sum(result["owned"]) == result["total"] == result["solid"] == result["gathered"]
    assert all(0 < n < result["total"] for n in result["owned"])  # split, not replicated
    assert result["tags_ok"]
