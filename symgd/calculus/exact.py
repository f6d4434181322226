"""Exact arithmetic with a bound on the size of the numbers.

Hand-worked steps put exact start points and learning rates into f and ∇f. The numbers that
come out can grow without limit: one step of descent on x¹⁰⁰⁰ from 1999/2000 already has
3,300-digit fractions, and f at the next point a 3,300,000-digit one, which takes minutes to
compute and cannot be printed. :func:`exact_at` computes ``expr`` at a point node by node and
stops with :class:`TooLarge` as soon as a rational on the way would need more than
``max_digits`` digits (checked before a power is taken, so the big number is never built);
:func:`decimal_at` gives the same value in floating point with ``digits`` significant digits,
for the caller to show instead (and to say so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import sympy as sp

from symgd.base.errors import InputError
from symgd.base.i18n import _

#: the default bound on the digits of a numerator or denominator
MAX_EXACT_DIGITS = 200
#: significant digits of the decimals used past the bound
DECIMAL_DIGITS = 30
#: an integer power above this is not expanded by the tidying of exact values
MAX_EXPAND_POWER = 64

_BITS_PER_DIGIT = math.log2(10)


class TooLarge(ArithmeticError):
    """An exact number would have more digits than allowed."""


def digits_to_bits(digits: int) -> int:
    """The bit length of the largest number with ``digits`` decimal digits."""
    return math.ceil(digits * _BITS_PER_DIGIT)


def size_bits(value: Any) -> int:
    """The largest bit length of a numerator or denominator in ``value`` (0 for floats)."""
    if isinstance(value, sp.Rational):
        return max(int(value.p).bit_length(), int(value.q).bit_length())
    if isinstance(value, sp.Basic) and value.args:
        return max((size_bits(r) for r in value.atoms(sp.Rational)), default=0)
    return 0


def exact_at(
    expr: sp.Expr, mapping: Mapping[sp.Symbol, sp.Expr], max_digits: int = MAX_EXACT_DIGITS
) -> sp.Expr:
    """``expr`` with the values of ``mapping`` put in, evaluated exactly (as ``xreplace`` would);
    raises :class:`TooLarge` when a rational on the way would exceed ``max_digits`` digits."""
    limit = digits_to_bits(max_digits)
    done: dict[sp.Basic, sp.Basic] = {}

    def walk(node: sp.Basic) -> sp.Basic:
        if node in mapping:
            return mapping[node]
        if not node.args:
            return node
        found = done.get(node)
        if found is not None:
            return found
        args = [walk(a) for a in node.args]
        if isinstance(node, sp.Pow):
            exponent = args[1]
            if (
                isinstance(exponent, sp.Integer)
                and abs(int(exponent)) > 1
                and size_bits(args[0]) * abs(int(exponent)) > limit
            ):
                raise TooLarge(f"more than {max_digits} digits")
        value = node.func(*args)
        if size_bits(value) > limit:
            raise TooLarge(f"more than {max_digits} digits")
        done[node] = value
        return value

    return walk(expr)


def decimal_at(
    expr: sp.Expr, mapping: Mapping[sp.Symbol, sp.Expr], digits: int = DECIMAL_DIGITS
) -> sp.Expr:
    """``expr`` at the point in floating point with ``digits`` significant digits (any size:
    SymPy's floats do not overflow)."""
    floats = {k: sp.Float(v, digits) if v.is_number else v for k, v in mapping.items()}
    value = expr.xreplace(floats)
    try:
        return value.evalf(digits)
    except (TypeError, ValueError, ArithmeticError):
        return value


def huge_power(expr: Any) -> bool:
    """True when ``expr`` holds an integer power above :data:`MAX_EXPAND_POWER` (expanding it
    would build a huge sum)."""
    if not isinstance(expr, sp.Basic):
        return False
    return any(p.exp.is_Integer and abs(int(p.exp)) > MAX_EXPAND_POWER for p in expr.atoms(sp.Pow))


def exact_number(value: float | int | str) -> sp.Rational:
    """The rational a person means by ``value``: 0.1 → 1/10 (shortest decimal, not binary).

    >>> exact_number(0.1)
    1/10
    """
    if isinstance(value, int):
        return sp.Integer(value)
    as_float = float(value)
    if not math.isfinite(as_float):
        raise InputError(_("not a finite number: {value}").format(value=repr(value)))
    text = repr(as_float)
    if "e" not in text:
        return sp.Rational(text)
    return sp.Rational(Fraction(text).numerator, Fraction(text).denominator)
