"""The checks of `meso validate`: each solves a case with a known answer and compares within a tolerance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from mpi4py import MPI

from meso import Microstructure, conduct, elastic
from meso.materials import parse_materials
from validation.conduction_references import (
    brick_layer,
    grain_boundary_network,
    parallel_laminate,
    rayleigh_cubic_spheres,
    series_laminate,
    sphere_cell,
)
from validation.convergence_checks import (
    boundary_faces,
    disk_extrapolated,
    disk_order,
    sphere_conforming_order,
    sphere_conforming_value,
    sphere_voxel_order,
    voxel_vs_conforming_conduction,
    voxel_vs_conforming_elasticity,
)
from validation.elasticity_references import (
    dilute_spherical_pores_E,
    hashin_shtrikman_upper_porous,
    reuss,
    spherical_pore_equator_stress,
    voigt,
)

E_GRAIN, NU_GRAIN = 150e9, 0.257


@dataclass
class CheckResult:
    """One comparison: `value` against `reference` (passed when |value / reference - 1| <=
    `tolerance`, or for a bound when the value lies on its side of it)."""

    name: str
    physics: str
    value: float
    reference: float
    tolerance: float
    passed: bool
    source: str
    seconds: float = 0.0
    ran: bool = True  # False: an optional peer code is not installed (named in `source`)
    # a line of a log-log convergence plot: {"figure", "x_label", "y_label", "lines": {label:
    # {"x": [...], "y": [...]}}}; lines with the same figure title are drawn together
    convergence: dict | None = None

    @property
    def relative_error(self) -> float:
        return self.value / self.reference - 1 if self.reference else float("nan")

    def to_json(self) -> dict:
        return asdict(self) | {"relative_error": self.relative_error}


@dataclass
class Check:
    """`run(comm)` returns (value, reference, tolerance, passed, source[, convergence]); with
    `refines`, `run(comm, quick)` refines less in the quick subset."""

    name: str
    physics: str
    quick: bool
    run: Callable[..., tuple]
    refines: bool = False


def _within(value: float, reference: float, tolerance: float) -> bool:
    return abs(value / reference - 1) <= tolerance


def _materials(boundary: str) -> object:
    return parse_materials(
        "[phases.pore]\nlabel = 0\nvoid = true\n"
        f"[phases.grain]\nlabel = 1\nsigma_S_per_m = 1.0\nE_Pa = {E_GRAIN}\nnu = {NU_GRAIN}\n"
        f"[phases.grain_boundary]\nlabel = 2\n{boundary}\n"
    )


def _laminate(along: bool, method: str) -> Callable:
    def run(comm):
        layers = np.array([1, 1, 2, 1, 2, 2, 1, 1, 1])  # normal to y
        labels = np.broadcast_to(layers[None, :, None], (6, 9, 5)).astype(np.uint8)
        fractions, sigmas = [6 / 9, 3 / 9], [1.0, 0.1]
        materials = _materials("sigma_S_per_m = 0.1")
        axis = "x" if along else "y"
        result = conduct(Microstructure(labels), axes=[axis], method=method,
                         materials=materials, comm=comm)  # fmt: skip
        law = parallel_laminate if along else series_laminate
        reference = law(fractions, sigmas, 1.0)
        value = result.factor(axis)
        return value, reference, 1e-6, _within(value, reference, 1e-6), (
            "parallel (arithmetic) mean" if along else "series (harmonic) mean")  # fmt: skip

    return run


def _brick_layer(comm):
    """Cubic grains of 15 voxels with one-voxel boundaries 100x less conducting: within the
    voxel geometry error delta / d of the brick-layer model."""
    m = Microstructure(grain_boundary_network(2, 15))
    value = conduct(m, axes=["x"], materials=_materials("sigma_S_per_m = 0.01"),
                    comm=comm).factor("x")  # fmt: skip
    reference = brick_layer(16, 1, 1.0, 0.01)
    return value, reference, 1 / 16, _within(value, reference, 1 / 16), (
        "brick-layer model (Haile et al., J. Electroceram. 1 (1998) 1283)")  # fmt: skip


def _rayleigh(n: int, tolerance: float) -> Callable:
    def run(comm):
        porosity = 0.2
        value = conduct(Microstructure(sphere_cell(n, porosity)), axes=["x"],
                        comm=comm).factor("x")  # fmt: skip
        reference = rayleigh_cubic_spheres(porosity)
        return value, reference, tolerance, _within(value, reference, tolerance), (
            "Rayleigh, Phil. Mag. 34 (1892) 481: simple cubic array of insulating spheres")  # fmt: skip

    return run


def _elastic_laminate(along: bool) -> Callable:
    def run(comm):
        labels = np.ones((6, 5, 8), np.uint8)
        labels[:, :, :2] = 2  # layers normal to z, a quarter of phase 2
        if along:  # equal nu: Voigt is exact along the layers
            boundary, law, moduli = f"E_Pa = {E_GRAIN / 3}\nnu = {NU_GRAIN}", voigt, [1, 1 / 3]
        else:  # nu / E equal in both layers: lateral strains match, Reuss is exact across
            boundary, law, moduli = f"E_Pa = {E_GRAIN / 2}\nnu = {NU_GRAIN / 2}", reuss, [1, 0.5]
        axis = "x" if along else "z"
        result = elastic(Microstructure(labels), axes=[axis],
                         materials=_materials("sigma_S_per_m = 1\n" + boundary), comm=comm)  # fmt: skip
        value, reference = result.axes[axis].M, law([0.75, 0.25], moduli)
        return value, reference, 1e-6, _within(value, reference, 1e-6), (
            "Voigt (along layers, equal Poisson ratios)" if along
            else "Reuss (across layers, nu/E equal in both)")  # fmt: skip

    return run


def _single_pore(n: int) -> np.ndarray:
    c = np.arange(n) + 0.5 - n / 2
    r2 = c[:, None, None] ** 2 + c[None, :, None] ** 2 + c[None, None, :] ** 2
    return (r2 > (n / 6) ** 2).astype(np.uint8)


def _eshelby(comm):
    """One spherical pore (porosity 1.9%): the modulus loss within 10% of the dilute value."""
    labels = _single_pore(24)
    porosity = 1 - labels.mean()
    value = 1 - elastic(Microstructure(labels), axes=["x"], comm=comm).axes["x"].M
    reference = 1 - dilute_spherical_pores_E(1.0, NU_GRAIN, porosity)
    return value, reference, 0.1, _within(value, reference, 0.1), (
        "Eshelby dilute spherical pores (loss of E, 1 - M)")  # fmt: skip


def _goodier(comm):
    """The axial stress in the ring of voxels next to the equator of one spherical pore,
    against Goodier's field averaged over the same voxel centres (within 10%)."""
    n = 24
    radius, c = n / 6, np.arange(n) + 0.5 - n / 2
    captured = {}
    result = elastic(Microstructure(_single_pore(n)), axes=["x"], comm=comm,
                     on_fields=lambda f: captured.update(f=f))  # fmt: skip
    axis = result.axes["x"]
    r_yz = np.broadcast_to(np.sqrt(c[None, :, None] ** 2 + c[None, None, :] ** 2), (n,) * 3)
    ring = (np.abs(c)[:, None, None] <= 0.5) & (r_yz > radius) & (r_yz <= radius + 1.5)
    stress = captured["f"].axial_stress_Pa
    value = float("nan") if stress is None else float(stress[ring].mean() / (
        axis.E_eff_Pa * result.strain))  # fmt: skip
    value = comm.bcast(value, root=0)  # the stress fields live on rank 0
    reference = float(spherical_pore_equator_stress(r_yz[ring] / radius, NU_GRAIN).mean())
    return value, reference, 0.1, _within(value, reference, 0.1), (
        "Goodier, J. Appl. Mech. 1 (1933) 39: axial stress beside a spherical cavity")  # fmt: skip


def _hashin_shtrikman(comm):
    """A 5%-porous volume of spherical pores: mean M below the Hashin-Shtrikman upper bound."""
    rng = np.random.default_rng(3)
    n, size = 20, 30.0
    x = (np.arange(n) + 0.5) * size / n
    solid = np.ones((n,) * 3, bool)
    for cx, cy, cz in rng.uniform(0, size, size=(14, 3)):
        d2 = (x[:, None, None] - cx) ** 2 + (x[None, :, None] - cy) ** 2
        solid &= d2 + (x[None, None, :] - cz) ** 2 > 9.0
    m = Microstructure(solid.astype(np.uint8), voxel_size_um=1.5)
    result = elastic(m, comm=comm)
    value = float(np.mean([r.M for r in result.axes.values()]))
    reference = hashin_shtrikman_upper_porous(1.0, NU_GRAIN, m.volume_fractions()["pore"])
    return value, reference, 0.0, value <= reference, "Hashin-Shtrikman upper bound (porous)"


def _porous_noise_volume() -> np.ndarray:
    """A 15%-porous smoothed-noise volume of 48^3 (1 = solid), the one the peer codes solve."""
    from scipy import ndimage

    field = ndimage.gaussian_filter(np.random.default_rng(42).standard_normal((48,) * 3), 2.0)
    return (field < np.quantile(field, 0.85)).astype(np.uint8)


def _taufactor(comm):
    """fv M against TauFactor on the smoothed-noise volume (when it is installed)."""
    import taufactor

    solid = _porous_noise_volume()
    value = conduct(Microstructure(solid), axes=["x"], comm=comm).factor("x")
    reference = 0.0
    if comm.rank == 0:  # a serial code: once, not on every rank
        solver = taufactor.Solver(solid, device="cpu")
        solver.solve(verbose=False)
        reference = float(solver.D_eff)
    reference = comm.bcast(reference, root=0)
    return value, reference, 5e-3, _within(value, reference, 5e-3), (
        f"TauFactor {getattr(taufactor, '__version__', '')} (Kench et al., SoftwareX 2023)")  # fmt: skip


def _porespy(comm):
    """fv M against PoreSpy's finite-difference solve (tortuosity_fd, which needs OpenPNM) on
    the smoothed-noise volume. PoreSpy holds the first and last voxel layers at the two
    potentials (length N - 1), meso and TauFactor the faces (length N): within 0.5% (measured
    0.1%) at 48^3."""
    import openpnm  # noqa: F401  (tortuosity_fd imports it inside; name it when it is missing)
    import porespy

    solid = _porous_noise_volume()
    value = conduct(Microstructure(solid), axes=["x"], comm=comm).factor("x")
    reference = 0.0
    if comm.rank == 0:  # a serial code: once, not on every rank
        reference = 1.0 / float(porespy.simulations.tortuosity_fd(solid.astype(bool), axis=0)
                                .formation_factor)  # fmt: skip
    reference = comm.bcast(reference, root=0)
    return value, reference, 5e-3, _within(value, reference, 5e-3), (
        f"PoreSpy {porespy.__version__} simulations.tortuosity_fd, 1 / formation factor "
        "(Gostick et al., J. Open Source Softw. 4 (2019) 1296)")  # fmt: skip


CHECKS = [
    Check("laminate along the layers (fv)", "conduction", True, _laminate(True, "fv")),
    Check("laminate across the layers (fv)", "conduction", True, _laminate(False, "fv")),
    Check("laminate across the layers (fe)", "conduction", True, _laminate(False, "fe")),
    Check("brick layer, 16-voxel grains", "conduction", True, _brick_layer),
    Check("boundary faces, cubic grains in series", "conduction", True, boundary_faces),
    Check("sphere array, 24 voxels per cell", "conduction", True, _rayleigh(24, 0.04)),
    Check("sphere array, 48 voxels per cell", "conduction", False, _rayleigh(48, 0.02)),
    Check("sphere array, conforming P2 (curved), h = 0.1", "conduction", True,
          sphere_conforming_value),
    Check("sphere array, order of voxel fv", "conduction", True, sphere_voxel_order,
          refines=True),
    Check("sphere array, order of conforming P1", "conduction", True,
          sphere_conforming_order(1, 2.0, 0.3), refines=True),
    Check("sphere array, order of conforming P2 (curved)", "conduction", True,
          sphere_conforming_order(2, 4.0, 0.25), refines=True),
    Check("disk constriction resistance, order", "conduction", True, disk_order, refines=True),
    Check("disk constriction resistance, extrapolated", "conduction", True, disk_extrapolated,
          refines=True),
    Check("voxel fv vs conforming P2, porous synth 32^3", "conduction", False,
          voxel_vs_conforming_conduction),
    Check("TauFactor agreement, 48^3", "conduction", False, _taufactor),
    Check("PoreSpy agreement, 48^3", "conduction", False, _porespy),
    Check("laminate along the layers", "elasticity", True, _elastic_laminate(True)),
    Check("laminate across the layers", "elasticity", True, _elastic_laminate(False)),
    Check("spherical pore modulus", "elasticity", True, _eshelby),
    Check("spherical pore stress concentration", "elasticity", False, _goodier),
    Check("porous volume below Hashin-Shtrikman", "elasticity", False, _hashin_shtrikman),
    Check("voxel Q1 vs conforming P2, porous synth 32^3", "elasticity", False,
          voxel_vs_conforming_elasticity),
]  # fmt: skip


def run_checks(quick: bool = False, comm: MPI.Comm = MPI.COMM_WORLD,
               progress: Callable[[str], None] | None = None) -> list[CheckResult]:  # fmt: skip
    """Run every check (only the quick ones with `quick`); a check whose peer code is not
    installed is left out with a note in its source."""
    results = []
    for check in CHECKS:
        if quick and not check.quick:
            continue
        start = time.perf_counter()
        try:
            value, reference, tolerance, passed, source, *convergence = (
                check.run(comm, quick) if check.refines else check.run(comm)
            )
        except ModuleNotFoundError as exc:  # an optional peer code (TauFactor, PoreSpy, gmsh)
            results.append(CheckResult(check.name, check.physics, float("nan"), float("nan"),
                                       0.0, True, f"not run: {exc.name} is not installed",
                                       ran=False))  # fmt: skip
        else:
            results.append(CheckResult(check.name, check.physics, float(value), float(reference),
                                       tolerance, bool(passed), source,
                                       time.perf_counter() - start,
                                       convergence=convergence[0] if convergence else None))  # fmt: skip
        if progress is not None:
            progress(check.name)
    return results
