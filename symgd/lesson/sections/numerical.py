"""Go deeper: the numerical gradient (central differences, h = 10⁻⁴) beside the exact one at
x₀, and how the error of forward and central differences depends on h."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symgd.base.i18n import _, n_
from symgd.lesson.exact_forms import tidy
from symgd.lesson.facts import Facts
from symgd.lesson.settings import Settings
from symgd.lesson.view import OFF_PAGE, View
from symgd.lesson.words import partial_symbol
from symgd.numeric.finite_difference import H, central_difference, forward_difference
from symgd.render.latex import number, shown_indices, value_tex
from symgd.render.worker import Pending

#: machine epsilon of a double, 2⁻⁵²
EPSILON = 2.0**-52
#: the steps h of the error figure: four per decade from 10⁻¹ to 10⁻¹²
STEPS = tuple(10.0 ** (-1 - k / 4) for k in range(45))


@dataclass(frozen=True)
class NumericalRow(View):
    """One partial derivative: exact, numerical, and their difference."""

    symbol_latex: str
    exact_latex: str
    numerical: str
    difference: str


@dataclass(frozen=True)
class NumericalSection(View):
    """The numerical gradient against the exact one."""

    point_latex: str
    formula_latex: str
    h: float
    rows: tuple[NumericalRow, ...]
    elided: bool
    values: tuple[float, ...]
    max_abs_error: float
    max_error_text: str
    measure: str
    rounded: str | None
    verdict: tuple[str, ...]
    figure_words: tuple[str, ...]
    cost: str
    figure: Pending
    caption: str
    figures: dict[str, Any] = field(default_factory=dict, metadata=OFF_PAGE)


def numerical_section(facts: Facts, s: Settings) -> NumericalSection | None:
    """The central-difference gradient at x₀ beside the exact one; None where f cannot be
    evaluated within h of x₀ or the exact gradient is not a finite number there."""
    x0 = s.start.floats
    found = [facts.exact_at(g, s.start.exact) for g in facts.derivation.gradient]
    exact = [tidy(e.value) for e in found]
    try:
        reference = [float(v) for v in exact]
    except (TypeError, ValueError):
        return None
    numerical = central_difference(facts.f_at, x0, H)
    if not all(math.isfinite(v) for v in [*reference, *numerical]):
        return None
    errors = [abs(a - b) for a, b in zip(numerical, reference, strict=True)]
    worst = max(errors)
    rows = tuple(
        NumericalRow(
            symbol_latex=partial_symbol(facts.variables[i], facts.n),
            exact_latex=value_tex(exact[i], 6)[0],
            numerical=number(numerical[i], 15),
            difference=number(numerical[i] - reference[i], 3),
        )
        for i in shown_indices(facts.n)
        if i is not None
    )
    third = _third(facts, x0)
    curves = _error_curves(facts, x0, reference, third)
    measure = (
        _("The error is |numerical − exact|.")
        if facts.n == 1
        else _(
            "The error is the largest of the {n} coordinate errors, "
            "max over i of |numericalᵢ − exactᵢ|."
        ).format(n=facts.n)
    )
    return NumericalSection(
        point_latex=rf"x_0 = {s.start.latex}",
        formula_latex=r"\frac{\partial f}{\partial x_i} \approx "
        r"\frac{f(x_0 + h\,e_i) - f(x_0 - h\,e_i)}{2h}, \qquad h = 10^{-4}",
        h=H,
        rows=rows,
        elided=len(rows) < facts.n,
        values=tuple(numerical),
        max_abs_error=worst,
        max_error_text=number(worst, 3),
        measure=measure,
        rounded=(
            _(
                "The exact values grew too long to work with exactly, so they were worked "
                "in 30-digit decimals."
            )
            if any(e.rounded for e in found)
            else None
        ),
        verdict=_verdict(facts, s, reference, worst, third),
        figure_words=_figure_words(facts, curves),
        cost=_cost(facts.n),
        figure=Pending("numerical"),
        caption=_caption(curves.zeros),
        figures={
            "numerical": _figure_job(curves),
        },
    )


def _cost(n: int) -> str:
    """What exact derivatives save against the numerical loop."""
    return n_(
        "symgd differentiates f exactly, once, with SymPy: every step of descent then "
        "evaluates the {n} formula of the gradient, "
        "with no h to choose and no truncation error. The numerical loop would cost "
        "2n = {n2} evaluations of f per step (n = {n}), and every step would "
        "carry an error like the one above.",
        "symgd differentiates f exactly, once, with SymPy: every step of descent then "
        "evaluates the {n} formulas of the gradient, "
        "with no h to choose and no truncation error. The numerical loop would cost "
        "2n = {n2} evaluations of f per step (n = {n}), and every step would "
        "carry an error like the one above.",
        n,
    ).format(n=n, n2=2 * n)


def _caption(zeros: bool) -> str:
    """The caption of the error figure (``zeros``: some errors are exactly 0)."""
    caption = _(
        "Largest coordinate error of the numerical gradient at x₀ against the step h, "
        "for forward and central differences (log–log). Dashed lines show the slopes; "
        "dotted lines mark h = √ε ≈ 1.5 × 10⁻⁸ and h = ∛ε ≈ 6.1 × 10⁻⁶ "
        "(ε = 2⁻⁵² ≈ 2.2 × 10⁻¹⁶)."
    )
    if zeros:
        caption += " " + _("Hollow marks at the bottom edge are errors of exactly 0.")
    return caption


@dataclass(frozen=True)
class _Curves:
    """The error against h for both differences, and the guide lines' scales."""

    forward: tuple[float, ...]
    central: tuple[float, ...]
    second: float
    third: float | None
    rounding: float | None
    zeros: bool


def _error_curves(
    facts: Facts, x0: Sequence[float], reference: Sequence[float], third: float | None
) -> _Curves:
    """The largest coordinate error of each difference for every h in :data:`STEPS`."""

    def worst(values: Sequence[float]) -> float:
        return max(abs(a - b) for a, b in zip(values, reference, strict=True))

    forward = tuple(worst(forward_difference(facts.f_at, x0, h)) for h in STEPS)
    central = tuple(worst(central_difference(facts.f_at, x0, h)) for h in STEPS)
    hessian = facts.hess_at(x0)
    second = max(abs(float(hessian[i][i])) for i in range(facts.n))
    small = [e * h for e, h in zip(central, STEPS, strict=True) if h <= 1e-9 and e > 0]
    rounding = math.exp(sum(math.log(v) for v in small) / len(small)) if small else None
    zeros = any(not v > 0 for v in (*forward, *central))
    return _Curves(forward, central, second, third, rounding, zeros)


def _third(facts: Facts, x0: Sequence[float]) -> float | None:
    """The largest |∂³f/∂xᵢ³| at x₀ (0 for a quadratic), None when it cannot be evaluated."""
    import sympy as sp

    if facts.is_quadratic():
        return 0.0
    largest = 0.0
    mapping = {v: sp.Float(c, 30) for v, c in zip(facts.variables, x0, strict=True)}
    for g, v in zip(facts.derivation.gradient, facts.variables, strict=True):
        try:
            value = float(sp.diff(g, v, 2).xreplace(mapping).evalf(30))
        except (TypeError, ValueError):
            return None
        if not math.isfinite(value):
            return None
        largest = max(largest, abs(value))
    return largest


def _figure_job(curves: _Curves) -> Any:
    from symgd.render.figures import FigureJob

    return FigureJob(
        "difference_error_figure",
        {
            "hs": list(STEPS),
            "forward": list(curves.forward),
            "central": list(curves.central),
            "forward_slope": curves.second / 2 if curves.second > 0 else None,
            "central_slope": curves.third / 6 if curves.third else None,
            "rounding": curves.rounding,
            "used_h": H,
            "name": "fig-numerical-error",
        },
    )


def _verdict(
    facts: Facts, s: Settings, reference: Sequence[float], worst: float, third: float | None
) -> tuple[str, ...]:
    """Why the numerical gradient is as close as it is, in sentences true for these numbers."""
    words: list[str] = []
    f0 = abs(facts.f_at(s.start.floats))
    rounding = f"ε|f(x₀)|/h ≈ {number(EPSILON * f0 / H, 2)}" if f0 > 0 else None
    error = number(worst, 3)
    if facts.is_quadratic():
        exact = (
            _(
                "f is linear, so its third derivatives are zero and the central difference "
                "has no truncation error: in exact arithmetic (f(x₀ + h eᵢ) − f(x₀ − h eᵢ))/2h "
                "equals the partial derivative for every h."
            )
            if _linear(facts)
            else _(
                "f is a quadratic, so its third derivatives are zero and the central difference "
                "has no truncation error: in exact arithmetic (f(x₀ + h eᵢ) − f(x₀ − h eᵢ))/2h "
                "equals the partial derivative for every h."
            )
        )
        left = (
            _(
                "What is left is rounding: each value of f is stored with a relative error of "
                "about ε ≈ 2.2 × 10⁻¹⁶, and dividing the difference by 2h magnifies it to "
                "about {rounding}."
            ).format(rounding=rounding)
            if rounding
            else _(
                "What is left is rounding: each value of f is stored with a relative error of "
                "about ε ≈ 2.2 × 10⁻¹⁶, and dividing the difference by 2h magnifies it."
            )
        )
        measured = _("The measured error here is {error}.").format(error=error)
        words.append(f"{exact} {left} {measured}")
    else:
        words.append(_truncation_words(third))
        words.append(
            _("The measured error is {error}; rounding alone is of order {rounding}.").format(
                error=error, rounding=rounding
            )
            if rounding
            else _("The measured error is {error}.").format(error=error)
        )
    words.extend(_size_words(reference, worst))
    if not facts.smooth:
        words.append(
            _(
                "f has kinks: where the two points x₀ ± h eᵢ lie on different sides of one, the "
                "difference quotient averages two slopes and matches neither."
            )
        )
    return tuple(words)


def _truncation_words(third: float | None) -> str:
    """The truncation error of the central difference for an f that is not a quadratic."""
    if third is None:
        return _(
            "f is not a quadratic, so the central difference has a truncation error of "
            "order h² times third derivatives; symgd could not evaluate those at x₀."
        )
    if third == 0:
        return _(
            "f is not a quadratic, but its third derivatives along the axes are zero at "
            "x₀, so the h² term of the error vanishes here; what is left comes from "
            "higher derivatives (order h⁴) and from rounding."
        )
    return _(
        "f is not a quadratic, so the central difference has a truncation error: "
        "about (h²/6)·|∂³f/∂xᵢ³| in coordinate i. The largest third derivative "
        "along an axis at x₀ is about {third}, which gives "
        "(h²/6) × {third} ≈ {bound} at h = 10⁻⁴."
    ).format(third=number(third, 3), bound=number(H * H * third / 6, 2))


def _size_words(reference: Sequence[float], worst: float) -> list[str]:
    """A warning when the exact gradient is zero or as small as the error."""
    largest = max(abs(v) for v in reference)
    if largest == 0:
        return [
            _(
                "The exact gradient is zero at x₀, so there is no relative error to speak of: "
                "the differences above are absolute."
            )
        ]
    if largest < 1e-8 or worst > 1e-3 * largest:
        return [
            _(
                "The largest exact partial is only about {largest}, so an error of "
                "{error} is large beside it: read the numerical gradient with care."
            ).format(largest=number(largest, 3), error=number(worst, 3))
        ]
    return [
        _(
            "Relative to the largest exact partial ({largest}) the error is about {relative}."
        ).format(largest=number(largest, 4), relative=number(worst / largest, 2))
    ]


def _figure_words(facts: Facts, curves: _Curves) -> tuple[str, ...]:
    """What the figure shows, for these curves."""
    best_forward = STEPS[min(range(len(STEPS)), key=lambda k: curves.forward[k])]
    best_central = STEPS[min(range(len(STEPS)), key=lambda k: curves.central[k])]
    if curves.third == 0 and facts.is_quadratic():
        central = _(
            "Here the central difference has no truncation error, so its curve is rounding "
            "alone: it rises as h shrinks, roughly like ε/h."
        )
    elif curves.third == 0:
        central = _(
            "The third derivatives along the axes are zero at x₀, so the h² term of the "
            "central difference vanishes and its error falls faster (like h⁴) until "
            "rounding takes over."
        )
    else:
        central = _(
            "Central differences fall like h² (slope 2) until rounding takes over, around "
            "h ≈ ∛ε ≈ 6 × 10⁻⁶ when f and its derivatives are of size about 1."
        )
    if _linear(facts):
        forward = _(
            "f is linear, so forward differences have no truncation error either: both "
            "curves are rounding alone."
        )
    elif curves.second == 0:
        forward = _(
            "The second derivatives along the axes are zero at x₀, so the forward "
            "difference loses its h term here and its error falls faster (like h²) until "
            "rounding takes over."
        )
    else:
        forward = _(
            "As h shrinks, the truncation error of forward differences falls like h "
            "(slope 1 on log–log axes), but rounding grows like ε/h (slope −1): the two "
            "balance near h ≈ √ε ≈ 1.5 × 10⁻⁸ when f and its derivatives are of size about 1."
        )
    measured = _(
        "On this function the smallest forward error is at h ≈ {forward} "
        "and the smallest central error at h ≈ {central} (of the "
        "{count} values of h tried)."
    ).format(forward=number(best_forward, 2), central=number(best_central, 2), count=len(STEPS))
    return (forward, central, measured)


def _linear(facts: Facts) -> bool:
    """True when f is a polynomial of degree at most 1."""
    import sympy as sp

    expr = facts.problem.expr
    if not expr.is_polynomial(*facts.variables):
        return False
    return bool(sp.Poly(expr, *facts.variables).total_degree() <= 1)


def numerical_json(section: NumericalSection | None) -> dict[str, Any]:
    """The numerical gradient for ``symgd explain --json`` ({} when there is no section)."""
    if section is None:
        return {}
    return {
        "numerical_gradient": {
            "h": section.h,
            "values": list(section.values),
            "max_abs_error": section.max_abs_error,
        }
    }
