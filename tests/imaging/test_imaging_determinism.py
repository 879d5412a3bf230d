"""Reconstruction is bit-for-bit reproducible: the same scan, reconstructed again, gives one volume."""

from __future__ import annotations

import h5py
import numba
import numpy as np
import pytest
from algotom.rec import reconstruction

from imaging.io_dxchange import open_dxchange, write_dxchange
from imaging.phantom.cell import build_cell
from imaging.phantom.forward import BeamlineSettings, simulate_scan
from imaging.reconstruction.slices import reconstruct_slice
from imaging.reconstruction.volume import ReconstructionSettings, reconstruct_to_file


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """A small noisy phase-contrast scan of the virtual cell, like the demo's phantom steps."""
    geometry = build_cell((64, 64, 40), 1.0, seed=11)
    data = simulate_scan(geometry.labels, 1.0, BeamlineSettings(n_angles=180, distance_m=0.02))
    return write_dxchange(
        tmp_path_factory.mktemp("scan") / "scan.h5",
        data["data"],
        data["flats"],
        data["darks"],
        data["theta_deg"],
        attrs={"pixel_size_um": 1.0, "energy_kev": 76.2, "distance_m": 0.02},
    )


def test_fbp_reconstruction_is_bit_identical_on_repeat(scan, tmp_path):
    """Runs of the path `meso reconstruct --algorithm fbp` takes (slabs of rows, Paganin, rings,
    automatic centre) agree bit for bit. algotom's CPU back-projection races when it runs on more
    than one numba thread; the race needs both threads at work at once, so a loaded machine can
    hide it in one repeat, and the scan is reconstructed three times."""
    settings = ReconstructionSettings(
        algorithm="fbp",
        slab_rows=6,
        phase=True,
        energy_kev=76.2,
        distance_m=0.02,
        delta_beta=85.4,
        pixel_size_um=1.0,
    )
    volumes = []
    with open_dxchange(scan) as source:
        for run in range(3):
            out = tmp_path / f"run{run}.h5"
            reconstruct_to_file(source, out, settings, progress=False)
            with h5py.File(out) as fh:
                volumes.append(fh["volume"][()])
    first = volumes[0]
    for run, volume in enumerate(volumes[1:], start=1):
        assert np.array_equal(first, volume), (
            f"run {run}: {np.mean(volume != first):.1%} of voxels differ from run 0, "
            f"by up to {np.abs(volume - first).max():.4g} 1/m"
        )


def test_fbp_back_projection_runs_on_one_numba_thread(monkeypatch):
    """The cause, checked without relying on thread timing: algotom's back_projection_cpu runs
    `prange` over angles, all adding into the same pixels, so it must see one numba thread (and
    the caller's thread count comes back afterwards)."""
    seen = []
    kernel = reconstruction.back_projection_cpu

    def spy(*args, **kwargs):
        seen.append(numba.get_num_threads())
        return kernel(*args, **kwargs)

    monkeypatch.setattr(reconstruction, "back_projection_cpu", spy)
    before = numba.get_num_threads()
    theta = np.linspace(0.0, 180.0, 45, endpoint=False)
    sinogram = np.ones((theta.size, 32), np.float32)
    reconstruct_slice(sinogram, 15.5, theta, algorithm="fbp")
    assert seen == [1]
    assert numba.get_num_threads() == before
