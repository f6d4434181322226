"""``symgd explain``: a worked gradient-descent lesson on a function, as one HTML file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from symgd.cli.common import (
    ExpressionCommand,
    OutputPath,
    echo_json,
    follow_symlinks_option,
    input_errors_exit_2,
    lang_option,
    parse_point,
    split_list,
)


@click.command(cls=ExpressionCommand)
@click.argument("expression")
@click.option(
    "--start",
    metavar="x=1,y=2",
    help="Start point, by name (x=1,y=2) or in variable order (1,2). "
    "Default: a simple point where the gradient is not zero.",
)
@click.option(
    "--lr",
    type=float,
    metavar="ETA",
    help="Learning rate η. Default: a round number below 1/(2 λ_max) from the Hessian.",
)
@click.option(
    "--steps",
    type=click.IntRange(1, 1_000_000),
    metavar="N",
    help="Most steps per run. Default: enough to show convergence or divergence.",
)
@click.option(
    "--methods",
    metavar="gd,momentum,adam",
    help="Optimizers to run, comma-separated: gd, momentum, nesterov, adagrad, "
    "rmsprop, adam, newton, ascent. Default: gd,momentum,adam.",
)
@click.option(
    "--direction",
    metavar="1,2",
    help="A direction u for the directional derivative D_u f = ∇f·u/|u| at the start, by "
    "name (x=1,y=2) or in variable order (1,2). Default: only the directions of the cos θ "
    "table.",
)
@click.option(
    "--sections",
    metavar="core|all|NAMES",
    default="all",
    show_default=True,
    help="What the lesson contains: all; core (the story without the 'Go deeper' sections); "
    "or section names, comma-separated: function, derivatives, differential, steepest, "
    "curvature, hand, runs, rates, summary, numerical, directional, tangent, quadratic, "
    "momentum.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=OutputPath(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Folder for report.html. Default: out/<expression>/.",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Use templates from DIR (a copy of symgd's templates folder).",
)
@click.option(
    "--pdf",
    "with_pdf",
    is_flag=True,
    help="Also write report.pdf: the same lesson printed, with page numbers.",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"], case_sensitive=False),
    default="a4",
    show_default=True,
    help="Paper size for --pdf.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the report's path and the run's key numbers as JSON.",
)
@lang_option
@follow_symlinks_option
@input_errors_exit_2
def explain(
    expression: str,
    start: str | None,
    lr: float | None,
    steps: int | None,
    methods: str | None,
    direction: str | None,
    sections: str,
    output: Path | None,
    templates: Path | None,
    with_pdf: bool,
    paper: str,
    as_json: bool,
    lang: str | None = None,
    follow_symlinks: bool = False,
) -> None:
    """Write a worked lesson on EXPRESSION to DIR/report.html and print its path.

    \b
    Examples:
      symgd explain "x**2 + 2*x*y"
      symgd explain "(1-x)^2 + 100(y-x^2)^2" --start x=-1.5,y=2 --lr 0.001
      symgd explain "w**2" --lr 0.6 --steps 20 -o out/zigzag
      symgd explain "x**2 + 2*x*y" --lang ko

    The report derives each partial derivative rule by rule, shows why
    -grad f is the steepest way down (the cos θ argument) with the
    function's own numbers, classifies the critical points, works the
    first two steps by hand in exact fractions, runs the optimizers and
    explains in words what happened. Anything you leave out is chosen
    for the function, and the report says how. An expression that starts
    with a minus sign works as it is ("-x**2-y**2", "-log(sigmoid(w))");
    only a word that is exactly an option (-o, -h) or starts with two
    dashes and a letter is read as an option: put -- before such an
    expression (symgd explain -- "-o").
    """
    from symgd.render.worker import prestart_figure_worker

    if with_pdf:
        from symgd.render.pdf import prestart_print_worker

        prestart_print_worker()  # it imports WeasyPrint while the lesson is being worked out
    prestart_figure_worker()  # it imports matplotlib while this process parses and derives

    from symgd.base.files import check_output_in
    from symgd.expr.parser import parse
    from symgd.expr.problem import CLI_MAX_VARIABLES
    from symgd.lesson.page import explain as make_lesson

    problem = parse(expression, max_variables=CLI_MAX_VARIABLES)
    point = None if start is None else parse_point(start, list(problem.names))
    chosen = None if methods is None else split_list(methods, "--methods")
    towards = (
        None if direction is None else parse_point(direction, list(problem.names), "the direction")
    )
    folder = output if output is not None else Path("out") / slug(expression)
    for name in ("report.html", "report.pdf") if with_pdf else ("report.html",):
        check_output_in(folder, name, follow_symlinks=follow_symlinks)  # before the slow work
    lesson = make_lesson(
        problem,
        start=point,
        lr=lr,
        steps=steps,
        methods=chosen,
        templates=templates,
        sections=sections,
        direction=towards,
        lang=lang,
    )
    _write(lesson, folder, with_pdf=with_pdf, paper=paper, as_json=as_json, follow=follow_symlinks)


def _write(
    lesson: Any, folder: Path, *, with_pdf: bool, paper: str, as_json: bool, follow: bool
) -> None:
    """Save the report (and its PDF), then print their paths or the lesson's JSON."""
    from symgd.base.errors import InputError

    try:
        path = lesson.save(folder, follow_symlinks=follow)
        pdf_path = (
            lesson.save_pdf(folder, paper=paper, follow_symlinks=follow) if with_pdf else None
        )
    except OSError as exc:
        raise InputError(f"cannot write the report into {folder}: {exc.strerror or exc}") from None
    if as_json:
        payload = lesson_json(lesson, path)
        if pdf_path is not None:
            payload["pdf"] = str(pdf_path)
        echo_json(payload)
    else:
        click.echo(str(path))
        if pdf_path is not None:
            click.echo(str(pdf_path))


def slug(expression: str) -> str:
    """A folder name for an expression: ``x**2+2*x*y`` → ``x2-2xy``, ``x**2-y`` → ``x2-my``."""
    text = expression.lower().replace("**", "").replace("^", "")
    text = text.replace("−", "-").replace("-", "+m")
    text = re.sub(r"\++", "-", text)
    text = re.sub(r"[^a-z0-9_\-]+", "", text)
    text = re.sub(r"-{2,}", "-", text).strip("-_")
    return text[:60] or "lesson"


def lesson_json(lesson: object, path: Path) -> dict[str, object]:
    """The report's path and the key numbers of the lesson (see :mod:`symgd.lesson.report`)."""
    from symgd.lesson.page import Lesson
    from symgd.lesson.report import lesson_json as key_numbers

    assert isinstance(lesson, Lesson)
    return key_numbers(lesson, path)
