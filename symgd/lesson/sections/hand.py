"""Section 6, the update rule worked by hand: two steps of plain descent in exact arithmetic
(:func:`symgd.calculus.hand_steps.walk_steps`), in decimals once the exact numbers would pass
200 digits, stopping where f or ∇f is undefined."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgd.base.i18n import _
from symgd.lesson.exact_forms import direction, tidy
from symgd.lesson.facts import Facts
from symgd.lesson.settings import Settings
from symgd.lesson.view import View
from symgd.render.latex import (
    big_number,
    column,
    equals_tex,
    paren,
    point_tex,
    tex,
    value_tex,
)

if TYPE_CHECKING:
    from symgd.calculus.hand_steps import HandStep, HandWalk

#: steps worked by hand
HAND_STEPS = 2
RULE_LATEX = r"x_{k+1} = x_k - \eta\,\nabla f(x_k)"


@dataclass(frozen=True)
class HandStepView(View):
    """One step as the page shows it."""

    k: int
    from_latex: str
    gradient_latex: str
    update_latex: str
    comment: str
    value_latex: str


@dataclass(frozen=True)
class HandSection(View):
    """Section 6."""

    rule_latex: str
    intro: str
    steps: tuple[HandStepView, ...]
    note: str


def hand_section(facts: Facts, s: Settings) -> HandSection:
    """Section 6."""
    from symgd.calculus.hand_steps import walk_steps

    walk = walk_steps(facts.derivation, s.start.exact, s.lr.exact, HAND_STEPS, tidy=tidy)
    views = [_step_view(facts, s, walk, k) for k in range(1, len(walk.steps) + 1)]
    exact = all(_exact(step, walk, k) for k, step in enumerate(walk.steps, start=1))
    outside = ""
    if walk.stop == "gradient":
        k = len(walk.steps) + 1
        outside = _(
            "The gradient is undefined at {point}: that point lies outside the domain of f, "
            "so the hand steps stop here."
        ).format(point=f"x_{k - 1}")
    elif walk.stop == "value" and walk.steps:
        outside = _(
            "The step overshot the region where f is defined: f has no real value at "
            "{point}, so the hand steps stop here, and a run with this learning rate leaves "
            "the domain the same way."
        ).format(point=f"x_{len(walk.steps)}")
    intro, note = _intro_and_note(s, walk.rounded_from, exact)
    if outside:
        note = outside + " " + _("The runs below continue in floating point.")
    return HandSection(RULE_LATEX, intro, tuple(views), note)


def _value_after(walk: HandWalk, k: int) -> Any:
    """f at x_k (``None`` where it is undefined)."""
    return walk.steps[k].value if k < len(walk.steps) else walk.final_value


def _exact(step: HandStep, walk: HandWalk, k: int) -> bool:
    """True when every number of step ``k`` is shown exactly."""
    shown = [value_tex(g)[1] for g in step.gradient] + [value_tex(v)[1] for v in step.next_point]
    after = _value_after(walk, k)
    if after is not None:
        shown += [value_tex(step.value, 6)[1], value_tex(after, 6)[1]]
    return all(shown)


def _step_view(facts: Facts, s: Settings, walk: HandWalk, k: int) -> HandStepView:
    step = walk.steps[k - 1]
    xk = f"x_{{{k - 1}}}"
    grad_col = [value_tex(g)[0] for g in step.gradient]
    sub = substituted(facts, step.point) if k == 1 else ""
    nabla = "f'" if facts.n == 1 else r"\nabla f"
    grad_latex = (
        rf"{nabla}({xk}) "
        + (f"= {sub} " if sub else "")
        + (f"= {column(grad_col)}" if facts.n > 1 else equals_tex(grad_col[0]))
    )
    old_col = [value_tex(v)[0] for v in step.point]
    new_col = [value_tex(v)[0] for v in step.next_point]
    eta = tex(s.lr.exact)
    if facts.n > 1:
        update = (
            rf"x_{{{k}}} = {xk} - \eta\,\nabla f({xk}) = {column(old_col)} - "
            rf"{eta} {column(grad_col)} = {column(new_col)}"
        )
    else:
        rounded = any(c.startswith(r"\approx") for c in (old_col[0], grad_col[0]))
        bare_old, bare_grad = _bare(old_col[0]), _bare(grad_col[0])
        relation = r"\approx" if rounded else "="
        update = (
            rf"x_{{{k}}} = {xk} - \eta\, f'({xk}) {relation} "
            rf"{bare_old} - {eta} \cdot {paren(bare_grad)} "
            + (rf"\approx {_bare(new_col[0])}" if rounded else equals_tex(new_col[0]))
        )
    f_old, f_new = step.value, _value_after(walk, k)
    was = _was(k, value_tex(f_old, 6)[0])
    if f_new is None:
        return HandStepView(
            k,
            rf"{xk} = {point_tex(old_col)}",
            grad_latex,
            update,
            _("{point} lies outside the domain of f:").format(point=f"x_{k}"),
            _undefined(k) + was,
        )
    went = direction(f_old, f_new)
    if went == "down":
        comment = _("f went down, from about {old} to about {new}:")
    elif went == "up":
        comment = _("f went up, from about {old} to about {new}:")
    else:
        comment = _("f went nowhere:")
    comment = comment.format(old=big_number(f_old), new=big_number(f_new))
    return HandStepView(
        k,
        rf"{xk} = {point_tex(old_col)}",
        grad_latex,
        update,
        comment,
        rf"f(x_{{{k}}}) {equals_tex(value_tex(f_new, 6)[0])}" + was,
    )


def _was(k: int, old: str) -> str:
    r"""``\quad\text{(was } f_{k-1}\text{)}``: f before step ``k``, in words where the formula
    font can draw them (Latin letters), else as ``(f(x_{k-1}) = ...)``."""
    words = _("was")
    if words.isascii():
        return rf"\quad\text{{({words} }} {old}\text{{)}}"
    return rf"\quad\left(f(x_{{{k - 1}}}) {equals_tex(old)}\right)"


def _undefined(k: int) -> str:
    r"""``f(x_k) \text{ is undefined}``, or ``f(x_k) \notin \mathbb{R}`` where the words are
    not in Latin letters (the formula font draws no others)."""
    words = _("is undefined")
    if words.isascii():
        return rf"f(x_{{{k}}}) \text{{ {words}}}"
    return rf"f(x_{{{k}}}) \notin \mathbb{{R}}"


def _bare(latex: str) -> str:
    r"""A value's LaTeX without its leading ``\approx`` (the relation before it says so)."""
    return latex.removeprefix(r"\approx").strip()


def _intro_and_note(s: Settings, rounded_at: int | None, exact: bool) -> tuple[str, str]:
    eta = s.lr.text
    if rounded_at is not None:
        from symgd.calculus.exact import DECIMAL_DIGITS, MAX_EXACT_DIGITS

        return (
            _(
                "With x₀ and η = {eta} exact, the steps start in exact arithmetic; but from "
                "step {step} on the exact fractions would need more than {digits} digits, so "
                "those numbers are worked in decimals with {decimals} significant digits "
                "instead and shown rounded (≈)."
            ).format(eta=eta, step=rounded_at, digits=MAX_EXACT_DIGITS, decimals=DECIMAL_DIGITS),
            _("The runs below continue in floating point."),
        )
    if exact:
        return (
            _(
                "With x₀ and η = {eta} written as exact fractions, every number in the first "
                "two steps is exact: no rounding has happened yet."
            ).format(eta=eta),
            _(
                "From here on a computer takes over, in floating point; its first steps agree "
                "with these to every digit it prints."
            ),
        )
    return (
        _(
            "With x₀ and η = {eta} exact, the first two steps can be done in exact "
            "arithmetic; where an exact value gets too long to read, a decimal (≈) stands in "
            "for it."
        ).format(eta=eta),
        _("The runs below continue in floating point."),
    )


def substituted(facts: Facts, point: Sequence[Any]) -> str:
    """The gradient with the start's numbers written in place of the variables."""
    import sympy as sp

    names = {
        v: (rf"\left({tex(p)}\right)" if (p.is_negative or not p.is_Integer) else tex(p))
        for v, p in zip(facts.variables, point, strict=True)
    }
    entries = []
    for g in facts.derivation.gradient:
        if sp.count_ops(g) > 25:
            return ""
        entries.append(tex(g, symbol_names=names))
    text = column(entries) if facts.n > 1 else entries[0]
    return text if len(text) < 400 else ""
