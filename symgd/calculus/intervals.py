"""Interval bounds of an expression over all real values of its variables, read from its
structure: squares are ≥ 0, σ lies in (0, 1), log σ(z) < 0, sums add their bounds, ...

A bound is a proof: every rule is a true statement about the function named, and a part the
rules do not know gets (−∞, ∞). The bounds are not tight; they only need to be true.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import sympy as sp

from symgd.expr.activations import (
    Abs,
    ceiling,
    floor,
    leaky_relu,
    relu,
    sigmoid,
    softplus,
)

INF = math.inf
Interval = tuple[float, float]
EVERYTHING: Interval = (-INF, INF)


def bounds(expr: sp.Expr) -> Interval:
    """``(lo, hi)`` with lo ≤ expr ≤ hi wherever expr is defined (±∞ when unknown).

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y", real=True)
    >>> bounds((1 - x)**2 + 100*(y - x**2)**2)
    (0.0, inf)
    """
    try:
        return _bounds(expr)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return EVERYTHING


def _bounds(expr: sp.Expr) -> Interval:
    if expr.is_number:
        return _number(expr)
    if expr.is_Symbol:
        return EVERYTHING
    if isinstance(expr, sp.Add):
        lo = hi = 0.0
        for a in expr.args:
            a_lo, a_hi = _bounds(a)
            lo, hi = _add(lo, a_lo), _add(hi, a_hi)
        return lo, hi
    if isinstance(expr, sp.Mul):
        result: Interval = (1.0, 1.0)
        for a in expr.args:
            result = _multiply(result, _bounds(a))
        return result
    if isinstance(expr, sp.Pow):
        return _power(expr)
    rule = _MONOTONE.get(type(expr))
    if rule is not None and len(expr.args) == 1:
        function, floor_value, ceiling_value = rule
        lo, hi = _bounds(expr.args[0])
        return (
            max(floor_value, _apply(function, lo, floor_value)),
            min(ceiling_value, _apply(function, hi, ceiling_value)),
        )
    return _special(expr)


def _number(expr: sp.Expr) -> Interval:
    value = complex(expr.evalf(20))
    if value.imag != 0 or math.isnan(value.real):
        raise ValueError("not a real number")
    return value.real, value.real


def _add(a: float, b: float) -> float:
    total = a + b
    return total if not math.isnan(total) else INF  # -∞ + ∞ never happens for lo+lo


def _times(a: float, b: float) -> float:
    if a == 0 or b == 0:
        return 0.0
    return a * b


def _multiply(a: Interval, b: Interval) -> Interval:
    products = [_times(p, q) for p in a for q in b]
    return min(products), max(products)


def _apply(function: Callable[[float], float], value: float, limit: float) -> float:
    try:
        return function(value)
    except (OverflowError, ValueError):
        return INF if value > 0 else limit


def _sigmoid(z: float) -> float:
    if math.isinf(z):
        return 1.0 if z > 0 else 0.0
    return 1 / (1 + math.exp(-z)) if z > -700 else 0.0


def _softplus(z: float) -> float:
    if z == INF:
        return INF
    if z == -INF:
        return 0.0
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _exp(z: float) -> float:
    if z == INF:
        return INF
    return 0.0 if z == -INF or z < -745 else math.exp(z)


def _log(z: float) -> float:
    if z <= 0:
        return -INF
    return INF if z == INF else math.log(z)


def _identity_or_limit(function: Callable[[float], float]) -> Callable[[float], float]:
    def wrapped(z: float) -> float:
        if math.isinf(z):
            return z
        return function(z)

    return wrapped


#: increasing functions: (the function, its infimum, its supremum)
_MONOTONE: dict[type, tuple[Callable[[float], float], float, float]] = {
    sp.exp: (_exp, 0.0, INF),
    sp.log: (_log, -INF, INF),
    sigmoid: (_sigmoid, 0.0, 1.0),
    softplus: (_softplus, 0.0, INF),
    relu: (lambda z: max(z, 0.0), 0.0, INF),
    sp.tanh: (lambda z: math.tanh(z) if not math.isinf(z) else math.copysign(1.0, z), -1.0, 1.0),
    sp.atan: (lambda z: math.atan(z), -math.pi / 2, math.pi / 2),
    sp.asinh: (_identity_or_limit(math.asinh), -INF, INF),
    sp.sinh: (_identity_or_limit(math.sinh), -INF, INF),
    floor: (_identity_or_limit(math.floor), -INF, INF),
    ceiling: (_identity_or_limit(math.ceil), -INF, INF),
    sp.floor: (_identity_or_limit(math.floor), -INF, INF),
    sp.ceiling: (_identity_or_limit(math.ceil), -INF, INF),
}


def _power(expr: sp.Expr) -> Interval:
    base, exponent = expr.args
    lo, hi = _bounds(base)
    if exponent.is_Integer:
        k = int(exponent)
        if k > 0:
            return _integer_power(lo, hi, k)
        if k < 0 and (lo > 0 or hi < 0):
            inverse = _integer_power(lo, hi, -k)
            return _reciprocal(inverse)
        return EVERYTHING
    if exponent.is_Rational and exponent > 0:
        # a fractional power of a nonnegative base (where it is real)
        p = float(exponent)
        return max(lo, 0.0) ** p if lo > 0 else 0.0, hi**p if hi < INF else INF
    if base.is_number and base.is_positive:  # a**z is exp(z log a)
        e_lo, e_hi = _bounds(exponent)
        b = float(base)
        ends = sorted(
            (
                _exp(e_lo * math.log(b)) if not math.isinf(e_lo) or b != 1 else 1.0,
                _exp(e_hi * math.log(b)) if not math.isinf(e_hi) or b != 1 else 1.0,
            )
        )
        return ends[0], ends[1]
    return EVERYTHING


def _integer_power(lo: float, hi: float, k: int) -> Interval:
    def power(v: float) -> float:
        try:
            return v**k
        except OverflowError:
            return math.copysign(INF, v) if k % 2 else INF

    if k % 2:
        return power(lo), power(hi)
    if lo <= 0 <= hi:
        return 0.0, max(power(lo), power(hi))
    ends = sorted((power(lo), power(hi)))
    return ends[0], ends[1]


def _reciprocal(interval: Interval) -> Interval:
    lo, hi = interval
    if lo > 0 or hi < 0:
        return (1 / hi if hi != INF else 0.0), (1 / lo if lo != -INF else 0.0)
    return EVERYTHING


def _special(expr: sp.Expr) -> Interval:
    """Bounds of the non-monotone functions symgd knows."""
    if isinstance(expr, sp.sin | sp.cos):
        return -1.0, 1.0
    if isinstance(expr, sp.Abs | Abs):
        lo, hi = _bounds(expr.args[0])
        if lo >= 0:
            return lo, hi
        if hi <= 0:
            return -hi, -lo
        return 0.0, max(-lo, hi)
    if isinstance(expr, sp.cosh):
        return 1.0, INF
    if isinstance(expr, sp.sech):
        return 0.0, 1.0
    if isinstance(expr, sp.sign):
        return -1.0, 1.0
    if isinstance(expr, sp.Heaviside):
        return 0.0, 1.0
    if isinstance(expr, leaky_relu):
        slope = float(expr.slope) if expr.slope.is_number else -1.0
        if slope < 0:
            return EVERYTHING
        lo, hi = _bounds(expr.args[0])

        def leaky(z: float) -> float:
            return z if z > 0 else _times(slope, z)

        return leaky(lo), leaky(hi)
    if isinstance(expr, sp.Max | sp.Min):
        parts = [_bounds(a) for a in expr.args]
        pick = max if isinstance(expr, sp.Max) else min
        return pick(p[0] for p in parts), pick(p[1] for p in parts)
    if isinstance(expr, sp.acos):
        return 0.0, math.pi
    if isinstance(expr, sp.asin):
        return -math.pi / 2, math.pi / 2
    if isinstance(expr, sp.acot):
        return -math.pi / 2, math.pi / 2
    return EVERYTHING
