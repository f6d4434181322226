"""Section 4, why step against the gradient: the cos θ argument with the numbers at x₀."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from symgd.base.i18n import _
from symgd.lesson.exact_forms import tidy
from symgd.lesson.facts import Facts
from symgd.lesson.sections.function import typesettable
from symgd.lesson.settings import Settings
from symgd.lesson.view import OFF_PAGE, View
from symgd.render.latex import column, num_tex, number, short_exact, value_tex
from symgd.render.worker import Pending


@dataclass(frozen=True)
class DirectionRow(View):
    """The rate of change of f along one direction."""

    name: str
    theta: int
    latex: str


@dataclass(frozen=True)
class SteepestSection(View):
    """Section 4."""

    cos_latex: str
    point_latex: str
    gradient_latex: str
    norm_latex: str
    norm: float
    rows: tuple[DirectionRow, ...]
    one_d: bool
    stationary: str | None
    direction_latex: str
    figure: Pending
    caption: str
    figures: dict[str, Any] = field(default_factory=dict, metadata=OFF_PAGE)
    #: which way the one-variable step goes, when its words cannot sit in the formula
    direction_note: str = ""


def steepest_section(facts: Facts, s: Settings) -> SteepestSection:
    """Section 4."""
    import sympy as sp

    from symgd.render import figures as plots

    g0 = [tidy(facts.exact_at(g, s.start.exact).value) for g in facts.derivation.gradient]
    numeric = [float(v) for v in g0]
    norm_float = math.sqrt(sum(v * v for v in numeric))
    norm_exact = tidy(sp.sqrt(tidy(sum((v**2 for v in g0), sp.Integer(0)))))
    grad_entries = [value_tex(v)[0] for v in g0]
    norm_text = short_exact(norm_exact)
    if norm_text is not None and not norm_exact.is_Rational:
        norm_latex = (
            rf"\lVert\nabla f(x_0)\rVert = {norm_text} "
            rf"\approx {num_tex(norm_float, 5)}"
        )
    elif norm_text is not None:
        norm_latex = rf"\lVert\nabla f(x_0)\rVert = {norm_text}"
    else:
        norm_latex = rf"\lVert\nabla f(x_0)\rVert \approx {num_tex(norm_float, 5)}"
    nl = norm_text if norm_text is not None else num_tex(norm_float, 5)
    against = (
        rf"-\lVert\nabla f\rVert = -{nl}"
        if norm_text is None or len(nl) < 20
        else rf"-\lVert\nabla f\rVert \approx {num_tex(-norm_float, 5)}"
    )
    rows = (
        DirectionRow(_("along ∇f"), 0, rf"+\lVert\nabla f\rVert = {nl}"),
        DirectionRow(_("across ∇f"), 90, "0"),
        DirectionRow(_("against ∇f"), 180, against),
    )
    stationary = None
    direction, note = "", ""
    if norm_float < 1e-12:
        stationary = _(
            "The gradient is zero at this start point, so every direction gives "
            "a rate of change of zero to first order: there is no steepest "
            "direction, and gradient descent would not move."
        )
    else:
        direction, note = _direction_latex(facts.n, g0, numeric, norm_exact)
    return SteepestSection(
        cos_latex=r"df = \nabla f \cdot d\mathbf{x} = \lVert\nabla f\rVert\,"
        r"\lVert d\mathbf{x}\rVert \cos\theta",
        point_latex=rf"x_0 = {s.start.latex}",
        gradient_latex=r"\nabla f(x_0) = "
        + (column(grad_entries) if facts.n > 1 else grad_entries[0]),
        norm_latex=norm_latex,
        norm=norm_float,
        rows=rows,
        one_d=facts.n == 1,
        stationary=stationary,
        direction_latex=direction,
        figure=Pending("steepest"),
        caption=_(
            "The rate of change of f at the start point, per unit step, for a step "
            "at angle θ to the gradient: ‖∇f(x₀)‖ cos θ with ‖∇f(x₀)‖ ≈ "
            "{norm}. It is largest at 0°, zero at 90° and most negative "
            "at 180°."
        ).format(norm=number(norm_float, 4)),
        figures={
            "steepest": plots.FigureJob(
                "directional_figure", {"grad_norm": norm_float, "name": "fig-dir"}
            )
        },
        direction_note=note,
    )


def _direction_latex(
    n: int, g0: list[Any], numeric: list[float], norm_exact: Any
) -> tuple[str, str]:
    """The unit direction of steepest descent, −∇f/‖∇f‖, in LaTeX; and for one variable the
    words saying which way it goes, when they cannot be typeset in the formula ("" else)."""
    if n == 1:
        sign = "-" if numeric[0] > 0 else "+"
        words = _("(move left)") if sign == "-" else _("(move right)")
        latex = rf"-\frac{{\nabla f(x_0)}}{{\lVert\nabla f(x_0)\rVert}} = {sign}1"
        if typesettable(words):
            return rf"{latex} \quad \text{{{words}}}", ""
        return latex, words
    entries = [value_tex(tidy(-v / norm_exact), 3)[0] for v in g0]
    latex = r"\mathbf{u} = -\frac{\nabla f(x_0)}{\lVert\nabla f(x_0)\rVert} = " + column(entries)
    return latex, ""
