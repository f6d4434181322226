"""Facts about f, worked out once when it is derived, for every sentence a lesson says about
it: smooth or where its kinks are, bounded below, periodic, inflection points, whether the
list of critical points is complete, convexity and the condition number at the minimum.

Each fact is True/False (or a verdict) only when it was shown, with the reason as a short
phrase; None or ``"unknown"`` otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.i18n import _
from symgd.calculus.boundedness import judge_boundedness
from symgd.calculus.convexity import Convexity, verdict_words
from symgd.calculus.kink_points import (
    KinkPoint,
    PiecewiseForm,
    classify_kink_point,
    corner_points,
    piecewise_form,
)
from symgd.calculus.kinks import Kink, on_a_kink
from symgd.calculus.newton import SEARCH_RADIUS
from symgd.calculus.points import CriticalPoint, kind_words
from symgd.calculus.shape import (
    higher_order_kind,
    inflection_points,
    invariant_direction,
    periodicity,
)
from symgd.expr.problem import Problem, to_text

CRITICAL_SETS = ("complete", "incomplete", "infinite")


@dataclass(frozen=True)
class PointNature:
    """What a degenerate critical point turned out to be (``minimum``, ``maximum``,
    ``inflection``, ``saddle`` or ``unknown``), and why."""

    coordinates: tuple[sp.Expr, ...]
    kind: str
    reason: str


@dataclass(frozen=True)
class Facts:
    """What is known about f before any run."""

    smooth: bool
    kinks: tuple[str, ...]
    bounded_below: bool | None
    bounded_below_reason: str
    periodic: bool | None
    periodic_reason: str
    critical_set: str
    critical_set_reason: str
    convexity: str
    convexity_reason: str
    condition_number: float | None
    condition_number_reason: str
    #: a direction along which f → −∞ (when ``bounded_below`` is False)
    falls_along: tuple[float, ...] | None = None
    #: one variable only: where f'' changes sign
    inflection_points: tuple[sp.Expr, ...] = ()
    inflection_reason: str = ""
    #: points on a kink where 0 is a generalised gradient (∇f is undefined there)
    kink_points: tuple[KinkPoint, ...] = ()
    #: what each degenerate critical point is, when a test beyond the Hessian decides it
    degenerate_points: tuple[PointNature, ...] = ()


def unknown_facts(convexity: Convexity, kinks: Sequence[Kink], why: str) -> Facts:
    """The facts when the analysis did not finish: only what the structure of f shows."""
    return Facts(
        smooth=not kinks,
        kinks=tuple(k.text for k in kinks),
        bounded_below=None,
        bounded_below_reason=why,
        periodic=None,
        periodic_reason=why,
        critical_set="incomplete",
        critical_set_reason=why,
        convexity=convexity.verdict,
        convexity_reason=convexity.reason,
        condition_number=None,
        condition_number_reason=why,
    )


def compute_facts(
    problem: Problem,
    gradient: tuple[sp.Expr, ...],
    hessian: sp.Matrix,
    points: tuple[CriticalPoint, ...],
    complete: bool,
    capped: bool,
    convexity: Convexity,
    kinks: Sequence[Kink],
) -> tuple[Facts, tuple[CriticalPoint, ...]]:
    """The facts, and the critical points left once those on a kink (where ∇f is undefined)
    are moved to :attr:`Facts.kink_points`."""
    xs = problem.variables
    smooth_points, kink_points = _split_kink_points(problem, points, kinks, convexity)
    shape = periodicity(problem.expr, xs)
    if problem.parameters:
        bounded = None
        bounded_reason = _("f has parameters; whether it is bounded below depends on them")
        direction = None
    else:
        verdict = judge_boundedness(problem.expr, xs)
        bounded, bounded_reason, direction = (
            verdict.bounded_below,
            verdict.reason,
            verdict.direction,
        )
    minima = [p for p in smooth_points if p.kind == "minimum" and not p.free] + [
        k for k in kink_points if k.kind == "minimum"
    ]
    if bounded is None and minima and convexity.verdict in ("convex", "strictly convex"):
        bounded, bounded_reason = (
            True,
            _("f is convex and has a minimum, so f ≥ its value there"),
        )
    critical_set, critical_reason = _critical_set(
        problem, gradient, smooth_points, kink_points, complete, capped, shape.periodic
    )
    kappa, kappa_reason = _condition_number(smooth_points, hessian, xs, kink_points, bool(kinks))
    inflections, inflection_reason = (), ""
    if len(xs) == 1 and not problem.parameters:
        found = inflection_points(hessian[0, 0], xs[0], shape.periodic)
        inflections, inflection_reason = found.points, found.reason
    natures = _degenerate_natures(problem, smooth_points, convexity.verdict)
    facts = Facts(
        smooth=not kinks,
        kinks=tuple(k.text for k in kinks),
        bounded_below=bounded,
        bounded_below_reason=bounded_reason,
        falls_along=direction,
        periodic=shape.periodic,
        periodic_reason=shape.reason,
        critical_set=critical_set,
        critical_set_reason=critical_reason,
        convexity=convexity.verdict,
        convexity_reason=convexity.reason,
        condition_number=kappa,
        condition_number_reason=kappa_reason,
        inflection_points=inflections,
        inflection_reason=inflection_reason,
        kink_points=kink_points,
        degenerate_points=natures,
    )
    return facts, smooth_points


def _split_kink_points(
    problem: Problem,
    points: tuple[CriticalPoint, ...],
    kinks: Sequence[Kink],
    convexity: Convexity,
) -> tuple[tuple[CriticalPoint, ...], tuple[KinkPoint, ...]]:
    xs = problem.variables
    smooth_kinks = [k for k in kinks if not k.jump]
    if not smooth_kinks:
        return points, ()
    form = piecewise_form(problem.expr, xs)
    kept: list[CriticalPoint] = []
    candidates: list[tuple[sp.Expr, ...]] = []
    unknown: list[KinkPoint] = []
    for p in points:
        kink = None if p.free else on_a_kink(p.as_floats(), smooth_kinks, xs)
        if kink is None:
            kept.append(p)
        elif form is not None:
            candidates.append(
                tuple(
                    sp.nsimplify(c, rational=True, tolerance=1e-10)
                    if isinstance(c, sp.Float)
                    else c
                    for c in p.coordinates
                )
            )
        else:
            unknown.append(
                KinkPoint(
                    p.coordinates,
                    p.value,
                    "unknown",
                    _(
                        "∇f is undefined here (a kink of {function}); symgd cannot tell what "
                        "kind of point it is"
                    ).format(function=kink.function),
                )
            )
    found = _classified(form, problem, candidates, convexity) if form is not None else []
    return tuple(kept), tuple(found + unknown)


def _classified(
    form: PiecewiseForm, problem: Problem, extra: list[tuple[sp.Expr, ...]], convexity: Convexity
) -> list[KinkPoint]:
    xs = problem.variables
    result: list[KinkPoint] = []
    seen: set[tuple[sp.Expr, ...]] = set()
    for point in corner_points(form, xs) + extra:
        if point in seen:
            continue
        seen.add(point)
        classified = classify_kink_point(form, xs, point, problem.expr, convexity.verdict)
        if classified is not None:
            result.append(classified)
    return result


def _critical_set(
    problem: Problem,
    gradient: tuple[sp.Expr, ...],
    points: tuple[CriticalPoint, ...],
    kink_points: tuple[KinkPoint, ...],
    complete: bool,
    capped: bool,
    periodic: bool | None,
) -> tuple[str, str]:
    free = [p for p in points if p.free]
    if free:
        names = ", ".join(s.name for s in free[0].free)
        return "infinite", _("the critical points form a whole set ({names} free)").format(
            names=names
        )
    if points or kink_points:
        if periodic:
            return "infinite", _("f is periodic, so every critical point repeats with the period")
        # an exact solve that found only isolated points rules a line of them out
        direction = (
            None
            if problem.parameters or complete
            else invariant_direction(gradient, problem.variables)
        )
        if direction is not None:
            text = ", ".join(to_text(c) for c in direction)
            return "infinite", _(
                "f does not change along the direction ({direction}), so each "
                "critical point lies on a whole line of them"
            ).format(direction=text)
        on_curve = _on_a_curve(problem.variables, gradient, points)
        if on_curve is not None:
            return "infinite", _(
                "∇f stays 0 when one moves from the critical point "
                "({point}) along its flat direction: a whole curve of "
                "critical points"
            ).format(point=on_curve)
    if complete:
        return "complete", _("the exact solver found every solution of ∇f = 0")
    box = f"[{-SEARCH_RADIUS:g}, {SEARCH_RADIUS:g}]"
    if capped:
        return "incomplete", _(
            "the numeric search in the box {box} stopped at a cap; the "
            "points kept are the minima with the lowest f first"
        ).format(box=box)
    return "incomplete", _(
        "found by a numeric search in the box {box}; there may be others there or outside it"
    ).format(box=box)


def _on_a_curve(
    xs: tuple[sp.Symbol, ...], gradient: tuple[sp.Expr, ...], points: tuple[CriticalPoint, ...]
) -> str | None:
    """A degenerate critical point from which ∇f stays 0 along a Hessian null direction."""
    from symgd.expr.lambdify import lambdify_numpy

    degenerate = [p for p in points if p.kind == "degenerate" and not p.free][:8]
    if not degenerate:
        return None
    grad = lambdify_numpy(xs, tuple(gradient))
    hess = lambdify_numpy(xs, tuple(sp.diff(g, v) for g in gradient for v in xs))
    n = len(xs)
    for p in degenerate:
        centre = np.array(p.as_floats())
        with np.errstate(all="ignore"):
            h = np.array([float(v) for v in hess(*centre)]).reshape(n, n)
            if not np.isfinite(h).all():
                continue
            values, vectors = np.linalg.eigh((h + h.T) / 2)
            scale = max(1.0, float(np.abs(values).max()))
            for v in vectors[:, np.abs(values) <= 1e-9 * scale].T:
                for side in (-1.0, 1.0):
                    moved = [
                        np.array([float(c) for c in grad(*(centre + side * e * v))])
                        for e in (0.1, 0.5)
                    ]
                    if all(np.isfinite(m).all() and np.abs(m).max() < 1e-12 * scale for m in moved):
                        return ", ".join(_text(c) for c in p.coordinates)
    return None


def _condition_number(
    points: tuple[CriticalPoint, ...],
    hessian: sp.Matrix,
    xs: tuple[sp.Symbol, ...],
    kink_points: tuple[KinkPoint, ...],
    kinked: bool,
) -> tuple[float | None, str]:
    minima = [p for p in points if p.kind == "minimum" and not p.free]
    if not minima:
        if any(k.kind == "minimum" for k in kink_points):
            return None, _("the minimum is at a kink, where the Hessian is undefined")
        return None, _("f has no minimum with a positive definite Hessian among the points found")
    lowest = min(minima, key=lambda p: float(p.value))
    values = [float(v) for v in lowest.eigenvalues]
    if min(values) <= 0:
        return None, _("the Hessian at the minimum is not positive definite")
    kappa = max(values) / min(values)
    where = ", ".join(
        to_text(c) if not isinstance(c, sp.Float) else f"{float(c):.6g}" for c in lowest.coordinates
    )
    constant = not (hessian.free_symbols & set(xs)) and not kinked
    ratio = f"λ_max/λ_min = {max(values):.6g}/{min(values):.6g}"
    return float(f"{kappa:.12g}"), (
        _("{ratio} everywhere (the Hessian is constant)").format(ratio=ratio)
        if constant
        else _("{ratio} at the minimum ({point})").format(ratio=ratio, point=where)
    )


def _degenerate_natures(
    problem: Problem,
    points: tuple[CriticalPoint, ...],
    convexity: str,
) -> tuple[PointNature, ...]:
    xs = problem.variables
    result: list[PointNature] = []
    for p in points:
        if p.kind != "degenerate" or p.free:
            continue
        decided: tuple[str, str] | None = None
        if convexity in ("convex", "strictly convex"):
            decided = ("minimum", _("f is convex, so a point where ∇f = 0 is a global minimum"))
        elif convexity in ("concave", "strictly concave"):
            decided = ("maximum", _("f is concave, so a point where ∇f = 0 is a global maximum"))
        elif len(xs) == 1:
            decided = higher_order_kind(problem.expr, xs[0], p.coordinates[0])
        else:
            decided = _sampled_nature(problem, p)
        if decided is not None:
            result.append(PointNature(p.coordinates, *decided))
        else:
            result.append(
                PointNature(
                    p.coordinates,
                    "unknown",
                    _("the second-order test cannot classify it, and no other test decided"),
                )
            )
    return tuple(result)


def _sampled_nature(problem: Problem, point: CriticalPoint) -> tuple[str, str] | None:
    """A saddle when f is both lower and higher than at the point on small circles around it."""
    from symgd.expr.lambdify import lambdify_numpy

    xs = problem.variables
    f = lambdify_numpy(xs, problem.expr)
    centre = np.array(point.as_floats())
    directions = np.random.default_rng(11).normal(size=(400, len(xs)))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        here = float(f(*centre))
        for radius in (1e-2, 1e-3):
            around = centre + radius * directions
            values = np.broadcast_to(np.asarray(f(*around.T), dtype=float), (len(around),))
            tolerance = 1e-12 * max(1.0, abs(here))
            if not ((values < here - tolerance).any() and (values > here + tolerance).any()):
                return None
    return (
        "saddle",
        _(
            "f is lower than there in some directions and higher in others, "
            "however close one looks: neither a minimum nor a maximum"
        ),
    )


def facts_to_json(facts: Facts, names: Sequence[str]) -> dict[str, Any]:
    """The ``"facts"`` object of ``symgd derive --json``."""

    def point(coordinates: Sequence[sp.Expr]) -> dict[str, str]:
        return {n: _text(c) for n, c in zip(names, coordinates, strict=True)}

    return {
        "smooth": facts.smooth,
        "kinks": list(facts.kinks),
        "bounded_below": facts.bounded_below,
        "periodic": facts.periodic,
        "critical_set": facts.critical_set,
        "convexity": facts.convexity,
        "condition_number": facts.condition_number,
        "reasons": {
            "bounded_below": facts.bounded_below_reason,
            "periodic": facts.periodic_reason,
            "critical_set": facts.critical_set_reason,
            "convexity": facts.convexity_reason,
            "condition_number": facts.condition_number_reason,
        },
        "falls_along": None if facts.falls_along is None else list(facts.falls_along),
        "inflection_points": [_text(v) for v in facts.inflection_points],
        "kink_points": [
            {
                "point": point(k.coordinates),
                "value": _text(k.value),
                "kind": k.kind,
                "reason": k.reason,
            }
            for k in facts.kink_points
        ],
        "degenerate_points": [
            {"point": point(d.coordinates), "kind": d.kind, "reason": d.reason}
            for d in facts.degenerate_points
        ],
    }


def format_facts(facts: Facts, names: Sequence[str]) -> list[str]:
    """The facts in plain words, one line each, for ``symgd derive``."""

    def yes_no(value: bool | None) -> str:
        return {True: _("yes"), False: _("no"), None: _("unknown")}[value]

    sets = {"complete": _("complete"), "incomplete": _("incomplete"), "infinite": _("infinite")}
    lines = [_("Facts:")]
    lines.append(
        "  " + _("Smooth: yes (differentiable everywhere it is defined)")
        if facts.smooth
        else "  "
        + _("Smooth: no, not differentiable where {kinks}").format(kinks="; ".join(facts.kinks))
    )
    lines.append(
        "  "
        + _("Bounded below: {answer} ({reason})").format(
            answer=yes_no(facts.bounded_below), reason=facts.bounded_below_reason
        )
    )
    lines.append(
        "  "
        + _("Periodic: {answer} ({reason})").format(
            answer=yes_no(facts.periodic), reason=facts.periodic_reason
        )
    )
    lines.append(
        "  "
        + _("Critical points: {answer} ({reason})").format(
            answer=sets.get(facts.critical_set, facts.critical_set),
            reason=facts.critical_set_reason,
        )
    )
    lines.append("  " + _("Convexity: {verdict}").format(verdict=verdict_words(facts.convexity)))
    if facts.condition_number is not None:
        lines.append(
            "  "
            + _("Condition number κ = {kappa} ({reason})").format(
                kappa=f"{facts.condition_number:.6g}", reason=facts.condition_number_reason
            )
        )
    if facts.inflection_points or facts.inflection_reason:
        shown = ", ".join(_text(v) for v in facts.inflection_points) or _("none")
        lines.append(
            "  "
            + _("Inflection points: {points} ({reason})").format(
                points=shown, reason=facts.inflection_reason
            )
        )
    for k in facts.kink_points:
        where = ", ".join(f"{n} = {_text(c)}" for n, c in zip(names, k.coordinates, strict=True))
        lines.append(
            "  "
            + _("Kink point ({point}), f = {value}: {kind} ({reason})").format(
                point=where, value=_text(k.value), kind=kind_words(k.kind), reason=k.reason
            )
        )
    for d in facts.degenerate_points:
        where = ", ".join(f"{n} = {_text(c)}" for n, c in zip(names, d.coordinates, strict=True))
        kind = kind_words(d.kind)
        lines.append(
            "  "
            + _("Degenerate point ({point}): {kind} ({reason})").format(
                point=where, kind=kind, reason=d.reason
            )
        )
    return lines


def _text(value: sp.Expr) -> str:
    if isinstance(value, sp.Float):
        return f"{float(value):.10g}"
    return to_text(value)
