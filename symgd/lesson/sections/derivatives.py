"""Section 2, partial derivatives and the gradient, each worked rule by rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from symgd.lesson.facts import Facts
from symgd.lesson.view import View
from symgd.lesson.words import partial_symbol, step_view
from symgd.render.latex import MAX_SHOWN_ENTRIES, column, elide, tex

#: with more variables than MAX_SHOWN_ENTRIES, the partial derivatives worked rule by rule
WORKED_PARTIALS = 2


@dataclass(frozen=True)
class Partial(View):
    """One partial derivative and its rule-by-rule steps."""

    variable: str
    variable_latex: str
    symbol_latex: str
    latex: str
    steps: dict[str, Any] | None


@dataclass(frozen=True)
class DerivativesSection(View):
    """Section 2."""

    partials: tuple[Partial, ...]
    gradient_latex: str


def derivatives_section(facts: Facts) -> DerivativesSection:
    """Section 2: with many variables the same rules repeat, so the first few partial
    derivatives are worked and the gradient lists every one."""
    d = facts.derivation
    worked = facts.n if facts.n <= MAX_SHOWN_ENTRIES else WORKED_PARTIALS
    partials = []
    for v, g in zip(facts.variables[:worked], d.gradient[:worked], strict=True):
        symbol = partial_symbol(v, facts.n)
        steps, result = _steps(facts, v)
        latex = f"{symbol} = {tex(g)}"
        if result is not None and tex(result) != tex(g):
            latex += f" = {tex(result)}"
        partials.append(Partial(v.name, tex(v), symbol, latex, steps))
    entries = [tex(g) if g is not None else r"\vdots" for g in elide(d.gradient, None)]
    gradient = (rf"\nabla f({facts.args_tex}) = {column(entries)}" if facts.n > 1
                else rf"f'({facts.args_tex}) = {entries[0]}")
    return DerivativesSection(tuple(partials), gradient)


def _steps(facts: Facts, variable: Any) -> tuple[dict[str, Any] | None, Any]:
    """The rule-by-rule derivation of ∂f/∂variable for the template, and its result."""
    from symgd.calculus.rules import derivative_steps, steps_latex_items

    others = tuple(o for o in facts.variables if o != variable)
    try:
        tree = derivative_steps(facts.problem.expr, variable, others=others)
        items = steps_latex_items(tree)
    except (TypeError, ValueError, RecursionError):  # keep the lesson; show the result only
        return None, None
    return (step_view(items[0]) if items else None), tree.result
