"""Section 3, the total differential df = ∇f · dx, checked on a small step from x₀."""

from __future__ import annotations

import math
from dataclasses import dataclass

from symgd.lesson.facts import Facts
from symgd.lesson.settings import Settings
from symgd.lesson.view import View
from symgd.lesson.words import partial_symbol
from symgd.render.latex import column, num_tex, point_tex, shown_indices, signed_sum, tex


@dataclass(frozen=True)
class DifferentialCheck(View):
    """df predicted by the differential against the actual change of f."""

    step_latex: str
    predicted_latex: str
    actual_latex: str


@dataclass(frozen=True)
class DifferentialSection(View):
    """Section 3."""

    step_latex: str
    latex: str
    dot_latex: str
    check: DifferentialCheck | None


def differential_section(facts: Facts, s: Settings) -> DifferentialSection:
    """Section 3."""
    import sympy as sp

    d = facts.derivation
    n = facts.n
    shown = shown_indices(n)
    general = " + ".join(
        rf"{partial_symbol(facts.variables[i], n)}\,{tex(d.differentials[i])}"
        if i is not None
        else r"\dots"
        for i in shown
    )
    concrete = signed_sum(
        [
            r"\dots"
            if i is None
            else rf"\left({tex(d.gradient[i])}\right) {tex(d.differentials[i])}"
            if isinstance(d.gradient[i], sp.Add)
            else rf"{tex(d.gradient[i])}\,{tex(d.differentials[i])}"
            for i in shown
        ]
    )
    dx = (
        column([tex(d.differentials[i]) if i is not None else r"\vdots" for i in shown])
        if n > 1
        else tex(d.differentials[0])
    )
    grad = (
        column([tex(d.gradient[i]) if i is not None else r"\vdots" for i in shown])
        if n > 1
        else rf"\left({tex(d.gradient[0])}\right)"
        if isinstance(d.gradient[0], sp.Add)  # f′ · dx, not 4x³ − 6x + 1 · dx
        else tex(d.gradient[0])
    )
    return DifferentialSection(
        step_latex=rf"d\mathbf{{x}} = {point_tex([tex(dv) for dv in d.differentials])}",
        latex=rf"df = {general} = {concrete}",
        dot_latex=rf"df = \nabla f \cdot d\mathbf{{x}} = {grad} \cdot {dx}",
        check=_check(facts, s),
    )


def _check(facts: Facts, s: Settings) -> DifferentialCheck | None:
    """df for the step (1/100, −1/100, ...) from x₀ against Δf, both exact."""
    import sympy as sp

    start = s.start.exact
    expr = facts.problem.expr
    step = [sp.Rational(1, 100) * (1 if i % 2 == 0 else -1) for i in range(facts.n)]
    try:
        g0 = [facts.exact_at(g, start).value for g in facts.derivation.gradient]
        predicted = sum((a * b for a, b in zip(g0, step, strict=True)), sp.Integer(0))
        moved = [a + b for a, b in zip(start, step, strict=True)]
        actual = facts.exact_at(expr, moved).value - facts.exact_at(expr, start).value
        p, a = float(predicted), float(actual)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (math.isfinite(p) and math.isfinite(a)):
        return None
    return DifferentialCheck(
        step_latex=rf"d\mathbf{{x}} = {point_tex([tex(v) for v in step])}",
        predicted_latex=rf"df \approx {num_tex(p, 6)}",
        actual_latex=rf"\Delta f = {num_tex(a, 6)}",
    )
