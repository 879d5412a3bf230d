"""`meso segment otsu|autolabel|train|predict|evaluate`: reconstructions -> DESIGN labels, scored."""

from __future__ import annotations

import argparse
import json

from meso.cli import global_options
from meso.cli.common import non_negative_int, output_dir, positive_float, positive_int

REGIONS = ("top", "bottom", "electrolyte", "all")


def _common(p: argparse.ArgumentParser, volume: bool = True) -> None:
    global_options(p, suppress=True)  # --out, --quiet after the step's name too
    if volume:
        p.add_argument("volume", metavar="VOL", help="reconstruction (.h5/.zarr/.tif/.npy/.npz)")
        p.add_argument("--dataset", metavar="PATH", help="array inside VOL (default: volume)")
    p.add_argument(
        "--cell-axis",
        choices=("x", "y", "z"),
        default=None,
        help="Li|LLZO|Li stacking axis (default: from the file's metadata)",
    )


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "segment",
        help="segment reconstructions: Otsu, edge-based candidates, U-Net train/predict, evaluate",
        description="Turn a reconstruction into DESIGN labels (0 pore, 1 LLZO, 3 lithium, 4 "
        "collector): `otsu` (multi-level thresholds), `autolabel` (gradient watershed, candidate "
        "training labels to correct), `train` / `predict` (2-D U-Net with a ResNet encoder, "
        "MONAI, 2.5-D context), `evaluate` (IoU/Dice, pore fraction, confusion against truth). "
        "otsu, autolabel and predict write DIR/labels.h5 and DIR/segment.json.",
        epilog="example: meso segment train --images rec.h5 --labels truth.h5 --region top "
        "--out model; meso segment predict rec.h5 --model model --out unet",
    )
    steps = parser.add_subparsers(dest="segment_command", metavar="STEP", required=True)
    p = steps.add_parser("otsu", help="multi-level Otsu thresholds (the baseline)")
    _common(p)
    p.add_argument("--per-slice", action="store_true", help="thresholds per slice across z")
    p.set_defaults(func=run_threshold, method="otsu")
    p = steps.add_parser("autolabel", help="edge-based candidate labels (gradient + watershed)")
    _common(p)
    p.set_defaults(func=run_threshold, method="autolabel", per_slice=False)

    p = steps.add_parser("train", help="train a U-Net on reconstructions and their labels")
    p.add_argument("--images", nargs="+", required=True, metavar="VOL", help="reconstructions")
    p.add_argument("--labels", nargs="+", required=True, metavar="LABELS", help="one per image")
    p.add_argument(
        "--region",
        choices=REGIONS,
        default="all",
        help="train on the top/bottom Li electrode, the electrolyte or all (default)",
    )
    p.add_argument(
        "--slice-axis",
        choices=("auto", "x", "y", "z"),
        default="auto",
        help="2-D slices are taken across this axis (default auto: y, or x for a cell stacked "
        "along y, so that each slice holds the cell axis)",
    )
    p.add_argument(
        "--epochs", type=positive_int, default=60, help="epochs (default 60, early stopping)"
    )
    p.add_argument(
        "--batches", type=positive_int, default=16, help="batches per epoch (default 16)"
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=8, help="patches per batch (default 8)"
    )
    p.add_argument(
        "--patch", type=positive_int, default=96, help="patch edge in voxels (default 96)"
    )
    p.add_argument(
        "--encoder",
        default="resnet34",
        choices=("resnet18", "resnet34", "resnet50"),
        help="ResNet encoder of the U-Net, untrained (default resnet34)",
    )
    p.add_argument(
        "--context",
        type=non_negative_int,
        default=3,
        help="neighbouring slices each side as extra channels (default 3)",
    )
    p.add_argument(
        "--patience",
        type=positive_int,
        default=15,
        help="stop after this many epochs without a better pore Dice (default 15)",
    )
    p.add_argument(
        "--learning-rate", type=positive_float, default=3e-3, help="Adam step (default 3e-3)"
    )
    p.add_argument(
        "--normalisation",
        default="dataset",
        choices=("dataset", "scan-median", "scan-peaks"),
        help="grey standardisation: the training voxels' mean/std for every volume (default), or "
        "each volume's own median/MAD or two main histogram peaks (predict measures the volume)",
    )
    p.add_argument(
        "--decoder-channels",
        default=None,
        metavar="C1,...,C5",
        help="decoder widths (default MONAI's 256,128,64,32,16; smaller for tests)",
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=0, help="random seed (training is deterministic)"
    )
    p.add_argument(
        "--threads", type=positive_int, default=None, help="torch threads (default: CPUs)"
    )
    p.add_argument("--resume", action="store_true", help="continue from MODEL_DIR/last.pt")
    _common(p, volume=False)
    p.set_defaults(func=run_train)

    p = steps.add_parser("predict", help="label a reconstruction with a trained U-Net")
    _common(p)
    p.add_argument("--model", required=True, metavar="MODEL_DIR", help="folder from `train`")
    p.add_argument(
        "--batch-size", type=positive_int, default=4, help="slices per forward pass (default 4)"
    )
    p.add_argument("--device", default=None, help="torch device (default: cuda if seen, else cpu)")
    p.add_argument(
        "--threads", type=positive_int, default=None, help="torch threads (default: CPUs)"
    )
    p.set_defaults(func=run_predict)

    p = steps.add_parser("evaluate", help="score label files against ground truth")
    p.add_argument("predictions", nargs="+", metavar="PRED", help="label files (labels.h5, ...)")
    p.add_argument("--truth", required=True, metavar="LABELS", help="ground-truth labels")
    p.add_argument(
        "--region", choices=REGIONS, default="all", help="score only this region (default all)"
    )
    p.add_argument("--image", metavar="VOL", help="reconstruction shown under the overlay PNG")
    _common(p, volume=False)
    p.set_defaults(func=run_evaluate)
    return parser


def _channels(text: str | None) -> tuple[int, ...] | None:
    from meso.errors import InputError

    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 5 or min(values) < 1:
        raise InputError("--decoder-channels", f"expected five positive integers, got {text!r}")
    return values


def _report(args: argparse.Namespace, default: str, summary: dict) -> None:
    if not args.quiet:
        print(json.dumps({**summary, "out": args.out or default}))


def run_threshold(args: argparse.Namespace) -> int:
    from imaging.segment.files import threshold_file

    default = f"segment-{args.method}"
    out = output_dir(args, default, (args.volume,))
    s = threshold_file(
        args.volume,
        out,
        method=args.method,
        dataset=args.dataset,
        per_slice=args.per_slice,
        cell_axis=args.cell_axis,
    )
    _report(args, default, {"volume_fractions": s["volume_fractions"]})
    return 0


def run_train(args: argparse.Namespace) -> int:
    # The model folder is written in place, file by file atomically after every epoch, so that
    # a killed run leaves a consistent, resumable checkpoint (staging would discard it).
    from pathlib import Path

    from imaging.segment.train import TrainConfig, train
    from meso.errors import InputError

    model_dir = Path(args.out or "segment-model")
    if model_dir.exists() and not model_dir.is_dir():
        raise InputError(model_dir, "exists and is not a folder")
    config = TrainConfig(
        encoder=args.encoder,
        context=args.context,
        slice_axis=args.slice_axis,
        region=args.region,
        cell_axis=args.cell_axis,
        epochs=args.epochs,
        batches_per_epoch=args.batches,
        batch_size=args.batch_size,
        patch=args.patch,
        patience=args.patience,
        learning_rate=args.learning_rate,
        decoder_channels=_channels(args.decoder_channels),
        normalisation=args.normalisation,
        seed=args.seed,
        threads=args.threads,
    )
    record = train(
        args.images, args.labels, model_dir, config, resume=args.resume, progress=not args.quiet
    )
    _report(
        args,
        "segment-model",
        {
            "best_epoch": record["best_epoch"],
            "best_validation_pore_dice": record["best_validation_pore_dice"],
            "wall_seconds": record["wall_seconds"],
        },
    )
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from imaging.segment.predict import predict
    from meso.io.atomic import write_json

    out = output_dir(args, "segment-unet", (args.volume,))
    s = predict(
        args.volume,
        args.model,
        out / "labels.h5",
        dataset=args.dataset,
        batch_size=args.batch_size,
        device=args.device,
        threads=args.threads,
        cell_axis=args.cell_axis,
        progress=not args.quiet,
    )
    write_json(out / "segment.json", s)
    _report(
        args,
        "segment-unet",
        {
            k: s[k]
            for k in ("volume_fractions", "seconds_per_slice", "fraction_confidence_above_0.8")
        },
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from imaging.segment.files import evaluate_files

    out = output_dir(args, "segment-evaluation", (args.truth, *args.predictions))
    doc = evaluate_files(
        args.predictions,
        args.truth,
        out,
        region=args.region,
        cell_axis=args.cell_axis,
        image=args.image,
    )
    _report(
        args,
        "segment-evaluation",
        {
            n: {
                "pore_iou": d["per_class"].get("pore", {}).get("iou"),
                "pore_fraction_error": d["pore_fraction"]["error"],
            }
            for n, d in doc.items()
        },
    )
    return 0
