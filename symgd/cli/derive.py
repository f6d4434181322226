"""``symgd derive``: gradient, total differential, Hessian and critical points of a function."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from symgd.base.i18n import _, pgettext
from symgd.cli.common import (
    ExpressionCommand,
    FiniteFloatRange,
    echo_json,
    input_errors_exit_2,
    lang_option,
    parse_with_vars,
)

if TYPE_CHECKING:
    from symgd.calculus.derivation import Derivation


@click.command(cls=ExpressionCommand)
@click.argument("expression")
@click.option(
    "--vars",
    "variables",
    metavar="x,y",
    help="Variables and their order (default: every name in the expression, sorted).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--steps", "show_steps", is_flag=True, help="Show each partial derivative rule by rule."
)
@click.option(
    "--timeout",
    type=FiniteFloatRange(min=0.1, max=600),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="Time budget for the exact solver; after it, a numeric search takes over.",
)
@lang_option
@input_errors_exit_2
def derive(
    expression: str,
    variables: str | None,
    as_json: bool,
    show_steps: bool,
    timeout: float,
    lang: str | None = None,
) -> None:
    """Differentiate EXPRESSION exactly and classify its critical points.

    \b
    Examples:
      symgd derive "x**2 + 2*x*y"
      symgd derive "(1-x)^2 + 100(y-x^2)^2" --steps
      symgd derive "a*x**2 + y" --vars x,y,a --json
      symgd derive "x**2 + 2*x*y" --lang ko

    Prints the gradient, the total differential df = f_x dx + f_y dy + ...,
    the Hessian, every critical point with its kind (minimum, maximum,
    saddle, or degenerate when a Hessian eigenvalue is zero) and a
    verdict on convexity. Exact answers come from SymPy; when the
    equations are not polynomial, or the solver runs out of time, a
    numeric search finds points and the list is marked incomplete.
    """
    from symgd.calculus.derivation import derivation_to_json
    from symgd.calculus.derivation import derive as run_derive

    result = run_derive(parse_with_vars(expression, variables), timeout=timeout)
    steps = _steps(result) if show_steps or as_json else None
    if as_json:
        payload = derivation_to_json(result)
        if steps is not None:
            from symgd.calculus.rules import step_to_dict

            payload["steps"] = {name: step_to_dict(tree) for name, tree in steps.items()}
        echo_json(payload)
        return
    click.echo(format_derivation(result))
    if show_steps and steps is not None:
        from symgd.calculus.rules import format_steps

        for name, tree in steps.items():
            click.echo("\n" + _("Step by step, ∂f/∂{name}:").format(name=name))
            click.echo(format_steps(tree))


def _steps(result: Derivation) -> dict[str, Any] | None:
    try:
        from symgd.calculus.rules import derivative_steps
    except ImportError:  # pragma: no cover - steps ship with the package
        return None
    xs = result.variables
    return {
        v.name: derivative_steps(result.expr, v, others=tuple(o for o in xs if o != v)) for v in xs
    }


def format_derivation(d: Derivation) -> str:
    """Readable plain text for the terminal, in the language in effect."""
    from symgd.calculus.points import kind_words

    names = [v.name for v in d.variables]
    lines = [f"f({', '.join(names)}) = {d.expr}", "", _("Gradient:")]
    lines += [f"  ∂f/∂{n} = {g}" for n, g in zip(names, d.gradient, strict=True)]
    lines += ["", _("Total differential:"), f"  df = {d.total_differential}", "", _("Hessian:")]
    width = max(len(str(d.hessian[i, j])) for i in range(len(names)) for j in range(len(names)))
    for i in range(len(names)):
        row = "  ".join(str(d.hessian[i, j]).rjust(width) for j in range(len(names)))
        lines.append(f"  [ {row} ]")
    lines += [
        "",
        _("Critical points:")
        if d.critical_points_complete
        else _("Critical points (the list may be incomplete):"),
    ]
    if not d.critical_points:
        lines.append("  " + _("none found"))
    for p in d.critical_points:
        coords = ", ".join(f"{n} = {_text(c)}" for n, c in zip(names, p.coordinates, strict=True))
        eig = ", ".join(_text(v) for v in p.eigenvalues)
        origin = "" if p.exact else "  " + _("[numeric]")
        free = ", ".join(s.name for s in p.free)
        whole = "  " + _("(a whole set: {names} free)").format(names=free) if p.free else ""
        lines.append(f"  ({coords})  f = {_text(p.value)}  {kind_words(p.kind)}{origin}{whole}")
        lines.append("      " + _("Hessian eigenvalues: {values}").format(values=eig))
    verdict = verdict_word(d.convexity.verdict)
    lines += [
        "",
        _("Convexity: {verdict}. {reason}").format(verdict=verdict, reason=d.convexity.reason),
    ]
    if d.facts is not None:
        from symgd.calculus.facts import format_facts

        lines += ["", *format_facts(d.facts, names)]
    lines += [_("Note: {note}").format(note=note) for note in d.notes]
    return "\n".join(lines)


#: a convexity verdict in words (the verdict itself in English)
VERDICT_WORDS: dict[str, Callable[[], str]] = {
    "strictly convex": lambda: pgettext("convexity verdict", "strictly convex"),
    "convex": lambda: pgettext("convexity verdict", "convex"),
    "strictly concave": lambda: pgettext("convexity verdict", "strictly concave"),
    "concave": lambda: pgettext("convexity verdict", "concave"),
    "affine": lambda: pgettext("convexity verdict", "affine"),
    "neither": lambda: pgettext("convexity verdict", "neither"),
    "unknown": lambda: pgettext("convexity verdict", "unknown"),
}


def verdict_word(verdict: str) -> str:
    """A convexity verdict (``strictly convex``, ``neither``, ...) in the language in effect."""
    word = VERDICT_WORDS.get(verdict)
    return verdict if word is None else word()


def _text(value: Any) -> str:
    import sympy as sp

    if isinstance(value, sp.Float):
        return f"{float(value):.10g}"
    return str(value)
