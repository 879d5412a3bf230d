"""Training the U-Net: sampled 2.5-D patches, Dice + CE, early stopping on validation pore Dice, resumable."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from imaging.segment.augment import augment
from imaging.segment.classes import PORE, class_names
from imaging.segment.losses import dice_ce_loss
from imaging.segment.model_files import (
    CHECKPOINT_FILE,
    architecture,
    build_network,
    load_tensors,
    read_model_json,
    save_model,
    save_tensors,
)
from imaging.segment.slices import STRIDE, context_stack, normalise, pad_to_stride
from imaging.segment.training_data import TrainingData, load_training_data
from meso.errors import InputError
from meso.io.atomic import write_json


@dataclass
class TrainConfig:
    """The training protocol (defaults: the study's, sized for 2 CPU cores; see README)."""

    encoder: str = "resnet34"
    decoder_channels: tuple[int, ...] | None = None
    context: int = 3
    slice_axis: str = "auto"
    region: str = "all"
    cell_axis: str | None = None
    epochs: int = 60
    batches_per_epoch: int = 16
    batch_size: int = 8
    patch: int = 96
    learning_rate: float = 3e-3
    validation_fraction: float = 0.2
    patience: int = 15
    min_epochs: int = 20
    pore_sampling: float = 0.5
    normalisation: str = "dataset"  # or "scan-median", "scan-peaks" (slices.NORMALISATIONS)
    seed: int = 0
    threads: int | None = None


def set_threads(threads: int | None) -> int:
    """torch threads: the CPU count at most."""
    n = max(1, min(threads or os.cpu_count() or 1, os.cpu_count() or 1))
    torch.set_num_threads(n)
    return n


def _patch(data: TrainingData, sample: tuple[int, int], config: TrainConfig, rng) -> tuple:
    """One (channels, P, P) image, (P, P) target and mask, cut from the sample's crop box
    (centred on a pore voxel with probability `pore_sampling`) and padded where it leaves it."""
    pair = data.pairs[sample[0]]
    k, size = sample[1], config.patch
    r0, r1, c0, c1 = pair.box
    mask = pair.mask[k]
    pores = np.argwhere((pair.target[k] == data.classes.index(PORE)) & mask)
    if len(pores) and rng.random() < config.pore_sampling:
        cr, cc = pores[rng.integers(len(pores))]
        top, left = cr - size // 2, cc - size // 2
    else:
        top = rng.integers(r0, max(r0, r1 - size) + 1)
        left = rng.integers(c0, max(c0, c1 - size) + 1)
    n_rows, n_cols = mask.shape
    top, left = (
        int(np.clip(top, 0, max(0, n_rows - size))),
        int(np.clip(left, 0, max(0, n_cols - size))),
    )
    rows, cols = slice(top, top + size), slice(left, left + size)
    image = context_stack(pair.image, k, 1, config.context)[0][:, rows, cols]
    target, keep = pair.target[k][rows, cols], mask[rows, cols]
    pad = ((0, size - target.shape[0]), (0, size - target.shape[1]))
    if pad[0][1] or pad[1][1]:
        image = np.pad(image, ((0, 0), *pad), mode="edge")
        target, keep = np.pad(target, pad, mode="edge"), np.pad(keep, pad)
    image = normalise(image, pair.stats)
    return augment(image, target, keep.astype(np.float32), rng)


def _batch(data: TrainingData, config: TrainConfig, rng) -> tuple[torch.Tensor, ...]:
    picks = rng.integers(len(data.train), size=config.batch_size)
    parts = [_patch(data, data.train[i], config, rng) for i in picks]
    return tuple(torch.from_numpy(np.stack(p)) for p in zip(*parts, strict=True))


@torch.inference_mode()
def validate(network, data: TrainingData, config: TrainConfig) -> dict[str, float]:
    """Dice per class over the validation slices' region voxels inside the cell (hard labels)."""
    network.eval()
    n = len(data.classes)
    tp, fp, fn = np.zeros(n), np.zeros(n), np.zeros(n)
    for p, k in data.validation:
        pair = data.pairs[p]
        r0, r1, c0, c1 = pair.box
        image = normalise(
            context_stack(pair.image, k, 1, config.context)[:, :, r0:r1, c0:c1], pair.stats
        )
        padded, (a, b) = pad_to_stride(image)
        predicted = network(torch.from_numpy(padded)).argmax(1)[0, :a, :b].numpy()
        truth, keep = pair.target[k][r0:r1, c0:c1], pair.score_mask[k][r0:r1, c0:c1]
        for c in range(n):
            pc, tc = (predicted == c) & keep, (truth == c) & keep
            tp[c] += np.count_nonzero(pc & tc)
            fp[c] += np.count_nonzero(pc & ~tc)
            fn[c] += np.count_nonzero(~pc & tc)
    dice = np.where(tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 1.0)
    return dict(zip(class_names(data.classes), dice.tolist(), strict=True))


def train(
    images: list[str | os.PathLike],
    labels: list[str | os.PathLike],
    model_dir: str | os.PathLike,
    config: TrainConfig,
    *,
    resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a U-Net on (reconstruction, labels) pairs and write the model folder.

    The folder holds ``weights.pt`` (the best epoch by validation pore Dice), ``model.json``
    (architecture, normalisation, classes, slice axis, provenance, metrics per epoch) and
    ``last.pt`` (weights, optimiser and epoch of the latest epoch, for ``resume``). Files are
    replaced atomically after every epoch, so a killed run can be resumed. Every epoch reseeds
    numpy and torch from (seed, epoch): the same seed gives the same model, resumed or not.
    Returns model.json's dict.
    """
    t0 = time.perf_counter()
    model_dir = Path(model_dir)
    if min(config.epochs, config.batch_size, config.batches_per_epoch) < 1:
        raise InputError("--epochs", "epochs, batches and batch size must be >= 1")
    if config.patch < STRIDE or config.patch % STRIDE:
        raise InputError("--patch", f"must be a multiple of {STRIDE}, got {config.patch}")
    if config.context < 0:
        raise InputError("--context", f"must be >= 0, got {config.context}")
    threads = set_threads(config.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    data = load_training_data(
        images,
        labels,
        region=config.region,
        slice_axis=config.slice_axis,
        cell_axis=config.cell_axis,
        validation_fraction=config.validation_fraction,
        normalisation=config.normalisation,
    )
    arch = architecture(
        config.encoder, 2 * config.context + 1, len(data.classes), config.decoder_channels
    )
    torch.manual_seed(config.seed)
    network = build_network(arch)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    record: dict[str, Any] = {
        "architecture": arch,
        "classes": data.classes,
        "class_names": class_names(data.classes),
        "context": config.context,
        "slice_axis": data.slice_axis,
        "cell_axis": data.cell_axis,
        "normalisation": data.stats,
        "training": {
            "data": data.provenance,
            "config": asdict(config),
            "threads": threads,
            "train_slices": len(data.train),
            "validation_slices": len(data.validation),
            "torch_version": torch.__version__,
        },
        "metrics": [],
        "best_epoch": None,
        "best_validation_pore_dice": None,
    }
    start = 0
    if resume and (model_dir / CHECKPOINT_FILE).is_file():
        previous = read_model_json(model_dir)
        mode = previous["normalisation"].get("mode", "dataset")
        if (
            previous["architecture"] != arch
            or previous["classes"] != data.classes
            or mode != config.normalisation
        ):
            raise InputError(model_dir, "--resume: the model folder was trained with another setup")
        state = load_tensors(model_dir / CHECKPOINT_FILE)
        network.load_state_dict(state["network"])
        optimiser.load_state_dict(state["optimiser"])
        start = int(state["epoch"]) + 1
        record.update(
            {
                k: previous[k]
                for k in ("metrics", "best_epoch", "best_validation_pore_dice", "weights_sha256")
                if k in previous
            }
        )
    best = (
        record["best_validation_pore_dice"]
        if record["best_validation_pore_dice"] is not None
        else -1.0
    )
    bar = tqdm(
        total=(config.epochs - start) * config.batches_per_epoch,
        desc="train",
        disable=not progress,
        delay=2,
    )
    stopped_early = False
    for epoch in range(start, config.epochs):
        # pores are found late (after ~100 batches on the phantom): no stopping before one is
        waited = epoch + 1 - (record["best_epoch"] or 0)
        if best > 0 and epoch >= config.min_epochs and waited > config.patience:
            stopped_early = True
            break
        tic = time.perf_counter()
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 100_003 + epoch)
        network.train()
        losses = []
        for _ in range(config.batches_per_epoch):
            image, target, mask = _batch(data, config, rng)
            loss = dice_ce_loss(network(image), target, mask)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            bar.set_postfix(
                epoch=epoch + 1, loss=f"{losses[-1]:.3f}", pore_dice=f"{max(best, 0):.3f}"
            )
            bar.update(1)
        dice = validate(network, data, config)
        record["metrics"].append(
            {
                "epoch": epoch + 1,
                "loss": float(np.mean(losses)),
                "validation_dice": dice,
                "seconds": time.perf_counter() - tic,
            }
        )
        model_dir.mkdir(parents=True, exist_ok=True)
        if dice["pore"] > best:
            best = dice["pore"]
            record.update(best_epoch=epoch + 1, best_validation_pore_dice=best)
            save_model(model_dir, network, record)
        else:
            write_json(model_dir / "model.json", {**read_model_json(model_dir), **record})
        save_tensors(
            model_dir / CHECKPOINT_FILE,
            {"network": network.state_dict(), "optimiser": optimiser.state_dict(), "epoch": epoch},
        )
    bar.close()
    final = {
        **read_model_json(model_dir),
        **record,
        "stopped_early": stopped_early,
        "wall_seconds": time.perf_counter() - t0,
    }
    write_json(model_dir / "model.json", final)
    return json.loads(json.dumps(final, default=str))
