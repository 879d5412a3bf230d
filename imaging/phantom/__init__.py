"""The virtual Li|LLZO|Li cell: geometry (cell), cycling, beamline forward model, experiment driver."""
