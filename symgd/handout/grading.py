"""Grade a class's answers against a handout's JSON key (``symgd handout --json``).

The answers are a CSV with one row per student: ``student,variant,`` then one column per
exercise id of the key (``1.1``, ``1.2``, ...). Only the exercises with a column are graded
(a class that answered sheet 1 only is marked out of sheet 1). Each answer is read by symgd's
own parser (:mod:`symgd.handout.answers` splits the answer forms, :mod:`symgd.handout.compare`
compares) and earns at most **1 point**, shared equally among its parts:

- gradient: each component; total differential: each coefficient (of ``dx``, ``dy``, ...);
  Hessian: each entry; so a 2-component gradient with one component right earns ½;
- critical points: each of the key's points is a share, half for the point, half for its
  kind; each point given that is not a critical point costs half a share (never below 0).
  When the key says its list may be incomplete, each point the student gives is a share
  instead (checked against the key's points, else by ∇f = 0 there and the Hessian's
  eigenvalues), and an empty list in such a key is not graded: nothing can tell;
- two descent steps: the two new points, the three values of f and yes/no, a sixth each
  (the start point may come first and is then checked too, without credit);
- learning rate: yes or no, the whole point (the explanation is not graded).

A wrong part gets one reason (``gradient component 2 is 2*x, expected 2*x + 2*y``); the
reasons of an answer are joined on one line. Bad rows (unknown variant, missing cells) are
reported per row and the rest is graded; an unreadable answer earns 0 with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from symgd.base.i18n import _, check_language, language
from symgd.handout.answers import (
    MAX_CELL,
    AnswerTable,
    RowProblem,
    answer_columns,
    answer_table,
    key_variants,
    load_key,
    read_answers,
    variant_number,
)
from symgd.handout.compare import (
    Context,
    SymbolicChecker,
)
from symgd.handout.grade_answer import grade_exercise

__all__ = [
    "CHECK_SECONDS",
    "TIME_LIMIT",
    "ExerciseGrade",
    "GradeResult",
    "RowProblem",
    "StudentGrade",
    "grade",
    "load_key",
    "read_answers",
]

#: seconds each exact (SymPy) comparison may take before the random points decide
CHECK_SECONDS = 2.0
#: seconds the whole file may take; answers left when it runs out are not graded
TIME_LIMIT = 600.0


@dataclass(frozen=True)
class ExerciseGrade:
    """One answer's grade: ``points`` of ``max`` and, when short of ``max``, the reason."""

    exercise: str
    points: float
    max: float
    reason: str


@dataclass(frozen=True)
class StudentGrade:
    """One student's row: a grade per exercise, in the key's order."""

    student: str
    variant: int
    row: int
    exercises: tuple[ExerciseGrade, ...]

    @property
    def score(self) -> float:
        """The points earned."""
        return round(sum(e.points for e in self.exercises), 4)

    @property
    def max(self) -> float:
        """The points available."""
        return round(sum(e.max for e in self.exercises), 4)


@dataclass(frozen=True)
class GradeResult:
    """The class's grades: ``students`` (rows graded, in file order), ``problems`` (rows
    and cells that were not as expected), ``exercises`` (the ids graded) and ``notes``."""

    title: str
    exercises: tuple[str, ...]
    students: tuple[StudentGrade, ...]
    problems: tuple[RowProblem, ...]
    notes: tuple[str, ...]
    lang: str = "en"

    @property
    def graded(self) -> bool:
        """True when at least one student's row was graded."""
        return bool(self.students)

    def to_json(self) -> dict[str, Any]:
        """``{"students": [{"id", "variant", "score", "max", "exercises": {id: {"points",
        "max", "reason"}}}], ...}`` plus the problems, notes and exercise ids."""
        return {
            "title": self.title,
            "exercises": list(self.exercises),
            "students": [
                {
                    "id": s.student,
                    "variant": s.variant,
                    "row": s.row,
                    "score": s.score,
                    "max": s.max,
                    "exercises": {
                        e.exercise: {"points": e.points, "max": e.max, "reason": e.reason}
                        for e in s.exercises
                    },
                }
                for s in self.students
            ],
            "problems": [
                {"row": p.row, "student": p.student, "column": p.column, "message": p.message}
                | {"graded": p.graded}
                for p in self.problems
            ],
            "notes": list(self.notes),
        }


def grade(
    key: Mapping[str, Any] | str | Path,
    answers: AnswerTable | Iterable[Mapping[str, str]] | str | Path,
    *,
    check_seconds: float = CHECK_SECONDS,
    time_limit: float = TIME_LIMIT,
    progress: Callable[[int, int], None] | None = None,
    lang: str | None = None,
) -> GradeResult:
    """Grade ``answers`` against ``key`` (see the module docstring for the points).

    ``key`` is the key's JSON (a dict) or its path; ``answers`` a CSV path, an
    :class:`~symgd.handout.answers.AnswerTable` or rows as dicts (``{"student": ...,
    "variant": ..., "1.1": ...}``). ``check_seconds`` bounds each exact comparison,
    ``time_limit`` the whole grading; ``progress(done, total)`` is called after each row.
    ``lang`` (``None``: the language in effect) is the language of the reasons, problems and
    notes; answers are read the same way in every language.
    :class:`InputError` when the key or the answers' header cannot be used.

    >>> key = {"variants": [{"variant": 1, "exercises": [{"id": "1.1", "kind": "gradient",
    ...     "variables": ["x", "y"], "answer": {"gradient": ["2*x + 2*y", "2*x"]}}]}]}
    >>> result = grade(key, [{"student": "ana", "variant": "1", "1.1": "(2(x+y), x*2)"},
    ...                      {"student": "bo", "variant": "1", "1.1": "(2x + 2y, 2y)"}])
    >>> [(s.student, s.score) for s in result.students]
    [('ana', 1.0), ('bo', 0.5)]
    >>> result.students[1].exercises[0].reason
    'gradient component 2 is 2y, expected 2*x'
    """
    with language(None if lang is None else check_language(lang)) as code:
        return _grade(key, answers, check_seconds, time_limit, progress, code)


def _grade(
    key: Mapping[str, Any] | str | Path,
    answers: AnswerTable | Iterable[Mapping[str, str]] | str | Path,
    check_seconds: float,
    time_limit: float,
    progress: Callable[[int, int], None] | None,
    code: str,
) -> GradeResult:
    started = time.monotonic()
    if not isinstance(key, Mapping):
        key = load_key(key)
    variants = key_variants(key)
    table = answer_table(answers)
    columns, problems, notes = answer_columns(table, variants)
    ids = tuple(dict.fromkeys(e for v in variants.values() for e in v if e in columns))
    students: list[StudentGrade] = []

    with SymbolicChecker(check_seconds) as checker:
        context = Context(checker=checker, deadline=started + time_limit)
        for done, (number, cells) in enumerate(table.rows, start=1):
            student = _student(number, cells, columns, variants, ids, context, problems)
            if student is not None:
                students.append(student)
            if progress is not None:
                progress(done, len(table.rows))
        if checker.timeouts:
            notes.append(
                _(
                    "{n} exact comparison(s) ran out of time ({seconds} s each); random points "
                    "decided them"
                ).format(n=checker.timeouts, seconds=f"{check_seconds:g}")
            )
    if context.late:
        notes.append(
            _("the time limit of {seconds} s ran out: {n} answer(s) were not graded").format(
                seconds=f"{time_limit:g}", n=context.late
            )
        )
    _note_duplicates(students, problems)
    return GradeResult(
        title=str(key.get("title", "")),
        exercises=ids,
        students=tuple(students),
        problems=tuple(problems),
        notes=tuple(notes),
        lang=code,
    )


def _student(
    number: int,
    cells: Sequence[str],
    columns: Mapping[str, int],
    variants: Mapping[int, Mapping[str, Mapping[str, Any]]],
    ids: Sequence[str],
    context: Context,
    problems: list[RowProblem],
) -> StudentGrade | None:
    """Grade one row, or report why it cannot be graded."""
    width = max(columns.values()) + 1

    def cell(name: str) -> str | None:
        index = columns.get(name)
        return None if index is None or index >= len(cells) else cells[index]

    who = (cell("student") or "").strip()
    if not who:
        problems.append(
            RowProblem(
                number,
                "",
                "student",
                _("no student id; graded as 'row {number}'").format(number=number),
                True,
            )
        )
        who = f"row {number}"
    variant = variant_number(cell("variant"), variants)
    if isinstance(variant, str):
        problems.append(RowProblem(number, who, "variant", variant, False))
        return None
    if len(cells) < width:
        problems.append(
            RowProblem(
                number,
                who,
                "",
                _(
                    "has {cells} cells, the header {width}; the missing answers count as blank"
                ).format(cells=len(cells), width=width),
                True,
            )
        )
    exercises = variants[variant]
    grades = []
    for exercise_id in ids:
        exercise = exercises.get(exercise_id)
        if exercise is None:
            continue
        text = cell(exercise_id)
        grades.append(_grade_cell(exercise_id, exercise, text, context))
    return StudentGrade(student=who, variant=variant, row=number, exercises=tuple(grades))


def _grade_cell(
    exercise_id: str, exercise: Mapping[str, Any], text: str | None, context: Context
) -> ExerciseGrade:
    if time.monotonic() > context.deadline:
        context.late += 1
        return ExerciseGrade(exercise_id, 0.0, 1.0, _("not graded: the time limit ran out"))
    if text is None or not text.strip():
        return ExerciseGrade(exercise_id, 0.0, 1.0, _("blank"))
    if len(text) > MAX_CELL:
        return ExerciseGrade(
            exercise_id,
            0.0,
            1.0,
            _("the answer is longer than {n} characters").format(n=MAX_CELL),
        )
    credit, maximum, reason = grade_exercise(exercise, text.strip(), context)
    return ExerciseGrade(exercise_id, _points(credit), _points(maximum), reason)


def _points(value: Fraction) -> float:
    return round(float(value), 4)


def _note_duplicates(students: Sequence[StudentGrade], problems: list[RowProblem]) -> None:
    first: dict[str, int] = {}
    for s in students:
        if s.student in first:
            problems.append(
                RowProblem(
                    s.row,
                    s.student,
                    "student",
                    _("the same student id as row {row}; both graded").format(row=first[s.student]),
                    True,
                )
            )
        else:
            first[s.student] = s.row
