"""U-Net vs Otsu on the virtual cell, the study's protocol: train on the top electrode of one step
(`--train-step`, default 0 = pristine; several steps: one model on all of them), test on both
electrodes of every step (phantom -> Paganin reconstruction -> segmentation -> scores against the
phantom's true labels).

    .venv/bin/python examples/segment_virtual_cell.py --out segment-example        # 96^3, default U-Net
    .venv/bin/python examples/segment_virtual_cell.py --out segment-example --train-step 2

On 2 quiet CPU cores the phantom and reconstructions take ~2 min and the default training
(ResNet34, 60 epochs of 16 batches of 8 patches of 96^2) about 5 min at ~5 s an epoch (16 min
measured on a machine shared at load 2-7); `--data DIR` reuses a phantom folder of an earlier run.
Writes table.md, evaluation.json, the model folder and the U-Net labels of every step.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import h5py

from imaging.io_dxchange import open_dxchange
from imaging.phantom.experiment import PhantomConfig, run_phantom
from imaging.reconstruction.volume import ReconstructionSettings, reconstruct_to_file
from imaging.segment import evaluate, otsu
from imaging.segment.predict import predict
from imaging.segment.regions import region_mask
from imaging.segment.train import TrainConfig, train
from meso.io.volumes import load


def make_data(folder: Path, size: int) -> list[dict]:
    """The phantom (pristine + one cycle) and Paganin reconstructions (LLZO's delta/beta)."""
    if not (folder / "phantom.json").is_file():
        run_phantom(folder, PhantomConfig(shape=(size,) * 3), progress=False)
    record = json.loads((folder / "phantom.json").read_text())
    settings = ReconstructionSettings(
        phase=True,
        energy_kev=76.2,
        distance_m=0.02,
        delta_beta=round(record["delta_beta"]["grain"]),
        pixel_size_um=record["config"]["voxel_size_um"],
    )
    for step in record["steps"]:
        step["reconstruction"] = folder / "rec" / step["file"]
        if not step["reconstruction"].is_file():
            with open_dxchange(folder / step["file"]) as source:
                reconstruct_to_file(source, step["reconstruction"], settings, progress=False)
    return record["steps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="segment-example")
    parser.add_argument("--data", help="phantom folder to reuse (default OUT/phantom)")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--encoder", default=TrainConfig.encoder)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-step", type=int, nargs="+", default=[0], help="steps to train on")
    parser.add_argument("--resume", action="store_true", help="continue OUT/model (or stop there)")
    args = parser.parse_args()
    out = Path(args.out)
    steps = make_data(Path(args.data or out / "phantom"), args.size)
    load_before = os.getloadavg()[0]
    tic = time.perf_counter()
    model = train(
        [steps[i]["reconstruction"] for i in args.train_step],
        [
            steps[i]["reconstruction"].parent.parent / steps[i]["labels_file"]
            for i in args.train_step
        ],
        out / "model",
        TrainConfig(encoder=args.encoder, region="top", epochs=args.epochs, seed=args.seed),
        resume=args.resume,
    )
    train_seconds = time.perf_counter() - tic
    rows, results = [], {}
    for step in steps:
        rec = step["reconstruction"]
        segment = predict(rec, out / "model", out / f"{rec.stem}_unet.h5", progress=False)
        truth = load(rec.parent.parent / step["labels_file"]).labels
        with h5py.File(rec) as fh:
            grey = fh["volume"][()]
        with h5py.File(out / f"{rec.stem}_unet.h5") as fh:
            unet = fh["labels"][()]
        predictions = {"unet": unet, "otsu": otsu(grey)}
        for region in ("top", "bottom"):
            scores = evaluate(predictions, truth, mask=region_mask(truth, "z", region))
            results[f"{step['name']}/{region}"] = scores
            u, o = scores["unet"], scores["otsu"]
            trained = step["index"] in args.train_step and region == "top"
            rows.append(
                f"| {step['name']} | {region}{' (trained)' if trained else ''} "
                f"| {u['pore_fraction']['true']:.3f} "
                f"| {u['per_class']['pore']['iou']:.3f} | {o['per_class']['pore']['iou']:.3f} "
                f"| {u['pore_fraction']['error']:+.3f} | {o['pore_fraction']['error']:+.3f} |"
            )
        results[f"{step['name']}/segment"] = segment
    header = [
        "| step | electrode | true pore fraction | pore IoU U-Net | pore IoU Otsu "
        "| pore-fraction error U-Net | pore-fraction error Otsu |",
        "|---|---|---|---|---|---|---|",
    ]
    footer = (
        f"\ntraining {train_seconds:.0f} s ({model['best_epoch']} best of {len(model['metrics'])} epochs, "
        f"encoder {args.encoder}), inference {segment['seconds_per_slice']:.3f} s per "
        f"{args.size}^2 slice, load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after, "
        f"{os.cpu_count()} CPUs\n"
    )
    table = "\n".join(header + rows) + "\n" + footer
    (out / "table.md").write_text(table)
    (out / "evaluation.json").write_text(json.dumps(results, indent=2, default=str))
    print(table)


if __name__ == "__main__":
    main()
