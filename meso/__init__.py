"""Mesoscale models of LLZO microstructures: the Microstructure type, solvers and the `meso` CLI."""

from meso.errors import InputError
from meso.microstructure import DEFAULT_PHASES, Microstructure

__all__ = ["DEFAULT_PHASES", "InputError", "Microstructure", "__version__", "conduct", "elastic"]
__version__ = "0.1.0"

# The two solver entries load DOLFINx and PETSc (seconds); they are resolved on first use so
# that `import meso` and `meso --help` stay fast. (No import cycle depends on this.)
_ENTRIES = {"conduct": "meso.conduction", "elastic": "meso.elasticity"}


def __getattr__(name: str):
    if name in _ENTRIES:
        import importlib

        return getattr(importlib.import_module(_ENTRIES[name]), name)
    raise AttributeError(f"module 'meso' has no attribute {name!r}")
