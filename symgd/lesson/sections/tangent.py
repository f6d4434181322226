"""Go deeper: the tangent line, plane or hyperplane at x₀, written out exactly, and how the
error of the linearisation, |Δf − df|, shrinks with the length of the move."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symgd.base.i18n import N_, _
from symgd.lesson.exact_forms import tidy
from symgd.lesson.facts import Facts
from symgd.lesson.settings import Settings
from symgd.lesson.view import OFF_PAGE, View
from symgd.render.latex import num_tex, number, shown_indices, signed_sum, tex, value_tex
from symgd.render.worker import Pending

#: significant digits of the arithmetic that measures the error (rounding stays far below it)
DIGITS = 50
#: the lengths of the moves: four per decade from 10⁻⁶ to 1
MOVES = tuple(10.0 ** (-6 + k / 4) for k in range(25))
#: the slope is fitted on the moves up to this length
FIT_UP_TO = 1e-4
#: the longest LaTeX of the linearisation written out before decimals are used
MAX_WRITTEN = 400


@dataclass(frozen=True)
class TangentSection(View):
    """The linearisation of f at x₀ and its error."""

    n: int
    kind: str
    point_latex: str
    value_latex: str
    formula_latex: str
    written_latex: str
    expanded_latex: str | None
    decimals: bool
    direction: str
    error_words: tuple[str, ...]
    slope: float | None
    line_figure: Pending | None
    line_caption: str
    error_figure: Pending | None
    error_caption: str
    figures: dict[str, Any] = field(default_factory=dict, metadata=OFF_PAGE)
    #: f(x₀) + ∇f(x₀)·(x − x₀) as a SymPy expression (exact unless ``decimals``)
    linearisation: Any = field(default=None, metadata=OFF_PAGE)


def tangent_section(facts: Facts, s: Settings) -> TangentSection | None:
    """The tangent line (n = 1), plane (n = 2) or hyperplane (n ≥ 3) at x₀ and the error of
    the linearisation; None when f or ∇f is not a finite number at x₀."""
    import sympy as sp

    point = s.start.exact
    f_found = facts.exact_at(facts.problem.expr, point)
    g_found = [facts.exact_at(g, point) for g in facts.derivation.gradient]
    f0 = tidy(f_found.value)
    g0 = [tidy(e.value) for e in g_found]
    try:
        floats = [float(f0), *(float(g) for g in g0)]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in floats):
        return None
    decimals = f_found.rounded or any(e.rounded for e in g_found)
    linear = f0 + sum(
        (g * (v - a) for g, v, a in zip(g0, facts.variables, point, strict=True)), sp.Integer(0)
    )
    written, expanded = _written(facts, f0, g0, point, linear, decimals)
    if len(written) > MAX_WRITTEN and not decimals:
        decimals = True
        written, expanded = _written(facts, f0, g0, point, linear, decimals)
    kind = {1: "line", 2: "plane"}.get(facts.n, "hyperplane")
    measured = _measure(facts, s, g0)
    figures: dict[str, Any] = {}
    line_figure = None
    if facts.n == 1:
        figures["tangent-line"] = _line_job(facts, s.start.floats[0], floats[0], floats[1])
        line_figure = Pending("tangent-line")
    error_figure = None
    if measured.reference is not None:
        figures["tangent-error"] = _error_job(measured)
        error_figure = Pending("tangent-error")
    return TangentSection(
        n=facts.n,
        kind=kind,
        point_latex=rf"x_0 = {s.start.latex}",
        value_latex=rf"f(x_0) {_equals(value_tex(f0, 6)[0])}",
        formula_latex=_formula(facts.n),
        written_latex=written,
        expanded_latex=expanded,
        decimals=decimals,
        direction=measured.direction,
        error_words=measured.words,
        slope=measured.slope,
        line_figure=line_figure,
        line_caption=_(
            "The graph of f near x₀ = {x0} and its tangent line "
            "there. The short bar is the gap Δf − df between them for one move."
        ).format(x0=number(s.start.floats[0], 6)),
        error_figure=error_figure,
        error_caption=_(
            "The error of the linearisation, |Δf − df|, against the length |dx| of the move "
            "({moves}; log–log, worked in {digits}-digit arithmetic). "
            "The dashed line has slope 2."
        ).format(moves=measured.direction_short, digits=DIGITS),
        figures=figures,
        linearisation=linear,
    )


def _equals(latex: str) -> str:
    return latex if latex.lstrip().startswith(r"\approx") else f"= {latex}"


def _formula(n: int) -> str:
    """The linearisation in symbols."""
    if n == 1:
        return r"T(x) = f(x_0) + f'(x_0)\,(x - x_0)"
    return r"T(\mathbf{x}) = f(x_0) + \nabla f(x_0) \cdot (\mathbf{x} - x_0)"


def _written(
    facts: Facts, f0: Any, g0: Sequence[Any], point: Sequence[Any], linear: Any, decimals: bool
) -> tuple[str, str | None]:
    """The linearisation with the numbers put in, term by term (in 6-digit decimals when
    ``decimals``), and, when exact, different and short, expanded."""
    import sympy as sp

    def show(value: Any) -> str:
        return num_tex(float(value), 6) if decimals else tex(value)

    terms = [show(f0)] if f0 != 0 else []
    for i in shown_indices(facts.n):
        if i is None:
            terms.append(r"\cdots")
            continue
        g, v, a = g0[i], facts.variables[i], point[i]
        if g == 0:
            continue
        shift = tex(v) if a == 0 else rf"\left({tex(sp.Add(v, -a, evaluate=False))}\right)"
        coefficient = show(g)
        if isinstance(g, sp.Add) and not decimals:
            coefficient = rf"\left({coefficient}\right)"
        if g == 1:
            terms.append(shift)
        elif g == -1:
            terms.append(f"-{shift}")
        else:
            terms.append(rf"{coefficient}\,{shift}")
    head = r"T(x) = " if facts.n == 1 else r"T(\mathbf{x}) = "
    written = head + (signed_sum(terms) if terms else "0")
    expanded = None
    if not decimals and facts.n <= 8 and sp.count_ops(linear) <= 200:
        text = tex(tidy(sp.expand(linear)))
        if text not in written and len(text) <= MAX_WRITTEN:
            expanded = text
    return written, expanded


@dataclass(frozen=True)
class _Measured:
    """The error of the linearisation along one direction."""

    direction: str
    direction_short: str
    moves: tuple[float, ...]
    errors: tuple[float, ...]
    slope: float | None
    reference: float | None
    reference_label: str
    words: tuple[str, ...]


def _direction(facts: Facts, g0: Sequence[Any]) -> tuple[list[float], str, str]:
    """The unit direction of the moves: steepest descent, or (1, …, 1)/√n at a critical point."""
    numeric = [float(v) for v in g0]
    norm = math.sqrt(sum(v * v for v in numeric))
    if norm > 0:
        if facts.n == 1 and numeric[0] > 0:
            return (
                [-1.0],
                _("The moves go downhill from x₀, to the left."),
                _("moves to the left"),
            )
        if facts.n == 1:
            return (
                [1.0],
                _("The moves go downhill from x₀, to the right."),
                _("moves to the right"),
            )
        return (
            [-v / norm for v in numeric],
            _("The moves go along the steepest-descent direction −∇f(x₀)/‖∇f(x₀)‖."),
            _("moves along −∇f(x₀)"),
        )
    if facts.n == 1:
        return (
            [1.0],
            _("The moves go to the right (f′(x₀) = 0 gives no downhill)."),
            _("moves right"),
        )
    return (
        [1.0 / math.sqrt(facts.n)] * facts.n,
        _(
            "∇f(x₀) = 0, so there is no steepest direction: the moves go along (1, …, 1)/√{n}."
        ).format(n=facts.n),
        _("moves along (1, …, 1)/√{n}").format(n=facts.n),
    )


def _errors(
    facts: Facts, s: Settings, g0: Sequence[Any], d: Sequence[float]
) -> tuple[list[float], list[float], float]:
    """|f(x₀ + t d) − f(x₀) − t ∇f(x₀)·d| for each move t, in :data:`DIGITS`-digit arithmetic,
    and the size of f(x₀) (the scale of what counts as zero)."""
    import sympy as sp

    from symgd.calculus.exact import decimal_at

    expr = facts.problem.expr
    x0 = s.start.exact
    base = decimal_at(expr, dict(zip(facts.variables, x0, strict=True)), DIGITS)
    slope = sum(
        (
            sp.Float(g.evalf(DIGITS), DIGITS) * sp.Float(c, DIGITS)
            for g, c in zip(g0, d, strict=True)
        ),
        sp.Float(0, DIGITS),
    )
    moves: list[float] = []
    errors: list[float] = []
    for t in MOVES:
        mapping = {
            v: sp.Float(a, DIGITS) + sp.Float(t, DIGITS) * sp.Float(c, DIGITS)
            for v, a, c in zip(facts.variables, x0, d, strict=True)
        }
        value = decimal_at(expr, mapping, DIGITS)
        gap = value - base - sp.Float(t, DIGITS) * slope
        try:
            error = abs(complex(gap.evalf(DIGITS)))
        except (TypeError, ValueError):
            continue
        if not sp.sympify(value).is_real or not math.isfinite(error):
            continue
        moves.append(t)
        errors.append(error)
    return moves, errors, max(1.0, abs(float(base)))


def _measure(facts: Facts, s: Settings, g0: Sequence[Any]) -> _Measured:
    """The error of the linearisation against |dx|, its measured slope, and the words."""
    d, direction, short = _direction(facts, g0)
    moves, errors, scale = _errors(facts, s, g0, d)
    zero = 10.0 ** (12 - DIGITS) * scale
    fit = [(t, e) for t, e in zip(moves, errors, strict=True) if t <= FIT_UP_TO and e > zero]
    slope = None
    if len(fit) >= 4:
        xs = [math.log10(t) for t, _ in fit]
        ys = [math.log10(e) for _, e in fit]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
    hessian = facts.hess_at(s.start.floats)
    curvature = float(
        sum(d[i] * hessian[i][j] * d[j] for i in range(facts.n) for j in range(facts.n))
    )
    predicted = abs(curvature) / 2 * fit[0][0] ** 2 if fit else 0.0
    close = predicted > 0 and abs(fit[0][1] / predicted - 1) < 0.1
    words = _error_words(facts, slope, (curvature, close), errors, zero)
    reference = None
    label = ""
    if slope is not None and abs(curvature) > 1e-12 and math.isfinite(curvature):
        reference, label = abs(curvature) / 2, N_("½|dᵀH d|·|dx|² (slope 2)")
    elif slope is not None:
        reference, label = fit[0][1] / fit[0][0] ** 2, N_("slope 2, for comparison")
    return _Measured(direction, short, tuple(moves), tuple(errors), slope, reference, label, words)


def _error_words(
    facts: Facts,
    slope: float | None,
    curvature: tuple[float, bool],
    errors: Sequence[float],
    zero: float,
) -> tuple[str, ...]:
    """What the measured errors say, for these numbers (``curvature``: dᵀH d, and whether the
    smallest move's error is within 10% of ½|dᵀH d|·|dx|²)."""
    one = facts.n == 1
    q_name = "f″(x₀)" if one else "dᵀH d"
    if not errors:
        return (
            _(
                "symgd could not evaluate f near x₀ along this direction, so the error is not "
                "shown."
            ),
        )
    if slope is None and all(e <= zero for e in errors):
        if _linear(facts):
            return (_linear_words(facts.n),)
        return (
            _(
                "Along this direction f changes exactly linearly near x₀: the error is zero (up to "
                "the rounding of {digits}-digit arithmetic) for every move tried, so there is no "
                "slope to draw."
            ).format(digits=DIGITS),
        )
    if slope is None:
        return (_("The errors are too small to measure a slope from."),)
    measured = _("The slope measured on the moves up to |dx| = 10⁻⁴ is {slope}.").format(
        slope=f"{slope:.2f}"
    )
    if abs(slope - 2) < 0.15:
        second = _(
            "So the error is second order: halve the move and the error falls about fourfold. "
            "That is why df = {df} is trusted only for small "
            "moves: its error vanishes faster than the move itself."
        ).format(df="f′(x₀) dx" if one else "∇f · dx")
        if curvature[1]:
            close = (
                _("For small moves the error is close to ½|{q}|·|dx|², with {q} ≈ {value}.")
                if one
                else _(
                    "For small moves the error is close to ½|{q}|·|dx|², with {q} ≈ {value} "
                    "(H the Hessian at x₀, d the unit direction)."
                )
            )
            second += " " + close.format(q=q_name, value=number(curvature[0], 4))
        return (measured, second)
    if slope > 2.5:
        power = str(round(slope)).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        faster = (
            _(
                "Here {q} ≈ {value}: f has no curvature at x₀, so the second-order term is "
                "missing and the error falls faster than |dx|², about like |dx|{power}."
            )
            if one
            else _(
                "Here {q} ≈ {value}: the Hessian gives this direction no curvature, so the "
                "second-order term is missing and the error falls faster than |dx|², about "
                "like |dx|{power}."
            )
        )
        return (measured, faster.format(q=q_name, value=number(curvature[0], 3), power=power))
    slower = (
        _("The error falls more slowly than |dx|² here.")
        if facts.smooth
        else _("The error falls more slowly than |dx|² here, as it can near a kink of f.")
    )
    rest = _("df is still the first-order part of Δf, but the rest is not small in the usual way.")
    return (measured, f"{slower} {rest}")


def _linear_words(n: int) -> str:
    """The words for a linear f, whose tangent is f itself."""
    if n == 1:
        text = _(
            "f is linear, so its tangent line is f itself: Δf = df for every move, and the "
            "error is zero (up to the rounding of {digits}-digit arithmetic). There is no "
            "slope to draw."
        )
    elif n == 2:
        text = _(
            "f is linear, so its tangent plane is f itself: Δf = df for every move, and the "
            "error is zero (up to the rounding of {digits}-digit arithmetic). There is no "
            "slope to draw."
        )
    else:
        text = _(
            "f is linear, so its tangent hyperplane is f itself: Δf = df for every move, and "
            "the error is zero (up to the rounding of {digits}-digit arithmetic). There is no "
            "slope to draw."
        )
    return text.format(digits=DIGITS)


def _linear(facts: Facts) -> bool:
    import sympy as sp

    expr = facts.problem.expr
    if not expr.is_polynomial(*facts.variables):
        return False
    return bool(sp.Poly(expr, *facts.variables).total_degree() <= 1)


def _error_job(measured: _Measured) -> Any:
    from symgd.render.figures import FigureJob

    return FigureJob(
        "linearisation_error_figure",
        {
            "steps": list(measured.moves),
            "errors": list(measured.errors),
            "reference": measured.reference,
            "reference_label": measured.reference_label,
            "name": "fig-tangent-error",
        },
    )


def _line_job(facts: Facts, x0: float, f0: float, slope: float) -> Any:
    """The graph of f near x₀ with its tangent line (one variable)."""
    import numpy as np

    from symgd.render.figures import FigureJob

    width = max(1.0, 0.25 * abs(x0))
    xs = np.linspace(x0 - width, x0 + width, 241)
    with np.errstate(all="ignore"):
        fs = facts.compiled.value_at(xs.reshape(-1, 1))
    fs = np.where(np.isfinite(fs), fs, np.nan)
    return FigureJob(
        "tangent_line_figure",
        {
            "xs": [float(v) for v in xs],
            "fs": [float(v) for v in fs],
            "x0": x0,
            "f0": f0,
            "slope": slope,
            "gap": -0.5 * width if slope > 0 else 0.5 * width,
            "variable": facts.names[0],
            "name": "fig-tangent-line",
        },
    )
