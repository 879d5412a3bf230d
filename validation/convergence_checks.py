"""Checks of `meso validate` that refine: convergence orders, constriction, voxel vs conforming, boundary faces."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from mpi4py import MPI

from meso import Microstructure, conduct, elastic
from meso.conduction.contact import ContactConduction, conduct_with_contacts
from meso.elasticity.conforming import solve_axis_elastic
from meso.fem.solver_options import CG_BOOMERAMG
from meso.materials import load_materials, parse_materials
from meso.mesh.conforming import build_conforming_mesh
from meso.mesh.pore_geometry import PoreGeometry
from validation.conduction_references import (
    disk_constriction_resistance,
    rayleigh_cubic_spheres,
    sphere_cell,
)
from validation.interface_references import cubic_grains_with_interfaces
from validation.voxel_vs_conforming import voxelise

SPHERE_POROSITY = 0.2
# voxels per cell and conforming element sizes (cell edges) of the sphere-array studies
VOXELS = {True: (12, 16, 24, 32), False: (12, 16, 24, 32, 48, 64)}
ELEMENT_SIZES = {True: (0.3, 0.2, 0.15, 0.1), False: (0.3, 0.2, 0.15, 0.1, 0.07, 0.05)}
DISK_RADII = {True: (6, 8, 12), False: (6, 8, 12, 16, 24)}  # voxels
CONVERGENCE_Y = "|value / reference - 1|"
ISOPARAMETRIC = ("Ciarlet & Raviart, Comput. Methods Appl. Mech. Eng. 1 (1972) 217 (isoparametric "
                 "elements): M is an energy, so its error is the square of the energy-norm error")  # fmt: skip


def _within(value: float, reference: float, tolerance: float) -> bool:
    return abs(value / reference - 1) <= tolerance


def order_in_h(dofs: Sequence[float], errors: Sequence[float]) -> float:
    """Least-squares order p of |error| ~ h^p with h = DOFs^(-1/3) (comparable for voxel and
    tetrahedral meshes, uniform or graded)."""
    slope = np.polyfit(np.log(np.asarray(dofs, float)), np.log(np.abs(errors)), 1)[0]
    return float(-3 * slope)


def _figure(title: str, x_label: str, label: str, x, errors) -> dict:
    """A line of a log-log convergence plot; lines of the same `title` share one figure."""
    return {"figure": title, "x_label": x_label, "y_label": CONVERGENCE_Y,
            "lines": {label: {"x": [float(v) for v in x],
                              "y": [abs(float(e)) for e in errors]}}}  # fmt: skip


SPHERE_FIGURE = f"Simple cubic array of insulating spheres (porosity {SPHERE_POROSITY}) vs Rayleigh"


def sphere_voxel_order(comm: MPI.Comm, quick: bool):
    """fv on the voxelised sphere: the staircase moves the pore wall by O(h), first order."""
    reference = rayleigh_cubic_spheres(SPHERE_POROSITY)
    dofs, errors = [], []
    for n in VOXELS[quick]:
        entry = conduct(Microstructure(sphere_cell(n, SPHERE_POROSITY)), axes=["x"], method="fv",
                        comm=comm).axes["x"]["fv"]  # fmt: skip
        dofs.append(entry.dofs)
        errors.append(entry.M / reference - 1)
    order = order_in_h(dofs, errors)
    return order, 1.0, 0.35, _within(order, 1.0, 0.35), (
        f"order of |M_fv / M_Rayleigh - 1| over {VOXELS[quick]} voxels per cell; first order "
        "expected for a staircase boundary (Rayleigh, Phil. Mag. 34 (1892) 481)"), _figure(
        SPHERE_FIGURE, "degrees of freedom", "voxel fv", dofs, errors)  # fmt: skip


def _sphere_conforming(comm: MPI.Comm, size: float, degree: int) -> tuple[int, float]:
    radius = (3.0 * SPHERE_POROSITY / (4.0 * math.pi)) ** (1.0 / 3.0)
    geometry = PoreGeometry.spheres((1, 1, 1), [[0.5, 0.5, 0.5]], [radius])
    cm = build_conforming_mesh(geometry, size_um=size, geometry_order=degree, comm=comm)
    entry = conduct(cm, axes=["x"], degree=degree).axes["x"][f"p{degree}"]
    return entry.dofs, entry.M / rayleigh_cubic_spheres(SPHERE_POROSITY) - 1


def sphere_conforming_order(degree: int, expected: float, tolerance: float) -> Callable:
    def run(comm: MPI.Comm, quick: bool):
        solved = [_sphere_conforming(comm, size, degree) for size in ELEMENT_SIZES[quick]]
        dofs, errors = zip(*solved, strict=True)
        order = order_in_h(dofs, errors)
        label = "conforming P2, curved tetrahedra" if degree == 2 else "conforming P1"
        return order, expected, tolerance, _within(order, expected, tolerance), (
            f"order of |M_P{degree} / M_Rayleigh - 1| with h = DOFs^(-1/3), element sizes "
            f"{ELEMENT_SIZES[quick]} cell; order 2k expected for degree k ({ISOPARAMETRIC})"
        ), _figure(SPHERE_FIGURE, "degrees of freedom", label, dofs, errors)  # fmt: skip

    return run


def sphere_conforming_value(comm: MPI.Comm):
    """P2 on curved tetrahedra of a tenth of the cell: M within 5e-4 of Rayleigh (measured 1e-4)."""
    _, error = _sphere_conforming(comm, 0.1, 2)
    reference = rayleigh_cubic_spheres(SPHERE_POROSITY)
    value = reference * (1 + error)
    return (
        value,
        reference,
        5e-4,
        _within(value, reference, 5e-4),
        ("Rayleigh, Phil. Mag. 34 (1892) 481; McPhedran & McKenzie, Proc. R. Soc. A 359 (1978) 45"),
    )


def disk_contact(a: int, comm: MPI.Comm) -> tuple[float, ContactConduction, np.ndarray]:
    """Relative error of the constriction resistance of a disk of radius a voxels centred on one
    face of a square block 8a wide and 4a long (full contact on the other face), solved on the
    quarter block (its cut planes are symmetry planes: insulated), against Holm's 1 / (4 sigma
    a) with Roess's flux-tube factor for the circular tube of equal area (b = B / sqrt(pi)) and
    the voxel disk's equal-area radius; returns it with the solve and the disk's mask."""
    w = 4 * a  # the quarter block: half of the block's width B = 8a
    m = Microstructure(np.ones((w, w, w), np.uint8), voxel_size_um=1.0)
    centres = np.arange(w) + 0.5
    disk = centres[:, None] ** 2 + centres[None, :] ** 2 <= a * a
    r = conduct_with_contacts(m, "z", contact_bottom=disk, comm=comm,
                              solver_options={**CG_BOOMERAMG, "ksp_rtol": 1e-10})  # fmt: skip
    sigma = load_materials().grain.conductivity(m.voxel_size_m)
    h = m.voxel_size_m
    big_b, length = 2 * w * h, w * h
    a_eq = np.sqrt(4 * disk.sum() / np.pi) * h
    bulk = length / (sigma * big_b**2)
    constriction = disk_constriction_resistance(sigma, a_eq, big_b / np.sqrt(np.pi))
    error = (r.resistance_ohm / 4 - bulk) / constriction - 1  # the whole block: 4 quarters
    return error, r, disk


def disk_constriction_error(a: int, comm: MPI.Comm) -> float:
    """`disk_contact`'s relative error alone."""
    return disk_contact(a, comm)[0]


DISK_SOURCE = ("Holm, Electric Contacts (Springer 1967): 1 / (4 sigma a); Roess's flux-tube factor "
               "(Yovanovich & Marotta, Heat Transfer Handbook, Wiley 2003, ch. 4)")  # fmt: skip
DISK_FIGURE = "Constriction resistance of a disk contact vs Holm and Roess"


def disk_order(comm: MPI.Comm, quick: bool):
    """The voxel disk's edge is resolved to O(h): first order in the contact radius."""
    radii = DISK_RADII[quick]
    errors = [disk_constriction_error(a, comm) for a in radii]
    order = float(-np.polyfit(np.log(radii), np.log(np.abs(errors)), 1)[0])
    return order, 1.0, 0.15, _within(order, 1.0, 0.15), (
        f"order of the error over disk radii {radii} voxels; " + DISK_SOURCE
    ), _figure(DISK_FIGURE, "disk radius (voxels)", "voxel fe, contact solve", radii, errors)  # fmt: skip


def disk_extrapolated(comm: MPI.Comm, quick: bool):
    """Richardson's first-order extrapolation of the two finest radii: within 0.5% of the
    analytic resistance (measured +0.15% from 12 and 24 voxels)."""
    a1, a2 = DISK_RADII[quick][-2:]
    e1, e2 = disk_constriction_error(a1, comm), disk_constriction_error(a2, comm)
    value = 1 + (a2 * e2 - a1 * e1) / (a2 - a1)
    return value, 1.0, 5e-3, _within(value, 1.0, 5e-3), (
        f"R / R_analytic extrapolated from {a1} and {a2} voxels; " + DISK_SOURCE)  # fmt: skip


# one synth pore set (box 16 um, 5% porosity, 2.5 um pores) as voxels and as curved P2 tetrahedra
VVC_FIGURE = "Voxel vs conforming P2 (curved) on one porous synthetic volume, M_x"
VVC_SHAPES = (16, 24, 32)


def _synth_pores() -> PoreGeometry:
    from synth import generate

    _, geometry = generate(16, 1.0, porosity=0.05, pore_size_um=2.5, grain_size_um=4.0,
                           gb_thickness_voxels=0, seed=1, return_geometry=True)  # fmt: skip
    return PoreGeometry.from_synth(geometry, 1.0)


def voxel_vs_conforming_conduction(comm: MPI.Comm):
    """fv at 32^3 within 2.5% of conforming P2 (the staircase error; fe shown beside it)."""
    pores = _synth_pores()
    cm = build_conforming_mesh(pores, 1.0, geometry_order=2, comm=comm)
    reference = conduct(cm, axes=["x"], degree=2, voxel_size_um=1.0).axes["x"]["p2"].M
    rows = {"fv": [], "fe": []}
    for n in VVC_SHAPES:
        entries = conduct(voxelise(pores, n), axes=["x"], method="both", comm=comm).axes["x"]
        for method in rows:
            rows[method].append(entries[method].M / reference - 1)
    figure = _figure(VVC_FIGURE, "voxels per edge", "conduction, voxel fv", VVC_SHAPES, rows["fv"])
    figure["lines"] |= _figure(VVC_FIGURE, "", "conduction, voxel fe (Q1)", VVC_SHAPES,
                               rows["fe"])["lines"]  # fmt: skip
    value = reference * (1 + rows["fv"][-1])
    return value, reference, 0.025, _within(value, reference, 0.025), (
        "conforming P2 on curved tetrahedra (h = 1 um) of the same pores "
        "(validation/voxel_vs_conforming.py)"), figure  # fmt: skip


def voxel_vs_conforming_elasticity(comm: MPI.Comm):
    """Q1 voxel elasticity at 32^3 within 1% of conforming P2 (E along x)."""
    pores = _synth_pores()
    grain = load_materials().grain
    cm = build_conforming_mesh(pores, 1.0, geometry_order=2, comm=comm)
    reference = solve_axis_elastic(cm, "x", grain.E_Pa, grain.nu, degree=2).M
    errors = [elastic(voxelise(pores, n), axes=["x"], comm=comm).axes["x"].M / reference - 1
              for n in VVC_SHAPES]  # fmt: skip
    value = reference * (1 + errors[-1])
    return value, reference, 0.01, _within(value, reference, 0.01), (
        "conforming P2 elasticity on curved tetrahedra (h = 1 um) of the same pores"), _figure(
        VVC_FIGURE, "voxels per edge", "elasticity E, voxel Q1", VVC_SHAPES, errors)  # fmt: skip


def boundary_faces(comm: MPI.Comm):
    """Cubic grains of 4 voxels, each boundary a face resistance of a fifth of a grain's: the
    n - 1 planes across the current in series, to solver precision."""
    h, d, sigma = 0.5e-6, 4, 0.05
    asr = 0.2 * d * h / sigma
    i, j, k = np.indices((12, 8, 8))
    ids = ((i // d) * 10000 + (j // d) * 100 + k // d).astype(np.int32)
    grain = parse_materials(f"[phases.grain]\nlabel = 1\nsigma_S_per_m = {sigma}\n")
    m = Microstructure(np.ones(ids.shape, np.uint8), voxel_size_um=h * 1e6)
    value = conduct(m, axes=["x"], materials=grain, comm=comm, grain_ids=ids,
                    grain_boundary_asr_ohm_m2=asr).factor("x")  # fmt: skip
    reference = cubic_grains_with_interfaces(3, d * h, sigma, asr)
    return value, reference, 1e-6, _within(value, reference, 1e-6), (
        "brick-layer series resistance with n - 1 boundary planes (validation.interface_references"
        "; Haile et al., J. Electroceram. 1 (1998) 1283)")  # fmt: skip
