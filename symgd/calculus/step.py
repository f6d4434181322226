"""One step of a rule-by-rule derivative (:class:`Step`), its form for the HTML lesson
(:class:`LatexStep`), the rules' readable names, and the phrases the explanations share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp

from symgd.base.i18n import N_, _, n_
from symgd.expr.problem import to_text

#: length (characters) of an expression quoted inside an explanation
MAX_QUOTE = 80

#: a readable name for each rule, for headings and legends
RULE_TITLES: dict[str, str] = {
    "constant": N_("Constant rule"),
    "other_variable": N_("Held constant"),
    "variable": N_("Variable rule"),
    "constant_multiple": N_("Constant multiple rule"),
    "sum": N_("Sum rule"),
    "product": N_("Product rule"),
    "quotient": N_("Quotient rule"),
    "power": N_("Power rule"),
    "sqrt": N_("Square root rule"),
    "exp": N_("Exponential rule"),
    "exponential": N_("Exponential rule (constant base)"),
    "general_power": N_("Logarithmic differentiation"),
    "log": N_("Logarithm rule"),
    "chain": N_("Chain rule"),
    "sin": N_("Sine rule"),
    "cos": N_("Cosine rule"),
    "tan": N_("Tangent rule"),
    "cot": N_("Cotangent rule"),
    "sec": N_("Secant rule"),
    "csc": N_("Cosecant rule"),
    "asin": N_("Arcsine rule"),
    "acos": N_("Arccosine rule"),
    "atan": N_("Arctangent rule"),
    "sinh": N_("Hyperbolic sine rule"),
    "cosh": N_("Hyperbolic cosine rule"),
    "tanh": N_("Hyperbolic tangent rule"),
    "coth": N_("Hyperbolic cotangent rule"),
    "sech": N_("Hyperbolic secant rule"),
    "csch": N_("Hyperbolic cosecant rule"),
    "asinh": N_("Inverse hyperbolic sine rule"),
    "acosh": N_("Inverse hyperbolic cosine rule"),
    "atanh": N_("Inverse hyperbolic tangent rule"),
    "acoth": N_("Inverse hyperbolic cotangent rule"),
    "acot": N_("Arccotangent rule"),
    "asec": N_("Arcsecant rule"),
    "acsc": N_("Arccosecant rule"),
    "step": N_("Step rule"),
    "abs": N_("Absolute value rule"),
    "sigmoid": N_("Sigmoid rule"),
    "softplus": N_("Softplus rule"),
    "relu": N_("ReLU rule"),
    "leaky_relu": N_("Leaky ReLU rule"),
    "simplify": N_("Simplify"),
    "no_rule": N_("No rule applies"),
    "direct": N_("Direct derivative"),
}


@dataclass(frozen=True)
class Step:
    """One step of a derivation: ``result`` is the derivative of ``expression`` by ``variable``.

    ``rule`` is a stable machine name (see :data:`RULE_TITLES`); ``inner`` is the inner function
    ``u`` of a chain-rule step (``None`` otherwise); ``explanation`` is one plain sentence and
    ``formula_latex`` the rule itself written in LaTeX. The first substep of a chain step is the
    outer function differentiated by a fresh symbol standing for ``u``, the second is ``du``.
    ``partial`` says whether the derivative is a partial one (other variables held fixed).
    """

    rule: str
    expression: sp.Expr
    result: sp.Expr
    variable: sp.Symbol
    substeps: tuple[Step, ...] = ()
    inner: sp.Expr | None = None
    explanation: str = ""
    formula_latex: str = ""
    partial: bool = False
    #: the note on the symbols held constant that starts ``explanation`` ("" when none)
    note: str = ""
    #: whether ``explanation`` itself says which symbols are held constant
    says_held: bool = False

    @property
    def title(self) -> str:
        """The rule's readable name (in the language in effect)."""
        return rule_title(self.rule)

    def walk(self) -> tuple[Step, ...]:
        """This step and all steps below it, depth first."""
        found: list[Step] = []
        stack = [self]
        while stack:
            step = stack.pop()
            found.append(step)
            stack.extend(reversed(step.substeps))
        return tuple(found)


@dataclass(frozen=True)
class LatexStep:
    """A step prepared for the HTML lesson: a numbered item with LaTeX and nested children."""

    number: str  # "1", "1.2", "1.2.1", ...
    depth: int  # 0 for the top step
    rule: str
    title: str
    explanation: str
    equation_latex: str  # d/dx [expression] = result
    formula_latex: str  # the rule in general form
    inner_latex: str | None  # u for a chain step
    children: tuple[LatexStep, ...] = field(default=())


def rule_title(rule: str) -> str:
    """The readable name of ``rule`` (a key of :data:`RULE_TITLES`) in the language in effect."""
    title = RULE_TITLES.get(rule)
    return _(title) if title is not None else rule.replace("_", " ").capitalize()


def operator_latex(variable: sp.Symbol, partial: bool) -> str:
    name = sp.latex(variable)
    if partial:
        return rf"\frac{{\partial}}{{\partial {name}}}"
    return rf"\frac{{d}}{{d {name}}}"


def quote(expr: sp.Expr) -> str:
    text = to_text(expr)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def names_text(symbols: Sequence[sp.Symbol] | set[sp.Symbol]) -> str:
    """The symbols' names, sorted, listed the way a sentence lists them ("x, y and z")."""
    names: list[str] = sorted(s.name for s in symbols)
    if len(names) == 1:
        return names[0]
    return _("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])


def treat_as_constant(symbols: set[sp.Symbol]) -> str:
    """The sentence "Treat y as a constant." for the symbols held fixed."""
    return n_("Treat {names} as a constant.", "Treat {names} as constants.", len(symbols)).format(
        names=names_text(symbols)
    )
