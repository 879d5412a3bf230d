"""U-Net vs Otsu on the virtual cell, the study's protocol: train on one cycling step, test on both
electrodes of every step (phantom -> Paganin reconstruction -> segmentation -> scores against the
phantom's true labels); writes the acceptance table of issue 15 (README, meso segment).

    .venv/bin/python examples/segment_virtual_cell.py --out segment-example --threads 1   # 48^3
    .venv/bin/python examples/segment_virtual_cell.py --out seg96 --size 96 --angles 180
    .venv/bin/python examples/segment_virtual_cell.py --out seg-top --train-region top

Defaults: the 48^3 cell of `meso demo --quick` (90 angles, phantom seed 1); one model per training
seed (0, 1, 2) trained on both electrodes of step 2 (the top one stripped: voids at its interface;
the bottom one plated: lithium on LLZO) with `meso segment train`'s slice axis and context and the
demo's small network. Rows of the step and electrodes trained on are marked; every other row is a
test. About 1 min per model on 2 CPU cores at load 6-9 with `--threads 1` (torch's two threads
spin against each other on a loaded machine: 4x slower there), plus ~1 min for the phantom and
reconstructions; `--data DIR` reuses a phantom folder of an earlier run. Writes table.md,
evaluation.json, the model folders and the U-Net labels of every step and seed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import h5py
import numpy as np

from imaging.io_dxchange import open_dxchange
from imaging.phantom.experiment import PhantomConfig, run_phantom
from imaging.phantom.forward import BeamlineSettings
from imaging.reconstruction.volume import ReconstructionSettings, reconstruct_to_file
from imaging.segment import evaluate, otsu
from imaging.segment.predict import predict
from imaging.segment.regions import region_mask
from imaging.segment.train import TrainConfig, train
from meso.io.volumes import load


def make_data(folder: Path, size: int, angles: int, seed: int) -> list[dict]:
    """The phantom (pristine + one cycle) and Paganin reconstructions (LLZO's delta/beta)."""
    if not (folder / "phantom.json").is_file():
        beamline = BeamlineSettings(n_angles=angles, distance_m=0.02, seed=seed)
        run_phantom(
            folder, PhantomConfig(shape=(size,) * 3, beamline=beamline, seed=seed), progress=False
        )
    record = json.loads((folder / "phantom.json").read_text())
    settings = ReconstructionSettings(
        phase=True,
        energy_kev=record["config"]["beamline"]["energy_kev"],
        distance_m=record["config"]["beamline"]["distance_m"],
        delta_beta=record["delta_beta"]["grain"],
        pixel_size_um=record["config"]["voxel_size_um"],
    )
    for step in record["steps"]:
        step["reconstruction"] = folder / "rec" / step["file"]
        step["labels_path"] = folder / step["labels_file"]
        if not step["reconstruction"].is_file():
            with open_dxchange(folder / step["file"]) as source:
                reconstruct_to_file(source, step["reconstruction"], settings, progress=False)
    return record["steps"]


def _spread(values: list[float], fmt: str) -> str:
    """median [min, max] over seeds (the value alone for one seed)."""
    text = format(float(np.median(values)), fmt)
    return text if len(values) == 1 else f"{text} [{min(values):{fmt}}, {max(values):{fmt}}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="segment-example")
    parser.add_argument("--data", help="phantom folder to reuse (default OUT/phantom)")
    parser.add_argument("--size", type=int, default=48, help="phantom edge in voxels")
    parser.add_argument("--angles", type=int, default=90, help="projections per scan")
    parser.add_argument("--phantom-seed", type=int, default=1)
    parser.add_argument("--train-step", type=int, default=2, help="step index to train on")
    parser.add_argument("--train-region", default="all", choices=("top", "bottom", "all"))
    parser.add_argument("--slice-axis", default=TrainConfig.slice_axis)
    parser.add_argument("--context", type=int, default=TrainConfig.context)
    parser.add_argument("--encoder", default="resnet18")
    parser.add_argument("--decoder-channels", default="64,32,16,16,8")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--patch", type=int, default=32)
    parser.add_argument(
        "--normalisation",
        default=TrainConfig.normalisation,
        choices=("dataset", "scan-median", "scan-peaks"),
        help="grey standardisation: training set's mean/std, or each scan's own statistics",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 under load)")
    args = parser.parse_args()
    out = Path(args.out)
    steps = make_data(Path(args.data or out / "phantom"), args.size, args.angles, args.phantom_seed)
    trained_on = steps[args.train_step]
    load_before = os.getloadavg()[0]
    scores: dict[str, dict] = {}  # "step/region" -> {"otsu": ..., "unet": [per seed]}
    seconds, models = [], []
    for seed in args.seeds:
        config = TrainConfig(
            encoder=args.encoder,
            decoder_channels=tuple(int(c) for c in args.decoder_channels.split(",")),
            context=args.context,
            slice_axis=args.slice_axis,
            region=args.train_region,
            epochs=args.epochs,
            batches_per_epoch=args.batches,
            patch=args.patch,
            patience=30,
            normalisation=args.normalisation,
            seed=seed,
            threads=args.threads,
        )
        model_dir = out / f"model_seed{seed}"
        tic = time.perf_counter()
        models.append(
            train(
                [trained_on["reconstruction"]],
                [trained_on["labels_path"]],
                model_dir,
                config,
                progress=False,
            )
        )
        seconds.append(time.perf_counter() - tic)
        for step in steps:
            rec = step["reconstruction"]
            labels_path = out / f"{rec.stem}_unet_seed{seed}.h5"
            predict(rec, model_dir, labels_path, threads=args.threads, progress=False)
            truth = load(step["labels_path"]).labels
            with h5py.File(rec) as fh:
                grey = fh["volume"][()]
            with h5py.File(labels_path) as fh:
                unet = fh["labels"][()]
            for region in ("bottom", "top"):
                mask = region_mask(truth, "z", region)
                entry = scores.setdefault(
                    f"{step['index']} {step['name']}/{region}",
                    {"otsu": evaluate({"otsu": otsu(grey)}, truth, mask=mask)["otsu"], "unet": []},
                )
                entry["unet"].append(evaluate({"unet": unet}, truth, mask=mask)["unet"])
    rows, wins = [], []
    for key, entry in scores.items():
        name, region = key.split("/")
        o = entry["otsu"]
        iou = [u["per_class"]["pore"]["iou"] for u in entry["unet"]]
        err = [u["pore_fraction"]["error"] for u in entry["unet"]]
        better_iou = sum(i > o["per_class"]["pore"]["iou"] for i in iou)
        better_err = sum(abs(e) < abs(o["pore_fraction"]["error"]) for e in err)
        trained = name.startswith(f"{args.train_step} ") and args.train_region in (region, "all")
        if not trained:
            wins.append(better_iou + better_err == 2 * len(iou))
        rows.append(
            f"| {name} | {region} | {'trained' if trained else 'test'} "
            f"| {o['pore_fraction']['true']:.3f} | {_spread(iou, '.3f')} "
            f"| {o['per_class']['pore']['iou']:.3f} | {_spread(err, '+.3f')} "
            f"| {o['pore_fraction']['error']:+.3f} | {better_iou}/{len(iou)} / {better_err}/{len(err)} |"
        )
    header = [
        "| step | electrode | role | true pore fraction | pore IoU U-Net | pore IoU Otsu "
        "| pore-fraction error U-Net | pore-fraction error Otsu | seeds U-Net better (IoU / error) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    footer = (
        f"\n{args.size}^3 cell, {args.angles} angles, phantom seed {args.phantom_seed}; trained on "
        f"step {args.train_step} region {args.train_region}, slices across "
        f"{models[0]['slice_axis']}, context {args.context}, {args.encoder} decoder "
        f"{args.decoder_channels}, normalisation {args.normalisation}, {args.epochs} x {args.batches} batches of "
        f"{TrainConfig.batch_size} patches of {args.patch}^2, seeds {args.seeds} (U-Net: median "
        f"[min, max]): {np.median(seconds):.0f} s per model (best epochs "
        f"{[m['best_epoch'] for m in models]}); U-Net better on both scores for every seed in "
        f"{sum(wins)} of {len(wins)} test rows; load average {load_before:.1f} before / "
        f"{os.getloadavg()[0]:.1f} after on {os.cpu_count()} CPUs\n"
    )
    table = "\n".join(header + rows) + "\n" + footer
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table)
    (out / "evaluation.json").write_text(json.dumps(scores, indent=2, default=str))
    print(table)


if __name__ == "__main__":
    main()
