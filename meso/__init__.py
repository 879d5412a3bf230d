"""Mesoscale models of LLZO microstructures: the Microstructure type, solvers and the `meso` CLI."""

from meso.errors import InputError
from meso.microstructure import DEFAULT_PHASES, Microstructure

__all__ = ["DEFAULT_PHASES", "InputError", "Microstructure", "__version__"]
__version__ = "0.1.0"
