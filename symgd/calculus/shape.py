"""The shape of f along lines: periodic in a variable, constant along a direction, and (for one
variable) where its curvature changes sign (inflection points) and what a degenerate critical
point is (the first derivative that does not vanish there decides)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from symgd.base.i18n import _, n_
from symgd.expr.activations import ceiling, floor
from symgd.expr.problem import to_text

_TRIG = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)
#: the inflection points of a function that is not polynomial are looked for in this box
INFLECTION_RADIUS = 5.0


@dataclass(frozen=True)
class Periodicity:
    periodic: bool | None
    reason: str
    #: (variable name, period as text) for each variable in which f repeats
    periods: tuple[tuple[str, str], ...] = ()


def periodicity(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> Periodicity:
    """Whether f repeats itself when a variable moves by a fixed amount.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y", real=True)
    >>> periodicity(sp.sin(x)*sp.cos(y), (x, y)).periods
    (('x', '2*pi'), ('y', '2*pi'))
    """
    periods: list[tuple[str, str]] = []
    for v in variables:
        period = _period_in(expr, v)
        if period is not None:
            periods.append((v.name, to_text(period)))
    if periods:
        where = ", ".join(
            _("{name} (period {period})").format(name=name, period=p) for name, p in periods
        )
        return Periodicity(
            True,
            n_(
                "f repeats itself in {where}: it depends on it only through sin/cos "
                "of affine expressions",
                "f repeats itself in {where}: it depends on them only through sin/cos "
                "of affine expressions",
                len(periods),
            ).format(where=where),
            tuple(periods),
        )
    if not expr.has(*_TRIG, sp.floor, sp.ceiling, floor, ceiling):
        return Periodicity(False, _("f contains no periodic function (sin, cos, tan, floor)"))
    return Periodicity(
        None, _("f contains periodic functions, but symgd found no period of f itself")
    )


def _period_in(expr: sp.Expr, v: sp.Symbol) -> sp.Expr | None:
    """The period of ``expr`` in ``v`` when v appears only in trig functions of arguments
    c·v + (terms free of v) with commensurable coefficients c."""
    coefficients: list[sp.Expr] = []
    stack: list[sp.Basic] = [expr]
    while stack:
        node = stack.pop()
        if v not in node.free_symbols:
            continue
        if node == v:
            return None
        if isinstance(node, _TRIG):
            c = sp.diff(node.args[0], v)
            if c.free_symbols or c == 0:
                return None
            coefficients.append(c)
            rest = sp.expand(node.args[0] - c * v)
            if v in rest.free_symbols:
                return None
            stack.append(rest)
            continue
        stack.extend(node.args)
    if not coefficients:
        return None
    first = coefficients[0]
    ratios = [sp.nsimplify(c / first) for c in coefficients]
    if not all(r.is_Rational for r in ratios):
        return None
    common = math.lcm(*(int(sp.Rational(r).q) for r in ratios))
    return sp.simplify(2 * sp.pi * common / abs(first))


def invariant_direction(
    gradient: Sequence[sp.Expr],
    variables: Sequence[sp.Symbol],
) -> tuple[sp.Rational, ...] | None:
    """A direction d with ∇f·d = 0 everywhere (f constant along d), or None."""
    from symgd.expr.lambdify import lambdify_numpy

    xs = tuple(variables)
    n = len(xs)
    if n < 2:
        return None
    grad = lambdify_numpy(xs, tuple(gradient))
    points = np.random.default_rng(7).uniform(-2, 2, size=(16, n))
    with np.errstate(all="ignore"):
        rows = np.array([[float(c) for c in grad(*p)] for p in points])
    rows = rows[np.isfinite(rows).all(axis=1)]
    if len(rows) < n:
        return None
    _, singular, vt = np.linalg.svd(rows)
    if singular[-1] > 1e-9 * max(1.0, singular[0]):
        return None
    d = vt[-1] / np.abs(vt[-1]).max()
    exact = tuple(sp.Rational(Fraction(float(c)).limit_denominator(100)) for c in d)
    along = sp.Add(*(c * g for c, g in zip(exact, gradient, strict=True)))
    if sp.expand(along) == 0 or sp.simplify(along) == 0:
        return exact
    return None


@dataclass(frozen=True)
class Inflections:
    points: tuple[sp.Expr, ...]
    complete: bool
    reason: str


def inflection_points(second: sp.Expr, x: sp.Symbol, periodic: bool | None) -> Inflections:
    """Where f'' changes sign: exactly (odd-multiplicity real roots) when f'' is a polynomial,
    else by sign changes on a grid over the search box."""
    if not second.free_symbols:
        return Inflections((), True, _("f'' is constant"))
    if second.is_polynomial(x) and not (second.free_symbols - {x}):
        roots: list[sp.Expr] = []
        for factor, multiplicity in sp.factor_list(sp.Poly(second, x))[1]:
            if multiplicity % 2:
                roots.extend(factor.real_roots())
        tidy = sorted(
            {sp.nsimplify(r) if r.is_Rational else r for r in roots}, key=lambda r: float(r)
        )
        return Inflections(
            tuple(tidy),
            True,
            _("f'' is a polynomial; its roots of odd multiplicity are all the inflection points"),
        )
    from symgd.expr.lambdify import lambdify_numpy

    f2 = lambdify_numpy((x,), second)
    grid = np.linspace(-INFLECTION_RADIUS, INFLECTION_RADIUS, 4001)
    with np.errstate(all="ignore"):
        values = np.broadcast_to(np.asarray(f2(grid), dtype=float), grid.shape)
    found: list[sp.Expr] = []
    for i in np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0):
        lo, hi = grid[i], grid[i + 1]
        for _step in range(60):
            mid = (lo + hi) / 2
            with np.errstate(all="ignore"):
                if np.sign(float(f2(mid))) == np.sign(values[i]):
                    lo = mid
                else:
                    hi = mid
        found.append(sp.Float(round((lo + hi) / 2, 10), 12))
    box = f"[{-INFLECTION_RADIUS:g}, {INFLECTION_RADIUS:g}]"
    if periodic:
        return Inflections(
            tuple(found),
            False,
            _("f is periodic: infinitely many; those in {box} are listed").format(box=box),
        )
    return Inflections(
        tuple(found), False, _("sign changes of f'' found numerically in {box}").format(box=box)
    )


def higher_order_kind(expr: sp.Expr, x: sp.Symbol, at: sp.Expr) -> tuple[str, str] | None:
    """(kind, reason) of a degenerate critical point of a function of one variable: the first
    derivative that does not vanish there has an odd order (inflection, neither minimum nor
    maximum) or an even one (its sign decides)."""
    derivative = sp.diff(expr, x, 2)
    for order in range(3, 13):
        derivative = sp.diff(derivative, x)
        try:
            value = complex(derivative.xreplace({x: at}).evalf(30))
        except (TypeError, ValueError):
            return None
        if abs(value) > 1e-12:
            if order % 2:
                return (
                    "inflection",
                    _(
                        "the first derivative that is not 0 there is {derivative}, of odd "
                        "order: f rises on one side and falls on the other, so it is neither "
                        "a minimum nor a maximum"
                    ).format(derivative=_nth(order)),
                )
            kind = "minimum" if value.real > 0 else "maximum"
            text = (
                _(
                    "the first derivative that is not 0 there is {derivative}, of even order "
                    "and positive: a flat-bottomed minimum"
                )
                if kind == "minimum"
                else _(
                    "the first derivative that is not 0 there is {derivative}, of even order "
                    "and negative: a flat-bottomed maximum"
                )
            )
            return kind, text.format(derivative=_nth(order))
    return None


def _nth(order: int) -> str:
    """The ``order``-th derivative of f as a reader writes it: f‴ for 3, f⁽⁴⁾ beyond."""
    if order <= 3:
        return "f" + "′" * order
    return "f⁽" + str(order).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"
