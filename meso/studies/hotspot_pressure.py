"""`meso hotspot --pressure-MPa`: the stress under a stack pressure on the hot-spot volume, and
whether windows of lower effective properties carry the higher flux and stress.

Stress: ``meso.elastic`` along the cell axis (one face held, the other pushed in, sides free;
linear, so the fields of a strain of -1e-3 are scaled until the mean axial stress over the
faces is -P). Reported over P: von Mises peak and 99th percentile over the solid; next to pores
(solid voxels sharing a face with a pore) their share of the solid against their share of the
stress hot spots (von Mises at or above its 99th percentile), and their mean; in the face layer
under the current hot spots (contact pixels at or above the 99th percentile of the interfacial
current density) the mean against that of the whole face layer.

Windows: lateral columns of `window` voxels through the whole volume along the axis
(``meso.studies.compare.window_bounds`` on each lateral axis). Each window's own
microstructure factors along the axis, conductivity (``meso.conduct``, fv) and Young's modulus
(``meso.elastic``), are set against the flux and stress the whole-volume solves put there:
the 99th percentile of |J| over its conducting voxels over the volume's mean |J|, and of the
von Mises stress over its solid over P. Spearman's rank correlation (scipy.stats.spearmanr,
two-sided p-value) of M_conductivity with the flux and M_modulus with the stress; the study's
claim "regions with lower effective properties are nuclei for failure" reads rho < 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from meso.conduction import conduct
from meso.conduction.contact import ContactConduction
from meso.conduction.hotspot_fields import cell_current_density
from meso.elasticity import elastic
from meso.elasticity.fields import VoxelFieldWriter
from meso.errors import InputError
from meso.io.atomic import atomic_path
from meso.materials import Materials, load_materials
from meso.microstructure import AXES, Microstructure, axis_index
from meso.studies.compare import window_bounds

STRAIN = -1e-3  # compression along the cell axis; the fields are scaled to the pressure


@dataclass
class PressureStress:
    """Stress under a stack pressure (Pa): von Mises and hydrostatic per voxel on rank 0 (NaN
    outside the load-bearing solid; None elsewhere); E_eff along the axis."""

    pressure_Pa: float
    E_eff_Pa: float
    M: float
    von_mises_Pa: np.ndarray | None
    hydrostatic_Pa: np.ndarray | None
    statistics: Any = None  # meso.elasticity.StressStatistics of the unscaled solve


def stress_under_pressure(
    m: Microstructure,
    axis: int,
    pressure_Pa: float,
    *,
    materials: Materials | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    fields_dir: str | Path | None = None,
) -> PressureStress:
    """Solve ``meso.elastic`` along `axis` and scale to `pressure_Pa`; with `fields_dir`, write
    elastic_AXIS.xdmf (displacement, von Mises, hydrostatic at that pressure) and the von Mises
    mid-plane PNG there. InputError when no solid cluster spans the axis."""
    captured = {}
    result = elastic(
        m,
        axes=[AXES[axis]],
        materials=materials,
        strain=STRAIN,
        comm=comm,
        on_fields=lambda fields: captured.update(fields=fields),
    )
    entry = result.axes[AXES[axis]]
    source = m.metadata.get("source", "volume")
    if not entry.percolating:
        raise InputError(
            source,
            f"no solid spans the volume along {AXES[axis]}: a stack pressure has no load path",
        )
    if not entry.converged:
        raise InputError(source, f"the elasticity solve did not converge ({entry.solver_reason})")
    scale = pressure_Pa / abs(entry.E_eff_Pa * STRAIN)
    fields = captured["fields"]
    scaled = replace(
        fields,
        **{
            name: None if getattr(fields, name) is None else getattr(fields, name) * scale
            for name in ("displacement_m", "von_mises_Pa", "hydrostatic_Pa", "axial_stress_Pa")
        },
    )
    if fields_dir is not None:
        VoxelFieldWriter(m, Path(fields_dir), comm)(scaled)
    return PressureStress(
        pressure_Pa,
        entry.E_eff_Pa,
        entry.M,
        scaled.von_mises_Pa,
        scaled.hydrostatic_Pa,
        entry.stress,
    )


def stress_summary(
    s: PressureStress, m: Microstructure, axis: int, normalised: dict[str, np.ndarray]
) -> dict[str, Any]:
    """The stress concentration of `s` (rank 0) over the pressure: overall, next to pores and
    under the current hot spots of each face (`normalised`: j / mean per face, NaN off contact)."""
    from scipy import ndimage

    vm, P = s.von_mises_Pa, s.pressure_Pa
    solid = np.isfinite(vm)
    pores = ~m.solid_mask()
    near = solid & ndimage.binary_dilation(pores)
    hot = solid & (vm >= np.percentile(vm[solid], 99))
    spots = {}
    for face, side in (("bottom", 0), ("top", -1)):
        j = normalised[face]
        layer = np.take(vm, side, axis=axis)
        under = np.isfinite(j) & (j >= np.nanpercentile(j, 99)) & np.isfinite(layer)
        spots[face] = {
            "pixels": int(under.sum()),
            "von_mises_mean_over_pressure": float(layer[under].mean() / P) if under.any() else None,
            "face_layer_von_mises_mean_over_pressure": float(np.nanmean(layer) / P),
        }
    stats = s.statistics
    return {
        "pressure_MPa": P / 1e6,
        "E_eff_Pa": s.E_eff_Pa,
        "M_modulus": s.M,
        "von_mises_mean_over_pressure": float(vm[solid].mean() / P),
        "von_mises_max_over_pressure": float(vm[solid].max() / P),
        "von_mises_p99_over_pressure": float(np.percentile(vm[solid], 99) / P),
        "hydrostatic_MPa": [
            float(np.nanmin(s.hydrostatic_Pa) / 1e6),
            float(np.nanmax(s.hydrostatic_Pa) / 1e6),
        ],
        "next_to_pores": {
            "solid_fraction": float(near.sum() / solid.sum()),
            "stress_hot_spot_fraction": float(near[hot].mean()),
            "von_mises_mean_over_pressure": float(vm[near].mean() / P) if near.any() else None,
        },
        "at_current_hot_spots": spots,
        "hot_spots_vs_pore_distance": None
        if stats is None or not stats.distance_bins_um
        else {
            "bins_um": stats.distance_bins_um,
            "hot_spot_counts": stats.hotspot_counts,
            "solid_counts": stats.solid_counts,
            "definition": "von Mises >= its 99th percentile, against all solid voxels",
        },
    }


def lateral_windows(face: tuple[int, int], width: int) -> list[tuple[int, int, int, int]]:
    """(i0, i1, j0, j1) of the centred non-overlapping windows of `width` face pixels."""
    return [
        (i0, i1, j0, j1)
        for i0, i1 in window_bounds(face[0], width)
        for j0, j1 in window_bounds(face[1], width)
    ]


def _column(volume: np.ndarray, axis: int, window: tuple[int, int, int, int]) -> np.ndarray:
    i0, i1, j0, j1 = window
    lateral = [b for b in range(3) if b != axis]
    index = [slice(None)] * 3
    index[lateral[0]], index[lateral[1]] = slice(i0, i1), slice(j0, j1)
    return volume[tuple(index)]


def window_factors(
    m: Microstructure, axis: int, window, materials: Materials
) -> tuple[float, float]:
    """(M conductivity, M modulus) of one window column along `axis`, solved on its own."""
    sub = m.with_labels(np.ascontiguousarray(_column(m.labels, axis, window)))
    M_sigma = conduct(
        sub, axes=[AXES[axis]], method="fv", materials=materials, comm=MPI.COMM_SELF
    ).factor(AXES[axis])
    try:
        entry = elastic(sub, axes=[AXES[axis]], materials=materials, comm=MPI.COMM_SELF).axes[
            AXES[axis]
        ]
        M_E = entry.M
    except InputError:  # an all-pore window carries nothing
        M_E = 0.0
    return (np.nan if M_sigma is None else float(M_sigma)), (np.nan if M_E is None else float(M_E))


def spearman(x: list[float], y: list[float]) -> dict[str, Any]:
    """Spearman's rho and two-sided p-value over the pairs where both are finite."""
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    out: dict[str, Any] = {"windows": int(ok.sum())}
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        reason = "fewer than 3 windows" if ok.sum() < 3 else "a constant quantity"
        return out | {"rho": None, "p_value": None, "reason": reason}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho, p = stats.spearmanr(x[ok], y[ok])
    return out | {"rho": float(rho), "p_value": float(p)}


def window_study(
    m: Microstructure,
    axis: int,
    width: int,
    flux_A_per_m2: np.ndarray | None,
    s: PressureStress,
    *,
    materials: Materials | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
) -> dict[str, Any]:
    """Per-window factors (solved round-robin over the ranks of `comm`) and, on rank 0 (with
    the flux (3, ...) and stress there), the window table and the two Spearman correlations."""
    materials = materials or load_materials()
    windows = lateral_windows(tuple(n for b, n in enumerate(m.shape) if b != axis), width)
    mine = {
        k: window_factors(m, axis, windows[k], materials)
        for k in range(comm.rank, len(windows), comm.size)
    }
    factors = {k: v for part in comm.gather(mine, root=0) or [] for k, v in part.items()}
    if comm.rank != 0:
        return {}
    magnitude = np.linalg.norm(flux_A_per_m2, axis=0)
    mean_flux = float(np.nanmean(magnitude))
    rows = []
    for k, window in enumerate(windows):
        flux = _column(magnitude, axis, window)
        vm = _column(s.von_mises_Pa, axis, window)
        rows.append(
            {
                "window_vox": list(window),
                "M_conductivity": factors[k][0],
                "M_modulus": factors[k][1],
                "flux_p99_over_mean": float(np.nanpercentile(flux, 99) / mean_flux)
                if np.isfinite(flux).any()
                else None,
                "von_mises_p99_over_pressure": float(np.nanpercentile(vm, 99) / s.pressure_Pa)
                if np.isfinite(vm).any()
                else None,
            }
        )

    def column(key):
        return [np.nan if r[key] is None else r[key] for r in rows]

    return {
        "window_um": width * m.voxel_size_um,
        "windows": rows,
        "conductivity_vs_flux": spearman(column("M_conductivity"), column("flux_p99_over_mean")),
        "modulus_vs_stress": spearman(column("M_modulus"), column("von_mises_p99_over_pressure")),
        "claim": "rho < 0: windows of lower microstructure factor carry higher peak flux or "
        "stress (regions of lower effective properties as nuclei for failure)",
    }


def scatter_png(study: dict[str, Any], target: Path) -> Path:
    """M vs peak flux and M vs peak stress over the windows, with Spearman's rho and p."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = study["windows"]
    panels = (
        (
            "M_conductivity",
            "flux_p99_over_mean",
            "conductivity_vs_flux",
            "conductivity factor M (1)",
            "99th pct |J| / mean |J| (1)",
        ),
        (
            "M_modulus",
            "von_mises_p99_over_pressure",
            "modulus_vs_stress",
            "modulus factor M (1)",
            "99th pct von Mises / P (1)",
        ),
    )
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
    for ax, (xk, yk, ck, xl, yl) in zip(axes, panels, strict=True):
        pairs = [(r[xk], r[yk]) for r in rows if r[xk] is not None and r[yk] is not None]
        if pairs:
            ax.scatter(*zip(*pairs, strict=True), s=18)
        c = study[ck]
        label = "n/a" if c["rho"] is None else f"rho = {c['rho']:.2f}, p = {c['p_value']:.2g}"
        ax.set_title(f"{c['windows']} windows of {study['window_um']:.3g} um: {label}", fontsize=9)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return target


def stress_section_png(
    s: PressureStress,
    axis: int,
    normalised: dict[str, np.ndarray],
    voxel_size_um: float,
    target: Path,
) -> dict[str, Any]:
    """von Mises / P on the plane along `axis` through the strongest current spot of either
    face (the plane of flux_section.png); returns where it is."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from meso.io.figures import show_plane

    others = [b for b in range(3) if b != axis]
    face = max(normalised, key=lambda f: np.nanmax(normalised[f]))
    p, q = np.unravel_index(np.nanargmax(normalised[face]), normalised[face].shape)
    index = [slice(None)] * 3
    index[others[1]] = q
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    show_plane(
        ax,
        s.von_mises_Pa[tuple(index)] / s.pressure_Pa,
        (AXES[others[0]], AXES[axis]),
        voxel_size_um,
        "von Mises / P (1)",
        cmap="magma",
    )
    ax.set_title(
        f"stress at {s.pressure_Pa / 1e6:.3g} MPa through the strongest current spot "
        f"({face}, {AXES[others[1]]} index {q})",
        fontsize=9,
    )
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return {"face": face, "spot_index": [int(p), int(q)], "plane": f"{AXES[others[1]]}={q}"}


def pressure_study(
    r: ContactConduction,
    m: Microstructure,
    pressure_MPa: float,
    *,
    width: int,
    materials: Materials | None,
    comm: MPI.Comm,
    out: Path,
    fields: bool = False,
) -> dict[str, Any] | None:
    """The stress under `pressure_MPa` and the window study of the solve `r` (with its
    potential) on `m`; writes stress_section.png and pressure_scatter.png (and with `fields`
    elastic_AXIS.xdmf) into `out`. Returns the ``pressure`` section of hotspot.json on rank 0
    (None elsewhere)."""
    a = axis_index(r.axis)
    stress = stress_under_pressure(
        m, a, pressure_MPa * 1e6, materials=materials, comm=comm, fields_dir=out if fields else None
    )
    flux = cell_current_density(r, m.voxel_size_m) if comm.rank == 0 else None
    windows = window_study(m, a, width, flux, stress, materials=materials, comm=comm)
    if comm.rank != 0:
        return None
    normalised = {f: r.normalised(f) for f in ("bottom", "top")}
    section = stress_section_png(stress, a, normalised, m.voxel_size_um, out / "stress_section.png")
    scatter_png(windows, out / "pressure_scatter.png")
    return {
        "stress": stress_summary(stress, m, a, normalised),
        "windows": windows,
        "figures": {"section": "stress_section.png", "scatter": "pressure_scatter.png"},
        "section": section,
    }


def default_window(face: tuple[int, int]) -> int:
    """Four windows along the shorter lateral axis, at least two voxels wide."""
    return max(2, min(face) // 4)


__all__ = [
    "PressureStress",
    "default_window",
    "lateral_windows",
    "pressure_study",
    "scatter_png",
    "spearman",
    "stress_section_png",
    "stress_summary",
    "stress_under_pressure",
    "window_factors",
    "window_study",
]
