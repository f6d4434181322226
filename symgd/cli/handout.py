"""``symgd handout``: an exercise sheet for a class, as a PDF with an answer key, or as
questions for Moodle (XML) or Canvas (a QTI 1.2 zip)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from symgd.base.errors import ExpressionError, InputError
from symgd.base.files import answer_key_path, check_output, read_input, write_atomically
from symgd.base.i18n import _
from symgd.base.limits import MAX_VARIANTS
from symgd.cli.common import (
    ExpressionCommand,
    OutputPath,
    follow_symlinks_option,
    input_errors_exit_2,
    json_text,
    lang_option,
)

if TYPE_CHECKING:
    from symgd.expr.problem import Problem
    from symgd.handout.model import Handout

#: handouts with at least this many function sheets (functions × variants) show progress
#: on stderr even when it is not a terminal
LONG_HANDOUT = 20
#: longest expression file read with --from (bytes)
MAX_FILE_BYTES = 1_000_000
#: each --format and the file ending its output must have (``None``: any name)
FORMATS = {"pdf": None, "moodle": ".xml", "qti": ".zip"}
#: what each format writes, for messages
FORMAT_NAMES = {"pdf": "a PDF", "moodle": "Moodle XML", "qti": "a QTI 1.2 zip for Canvas"}


@click.command(cls=ExpressionCommand)
@click.argument("expressions", nargs=-1, metavar="[EXPR]...")
@click.option(
    "--from",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Read expressions from FILE, one per line "
    "(blank lines and # comments are skipped; a regular file of at most 1 MB).",
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the handout  [default: handout.pdf, handout.xml with --format "
    "moodle, handout.zip with --format qti].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(list(FORMATS), case_sensitive=False),
    default="pdf",
    show_default=True,
    help="pdf: the printed sheets and key; moodle: Moodle XML questions (-o NAME.xml); "
    "qti: a QTI 1.2 package that Canvas imports (-o NAME.zip).",
)
@click.option("--title", default=None, help="Title printed on every sheet.")
@click.option(
    "--answers",
    type=click.Choice(["separate", "inline", "none"]),
    default="separate",
    show_default=True,
    help="Answer key on separate pages, after each exercise, or not at all (PDF only: "
    "Moodle and Canvas questions always carry their answers).",
)
@click.option(
    "--variants",
    type=click.IntRange(1, MAX_VARIANTS),
    default=1,
    show_default=True,
    metavar="N",
    help="Number of randomised variants (one per student), each with its own key.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    metavar="S",
    help="Seed for start points, learning rates and coefficients; the same seed "
    "gives the same handout.",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"], case_sensitive=False),
    default="a4",
    show_default=True,
    help="Paper size (PDF only).",
)
@click.option(
    "--json",
    "write_json",
    is_flag=True,
    help="Also write the exercises and answers as JSON beside the output.",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Use templates from DIR (a copy of symgd's own; PDF only).",
)
@lang_option
@follow_symlinks_option
@input_errors_exit_2
def handout(
    expressions: tuple[str, ...],
    from_file: Path | None,
    output: Path | None,
    output_format: str,
    title: str | None,
    answers: str,
    variants: int,
    seed: int,
    paper: str,
    write_json: bool,
    templates_dir: Path | None,
    lang: str | None = None,
    follow_symlinks: bool = False,
) -> None:
    """Make an exercise sheet on each EXPR, with worked answers, as a PDF
    (or as Moodle or Canvas questions).

    \b
    Examples:
      symgd handout "x**2 + 2*x*y" "x**4 - 2*x**2 + y**2" -o week3.pdf
      symgd handout --from functions.txt --variants 30 --seed 7 --json
      symgd handout "w**2" --answers inline --paper letter
      symgd handout --from functions.txt --variants 30 --format moodle -o week3.xml
      symgd handout --from functions.txt --variants 30 --format qti -o week3.zip
      symgd handout "x**2 + 2*x*y" --lang ko -o week3-ko.pdf

    For every function the sheet asks for the gradient, the total
    differential, the Hessian and the kinds of the critical points; two
    steps of gradient descent by hand from a start point with a learning
    rate; and whether a learning rate makes descent converge on a
    quadratic. Variants change the start points, learning rates and
    quadratics (never the functions); each has its own key. With --json,
    the key is also written as JSON (e.g. handout.json), with every
    expression as a string that symgd reads back.

    --format moodle writes a question per exercise and variant, --format
    qti a Canvas quiz per variant: numbers graded to a tolerance,
    expressions by hand, the worked solution as feedback.

    --lang ko writes the questions, the worked solutions and the key's
    sentences in Korean (JSON keys and values such as kinds stay English).
    """
    from symgd.handout import handout_to_json, render_handout_pdf

    output_format = output_format.lower()
    pdf = output_format == "pdf"
    output = _output_path(output, output_format)
    problems = _read_problems(expressions, from_file)
    key = answer_key_path(output) if write_json else None
    _check_before_work([output, key], follow_symlinks, templates_dir if pdf else None, pdf)
    result = _build(problems, variants, seed, answers, title, lang, pdf)
    folder = None if templates_dir is None else str(templates_dir)
    data = (
        render_handout_pdf(result, paper=paper, templates_dir=folder)
        if pdf
        else _export(result, output_format)
    )
    _write(output, data, follow_symlinks)
    written = [str(output)]
    if key is not None:
        text = json_text(handout_to_json(result))
        _write(key, (text + "\n").encode("utf-8"), follow_symlinks)
        written.append(str(key))
    click.echo(
        _("Wrote {path}").format(path=written[0])
        if len(written) == 1
        else _("Wrote {path} and {key}").format(path=written[0], key=written[1])
    )


def _build(
    problems: list[Problem],
    variants: int,
    seed: int,
    answers: str,
    title: str | None,
    lang: str | None,
    pdf: bool,
) -> Handout:
    """The handout, with progress on stderr when it is a terminal or the handout is long."""
    from symgd.handout import DEFAULT_TITLE, build_handout

    err = sys.stderr
    show = err.isatty() or len(problems) * variants >= LONG_HANDOUT
    total = len(problems) + variants
    with click.progressbar(
        length=total, label=_("Preparing exercises"), file=err, hidden=not show
    ) as bar:

        def progress(done: int, _total: int) -> None:
            bar.update(max(0, done - bar.pos))

        result = build_handout(
            problems,
            variants=variants,
            seed=seed,
            answers=answers,
            title=title if title is not None else DEFAULT_TITLE,
            progress=progress,
            lang=lang,
        )
    if show and pdf:
        click.echo(_("Typesetting the PDF..."), err=True)
    return result


def _check_before_work(
    targets: list[Path | None], follow_symlinks: bool, templates_dir: Path | None, pdf: bool
) -> None:
    """Refuse now, before the work, what would be refused after it: an output that may not
    be written, a broken template, PDF output without WeasyPrint."""
    for target in targets:
        if target is not None:
            check_output(target, follow_symlinks=follow_symlinks)
    if templates_dir is not None:
        from symgd.render.templates import make_env

        make_env(templates_dir)
    if pdf:
        from symgd.render.pdf import load_weasyprint

        load_weasyprint()


def _output_path(output: Path | None, output_format: str) -> Path:
    """The output file: ``-o`` checked against the format's ending, or ``handout.<ending>``."""
    ending = FORMATS[output_format]
    if output is None:
        return Path(f"handout{ending or '.pdf'}")
    if ending is not None and output.suffix.lower() != ending:
        raise InputError(
            f"--format {output_format} writes {FORMAT_NAMES[output_format]}: name the output "
            f"file with {ending} (got {output.name!r}), e.g. -o {output.stem or 'handout'}{ending}"
        )
    return output


def _export(result: Handout, output_format: str) -> bytes:
    """The handout as Moodle XML or a QTI zip."""
    from symgd.handout.export import handout_questions

    questions = handout_questions(result)
    if output_format == "moodle":
        from symgd.handout.moodle import moodle_xml

        return moodle_xml(questions)
    from symgd.handout.qti import qti_package

    return qti_package(questions)


def _read_problems(expressions: tuple[str, ...], from_file: Path | None) -> list[Problem]:
    """Parse every expression, naming where a bad one came from."""
    from symgd.expr.parser import parse
    from symgd.expr.problem import CLI_MAX_VARIABLES

    sources: list[tuple[str, str]] = [
        (f"expression {i}", text) for i, text in enumerate(expressions, start=1)
    ]
    if from_file is not None:
        sources.extend(_file_lines(from_file))
    if not sources:
        raise InputError("give at least one expression, or a file of them with --from FILE")
    problems = []
    for where, text in sources:
        try:
            problems.append(parse(text, max_variables=CLI_MAX_VARIABLES))
        except ExpressionError as exc:
            pointer = exc.pointer()
            raise InputError(f"{where}: {exc}" + (f"\n{pointer}" if pointer else "")) from None
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    return problems


def _file_lines(path: Path) -> list[tuple[str, str]]:
    raw = read_input(path, limit=MAX_FILE_BYTES, what="expression file")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark some editors write is skipped
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        expression = line.split("#", 1)[0].strip()
        if expression:
            found.append((f"{path.name} line {number}", expression))
    if not found:
        raise InputError(f"{path} holds no expressions (only blank lines or # comments)")
    return found


def _write(path: Path, data: bytes, follow_symlinks: bool = False) -> None:
    try:
        write_atomically(path, data, follow_symlinks=follow_symlinks)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
