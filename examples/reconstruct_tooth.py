"""Reconstruct the APS tooth scan in Python: automatic centre, DFI vs FBP, a slice figure (< 1 min).

    .venv/bin/python examples/reconstruct_tooth.py [path/to/tooth.h5] [out_dir]

The same as `meso reconstruct tooth.h5 --out out_dir/tooth.h5`, spelled out with the library.
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from imaging.io_dxchange import open_dxchange
from imaging.reconstruction.volume import ReconstructionSettings, reconstruct_to_file

ROOT = Path(__file__).resolve().parents[1]
scan = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "tooth.h5"
out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("tooth-example")
out.mkdir(parents=True, exist_ok=True)

with open_dxchange(scan) as source:
    print(f"{source.n_angles} projections of {source.n_rows} x {source.n_columns} pixels")
    dfi = reconstruct_to_file(source, out / "tooth_dfi.h5", ReconstructionSettings())
    print(f"automatic centre (Vo): {dfi['center']:.2f} px, {dfi['seconds_per_slice']:.2f} s/slice")
    fbp_settings = ReconstructionSettings(algorithm="fbp", center=dfi["center"])
    fbp = reconstruct_to_file(source, out / "tooth_fbp.h5", fbp_settings)

fig, axes = plt.subplots(1, 2, figsize=(10, 5))
for ax, name in zip(axes, ("dfi", "fbp"), strict=True):
    with h5py.File(out / f"tooth_{name}.h5") as fh:
        ax.imshow(fh["volume"][:, :, 0].T, cmap="gray")  # x to the right, y down
    ax.set_title(f"{name.upper()}, centre {dfi['center']:.2f}")
    ax.axis("off")
fig.savefig(out / "tooth_slices.png", dpi=80)
print(f"wrote {out / 'tooth_slices.png'}")
