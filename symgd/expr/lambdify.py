"""An expression to a Python function: the only ``sp.lambdify`` call in symgd.

:func:`lambdify` turns SymPy expressions into code on Python floats (``math`` plus
:data:`MATH_FUNCTIONS`) or on numpy arrays (numpy plus :data:`NUMPY_FUNCTIONS`, printed by a
printer whose sums put a positive term first). Every numeric function symgd builds, in
calculus (the critical-point search, convexity) and in numeric (descent, fused steps,
fitting), comes from here. The activation functions get numerically stable implementations
for both targets; the reciprocal trigonometric and hyperbolic functions are called by name.

The scalar printer writes small integer powers of a name as products (``x*x``) and integer
literals as floats; both give the same IEEE results as ``x**2`` and ``2*x`` with less
interpreter work.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence
from sympy.printing.pycode import PythonCodePrinter

from symgd.expr.subexpressions import (
    LARGE_NODES,
    node_count,
    shared_subexpressions,
    subexpressions_for,
)


def _math_sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def _math_softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _math_heaviside(z: float, at_zero: float = 0.0) -> float:
    return 1.0 if z > 0 else (at_zero if z == 0 else 0.0)


def _math_leaky_relu(z: float, slope: float = 0.01) -> float:
    return z if z > 0 else slope * z


def _math_dirac(z: float, order: float = 0.0) -> float:
    """The derivative of a step (Heaviside, sign; abs and ReLU twice): 0 away from the jump,
    and taken as 0 at it too, as the steps' own derivatives are."""
    return 0.0


def _np_sigmoid(z: Any) -> Any:
    return np.exp(-np.logaddexp(0.0, -z))


def _np_softplus(z: Any) -> Any:
    return np.logaddexp(0.0, z)


def _np_leaky_relu(z: Any, slope: float = 0.01) -> Any:
    return np.where(z > 0, z, slope * z)


def _np_dirac(z: Any, order: Any = 0) -> Any:
    return np.zeros(np.shape(z))


#: reciprocal trigonometric and hyperbolic functions, called by name: left to SymPy's printers
#: they are rewritten, sometimes through complex exponentials (``csch(sin(x))``)
def _reciprocals(
    cos: Any, sin: Any, tanh: Any, cosh: Any, sinh: Any, atan: Any, acos: Any, asin: Any, atanh: Any
) -> dict[str, Callable[..., Any]]:
    """The reciprocal functions and their inverses, built from one module's basic functions."""
    return {
        "cot": lambda z: cos(z) / sin(z),
        "sec": lambda z: 1.0 / cos(z),
        "csc": lambda z: 1.0 / sin(z),
        "coth": lambda z: 1.0 / tanh(z),
        "sech": lambda z: 1.0 / cosh(z),
        "csch": lambda z: 1.0 / sinh(z),
        "acot": lambda z: atan(1.0 / z),
        "asec": lambda z: acos(1.0 / z),
        "acsc": lambda z: asin(1.0 / z),
        "acoth": lambda z: atanh(1.0 / z),
    }


_RECIPROCAL_MATH = _reciprocals(
    math.cos, math.sin, math.tanh, math.cosh, math.sinh, math.atan, math.acos, math.asin, math.atanh
)
_RECIPROCAL_NUMPY = _reciprocals(
    np.cos, np.sin, np.tanh, np.cosh, np.sinh, np.arctan, np.arccos, np.arcsin, np.arctanh
)
MATH_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sigmoid": _math_sigmoid,
    "softplus": _math_softplus,
    "relu": lambda z: z if z > 0 else 0.0,
    "leaky_relu": _math_leaky_relu,
    "Heaviside": _math_heaviside,
    "DiracDelta": _math_dirac,
    **_RECIPROCAL_MATH,
}
NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": _np_sigmoid,
    "softplus": _np_softplus,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": _np_leaky_relu,
    "Heaviside": lambda z, at_zero=0.0: np.heaviside(z, at_zero),
    "DiracDelta": _np_dirac,
    **_RECIPROCAL_NUMPY,
}


@functools.cache
def numpy_namespace() -> dict[str, Any]:
    """The names numpy code from lambdify may use: numpy's own (as ``modules="numpy"`` gives
    them, but without its ``from numpy import *``, which loads every lazily imported numpy
    submodule and costs a sixth of a second) and :data:`NUMPY_FUNCTIONS`."""
    namespace = {name: value for name, value in vars(np).items() if not name.startswith("_")}
    namespace.update({"numpy": np, "I": 1j, **NUMPY_FUNCTIONS})
    return namespace


class _PositiveFirstAdd(PythonCodePrinter):  # type: ignore[misc]  # SymPy is untyped
    """Print sums with a term that carries no minus sign first, the costliest term last.

    ``b - a*c`` costs one operation less than ``-a*c + b`` (in numpy, one pass less) and gives
    the same IEEE result; the order of three or more terms changes the rounding of ∇f by an
    ulp at most.
    """

    #: large programs: terms in SymPy's stored order ranked by node count, each printed once
    #: (SymPy's display order and ``count_ops`` cost most of the printing time at n = 300)
    fast = False

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        # cheap terms first, so the deepest term joins last (a shorter dependency chain for a
        # compiler), led by the cheapest term without a minus sign
        if self.fast:
            terms = sorted(expr.args, key=_node_count)
        else:
            terms = sorted(self._as_ordered_terms(expr, order=order), key=sp.count_ops)
        texts = {term: self._print(term) for term in terms}
        for i, term in enumerate(terms):
            if not texts[term].startswith("-"):
                terms.insert(0, terms.pop(i))
                break
        parts: list[str] = []
        for term in terms:
            text = texts[term]
            sign = "+"
            if text.startswith("-") and not term.is_Add:
                sign, text = "-", text[1:]
            if precedence(term) < precedence(expr) or term.is_Add:
                text = f"({text})"
            parts.extend([sign, text])
        lead = parts.pop(0)
        return ("-" if lead == "-" else "") + " ".join(parts)


def _node_count(expr: sp.Basic) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


class _ScalarPrinter(_PositiveFirstAdd, PythonCodePrinter):  # type: ignore[misc]  # SymPy is untyped
    """Python-float code: ``x*x`` for small powers of a name, float literals for integers."""

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        exponent = expr.exp
        if expr.base.is_Symbol and exponent.is_Integer and 2 <= int(exponent) <= 4:
            name = self._print(expr.base)
            return "*".join([name] * int(exponent))
        return str(super()._print_Pow(expr, rational=rational))

    def _print_Integer(self, expr: sp.Integer) -> str:
        return repr(float(expr)) if abs(int(expr)) < 2**53 else str(expr)

    def _print_Float(self, expr: sp.Float) -> str:
        if expr._prec <= 53:
            return repr(float(expr))
        return str(super()._print_Float(expr))


class _NumpyPrinter(_PositiveFirstAdd, NumPyPrinter):  # type: ignore[misc]  # SymPy is untyped
    """numpy code with positive-first sums."""


def numpy_printer() -> _NumpyPrinter:
    return _NumpyPrinter(
        {
            "fully_qualified_modules": False,
            "inline": True,
            "allow_unknown_functions": True,
            "user_functions": {name: name for name in NUMPY_FUNCTIONS},
        }
    )


def scalar_printer() -> _ScalarPrinter:
    return _ScalarPrinter(
        {
            "fully_qualified_modules": False,
            "inline": True,
            "allow_unknown_functions": True,
            "user_functions": {name: name for name in MATH_FUNCTIONS},
        }
    )


def lambdify(
    args: Sequence[sp.Symbol],
    expr: Any,
    *,
    numpy: bool = False,
    printer: Any = None,
    cse: Any = True,
) -> Callable[..., Any]:
    """``expr`` (one expression or a tuple of them) as a function of ``args``: the one call of
    ``sp.lambdify`` in symgd.

    ``numpy=False`` gives code on Python floats (``math`` and :data:`MATH_FUNCTIONS`; SymPy's
    Python printer unless ``printer`` is given); ``numpy=True`` code that broadcasts over
    arrays (:func:`numpy_namespace`, printed by :func:`numpy_printer` unless ``printer`` is
    given). ``cse`` is ``True`` (SymPy finds the common subexpressions) or a function
    ``exprs -> (assignments, reduced)`` that supplies them.
    """
    modules: list[Any] = [numpy_namespace()] if numpy else [MATH_FUNCTIONS, "math"]
    if numpy and printer is None:
        printer = numpy_printer()
        items = expr if isinstance(expr, (tuple, list)) else (expr,)
        printer.fast = node_count(items, LARGE_NODES) > LARGE_NODES
    function: Callable[..., Any] = sp.lambdify(
        list(args), expr, modules=modules, printer=printer, cse=cse
    )
    return function


def lambdify_math(variables: Sequence[sp.Symbol], expr: Any) -> Callable[..., Any]:
    """Scalar function of Python floats (``expr`` may be a tuple to return several values)."""
    return lambdify(variables, expr)


def lambdify_numpy(variables: Sequence[sp.Symbol], expr: Any) -> Callable[..., Any]:
    """numpy function, broadcasting over arrays passed for each variable (printed by the numpy
    printer: ``sign`` and ``Piecewise`` become numpy calls that work on arrays)."""
    return lambdify(variables, expr, numpy=True, cse=subexpressions_for)


def lambdify_numpy_shared(
    variables: Sequence[sp.Symbol],
    exprs: Sequence[sp.Expr],
) -> Callable[..., Any]:
    """numpy function returning the tuple ``exprs``, sharing their common subexpressions."""
    pairs, reduced = shared_subexpressions(tuple(exprs))

    def shared(items: Any) -> tuple[list[tuple[sp.Symbol, sp.Expr]], tuple[sp.Expr, ...]]:
        return list(pairs), tuple(reduced)

    return lambdify(variables, tuple(exprs), numpy=True, cse=shared)
