"""The U-Net and its model folder: weights (a tensor state dict) + model.json, loaded without running code."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from meso.errors import InputError
from meso.io.atomic import atomic_path, write_json

MODEL_FORMAT = "meso-segment-unet/1"
WEIGHTS_FILE = "weights.pt"
CHECKPOINT_FILE = "last.pt"
ENCODERS = ("resnet18", "resnet34", "resnet50")
# ResNet34 + MONAI's default decoder: 23.6M parameters; `decoder_channels` smaller for tests.
DEFAULT_DECODER = (256, 128, 64, 32, 16)


def build_network(architecture: dict[str, Any]) -> torch.nn.Module:
    """MONAI FlexibleUNet (2-D, ResNet encoder, never pretrained: no weights are downloaded)."""
    from monai.networks.nets import FlexibleUNet

    backbone = architecture["backbone"]
    if backbone not in ENCODERS:
        raise InputError("--encoder", f"expected one of {', '.join(ENCODERS)}, got {backbone!r}")
    return FlexibleUNet(
        in_channels=int(architecture["in_channels"]),
        out_channels=int(architecture["out_channels"]),
        backbone=backbone,
        pretrained=False,
        decoder_channels=tuple(int(c) for c in architecture["decoder_channels"]),
        spatial_dims=2,
    )


def architecture(encoder: str, in_channels: int, n_classes: int, decoder_channels=None) -> dict:
    """The architecture record of model.json."""
    return {
        "name": "monai.networks.nets.FlexibleUNet",
        "backbone": encoder,
        "pretrained": False,
        "spatial_dims": 2,
        "in_channels": in_channels,
        "out_channels": n_classes,
        "decoder_channels": list(decoder_channels or DEFAULT_DECODER),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_tensors(path: Path, tensors: dict[str, Any]) -> str:
    """torch.save of a dict of tensors and plain numbers, atomically; returns its SHA-256."""
    with atomic_path(path) as tmp:
        torch.save(tensors, tmp)
    return _sha256(path)


def load_tensors(path: Path) -> dict[str, Any]:
    """torch.load with weights_only=True: tensors and plain containers only, no pickled code."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError ...
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"not a plain weights file ({problem[:160]})") from None


def save_model(model_dir: Path, network: torch.nn.Module, record: dict[str, Any]) -> None:
    """weights.pt (state dict), then model.json naming its SHA-256 (so the pair stays consistent)."""
    state = {k: v.detach().cpu() for k, v in network.state_dict().items()}
    record = {**record, "format": MODEL_FORMAT, "weights": WEIGHTS_FILE}
    record["weights_sha256"] = save_tensors(model_dir / WEIGHTS_FILE, state)
    write_json(model_dir / "model.json", record)


def read_model_json(model_dir: str | os.PathLike) -> dict[str, Any]:
    """model.json of a model folder, checked for the fields inference needs."""
    path = Path(model_dir) / "model.json"
    if not path.is_file():
        raise InputError(model_dir, "not a model folder (no model.json)")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, f"corrupt JSON ({exc.msg})") from None
    missing = [
        k
        for k in ("architecture", "classes", "normalisation", "slice_axis", "context")
        if k not in record
    ]
    if record.get("format") != MODEL_FORMAT or missing:
        raise InputError(path, f"not a {MODEL_FORMAT} model (missing {missing or 'format'})")
    return record


def load_model(model_dir: str | os.PathLike) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The network (eval mode, CPU) and model.json of a model folder; the weights file must match
    the SHA-256 in model.json and hold tensors only."""
    model_dir = Path(model_dir)
    record = read_model_json(model_dir)
    weights = model_dir / str(record.get("weights", WEIGHTS_FILE))
    if not weights.is_file():
        raise InputError(weights, "no such file")
    if record.get("weights_sha256") and _sha256(weights) != record["weights_sha256"]:
        raise InputError(weights, "does not match the SHA-256 in model.json")
    network = build_network(record["architecture"])
    state = load_tensors(weights)
    try:
        network.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise InputError(weights, f"does not fit the architecture ({str(exc)[:160]})") from None
    return network.eval(), record
