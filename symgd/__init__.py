"""symgd: turn any function you type into an exact, worked lesson on gradient descent.

The public names are loaded on first use, so that ``import symgd`` (and ``symgd --help``) stay
fast: SymPy and matplotlib are imported only when a stage that needs them runs. Reading
``symgd.__all__`` (as ``from symgd import *``, pdoc and pydoc do) loads every public name, so
documentation tools see the real functions and classes.

>>> import symgd
>>> symgd.parse("x**2 + 3*y**2").variables
(x, y)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from symgd.base.errors import ExpressionError as ExpressionError
from symgd.base.errors import InputError as InputError

__version__ = "0.1.0"

# Public name → the module that defines it (imported on first use).
_LAZY = {
    "parse": "symgd.expr.parser",
    "Problem": "symgd.expr.problem",
    "derive": "symgd.calculus.derivation",
    "Derivation": "symgd.calculus.derivation",
    "CriticalPoint": "symgd.calculus.points",
    "derivative_steps": "symgd.calculus.rules",
    "descend": "symgd.numeric.runner",
    "Trajectory": "symgd.numeric.results",
    "fit": "symgd.numeric.fitting",
    "FitResult": "symgd.numeric.fitting",
    "explain": "symgd.lesson.page",
    "Lesson": "symgd.lesson.page",
    "backprop": "symgd.network.backprop",
    "BackpropResult": "symgd.network.backprop",
    "vanish": "symgd.network.vanish",
    "VanishResult": "symgd.network.vanish",
    "grade": "symgd.handout.grading",
    "GradeResult": "symgd.handout.grading",
}
_EAGER = ("ExpressionError", "InputError", "__version__")

if TYPE_CHECKING:  # pragma: no cover
    from symgd.calculus.derivation import Derivation as Derivation
    from symgd.calculus.derivation import derive as derive
    from symgd.calculus.points import CriticalPoint as CriticalPoint
    from symgd.calculus.rules import derivative_steps as derivative_steps
    from symgd.expr.parser import parse as parse
    from symgd.expr.problem import Problem as Problem
    from symgd.handout.grading import GradeResult as GradeResult
    from symgd.handout.grading import grade as grade
    from symgd.lesson.page import Lesson as Lesson
    from symgd.lesson.page import explain as explain
    from symgd.network.backprop import BackpropResult as BackpropResult
    from symgd.network.backprop import backprop as backprop
    from symgd.network.vanish import VanishResult as VanishResult
    from symgd.network.vanish import vanish as vanish
    from symgd.numeric.fitting import FitResult as FitResult
    from symgd.numeric.fitting import fit as fit
    from symgd.numeric.results import Trajectory as Trajectory
    from symgd.numeric.runner import descend as descend


def __getattr__(name: str) -> Any:
    """Import a public name on first use and keep it; ``__all__`` imports them all."""
    if name == "__all__":
        for lazy in _LAZY:
            __getattr__(lazy)
        names = [*_EAGER, *_LAZY]
        globals()["__all__"] = names
        return names
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'symgd' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
