"""Section 1, the function: f in LaTeX, its variables, notes on its domain; and the settings
table with the reason for each choice."""

from __future__ import annotations

from dataclasses import dataclass

from symgd.base.i18n import _, is_hangul
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
    #: for a function with activations: the ``symgd backprop`` and ``symgd vanish`` commands
    #: that take it further (empty otherwise)
    network_commands: tuple[str, ...]


@dataclass(frozen=True)
class SettingItem(View):
    """One row of the settings table."""

    name: str
    latex: str
    chosen_by_symgd: bool
    reason: str
    #: the value in words, shown instead of ``latex`` (words a formula font cannot draw)
    text: str = ""
    #: words shown before the value (``latex`` then holds the number only)
    prefix: str = ""


def function_section(facts: Facts, s: Settings) -> FunctionSection:
    """Section 1."""
    names = list(facts.names)
    if facts.n == 1:
        sentence = _("It has one variable, {name}.").format(name=names[0])
    else:
        listed = _("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])
        sentence = _(
            "It has {n} variables, {listed}, taken in this order in every vector below."
        ).format(n=facts.n, listed=listed)
    notes = domain_notes(facts.problem.expr) + list(facts.derivation.notes) + size_notes(facts)
    return FunctionSection(
        source=facts.problem.source,
        latex=f"f({facts.args_tex}) = {tex(facts.problem.expr)}",
        n=facts.n,
        variables=facts.names,
        variables_sentence=sentence,
        notes=tuple(notes),
        network_commands=network_commands(facts, s),
    )


#: activations ``symgd vanish`` compares, by the name the parser reads
VANISH_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


def network_commands(facts: Facts, s: Settings) -> tuple[str, ...]:
    """For a function built from activations (sigmoid, tanh, ReLU, ...): the command that walks
    the chain rule through its computational graph at the start point, and the one that shows
    why a deep chain of such activations loses its gradient. Empty for any other function.

    >>> from symgd.calculus.derivation import derive
    >>> from symgd.lesson.facts import work_out_facts
    >>> from symgd.lesson.defaults import choose_settings
    >>> facts = work_out_facts(derive("sigmoid(w*x)"))
    >>> s = choose_settings(facts, [1, 2], 0.1, 5, "gd").settings
    >>> network_commands(facts, s)
    ("symgd backprop 'sigmoid(w*x)' --at w=1,x=2", 'symgd vanish --activations sigmoid')
    """
    import shlex

    used = {type(node).__name__ for node in facts.problem.expr.atoms(*_activation_types())}
    if not used:
        return ()
    at = ",".join(
        f"{name}={_plain(value)}" for name, value in zip(facts.names, s.start.floats, strict=True)
    )
    chosen = [name for name in VANISH_ACTIVATIONS if name in used]
    vanish = "symgd vanish" + (f" --activations {','.join(chosen)}" if chosen else "")
    return (f"symgd backprop {shlex.quote(facts.problem.source)} --at {at}", vanish)


def _activation_types() -> tuple[type, ...]:
    import sympy as sp

    from symgd.expr.activations import leaky_relu, relu, sigmoid, softplus

    return (sigmoid, relu, leaky_relu, softplus, sp.tanh)


def _plain(value: float) -> str:
    """A coordinate as a command line takes it: ``2`` rather than ``2.0``."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def size_notes(facts: Facts) -> list[str]:
    """What a lesson on many variables shows in part, and why."""
    if facts.n <= MAX_SHOWN_ENTRIES:
        return []
    worked = ", ".join(f"∂f/∂{name}" for name in facts.names[:WORKED_PARTIALS])
    return [
        _(
            "With {n} variables, vectors and matrices are shown in part: their first "
            "{head} and last {tail} entries, with ⋮ or … for the "
            "{between} in between (written out in full they "
            "would be unreadable). The rule-by-rule working is shown for {worked}; the "
            "other partial derivatives follow the same rules."
        ).format(
            n=facts.n,
            head=SHOWN_HEAD,
            tail=SHOWN_TAIL,
            between=facts.n - SHOWN_HEAD - SHOWN_TAIL,
            worked=worked,
        )
    ]


def typesettable(words: str) -> bool:
    """Whether ``words`` can sit in a formula's ``\\text{}`` (its font has no Hangul)."""
    return not any(is_hangul(c) for c in words)


def settings_items(s: Settings) -> tuple[SettingItem, ...]:
    """The settings table: each value and whether symgd chose it, and why."""
    methods = ", ".join(label(m) for m in s.methods)
    at_most = _("at most")
    stops = _("Every run also stops as soon as |∇f| < {tolerance}.").format(
        tolerance=number(TOLERANCE)
    )
    # a formula font has Latin letters only: other words are shown as text beside the number
    latin = typesettable(at_most)
    return (
        SettingItem(
            _("Start point"),
            rf"x_0 = {s.start.latex}",
            "start" in s.defaults,
            s.reasons["start"],
        ),
        SettingItem(
            _("Learning rate"), rf"\eta = {s.lr.latex}", "lr" in s.defaults, s.reasons["lr"]
        ),
        SettingItem(
            _("Steps"),
            rf"\text{{{at_most} }} {s.steps}" if latin else str(s.steps),
            "steps" in s.defaults,
            s.reasons["steps"] + " " + stops,
            prefix="" if latin else at_most,
        ),
        SettingItem(
            _("Optimizers"),
            r"\text{" + methods.replace("'", "’") + "}",
            "methods" in s.defaults,
            s.reasons["methods"],
            text="" if typesettable(methods) else methods,
        ),
    )
