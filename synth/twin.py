"""`twin`: an isotropic synthetic volume with the measured porosity, pore size and grain size of another."""

from __future__ import annotations

from collections.abc import Sequence

from meso.errors import InputError
from meso.microstructure import Microstructure
from synth.generate import SynthGeometry, generate
from synth.measure import MicrostructureStats, measure


def _ratio(target: float | None, achieved: float | None) -> float:
    return target / achieved if target and achieved else 1.0


def twin(
    microstructure: Microstructure,
    *,
    grain_size_um: float | None = None,
    gb_thickness_voxels: float | None = None,
    shape: int | Sequence[int] | None = None,
    pore_placement: str = "random",
    seed: int = 0,
    refine_rounds: int = 2,
    return_geometry: bool = False,
    progress: bool = False,
) -> Microstructure | tuple[Microstructure, SynthGeometry]:
    """The study's "synthetic data set": an isotropic volume matched to a measured one.

    Parameters
    ----------
    microstructure : meso.Microstructure
        The volume to match (e.g. a segmented tomography sub-volume of LLZO).
    grain_size_um : float, optional
        Mean linear intercept to use; required when the volume has no grain-boundary phase
        (tomography rarely resolves grains), else it overrides the measured one.
    gb_thickness_voxels : float, optional
        Boundary thickness; default the stereological estimate from the volume, or 1 voxel.
    shape : int or (nx, ny, nz), optional
        Size of the twin in voxels (default the volume's); the voxel size is the volume's.
    pore_placement, seed, progress :
        As for `generate`.
    refine_rounds : int
        Regenerations (same seed) that rescale the requested pore and grain sizes by
        target / achieved, because overlapping pores merge and the labelled boundary shifts the
        measured intercept slightly. Porosity is exact in every round.
    return_geometry : bool
        Also return the SynthGeometry of the twin.

    Returns
    -------
    Microstructure, or (Microstructure, SynthGeometry)
        metadata["twin_of"] names the source and metadata["twin_target"] holds its statistics.
    """
    m = microstructure
    source = m.metadata.get("source", "volume")
    target: MicrostructureStats = measure(m)
    h = m.voxel_size_um
    grain_um = grain_size_um if grain_size_um is not None else target.mean_grain_intercept_um
    if grain_um is None:
        raise InputError(source, "has no grain-boundary phase to measure grains; give a grain size")
    if gb_thickness_voxels is None:
        measured = target.grain_boundary_thickness_um
        gb_thickness_voxels = max(1.0, round(2.0 * measured / h) / 2.0) if measured else 1.0
    pore_um = target.mean_pore_equivalent_diameter_um or h
    pore_std_um = target.pore_equivalent_diameter_std_um or 0.0
    requested = {"pore": max(pore_um, h), "grain": grain_um}
    result = None
    for _ in range(refine_rounds + 1):
        result = generate(
            m.shape if shape is None else shape,
            h,
            target.porosity,
            requested["pore"],
            requested["grain"],
            pore_size_std_um=pore_std_um * requested["pore"] / pore_um,
            gb_thickness_voxels=gb_thickness_voxels,
            pore_placement=pore_placement,
            seed=seed,
            return_geometry=True,
            progress=progress,
        )
        achieved = measure(result[0])
        pore_factor = _ratio(
            target.mean_pore_equivalent_diameter_um, achieved.mean_pore_equivalent_diameter_um
        )
        grain_factor = _ratio(grain_um, achieved.mean_grain_intercept_um)
        if abs(pore_factor - 1) < 0.01 and abs(grain_factor - 1) < 0.01:
            break
        requested = {
            "pore": max(requested["pore"] * pore_factor, h),
            "grain": max(requested["grain"] * grain_factor, 2 * h),
        }
    twin_m, geometry = result  # type: ignore[misc]
    twin_m.metadata.update(
        {"source": f"twin of {source}", "twin_of": str(source), "twin_target": target.to_dict()}
    )
    return (twin_m, geometry) if return_geometry else twin_m
