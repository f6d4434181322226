"""The key's worked solutions: for each exercise, lines of words and display LaTeX.

The first four kinds depend on the function only (:func:`worked_solution` of a sheet's
derivation); the hand steps and the convergence question read their exercise's exact data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symgd.base.i18n import N_, _, pgettext
from symgd.calculus.derivation import Derivation
from symgd.calculus.exact import DECIMAL_DIGITS
from symgd.calculus.hand_steps import KINK_FUNCTIONS, DescentSteps, real_number
from symgd.handout.model import Exercise, RateQuestion, Sheet, positive
from symgd.handout.rate_exercise import rate_reason
from symgd.handout.text import SUBSCRIPTS, number_text, point_symbol, tex

#: an exact hand-step number whose LaTeX is longer than this is shown as a decimal in the key
MAX_EXACT_LATEX = 60
#: a one-line formula with more LaTeX than this is broken into lines (it would not fit a page)
WIDE_LATEX = 140


@dataclass(frozen=True)
class Line:
    """One line of a worked solution: words, a display formula, or both."""

    text: str = ""
    latex: str = ""


def worked_solution(sheet: Sheet, exercise: Exercise) -> tuple[Line, ...]:
    """The key's worked solution of one exercise, as lines of words and LaTeX."""
    d = sheet.derivation
    builder = {
        "gradient": _solve_gradient,
        "total_differential": _solve_differential,
        "hessian": _solve_hessian,
        "critical_points": _solve_critical_points,
    }.get(exercise.kind)
    if builder is not None:
        return builder(d)
    if exercise.kind == "descent_steps" and exercise.steps is not None:
        return _solve_steps(d, exercise.steps, exercise.cautions)
    if exercise.kind == "learning_rate" and exercise.rate is not None:
        return _solve_rate(exercise.rate)
    raise ValueError(f"unknown exercise kind {exercise.kind!r}")  # pragma: no cover


def _partial_latex(variable: sp.Symbol, one: bool, order: int = 1) -> str:
    v = tex(variable)
    if one:
        return "f" + "'" * order + f"({v})"
    return f"f_{{{v}}}"


def _rules_used(d: Derivation, variable: sp.Symbol) -> str:
    """The differentiation rules used for one partial, in order of first use."""
    try:
        from symgd.calculus.rules import derivative_steps
    except ImportError:  # pragma: no cover - the steps stage is part of the package
        return ""
    others = tuple(v for v in d.variables if v != variable)
    tree = derivative_steps(d.expr, variable, others=others)
    titles: list[str] = []
    for step in tree.walk():
        if step.rule in {"simplify", "direct", "no_rule"}:
            continue
        title = step.title.lower() if titles else step.title
        if title.lower() not in (t.lower() for t in titles):
            titles.append(title)
    return ", ".join(titles)


def _solve_gradient(d: Derivation) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    lines = []
    for v, g in zip(d.variables, d.gradient, strict=True):
        rules = _rules_used(d, v)
        text = (
            ""
            if one
            else _(
                "Differentiate by {name}, holding the other variables fixed (f_{name} is short "
                "for ∂f/∂{name})."
            ).format(name=v.name)
        )
        if rules:
            used = _("Rules: {rules}.").format(rules=rules)
            text = (text + " " if text else "") + used
        lines.append(Line(text=text, latex=f"{_partial_latex(v, one)} = {tex(g)}"))
    if not one:
        lines.append(Line(text=_("So the gradient is"), latex=rf"\nabla f = {_column(d.gradient)}"))
    return tuple(lines)


def _solve_differential(d: Derivation) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    terms = [
        rf"\left({tex(g)}\right)\,{tex(s)}"
        for g, s in zip(d.gradient, d.differentials, strict=True)
    ]
    text = (
        _("df is the derivative times the small change of the variable:")
        if one
        else _("df adds up each partial derivative times the small change of its variable:")
    )
    if sum(len(t) for t in terms) <= WIDE_LATEX:
        return (Line(text=text, latex=f"df = {' + '.join(terms)}"),)
    rows = r" \\ &\quad + ".join(terms)
    return (Line(text=text, latex=rf"\begin{{aligned}} df &= {rows} \end{{aligned}}"),)


def _solve_hessian(d: Derivation) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    if one:
        v = d.variables[0]
        return (
            Line(
                text=_("Differentiate f′ once more:"),
                latex=f"{_partial_latex(v, True, 2)} = {tex(d.hessian[0, 0])}",
            ),
        )
    matrix = tex(sp.Matrix(d.hessian))
    if len(matrix) <= 3 * WIDE_LATEX:
        lines = [
            Line(
                text=_(
                    "Entry (i, j) is the derivative of the i-th gradient component by the "
                    "j-th variable:"
                ),
                latex=f"H = {matrix}",
            ),
        ]
    else:  # too wide to print as a matrix: its entries one per line (H is symmetric)
        xs = d.variables
        rows = r" \\ ".join(
            rf"f_{{{tex(xs[i])}{tex(xs[j])}}} &= {tex(d.hessian[i, j])}"
            for i in range(len(xs))
            for j in range(i, len(xs))
        )
        lines = [
            Line(
                text=_(
                    "Entry (i, j) of H is the derivative of the i-th gradient component by "
                    "the j-th variable; H is symmetric, so these entries give all of it:"
                ),
                latex=rf"\begin{{aligned}} {rows} \end{{aligned}}",
            ),
        ]
    if d.hessian_is_constant:
        lines.append(Line(text=_constant_hessian_words(d)))
    return tuple(lines)


def _constant_hessian_words(d: Derivation) -> str:
    """Why H does not depend on the point, claiming "quadratic" only of a polynomial of
    degree 2 and saying where a kink (abs, relu, max, ...) leaves f without a Hessian."""
    kinks = sorted(
        {
            type(atom).__name__
            for atom in d.expr.atoms(sp.Function, sp.Abs)
            if type(atom).__name__ in KINK_FUNCTIONS
        }
    )
    if kinks:
        names = ", ".join(_(_KINK_NAMES[k]) if k in _KINK_NAMES else k for k in kinks)
        return _(
            "It does not depend on the point, except where the argument of {names} is zero: "
            "there f has a kink and no second derivative."
        ).format(names=names)
    try:
        degree = sp.Poly(d.expr, *d.variables).total_degree()
    except sp.PolynomialError:
        degree = None
    if degree == 2:
        return _("It does not depend on the point: f is quadratic.")
    if degree == 1:
        return _("It is zero at every point: f is linear.")
    if degree == 0:
        return _("It is zero at every point: f is constant.")
    return _("It does not depend on the point.")


_KINK_NAMES = {"Abs": "abs", "Max": "max", "Min": "min", "Heaviside": N_("a step")}


def _solve_critical_points(d: Derivation) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    system = r" \\ ".join(f"{tex(g)} &= 0" for g in d.gradient)
    lines = [
        Line(
            text=_("Set every partial derivative to zero:")
            if not one
            else _("Set the derivative to zero:"),
            latex=rf"\begin{{aligned}} {system} \end{{aligned}}",
        )
    ]
    if not d.critical_points:
        lines.append(
            Line(
                text=_("This system has no real solution: f has no critical points.")
                if d.critical_points_complete
                else _("No real solution was found (a numeric search found none either).")
            )
        )
    for point in d.critical_points:
        coords = ", ".join(_coordinate_latex(c) for c in point.coordinates)
        where = coords if one else rf"\left({coords}\right)"
        eig = ", ".join(_coordinate_latex(v) for v in point.eigenvalues)
        label = "f''" if one else r"\lambda"
        lines.append(
            Line(
                text=_point_words(point.kind, [s.name for s in point.free]),
                latex=rf"{where}:\quad {label} = {eig},\quad f = {_coordinate_latex(point.value)}",
            )
        )
    if not d.critical_points_complete and d.critical_points:
        lines.append(
            Line(
                text=_(
                    "These points come from a numeric search; the list may be "
                    "incomplete (decimals are rounded)."
                )
            )
        )
    return tuple(lines)


#: what the second-derivative test says of a critical point, by its kind
POINT_WORDS = {
    "minimum": N_("At this point: a minimum."),
    "maximum": N_("At this point: a maximum."),
    "saddle": N_("At this point: a saddle point."),
    "degenerate": N_("At this point: inconclusive (a zero eigenvalue): the test does not decide."),
}
#: the same for a whole set of critical points, ``{free}`` naming the free variables
SET_WORDS = {
    "minimum": N_("At this point (a whole set: {free} can be anything): a minimum."),
    "maximum": N_("At this point (a whole set: {free} can be anything): a maximum."),
    "saddle": N_("At this point (a whole set: {free} can be anything): a saddle point."),
    "degenerate": N_(
        "At this point (a whole set: {free} can be anything): inconclusive (a zero "
        "eigenvalue): the test does not decide."
    ),
}


def _point_words(kind: str, free: Sequence[str]) -> str:
    """The key's sentence on a critical point's kind (a kind it does not know: as named)."""
    names = ", ".join(free)
    if kind in POINT_WORDS:
        message = SET_WORDS[kind] if free else POINT_WORDS[kind]
        return _(message).format(free=names)
    if free:
        return _("At this point (a whole set: {free} can be anything): {kind}.").format(
            free=names, kind=kind
        )
    return _("At this point: {kind}.").format(kind=kind)


def _coordinate_latex(value: sp.Expr) -> str:
    if isinstance(value, sp.Float):
        return f"{float(value):.6g}"
    return tex(value)


def _solve_steps(
    d: Derivation, worked: DescentSteps, cautions: Sequence[str] = ()
) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    eta = tex(worked.eta)
    grad_name = "f'" if one else r"\nabla f"
    name = d.variables[0].name if one else point_symbol(d.variables)
    x = tex(d.variables[0]) if one else {"ξ": r"\xi"}.get(name, name)
    lines = [
        Line(
            text=_("Apply the update rule twice:"),
            latex=rf"{x}_{{k+1}} = {x}_k - \eta\, {grad_name}({x}_k),\qquad \eta = {eta}",
        )
    ]
    for k, step in enumerate(worked.steps):
        x_k, _rounded = _shown_vector(step.point, one)
        gradient, rounded = _shown_vector(step.gradient, one)
        where = f"{name}{str(k).translate(SUBSCRIPTS)}"
        lines.append(
            Line(
                text=(
                    _("Step {n}: the derivative at {point}.")
                    if one
                    else _("Step {n}: the gradient at {point}.")
                ).format(n=k + 1, point=where),
                latex=rf"{grad_name}({x}_{k}) {_relation(rounded)} {gradient}",
            )
        )
        following, rounded_next = _shown_vector(step.next_point, one)
        approx = "" if rounded_next else _approx_latex(step.next_point, one)
        update = (
            rf"{x_k} - {eta}\left({gradient}\right)"
            if one
            else rf"{x}_{k} - {eta}\,{grad_name}({x}_{k})"
        )
        relation = _relation(rounded or rounded_next)
        lines.append(Line(latex=rf"{x}_{k + 1} = {update} {relation} {following}{approx}"))
    values = []
    for k, v in enumerate(worked.values):
        shown, rounded = _shown(v)
        values.append(
            rf"f({x}_{k}) {_relation(rounded)} {shown}" + ("" if rounded else _approx_scalar(v))
        )
    verdict = steps_verdict(worked, name)
    lines.append(
        Line(
            text=_("The values of f: {verdict}").format(verdict=verdict),
            latex=r",\quad ".join(values),
        )
    )
    lines.extend(Line(text=caution) for caution in cautions)
    return tuple(lines)


#: how f changed at a step (:meth:`~symgd.calculus.hand_steps.DescentSteps.changes`), in words
CHANGE_WORDS = {
    -1: N_("fell at the {ordinal} step"),
    0: N_("stayed the same at the {ordinal} step"),
    1: N_("rose at the {ordinal} step"),
    None: N_("changed by less than the decimals can show at the {ordinal} step"),
}


def _change_words(change: int | None, last: bool) -> str:
    """How f changed at a step, in words; when another change follows (``last`` false) in
    the form that joins the next one (Korean joins clauses with a connective ending; the
    English words are the same)."""
    if last:
        return _(CHANGE_WORDS[change])
    joining = {
        -1: pgettext("another clause follows", "fell at the {ordinal} step"),
        0: pgettext("another clause follows", "stayed the same at the {ordinal} step"),
        1: pgettext("another clause follows", "rose at the {ordinal} step"),
        None: pgettext(
            "another clause follows",
            "changed by less than the decimals can show at the {ordinal} step",
        ),
    }
    return joining[change]


def _ordinal(k: int) -> str:
    """The (k + 1)-th, in words."""
    ordinals = (
        pgettext("ordinal", "first"),
        pgettext("ordinal", "second"),
        pgettext("ordinal", "third"),
        pgettext("ordinal", "fourth"),
        pgettext("ordinal", "fifth"),
    )
    return ordinals[k] if k < len(ordinals) else pgettext("ordinal", "{n}th").format(n=k + 1)


def steps_verdict(worked: DescentSteps, name: str) -> str:
    """Did f decrease, in words decided by the exact values and gradients: which step made f
    fall, stay or rise, and why when the numbers say why."""
    changes = worked.changes()
    if all(c == -1 for c in changes):
        return _("it fell at both steps.") if len(changes) == 2 else _("it fell at every step.")
    if all(c is None for c in changes):
        return _(
            "to the {digits} significant digits worked, f has the same value at every point: "
            "it changed by less than that precision."
        ).format(digits=DECIMAL_DIGITS)
    told = ""
    for k, c in enumerate(changes):
        last = k == len(changes) - 1
        clause = _change_words(c, last).format(ordinal=_ordinal(k))
        told = clause if not told else _("{earlier} and {later}").format(earlier=told, later=clause)
    reasons = []
    for k, (step, change) in enumerate(zip(worked.steps, changes, strict=True)):
        point = f"{name}{str(k).translate(SUBSCRIPTS)}"
        if all(g.is_zero for g in step.gradient):
            reasons.append(
                _(
                    "{point} is a critical point (the gradient is zero there), so the step from "
                    "it does not move"
                ).format(point=point)
            )
        elif change in (0, 1):
            reasons.append(
                _(
                    "the gradient at {point} is not zero, so a small enough η would have lowered "
                    "f: η = {eta} is too large for the step from {point}"
                ).format(point=point, eta=number_text(worked.eta))
            )
    if not reasons:
        return _("it {told}.").format(told=told)
    return _("it {told}; {reasons}.").format(told=told, reasons="; ".join(reasons))


def _shown(value: sp.Expr) -> tuple[str, bool]:
    """LaTeX for a hand-step number: exact when short, else a decimal (flagged ``True``)."""
    text = tex(value)
    if len(text) <= MAX_EXACT_LATEX:
        return text, False
    number = real_number(value)
    return (text, False) if number is None else (f"{number:.5g}", True)


def _shown_vector(values: Sequence[sp.Expr], one: bool) -> tuple[str, bool]:
    shown = [_shown(v) for v in values]
    rounded = any(r for _shown_text, r in shown)
    if one:
        return shown[0][0], rounded
    body = r" \\ ".join(s for s, _flag in shown)
    return r"\begin{pmatrix}" + body + r"\end{pmatrix}", rounded


def _relation(rounded: bool) -> str:
    return r"\approx" if rounded else "="


def _column(values: Sequence[sp.Expr]) -> str:
    return r"\begin{pmatrix}" + r" \\ ".join(tex(v) for v in values) + r"\end{pmatrix}"


def _approx_latex(values: Sequence[sp.Expr], one: bool) -> str:
    if all(v.is_Rational and (v.is_Integer or 10**6 % v.q == 0) for v in values):
        return ""
    numbers = [real_number(v) for v in values]
    text = ", ".join(f"{x:.5g}" for x in numbers if x is not None)
    return rf" \approx {text}" if one else rf" \approx \left({text}\right)"


def _approx_scalar(value: sp.Expr) -> str:
    if value.is_Rational and (value.is_Integer or 10**6 % value.q == 0):
        return ""
    number = real_number(value)
    return "" if number is None else rf" \approx {number:.5g}"


def _solve_rate(rate: RateQuestion) -> tuple[Line, ...]:
    one = len(rate.variables) == 1
    g = rate.name
    lines = []
    if one:
        lines.append(
            Line(
                text=_("The second derivative of {g} is constant:").format(g=g),
                latex=f"{g}'' = {tex(rate.eigenvalues[0])}",
            )
        )
    else:
        eig = ", ".join(tex(v) for v in rate.eigenvalues)
        lines.append(
            Line(
                text=_("The Hessian of {g} is constant; its eigenvalues:").format(g=g),
                latex=rf"H = {tex(sp.Matrix(rate.hessian))},\qquad "
                rf"\lambda = {eig}",
            )
        )
    factors = ", ".join(tex(c) for c in rate.factors)
    if one:
        lines.append(
            Line(
                text=_(
                    "Each step multiplies the offset from the critical point by 1 − η{g}″:"
                ).format(g=g),
                latex=rf"1 - \eta\,{g}'' = {factors}\qquad (\eta = {tex(rate.eta)})",
            )
        )
    else:
        lines.append(
            Line(
                text=_("Each step multiplies the error along each eigenvector by 1 − ηλ:"),
                latex=rf"1 - \eta\lambda = {factors}\qquad (\eta = {tex(rate.eta)})",
            )
        )
    threshold = rate.threshold
    if threshold is not None:
        bound = rf"\frac{{2}}{{{g}''}}" if one else r"\frac{2}{\lambda_{\max}}"
        lines.append(Line(latex=rf"{bound} = {tex(threshold)}"))
    lines.append(Line(text=rate_reason(rate)))
    if rate.limit is not None:
        where = ", ".join(tex(v) for v in rate.limit)
        lines.append(
            Line(
                text=_("It converges to the minimiser, where the gradient vanishes:"),
                latex=where if one else rf"\left({where}\right)",
            )
        )
        zigzag = [c for c in rate.factors if not positive(c) and c != 0]
        if zigzag:
            lines.append(
                Line(
                    text=_(
                        "A negative factor means that component changes sign at every step: "
                        "from a start where it is not zero, the path zig-zags while it converges."
                    )
                )
            )
    return tuple(lines)
