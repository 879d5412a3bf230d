"""3D views for the demo report, rendered off-screen with PyVista: the voids of a segmented
electrode, the interfacial current density, and flux streamlines around the hot spot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meso.io.atomic import atomic_path

WINDOW = (1200, 800)


def _plotter(shape: tuple[int, int] = (1, 1)):
    import pyvista as pv
    import vtk

    vtk.vtkObject.GlobalWarningDisplayOff()  # no X server here: VTK says so, then renders offscreen
    size = [WINDOW[0] * shape[1] * 3 // 4 if shape[1] > 1 else WINDOW[0], WINDOW[1]]
    plotter = pv.Plotter(off_screen=True, window_size=size, shape=shape)
    plotter.set_background("white")
    return plotter


def _grid(values: np.ndarray, voxel_um: float, name: str):
    """Voxel values as cell data of an image grid in micrometres."""
    import pyvista as pv

    grid = pv.ImageData(dimensions=np.array(values.shape) + 1, spacing=(voxel_um,) * 3)
    grid.cell_data[name] = np.asarray(values).ravel(order="F")
    return grid


def _cell_columns(solid: np.ndarray, margin: int = 1) -> np.ndarray:
    """Columns along z that hold solid somewhere, less `margin` voxels at their rim: the inside
    of the cell, where a pore is a void rather than the gas around the cell."""
    from scipy import ndimage

    return ndimage.binary_erosion(solid.any(axis=2), iterations=margin)[:, :, None]


def _save(plotter, target: Path) -> Path:
    with atomic_path(target) as tmp:
        plotter.screenshot(str(tmp))
    plotter.close()
    return target


def electrode_voids(
    panels: list[tuple[str, np.ndarray]], z_range: tuple[int, int], voxel_um: float, target: Path
) -> Path:
    """Side by side, one per (title, labels): pores (label 0) inside the cell (the columns that
    hold LLZO) within the electrode's layers `z_range` in red, its lithium (label 3) translucent."""
    z0, z1 = z_range
    plotter = _plotter(shape=(1, len(panels)))
    for index, (title, labels) in enumerate(panels):
        plotter.subplot(0, index)
        part = np.asarray(labels[:, :, z0:z1])
        lithium = _grid(part, voxel_um, "label").threshold([2.5, 3.5], scalars="label")
        if lithium.n_cells:
            plotter.add_mesh(lithium, color="silver", opacity=0.15)
        inside = _cell_columns(np.isin(labels, (1, 2)), margin=2)
        voids = _grid((inside & (part == 0)).astype(np.uint8), voxel_um, "void")
        voids = voids.threshold([0.5, 1.5], scalars="void")
        if voids.n_cells:
            plotter.add_mesh(voids.extract_surface(algorithm="dataset_surface"),
                             color="firebrick")  # fmt: skip
        plotter.add_text(title, font_size=11, color="black")
        plotter.show_bounds(xtitle="x (um)", ytitle="y (um)", ztitle="z (um)", color="black")
        plotter.camera_position = "iso"
        plotter.camera.zoom(1.3)
    return _save(plotter, target)


def interface_current(normalised: np.ndarray, voxel_um: float, title: str, target: Path) -> Path:
    """The normalised interfacial current density as a relief over the face (height and
    colour: j / mean j)."""
    import pyvista as pv

    values = np.nan_to_num(np.asarray(normalised, float), nan=0.0)
    x = (np.arange(values.shape[0]) + 0.5) * voxel_um
    y = (np.arange(values.shape[1]) + 0.5) * voxel_um
    gx, gy = np.meshgrid(x, y, indexing="ij")
    relief = max(values.shape) * voxel_um * 0.08  # height of j / mean j = 1, in um
    surface = pv.StructuredGrid(gx, gy, values * relief)
    surface.point_data["j / mean j"] = values.ravel(order="F")
    plotter = _plotter()
    plotter.add_mesh(surface, scalars="j / mean j", cmap="inferno",
                     scalar_bar_args={"title": "j / mean j", "color": "black"})  # fmt: skip
    plotter.add_text(title, font_size=12, color="black")
    plotter.show_bounds(xtitle="x (um)", ytitle="y (um)", ztitle="", color="black")
    plotter.camera_position = "iso"
    return _save(plotter, target)


def flux_streamlines(
    potential_V: np.ndarray, voxel_um: float, title: str, target: Path, *, seeds: int = 300
) -> Path:
    """Streamlines of -grad(phi) (the ionic flux direction) seeded over the bottom face,
    coloured by |grad phi|, with the pores inside the cell as grey surfaces."""
    import pyvista as pv

    phi = np.asarray(potential_V, float)
    solid = np.isfinite(phi)
    gradient = np.gradient(np.nan_to_num(phi, nan=0.0), voxel_um * 1e-6)
    flux = np.stack([-np.where(solid, g, 0.0) for g in gradient], axis=-1)
    # the potential lives at voxel centres: the points of a grid shifted by half a voxel
    grid = pv.ImageData(dimensions=phi.shape, spacing=(voxel_um,) * 3, origin=(voxel_um / 2,) * 3)
    grid.point_data["flux"] = flux.reshape(-1, 3, order="F")
    grid.point_data["|grad phi| (V/m)"] = np.linalg.norm(flux, axis=-1).ravel(order="F")
    size = np.array(phi.shape) * voxel_um
    source = pv.Plane(center=(size[0] / 2, size[1] / 2, voxel_um), direction=(0, 0, 1),
                      i_size=size[0] * 0.95, j_size=size[1] * 0.95,
                      i_resolution=int(np.sqrt(seeds)), j_resolution=int(np.sqrt(seeds)))  # fmt: skip
    lines = grid.streamlines_from_source(source, vectors="flux", max_length=4 * size.max(),
                                         integration_direction="forward")  # fmt: skip
    plotter = _plotter()
    if lines.n_points:
        field = np.asarray(lines.point_data["|grad phi| (V/m)"])
        # a few voxels at contact edges carry the extreme values: scale to the 99th percentile
        plotter.add_mesh(lines.tube(radius=voxel_um * 0.15), scalars="|grad phi| (V/m)",
                         cmap="viridis", clim=[0.0, float(np.percentile(field, 99))],
                         scalar_bar_args={"title": "|grad phi| (V/m)", "color": "black"})  # fmt: skip
    pores = _grid((~solid & _cell_columns(solid)).astype(np.uint8), voxel_um, "pore")
    pores = pores.threshold([0.5, 1.5], scalars="pore")
    if pores.n_cells:
        plotter.add_mesh(pores.extract_surface(algorithm="dataset_surface"), color="grey",
                         opacity=0.6)  # fmt: skip
    plotter.add_text(title, font_size=12, color="black")
    plotter.show_bounds(xtitle="x (um)", ytitle="y (um)", ztitle="z (um)", color="black")
    plotter.camera_position = "iso"
    return _save(plotter, target)
