"""``symgd backprop``: the forward and backward pass through a loss's computational graph.

Writes ``report.html`` (and with ``--pdf`` ``report.pdf``) into ``-o DIR`` (default
``out/backprop/<expression>/``) and prints the gradient, or with ``--json``::

    {"expression": "...", "at": {"w": 0.5, ...}, "wrt": ["w", ...], "loss": 0.248,
     "nodes": [{"id": 0, "op": "variable", "label": "b1", "inputs": [], "value": 0.1,
                "exact": "1/10", "adjoint": 0.0171}, ...],
     "order": {"forward": [...], "backward": [...]},
     "gradient": {...}, "gradient_exact": {...}, "numerical_gradient": {...},
     "check": {"max_abs_error_vs_exact": ..., "max_abs_error_numerical": ...},
     "update": {...}, "report": "out/backprop/.../report.html"}

Bad input (a variable without a value, a name that is not a variable, a learning rate that
is not positive, a point where the loss is undefined, a graph over 500 nodes) exits with 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from symgd.base.i18n import _
from symgd.cli.common import (
    ExpressionCommand,
    OutputPath,
    echo_json,
    follow_symlinks_option,
    input_errors_exit_2,
    lang_option,
)

if TYPE_CHECKING:
    from symgd.network.backprop import BackpropResult


@click.command(cls=ExpressionCommand)
@click.argument("expression")
@click.option(
    "--at",
    "at_text",
    required=True,
    metavar="NAME=VALUE,...",
    help="A value for every variable: inputs, targets and parameters alike.",
)
@click.option(
    "--wrt",
    metavar="NAMES",
    help="The parameters to differentiate by, separated by commas (default: every variable).",
)
@click.option(
    "--lr",
    type=float,
    default=None,
    metavar="ETA",
    help="Also take one step of descent with this learning rate and compare the losses.",
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Folder for report.html. Default: out/backprop/<expression>/.",
)
@click.option("--pdf", "with_pdf", is_flag=True, help="Also write report.pdf.")
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"], case_sensitive=False),
    default="a4",
    show_default=True,
    help="Paper size for --pdf.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the worked passes as JSON.")
@lang_option
@follow_symlinks_option
@input_errors_exit_2
def backprop(
    expression: str,
    at_text: str,
    wrt: str | None,
    lr: float | None,
    output: Path | None,
    with_pdf: bool,
    paper: str,
    as_json: bool,
    lang: str | None = None,
    follow_symlinks: bool = False,
) -> None:
    """Backpropagation through EXPRESSION, worked at one point.

    \b
    Examples:
      symgd backprop "(sigmoid(w2*sigmoid(w1*x + b1) + b2) - y)**2" \\
          --at w1=0.5,b1=0.1,w2=-0.3,b2=0.2,x=1,y=1 --wrt w1,b1,w2,b2 --lr 0.5
      symgd backprop "-(y*log(sigmoid(w*x+b)) + (1-y)*log(1-sigmoid(w*x+b)))" \\
          --at w=0.3,b=0.1,x=2,y=1 --wrt w,b --json
      symgd backprop "(w*x - y)**2" --at w=0.5,x=2,y=3 --lr 0.1 --lang ko

    EXPRESSION is a loss written out. The report draws its computational
    graph, works the forward pass and then the backward pass node by node
    (each adjoint as a sum over the node's users of their adjoint times a
    local derivative, named by its rule), and checks the gradient against
    sympy.diff and a central difference (h = 1e-4). The page, its notes
    and the printed lines are in the language of --lang; JSON keys and
    machine values stay English.
    """
    from symgd.base.errors import InputError
    from symgd.base.files import check_output_in
    from symgd.base.i18n import language_from
    from symgd.cli.explain import slug
    from symgd.network.backprop import backprop as work
    from symgd.network.backprop_page import save_report

    folder = output if output is not None else Path("out") / "backprop" / slug(expression)
    for name in ("report.html", "report.pdf") if with_pdf else ("report.html",):
        check_output_in(folder, name, follow_symlinks=follow_symlinks)  # before the work
    if lr is not None and not lr > 0:
        raise InputError(
            _("--lr must be a positive finite number, got {value}").format(value=f"{lr:g}")
        )
    result = work(expression, at=at_text, wrt=wrt, lr=lr, lang=language_from(lang))
    try:
        page, pdf = save_report(
            result, folder, with_pdf=with_pdf, paper=paper, follow_symlinks=follow_symlinks
        )
    except OSError as exc:
        raise InputError(
            _("cannot write the report into {folder}: {why}").format(
                folder=folder, why=exc.strerror or exc
            )
        ) from None
    if as_json:
        payload = result.to_json()
        payload["report"] = str(page)
        if pdf is not None:
            payload["pdf"] = str(pdf)
        echo_json(payload)
        return
    click.echo(summary(result))
    click.echo(str(page))
    if pdf is not None:
        click.echo(str(pdf))


def summary(result: BackpropResult) -> str:
    """The loss, the gradient and its checks (and the step) as terminal text, in the result's
    language."""
    from symgd.base.i18n import language
    from symgd.render.templates import number

    with language(result.lang):
        point = ", ".join(f"{k} = {v:g}" for k, v in result.at.items())
        lines = [_("Loss {loss} at {point}").format(loss=f"{result.loss:.10g}", point=point)]
        for name in result.wrt:
            exact = result.gradient_exact[name]
            shown = f" = {exact}" if exact is not None and len(exact) <= 60 else ""
            checks = _("(sympy.diff {sympy}, central difference {central})").format(
                sympy=f"{result.sympy_gradient[name]:.10g}",
                central=f"{result.numerical_gradient[name]:.10g}",
            )
            lines.append(f"  ∂L/∂{name} = {result.gradient[name]:.10g}{shown}  {checks}")
        lines.append(
            _(
                "Largest differences: {sympy} from sympy.diff, {central} from the central "
                "difference"
            ).format(
                sympy=number(result.max_abs_error_vs_exact, 2),
                central=number(result.max_abs_error_numerical, 2),
            )
        )
        if result.update is not None and result.loss_after is not None:
            lines.append(
                _("One step with η = {eta}: {update}; loss {before} → {after}").format(
                    eta=f"{result.lr:g}",
                    update=", ".join(f"{k} = {v:.8g}" for k, v in result.update.items()),
                    before=f"{result.loss:.8g}",
                    after=f"{result.loss_after:.8g}",
                )
            )
        lines.extend(result.notes)
        return "\n".join(lines)
