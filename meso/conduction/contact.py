"""Conduction between two partially contacting electrodes: hot spots of interfacial current.

The electrolyte between two lithium electrodes along the cell axis; current enters and leaves
only through the contacting parts of the two faces normal to it (2D 0/1 contact maps, one per
face; no map = full contact), the rest of the faces and the sides insulated. The scheme is the
``fv`` one of ``meso.conduction.voxel_fv`` (two-point fluxes, the electrode potential imposed
weakly at h/2), with the electrode coupling of each face voxel switched on or off by its map.

Faces: "bottom" is the min face of the axis (index 0, at the bias potential, where the current
enters), "top" the max face (index n - 1, at 0 V). A map is indexed by the face's two other axes
in order (x, y for the z axis). The interfacial current density of a contacting face voxel is
its electrode current over h^2 (A/m^2), NaN outside the contact; a contacting voxel whose
electrolyte does not conduct (a pore) carries 0.

Checked against the constriction (spreading) resistance of a disk contact (tests/
test_contact_conduction.py): for an equipotential disk of radius a on a semi-infinite
conductor R = 1 / (4 sigma a) (Holm, Electric Contacts, 4th ed., Springer 1967, sec. 4), and in
a flux tube of radius b the factor psi(a/b) = 1 - 1.40925 e + 0.29591 e^3 + 0.05254 e^5 +
0.02105 e^7 + ..., e = a/b (Roess 1950, as tabulated by Yovanovich and Marotta, Heat Transfer
Handbook, Wiley 2003, ch. 4, eq. 4.38); a square tube of side B is the circular one of equal
area, b = B / sqrt(pi) (the same chapter: within ~1% for e < 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from mpi4py import MPI
from scipy import ndimage

from meso.conduction.voxel import conductivity_lookup
from meso.conduction.voxel_fv import FvProblem
from meso.errors import InputError
from meso.materials import Materials, load_materials
from meso.microstructure import AXES, Microstructure, axis_index

FACES = ("bottom", "top")  # min and max face of the axis


def face_shape(shape: tuple[int, ...], axis: str | int) -> tuple[int, int]:
    """Shape of a face normal to `axis` of a volume of `shape` (its two other axes in order)."""
    a = axis_index(axis)
    return tuple(int(n) for i, n in enumerate(shape) if i != a)  # type: ignore[return-value]


def check_contact_map(contact: Any, shape: tuple[int, int], source: object) -> np.ndarray:
    """`contact` as a bool face map; InputError unless it is 2D of `shape` with only 0 and 1."""
    values = np.asarray(contact)
    if values.ndim != 2 or tuple(values.shape) != tuple(shape):
        raise InputError(source, f"contact map of shape {values.shape}; the face is {tuple(shape)}")
    if values.dtype.kind not in "biuf" or not np.isin(values, (0, 1)).all():
        raise InputError(source, "a contact map holds only 0 (no contact) and 1 (contact)")
    if not values.any():
        raise InputError(source, "the contact map has no contact (all 0)")
    return values.astype(bool)


def focusing_statistics(normalised: np.ndarray) -> dict[str, float]:
    """Focusing of a current-density map normalised by its mean over the contact (NaN
    outside): max / mean, 99th percentile / mean and the contact-area fraction above 2x mean."""
    values = normalised[np.isfinite(normalised)]
    if values.size == 0:
        return {"max_over_mean": None, "p99_over_mean": None, "area_fraction_above_2x_mean": None}
    return {
        "max_over_mean": float(values.max()),
        "p99_over_mean": float(np.percentile(values, 99)),
        "area_fraction_above_2x_mean": float(np.mean(values > 2.0)),
    }


@dataclass
class ContactConduction:
    """One solve with partial contacts. `current_density_A_per_m2[face]`: the interfacial
    current density map (A/m^2, NaN outside the contact); `potential_V`: the volume (NaN outside
    the problem) when asked for, on rank 0."""

    axis: str
    bias_V: float
    current_A: float
    resistance_ohm: float
    current_in_A: float
    current_out_A: float
    contact_fraction: dict[str, float]
    current_density_A_per_m2: dict[str, np.ndarray]
    iterations: int
    solver_reason: int
    unknowns: int
    potential_V: np.ndarray | None = None
    sigma_S_per_m: np.ndarray | None = field(default=None, repr=False)

    @property
    def converged(self) -> bool:
        return self.solver_reason > 0

    def normalised(self, face: str) -> np.ndarray:
        """The map of `face` over its mean over the contact."""
        j = self.current_density_A_per_m2[face]
        mean = np.nanmean(j)
        return j / mean if mean > 0 else np.full_like(j, np.nan)

    def statistics(self) -> dict[str, dict[str, float]]:
        return {face: focusing_statistics(self.normalised(face)) for face in FACES}


def _connected_to_contacts(conducting: np.ndarray, axis: int, masks: list[np.ndarray]):
    """Conducting voxels in face-connected clusters that reach a contacting voxel of both faces."""
    clusters, count = ndimage.label(conducting)
    reached = []
    for side, mask in zip((0, -1), masks, strict=True):
        face = np.take(clusters, side, axis=axis)
        reached.append(np.unique(face[mask]))
    keep = np.intersect1d(*reached)
    lookup = np.zeros(count + 1, dtype=bool)
    lookup[keep[keep > 0]] = True
    return lookup[clusters]


def conduct_with_contacts(
    m: Microstructure,
    axis: str | int | None = None,
    contact_bottom: Any = None,
    contact_top: Any = None,
    *,
    bias_V: float = 1.0,
    materials: Materials | None = None,
    comm: MPI.Comm = MPI.COMM_WORLD,
    potential: bool = False,
    solver_options: dict[str, Any] | None = None,
) -> ContactConduction:
    """Steady conduction along `axis` (default: the cell axis of `m`) with `bias_V` on the
    contacting part of the bottom (min) face and 0 V on that of the top (max) face.

    Parameters
    ----------
    m : the electrolyte volume (every rank holds it)
    contact_bottom, contact_top : 0/1 maps over the faces (None = full contact)
    materials : phase conductivities (default: the packaged table)
    potential : also gather the potential volume (V) on rank 0

    Examples
    --------
    >>> r = conduct_with_contacts(Microstructure(np.ones((4, 4, 4), np.uint8)), "z",
    ...                           comm=MPI.COMM_SELF)
    >>> round(r.statistics()["top"]["max_over_mean"], 9)
    1.0
    """
    a = axis_index(m.cell_axis if axis is None else axis)
    if not (np.isfinite(bias_V) and bias_V != 0):
        raise InputError("bias_V", f"must be a finite non-zero voltage, got {bias_V}")
    fshape = face_shape(m.shape, a)
    masks = [np.ones(fshape, bool) if c is None else check_contact_map(c, fshape, f"contact_{f}")
             for c, f in zip((contact_bottom, contact_top), FACES, strict=True)]  # fmt: skip
    materials = load_materials() if materials is None else materials
    sigma = conductivity_lookup(m, materials)[m.labels]
    keep = _connected_to_contacts(sigma > 0, a, masks)
    if not keep.any():
        raise InputError(m.metadata.get("source", "volume"),
                         f"no conducting path joins the two contacts along {AXES[a]}")  # fmt: skip
    sigma = np.where(keep, sigma, 0.0)
    problem = FvProblem(sigma, m.voxel_size_m, comm)
    try:
        solution = problem.solve(a, solver_options, electrode_masks=tuple(masks))
        g_min, g_max = problem.electrode_conductance(a, tuple(masks))
        h2 = problem.h**2
        j_owned = [g_min * (1.0 - solution.potential) * bias_V / h2,
                   g_max * solution.potential * bias_V / h2]  # fmt: skip
        maps = {}
        for face, side, mask, j in zip(FACES, (0, -1), masks, j_owned, strict=True):
            volume = problem.gather(j, root=None)
            plane = np.take(volume, side, axis=a)
            maps[face] = np.where(mask, np.nan_to_num(plane, nan=0.0), np.nan)
        phi = problem.gather(solution.potential * bias_V, root=0) if potential else None
        unknowns = problem.count
    finally:
        problem.destroy()
    conductance = solution.current
    return ContactConduction(
        axis=AXES[a], bias_V=float(bias_V), current_A=conductance * bias_V,
        resistance_ohm=1.0 / conductance if conductance > 0 else float("inf"),
        current_in_A=solution.current_in * bias_V, current_out_A=solution.current_out * bias_V,
        contact_fraction={f: float(mk.mean()) for f, mk in zip(FACES, masks, strict=True)},
        current_density_A_per_m2=maps, iterations=solution.iterations,
        solver_reason=solution.reason, unknowns=unknowns, potential_V=phi,
        sigma_S_per_m=sigma if potential else None,
    )  # fmt: skip


def read_contact_map(path: Any, face: tuple[int, int]) -> np.ndarray:
    """A contact map from a .npy file, checked against the face shape (``check_contact_map``)."""
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise InputError(path, f"not a readable .npy contact map ({error})") from None
    return check_contact_map(values, face, path)


__all__ = ["FACES", "ContactConduction", "conduct_with_contacts", "focusing_statistics",
           "read_contact_map"]  # fmt: skip
