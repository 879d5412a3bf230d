"""PETSc options for the voxel solves, in one dict: CG preconditioned by tuned BoomerAMG."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from petsc4py import PETSc

# Tuned for 3D voxel Laplacians (issue #4: on a 128^3 Q1 problem BoomerAMG defaults took
# ~120 s, these ~25 s): a strong threshold of 0.7 suits 3D, HMIS coarsening with ext+i
# interpolation keeps the operator complexity low, and one level of aggressive coarsening
# (agg_nl 1) thins the first coarse grid further. l1-scaled Jacobi smoothing makes the
# preconditioner independent of the number of ranks and was ~25% faster than hybrid
# Gauss-Seidel on a 128^3 fv problem here. rtol 1e-7 gives M to ~1e-7 (TauFactor's default
# stop is ~1e-4); in our measurements each factor 10 costs ~1.5 more CG iterations.
CG_BOOMERAMG: dict[str, Any] = {
    "ksp_type": "cg",
    "ksp_rtol": 1e-7,
    "ksp_atol": 0.0,
    "ksp_max_it": 1000,
    "pc_type": "hypre",
    "pc_hypre_type": "boomeramg",
    "pc_hypre_boomeramg_strong_threshold": 0.7,
    "pc_hypre_boomeramg_coarsen_type": "HMIS",
    "pc_hypre_boomeramg_interp_type": "ext+i",
    "pc_hypre_boomeramg_agg_nl": 1,
    "pc_hypre_boomeramg_P_max": 4,
    "pc_hypre_boomeramg_relax_type_all": "l1scaled-Jacobi",
}

# The fv conduction system on a DMDA (meso.conduction.voxel_gmg): CG + geometric multigrid on the
# DMDA's hierarchy (trilinear interpolation, Galerkin coarse operators; the number of levels is
# set per volume so that the coarsest grid has ~9 points on its shortest edge), one SOR sweep
# (symmetric, local to each rank) as the smoother, LU (redundant on every rank) on the coarsest
# grid. On 5%-porous volumes 6 CG iterations at 128^3 and 8 at 256^3 (M to ~1e-7) against
# BoomerAMG's 14-17; Chebyshev/Jacobi smoothing was 1.5x slower in issue 20's probe (its
# eigenvalue estimate alone ~1 s an axis), and a forward sweep down with two backward ones up
# took 9 iterations instead of 6 for no gain. `-matptap_via allatonce` held 0.35 of 1.0 GB less per rank
# at 128^3 but redid the Galerkin products at 3x the cost on every axis. CG stops on the change of
# the current (meso.conduction.voxel_gmg.M_RTOL), or at ksp_rtol.
CG_GMG: dict[str, Any] = {
    "ksp_type": "cg",
    "ksp_rtol": 1e-10,
    "ksp_atol": 0.0,
    "ksp_max_it": 200,
    "pc_type": "mg",
    "mg_levels_ksp_type": "richardson",
    "mg_levels_ksp_max_it": 1,
    "mg_levels_ksp_norm_type": "none",
    "mg_levels_pc_type": "sor",
    "mg_coarse_ksp_type": "preonly",
}

# Elasticity: CG + aggregation AMG (GAMG) given the rigid-body near-nullspace, with
# Chebyshev/Jacobi smoothing as in the DOLFINx demos. Measured on a 64^3 5%-porous volume
# (811k DOFs): unsmoothed aggregation (nsmooths 0) needs about twice the CG iterations of
# smoothed aggregation but its setup costs 5 s instead of 34 s of CPU (42 s vs 55 s per axis
# in all, sparser coarse operators); a zero drop threshold keeps the iteration count the same
# on 1 and 2 ranks (38 and 38, against 37 and 61 with threshold 0.02).
CG_GAMG_ELASTICITY: dict[str, Any] = {
    "ksp_type": "cg",
    # started from the homogeneous solution (meso.elasticity.voxel), rtol 1e-6 gives M within 1e-7
    # (relative) of a zero start at rtol 1e-7 in 24 instead of 40 iterations (64^3 5%-porous
    # volume); 1e-5 took 17 but left a laminate's M 3e-6 off the exact Reuss value
    "ksp_rtol": 1e-6,
    "ksp_atol": 0.0,
    "ksp_max_it": 2000,
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    "pc_gamg_agg_nsmooths": 0,
    "pc_gamg_threshold": 0.0,
    "pc_gamg_square_graph": 1,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",
    "mg_levels_esteig_ksp_type": "cg",
}


# Voxel elasticity: the same CG, preconditioned by a two-level V-cycle whose coarse space is the
# rigid-body modes of blocks of 4^3 lattice vertices (meso.elasticity.voxel_coarse: GAMG's plain aggregation
# done geometrically, with no graph and no Galerkin product in PETSc), Chebyshev/point-block
# Jacobi on the fine matrix and two GAMG V-cycles on the coarse one (smoothed aggregation there,
# without squaring its graph). Measured on the 64^3 5%-porous volume, x axis, 2 ranks: 17 CG
# iterations against 23 for GAMG on the whole matrix (18 with plain aggregation on the coarse
# level); blocks of 3^3 took 11-13 but their twice as large coarse level cost 2 GB more at 128^3
# (9.9 against 7.8 GB for one axis). In earlier trials (3^3 blocks, Jacobi) two coarse V-cycles
# took 24 iterations where one took 30.
CG_AGGREGATION_ELASTICITY: dict[str, Any] = {
    "ksp_type": "cg",
    "pc_type": "mg",  # two levels, built by meso.elasticity.voxel_coarse.aggregation_ksp
    "ksp_rtol": CG_GAMG_ELASTICITY["ksp_rtol"],
    "ksp_atol": 0.0,
    "ksp_max_it": 2000,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "pbjacobi",  # inverts the 3 x 3 diagonal blocks
    "mg_levels_esteig_ksp_type": "cg",
    "mg_coarse_ksp_type": "preonly",
    "mg_coarse_pc_type": "gamg",
    "mg_coarse_pc_gamg_type": "agg",
    "mg_coarse_pc_gamg_agg_nsmooths": 1,
    "mg_coarse_pc_gamg_square_graph": 0,
    "mg_coarse_pc_gamg_threshold": 0.0,
    "mg_coarse_pc_mg_multiplicative_cycles": 2,
    "mg_coarse_mg_levels_ksp_type": "chebyshev",
    "mg_coarse_mg_levels_pc_type": "jacobi",
    "mg_coarse_mg_levels_esteig_ksp_type": "cg",
}


# Unprefixed options GAMG reads while it sets up (KSPSetUp or KSPSolve): free the intermediate data
# of its Galerkin products P^T A P once the coarse operators exist. Measured on a 64^3
# elasticity solve on 2 ranks: 0.1 GB less peak and 0.43 GB less held during the solve, same
# iterations and time.
GAMG_SETUP_OPTIONS: dict[str, Any] = {"mat_product_clear": "true"}


@contextmanager
def global_options(options: dict[str, Any], prefix: str = ""):
    """Set PETSc `options` (under `prefix`) for the duration of the block and remove them
    after, so that solves with different prefixes never see each other's settings."""
    database = PETSc.Options()
    for key, value in options.items():
        database[f"{prefix}{key}"] = value
    try:
        yield
    finally:
        for key in options:
            database.delValue(f"{prefix}{key}")


def create_ksp(matrix: PETSc.Mat, prefix: str, options: dict[str, Any] | None = None) -> PETSc.KSP:
    """A KSP on `matrix` configured from `options` (default CG_BOOMERAMG) under `prefix`
    (set while it reads them, removed after: no hidden global state)."""
    with global_options(CG_BOOMERAMG if options is None else options, prefix):
        ksp = PETSc.KSP().create(matrix.getComm())
        ksp.setOptionsPrefix(prefix)
        ksp.setOperators(matrix)
        ksp.setFromOptions()
    return ksp


def converged_reason_name(reason: int) -> str:
    """PETSc's name for a KSP converged/diverged reason code (e.g. 'CONVERGED_RTOL')."""
    for name, value in vars(PETSc.KSP.ConvergedReason).items():
        if not name.startswith("_") and value == reason and name.isupper():
            return name
    return str(reason)
