"""symgd: turn any function you type into an exact, worked lesson on gradient descent.

The public names are loaded lazily so that ``import symgd`` (and ``symgd --help``) stay fast;
SymPy and matplotlib are imported only when a stage that needs them runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from symgd.base.errors import ExpressionError, InputError

__version__ = "0.1.0"

_LAZY = {
    "parse": "symgd.expr.parser",
    "Problem": "symgd.expr.parser",
    "derive": "symgd.calculus.derivation",
    "Derivation": "symgd.calculus.derivation",
    "CriticalPoint": "symgd.calculus.derivation",
    "descend": "symgd.numeric.runner",
    "Trajectory": "symgd.numeric.runner",
    "explain": "symgd.lesson.build",
    "Lesson": "symgd.lesson.build",
    "fit": "symgd.numeric.fitting",
    "FitResult": "symgd.numeric.fitting",
    "derivative_steps": "symgd.calculus.rules",
}

__all__ = ["ExpressionError", "InputError", "__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from symgd.calculus.derivation import CriticalPoint as CriticalPoint
    from symgd.calculus.derivation import Derivation as Derivation
    from symgd.calculus.derivation import derive as derive
    from symgd.expr.parser import Problem as Problem
    from symgd.expr.parser import parse as parse


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'symgd' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
