"""``symgd grade``: a class's answers (CSV) graded against a handout's JSON key."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from symgd.base.errors import InputError
from symgd.base.files import check_output, write_atomically
from symgd.base.i18n import _, pgettext
from symgd.cli.common import (
    FiniteFloatRange,
    OutputPath,
    echo_json,
    follow_symlinks_option,
    input_errors_exit_2,
    lang_option,
)
from symgd.handout.grading import CHECK_SECONDS, TIME_LIMIT

if TYPE_CHECKING:
    from symgd.handout.grading import GradeResult

#: classes with at least this many rows show progress on stderr (when it is a terminal)
BIG_CLASS = 20


@click.command()
@click.argument("key_file", type=click.Path(path_type=Path), metavar="KEY.json")
@click.argument("answers_file", type=click.Path(path_type=Path), metavar="ANSWERS.csv")
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False, path_type=Path),
    default=None,
    help="Write a CSV report: a row per student, a column per exercise's points, the "
    "total and the reasons.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the grades as JSON.")
@click.option(
    "--check-seconds",
    type=FiniteFloatRange(0, 60),
    default=CHECK_SECONDS,
    show_default=True,
    metavar="S",
    help="Time for each exact comparison before random points decide (0: points only).",
)
@click.option(
    "--time-limit",
    type=FiniteFloatRange(1, 86400),
    default=TIME_LIMIT,
    show_default=True,
    metavar="S",
    help="Time for the whole file; answers left when it runs out are not graded.",
)
@lang_option
@follow_symlinks_option
@input_errors_exit_2
def grade(
    key_file: Path,
    answers_file: Path,
    output: Path | None,
    as_json: bool,
    check_seconds: float,
    time_limit: float,
    lang: str | None = None,
    follow_symlinks: bool = False,
) -> None:
    """Grade ANSWERS.csv against KEY.json (the key of symgd handout --json).

    \b
    Examples:
      symgd grade week3.json answers.csv
      symgd grade week3.json answers.csv -o grades.csv
      symgd grade week3.json answers.csv --json
      symgd grade week3.json answers.csv --lang ko

    \b
    ANSWERS.csv has a header row, student,variant,1.1,1.2,... (one
    column per exercise id of the key), then one row per student:
      student,variant,1.1,1.3,1.4
      ana,1,"(2x + 2y, 2x)","[[2, 2], [2, 0]]",(0, 0) saddle

    \b
    Answer forms: an expression as symgd reads it (2x, x^2, cos(x)^2); a
    vector (a, b); a matrix [[a, b], [c, d]]; critical points
    (0, 0) saddle; (1, -1) minimum (or none); two descent steps
    p1; p2; f(p0); f(p1); f(p2); yes; a yes/no question yes or no.

    Expressions are compared exactly when SymPy can tell within
    --check-seconds, else at random points; numbers within 1e-6
    (relative) + 1e-9, or to four decimal places where the handout asks
    for decimals. Each exercise is worth 1 point, shared among its parts.
    Bad rows are reported and the rest is graded; the exit code is 2
    only when nothing could be graded. --lang ko writes the reasons, the
    notes and the table in Korean; answers are read the same way in both
    languages (Korean words such as 극소점, 안장점, 예, 아니요 too).
    """
    from symgd.handout.answers import load_key, read_answers
    from symgd.handout.grading import grade as grade_answers

    if output is not None:
        check_output(output, follow_symlinks=follow_symlinks)
    key = load_key(key_file)
    table = read_answers(answers_file)
    err = sys.stderr
    show = err.isatty() and len(table.rows) >= BIG_CLASS
    with click.progressbar(
        length=len(table.rows), label=_("Grading"), file=err, hidden=not show
    ) as bar:

        def progress(done: int, _total: int) -> None:
            bar.update(max(0, done - bar.pos))

        result = grade_answers(
            key,
            table,
            check_seconds=check_seconds,
            time_limit=time_limit,
            progress=progress,
            lang=lang,
        )
    for problem in result.problems:
        click.echo(f"{answers_file}: {problem.text()}", err=True)
    for note in result.notes:
        click.echo(_("Note: {note}").format(note=note), err=True)
    if not result.graded:
        raise InputError(f"nothing in {answers_file} could be graded (see the rows above)")
    if output is not None:
        _write(output, report_csv(result), follow_symlinks)
    if as_json:
        echo_json(result.to_json())
    elif output is not None:
        count = len(result.students)
        click.echo(_("Wrote {path} ({n} students)").format(path=output, n=count))
    else:
        click.echo(summary_table(result))


def report_csv(result: GradeResult) -> str:
    """One row per student: points per exercise, the total, the most and the reasons."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "variant", *result.exercises, "total", "max", "reasons"])
    for s in result.students:
        points = {e.exercise: e for e in s.exercises}
        writer.writerow(
            [
                _cell(s.student),
                s.variant,
                *(_number(points[i].points) if i in points else "" for i in result.exercises),
                _number(s.score),
                _number(s.max),
                _cell(" | ".join(f"{e.exercise}: {e.reason}" for e in s.exercises if e.reason)),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text: no formula (``=``, ``+``, ``-``, ``@`` first)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def summary_table(result: GradeResult) -> str:
    """A short table: student, variant, score, most, and the exercises short of full marks."""
    heads = [
        pgettext("grade table", "student"),
        pgettext("grade table", "variant"),
        pgettext("grade table", "score"),
        pgettext("grade table", "max"),
        pgettext("grade table", "short of full marks"),
    ]
    width = max([_width(heads[0]), *(_width(s.student) for s in result.students)])
    width = min(width, 30)
    columns = [width, max(7, _width(heads[1])), max(6, _width(heads[2])), max(6, _width(heads[3]))]
    lines = [
        "  ".join(
            [
                _pad(heads[0], columns[0]),
                _pad(heads[1], columns[1]),
                _pad(heads[2], columns[2], right=True),
                _pad(heads[3], columns[3], right=True),
                heads[4],
            ]
        )
    ]
    for s in result.students:
        short = [e for e in s.exercises if e.points < e.max]
        listed = ", ".join(f"{e.exercise} ({_number(e.points)})" for e in short[:8])
        if len(short) > 8:
            listed += ", " + _("… {n} more").format(n=len(short) - 8)
        name = s.student if _width(s.student) <= width else _cut(s.student, width - 1) + "…"
        cells = [
            _pad(name, columns[0]),
            _pad(str(s.variant), columns[1], right=True),
            _pad(_number(s.score), columns[2], right=True),
            _pad(_number(s.max), columns[3], right=True),
            listed or "—",
        ]
        lines.append("  ".join(cells))
    lines.append(_("Reasons for each answer: --json, or -o report.csv."))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (Hangul and other wide letters take two)."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    space = " " * max(0, width - _width(text))
    return space + text if right else text + space


def _cut(text: str, width: int) -> str:
    """The longest start of ``text`` that takes at most ``width`` columns."""
    out = ""
    for char in text:
        if _width(out + char) > width:
            break
        out += char
    return out


def _number(value: float) -> str:
    return f"{value:g}"


def _write(path: Path, text: str, follow_symlinks: bool) -> None:
    try:
        write_atomically(path, text.encode("utf-8"), follow_symlinks=follow_symlinks)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
