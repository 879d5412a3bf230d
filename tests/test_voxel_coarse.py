"""The geometric aggregation coarse space against PETSc's own Galerkin product P^T A P, with and
without a loading's Dirichlet rows and springs, on one and two ranks."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from meso.elasticity.voxel import voxel_moduli
from meso.elasticity.voxel_coarse import assemble_with_coarse_space

CHECK = """
import json, sys
import numpy as np
from mpi4py import MPI
from petsc4py import PETSc
from meso.elasticity.voxel import voxel_moduli
from meso.elasticity.voxel_coarse import assemble_with_coarse_space
from meso.elasticity.voxel_stiffness import face_springs

comm = MPI.COMM_WORLD
rng = np.random.default_rng(3)
labels = rng.choice([0, 1, 1, 1, 1, 2], size=(9, 7, 8)).astype(np.uint8)
labels[0, 0, 0], labels[1, 1, 0], labels[0, 1, 0], labels[1, 0, 0] = 1, 1, 0, 0  # edge only
lam, mu = voxel_moduli(labels, labels > 0, {1: (150e9, 0.257), 2: (60e9, 0.1)})
stiffness, coarse = assemble_with_coarse_space(lam, mu, 2e-6, comm, block=3)
P, C = coarse.prolongator, coarse.operator
out = {"unloaded": [], "loaded": [], "restored": [], "modes": []}
fine = stiffness.matrix.convert("aij")  # PETSc has no P^T A P for a BAIJ A
reference = fine.ptap(P)
reference.axpy(-1.0, C)
out["unloaded"] = reference.norm() / C.norm()
for axis in range(3):
    springs = face_springs(stiffness, axis, 3e15)
    fixed = np.zeros((stiffness.num_owned, 3), bool)
    fixed[:, axis] = np.isin(stiffness.ijk[:, axis], (0, stiffness.shape[axis]))
    A = fine.copy()
    A.axpy(1.0, springs, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
    rows = (3 * (stiffness.start + np.flatnonzero(fixed[:, axis])) + axis).astype(PETSc.IntType)
    A.zeroRowsColumns(rows, 1.0)
    reference = A.ptap(P)
    diagonal = springs.getDiagonal().getArray().reshape(-1, 3)
    with coarse.loaded(stiffness, fixed, diagonal) as loaded:
        reference.axpy(-1.0, loaded)
        out["loaded"].append(reference.norm() / loaded.norm())
    restored = stiffness.matrix.convert("aij").ptap(P)  # the loading is undone afterwards
    restored.axpy(-1.0, C)
    out["restored"].append(restored.norm() / C.norm())
for mode in C.getNearNullSpace().getVecs():
    force = C.createVecLeft()
    C.mult(mode, force)
    out["modes"].append(force.norm() / C.norm())
PtP = P.transposeMatMult(P)
identity = PtP.getDiagonal().getArray()
out["PtP"] = [float(PtP.norm(PETSc.NormType.FROBENIUS) ** 2), float(comm.allreduce(
    np.count_nonzero(identity > 0.5)))]
out["coarse"] = C.getSize()[0]
if comm.rank == 0:
    print(json.dumps(out))
"""


def run_check(tmp_path, command) -> dict:
    (tmp_path / "check.py").write_text(CHECK)
    proc = subprocess.run([*command, sys.executable, str(tmp_path / "check.py")],
                          capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parents[1])  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_matches_petsc(out: dict) -> None:
    assert out["unloaded"] < 1e-13
    assert max(out["loaded"]) < 1e-13
    assert max(out["restored"]) < 1e-13
    assert max(out["modes"]) < 1e-13  # the coarse near-nullspace is the volume's rigid motion
    # P's columns are orthonormal: P^T P is the identity on the modes the aggregates hold
    assert out["PtP"][0] == pytest.approx(out["PtP"][1], rel=1e-12)
    assert out["PtP"][1] <= out["coarse"]


def test_coarse_operator_is_the_galerkin_product(tmp_path):
    assert_matches_petsc(run_check(tmp_path, []))


@pytest.mark.mpi
def test_coarse_operator_is_the_galerkin_product_on_two_ranks(tmp_path, mpirun):
    assert_matches_petsc(run_check(tmp_path, [*mpirun, "-n", "2"]))


def test_modes_a_one_node_aggregate_cannot_hold_are_dropped():
    # one voxel, one vertex per aggregate: each holds the three translations only, so P is
    # an orthogonal 24 x 24 map onto the kept modes and the coarse operator has the fine
    # matrix's spectrum there; each dropped mode is a decoupled 1 on the diagonal
    labels = np.ones((1, 1, 1), np.uint8)
    lam, mu = voxel_moduli(labels, labels > 0, {1: (150e9, 0.257)})
    stiffness, coarse = assemble_with_coarse_space(lam, mu, 1e-6, MPI.COMM_SELF, block=1)
    kept = (np.abs(coarse.aggregates.basis).sum(axis=1) > 0).ravel()
    assert coarse.aggregates.count == 8 and np.count_nonzero(kept) == 24
    C = coarse.operator.convert("dense").getDenseArray()
    A = stiffness.matrix.convert("dense").getDenseArray()
    assert np.allclose(np.linalg.eigvalsh(C[np.ix_(kept, kept)]), np.linalg.eigvalsh(A),
                       atol=1e-10 * np.abs(A).max())  # fmt: skip
    assert np.array_equal(C[np.ix_(~kept, ~kept)], np.eye(24))
    assert not C[np.ix_(~kept, kept)].any()


SMALL = """
import json
import numpy as np
from mpi4py import MPI
from meso import Microstructure
from meso import elastic
from meso.elasticity.voxel_coarse import RigidAggregates
from meso.elasticity.voxel_stiffness import VoxelNodes

labels = np.ones((3, 4, 5), np.uint8)
labels[1, 1, 1:3] = 0
owned = RigidAggregates(VoxelNodes(labels > 0, MPI.COMM_WORLD)).num_owned
r = elastic(Microstructure(labels), comm=MPI.COMM_WORLD)
owned = MPI.COMM_WORLD.gather(owned)
if MPI.COMM_WORLD.rank == 0:
    print(json.dumps({"owned": owned, "M": {a: v.M for a, v in r.axes.items()}}))
"""


@pytest.mark.mpi
def test_a_rank_without_coarse_rows_takes_part(tmp_path, mpirun):
    # four aggregates, all first met on rank 0: rank 1 owns no coarse row (petsc4py must still
    # preallocate there, or the assembly waits for it forever)
    (tmp_path / "small.py").write_text(SMALL)
    out = {}
    for ranks in (1, 2):
        proc = subprocess.run([*mpirun, "-n", str(ranks), sys.executable, str(tmp_path / "small.py")],
                              capture_output=True, text=True, timeout=120,
                              cwd=Path(__file__).parents[1])  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[ranks] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out[2]["owned"] == [4, 0]
    for axis, M in out[1]["M"].items():
        assert 0.8 < M < 1
        assert out[2]["M"][axis] == pytest.approx(M, rel=1e-6)
