"""`meso demo`: the virtual experiment end to end on built-in parameters, with an HTML report."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from meso.errors import InputError
from meso.io.report import Section, write_report
from meso.io.staging import replaced_whole

# (quick, full) settings; quick runs in about a minute on 2 cores.
SYNTH = {
    "quick": ["--shape", "32", "--voxel-size", "0.5", "--pore-size", "2", "--grain-size", "4"],
    "full": ["--shape", "64", "--voxel-size", "0.5", "--pore-size", "2", "--grain-size", "5"],
}
PHANTOM = {
    "quick": ["--shape", "48,48,48", "--angles", "90"],
    "full": ["--shape", "96,96,96", "--angles", "180"],
}


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from meso.cli.common import non_negative_int

    parser = sub.add_parser(
        "demo",
        help="run the end-to-end virtual experiment on built-in data, with an HTML report",
        description="Run every stage that exists, as the commands a user would type: a "
        "virtual Li|LLZO|Li cell is cycled and scanned (meso phantom) and one scan is "
        # a description is printed as written (argparse %-formats only argument help): one %
        "reconstructed (meso reconstruct); a synthetic 5%-porosity LLZO microstructure is "
        "generated (meso synth) and solved for ionic conduction (meso conduct) and "
        "elasticity (meso elastic). Each stage writes into its own sub-folder of --out; "
        "report.html gathers the numbers and figures.",
        epilog="example: meso demo --quick --out demo-out && xdg-open demo-out/report.html",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small volumes (about a minute; default: larger ones)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=1, help="random seed (default %(default)s)"
    )
    parser.set_defaults(func=run)
    return parser


def _stage(name: str, argv: list[str], quiet: bool) -> float:
    """Run one `meso` command in this process; stop the demo if it fails."""
    from meso.cli import main

    if not quiet:
        print(f"meso demo: meso {' '.join(argv)}", flush=True)
    start = time.perf_counter()
    code = main([*argv, *(["--quiet"] if quiet else [])])
    if code != 0:
        raise SystemExit(f"meso demo: stage {name!r} failed with exit code {code}")
    return time.perf_counter() - start


def _axis_table(result: dict, columns: list[tuple[str, str]]) -> list[list[object]]:
    rows: list[list[object]] = [["axis", *[label for label, _ in columns]]]
    for axis, values in result["axes"].items():
        rows.append([axis, *[values.get(key, "") for _, key in columns]])
    return rows


def _scan_figure(scan: Path, volume: Path, target: Path) -> tuple[Path, float]:
    """Ground truth vs reconstruction on the mid plane through the cell axis (z), and the true
    current-density map, in micrometres with colorbars in units; returns the PNG and the
    correlation of the two volumes."""
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from meso.io.atomic import atomic_path
    from meso.io.figures import show_plane

    with h5py.File(scan, "r") as f:
        truth = f["ground_truth/attenuation_per_m"][()]
        current = f["ground_truth/current_density_uA_per_cm2"][()]
        voxel_um = float(f.attrs["pixel_size_um"]) if "pixel_size_um" in f.attrs else None
    with h5py.File(volume, "r") as f:
        recon = f["volume"][()]
        attrs = f["volume"].attrs
        units = str(attrs.get("units", "1/pixel"))
        # the reconstruction's own voxel size when it knows it (units 1/m), else pixels
        recon_um = float(attrs.get("voxel_size_um", voxel_um)) if units == "1/m" else None
    correlation = float(np.corrcoef(truth.ravel(), recon.ravel())[0, 1])
    mid = truth.shape[1] // 2
    y_um = f"y = {(mid + 0.5) * voxel_um:.3g} um" if voxel_um else f"y = pixel {mid}"
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), dpi=110, constrained_layout=True)
    for ax, data, size_um, title, label in (
        (axes[0], truth, voxel_um, "true attenuation", "attenuation (1/m)"),
        (axes[1], recon, recon_um, "reconstruction", f"reconstructed attenuation ({units})"),
    ):
        show_plane(ax, data[:, mid, :], ("x", "z = cell axis"), size_um, label, cmap="gray")
        ax.set_title(f"{title}, {y_um}")
    show_plane(axes[2], current, ("x", "y"), voxel_um, "current density (uA/cm$^2$)",
               cmap="inferno")  # fmt: skip
    axes[2].set_title("true current density")
    with atomic_path(target) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return target, correlation


def run(args: argparse.Namespace) -> int:
    out = Path(args.out or "demo-out")
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    if Path.cwd().resolve().is_relative_to(out.resolve()):
        raise InputError(out, "is the working folder or above it; name a new folder")
    # the stages write into --out directly (their commands are the ones printed); an
    # interrupted or failed demo puts the folder back as it was
    with replaced_whole(out):
        return _run_stages(args, out)


def _run_stages(args: argparse.Namespace, out: Path) -> int:
    from meso.cli import COMMAND_MODULES

    size = "quick" if args.quick else "full"
    quiet = bool(args.quiet)
    seed = ["--seed", str(args.seed)]
    sections: list[Section] = []
    timings: list[list[object]] = [["stage", "wall time (s)"]]

    # 1. synthetic microstructure
    synth_dir = out / "synth"
    t = _stage("synth", ["synth", *SYNTH[size], "--porosity", "0.05", *seed,
                         "--out", str(synth_dir)], quiet)  # fmt: skip
    timings.append(["synth", t])
    volume = synth_dir / "synth.npz"
    synth = json.loads((synth_dir / "synth.json").read_text())
    sections.append(Section(
        "Synthetic LLZO microstructure (meso synth)",
        "Voronoi grains with one-voxel grain boundaries and 5% pores; requested vs measured.",
        [["statistic", "requested", "measured"]]
        + [[c["quantity"], c["requested"], c["measured"]] for c in synth["comparison"]],
        [synth_dir / "synth_slices.png"],
    ))  # fmt: skip

    # 2. ionic conduction
    if "conduct" in COMMAND_MODULES:
        conduct_dir = out / "conduct"
        t = _stage("conduct", ["conduct", str(volume), "--method", "both", "--fields",
                               "--out", str(conduct_dir)], quiet)  # fmt: skip
        timings.append(["conduct", t])
        result = json.loads((conduct_dir / "conduction.json").read_text())
        sections.append(Section(
            "Ionic conduction (meso conduct)",
            "Microstructure factor M = sigma_eff / sigma_grain and tortuosity factor "
            "tau = eps / M_geometric (pore geometry alone) along each axis.",
            _axis_table(result, [("M", "M"), ("tortuosity factor", "tortuosity_factor"),
                                 ("sigma_eff (S/m)", "sigma_eff_S_per_m"),
                                 ("iterations", "iterations")]),
            sorted(conduct_dir.rglob("*_fv.png")),
        ))  # fmt: skip

    # 3. elasticity
    elastic_dir = out / "elastic"
    t = _stage("elastic", ["elastic", str(volume), "--fields", "--out", str(elastic_dir)], quiet)
    timings.append(["elastic", t])
    result = json.loads((elastic_dir / "elasticity.json").read_text())
    for values in result["axes"].values():
        stress = values.get("stress") or {}
        values["max_over_mean"] = stress.get("max_over_mean_axial", "")
        values["p99_over_mean"] = stress.get("p99_over_mean_axial", "")
    sections.append(Section(
        "Elasticity (meso elastic)",
        "Young's modulus factor M = E_eff / E_grain under uniaxial strain, and von Mises "
        "stress concentration relative to the mean axial stress.",
        _axis_table(result, [("M", "M"), ("E_eff (Pa)", "E_eff_Pa"),
                             ("von Mises max / mean", "max_over_mean"),
                             ("von Mises p99 / mean", "p99_over_mean")]),
        sorted(elastic_dir.glob("*.png")),
    ))  # fmt: skip

    # 4. virtual cell: cycling, scanning and reconstruction
    if "phantom" in COMMAND_MODULES and "reconstruct" in COMMAND_MODULES:
        phantom_dir = out / "phantom"
        t = _stage("phantom", ["phantom", *PHANTOM[size], *seed, "--out", str(phantom_dir)],
                   quiet)  # fmt: skip
        timings.append(["phantom", t])
        scans = sorted(p for p in phantom_dir.glob("step_*.h5") if "_labels" not in p.name)
        phantom = json.loads((phantom_dir / "phantom.json").read_text())
        recon_dir = out / "reconstruct"
        # Paganin retrieval tuned to LLZO, the dominant material of the field of view
        delta_beta = f"{phantom['delta_beta']['grain']:.4g}"
        t = _stage("reconstruct", ["reconstruct", str(scans[-1]), "--phase", "--delta-beta",
                                   delta_beta, "--out", str(recon_dir / "volume.h5")],
                   quiet)  # fmt: skip
        timings.append(["reconstruct", t])
        figure, correlation = _scan_figure(scans[-1], recon_dir / "volume.h5", out / "scan.png")
        step_rows = [["step", "Li top (um)", "Li bottom (um)", "void frac. near top",
                      "void frac. near bottom"]] + [
            [s["name"], s["li_thickness_top_um_mean"], s["li_thickness_bottom_um_mean"],
             s["void_fraction_near_top_interface"], s["void_fraction_near_bottom_interface"]]
            for s in phantom["steps"]
        ]  # fmt: skip
        sections.append(Section(
            "Virtual Li|LLZO|Li cell (meso phantom, meso reconstruct)",
            f"{len(scans)} cycling steps, each scanned; the last one reconstructed with "
            f"Paganin phase retrieval (delta/beta = {delta_beta}). "
            f"Correlation of the reconstruction with the true attenuation: {correlation:.3f} "
            "(noise, stripes and phase contrast at the default dose make Li and pores hard "
            "to tell apart, as in the study).",
            step_rows,
            [figure, *sorted(recon_dir.glob("*.png"))],
        ))  # fmt: skip

    sections.append(Section("Run time", table=timings))
    report = write_report(
        out / "report.html",
        "meso demo: virtual Li|LLZO|Li experiment",
        f"Settings: {size}, seed {args.seed}. Every stage is a meso command; its outputs "
        "(JSON, CSV, PNG, XDMF for ParaView) are in the sub-folder named after it.",
        sections,
    )
    if not quiet:
        print(f"meso demo: wrote {report}")
    return 0
