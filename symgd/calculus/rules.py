"""Partial derivatives worked rule by rule, the way a textbook writes them out.

:func:`derivative_steps` takes an expression apart from the top: a sum is differentiated term by
term, a constant factor is pulled out, a product or quotient gets its rule, and a function of
something other than the variable itself gets the chain rule with its inner function ``u``
named. Every step is a frozen :class:`Step` whose ``result`` is the derivative of its
``expression`` with respect to its ``variable``; a step's result is built from its substeps'
results, so the tree and the answer cannot disagree. When the answer can be written more
compactly, the top of the tree is a ``"simplify"`` step whose substep holds the raw derivation.

Three views of a tree: :func:`step_to_dict` (JSON), :func:`format_steps` (terminal text) and
:func:`steps_latex_items` (nested items with LaTeX for the HTML lesson).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from symgd.expr.activations import (
    Abs,
    as_symgd_functions,
    ceiling,
    floor,
    leaky_relu,
    relu,
    sigmoid,
    sign,
    softplus,
)
from symgd.expr.parser import to_text

#: steps in one tree before the rest is differentiated directly
MAX_STEPS = 600
#: nesting of steps before the rest is differentiated directly
MAX_DEPTH = 40
#: operations in an expression above which it is differentiated directly, without steps
MAX_OPS = 3000
#: operations in a result above which no simplification is tried
MAX_SIMPLIFY_OPS = 400
#: operations in a result above which only one cheap rewriting is tried
MAX_FULL_SIMPLIFY_OPS = 120
#: operations in a result above which it is not expanded
MAX_EXPAND_OPS = 150
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


# ---------------------------------------------------------------------------------------------
# public functions


def derivative_steps(
    expr: sp.Expr, variable: sp.Symbol, *, others: Sequence[sp.Symbol] = ()
) -> Step:
    """Differentiate ``expr`` by ``variable`` rule by rule; ``others`` are held constant.

    The top step's ``result`` equals ``sympy.diff(expr, variable)``. When a bounded, cheap
    simplification shortens it, the top is a ``"simplify"`` step whose only substep is the raw
    derivation. Large expressions get a direct derivative instead of steps, said in words.
    """
    expr = sp.sympify(expr)
    others = tuple(o for o in others if o != variable)
    partial = bool(others) or bool(expr.free_symbols - {variable})
    taken = {s.name for s in expr.free_symbols} | {variable.name} | {o.name for o in others}
    builder = _Builder(others, taken)
    if sp.count_ops(expr) > MAX_OPS:
        raw = builder.direct(expr, variable, partial, reason="too_large")
    else:
        raw = builder.build(expr, variable, partial, depth=0)
    top = _simplified(raw)
    return _with_holding_note(top, expr, variable, others)


def step_to_dict(step: Step) -> dict[str, Any]:
    """The step tree as JSON-ready data; expressions in the text form :func:`parse` reads."""
    data: dict[str, Any] = {
        "rule": step.rule,
        "variable": step.variable.name,
        "expression": to_text(step.expression),
        "result": to_text(step.result),
    }
    if step.inner is not None:
        data["inner"] = to_text(step.inner)
    data["explanation"] = step.explanation
    data["formula_latex"] = step.formula_latex
    data["substeps"] = [step_to_dict(s) for s in step.substeps]
    return data


def format_steps(step: Step, *, indent: str = "  ") -> str:
    """Numbered, nested plain text (``1.``, ``1.1.``, ...) for the terminal."""
    lines: list[str] = []

    def emit(node: Step, number: str, level: int) -> None:
        label = f"{number}. "
        pad = indent * level
        lines.append(f"{pad}{label}{node.explanation}")
        lines.append(f"{pad}{' ' * len(label)}{_equation_text(node)}")
        for index, child in enumerate(node.substeps, start=1):
            emit(child, f"{number}.{index}", level + 1)

    emit(step, "1", 0)
    return "\n".join(lines)


def steps_latex_items(step: Step) -> list[LatexStep]:
    """The tree as nested :class:`LatexStep` items for the HTML lesson.

    Returns a one-element list (the top step); each item carries its number (``"1.2"``), its
    depth, the rule's title, the plain-words explanation, ``equation_latex`` (the derivative
    of this step's expression set equal to its result), ``formula_latex`` (the rule in general
    form) and ``children``. A Jinja template renders it with a recursive loop::

        {% for item in items recursive %}<li>{{ item.title }} ...
          {% if item.children %}<ol>{{ loop(item.children) }}</ol>{% endif %}</li>{% endfor %}
    """

    def convert(node: Step, number: str, depth: int) -> LatexStep:
        children = tuple(
            convert(child, f"{number}.{index}", depth + 1)
            for index, child in enumerate(node.substeps, start=1)
        )
        return LatexStep(
            number=number,
            depth=depth,
            rule=node.rule,
            title=node.title,
            explanation=node.explanation,
            equation_latex=_equation_latex(node),
            formula_latex=node.formula_latex,
            inner_latex=None if node.inner is None else sp.latex(node.inner),
            children=children,
        )

    return [convert(step, "1", 0)]


# ---------------------------------------------------------------------------------------------
# rendering helpers


def _operator_text(step: Step) -> str:
    name = step.variable.name
    return f"∂/∂{name}" if step.partial else f"d/d{name}"


def _equation_text(step: Step) -> str:
    if step.rule == "simplify" and step.substeps:
        return f"{to_text(step.substeps[0].result)} = {to_text(step.result)}"
    return f"{_operator_text(step)} [{to_text(step.expression)}] = {to_text(step.result)}"


def _operator_latex(variable: sp.Symbol, partial: bool) -> str:
    name = sp.latex(variable)
    if partial:
        return rf"\frac{{\partial}}{{\partial {name}}}"
    return rf"\frac{{d}}{{d {name}}}"


def _equation_latex(step: Step) -> str:
    if step.rule == "simplify" and step.substeps:
        return f"{sp.latex(step.substeps[0].result)} = {sp.latex(step.result)}"
    op = _operator_latex(step.variable, step.partial)
    return rf"{op}\left[{sp.latex(step.expression)}\right] = {sp.latex(step.result)}"


def _quote(expr: sp.Expr) -> str:
    text = to_text(expr)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def _names(symbols: Sequence[sp.Symbol] | set[sp.Symbol]) -> str:
    names = sorted(s.name for s in symbols)
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _as_constant(symbols: set[sp.Symbol]) -> str:
    return f"{_names(symbols)} as {'a constant' if len(symbols) == 1 else 'constants'}"


# ---------------------------------------------------------------------------------------------
# the rules for the functions of one argument
#
# Each entry: rule name, f'(u) as a function of u (and the call's extra arguments), the
# derivative of f(t) written in LaTeX for the symbol t, and a sentence about f'(u).


@dataclass(frozen=True)
class _FunctionRule:
    rule: str
    derivative: Callable[[sp.Expr, sp.Expr], sp.Expr]  # (u, the call) -> f'(u)
    left: Callable[[str], str]  # t -> LaTeX of f(t)
    right: Callable[[str], str]  # t -> LaTeX of f'(t)
    sentence: str  # with {f} for the function applied to u and {d} for its derivative


def _fr(rule: str, derivative: Callable[[sp.Expr, sp.Expr], sp.Expr], left: str, right: str,
        sentence: str) -> _FunctionRule:
    return _FunctionRule(
        rule=rule,
        derivative=derivative,
        left=lambda t: left.replace("@", t),
        right=lambda t: right.replace("@", t),
        sentence=sentence,
    )


_ABS_RULE = _fr("abs", lambda u, f: sp.sign(u), r"\left|@\right|", r"\operatorname{sign}(@)",
                "Absolute value rule: away from 0 the slope of {f} is {d}, "
                "that is +1 or -1 (there is no derivative at 0).")

_SIGN_RULE = _fr("step", lambda u, f: 2 * sp.DiracDelta(u), r"\operatorname{sign}(@)",
                 r"2\,\delta(@)",
                 "Step rule: {f} is flat away from 0, so its slope there is 0; it jumps by 2 at "
                 "0, which {d} records (the delta counts as 0 in the numbers).")

_FUNCTION_RULES: dict[type, _FunctionRule] = {
    sp.exp: _fr("exp", lambda u, f: sp.exp(u), r"e^{@}", r"e^{@}",
                "The exponential function is its own derivative: {f} gives {d}."),
    sp.log: _fr("log", lambda u, f: 1 / u, r"\ln @", r"\frac{1}{@}",
                "Logarithm rule: the derivative of {f} is {d}."),
    sp.sin: _fr("sin", lambda u, f: sp.cos(u), r"\sin @", r"\cos @",
                "Sine rule: the derivative of {f} is {d}."),
    sp.cos: _fr("cos", lambda u, f: -sp.sin(u), r"\cos @", r"-\sin @",
                "Cosine rule: the derivative of {f} is {d}."),
    sp.tan: _fr("tan", lambda u, f: sp.sec(u) ** 2, r"\tan @", r"\sec^{2} @",
                "Tangent rule: the derivative of {f} is {d}."),
    sp.cot: _fr("cot", lambda u, f: -sp.csc(u) ** 2, r"\cot @", r"-\csc^{2} @",
                "Cotangent rule: the derivative of {f} is {d}."),
    sp.sec: _fr("sec", lambda u, f: sp.sec(u) * sp.tan(u), r"\sec @", r"\sec @ \tan @",
                "Secant rule: the derivative of {f} is {d}."),
    sp.csc: _fr("csc", lambda u, f: -sp.csc(u) * sp.cot(u), r"\csc @", r"-\csc @ \cot @",
                "Cosecant rule: the derivative of {f} is {d}."),
    sp.asin: _fr("asin", lambda u, f: 1 / sp.sqrt(1 - u**2), r"\arcsin @",
                 r"\frac{1}{\sqrt{1 - @^{2}}}",
                 "Arcsine rule: the derivative of {f} is {d}."),
    sp.acos: _fr("acos", lambda u, f: -1 / sp.sqrt(1 - u**2), r"\arccos @",
                 r"-\frac{1}{\sqrt{1 - @^{2}}}",
                 "Arccosine rule: the derivative of {f} is {d}."),
    sp.atan: _fr("atan", lambda u, f: 1 / (1 + u**2), r"\arctan @", r"\frac{1}{1 + @^{2}}",
                 "Arctangent rule: the derivative of {f} is {d}."),
    sp.sinh: _fr("sinh", lambda u, f: sp.cosh(u), r"\sinh @", r"\cosh @",
                 "Hyperbolic sine rule: the derivative of {f} is {d}."),
    sp.cosh: _fr("cosh", lambda u, f: sp.sinh(u), r"\cosh @", r"\sinh @",
                 "Hyperbolic cosine rule: the derivative of {f} is {d}."),
    sp.tanh: _fr("tanh", lambda u, f: 1 - sp.tanh(u) ** 2, r"\tanh @", r"1 - \tanh^{2} @",
                 "Hyperbolic tangent rule: the derivative of {f} is {d}, one minus its square."),
    sp.coth: _fr("coth", lambda u, f: -1 / sp.sinh(u) ** 2, r"\coth @",
                 r"-\frac{1}{\sinh^{2} @}",
                 "Hyperbolic cotangent rule: the derivative of {f} is {d}."),
    sp.sech: _fr("sech", lambda u, f: -sp.tanh(u) * sp.sech(u), r"\operatorname{sech} @",
                 r"-\tanh @ \operatorname{sech} @",
                 "Hyperbolic secant rule: the derivative of {f} is {d}."),
    sp.csch: _fr("csch", lambda u, f: -sp.coth(u) * sp.csch(u), r"\operatorname{csch} @",
                 r"-\coth @ \operatorname{csch} @",
                 "Hyperbolic cosecant rule: the derivative of {f} is {d}."),
    sp.asinh: _fr("asinh", lambda u, f: 1 / sp.sqrt(u**2 + 1), r"\operatorname{arsinh} @",
                  r"\frac{1}{\sqrt{@^{2} + 1}}",
                  "Inverse hyperbolic sine rule: the derivative of {f} is {d}."),
    sp.acosh: _fr("acosh", lambda u, f: 1 / (sp.sqrt(u - 1) * sp.sqrt(u + 1)),
                  r"\operatorname{arcosh} @", r"\frac{1}{\sqrt{@ - 1}\,\sqrt{@ + 1}}",
                  "Inverse hyperbolic cosine rule: the derivative of {f} is {d} "
                  "(defined for arguments above 1)."),
    sp.atanh: _fr("atanh", lambda u, f: 1 / (1 - u**2), r"\operatorname{artanh} @",
                  r"\frac{1}{1 - @^{2}}",
                  "Inverse hyperbolic tangent rule: the derivative of {f} is {d}."),
    sp.acoth: _fr("acoth", lambda u, f: 1 / (1 - u**2), r"\operatorname{arcoth} @",
                  r"\frac{1}{1 - @^{2}}",
                  "Inverse hyperbolic cotangent rule: the derivative of {f} is {d}."),
    sp.acot: _fr("acot", lambda u, f: -1 / (u**2 + 1), r"\operatorname{arccot} @",
                 r"-\frac{1}{1 + @^{2}}",
                 "Arccotangent rule: the derivative of {f} is {d}."),
    sp.asec: _fr("asec", lambda u, f: 1 / (u**2 * sp.sqrt(1 - 1 / u**2)),
                 r"\operatorname{arcsec} @", r"\frac{1}{@^{2}\sqrt{1 - @^{-2}}}",
                 "Arcsecant rule: the derivative of {f} is {d}."),
    sp.acsc: _fr("acsc", lambda u, f: -1 / (u**2 * sp.sqrt(1 - 1 / u**2)),
                 r"\operatorname{arccsc} @", r"-\frac{1}{@^{2}\sqrt{1 - @^{-2}}}",
                 "Arccosecant rule: the derivative of {f} is {d}."),
    floor: _fr("step", lambda u, f: sp.S.Zero, r"\lfloor @ \rfloor", "0",
               "Step rule: {f} is flat between integers, so its slope there is {d}; at an "
               "integer it jumps and has no derivative."),
    ceiling: _fr("step", lambda u, f: sp.S.Zero, r"\lceil @ \rceil", "0",
                 "Step rule: {f} is flat between integers, so its slope there is {d}; at an "
                 "integer it jumps and has no derivative."),
    sp.sign: _SIGN_RULE,
    sign: _SIGN_RULE,
    sp.Abs: _ABS_RULE,
    Abs: _ABS_RULE,
    sigmoid: _fr("sigmoid", lambda u, f: sigmoid(u) * (1 - sigmoid(u)), r"\sigma(@)",
                 r"\sigma(@)\left(1 - \sigma(@)\right)",
                 "Sigmoid rule: the derivative of {f} is {d}, the sigmoid times one minus "
                 "itself (never more than 1/4)."),
    softplus: _fr("softplus", lambda u, f: sigmoid(u), r"\operatorname{softplus}(@)",
                  r"\sigma(@)",
                  "Softplus rule: the derivative of {f} is the sigmoid {d}."),
    relu: _fr("relu", lambda u, f: sp.Heaviside(u, 0), r"\operatorname{ReLU}(@)",
              r"H(@)",
              "ReLU rule: the slope of {f} is the step {d}: 1 where the argument is "
              "positive, 0 where it is negative (taken as 0 at the kink)."),
    leaky_relu: _fr("leaky_relu",
                    lambda u, f: f.slope + (1 - f.slope) * sp.Heaviside(u, 0),
                    r"\operatorname{LeakyReLU}(@, a)", r"a + (1 - a)\,H(@)",
                    "Leaky ReLU rule: the slope of {f} is {d}: 1 where the argument is "
                    "positive, the small slope a = {a} where it is negative."),
}


# ---------------------------------------------------------------------------------------------
# the builder


class _Builder:
    """Walks an expression and returns its :class:`Step` tree, within a budget of steps."""

    def __init__(self, others: tuple[sp.Symbol, ...], taken: set[str]) -> None:
        self.others = set(others)
        self.taken = set(taken)  # names the letter for u must avoid
        self.count = 0
        self.chain_level = 0

    # -- helpers ---------------------------------------------------------------------------
    def fresh(self) -> sp.Symbol:
        """A real symbol for the inner function ``u``, named apart from every symbol in use."""
        preferred = ["u", "w", "s", "t", "r", "q", "p"]
        start = self.chain_level % len(preferred)
        for name in preferred[start:] + preferred[:start]:
            if name not in self.taken:
                return sp.Symbol(name, real=True)
        index = 1
        while f"u{index}" in self.taken:
            index += 1
        return sp.Symbol(f"u{index}", real=True)

    def op(self, variable: sp.Symbol, partial: bool) -> str:
        return _operator_latex(variable, partial)

    def make(self, rule: str, expr: sp.Expr, result: sp.Expr, variable: sp.Symbol,
             partial: bool, *, substeps: tuple[Step, ...] = (), inner: sp.Expr | None = None,
             explanation: str, formula: str) -> Step:
        self.count += 1
        return Step(rule=rule, expression=expr, result=result, variable=variable,
                    substeps=substeps, inner=inner, explanation=explanation,
                    formula_latex=formula, partial=partial)

    def direct(self, expr: sp.Expr, variable: sp.Symbol, partial: bool, *,
               reason: str) -> Step:
        result = sp.diff(expr, variable)
        op = self.op(variable, partial)
        if reason == "no_rule":
            rule = "no_rule"
            text = (f"No rule from the table applies to {_quote(expr)}, so it is "
                    f"differentiated directly: the result is {_quote(result)}.")
        else:
            rule = "direct"
            text = (f"This part is too large to take apart step by step here, so it is "
                    f"differentiated directly: the result is {_quote(result)}.")
        formula = rf"{op}\,f = f'"
        return self.make(rule, expr, result, variable, partial, explanation=text,
                         formula=formula)

    # -- dispatch --------------------------------------------------------------------------
    def build(self, expr: sp.Expr, v: sp.Symbol, partial: bool, depth: int) -> Step:
        if depth > MAX_DEPTH or self.count >= MAX_STEPS:
            return self.direct(expr, v, partial, reason="too_large")
        if not expr.has(v):
            return self.constant(expr, v, partial)
        if expr == v:
            op = self.op(v, partial)
            return self.make("variable", expr, sp.S.One, v, partial,
                             explanation=f"The derivative of {v.name} with respect to itself "
                                         "is 1.",
                             formula=rf"{op}\,{sp.latex(v)} = 1")
        if isinstance(expr, sp.Add):
            return self.sum(expr, v, partial, depth)
        if isinstance(expr, sp.Mul):
            return self.mul(expr, v, partial, depth)
        if isinstance(expr, sp.Pow):
            return self.power(expr, v, partial, depth)
        if isinstance(expr, sp.Function) and type(expr) in _FUNCTION_RULES:
            return self.function(expr, v, partial, depth)
        return self.direct(expr, v, partial, reason="no_rule")

    # -- the rules -------------------------------------------------------------------------
    def constant(self, expr: sp.Expr, v: sp.Symbol, partial: bool) -> Step:
        op = self.op(v, partial)
        symbols = expr.free_symbols
        if not symbols:
            return self.make("constant", expr, sp.S.Zero, v, partial,
                             explanation=f"{_quote(expr)} is a constant, so its derivative is 0.",
                             formula=rf"{op}\,c = 0")
        if expr in self.others or isinstance(expr, sp.Symbol):
            text = (f"Treat {expr} as a constant: it does not change when {v.name} changes, "
                    "so its derivative is 0.")
        else:
            text = (f"Treat {_as_constant(symbols)}: {_quote(expr)} does not involve "
                    f"{v.name}, so its derivative is 0.")
        return self.make("other_variable", expr, sp.S.Zero, v, partial, explanation=text,
                         formula=rf"{op}\,c = 0")

    def sum(self, expr: sp.Add, v: sp.Symbol, partial: bool, depth: int) -> Step:
        terms = expr.as_ordered_terms()
        subs = tuple(self.build(t, v, partial, depth + 1) for t in terms)
        result = sp.Add(*(s.result for s in subs))
        negative = any(t.could_extract_minus_sign() for t in terms)
        name = "Sum and difference rule" if negative else "Sum rule"
        op = self.op(v, partial)
        return self.make(
            "sum", expr, result, v, partial, substeps=subs,
            explanation=f"{name}: differentiate each of the {len(terms)} terms on its own "
                        "and add the results.",
            formula=rf"{op}\left[f \pm g\right] = {op} f \pm {op} g",
        )

    def mul(self, expr: sp.Mul, v: sp.Symbol, partial: bool, depth: int) -> Step:
        constant: list[sp.Expr] = []
        numerator: list[sp.Expr] = []
        denominator: list[sp.Expr] = []
        for factor in expr.args:
            if not factor.has(v):
                constant.append(factor)
            elif (isinstance(factor, sp.Pow) and factor.exp.is_number
                  and factor.exp.is_negative):
                denominator.append(sp.Pow(factor.base, -factor.exp))
            else:
                numerator.append(factor)
        op = self.op(v, partial)
        if constant:
            c = sp.Mul(*constant)
            rest = sp.Mul(*(f for f in expr.args if f.has(v)))
            sub = self.build(rest, v, partial, depth + 1)
            held = c.free_symbols
            if c == -1:
                text = (f"Constant multiple rule: the minus sign stays in front of the "
                        f"derivative of {_quote(rest)}.")
            elif held:
                text = (f"Treat {_as_constant(held)}: the constant factor {_quote(c)} stays "
                        f"and multiplies the derivative of {_quote(rest)}.")
            else:
                text = (f"Constant multiple rule: the factor {_quote(c)} stays and "
                        f"multiplies the derivative of {_quote(rest)}.")
            return self.make("constant_multiple", expr, c * sub.result, v, partial,
                             substeps=(sub,), explanation=text,
                             formula=rf"{op}\left[c\,f\right] = c\,{op} f")
        if denominator and (numerator or len(denominator) > 1):
            return self.quotient(expr, sp.Mul(*numerator), sp.Mul(*denominator), v, partial,
                                 depth)
        return self.product(expr, expr.args, v, partial, depth)

    def product(self, expr: sp.Expr, factors: Sequence[sp.Expr], v: sp.Symbol, partial: bool,
                depth: int) -> Step:
        subs = tuple(self.build(f, v, partial, depth + 1) for f in factors)
        terms = []
        for i, sub in enumerate(subs):
            rest = [f for j, f in enumerate(factors) if j != i]
            terms.append(sp.Mul(sub.result, *rest))
        op = self.op(v, partial)
        if len(factors) == 2:
            text = ("Product rule: the derivative of the first factor times the second, "
                    "plus the first times the derivative of the second.")
            formula = rf"{op}\left[f g\right] = \left({op} f\right) g + f\,{op} g"
        else:
            text = (f"Product rule for {len(factors)} factors: differentiate one factor at a "
                    "time, keep the others as they are, and add the results.")
            formula = (rf"{op}\left[f_1 f_2 \cdots f_n\right] = "
                       rf"\sum_{{i=1}}^{{n}} f_1 \cdots \left({op} f_i\right) \cdots f_n")
        return self.make("product", expr, sp.Add(*terms), v, partial, substeps=subs,
                         explanation=text, formula=formula)

    def quotient(self, expr: sp.Expr, top: sp.Expr, bottom: sp.Expr, v: sp.Symbol,
                 partial: bool, depth: int) -> Step:
        sub_top = self.build(top, v, partial, depth + 1)
        sub_bottom = self.build(bottom, v, partial, depth + 1)
        result = (sub_top.result * bottom - top * sub_bottom.result) / bottom**2
        op = self.op(v, partial)
        text = (f"Quotient rule with numerator {_quote(top)} and denominator {_quote(bottom)}: "
                "(numerator' · denominator − numerator · denominator') / denominator².")
        formula = (rf"{op}\left[\frac{{f}}{{g}}\right] = "
                   rf"\frac{{\left({op} f\right) g - f\,{op} g}}{{g^{{2}}}}")
        return self.make("quotient", expr, result, v, partial, substeps=(sub_top, sub_bottom),
                         explanation=text, formula=formula)

    def power(self, expr: sp.Pow, v: sp.Symbol, partial: bool, depth: int) -> Step:
        base, exponent = expr.base, expr.exp
        op = self.op(v, partial)
        if not exponent.has(v):
            if base != v:
                return self.chain(expr, base, lambda u: sp.Pow(u, exponent), v, partial, depth)
            return self.power_of_variable(expr, v, partial)
        if not base.has(v):
            if base.is_zero:  # 0**x: undefined for x < 0, so no rule applies
                return self.direct(expr, v, partial, reason="no_rule")
            if exponent != v:
                return self.chain(expr, exponent, lambda u: sp.Pow(base, u), v, partial,
                                  depth)
            held = base.free_symbols
            lead = (f"Treat {_as_constant(held)}. " if held else "")
            result = expr * sp.log(base)
            return self.make(
                "exponential", expr, result, v, partial,
                explanation=f"{lead}Exponential rule for the constant base {_quote(base)}: "
                            f"the derivative of {_quote(expr)} is {_quote(result)}.",
                formula=rf"{op}\,a^{{{sp.latex(v)}}} = a^{{{sp.latex(v)}}} \ln a")
        # both the base and the exponent depend on the variable: f**g = exp(g*log(f))
        logarithm = exponent * sp.log(base)
        sub = self.build(logarithm, v, partial, depth + 1)
        return self.make(
            "general_power", expr, expr * sub.result, v, partial, substeps=(sub,),
            explanation=f"Both the base and the exponent of {_quote(expr)} change with "
                        f"{v.name}: write it as exp({_quote(logarithm)}) and use the chain "
                        "rule, so the derivative is the power itself times the derivative of "
                        "its logarithm (logarithmic differentiation).",
            formula=(rf"{op}\left[f^{{g}}\right] = f^{{g}}\,{op}\left[g \ln f\right]"),
        )

    def power_of_variable(self, expr: sp.Pow, v: sp.Symbol, partial: bool) -> Step:
        n = expr.exp
        t = sp.latex(v)
        op = self.op(v, partial)
        if n == sp.S.Half:
            result = 1 / (2 * sp.sqrt(v))
            return self.make(
                "sqrt", expr, result, v, partial,
                explanation=f"Square root rule: the derivative of sqrt({v.name}) is "
                            f"{_quote(result)}.",
                formula=rf"{op}\sqrt{{{t}}} = \frac{{1}}{{2\sqrt{{{t}}}}}")
        result = n * v ** (n - 1)
        held = n.free_symbols
        lead = f"Treat {_as_constant(held)}. " if held else ""
        return self.make(
            "power", expr, result, v, partial,
            explanation=f"{lead}Power rule: bring the exponent {_quote(n)} down in front and "
                        f"lower it by one, giving {_quote(result)}.",
            formula=rf"{op}\,{t}^{{n}} = n\,{t}^{{n-1}}")

    def function(self, expr: sp.Function, v: sp.Symbol, partial: bool, depth: int) -> Step:
        argument = expr.args[0]
        extra = expr.args[1:]
        if any(a.has(v) for a in extra):
            return self.direct(expr, v, partial, reason="no_rule")
        if type(expr) is sp.Abs and argument.is_real is not True:
            # SymPy's |u| has slope sign(u) only where it can prove u real (symgd's Abs always)
            return self.direct(expr, v, partial, reason="no_rule")
        if argument != v:
            func = expr.func
            return self.chain(expr, argument, lambda u: func(u, *extra), v, partial, depth)
        table = _FUNCTION_RULES[type(expr)]
        result = table.derivative(v, expr)
        t = sp.latex(v)
        op = self.op(v, partial)
        return self.make(
            table.rule, expr, result, v, partial,
            explanation=table.sentence.format(f=_quote(expr), d=_quote(result),
                                              a=_quote(getattr(expr, "slope", sp.S.Zero))),
            formula=rf"{op}\left[{table.left(t)}\right] = {table.right(t)}")

    def chain(self, expr: sp.Expr, inner: sp.Expr, outer: Callable[[sp.Symbol], sp.Expr],
              v: sp.Symbol, partial: bool, depth: int) -> Step:
        u = self.fresh()
        self.taken.add(u.name)
        self.chain_level += 1
        try:
            outside = outer(u)
            outer_step = self.build(outside, u, False, depth + 1)
            inner_step = self.build(inner, v, partial, depth + 1)
        finally:
            self.chain_level -= 1
            self.taken.discard(u.name)
        # |u| and sign(u) of a u SymPy cannot prove real: symgd's, as in sp.diff's answer
        result = as_symgd_functions(outer_step.result.xreplace({u: inner})) * inner_step.result
        op = self.op(v, partial)
        name = sp.latex(u)
        d_inner = (rf"\frac{{\partial {name}}}{{\partial {sp.latex(v)}}}" if partial
                   else rf"\frac{{d {name}}}{{d {sp.latex(v)}}}")
        return self.make(
            "chain", expr, result, v, partial, substeps=(outer_step, inner_step), inner=inner,
            explanation=f"Chain rule with {u.name} = {_quote(inner)}: differentiate the outer "
                        f"function {_quote(outside)} with respect to {u.name}, put "
                        f"{_quote(inner)} back in for {u.name}, and multiply by the "
                        f"derivative of {u.name}.",
            formula=(rf"{op}\,f({name}) = f'({name})\,{d_inner}"),
        )


# ---------------------------------------------------------------------------------------------
# the final simplification and the note about held variables


def _size(expr: sp.Expr) -> tuple[int, int]:
    """How heavy an expression reads: operations, with each fraction bar counted extra."""
    bars = sum(1 for p in sp.preorder_traversal(expr)
               if isinstance(p, sp.Pow) and p.exp.is_number and p.exp.is_negative)
    # "(...)/100" reads worse than the sum it came from
    scaled = (isinstance(expr, sp.Mul) and expr.args[0].is_Rational
              and not expr.args[0].is_Integer and any(isinstance(a, sp.Add) for a in expr.args))
    return (int(sp.count_ops(expr)) + 2 * bars + 2 * scaled, len(str(expr)))


def _simplified(raw: Step) -> Step:
    """Wrap ``raw`` in a "simplify" step when a cheap rewriting of its result is shorter.

    The candidates are SymPy's own derivative and bounded rewritings (``factor_terms``,
    ``expand`` when no high power of a sum is present, ``cancel`` on rational functions); a
    candidate wins only when it is strictly lighter than the raw result.
    """
    result = raw.result
    ops = sp.count_ops(result)
    if raw.rule == "direct" or ops > MAX_SIMPLIFY_OPS:
        return raw
    direct = sp.diff(raw.expression, raw.variable)
    candidates = [direct]
    rewrites: tuple[Callable[[sp.Expr], sp.Expr], ...] = (_factor_terms_keep_sign,)
    if ops <= MAX_FULL_SIMPLIFY_OPS:
        rewrites = (sp.factor_terms, _factor_terms_keep_sign, _expand_small, _cancel_rational)
    for source in (result,) if direct == result else (result, direct):
        for rewrite in rewrites:
            try:
                rewritten = rewrite(source)
            except (sp.PolynomialError, NotImplementedError, ValueError, TypeError):
                continue
            candidates.append(rewritten)
            if rewrite is _expand_small and rewritten is not source:
                candidates += [sp.factor_terms(rewritten), _factor_terms_keep_sign(rewritten)]
    best = min(candidates, key=_size)
    if best == result or _size(best) >= _size(result):
        return raw
    return Step(
        rule="simplify", expression=raw.expression, result=best, variable=raw.variable,
        substeps=(raw,), explanation=f"Simplify: {_quote(result)} can be written more "
                                     f"compactly as {_quote(best)}.",
        formula_latex=r"\text{rewrite the result in a shorter, equivalent form}",
        partial=raw.partial)


def _factor_terms_keep_sign(expr: sp.Expr) -> sp.Expr:
    """``factor_terms`` without pulling signs out (which can rewrite exp(-a - b) oddly)."""
    return sp.factor_terms(expr, sign=False)


def _expand_small(expr: sp.Expr) -> sp.Expr:
    """``expand`` a small expression unless a sum is raised to a power above 3 (or below 0)."""
    if sp.count_ops(expr) > MAX_EXPAND_OPS:
        return expr
    for p in expr.atoms(sp.Pow):
        if isinstance(p.base, sp.Add) and (not p.exp.is_Integer or not 0 < p.exp <= 3):
            return expr
    expanded = sp.expand(expr, power_exp=False, power_base=False, log=False)
    return expanded if sp.count_ops(expanded) <= 2 * MAX_SIMPLIFY_OPS else expr


def _cancel_rational(expr: sp.Expr) -> sp.Expr:
    """``cancel`` for rational functions of the symbols only (where it is fast and safe)."""
    if expr.atoms(sp.Function) or any(not p.exp.is_Integer for p in expr.atoms(sp.Pow)):
        return expr
    return sp.cancel(expr)


def _with_holding_note(step: Step, expr: sp.Expr, variable: sp.Symbol,
                       others: tuple[sp.Symbol, ...]) -> Step:
    """Say at the top which symbols are held constant in this partial derivative."""
    held = {s for s in expr.free_symbols if s != variable and isinstance(s, sp.Symbol)}
    held |= set(others) & expr.free_symbols
    if not held:
        return step
    if step.explanation.startswith("Treat "):  # the step itself already says it
        note = f"Partial derivative with respect to {variable.name}. "
    else:
        note = (f"Partial derivative with respect to {variable.name}: treat "
                f"{_as_constant(held)} throughout. ")
    return Step(rule=step.rule, expression=step.expression, result=step.result,
                variable=step.variable, substeps=step.substeps, inner=step.inner,
                explanation=note + step.explanation, formula_latex=step.formula_latex,
                partial=step.partial)
