"""Conforming gmsh meshes of a synthetic LLZO volume: pores, Voronoi grains with resistive boundaries, vs voxels.

Run from the repository root (about 15 s on 2 cores):

    .venv/bin/python examples/conforming_meshes.py --out out/conforming_example
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mpi4py import MPI

from meso import conduct, elastic
from meso.io.mesh_xdmf import write_mesh_xdmf
from meso.materials import parse_materials
from meso.mesh.conforming import build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from meso.mesh.surface import SegmentedGeometry
from synth import generate

SELF = MPI.COMM_SELF
GRAIN_SIGMA_S_PER_M = 5e-2
ASR_OHM_M2 = 2e-6  # R sigma = 0.1 um: each boundary resists like 0.1 um of grain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/conforming_example", help="output folder")
    parser.add_argument("--size", type=int, default=24, help="voxels per edge")
    args = parser.parse_args()
    out = Path(args.out)

    # 1. A small volume (0.5 um voxels, 5 % porosity, 2.5 um pores, 5 um grains), no boundary
    #    layer in the labels: the conforming meshes carry the boundaries as interfaces instead.
    m, geometry = generate(args.size, 0.5, porosity=0.05, pore_size_um=2.5, grain_size_um=5.0,
                           gb_thickness_voxels=0, seed=3, return_geometry=True)  # fmt: skip
    materials = parse_materials(
        f"[phases.pore]\nlabel = 0\nvoid = true\n[phases.grain]\nlabel = 1\n"
        f"sigma_S_per_m = {GRAIN_SIGMA_S_PER_M}\nE_Pa = 150e9\nnu = 0.257\n"
    )

    # 2. Three meshes of the same solid: exact pores (OpenCASCADE), exact pores + Voronoi
    #    grains, and the voxel labels with smoothed walls (what a segmented tomogram gets).
    pores = PoreGeometry.from_synth(geometry, m.voxel_size_um)
    grains = PoreGeometry.from_synth(geometry, m.voxel_size_um, grains=True)
    meshes = {
        "exact pores": build_conforming_mesh(pores, size_um=1.0, comm=SELF),
        "exact pores + grains": build_conforming_mesh(grains, size_um=1.0, comm=SELF),
        "smoothed voxel walls": build_conforming_mesh(
            SegmentedGeometry(m.solid_mask(), m.voxel_size_um), size_um=1.0, comm=SELF
        ),
    }
    for name, cm in meshes.items():
        q = cm.quality
        print(f"{name:<22} {cm.num_cells:7d} tetrahedra, scaled Jacobian min {q.min_scaled_jacobian:.2g}"
              f" mean {q.mean_scaled_jacobian:.3f}")  # fmt: skip
        tags = [cm.cell_tags, cm.facet_tags] + ([cm.grain_tags] if cm.grain_tags else [])
        cm.cell_tags.name, cm.facet_tags.name = "cell_tags", "facet_tags"
        write_mesh_xdmf(
            out / f"{name.replace(' ', '_').replace('+', 'and')}.xdmf", cm.mesh, tags, SELF
        )

    # 3. Conduction and elasticity along x on each representation.
    print("\nM_x (conduction)")
    voxel = conduct(m, axes=["x"], method="both", materials=materials, comm=SELF)
    print(f"  voxels fv {voxel.factor('x', 'fv'):.4f}   voxels fe {voxel.factor('x', 'fe'):.4f}")
    for name in ("exact pores", "smoothed voxel walls"):
        print(
            f"  {name:<22} P1 {conduct(meshes[name], axes=['x'], materials=materials).factor('x'):.4f}"
        )
    with_boundaries = conduct(meshes["exact pores + grains"], axes=["x"], materials=materials,
                              grain_boundary_asr_ohm_m2=ASR_OHM_M2)  # fmt: skip
    print(f"  exact pores + grain boundaries of {ASR_OHM_M2:g} ohm m^2 (DG1) "
          f"{with_boundaries.factor('x'):.4f}")  # fmt: skip
    elastic_x = elastic(meshes["exact pores"], axes=["x"], materials=materials).axes["x"]
    print(
        f"\nE_x / E_grain on the exact pores (P1) {elastic_x.M:.4f}, nu_xy {elastic_x.nu_eff['y']:.3f}"
    )
    print(f"\nmeshes (XDMF with cell and facet tags, for ParaView) in {out}")


if __name__ == "__main__":
    main()
