"""Statistics of a segmented volume: porosity, pore sizes, grain intercepts, boundary fraction, anisotropy."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from meso.microstructure import AXES, Microstructure


@dataclass
class MicrostructureStats:
    """What `measure` found; lengths in micrometres, fractions of the LLZO sample volume.

    The sample volume is the pore + grain + grain-boundary voxels (lithium and collector
    voxels are left out). Grain statistics are None when the volume has no grain-boundary
    phase (grains cannot be told apart); pore sizes are None when there is no pore.
    """

    porosity: float
    pore_count: int
    interior_pore_count: int
    mean_pore_equivalent_diameter_um: float | None
    pore_equivalent_diameter_std_um: float | None
    pore_chord_um: dict[str, float | None]
    grain_count: int
    grain_intercept_um: dict[str, float | None]
    mean_grain_intercept_um: float | None
    grain_boundary_volume_fraction: float
    grain_boundary_thickness_um: float | None
    anisotropy: dict[str, object]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def pore_equivalent_diameters(pore: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Equivalent-sphere diameters (voxels) of the face-connected pores that do not touch the box
    faces (their true size is unknown), or of all pores when every pore touches a face.

    Returns the diameters, the number of pores and the number of interior pores. Volumes come
    from a bincount of scipy's component labels, much faster than regionprops for many pores.
    """
    components, count = ndimage.label(pore)
    if count == 0:
        return np.empty(0), 0, 0
    volumes = np.bincount(components.ravel(), minlength=count + 1)[1:]
    faces = [components[(slice(None),) * a + (i,)] for a in range(3) for i in (0, -1)]
    cut = np.zeros(count + 1, dtype=bool)
    cut[np.unique(np.concatenate([f.ravel() for f in faces]))] = True
    interior = ~cut[1:]
    chosen = volumes[interior] if interior.any() else volumes
    return np.cbrt(6.0 * chosen / math.pi), count, int(np.count_nonzero(interior))


def mean_chords(phase: np.ndarray) -> list[float | None]:
    """Mean run length (voxels) of `phase` along x, y, z: phase voxels / number of runs."""
    result: list[float | None] = []
    for axis in range(3):
        moved = np.moveaxis(phase, axis, -1)
        starts = np.count_nonzero(moved[..., 1:] & ~moved[..., :-1]) + np.count_nonzero(
            moved[..., 0]
        )
        result.append(float(np.count_nonzero(phase) / starts) if starts else None)
    return result


def grain_intercepts(grain: np.ndarray, boundary: np.ndarray) -> tuple[list[float | None], int]:
    """Mean linear intercept (voxels) along x, y, z and the number of grains.

    Grains are the face-connected components of the grain-interior phase; every boundary voxel
    is given to the nearest grain (scipy's Euclidean feature transform). A straight line enters
    a convex grain at most once, so along each solid stretch of a voxel line (pores end it) the
    boundary crossings are the distinct grains met minus one; counting distinct grains rather
    than id changes ignores the flicker of nearest-grain ids inside a boundary layer that runs
    along the line. The intercept is the solid length (steps between consecutive solid voxel
    centres) over the crossings. Known bias: a line inside a boundary layer can still pick up
    the neighbouring grain, which shortens the intercept along the long axis of elongated grains
    by a few per cent (about 5 % for a 2:1 stretch at 1-voxel boundaries).
    """
    components, count = ndimage.label(grain)
    if count == 0:
        return [None, None, None], 0
    nearest = ndimage.distance_transform_edt(
        components == 0, return_distances=False, return_indices=True
    )
    grain_of = components[tuple(nearest)].astype(np.int64)
    del nearest
    solid = grain | boundary
    result: list[float | None] = []
    for axis in range(3):
        n = grain.shape[axis]
        line_solid = np.moveaxis(solid, axis, -1).reshape(-1, n)
        ids = np.moveaxis(grain_of, axis, -1).reshape(-1, n)[line_solid]
        starts = line_solid.copy()
        starts[:, 1:] &= ~line_solid[:, :-1]
        stretch = np.cumsum(starts.ravel())[line_solid.ravel()]
        new_run = np.ones(len(ids), dtype=bool)
        new_run[1:] = (ids[1:] != ids[:-1]) | (stretch[1:] != stretch[:-1])
        keys = np.unique(stretch[new_run] * (count + 1) + ids[new_run])
        crossings = len(keys) - int(np.count_nonzero(starts))
        steps = np.count_nonzero(line_solid[:, 1:] & line_solid[:, :-1])
        result.append(float(steps / crossings) if crossings else None)
    return result, count


def _ratios(values: list[float | None]) -> dict[str, float | None]:
    if any(v is None for v in values):
        return dict.fromkeys(AXES)
    mean = sum(values) / 3.0  # type: ignore[arg-type]
    return {a: v / mean for a, v in zip(AXES, values, strict=True)}  # type: ignore[operator]


def measure(microstructure: Microstructure) -> MicrostructureStats:
    """Porosity, pore sizes, grain intercepts, boundary fraction and anisotropy of a volume.

    Parameters
    ----------
    microstructure : meso.Microstructure
        Labels with the phases "pore", "grain" and (for grain statistics) "grain_boundary".

    Returns
    -------
    MicrostructureStats
        Lengths in um. Anisotropy indices: per-axis intercept (or chord) over the mean of the
        three, and the degree of anisotropy max/min.

    Examples
    --------
    >>> import numpy as np
    >>> from meso import Microstructure
    >>> labels = np.ones((8, 8, 8), np.uint8); labels[2:4, 2:4, 2:4] = 0
    >>> round(measure(Microstructure(labels, 1.0)).porosity, 4)
    0.0156
    """
    m = microstructure
    h = m.voxel_size_um
    labels = m.labels
    pore = labels == m.phases.get("pore", 0)
    grain = labels == m.phases.get("grain", 1)
    boundary = labels == m.phases.get("grain_boundary", 2)
    sample = int(np.count_nonzero(pore | grain | boundary))
    porosity = np.count_nonzero(pore) / sample if sample else 0.0
    diameters, pore_count, interior_count = pore_equivalent_diameters(pore)
    chords = mean_chords(pore)
    if boundary.any():
        intercepts, grain_count = grain_intercepts(grain, boundary)
    else:
        intercepts, grain_count = [None, None, None], int(ndimage.label(grain)[1])
    gb_fraction = np.count_nonzero(boundary) / sample if sample else 0.0
    known = [v for v in intercepts if v is not None]
    mean_intercept = float(np.prod(known) ** (1.0 / 3.0)) * h if len(known) == 3 else None
    thickness = None
    if len(known) == 3 and porosity < 1.0:
        # Stereology: boundary area per solid volume S_V = 2 / L, boundary fraction = S_V * delta.
        inverse_mean = sum(1.0 / v for v in known) / 3.0
        thickness = gb_fraction / (1.0 - porosity) / (2.0 * inverse_mean) * h
    grain_ratios = _ratios(intercepts)
    pore_ratios = _ratios(chords)

    def degree(values: list[float | None]) -> float | None:
        return None if any(v is None for v in values) else max(values) / min(values)  # type: ignore[type-var, operator]

    return MicrostructureStats(
        porosity=float(porosity),
        pore_count=int(pore_count),
        interior_pore_count=interior_count,
        mean_pore_equivalent_diameter_um=float(diameters.mean() * h) if len(diameters) else None,
        pore_equivalent_diameter_std_um=float(diameters.std() * h) if len(diameters) else None,
        pore_chord_um={a: (c * h if c else None) for a, c in zip(AXES, chords, strict=True)},
        grain_count=int(grain_count),
        grain_intercept_um={
            a: (v * h if v else None) for a, v in zip(AXES, intercepts, strict=True)
        },
        mean_grain_intercept_um=mean_intercept,
        grain_boundary_volume_fraction=float(gb_fraction),
        grain_boundary_thickness_um=thickness,
        anisotropy={
            "grain_intercept_ratio": grain_ratios,
            "grain_degree_of_anisotropy": degree(intercepts),
            "pore_chord_ratio": pore_ratios,
            "pore_degree_of_anisotropy": degree(chords),
        },
    )


def expected_statistics(parameters: dict) -> dict[str, object]:
    """What `generate` parameters ask for, in the terms `measure` reports (lengths in um).

    The grain-boundary fraction is the stereological estimate (1 - p) S_V delta with
    S_V = (2/3) sum_i 1 / L_i; it ignores boundary area removed by pores and edge overlaps.
    """
    stretch = np.asarray(parameters["anisotropy"], dtype=np.float64)
    stretch = stretch / np.prod(stretch) ** (1.0 / 3.0)
    grain = float(parameters["grain_size_um"])
    intercepts = grain * stretch
    p = float(parameters["porosity"])
    thickness_um = float(parameters["gb_thickness_voxels"]) * float(parameters["voxel_size_um"])
    surface = 2.0 / 3.0 * float(np.sum(1.0 / intercepts))
    ratios = {a: float(v) for a, v in zip(AXES, stretch / stretch.mean(), strict=True)}
    return {
        "porosity": p,
        "mean_pore_equivalent_diameter_um": float(parameters["pore_size_um"]),
        "grain_intercept_um": {a: float(v) for a, v in zip(AXES, intercepts, strict=True)},
        "mean_grain_intercept_um": grain,
        "grain_boundary_volume_fraction": (1.0 - p) * surface * thickness_um,
        "grain_boundary_thickness_um": thickness_um,
        "anisotropy": {"grain_intercept_ratio": ratios, "pore_chord_ratio": dict(ratios)},
    }


def compare(requested: dict, measured: MicrostructureStats) -> list[dict[str, object]]:
    """Rows (quantity, requested, measured, relative difference) for every scalar both report."""
    rows: list[dict[str, object]] = []

    def walk(req: object, got: object, name: str) -> None:
        if isinstance(req, dict) and isinstance(got, dict):
            for key, value in req.items():
                walk(value, got.get(key), f"{name}.{key}" if name else key)
        elif isinstance(req, int | float) and not isinstance(req, bool):
            diff = None
            if isinstance(got, int | float) and req != 0:
                diff = (float(got) - float(req)) / abs(float(req))
            rows.append(
                {"quantity": name, "requested": req, "measured": got, "relative_difference": diff}
            )

    walk(requested, measured.to_dict(), "")
    return rows
