"""Section 1, the function: f in LaTeX, its variables, notes on its domain; and the settings
table with the reason for each choice."""

from __future__ import annotations

from dataclasses import dataclass

from symgd.lesson.facts import Facts
from symgd.lesson.methods import label
from symgd.lesson.sections.derivatives import WORKED_PARTIALS
from symgd.lesson.settings import TOLERANCE, Settings
from symgd.lesson.view import View
from symgd.lesson.words import domain_notes
from symgd.render.latex import MAX_SHOWN_ENTRIES, SHOWN_HEAD, SHOWN_TAIL, number, tex


@dataclass(frozen=True)
class FunctionSection(View):
    """The function as the masthead and section 1 show it."""

    source: str
    latex: str
    n: int
    variables: tuple[str, ...]
    variables_sentence: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class SettingItem(View):
    """One row of the settings table."""

    name: str
    latex: str
    chosen_by_symgd: bool
    reason: str


def function_section(facts: Facts) -> FunctionSection:
    """Section 1."""
    names = list(facts.names)
    if facts.n == 1:
        sentence = f"It has one variable, {names[0]}."
    else:
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        sentence = (
            f"It has {facts.n} variables, {listed}, taken in this order in every vector below."
        )
    notes = domain_notes(facts.problem.expr) + list(facts.derivation.notes) + size_notes(facts)
    return FunctionSection(
        source=facts.problem.source,
        latex=f"f({facts.args_tex}) = {tex(facts.problem.expr)}",
        n=facts.n,
        variables=facts.names,
        variables_sentence=sentence,
        notes=tuple(notes),
    )


def size_notes(facts: Facts) -> list[str]:
    """What a lesson on many variables shows in part, and why."""
    if facts.n <= MAX_SHOWN_ENTRIES:
        return []
    worked = ", ".join(f"∂f/∂{name}" for name in facts.names[:WORKED_PARTIALS])
    return [
        f"With {facts.n} variables, vectors and matrices are shown in part: their first "
        f"{SHOWN_HEAD} and last {SHOWN_TAIL} entries, with ⋮ or … for the "
        f"{facts.n - SHOWN_HEAD - SHOWN_TAIL} in between (written out in full they "
        f"would be unreadable). The rule-by-rule working is shown for {worked}; the "
        "other partial derivatives follow the same rules."
    ]


def settings_items(s: Settings) -> tuple[SettingItem, ...]:
    """The settings table: each value and whether symgd chose it, and why."""
    methods = ", ".join(label(m) for m in s.methods)
    return (
        SettingItem(
            "Start point", rf"x_0 = {s.start.latex}", "start" in s.defaults, s.reasons["start"]
        ),
        SettingItem("Learning rate", rf"\eta = {s.lr.latex}", "lr" in s.defaults, s.reasons["lr"]),
        SettingItem(
            "Steps",
            rf"\text{{at most }} {s.steps}",
            "steps" in s.defaults,
            s.reasons["steps"] + f" Every run also stops as soon as |∇f| < {number(TOLERANCE)}.",
        ),
        SettingItem(
            "Optimizers",
            r"\text{" + methods.replace("'", "’") + "}",
            "methods" in s.defaults,
            s.reasons["methods"],
        ),
    )
