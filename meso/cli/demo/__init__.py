"""`meso demo`: the study end to end on a virtual cell and a synthetic microstructure, as the
commands a user would type, into one self-contained report.html."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from meso.errors import InputError
from meso.io.report import Figure, Section, software_versions, write_report
from meso.io.staging import replaced_whole


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from meso.cli.common import non_negative_int

    parser = sub.add_parser(
        "demo",
        help="run the whole study on a virtual cell and a synthetic volume, with an HTML report",
        description="Run the study end to end, each stage the meso command a user would type "
        "(printed as it starts): a virtual Li|LLZO|Li cell is cycled and scanned at each step "
        "(meso phantom); every step is reconstructed (meso reconstruct) and segmented by Otsu "
        "and by a U-Net trained briefly on one step (meso segment); the steps are quantified "
        "(meso quantify: porosity, thickness and current-density maps, electrolyte tortuosity); "
        "the electrolyte is cut out (meso extract) and its conductivity and modulus factors "
        "M_x/M_y/M_z compared with isotropic synthetic twins (meso conduct, elastic, compare); "
        "the flux around the hot spots is solved (meso hotspot); a synthetic 5%-porosity LLZO "
        "volume is generated and solved (meso synth, conduct, elastic). Wherever the virtual "
        "cell knows the truth, the report shows it next to what was recovered. Each stage writes "
        "into its own sub-folder of --out; report.html (self-contained) and tables/*.csv gather the "
        "results. About 10 minutes on 2 cores; --quick about 2.",
        epilog="example: meso demo --quick --out demo-out && xdg-open demo-out/report.html",
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="a small cell and brief training (about 2 minutes; default: larger, about 10)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=non_negative_int, default=1, help="random seed (default %(default)s)"
    )
    parser.set_defaults(func=run)
    return parser


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
    from meso.cli.demo import electrolyte, tomography
    from meso.cli.demo.models import synthetic_sections
    from meso.cli.demo.runner import Runner
    from meso.cli.demo.settings import SYNTH

    size = "quick" if args.quick else "full"
    seed = str(args.seed)
    run = Runner(quiet=bool(args.quiet))
    cell, cell_section = tomography.virtual_cell(run, out, size, seed)
    sections = [cell_section, tomography.reconstruct(run, out, cell)]
    sections.append(tomography.segment(run, out, cell, size, seed))
    quant, quant_sections = tomography.quantify(run, out, cell)
    sections += quant_sections
    hotspot, cell_models = electrolyte.models_of_the_cell(run, out, cell, quant, size)
    sections += cell_models
    sections.append(_views_section(out, cell, quant, hotspot))
    sections += synthetic_sections(run, out, SYNTH[size], seed)
    sections += _provenance_sections(run)
    report = write_report(
        out / "report.html",
        "meso demo: the Li|LLZO|Li study on a virtual cell",
        f"Settings: {size}, seed {seed}. Every stage is a meso command (listed at the end, "
        "to reproduce or adapt); its outputs (JSON, CSV, PNG, HDF5, XDMF for ParaView) are in "
        "the sub-folder of this report's folder named after it; the tables are also in "
        "tables/*.csv.",
        sections,
    )
    if not args.quiet:
        print(f"meso demo: wrote {report}")
    return 0


def _views_section(out: Path, cell, quant: Path, hotspot: Path) -> Section:
    """The 3D views: the stripped electrode's voids, the interfacial current, the flux."""
    import numpy as np

    from meso.cli.demo import views
    from meso.io.volumes import load

    step = cell.test_step
    quantified = json.loads((quant / "quantify.json").read_text())
    layers = quantified["layers"][step.index][f"{step.stripped}_electrode"]
    panels = [(f"{step.name}, {step.stripped} electrode: {name}", load(path).labels)
              for name, path in (("true labels", step.truth), ("U-Net", step.unet))]  # fmt: skip
    target = out / "views"
    shown = [Figure(views.electrode_voids(panels, tuple(layers), cell.voxel_um,
                                          target / "electrode_voids.png"),
                    f"The {step.stripped} electrode of {step.name} after stripping, true labels "
                    "(left) and as segmented by the U-Net (right): voids in red, lithium "
                    "translucent.")]  # fmt: skip
    face = f"current_density_{step.stripped}.npy"
    if (hotspot / face).exists():
        shown.append(Figure(views.interface_current(np.load(hotspot / face), cell.voxel_um,
                                                    f"{step.stripped} interface: j / mean j",
                                                    target / "interface_current.png"),
                            f"Predicted current density on the {step.stripped} interface "
                            "(meso hotspot), relief and colour = j / mean j."))  # fmt: skip
    if (hotspot / "potential_V.npy").exists():
        shown.append(Figure(views.flux_streamlines(np.load(hotspot / "potential_V.npy"),
                                                   cell.voxel_um, "ionic flux streamlines",
                                                   target / "flux_streamlines.png"),
                            "Streamlines of the ionic flux through the pellet from the bottom "
                            "interface, coloured by the field strength; pores grey."))  # fmt: skip
    return Section("8. 3D views (PyVista, off-screen)", "", [], shown)


def _provenance_sections(run) -> list[Section]:
    from meso.materials import load_materials

    materials = load_materials(None)
    rows = [["phase", "label", "sigma (S/m)", "ASR (ohm m^2)", "E (Pa)", "nu"]] + [
        [p.name, p.label, "void" if p.void else p.sigma_S_per_m, p.asr_ohm_m2, p.E_Pa, p.nu]
        for p in materials.phases.values()
    ]  # fmt: skip
    versions = software_versions()
    return [
        Section("Materials", f"The phase properties every solve used ({materials.source}; "
                "override with --materials FILE.toml).", rows, csv="materials"),
        Section("Software", "", [["package", "version"], *versions.items()], csv="versions"),
        Section("Commands", "Every stage as run, in order (paths relative to the folder the "
                "demo ran in):", code="\n".join(run.commands)),
        Section("Run time", table=run.stage_times(), csv="run_time"),
    ]  # fmt: skip
