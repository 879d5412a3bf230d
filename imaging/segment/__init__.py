"""Segmenting reconstructed cells into DESIGN labels: Otsu, edge-based candidates, a U-Net, scoring."""

from imaging.segment.autolabel import autolabel
from imaging.segment.evaluate import evaluate
from imaging.segment.otsu import otsu

__all__ = ["autolabel", "evaluate", "otsu"]
