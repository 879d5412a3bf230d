"""`meso reconstruct`: projections (Data Exchange .h5 or TIFF) -> attenuation volume + reconstruct.json."""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

from meso.cli.common import finite_float, non_negative_int, positive_float, positive_int
from meso.errors import InputError
from meso.io.atomic import write_json
from meso.io.staging import stage

# The smoothing windows algotom's DFI and FBP apply to the ramp filter (algotom.rec.reconstruction.
# make_smoothing_window; "none": the plain ramp); TomoPy's gridrec shares hann, hamming, parzen.
FILTERS = ("hann", "hamming", "bartlett", "blackman", "nuttall", "parzen", "triang", "none")
GRIDREC_FILTERS = ("hann", "hamming", "parzen")


def _rows(text: str) -> tuple[int, int]:
    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A:B (two integers), got {text!r}") from None
    if not 0 <= start < stop:
        raise argparse.ArgumentTypeError(f"expected A:B with 0 <= A < B, got {text!r}")
    return start, stop


def _center(text: str) -> float | None:
    if text == "auto":
        return None
    try:
        return finite_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number, got {text!r}") from None


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "reconstruct",
        help="normalise, remove rings, phase-retrieve, find the centre and reconstruct a scan",
        description="Reconstruct parallel-beam projections slab by slab (memory bounded by the "
        "slab, not the scan). --out is the volume file (.h5 or .zarr with dataset 'volume', or "
        ".tif with pages = x; axes x,y,z with z the detector row) or a folder (then "
        "DIR/volume.h5); reconstruct.json and center.png are written beside it.",
        epilog="example: meso reconstruct scan.h5 --out vol.h5 (auto centre, DFI, ring removal)\n"
        "example: meso reconstruct scan.h5 --rows 100:612 --algorithm fbp --filter hamming "
        "--pixel-size 0.65 --out vol.zarr\n"
        "example: meso reconstruct scan.h5 --phase --energy 76.2 --distance 0.02 --delta-beta 94 "
        "--pixel-size 0.65 --out vol.h5 (Paganin phase retrieval)",
    )
    p.add_argument(
        "input", metavar="IN", help="Data Exchange .h5, or a TIFF stack/folder of projections"
    )
    g = p.add_argument_group("input layout")
    g.add_argument("--data-path", default="/exchange/data", metavar="PATH",
                   help="projections dataset (.h5; default %(default)s)")  # fmt: skip
    g.add_argument("--white-path", default="/exchange/data_white", metavar="PATH",
                   help="flat fields dataset (.h5; default %(default)s)")  # fmt: skip
    g.add_argument("--dark-path", default="/exchange/data_dark", metavar="PATH",
                   help="dark fields dataset (.h5; default %(default)s)")  # fmt: skip
    g.add_argument("--theta-path", default="/exchange/theta", metavar="PATH",
                   help="angles in degrees (.h5; default %(default)s)")  # fmt: skip
    g.add_argument("--flats", metavar="PATH", help="flat-field TIFF stack or folder (TIFF input)")
    g.add_argument("--darks", metavar="PATH", help="dark-field TIFF stack or folder (TIFF input)")
    g.add_argument(
        "--angle-range", type=positive_float, default=180.0, metavar="DEG",
        help="degrees spanned by TIFF projections (default %(default)s)",
    )  # fmt: skip
    g = p.add_argument_group("reconstruction")
    g.add_argument(
        "--center",
        type=_center,
        default=None,
        metavar="auto|PIXELS",
        help="rotation axis column (default auto: algotom's Vo method)",
    )
    g.add_argument(
        "--center-row", type=non_negative_int, metavar="ROW",
        help="detector row for the centre search (default: the middle of --rows)",
    )  # fmt: skip
    g.add_argument(
        "--algorithm",
        default="dfi",
        choices=["dfi", "fbp", "gridrec"],
        help="dfi = algotom Fourier gridding; fbp = algotom filtered back-projection; gridrec "
        "needs TomoPy (default %(default)s)",
    )
    g.add_argument(
        "--filter", default="hann", choices=FILTERS,
        help="smoothing window of the ramp filter, algotom's ('none': the plain ramp; gridrec: "
        f"{', '.join(GRIDREC_FILTERS)}) (default %(default)s)",
    )  # fmt: skip
    g.add_argument(
        "--rings",
        default="sorting",
        choices=["none", "sorting", "fft", "wavelet", "all"],
        help="ring (stripe) removal method, algotom's (default %(default)s)",
    )
    g.add_argument(
        "--rows", type=_rows, metavar="A:B", help="detector rows A..B-1 only (default: all)"
    )
    g.add_argument(
        "--slab-rows", type=positive_int, default=8, metavar="K",
        help="rows held in memory at once (default %(default)s)",
    )  # fmt: skip
    g.add_argument(
        "--pixel-size",
        type=positive_float,
        metavar="UM",
        help="pixel size in um (output in 1/m; default: the file's pixel_size_um attribute)",
    )
    g = p.add_argument_group(
        "Paganin phase retrieval (energy, distance, pixel size default to the file's attributes)"
    )
    g.add_argument("--phase", action="store_true", help="apply Paganin single-distance retrieval")
    g.add_argument("--energy", type=positive_float, metavar="KEV", help="photon energy in keV")
    g.add_argument(
        "--distance", type=positive_float, metavar="M", help="sample-detector distance in m"
    )
    g.add_argument("--delta-beta", type=positive_float, metavar="RATIO",
                   help="delta/beta of the dominant material (needed with --phase)")  # fmt: skip
    p.set_defaults(func=run)
    return p


def _output_path(args: argparse.Namespace) -> Path:
    out = Path(args.out or "reconstruct-out")
    if out.suffix in (".h5", ".hdf5", ".zarr", ".tif", ".tiff"):
        volume = out
    else:
        if out.exists() and not out.is_dir():
            raise InputError(out, "exists and is not a folder (give a .h5 or .zarr volume name)")
        volume = out / "volume.h5"
    if volume.resolve() == Path(args.input).resolve():
        raise InputError(volume, "the output would overwrite the input")
    return volume


def _open_source(args: argparse.Namespace):
    import numpy as np

    from imaging.io_dxchange import open_dxchange, read_tiff_projections

    path = Path(args.input)
    if path.suffix.lower() in (".tif", ".tiff") or path.is_dir():
        if not args.flats:
            raise InputError(path, "TIFF projections need --flats (and usually --darks)")
        source = read_tiff_projections(path, args.flats, args.darks)
        source.theta_deg = np.linspace(0.0, args.angle_range, source.n_angles, endpoint=False)
        return source
    return open_dxchange(
        path,
        data_path=args.data_path,
        white_path=args.white_path,
        dark_path=args.dark_path,
        theta_path=args.theta_path,
    )


def _h5_to_tiff(h5_path: Path, tiff_path: Path, record: dict) -> None:
    """Copy the volume to a BigTIFF stack one x-page at a time (memory: one page), atomically."""
    import h5py
    import tifffile

    from meso.io.atomic import atomic_path

    try:
        with h5py.File(h5_path) as fh, atomic_path(tiff_path) as tmp:
            volume = fh["volume"]
            with tifffile.TiffWriter(tmp, bigtiff=True) as tif:
                for x in range(volume.shape[0]):
                    tif.write(volume[x], contiguous=True)
    finally:
        h5_path.unlink(missing_ok=True)
    record["output"] = str(tiff_path)
    record["dataset"] = None


def _check_against_scan(args: argparse.Namespace, settings, source) -> None:
    """InputError for the options that depend on the scan (rows, centre, pixel size, Paganin's
    inputs), before any output or work; reconstruct_to_file checks them again."""
    from imaging.reconstruction.volume import resolve_rows

    resolve_rows(settings, source.n_rows)
    row = settings.center_row
    if row is not None and not row < source.n_rows:
        raise InputError("--center-row", f"{row} is not a detector row (0..{source.n_rows - 1})")
    if settings.center is not None and not 0 <= settings.center <= source.n_columns - 1:
        raise InputError("--center", f"{settings.center} lies outside the detector's columns "
                         f"(0..{source.n_columns - 1})")  # fmt: skip
    size = settings.pixel_size_um
    if size is not None and not float(size) > 0:
        raise InputError(args.input, f"pixel_size_um must be positive, got {size!r}")
    needs = {"--energy": settings.energy_kev, "--distance": settings.distance_m,
             "--delta-beta": settings.delta_beta, "--pixel-size": settings.pixel_size_um}  # fmt: skip
    missing = [option for option, value in needs.items() if value is None]
    if settings.phase and missing:
        raise InputError("--phase", f"Paganin needs {', '.join(missing)} (not in the file either)")


def run(args: argparse.Namespace) -> int:
    from imaging.reconstruction.center import save_center_figure
    from imaging.reconstruction.slices import check_algorithm, reconstruct_slice
    from imaging.reconstruction.volume import (
        ReconstructionSettings,
        attenuation_rows,
        reconstruct_to_file,
    )

    final_path = _output_path(args)
    check_algorithm(args.algorithm)
    if args.algorithm == "gridrec" and args.filter not in GRIDREC_FILTERS:
        raise InputError(
            "--filter", f"gridrec takes {', '.join(GRIDREC_FILTERS)}, not {args.filter!r}"
        )
    with _open_source(args) as source:
        # the file's own pixel size, energy and distance (meso phantom writes them) fill gaps
        settings = ReconstructionSettings(
            algorithm=args.algorithm,
            filter_name=args.filter,
            center=args.center,
            center_row=args.center_row,
            rows=args.rows,
            slab_rows=args.slab_rows,
            rings=args.rings,
            phase=args.phase,
            energy_kev=args.energy or source.attrs.get("energy_kev"),
            distance_m=args.distance or source.attrs.get("distance_m"),
            delta_beta=args.delta_beta,
            pixel_size_um=args.pixel_size or source.pixel_size_um,
        )
        _check_against_scan(args, settings, source)  # before anything is written
        volume_path = stage(final_path.parent) / final_path.name  # moved into place at the end
        # TIFF pages are x-slices, but slabs arrive along z: reconstruct to HDF5 beside it, then
        # convert.
        as_tiff = volume_path.suffix in (".tif", ".tiff")
        slab_path = (
            volume_path.with_name(f".{volume_path.stem}.slabs.h5") if as_tiff else volume_path
        )
        record = reconstruct_to_file(source, slab_path, settings, progress=not args.quiet)
        if as_tiff:
            _h5_to_tiff(slab_path, volume_path, record)
        row = record["center_row"]
        sinogram = attenuation_rows(source, row, row + 1, settings)[:, 0, :]
        slice_at = functools.partial(
            reconstruct_slice,
            theta_deg=source.theta_deg,
            algorithm=settings.algorithm,
            filter_name=settings.filter_name,
        )
        figure = volume_path.with_name("center.png")
        save_center_figure(
            figure,
            sinogram,
            source.theta_deg,
            record["center"],
            lambda sino, c: slice_at(sino, c).T,
            auto_center=record["center_auto"],
            pixel_size_um=settings.pixel_size_um,
        )
    # the paths the files will have once the command succeeds
    record["output"] = str(final_path.with_name(Path(record["output"]).name))
    record["center_figure"] = str(final_path.with_name(figure.name))
    write_json(volume_path.with_name("reconstruct.json"), record)
    if not args.quiet:
        print(json.dumps({k: record[k] for k in ("output", "shape", "center", "center_method")}))
    return 0
