"""Quantification over cycling steps: electrode porosity, thickness, current density, hot spots, electrolyte."""

from imaging.quantify.pipeline import QuantifyParameters, QuantifyResult, quantify

__all__ = ["QuantifyParameters", "QuantifyResult", "quantify"]
