"""Is f bounded below? Proved from its structure (interval bounds, separate variables, the
shape of a polynomial), refuted by a direction along which f falls without bound (exactly for
polynomials, by a limit for other functions), or left unknown.

Every ``True`` is a proof and every ``False`` comes with the direction that shows it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from symgd.base.i18n import _
from symgd.calculus.intervals import bounds

#: directions tried on the unit sphere when looking for a way down
RAY_DIRECTIONS = 48
#: the ray is followed out to 10**RAY_DECADES
RAY_DECADES = 8


@dataclass(frozen=True)
class Boundedness:
    """Whether f is bounded below (None: not decided), why, and a direction along which f
    falls without bound when it is not."""

    bounded_below: bool | None
    reason: str
    direction: tuple[float, ...] | None = None


def judge_boundedness(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> Boundedness:
    """Decide whether ``expr`` is bounded below over all real values of ``variables``.

    >>> import sympy as sp
    >>> x, y = sp.symbols("x y", real=True)
    >>> judge_boundedness(x**2 + 2*x*y, (x, y)).bounded_below
    False
    >>> judge_boundedness((x - 1)**2 + y**4, (x, y)).reason
    'f ≥ 0, read from its parts: squares, |·|, exp, σ, sin, cos and the like are bounded'
    """
    xs = tuple(variables)
    lo = bounds(expr)[0]
    if lo > -math.inf:
        return Boundedness(
            True,
            _(
                "f ≥ {bound}, read from its parts: squares, |·|, exp, "
                "σ, sin, cos and the like are bounded"
            ).format(bound=_number(lo)),
        )
    groups = _separate(expr, xs)
    if len(groups) > 1:
        verdicts = [(part, used, _judge_part(part, used)) for part, used in groups]
        for _part, used, verdict in verdicts:
            if verdict.bounded_below is False and verdict.direction is not None:
                direction = _embed(verdict.direction, used, xs)
                return Boundedness(False, verdict.reason, direction)
        if all(v.bounded_below for *_rest, v in verdicts):
            return Boundedness(
                True,
                _(
                    "f is a sum of parts in separate variables, each bounded below ({reasons})"
                ).format(reasons="; ".join(v.reason for *_rest, v in verdicts)),
            )
        return Boundedness(
            None, _("symgd could not decide whether every part of f is bounded below")
        )
    return _judge_part(expr, xs)


def _judge_part(expr: sp.Expr, xs: tuple[sp.Symbol, ...]) -> Boundedness:
    lo = bounds(expr)[0]
    if lo > -math.inf:
        return Boundedness(True, _("≥ {bound} term by term").format(bound=_number(lo)))
    if expr.is_polynomial(*xs) and not (expr.free_symbols - set(xs)):
        return _polynomial(sp.Poly(expr, *xs), xs)
    return _ray_search(expr, xs)


def _separate(
    expr: sp.Expr,
    xs: tuple[sp.Symbol, ...],
) -> list[tuple[sp.Expr, tuple[sp.Symbol, ...]]]:
    """The terms of a sum grouped so that no two groups share a variable."""
    groups: list[tuple[list[sp.Expr], set[sp.Symbol]]] = []
    for term in sp.Add.make_args(expr):
        used = term.free_symbols & set(xs)
        joined = [g for g in groups if g[1] & used]
        terms, symbols = [term], set(used)
        for g in joined:
            terms += g[0]
            symbols |= g[1]
            groups.remove(g)
        groups.append((terms, symbols))
    return [
        (sp.Add(*terms), tuple(v for v in xs if v in symbols))
        for terms, symbols in groups
        if symbols
    ]


def _embed(
    direction: tuple[float, ...], used: tuple[sp.Symbol, ...], xs: tuple[sp.Symbol, ...]
) -> tuple[float, ...]:
    where = dict(zip(used, direction, strict=True))
    return tuple(where.get(v, 0.0) for v in xs)


def _number(value: float) -> str:
    return f"{value:.6g}".replace("-", "−")  # a minus sign, not a hyphen


def _falls(direction: Sequence[float], xs: tuple[sp.Symbol, ...]) -> str:
    """How f goes down: "f → −∞ as x → −∞ (the others fixed)" or "f → −∞ along t·(a, b) as
    t → ∞"."""
    if sum(1 for d in direction if d != 0) == 1:
        ((i, d),) = ((i, d) for i, d in enumerate(direction) if d != 0)
        limit = f"{xs[i].name} → {'+' if d > 0 else '−'}∞"
        if len(xs) == 1:
            return _("f → −∞ as {limit}").format(limit=limit)
        return _("f → −∞ as {limit} (the others fixed)").format(limit=limit)
    shown = ", ".join(f"{d:.4g}".replace("-", "−") for d in direction)
    return _("f → −∞ along t·({direction}) as t → ∞").format(direction=shown)


def _polynomial(poly: sp.Poly, xs: tuple[sp.Symbol, ...]) -> Boundedness:
    degree = poly.total_degree()
    if len(xs) == 1:
        lead = float(poly.LC())
        if degree % 2 == 0 and lead > 0:
            return Boundedness(
                True, _("a polynomial of even degree with a positive leading coefficient")
            )
        sign = (-1.0 if lead > 0 else 1.0) if degree % 2 else 1.0
        return Boundedness(False, _falls((sign,), xs), (sign,))
    if degree <= 2:
        return _quadratic(poly, xs)
    return _higher_degree(poly, xs, degree)


def _quadratic(poly: sp.Poly, xs: tuple[sp.Symbol, ...]) -> Boundedness:
    """f = ½xᵀHx + bᵀx + c is bounded below iff H ⪰ 0 and b lies in the range of H."""
    expr = poly.as_expr()
    origin = dict.fromkeys(xs, 0)
    h = np.array([[float(sp.diff(expr, a, b)) for b in xs] for a in xs])
    g = np.array([float(sp.diff(expr, a).subs(origin)) for a in xs])
    values, vectors = np.linalg.eigh(h)
    scale = max(1.0, float(np.abs(values).max()))
    if values[0] < -1e-9 * scale:
        v = vectors[:, 0]
        v = v if v[np.argmax(np.abs(v))] > 0 else -v
        eigenvalue = _eigenvalue_text(h, values[0])
        return Boundedness(
            False,
            _("{falls}, the eigenvector of the Hessian eigenvalue {eigenvalue} < 0").format(
                falls=_falls(tuple(v), xs), eigenvalue=eigenvalue
            ),
            tuple(float(c) for c in v),
        )
    null = vectors[:, np.abs(values) <= 1e-9 * scale]
    if null.shape[1]:
        slope = null @ (null.T @ g)
        if np.linalg.norm(slope) > 1e-9 * max(1.0, float(np.linalg.norm(g))):
            d = -slope / np.linalg.norm(slope)
            return Boundedness(
                False,
                _("{falls}: the Hessian is flat that way and the slope is not").format(
                    falls=_falls(tuple(d), xs)
                ),
                tuple(float(c) for c in d),
            )
        return Boundedness(
            True,
            _("a quadratic whose Hessian is positive semidefinite, flat only where f is constant"),
        )
    return Boundedness(True, _("a quadratic whose Hessian is positive definite"))


def _eigenvalue_text(h: np.ndarray, value: float) -> str:
    """The eigenvalue exactly (1 - √5) when the Hessian is a small rational matrix."""
    if h.shape[0] <= 2 and np.all(h == np.round(h * 1000) / 1000):
        matrix = sp.Matrix(
            [[sp.Rational(Fraction(float(v)).limit_denominator(1000)) for v in row] for row in h]
        )
        for exact in matrix.eigenvals():
            if abs(float(exact) - value) < 1e-9 * max(1.0, abs(value)):
                text = re.sub(r"sqrt\((\d+)\)", r"√\1", str(sp.radsimp(exact)))
                return text.replace("-", "−")
    return f"{value:.4g}".replace("-", "−")


def _higher_degree(poly: sp.Poly, xs: tuple[sp.Symbol, ...], degree: int) -> Boundedness:
    top = sp.Poly.from_dict({m: c for m, c in poly.terms() if sum(m) == degree}, *xs)
    sphere = _sphere(len(xs), 4000)
    values = _evaluate_form(top, sphere)
    if degree % 2 or values.min() < 0:
        u = sphere[int(np.argmin(values))]
        found = _exact_fall(poly, xs, u)
        if found is not None:
            return found
    if _positive_form(top, xs, degree):
        return Boundedness(
            True,
            _(
                "the highest-degree part of the polynomial is positive in "
                "every direction, so f grows without bound far away"
            ),
        )
    # the top form vanishes somewhere: the lower terms decide there
    near_zero = sphere[np.argsort(np.abs(values))[:24]]
    axes = np.vstack([np.eye(len(xs)), -np.eye(len(xs))])
    for u in np.vstack([axes, near_zero, -near_zero]):
        found = _exact_fall(poly, xs, u)
        if found is not None:
            return found
    return Boundedness(
        None,
        _(
            "the highest-degree part of the polynomial vanishes in some "
            "directions; symgd could not decide what the lower terms do there"
        ),
    )


def _evaluate_form(top: sp.Poly, points: np.ndarray) -> np.ndarray:
    total = np.zeros(len(points))
    for monomial, coefficient in top.terms():
        total += float(coefficient) * np.prod(points ** np.array(monomial), axis=1)
    return total


def _sphere(n: int, count: int) -> np.ndarray:
    points = np.random.default_rng(3).normal(size=(count, n))
    unit: np.ndarray = points / np.linalg.norm(points, axis=1, keepdims=True)
    return unit


def _rational(u: np.ndarray) -> tuple[sp.Rational, ...]:
    return tuple(sp.Rational(Fraction(float(c)).limit_denominator(1000)) for c in u)


def _exact_fall(poly: sp.Poly, xs: tuple[sp.Symbol, ...], u: np.ndarray) -> Boundedness | None:
    """f(t·u) as an exact polynomial in t; a direction when it tends to −∞."""
    t = sp.Dummy("t")
    direction = _rational(u)
    if not any(direction):
        return None
    along = sp.Poly(
        poly.as_expr().xreplace({v: c * t for v, c in zip(xs, direction, strict=True)}), t
    )
    if along.degree() <= 0 or along.LC() >= 0:
        return None
    floats = tuple(float(c) for c in direction)
    norm = math.sqrt(sum(c * c for c in floats))
    unit = tuple(c / norm for c in floats)
    return Boundedness(False, _falls(unit, xs), unit)


def _positive_form(top: sp.Poly, xs: tuple[sp.Symbol, ...], degree: int) -> bool:
    """A proof that the homogeneous ``top`` is positive away from 0 (even degree)."""
    if degree % 2:
        return False
    if _dominant_diagonal(top, xs, degree):
        return True
    if len(xs) == 2:
        x, y = xs
        s = sp.Dummy("s")
        corner = top.as_expr().coeff(y, degree).subs(x, 0)
        if not corner.is_number or corner <= 0:
            return False
        slice_ = sp.Poly(top.as_expr().subs({x: 1, y: s}), s)
        return bool(slice_.degree() >= 0 and slice_.count_roots() == 0)
    return False


def _dominant_diagonal(top: sp.Poly, xs: tuple[sp.Symbol, ...], degree: int) -> bool:
    """Σ cᵢ xᵢᵈ dominates the mixed terms by the weighted AM-GM inequality
    |x^α| ≤ Σ (αᵢ/d)|xᵢ|ᵈ."""
    margin = [sp.S.Zero] * len(xs)
    for monomial, coefficient in top.terms():
        pure = [i for i, power in enumerate(monomial) if power]
        if len(pure) == 1:
            margin[pure[0]] += coefficient
        else:
            for i in pure:
                margin[i] -= abs(coefficient) * sp.Rational(monomial[i], degree)
    return all(m > 0 for m in margin)


def _ray_search(expr: sp.Expr, xs: tuple[sp.Symbol, ...]) -> Boundedness:
    """Follow rays from the origin; a ray on which f keeps falling is confirmed by a limit."""
    from symgd.expr.lambdify import lambdify_numpy

    n = len(xs)
    directions = np.vstack([np.eye(n), -np.eye(n), _sphere(n, RAY_DIRECTIONS)])
    t = 10.0 ** np.arange(0, RAY_DECADES + 1)
    points = directions[:, None, :] * t[None, :, None]
    f = lambdify_numpy(xs, expr)
    with np.errstate(all="ignore"):
        values = np.broadcast_to(
            np.asarray(f(*points.reshape(-1, n).T), dtype=float),
            (points.shape[0] * points.shape[1],),
        ).reshape(len(directions), len(t))
    order = np.argsort(values[:, -1])
    for index in order[:6]:
        if not _keeps_falling(values[index]):
            continue
        verdict = _confirm(expr, xs, directions[index])
        if verdict is not None:
            return verdict
    return Boundedness(
        None,
        _(
            "symgd could not prove a lower bound, nor find a direction in which f falls "
            "without bound"
        ),
    )


def _keeps_falling(values: np.ndarray) -> bool:
    if not np.isfinite(values).all():
        return False
    drops = -np.diff(values[-5:])
    if (drops <= 0).any():
        return False
    return bool((drops[1:] >= 0.5 * drops[:-1]).all() and values[-1] < values[0] - 1)


def _confirm(expr: sp.Expr, xs: tuple[sp.Symbol, ...], u: np.ndarray) -> Boundedness | None:
    from symgd.base.limits import BudgetExceeded, ChildError, run_bounded

    direction = _rational(u)
    t = sp.Symbol("t", positive=True)
    along = expr.xreplace({v: c * t for v, c in zip(xs, direction, strict=True)})
    floats = tuple(float(c) for c in direction)
    norm = math.sqrt(sum(c * c for c in floats))
    unit = tuple(c / norm for c in floats)
    try:
        limit = run_bounded(_limit_at_infinity, along, t, seconds=2.0)
    except (BudgetExceeded, ChildError):
        return None
    if limit == "-oo":
        return Boundedness(False, _falls(unit, xs), unit)
    return None


def _limit_at_infinity(expr: sp.Expr, t: sp.Symbol) -> str:
    from symgd.expr.activations import to_elementary

    return str(sp.limit(to_elementary(expr), t, sp.oo))
