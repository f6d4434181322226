"""``symgd vanish``: the gradient of every layer's weight in a deep chain, per activation.

JSON output (``--json``)::

    {"depth": 10, "weight": 1.0, "bias": 0.0, "input": 1.0,
     "activations": {"sigmoid": {"z": [...], "p": [...], "derivatives": [...],
                                 "grad_w": [2.78e-07, ..., 0.148], "bound": "σ′(z) ≤ 1/4"}, ...}}

``z``, ``p``, ``derivatives`` (a′(z_k)) and ``grad_w`` (∂p_N/∂w_k) list layers 1..N; a value too
small for a float is 0.0 (the page says which). Bad input exits with 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from symgd.base.i18n import _, n_

if TYPE_CHECKING:
    from symgd.network.vanish import VanishResult
from symgd.cli.common import (
    OutputPath,
    echo_json,
    follow_symlinks_option,
    input_errors_exit_2,
    lang_option,
)

ACTIVATIONS_HELP = "sigmoid,tanh,relu,leaky_relu"


@click.command()
@click.option(
    "--depth",
    type=int,
    default=10,
    show_default=True,
    metavar="N",
    help="Number of layers (1 to 200).",
)
@click.option(
    "--activations",
    default=ACTIVATIONS_HELP,
    show_default=True,
    metavar="LIST",
    help="Activations to compare, comma-separated.",
)
@click.option(
    "--weight",
    type=float,
    default=1.0,
    show_default=True,
    metavar="W",
    help="The weight of every layer.",
)
@click.option(
    "--bias",
    type=float,
    default=0.0,
    show_default=True,
    metavar="B",
    help="The bias of every layer.",
)
@click.option(
    "--input",
    "input_",
    type=float,
    default=1.0,
    show_default=True,
    metavar="X",
    help="The input x of the first layer.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=OutputPath(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Folder for report.html. Default: out/vanish/<settings>/.",
)
@click.option("--pdf", "with_pdf", is_flag=True, help="Also write report.pdf.")
@lang_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print every layer's numbers as JSON (the page is written only with -o or --pdf).",
)
@follow_symlinks_option
@input_errors_exit_2
def vanish(
    depth: int,
    activations: str,
    weight: float,
    bias: float,
    input_: float,
    output: Path | None,
    with_pdf: bool,
    as_json: bool,
    lang: str | None = None,
    follow_symlinks: bool = False,
) -> None:
    """Show why the first layers of a deep chain of sigmoids barely learn.

    \b
    Examples:
      symgd vanish
      symgd vanish --depth 30 --activations sigmoid,relu
      symgd vanish --weight 2 --bias -1 -o out/w2
      symgd vanish --json
      symgd vanish --lang ko

    The network is the chain of the notes: p1 = a(w1 x + b), pk = a(wk
    p(k-1) + b) for k = 2..N, every weight W and every bias B. By the chain
    rule, dpN/dwk = p(k-1) a'(zk) times w a'(zj) for every later layer j. The
    page writes this product out, evaluates it for every layer and
    activation, draws each activation with its derivative and the gradients
    on a log scale, and says which layers' gradients vanish and why. Without
    --json it writes DIR/report.html and prints a line per activation and
    the path.
    """
    from symgd.base.files import check_output_in
    from symgd.base.i18n import language, language_from
    from symgd.network.vanish import vanish as compute

    code = language_from(lang)
    result = compute(depth, activations, weight, bias, input_, lang=code)
    write = not as_json or output is not None or with_pdf
    folder = output if output is not None else Path("out") / "vanish" / settings_slug(result)
    if write:
        for name in ("report.html", "report.pdf") if with_pdf else ("report.html",):
            check_output_in(folder, name, follow_symlinks=follow_symlinks)
    paths = []
    if write:
        paths.append(result.save(folder, follow_symlinks=follow_symlinks))
        if with_pdf:
            paths.append(result.save_pdf(folder, follow_symlinks=follow_symlinks))
    with language(code):
        if as_json:
            echo_json(result.to_json())
            for path in paths:
                click.echo(_("Wrote {path}").format(path=path), err=True)
            return
        click.echo(summary_text(result))
    for path in paths:
        click.echo(str(path))


def settings_slug(result: object) -> str:
    """A folder name for the settings: ``n10-w1-b0-x1``, ``n10-w2-bm1-x1``, with the
    activations appended when they are not all four."""
    from symgd.network.vanish import ACTIVATION_NAMES, VanishResult

    assert isinstance(result, VanishResult)

    def short(value: float) -> str:
        text = f"{value:g}".replace("-", "m").replace(".", "p").replace("+", "")
        return re.sub(r"[^a-z0-9]", "", text)

    slug = f"n{result.depth}-w{short(result.weight)}-b{short(result.bias)}-x{short(result.input)}"
    if result.activations != ACTIVATION_NAMES:
        slug += "-" + "-".join(result.activations)
    return slug


def summary_text(result: object) -> str:
    """One line per activation: the first and the last layer's gradient (in the result's
    language)."""
    from symgd.base.i18n import language
    from symgd.network.vanish import VanishResult

    assert isinstance(result, VanishResult)
    with language(result.lang):
        return _summary_lines(result)


def _summary_lines(result: VanishResult) -> str:
    from symgd.network.vanish_words import grad_text

    n = result.depth
    lines = [
        n_(
            "Chain of {n} layer, W = {w}, B = {b}, x = {x}",
            "Chain of {n} layers, W = {w}, B = {b}, x = {x}",
            n,
        ).format(n=n, w=f"{result.weight:g}", b=f"{result.bias:g}", x=f"{result.input:g}")
    ]
    labels = [c.label for c in result.chains]
    width = max(_width(label) for label in labels)
    for chain, label in zip(result.chains, labels, strict=True):
        lines.append(
            f"  {label}{' ' * (width - _width(label))}  ∂p{n}/∂w1 = {grad_text(result, chain, 1)}"
            + (f",  ∂p{n}/∂w{n} = {grad_text(result, chain, n)}" if n > 1 else "")
        )
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (Hangul and other wide letters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
