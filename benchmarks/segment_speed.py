"""U-Net inference seconds per slice on this CPU (512^2 and 2048^2), against the study's ~0.3 s per slice.

    .venv/bin/python benchmarks/segment_speed.py                 # ResNet34 U-Net, 7 channels (context 3)
    .venv/bin/python benchmarks/segment_speed.py --sizes 512 --batch 1 2 4 --repeats 5

Times the forward pass and softmax of `imaging.segment.predict.Segmenter` (inference mode,
channels-last, torch threads = CPU count) on random grey slices with the weights of a freshly
built network: the cost does not depend on the weights' values. Prints a Markdown table with
threads, batch size and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from imaging.segment.model_files import architecture, build_network, save_model
from imaging.segment.predict import Segmenter


def make_model(
    folder: Path, encoder: str, context: int, n_classes: int, decoder: tuple[int, ...] | None
) -> Path:
    torch.manual_seed(0)
    arch = architecture(encoder, 2 * context + 1, n_classes, decoder)
    network = build_network(arch).eval()
    record = {"architecture": arch, "classes": list(range(n_classes)), "context": context,
              "slice_axis": "z", "normalisation": {"mean": 0.0, "std": 1.0}}  # fmt: skip
    save_model(folder, network, record)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--encoder", default="resnet34")
    parser.add_argument("--context", type=int, default=3, help="as `meso segment train`")
    parser.add_argument("--decoder-channels", default=None, help="e.g. 64,32,16,16,8 (the demo's)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        decoder = (
            tuple(int(c) for c in args.decoder_channels.split(","))
            if args.decoder_channels
            else None
        )
        model = make_model(Path(tmp), args.encoder, args.context, 4, decoder)
        segmenter = Segmenter(model, threads=args.threads)
        rng = np.random.default_rng(0)
        for size in args.sizes:
            for batch in args.batch if size <= 1024 else [1]:
                x = rng.normal(size=(batch, 2 * args.context + 1, size, size)).astype(np.float32)
                segmenter(x)  # warm-up: oneDNN picks its kernels on the first call
                times = []
                for _ in range(args.repeats):
                    tic = time.perf_counter()
                    segmenter(x)
                    times.append((time.perf_counter() - tic) / batch)
                rows.append(f"| {size} x {size} | {batch} | {segmenter.threads} | {segmenter.device} "
                            f"| {min(times):.3f} | {np.median(times):.3f} |")  # fmt: skip
                print(rows[-1], flush=True)
    print(f"\nencoder {args.encoder}, decoder {args.decoder_channels or 'MONAI default'}, "
          f"{2 * args.context + 1} channels, torch {torch.__version__}, "
          f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after, "
          f"{os.cpu_count()} CPUs; study: ~0.3 s per slice\n")  # fmt: skip
    print("| slice | batch | threads | device | best s/slice | median s/slice |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
