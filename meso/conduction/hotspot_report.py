"""`meso hotspot` outputs: hotspot.json, the normalised interfacial current-density maps per face
(.npy and PNG in um) and, with fields, the potential and a section through the strongest spot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from meso.conduction.contact import FACES, ContactConduction
from meso.conduction.hotspot_fields import cell_current_density
from meso.io.atomic import atomic_path
from meso.microstructure import AXES, Microstructure, axis_index


def _face_png(normalised: np.ndarray, names: tuple[str, str], voxel_size_um: float, face: str,
              target: Path) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from meso.io.figures import show_plane

    fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
    show_plane(ax, normalised, names, voxel_size_um, "j / mean(j) (1)", cmap="inferno")
    ax.set_title(f"{face} face (blank: no contact)")
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def _section_png(r: ContactConduction, voxel_size_um: float, target: Path) -> dict[str, Any]:
    """|J| on the plane along the axis through the strongest spot of either face, with
    streamlines; returns where the section is."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from meso.io.figures import show_plane

    a = axis_index(r.axis)
    others = [b for b in range(3) if b != a]
    face = max(FACES, key=lambda f: np.nanmax(r.normalised(f)))
    p, q = np.unravel_index(np.nanargmax(r.normalised(face)), r.normalised(face).shape)
    flux = cell_current_density(r, voxel_size_um * 1e-6)
    # the section keeps the first lateral axis and the cell axis, at the spot's second index
    plane_axes = (others[0], a)
    index = [slice(None)] * 3
    index[others[1]] = q
    idx = tuple(index)
    jx, jz = flux[others[0]][idx], flux[a][idx]
    magnitude = np.hypot(jx, jz)
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    show_plane(ax, magnitude, (AXES[plane_axes[0]], AXES[a]), voxel_size_um, "|J| (A/m$^2$)")
    n0, n1 = magnitude.shape
    xs, ys = (np.arange(n0) + 0.5) * voxel_size_um, (np.arange(n1) + 0.5) * voxel_size_um
    ax.streamplot(xs, ys, np.nan_to_num(jx).T, np.nan_to_num(jz).T, color="white",
                  linewidth=0.6, density=1.2)  # fmt: skip
    ax.set_title(f"flux near the strongest spot ({face}, {AXES[others[1]]} index {q})")
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return {"face": face, "spot_index": [int(p), int(q)], "plane": f"{AXES[others[1]]}={q}"}


def hotspot_outputs(
    r: ContactConduction,
    m: Microstructure,
    out: str | Path,
    *,
    fields: bool = False,
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the outputs of the solve `r` on `m` into `out` (call on rank 0):
    current_density_{face}.npy (normalised by the mean over the contact, NaN outside it) and
    current_density_{face}.png; with `fields`, potential_V.npy and flux_section.png. Returns the
    hotspot.json document (not written: callers add their sections)."""
    out = Path(out)
    a = axis_index(r.axis)
    names = tuple(AXES[b] for b in range(3) if b != a)
    faces = {}
    for face in FACES:
        normalised = r.normalised(face)
        with atomic_path(out / f"current_density_{face}.npy") as tmp:
            with open(tmp, "wb") as fp:
                np.save(fp, normalised)
        _face_png(normalised, names, m.voxel_size_um, face, out / f"current_density_{face}.png")
        faces[face] = {
            "contact_fraction": r.contact_fraction[face],
            "mean_current_density_A_per_m2": float(np.nanmean(r.current_density_A_per_m2[face])),
            **r.statistics()[face],
            "map": f"current_density_{face}.npy",
        }
    document: dict[str, Any] = {
        "axis": r.axis,
        "bias_V": r.bias_V,
        "current_A": r.current_A,
        "resistance_ohm": r.resistance_ohm,
        "contact_fraction": dict(r.contact_fraction),
        "faces": faces,
        "face_convention": "bottom: min index of the axis (at bias_V), top: max index (0 V); "
        f"maps indexed ({names[0]}, {names[1]})",
        "shape": list(m.shape),
        "voxel_size_um": m.voxel_size_um,
        "solver": {"iterations": r.iterations, "reason": r.solver_reason,
                   "converged": r.converged, "unknowns": r.unknowns,
                   "current_in_A": r.current_in_A, "current_out_A": r.current_out_A},
        "inputs": inputs or {},
    }  # fmt: skip
    if fields:
        with atomic_path(out / "potential_V.npy") as tmp:
            with open(tmp, "wb") as fp:
                np.save(fp, r.potential_V)
        document["fields"] = {"potential": "potential_V.npy", "section": "flux_section.png",
                              **_section_png(r, m.voxel_size_um, out / "flux_section.png")}  # fmt: skip
    return document


__all__ = ["hotspot_outputs"]
