"""Words the lesson's sections share: tones and outcomes, sentences about eigenvalues and
convexity, notes on the domain, the rule-by-rule steps as the template wants them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from symgd.base.i18n import N_, _, n_
from symgd.render.latex import number, tex

KIND_TONES = {"minimum": "good", "maximum": "bad", "saddle": "warn", "degenerate": ""}
#: a status's badge words (translate with ``_`` where shown) and tone
OUTCOME = {
    "converged": (N_("converged"), "good"),
    "max_steps": (N_("still moving"), "warn"),
    "diverged": (N_("diverged"), "bad"),
    "singular": (N_("stopped: singular"), "warn"),
    "domain": (N_("left the domain"), "bad"),
}


def sentence(text: str) -> str:
    """``text`` ending with a full stop."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def eigen_sentence(values: Sequence[float]) -> str:
    """What the signs of the eigenvalues say about the shape of f."""
    positive = sum(v > 1e-12 for v in values)
    negative = sum(v < -1e-12 for v in values)
    zero = len(values) - positive - negative
    if negative == 0 and zero == 0:
        return _("All eigenvalues are positive: f curves up in every direction, like a bowl.")
    if positive == 0 and zero == 0:
        return _("All eigenvalues are negative: f curves down in every direction, like a dome.")
    if zero and not negative:
        return _(
            "The eigenvalues are positive or zero: f curves up or stays flat, never down; "
            "along a zero eigenvalue's direction it is a straight valley floor."
        )
    if zero and not positive:
        return _("The eigenvalues are negative or zero: f curves down or stays flat.")
    return _(
        "The eigenvalues have both signs: f curves up along some directions and down "
        "along others, like a saddle or a mountain pass."
    )


def convexity_meaning(verdict: str, has_minimum: bool) -> str:
    """What the convexity verdict means for descent."""
    if verdict == "strictly convex" and has_minimum:
        return _(
            "So f has at most one minimum, with no other valleys to get stuck in: with a "
            "small enough learning rate, gradient descent reaches it from any start."
        )
    if verdict == "strictly convex":
        return _(
            "So f has at most one minimum, with no other valleys to get stuck in: with a "
            "small enough learning rate, gradient descent reaches it from any start, if a "
            "minimum exists at all."
        )
    if verdict == "convex":
        return _(
            "So every local minimum is a global one (there may be a whole flat set of "
            "them); descent with a small enough learning rate never gets trapped in a "
            "worse valley."
        )
    if verdict in ("strictly concave", "concave"):
        return _(
            "So f curves down everywhere: it has no minimum, and gradient descent can only "
            "run downhill forever. (Gradient ascent would climb to the maximum.)"
        )
    if verdict == "neither":
        return _(
            "So no global guarantee applies: the start point and the learning rate decide "
            "where descent goes, and it may meet saddles or several separate minima."
        )
    return _("Without a verdict, treat the guarantees of convex optimisation as not available.")


def domain_notes(expr: Any) -> list[str]:
    """Plain remarks on where f or its derivatives are undefined."""
    import sympy as sp

    from symgd.expr.activations import leaky_relu, relu

    notes: list[str] = []
    seen: set[str] = set()

    def add(text: str) -> None:
        if text not in seen:
            seen.add(text)
            notes.append(text)

    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.log):
            add(
                _("log needs a positive argument: f is defined only where {arg} > 0.").format(
                    arg=node.args[0]
                )
            )
        elif (
            isinstance(node, sp.Pow)
            and node.exp.is_Rational
            and not node.exp.is_Integer
            and node.exp.q % 2 == 0
        ):
            add(
                _("A square root needs {base} ≥ 0, and its derivative needs {base} > 0.").format(
                    base=node.base
                )
            )
        elif isinstance(node, sp.Pow) and node.exp.is_negative and node.base.free_symbols:
            add(_("Division: f is undefined where {base} = 0.").format(base=node.base))
        elif isinstance(node, sp.Abs | relu | leaky_relu | sp.Max | sp.Min):
            add(
                _(
                    "f has a kink (|·|, ReLU, max or min): at the kink the derivative jumps, "
                    "and symgd uses the derivative of the side the point lies on."
                )
            )
        elif isinstance(node, sp.asin | sp.acos):
            add(_("arcsin/arccos need −1 ≤ {arg} ≤ 1.").format(arg=node.args[0]))
        elif isinstance(node, sp.tan):
            add(
                _("tan is undefined where {arg} is an odd multiple of π/2.").format(
                    arg=node.args[0]
                )
            )
    return notes


def step_view(item: Any) -> dict[str, Any]:
    """A LatexStep tree for the template: the simplification (if any) comes last, after the
    rule-by-rule derivation it tidies up."""

    def view(node: Any) -> dict[str, Any]:
        return {
            "rule": node.title,
            "explanation": node.explanation,
            "formula_latex": node.equation_latex,
            "general_latex": node.formula_latex,
            "substeps": [view(c) for c in node.children],
        }

    if item.rule == "simplify" and item.children:
        raw = view(item.children[0])
        raw["substeps"] = [
            *raw["substeps"],
            {
                "rule": item.title,
                "explanation": after_colon(item.explanation),
                "formula_latex": item.equation_latex,
                "general_latex": "",
                "substeps": [],
            },
        ]
        head = item.explanation.split(" Simplify:")[0] if " Simplify:" in item.explanation else ""
        if head and not raw["explanation"].startswith(head):
            raw["explanation"] = f"{head} {raw['explanation']}"
        return raw
    return view(item)


def after_colon(text: str) -> str:
    """The text after ``Simplify:``."""
    marker = "Simplify:"
    return text.split(marker, 1)[1].strip() if marker in text else text


def run_value_text(values: Any, ran_away: bool) -> str:
    """The last value of f, in words when the run escaped."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if ran_away:
        if finite.size and float(finite[-1]) < float(finite[0]):
            return _("fell without bound")
        return _("grew without bound")
    return number(float(finite[-1]), 6) if finite.size else _("undefined")


def partial_symbol(variable: Any, n: int) -> str:
    """∂f/∂x (df/dx for one variable) in LaTeX."""
    name = tex(variable)
    if n == 1:
        return rf"\frac{{df}}{{d{name}}}"
    return rf"\frac{{\partial f}}{{\partial {name}}}"


def regime_detail(run: Any) -> str:
    """How a learning-rate panel run ended, in a few words (from its outcome)."""
    from symgd.lesson.endings import kind_name, outcome_of, succeeded

    outcome = outcome_of(run)
    count = run.steps
    if succeeded(run):
        return n_("converged in {n} step", "converged in {n} steps", count).format(n=count)
    if outcome == "cycle":
        return _("repeats every {period} steps; it never settles").format(
            period=run.cycle_period or 2
        )
    if outcome == "unbounded":
        return _("found no lower bound on f (past −10¹² at step {step})").format(
            step=run.diverged_at
        )
    if outcome == "diverged":
        return _("ran away at step {step}").format(step=run.diverged_at)
    if outcome == "domain":
        return _("left the domain of f at step {step}").format(step=run.domain_at)
    if outcome in ("saddle", "maximum", "degenerate", "flat"):
        return n_(
            "stopped after {n} step ({kind})", "stopped after {n} steps ({kind})", count
        ).format(n=count, kind=kind_name(outcome))
    return n_(
        "still moving after {n} step (|∇f| ≈ {norm})",
        "still moving after {n} steps (|∇f| ≈ {norm})",
        count,
    ).format(n=count, norm=number(float(run.grad_norms[-1]), 2))
