"""One step of a rule-by-rule derivative (:class:`Step`), its form for the HTML lesson
(:class:`LatexStep`), the rules' readable names, and the phrases the explanations share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy as sp

from symgd.expr.problem import to_text

#: length (characters) of an expression quoted inside an explanation
MAX_QUOTE = 80

#: a readable name for each rule, for headings and legends
RULE_TITLES: dict[str, str] = {
    "constant": "Constant rule",
    "other_variable": "Held constant",
    "variable": "Variable rule",
    "constant_multiple": "Constant multiple rule",
    "sum": "Sum rule",
    "product": "Product rule",
    "quotient": "Quotient rule",
    "power": "Power rule",
    "sqrt": "Square root rule",
    "exp": "Exponential rule",
    "exponential": "Exponential rule (constant base)",
    "general_power": "Logarithmic differentiation",
    "log": "Logarithm rule",
    "chain": "Chain rule",
    "sin": "Sine rule",
    "cos": "Cosine rule",
    "tan": "Tangent rule",
    "cot": "Cotangent rule",
    "sec": "Secant rule",
    "csc": "Cosecant rule",
    "asin": "Arcsine rule",
    "acos": "Arccosine rule",
    "atan": "Arctangent rule",
    "sinh": "Hyperbolic sine rule",
    "cosh": "Hyperbolic cosine rule",
    "tanh": "Hyperbolic tangent rule",
    "coth": "Hyperbolic cotangent rule",
    "sech": "Hyperbolic secant rule",
    "csch": "Hyperbolic cosecant rule",
    "asinh": "Inverse hyperbolic sine rule",
    "acosh": "Inverse hyperbolic cosine rule",
    "atanh": "Inverse hyperbolic tangent rule",
    "acoth": "Inverse hyperbolic cotangent rule",
    "acot": "Arccotangent rule",
    "asec": "Arcsecant rule",
    "acsc": "Arccosecant rule",
    "step": "Step rule",
    "abs": "Absolute value rule",
    "sigmoid": "Sigmoid rule",
    "softplus": "Softplus rule",
    "relu": "ReLU rule",
    "leaky_relu": "Leaky ReLU rule",
    "simplify": "Simplify",
    "no_rule": "No rule applies",
    "direct": "Direct derivative",
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

    @property
    def title(self) -> str:
        """The rule's readable name."""
        return RULE_TITLES.get(self.rule, self.rule.replace("_", " ").capitalize())

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


def operator_latex(variable: sp.Symbol, partial: bool) -> str:
    name = sp.latex(variable)
    if partial:
        return rf"\frac{{\partial}}{{\partial {name}}}"
    return rf"\frac{{d}}{{d {name}}}"


def quote(expr: sp.Expr) -> str:
    text = to_text(expr)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def _names(symbols: Sequence[sp.Symbol] | set[sp.Symbol]) -> str:
    names: list[str] = sorted(s.name for s in symbols)
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def as_constant(symbols: set[sp.Symbol]) -> str:
    return f"{_names(symbols)} as {'a constant' if len(symbols) == 1 else 'constants'}"
