"""Synthetic LLZO microstructures (Voronoi grains, grain boundaries, pores), their statistics and twins."""

from synth.generate import SynthGeometry, generate
from synth.measure import MicrostructureStats, measure
from synth.twin import twin

__all__ = ["MicrostructureStats", "SynthGeometry", "generate", "measure", "twin"]
