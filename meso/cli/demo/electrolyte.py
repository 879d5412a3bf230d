"""The demo's bridge from the segmented cell to the models: the electrolyte cut out (meso
extract), its M_x / M_y / M_z against isotropic twins (meso compare) with the fv vs fe
discretisation estimate (meso conduct), and the flux around the hot spots (meso hotspot)."""

from __future__ import annotations

import json
from pathlib import Path

from meso.cli.demo import settings
from meso.cli.demo.models import axis_table
from meso.cli.demo.runner import Runner
from meso.cli.demo.tomography import Cell, Step
from meso.io.report import Figure, Section

REGIONS = ("interface-bottom", "bulk", "interface-top")


def models_of_the_cell(
    run: Runner, out: Path, cell: Cell, quant: Path, size: str
) -> tuple[Path, list[Section]]:
    """Extract the electrolyte of a test step (not the training step) from its U-Net labels and
    solve it; returns the hot-spot folder and the report sections."""
    step = cell.test_step
    ex = out / "extract"
    # tomography does not resolve grains: synthetic ones of the cell's grain size are overlaid;
    # the window is the square inscribed in the cell's disc, so that no gas around the cell
    # counts as electrolyte porosity
    grains = ["--overlay-grains-um", f"{cell.record['config']['grain_size_um']:g}",
              "--window-um", f"{_inscribed_square_um(quant, cell.voxel_um):.3g}"]  # fmt: skip
    run("extract", ["extract", str(step.unet), "--region", "electrolyte", *grains,
                    "--contact-gap-um", settings.CONTACT_GAP_UM,
                    "--out", str(ex / "electrolyte")])  # fmt: skip
    depth = settings.INTERFACE_DEPTH_UM[size]
    for region in REGIONS:
        run("extract", ["extract", str(step.unet), "--region", region, "--depth-um", depth,
                        *grains, "--out", str(ex / region)])  # fmt: skip
    sections = [_transport(run, out, ex, cell, step, size, depth)]
    hotspot = out / "hotspot"
    sections.append(_hotspot(run, out, ex, step, cell, quant, hotspot))
    return hotspot, sections


def _inscribed_square_um(quant: Path, voxel_um: float) -> float:
    """The side of the square inscribed in the disc of the cell's columns (meso quantify)."""
    import math

    columns = json.loads((quant / "quantify.json").read_text())["cell_columns"]
    diameter = 2 * math.sqrt(columns * voxel_um**2 / math.pi)
    return 0.95 * diameter / math.sqrt(2)


def _transport(
    run: Runner, out: Path, ex: Path, cell: Cell, step: Step, size: str, depth: str
) -> Section:
    """M of the whole electrolyte (fv and fe) and its interfacial and bulk parts, and the
    whole electrolyte against its isotropic twins over windows along the cell axis."""
    rows = [["region", "axis", "M conduction (fv)", "M conduction (fe)", "(fe - fv) / fv",
             "M elastic", "porosity"]]  # fmt: skip
    for region in ("electrolyte", *REGIONS):
        volume = str(ex / region / "subvolume.h5")
        conduct, elastic = out / "conduct_cell" / region, out / "elastic_cell" / region
        run("conduct (cell)", ["conduct", volume, "--method", "both", "--out", str(conduct)])
        run("elastic (cell)", ["elastic", volume, "--out", str(elastic)])
        c = json.loads((conduct / "conduction.json").read_text())
        e = json.loads((elastic / "elasticity.json").read_text())
        table = axis_table(c, [("fv", "M"), ("fe", "fe.M"), ("diff", "fe_minus_fv_relative")])
        for (axis, fv, fe, diff), (_, m_el) in zip(table[1:], axis_table(e, [("M", "M")])[1:],
                                                     strict=True):  # fmt: skip
            rows.append([region, axis, fv, fe, diff, m_el, c["volume_fractions"].get("pore", 0)])
    compare = out / "compare"
    run("compare", ["compare", str(ex / "electrolyte" / "subvolume.h5"), "--twins",
                    settings.TWINS[size], "--physics", "conduction,elasticity", "--workers", "2",
                    "--out", str(compare)])  # fmt: skip
    document = json.loads((compare / "compare.json").read_text())
    for item in document["volumes"]:
        for physics, entry in item["physics"].items():
            name = "tomogram" if item["kind"] == "volume" else f"twin (seed {item['seed']})"
            whole = entry["whole"]
            rows.append([f"{name}: {physics}", "x / y / z",
                         " / ".join(f"{whole[a]:.3f}" if whole[a] is not None else "-"
                                    for a in document["axes"]),
                         "", "", "anisotropy index", entry["anisotropy_index"]])  # fmt: skip
    return Section(
        "6. The electrolyte of the segmented cell: interfacial vs bulk, tomogram vs twins "
        "(meso extract, meso conduct, meso elastic, meso compare)",
        f"The pellet of {step.name} cut out of its U-Net labels (tomography does not resolve "
        f"grains: synthetic grains of the cell's {cell.record['config']['grain_size_um']:g} um "
        f"are overlaid on its solid; a square window inside the cell's disc), its {depth} um "
        "next to each interface and the bulk "
        "between; conductivity and modulus microstructure factors M along x, y, z, with the "
        "fv vs fe difference as the discretisation estimate; then the whole pellet against "
        f"{settings.TWINS[size]} isotropic synthetic twins of the same porosity and pore size "
        "(the study's Figure 4d).",
        rows,
        [Figure(compare / "compare.png", "M over windows marched along the cell axis, "
                "tomogram vs its isotropic twins, per axis (mean and min-max).")],
        csv="electrolyte_models",
    )  # fmt: skip


def _hotspot(
    run: Runner, out: Path, ex: Path, step: Step, cell: Cell, quant: Path, hotspot: Path
) -> Section:
    """Conduction through the contacting parts of the two interfaces; predicted vs measured."""
    electrolyte = ex / "electrolyte"
    interval = step.index - 1
    run("hotspot", ["hotspot", str(electrolyte / "subvolume.h5"),
                    "--contact-top", str(electrolyte / "contact_top.npy"),
                    "--contact-bottom", str(electrolyte / "contact_bottom.npy"),
                    "--measured", str(quant / "quantify.h5"), "--step", str(interval),
                    "--measured", str(step.scan), "--smooth-um", "1.3",
                    "--fields", "--out", str(hotspot)])  # fmt: skip
    document = json.loads((hotspot / "hotspot.json").read_text())
    rows = [["face", "contact fraction", "max / mean", "p99 / mean", "area above 2x mean"]]
    for face, f in document["faces"].items():
        rows.append([face, f["contact_fraction"], f.get("max_over_mean"),
                     f.get("p99_over_mean"), f.get("area_fraction_above_2x_mean")])  # fmt: skip
    figures = [
        Figure(
            hotspot / f"current_density_{face}.png",
            f"Interfacial current density on the {face} face, normalised by its mean.",
        )
        for face in ("bottom", "top")
    ]
    figures.append(
        Figure(
            hotspot / "flux_section.png",
            "Flux magnitude with streamlines on "
            "a section through the strongest spot (the study's Figure S3).",
        )
    )
    figures.append(
        Figure(
            hotspot / "comparison.png",
            "Predicted interfacial current density "
            "against the one measured from thickness changes (meso quantify) "
            "and the virtual cell's true map.",
        )
    )
    agreement = "; ".join(
        f"{'measured (meso quantify)' if c['kind'] == 'quantify' else 'true'} map, {face} face: "
        f"r = {v['pearson_r']:.2f}"
        for c in document.get("measured", {}).get("comparisons", [])
        for face, v in c["faces"].items()
    )  # fmt: skip
    return Section(
        "7. Flux around the hot spots (meso hotspot)",
        f"Conduction through the pellet of {step.name} where current enters and leaves only "
        "through the parts of each interface the lithium touches (contact maps from meso "
        f"extract); total current {document['current_A']:.3g} A at {document['bias_V']:g} V. "
        f"Predicted interfacial current against the interval ending at this step: {agreement}.",
        rows,
        figures,
        csv="hotspot",
    )  # fmt: skip
