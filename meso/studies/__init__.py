"""Studies on the solvers: parameter sweeps, tomography-vs-synthetic comparisons (no synth import)."""
