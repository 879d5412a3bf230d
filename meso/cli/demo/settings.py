"""The demo's built-in parameters, quick (for the tests, under 2 minutes) and full (under 10)."""

from __future__ import annotations

SYNTH = {
    "quick": ["--shape", "32", "--voxel-size", "0.5", "--pore-size", "2", "--grain-size", "4"],
    "full": ["--shape", "64", "--voxel-size", "0.5", "--pore-size", "2", "--grain-size", "5"],
}
PHANTOM = {
    "quick": ["--shape", "48,48,48", "--angles", "90"],
    "full": ["--shape", "96,96,96", "--angles", "180"],
}
# A brief U-Net training: the study trained a ResNet34 encoder on 800 slices for hours; the
# demo uses a ResNet18 encoder with a narrow decoder so that it trains in a few minutes.
# Slices along y hold the cell axis, and 3 slices of context: on the 48^3 cell this raised the
# stripped electrode's pore IoU from 0.33 (slices across the cell axis) to 0.48.
TRAIN = {
    "quick": ["--slice-axis", "y", "--context", "3", "--epochs", "12", "--batches", "12",
              "--patch", "32", "--patience", "30", "--encoder", "resnet18",
              "--decoder-channels", "64,32,16,16,8"],
    "full": ["--slice-axis", "y", "--context", "3", "--epochs", "12", "--batches", "12",
             "--patch", "64", "--patience", "30", "--encoder", "resnet18",
             "--decoder-channels", "64,32,16,16,8"],
}  # fmt: skip
# twins per volume in meso compare, interfacial depth of meso extract (um)
TWINS = {"quick": "1", "full": "2"}
INTERFACE_DEPTH_UM = {"quick": "3", "full": "6"}
# lithium behind one voxel of pore still touches the pellet in the contact maps (meso extract)
CONTACT_GAP_UM = "0.65"
