"""Every map: axes in micrometres, one orientation, a colorbar with units, nothing clipped."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from mpi4py import MPI

SIZE_UM = 0.5


@pytest.fixture
def saved(monkeypatch):
    """The figures passed to savefig (they are still written, so atomic writes work)."""
    figures = []
    original = Figure.savefig

    def record(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return figures


def _maps(fig: Figure, unit: str = "um") -> list:
    """The images of `fig`, after checking each: axis labels in `unit`, a labelled colorbar,
    constrained layout (no clipped titles)."""
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    images = []
    for ax in fig.axes:
        for image in ax.images:
            assert f"({unit})" in ax.get_xlabel() and f"({unit})" in ax.get_ylabel()
            assert image.origin == "lower"
            assert image.colorbar is not None, ax.get_title()
            assert image.colorbar.ax.get_ylabel().strip(), ax.get_title()
            images.append(image)
    assert images
    return images


def _values(image) -> np.ndarray:
    """The image's data as drawn: row = vertical, column = horizontal."""
    return np.ma.getdata(image.get_array())


def test_midplanes_are_in_um_with_the_first_remaining_axis_horizontal(tmp_path, saved):
    from meso.io.figures import plot_midplanes

    field = np.arange(6 * 5 * 4, dtype=float).reshape(6, 5, 4)
    plot_midplanes(field, "x", tmp_path / "j.png", "test", voxel_size_um=SIZE_UM)
    (fig,) = saved
    across, along = _maps(fig)
    assert across.axes.get_xlabel() == "y (um)" and across.axes.get_ylabel() == "z (um)"
    assert across.get_extent() == [0, 5 * SIZE_UM, 0, 4 * SIZE_UM]
    np.testing.assert_array_equal(_values(across), field[3].T)  # y horizontal, z vertical
    assert along.axes.get_xlabel() == "x (um)" and along.get_extent() == [0, 3.0, 0, 2.0]
    assert "A/m" in across.colorbar.ax.get_ylabel()
    assert all("um" in ax.get_title() for ax in (across.axes, along.axes))
    assert (tmp_path / "j.png").stat().st_size > 0


def test_midplane_of_a_stress_field(tmp_path, saved):
    from meso.io.figures import plot_midplane

    field = np.random.default_rng(0).random((4, 5, 6))
    plot_midplane(tmp_path / "s.png", field, 2, "von Mises", "von Mises stress (MPa)", SIZE_UM)
    (image,) = _maps(saved[0])
    assert image.colorbar.ax.get_ylabel() == "von Mises stress (MPa)"
    assert image.axes.get_xlabel() == "x (um)" and image.get_extent() == [0, 2.0, 0, 2.5]
    np.testing.assert_array_equal(_values(image), field[:, :, 3].T)


def test_conduction_fields_png_is_in_um(tmp_path, saved):
    from meso import Microstructure, conduct

    labels = np.ones((4, 4, 3), np.uint8)
    labels[1, 1, 1] = 0
    conduct(Microstructure(labels, voxel_size_um=SIZE_UM), axes=["x"], comm=MPI.COMM_SELF,
            fields_dir=tmp_path)  # fmt: skip
    (fig,) = saved
    across, _ = _maps(fig)
    assert across.get_extent() == [0, 4 * SIZE_UM, 0, 3 * SIZE_UM]


def test_center_figure_has_um_axes_and_an_attenuation_colorbar(tmp_path, saved):
    from imaging.reconstruction.center import save_center_figure

    theta = np.linspace(0.0, 180.0, 24)
    columns = np.arange(16) - 7.5
    sinogram = np.exp(-((columns[None, :] - 2 * np.cos(np.radians(theta))[:, None]) ** 2))
    image = np.outer(np.arange(16), np.ones(16))  # rows y, columns x: grows with y

    save_center_figure(tmp_path / "center.png", sinogram, theta, 7.5, lambda s, c: image,
                       pixel_size_um=2.0)  # fmt: skip
    images = _maps(saved[-1])
    assert len(images) == 3
    for drawn in images:
        assert drawn.colorbar.ax.get_ylabel() == "attenuation (1/m)"
        assert drawn.get_extent() == [0, 32.0, 0, 32.0]
        np.testing.assert_allclose(_values(drawn), image / 2e-6)  # y up the page
    save_center_figure(tmp_path / "px.png", sinogram, theta, 7.5, lambda s, c: image)
    assert _maps(saved[-1], unit="pixels")[0].colorbar.ax.get_ylabel() == "attenuation (1/pixel)"


def test_demo_figures_have_um_axes_and_units_on_every_colorbar(tmp_path, saved):
    from meso.cli.demo import figures

    rng = np.random.default_rng(1)
    truth = rng.random((6, 5, 4))
    recon = truth + 0.1 * rng.random(truth.shape)
    figures.scans_vs_truth([("step", truth, recon)], SIZE_UM, tmp_path / "scans.png")
    true, rebuilt = _maps(saved[0])
    assert true.colorbar.ax.get_ylabel() == "attenuation (1/m)"
    assert rebuilt.colorbar.ax.get_ylabel() == "reconstructed attenuation (1/m)"
    assert true.get_extent() == [0, 3.0, 0, 2.0]  # x horizontal, z vertical
    np.testing.assert_array_equal(_values(true), truth[:, 2, :].T)
    # the true current map beside recovered ones, on the truth's colour scale, with Pearson r
    j = rng.random((6, 5)) + 1
    figures.current_maps([("interval", j, [("same", j), ("opposite", -j)])], SIZE_UM,
                         tmp_path / "current.png")  # fmt: skip
    shown = _maps(saved[1])
    assert all("uA/cm" in image.colorbar.ax.get_ylabel() for image in shown)
    assert {image.get_clim() for image in shown} == {shown[0].get_clim()}
    titles = [ax.get_title() for ax in saved[1].axes if ax.images]
    assert "r = 1.00" in titles[1] and "r = -1.00" in titles[2]
