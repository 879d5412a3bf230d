"""The demo's imaging stages on the virtual cell: cycle and scan it (meso phantom), reconstruct
every step, segment (Otsu and a briefly trained U-Net) and quantify, each against the truth."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from meso.cli.demo import figures, settings
from meso.cli.demo.runner import Runner
from meso.io.report import Figure, Section

ELECTRODES = ("bottom", "top")


@dataclass
class Step:
    """One cycling step of the virtual cell and the files the pipeline made of it."""

    index: int
    name: str  # step_NN_NAME
    time_hours: float
    stripped: str | None  # the electrode stripped during the interval ending here
    scan: Path
    truth: Path  # the true labels
    recon: Path
    otsu: Path
    unet: Path


@dataclass
class Cell:
    """The virtual cell's steps, its phantom.json, voxel size and the U-Net's training step."""

    steps: list[Step]
    record: dict
    voxel_um: float
    train_step: Step

    @property
    def test_step(self) -> Step:
        """The first stripped step the U-Net was not trained on: the one modelled downstream."""
        return next(s for s in self.steps if s.stripped and s is not self.train_step)


def virtual_cell(run: Runner, out: Path, size: str, seed: str) -> tuple[Cell, Section]:
    """meso phantom: the Li|LLZO|Li cell cycled (pristine, stripping one electrode then the other)
    and scanned at each step."""
    phantom = out / "phantom"
    run("phantom", ["phantom", *settings.PHANTOM[size], "--seed", seed, "--out", str(phantom)])
    record = json.loads((phantom / "phantom.json").read_text())
    steps = []
    for s in record["steps"]:
        name = Path(s["file"]).stem
        stripped = None if s["index"] == 0 else ("bottom" if s["strip_bottom"] else "top")
        recon = out / "reconstruct" / name / f"{name}.h5"
        steps.append(Step(s["index"], name, float(s["time_hours"]), stripped, phantom / s["file"],
                          phantom / s["labels_file"], recon, out / "segment" / f"otsu_{name}" /
                          "labels.h5", out / "segment" / f"unet_{name}" / "labels.h5"))  # fmt: skip
    voxel = float(record["config"]["voxel_size_um"])
    # the study's protocol: train on one step, test on the others
    cell = Cell(steps, record, voxel, train_step=steps[-1])
    rows = [["step", "time (h)", "electrode stripped", "true Li thickness bottom (um)",
             "true Li thickness top (um)", "true void fraction near bottom interface",
             "true void fraction near top interface"]] + [
        [st.name, st.time_hours, st.stripped or "-", s["li_thickness_bottom_um_mean"],
         s["li_thickness_top_um_mean"], s["void_fraction_near_bottom_interface"],
         s["void_fraction_near_top_interface"]]
        for st, s in zip(steps, record["steps"], strict=True)
    ]  # fmt: skip
    shape = "x".join(map(str, record["config"]["shape"]))
    text = (
        f"A virtual Li|LLZO|Li cell of {shape} voxels of {voxel:g} um (cell axis z): steel "
        f"collectors, lithium electrodes and a {record['pellet_porosity']:.1%}-porous LLZO pellet "
        f"with {record['n_grains']} grains. Each step strips lithium from one electrode and "
        f"plates it on the other with a current density that has "
        f"{len(record['hot_spots_xy_um'])} hot spots of radius {record['hot_spot_radius_um']:g} um; "
        "voids open where stripping is fastest. Every step is scanned at 76.2 keV with "
        "propagation phase contrast, photon noise and detector stripes (Data Exchange files)."
    )
    return cell, Section("1. Virtual cell, cycled and scanned (meso phantom)", text, rows,
                         csv="virtual_cell")  # fmt: skip


def reconstruct(run: Runner, out: Path, cell: Cell) -> Section:
    """meso reconstruct every step with Paganin retrieval tuned to LLZO."""
    import h5py

    delta_beta = f"{cell.record['delta_beta']['grain']:.4g}"
    for step in cell.steps:
        run("reconstruct", ["reconstruct", str(step.scan), "--phase", "--delta-beta", delta_beta,
                            "--out", str(step.recon)])  # fmt: skip
    rows = [["step", "correlation with the true attenuation"]]
    panels = []
    for step in cell.steps:
        with h5py.File(step.scan, "r") as f:
            truth = f["ground_truth/attenuation_per_m"][()]
        with h5py.File(step.recon, "r") as f:
            recon = f["volume"][()]
        rows.append([step.name, figures.pearson(truth, recon)])
        panels.append((step.name, truth, recon))
    figure = figures.scans_vs_truth(panels, cell.voxel_um, step.recon.parent.parent / "scans.png")
    centre = sorted(cell.steps[-1].recon.parent.glob("*.png"))
    return Section(
        "2. Reconstruction (meso reconstruct)",
        "Flat/dark normalisation, ring removal (sorting), Paganin phase retrieval "
        f"(delta/beta = {delta_beta}, LLZO), rotation centre search and filtered "
        "back-projection, for every step. Lithium and pores differ little in attenuation at "
        "76.2 keV: the reconstruction is noisy where it matters, as in the study.",
        rows,
        [Figure(figure, "True attenuation (left) and reconstruction (right) of every step on "
                "the mid plane through the cell axis; r is the voxel-wise Pearson correlation."),
         *[Figure(p, "Rotation-centre search of the last step.") for p in centre]],
        csv="reconstruction",
    )  # fmt: skip


def segment(run: Runner, out: Path, cell: Cell, size: str, seed: str) -> Section:
    """Otsu on every step; a U-Net trained on one step (its true labels), applied to all; both
    scored against the true labels in each electrode."""
    seg = out / "segment"
    model = seg / "unet_model"
    for step in cell.steps:
        run("segment otsu", ["segment", "otsu", str(step.recon), "--out", str(step.otsu.parent)])
    train = cell.train_step
    run("segment train", ["segment", "train", "--images", str(train.recon), "--labels",
                          str(train.truth), "--region", "all", *settings.TRAIN[size],
                          "--seed", seed, "--out", str(model)])  # fmt: skip
    rows = [["step", "electrode", "method", "pore IoU", "pore Dice", "pore fraction true",
             "pore fraction error"]]  # fmt: skip
    shown = []
    for step in cell.steps:
        run("segment predict", ["segment", "predict", str(step.recon), "--model", str(model),
                                "--out", str(step.unet.parent)])  # fmt: skip
        for electrode in ELECTRODES:
            folder = seg / f"evaluate_{step.name}_{electrode}"
            run("segment evaluate", ["segment", "evaluate", str(step.unet), str(step.otsu),
                                     "--truth", str(step.truth), "--region", electrode,
                                     "--image", str(step.recon), "--out", str(folder)])  # fmt: skip
            scores = json.loads((folder / "evaluation.json").read_text())
            for method, key in (("U-Net", step.unet.parent.name), ("Otsu", step.otsu.parent.name)):
                s = scores[key]
                rows.append([step.name, electrode, method, s["per_class"]["pore"]["iou"],
                             s["per_class"]["pore"]["dice"], s["pore_fraction"]["true"],
                             s["pore_fraction"]["error"]])  # fmt: skip
            if electrode == (step.stripped or "top"):
                shown.append(Figure(folder / "evaluation.png", f"{step.name}, {electrode} "
                                    "electrode: true labels, U-Net and Otsu (pores in red)."))  # fmt: skip
    model_record = json.loads((model / "model.json").read_text())
    encoder = model_record["architecture"]["backbone"]
    return Section(
        "3. Segmentation (meso segment)",
        f"Otsu thresholding (the baseline) and a U-Net ({encoder} encoder) trained briefly on "
        f"one step ({train.name}, its true labels, settings {' '.join(settings.TRAIN[size])}) "
        "and applied to every step; both are scored against the true labels within each "
        "electrode. The study found that Otsu labels false pores in pristine lithium and misses "
        "voids after stripping; a briefly trained network on a small cell does not reach the "
        "study's accuracy either, which is why every number downstream is shown next to the "
        "one computed from the true labels.",
        rows,
        shown,
        csv="segmentation",
    )


def quantify(run: Runner, out: Path, cell: Cell) -> tuple[Path, list[Section]]:
    """meso quantify on the U-Net labels and, as the reference, on the true labels; the
    recovered current-density maps of the stripping electrode against the true map."""
    import h5py

    recon = [str(s.recon) for s in cell.steps]
    times = ["--times-hours", ",".join(f"{s.time_hours:g}" for s in cell.steps)]
    quant, quant_true = out / "quantify", out / "quantify_true_labels"
    run("quantify", ["quantify", *recon, "--labels", *[str(s.unet) for s in cell.steps],
                     *times, "--out", str(quant)])  # fmt: skip
    # the reference for thickness and current maps; its tortuosity would repeat the U-Net's
    run("quantify", ["quantify", *recon, "--labels", *[str(s.truth) for s in cell.steps],
                     *times, "--no-tortuosity", "--out", str(quant_true)])  # fmt: skip
    found = {k: json.loads((q / "quantify.json").read_text())
             for k, q in (("U-Net", quant), ("true labels", quant_true))}  # fmt: skip
    rows = [["step", "electrode", "band porosity (U-Net)", "band porosity (true labels)",
             "mean thickness (U-Net, um)", "mean thickness (true labels, um)",
             "true mean thickness (um)"]]  # fmt: skip
    for k, step in enumerate(cell.steps):
        truth = cell.record["steps"][k]
        for electrode in ELECTRODES:
            rows.append([step.name, electrode] + [
                found[m]["electrodes"][electrode][key][k]
                for key in ("band_porosity", "mean_thickness_um") for m in found
            ] + [truth[f"li_thickness_{electrode}_um_mean"]])  # fmt: skip
    panels, corr_rows = [], [["interval", "electrode stripped", "r (U-Net labels)",
                              "r (true labels)"]]  # fmt: skip
    for k, step in enumerate(cell.steps[1:]):
        with h5py.File(step.scan, "r") as f:
            truth = f["ground_truth/current_density_uA_per_cm2"][()]
        recovered = []
        for name, q in (("U-Net labels", quant), ("true labels", quant_true)):
            with h5py.File(q / "quantify.h5", "r") as f:
                j = f[f"electrodes/{step.stripped}/current_density_uA_per_cm2"][k]
            recovered.append((f"recovered, {name}", -j))  # stripping: j < 0 where Li leaves
        interval = f"{cell.steps[k].name} -> {step.name}"
        corr_rows.append([interval, step.stripped] +
                         [figures.pearson(j, truth) for _, j in recovered])  # fmt: skip
        panels.append((f"{step.stripped} electrode, {k} -> {k + 1}", truth, recovered))
    current = figures.current_maps(panels, cell.voxel_um, quant / "current_vs_truth.png")
    captions = {
        "porosity_profiles.png": "Electrode porosity within 10 um of the interface against "
        "time, normalised to the first step (the study's Figure 2b), and each step's depth "
        "profile from the interface to the collector (Figure S5b).",
        "pore_density_difference_bottom.png": "Pore-density difference maps between "
        "successive steps, bottom electrode (Figure 2c,d).",
        "pore_density_difference_top.png": "Pore-density difference maps, top electrode.",
        "thickness_bottom.png": "Lithium thickness maps of the bottom electrode per step.",
        "thickness_top.png": "Lithium thickness maps of the top electrode per step.",
        "current_density_bottom.png": "Current density from the thickness change, "
        "j = (t2 - t1) F / (dt V_Li), bottom electrode (Figure 3); positive where it grew.",
        "current_density_top.png": "Current density from the thickness change, top electrode.",
        "subsurface_porosity.png": "Electrolyte porosity through the pellet at each lateral "
        "position, per step.",
        "electrolyte_profile.png": "Electrolyte porosity against height above the bottom "
        "interface, normalised to the pellet's (Figure 4a-b).",
        "tortuosity_factor.png": "Electrolyte tortuosity factor over lateral windows of the "
        "interfacial slabs, normalised to a dense window (Figure 4c).",
    }
    shown = [Figure(quant / name, f"{text} From the U-Net labels.")
             for name, text in captions.items() if (quant / name).exists()]  # fmt: skip
    summary = "; ".join(f"{r[0]} ({r[1]} stripped): r = {r[2]:.2f} with the U-Net labels, "
                        f"{r[3]:.2f} with the true labels" for r in corr_rows[1:])  # fmt: skip
    return quant, [
        Section(
            "4. Quantification over the cycling steps (meso quantify)",
            "Electrode porosity in the 10 um band next to the interface, thickness, pore-density "
            "and current-density maps, electrolyte porosity and tortuosity, from the U-Net "
            "labels and, to isolate the quantification from the segmentation, from the true "
            "labels; the true mean thickness comes from the virtual cell.",
            rows,
            shown,
            csv="quantification",
        ),
        Section(
            "5. Current density from thickness changes against the truth",
            f"Pearson r between the recovered and the true stripping current density: {summary}.",
            corr_rows,
            [Figure(current, "The electrode stripped in each interval: the true current "
                    "density, and the maps recovered from the thickness change "
                    "j = (t2 - t1) F / (dt V_Li) with the U-Net labels and with the true labels, "
                    "on the truth's colour scale.")],
            csv="current_density_vs_truth",
        ),
    ]  # fmt: skip
