"""symgd: turn any function you type into an exact, worked lesson on gradient descent.

The public names are loaded lazily so that ``import symgd`` (and ``symgd --help``) stay fast;
SymPy and matplotlib are imported only when a stage that needs them runs.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from symgd.errors import ExpressionError, InputError

__version__ = "0.1.0"

_LAZY = {
    "parse": "symgd.parse",
    "Problem": "symgd.parse",
    "derive": "symgd.derive",
    "Derivation": "symgd.derive",
    "CriticalPoint": "symgd.derive",
    "descend": "symgd.descend",
    "Trajectory": "symgd.descend",
    "explain": "symgd.lesson",
    "Lesson": "symgd.lesson",
    "fit": "symgd.fitting",
    "FitResult": "symgd.fitting",
    "derivative_steps": "symgd.steps",
}

__all__ = ["ExpressionError", "InputError", "__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from symgd.derive import CriticalPoint as CriticalPoint
    from symgd.derive import Derivation as Derivation
    from symgd.derive import derive as derive
    from symgd.parse import Problem as Problem
    from symgd.parse import parse as parse


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'symgd' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


class _Package(types.ModuleType):
    """Keeps ``symgd.parse`` (and friends) the function after ``symgd/parse.py`` is imported.

    Importing a submodule makes Python set it as an attribute of the package, which would
    shadow the lazily loaded function of the same name; this refuses exactly that assignment.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
