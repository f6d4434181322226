"""Exact numbers for the worked steps: short forms, and the direction f moved."""

from __future__ import annotations

from typing import Any


def tidy(expr: Any) -> Any:
    """A short exact form: rationals stay, small surds are simplified, long things are left."""
    import sympy as sp

    from symgd.calculus.exact import huge_power

    expr = sp.sympify(expr)
    if expr.is_Rational or expr.is_Float:
        return expr
    if sp.count_ops(expr) <= 40 and not huge_power(expr):
        try:
            simpler = sp.radsimp(sp.expand(expr))
            if sp.count_ops(simpler) <= sp.count_ops(expr):
                return simpler
        except (TypeError, ValueError, NotImplementedError):
            return expr
    return expr


def direction(old: Any, new: Any) -> str:
    """``"down"``, ``"up"`` or ``"nowhere"``: how f moved from ``old`` to ``new`` (exact
    numbers of any size, compared without rounding to floats)."""
    try:
        if bool(new < old):
            return "down"
        if bool(new > old):
            return "up"
    except TypeError:  # not comparable (an unevaluated expression): compare decimals
        fo, fn = float(old), float(new)
        return "down" if fn < fo else "up" if fn > fo else "nowhere"
    return "nowhere"
