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
from typing import Any

import sympy as sp

from symgd.base.i18n import _, n_
from symgd.calculus.rule_builder import RuleBuilder
from symgd.calculus.step import (
    LatexStep,
    Step,
    names_text,
    operator_latex,
    quote,
)
from symgd.expr.problem import to_text

__all__ = [
    "MAX_EXPAND_OPS",
    "MAX_FULL_SIMPLIFY_OPS",
    "MAX_OPS",
    "MAX_SIMPLIFY_OPS",
    "derivative_steps",
    "format_steps",
    "step_to_dict",
    "steps_latex_items",
]


#: operations in an expression above which it is differentiated directly, without steps
MAX_OPS = 3000

#: operations in a result above which no simplification is tried
MAX_SIMPLIFY_OPS = 400

#: operations in a result above which only one cheap rewriting is tried
MAX_FULL_SIMPLIFY_OPS = 120

#: operations in a result above which it is not expanded
MAX_EXPAND_OPS = 150


def derivative_steps(
    expr: sp.Expr, variable: sp.Symbol, *, others: Sequence[sp.Symbol] = ()
) -> Step:
    """Differentiate ``expr`` by ``variable`` rule by rule; ``others`` are held constant.

    The top step's ``result`` equals ``sympy.diff(expr, variable)``. When a bounded, cheap
    simplification shortens it, the top is a ``"simplify"`` step whose only substep is the raw
    derivation. Large expressions get a direct derivative instead of steps, said in words.

    >>> import sympy as sp
    >>> x = sp.Symbol("x", real=True)
    >>> step = derivative_steps(sp.sin(x**2), x)
    >>> step.rule, step.result
    ('chain', 2*x*cos(x**2))
    >>> [s.rule for s in step.walk()]
    ['chain', 'sin', 'power']
    """
    expr = sp.sympify(expr)
    others = tuple(o for o in others if o != variable)
    partial = bool(others) or bool(expr.free_symbols - {variable})
    taken = {s.name for s in expr.free_symbols} | {variable.name} | {o.name for o in others}
    builder = RuleBuilder(others, taken)
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


def _operator_text(step: Step) -> str:
    name = step.variable.name
    return f"∂/∂{name}" if step.partial else f"d/d{name}"


def _equation_text(step: Step) -> str:
    if step.rule == "simplify" and step.substeps:
        return f"{to_text(step.substeps[0].result)} = {to_text(step.result)}"
    return f"{_operator_text(step)} [{to_text(step.expression)}] = {to_text(step.result)}"


def _equation_latex(step: Step) -> str:
    if step.rule == "simplify" and step.substeps:
        return f"{sp.latex(step.substeps[0].result)} = {sp.latex(step.result)}"
    op = operator_latex(step.variable, step.partial)
    return rf"{op}\left[{sp.latex(step.expression)}\right] = {sp.latex(step.result)}"


def _size(expr: sp.Expr) -> tuple[int, int]:
    """How heavy an expression reads: operations, with each fraction bar counted extra."""
    bars = sum(
        1
        for p in sp.preorder_traversal(expr)
        if isinstance(p, sp.Pow) and p.exp.is_number and p.exp.is_negative
    )
    # "(...)/100" reads worse than the sum it came from
    scaled = (
        isinstance(expr, sp.Mul)
        and expr.args[0].is_Rational
        and not expr.args[0].is_Integer
        and any(isinstance(a, sp.Add) for a in expr.args)
    )
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
        rule="simplify",
        expression=raw.expression,
        result=best,
        variable=raw.variable,
        substeps=(raw,),
        explanation=_("Simplify: {result} can be written more compactly as {best}.").format(
            result=quote(result), best=quote(best)
        ),
        # LaTeX stays as it is in every language (a formula font has no Hangul)
        formula_latex=r"\text{rewrite the result in a shorter, equivalent form}",
        partial=raw.partial,
    )


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


def _with_holding_note(
    step: Step, expr: sp.Expr, variable: sp.Symbol, others: tuple[sp.Symbol, ...]
) -> Step:
    """Say at the top which symbols are held constant in this partial derivative."""
    held = {s for s in expr.free_symbols if s != variable and isinstance(s, sp.Symbol)}
    held |= set(others) & expr.free_symbols
    if not held:
        return step
    if step.says_held:  # the step itself already says it
        note = _("Partial derivative with respect to {name}.").format(name=variable.name) + " "
    else:
        note = (
            n_(
                "Partial derivative with respect to {name}: treat {names} as a constant "
                "throughout.",
                "Partial derivative with respect to {name}: treat {names} as constants throughout.",
                len(held),
            ).format(name=variable.name, names=names_text(held))
            + " "
        )
    return Step(
        rule=step.rule,
        expression=step.expression,
        result=step.result,
        variable=step.variable,
        substeps=step.substeps,
        inner=step.inner,
        explanation=note + step.explanation,
        formula_latex=step.formula_latex,
        partial=step.partial,
        note=note.strip(),
        says_held=step.says_held,
    )
