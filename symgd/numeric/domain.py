"""Leaving the domain of f: telling a run that reached a point where f or ∇f is not a real
number (``domain``) from one that overflowed (``diverged``), and naming the culprit in words
("the logarithm of a number ≤ 0 (x = -1)")."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.i18n import N_, _
from symgd.expr.batch import Compiled
from symgd.expr.lambdify import lambdify_math
from symgd.expr.problem import Problem
from symgd.numeric.results import RUNAWAY, STATUS_CODE, RunResult, Status

#: most rows of a batch examined one by one for a domain exit; beyond, a NaN decides
MAX_DOMAIN_CHECKS = 4096
_CHECKERS: dict[tuple[Any, ...], Callable[[np.ndarray, bool], str | None]] = {}


def find_domain_exits(result: RunResult, problem: Problem, compiled: Compiled) -> RunResult:
    """Re-mark as ``domain`` the diverged rows that stopped at a finite point (within the
    bound) where f or ∇f is not a real number; the rest stay diverged (overflow)."""
    codes = result.row_codes
    diverged = np.flatnonzero(codes == STATUS_CODE[Status.DIVERGED])
    if diverged.size == 0:
        return result
    final = result.xs[-1][diverged]
    f, g = result.fs[-1][diverged], result.grad_norms[-1][diverged]
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(final).all(axis=1) & (np.abs(final) <= RUNAWAY).all(axis=1)
        candidate = inside & ~(np.isfinite(f) & np.isfinite(g))
    rows = diverged[candidate]
    if rows.size == 0:
        return result
    single = len(codes) == 1
    checker = _domain_checker(problem, compiled)
    new_codes = codes.copy()
    details = list(result.details) if single and result.details else [""] * single
    nan = np.isnan(f[candidate]) | np.isnan(g[candidate])
    for count, row in enumerate(rows):
        if count < MAX_DOMAIN_CHECKS:
            why = checker(result.xs[-1][row], single)  # words only for a single run
        else:
            why = "f or its gradient is not a number" if nan[count] else None
        if why is not None:
            new_codes[row] = STATUS_CODE[Status.DOMAIN]
            if single:
                details[0] = why
    return replace(result, row_codes=new_codes, details=tuple(details))


def undefined_at(problem: Problem, compiled: Compiled, point: Sequence[float]) -> str | None:
    """Why f or ∇f is not a real number at the finite ``point`` ("f is undefined at (x = -1):
    the square root of a negative number (x = -1)"), or ``None`` when both are real numbers
    there or merely overflow."""
    return _domain_checker(problem, compiled)(np.asarray(point, dtype=float), True)


def undefined_words(which: str, point: str, cause: str, *, start: bool = False) -> str:
    """Why ``which`` (``"f"``, ``"∂f/∂x"``, ``"f, ∇f"`` for both, ``"∇f"``) has no real value
    at ``point``, because of ``cause``; with ``start``, as the refusal of a start point."""
    if start:
        if which == "f, ∇f":
            text = _(
                "the start point {point} is outside the domain of f: f and its gradient are "
                "undefined there because of {cause}; choose a start where f and its gradient "
                "are defined"
            )
        elif which == "∇f":
            text = _(
                "the start point {point} is outside the domain of f: the gradient is undefined "
                "there because of {cause}; choose a start where f and its gradient are defined"
            )
        else:
            text = _(
                "the start point {point} is outside the domain of f: {which} is undefined there "
                "because of {cause}; choose a start where f and its gradient are defined"
            )
    elif which == "f, ∇f":
        text = _("f and its gradient are undefined at {point}: {cause}")
    elif which == "∇f":
        text = _("the gradient is undefined at {point}: {cause}")
    else:
        text = _("{which} is undefined at {point}: {cause}")
    return text.format(which=which, point=point, cause=cause)


def start_refusal(problem: Problem, compiled: Compiled, point: Sequence[float]) -> str | None:
    """The refusal of ``point`` as a start point when f or ∇f has no real value there."""
    return _domain_checker(problem, compiled)(np.asarray(point, dtype=float), True, True)


def _domain_checker(
    problem: Problem,
    compiled: Compiled,
) -> Callable[..., str | None]:
    """``check(point, words)`` for a finite point: why f or ∇f is not a real number there, or
    ``None`` when they are (or when they only overflowed); without ``words`` the reason is
    "" (a batch row needs only the verdict, and finding the culprit costs a millisecond)."""
    key = (problem.expr, problem.variables)
    found = _CHECKERS.get(key)
    if found is not None:
        return found
    names = problem.names
    labels = ["f", *(f"∂f/∂{name}" for name in names)] if len(names) > 1 else ["f", "f′"]
    exprs = (problem.expr, *compiled.gradient)
    scalar: list[Callable[..., Any]] = []

    def check(point: np.ndarray, words: bool = True, start: bool = False) -> str | None:
        with np.errstate(all="ignore"):
            values = compiled.value_grad_columns([np.array([float(v)]) for v in point])
        bad = [i for i, v in enumerate(values) if not math.isfinite(float(v[0]))]
        if not bad:
            return None
        if not scalar:
            scalar.append(lambdify_math(problem.variables, exprs))
        cause = ""
        try:
            exact = scalar[0](*(float(v) for v in point))
        except OverflowError:
            return None
        except ZeroDivisionError:
            cause = _("a division by zero")
        except (ValueError, TypeError):
            cause = _("a function applied outside its domain")
        else:
            imaginary = [i for i, v in enumerate(exact) if isinstance(v, complex) and v.imag != 0]
            if not imaginary:
                return None  # inf or NaN from arithmetic that overflowed
            cause = _("its value would be a complex number")
        if not words:
            return ""
        culprit = _culprit([exprs[i] for i in dict.fromkeys([0, *bad])], problem.variables, point)
        which = labels[bad[0]] if len(bad) == 1 else "f, ∇f" if bad[0] == 0 else "∇f"
        return undefined_words(which, point_text(names, point), culprit or cause, start=start)

    if len(_CHECKERS) > 64:
        _CHECKERS.clear()
    _CHECKERS[key] = check
    return check


def point_text(names: Sequence[str], point: np.ndarray) -> str:
    """``(x = 1, y = -0.5)``."""
    at = ", ".join(f"{name} = {float(v):.6g}" for name, v in zip(names, point, strict=True))
    return f"({at})"


def _culprit(
    exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol], point: np.ndarray, limit: int = 2000
) -> str:
    """The first piece of ``exprs`` that is undefined at ``point``, in words ("" if none is
    found among the first ``limit`` subexpressions)."""
    mapping = {v: sp.Float(float(x), 17) for v, x in zip(variables, point, strict=True)}
    seen = 0
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            seen += 1
            if seen > limit:
                return ""
            why = _undefined(node, mapping)
            if why:
                return why
    return ""


def _undefined(node: sp.Basic, mapping: Mapping[sp.Symbol, sp.Float]) -> str:
    """Why ``node`` (one function or power) has no real value at ``mapping``, or ""."""
    if not node.args or not node.free_symbols:
        return ""

    def value(expr: sp.Basic) -> float | None:
        try:
            number = complex(expr.xreplace(mapping).evalf(17))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        return number.real if number.imag == 0 else None

    def named(expr: sp.Basic) -> str:
        text = str(expr)
        return text if len(text) <= 40 else _("its argument")

    if isinstance(node, sp.Pow):
        base, exponent = node.args
        if not exponent.is_number:
            return ""
        b = value(base)
        if b is None:
            return ""
        if b == 0 and exponent.is_negative:
            return _("a division by zero ({where})").format(where=f"{named(base)} = 0")
        if b < 0 and not exponent.is_integer:
            where = f"{named(base)} = {b:.6g}"
            if exponent == sp.Rational(1, 2) or exponent == -sp.Rational(1, 2):
                return _("the square root of a negative number ({where})").format(where=where)
            return _("a fractional power of a negative number ({where})").format(where=where)
        return ""
    rule = _DOMAINS.get(type(node))
    if rule is None:
        return ""
    outside, words = rule
    a = value(node.args[0])
    if a is None or not outside(a):
        return ""
    return _(words).format(where=f"{named(node.args[0])} = {a:.6g}")


#: function -> (is this argument outside its real domain?, the words for it)
_DOMAINS: dict[type, tuple[Callable[[float], bool], str]] = {
    sp.log: (lambda a: a <= 0, N_("the logarithm of a number ≤ 0 ({where})")),
    sp.asin: (lambda a: abs(a) > 1, N_("asin of a number outside [−1, 1] ({where})")),
    sp.acos: (lambda a: abs(a) > 1, N_("acos of a number outside [−1, 1] ({where})")),
    sp.acosh: (lambda a: a < 1, N_("acosh of a number below 1 ({where})")),
    sp.atanh: (lambda a: abs(a) >= 1, N_("atanh of a number outside (−1, 1) ({where})")),
}
