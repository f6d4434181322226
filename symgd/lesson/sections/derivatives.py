"""Section 2, partial derivatives and the gradient, each worked rule by rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from symgd.base.i18n import _
from symgd.lesson.facts import Facts
from symgd.lesson.view import View
from symgd.lesson.words import partial_symbol
from symgd.render.latex import MAX_SHOWN_ENTRIES, column, elide, elided_tex, tex

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
    gradient = (
        rf"\nabla f({facts.args_tex}) = {column(entries)}"
        if facts.n > 1
        else rf"f'({facts.args_tex}) = {entries[0]}"
    )
    return DerivativesSection(tuple(partials), gradient)


def _steps(facts: Facts, variable: Any) -> tuple[dict[str, Any] | None, Any]:
    """The rule-by-rule derivation of ∂f/∂variable for the template, and its result."""
    from symgd.calculus.rules import derivative_steps

    others = tuple(o for o in facts.variables if o != variable)
    try:
        tree = derivative_steps(facts.problem.expr, variable, others=others)
        view = _tree_view(tree)
    except (TypeError, ValueError, RecursionError):  # keep the lesson; show the result only
        return None, None
    return view, tree.result


def _tree_view(tree: Any) -> dict[str, Any]:
    """A step tree for the template: every expression in LaTeX (long ones elided by
    structure), the explanation as text and formula parts, and the simplification (if any)
    last, after the rule-by-rule derivation it tidies up."""
    if tree.rule == "simplify" and tree.substeps:
        raw = _node_view(tree.substeps[0])
        before = elided_tex(tree.substeps[0].result, EQUATION_LATEX)
        after = elided_tex(tree.result, EQUATION_LATEX)
        compact = _("The result can be written more compactly:")
        simplify = {
            "rule": tree.title,
            "explanation": compact,
            "parts": [{"text": compact, "latex": ""}],
            "formula_latex": f"{before} = {after}",
            "general_latex": "",
            "substeps": [],
        }
        raw["substeps"] = [*raw["substeps"], simplify]
        head = tree.note
        if head and not raw["explanation"].startswith(head):
            raw["explanation"] = f"{head} {raw['explanation']}"
            raw["parts"] = [{"text": f"{head} ", "latex": ""}, *raw["parts"]]
        return raw
    return _node_view(tree)


#: longest LaTeX of each side of a step's equation before it is elided
EQUATION_LATEX = 220


def _node_view(node: Any) -> dict[str, Any]:
    from symgd.calculus.step import operator_latex

    op = operator_latex(node.variable, node.partial)
    equation = (
        rf"{op}\left[{elided_tex(node.expression, EQUATION_LATEX)}\right] = "
        f"{elided_tex(node.result, EQUATION_LATEX)}"
    )
    return {
        "rule": node.title,
        "explanation": node.explanation,
        "parts": explanation_parts(node),
        "formula_latex": equation,
        "general_latex": node.formula_latex,
        "substeps": [_tree_view(child) for child in node.substeps],
    }


_PLAIN_NAME = re.compile(r"[A-Za-z_]\w*|\d+")
#: a character that may continue a name or number: a word character other than Hangul
_NAME_CHAR = r"(?![\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3])\w"


def explanation_parts(node: Any) -> list[dict[str, str]]:
    """A step's explanation split into text and formulas: every expression the sentence
    quotes in program syntax (``-3*x**2``, possibly cut with ``…``) becomes LaTeX."""
    from symgd.calculus.step import quote

    text = node.explanation
    found: dict[str, str] = {}
    for expr in _quoted_candidates(node):
        quoted = quote(expr)
        if quoted not in found and quoted in text and not _PLAIN_NAME.fullmatch(quoted):
            found[quoted] = elided_tex(expr)
    if not found:
        return [{"text": text, "latex": ""}]
    # a quote may touch a Hangul word ("x**2에"), not a letter of a longer name
    pattern = re.compile(
        rf"(?<![*.])(?<!{_NAME_CHAR})("
        + "|".join(re.escape(q) for q in sorted(found, key=len, reverse=True))
        + rf")(?![(*])(?!{_NAME_CHAR})"
    )
    parts: list[dict[str, str]] = []
    pos = 0
    for match in pattern.finditer(text):
        parts.append({"text": text[pos : match.start()], "latex": ""})
        parts.append({"text": "", "latex": found[match.group(1)]})
        pos = match.end()
    parts.append({"text": text[pos:], "latex": ""})
    return [p for p in parts if p["text"] or p["latex"]]


def _quoted_candidates(node: Any) -> list[Any]:
    """Expressions an explanation may quote: the step's own, their parts and, for every
    product, its factors free of the variable and the rest."""
    import sympy as sp

    roots = [node.expression, node.result]
    if node.inner is not None:
        roots.append(node.inner)
    roots += [child.result for child in node.substeps]
    found: list[Any] = []
    for root in roots:
        for sub in sp.preorder_traversal(root):
            found.append(sub)
            if isinstance(sub, sp.Mul):
                found.extend(sub.as_independent(node.variable, as_Add=False))
            if len(found) > 400:
                return found
    return found
