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

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from symgd.base.errors import InputError
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
    KeyProblem,
    SymbolicChecker,
    compare_numbers,
    critical_kind,
    decimal_text,
    read_expression,
    read_number,
    read_numbers,
    same_point,
    short,
    symbols_named,
    tolerance_for,
)

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
) -> GradeResult:
    """Grade ``answers`` against ``key`` (see the module docstring for the points).

    ``key`` is the key's JSON (a dict) or its path; ``answers`` a CSV path, an
    :class:`~symgd.handout.answers.AnswerTable` or rows as dicts (``{"student": ...,
    "variant": ..., "1.1": ...}``). ``check_seconds`` bounds each exact comparison,
    ``time_limit`` the whole grading; ``progress(done, total)`` is called after each row.
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
                f"{checker.timeouts} exact comparison(s) ran out of time "
                f"({check_seconds:g} s each); random points decided them"
            )
    if context.late:
        notes.append(
            f"the time limit of {time_limit:g} s ran out: {context.late} answer(s) were not graded"
        )
    _note_duplicates(students, problems)
    return GradeResult(
        title=str(key.get("title", "")),
        exercises=ids,
        students=tuple(students),
        problems=tuple(problems),
        notes=tuple(notes),
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
            RowProblem(number, "", "student", f"no student id; graded as 'row {number}'", True)
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
                f"has {len(cells)} cells, the header {width}; the missing answers count as blank",
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
        return ExerciseGrade(exercise_id, 0.0, 1.0, "not graded: the time limit ran out")
    if text is None or not text.strip():
        return ExerciseGrade(exercise_id, 0.0, 1.0, "blank")
    if len(text) > MAX_CELL:
        return ExerciseGrade(
            exercise_id, 0.0, 1.0, f"the answer is longer than {MAX_CELL} characters"
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
                    f"the same student id as row {first[s.student]}; both graded",
                    True,
                )
            )
        else:
            first[s.student] = s.row


# -- one answer, by the exercise's kind -----------------------------------------------------------


def grade_exercise(
    exercise: Mapping[str, Any], text: str, context: Context
) -> tuple[Fraction, Fraction, str]:
    """``(points, max, reason)`` for one answer ``text`` to ``exercise`` (of the key)."""
    kind = exercise.get("kind")
    grader = _GRADERS.get(str(kind))
    if grader is None:
        return Fraction(0), Fraction(0), f"not graded: no grader for {kind!r} exercises"
    try:
        outcome = grader(exercise, text, context)
    except KeyProblem as exc:
        return Fraction(0), Fraction(0), f"not graded: {exc}"
    except InputError as exc:
        return Fraction(0), Fraction(1), f"could not read the answer: {_why(exc)}"
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        return Fraction(0), Fraction(0), f"not graded: the key's answer lacks {exc}"
    if outcome is None:
        return Fraction(0), Fraction(0), "not graded: the key cannot tell the right answer"
    credit, reasons = outcome
    return max(Fraction(0), credit), Fraction(1), "; ".join(reasons)[:600]


Outcome = tuple[Fraction, list[str]] | None


def _names(exercise: Mapping[str, Any]) -> list[str]:
    return [str(v) for v in exercise["variables"]]


def _expression_parts(
    texts: Sequence[str],
    keys: Sequence[Any],
    labels: Sequence[str],
    names: Sequence[str],
    context: Context,
) -> Outcome:
    """Each text against its key expression, an equal share each."""

    credit = Fraction(0)
    reasons: list[str] = []
    for text, key, label in zip(texts, keys, labels, strict=True):
        if not text:
            reasons.append(f"{label} is missing")
            continue
        try:
            verdict = context.compare(text, key, names)
        except InputError as exc:
            reasons.append(f"{label}: cannot read {short(text)!r}: {_why(exc)}")
            continue
        if verdict.right:
            credit += Fraction(1, len(keys))
            continue
        detail = (
            f" ({verdict.detail})"
            if verdict.method != "points" or "no real" in verdict.detail
            else ""
        )
        reasons.append(f"{label} is {short(text)}, expected {short(str(key))}{detail}")
    return credit, reasons


def _count_problem(given: int, expected: int, what: str) -> Outcome:
    return Fraction(0), [f"gave {given} {what}, expected {expected}"]


def _why(exc: Exception) -> str:
    """The parser's message, without its list of every known function."""
    return short(str(exc).split("; known functions")[0]) if len(str(exc)) > 60 else str(exc)


def _gradient(exercise: Mapping[str, Any], text: str, context: Context) -> Outcome:
    from symgd.handout.answers import vector_parts

    keys = list(exercise["answer"]["gradient"])
    names = _names(exercise)
    parts = vector_parts(text)
    if len(parts) != len(keys):
        return _count_problem(len(parts), len(keys), "component(s)")
    labels = (
        ["the derivative"]
        if len(keys) == 1
        else [f"gradient component {i}" for i in range(1, len(keys) + 1)]
    )
    return _expression_parts(parts, keys, labels, names, context)


def _hessian(exercise: Mapping[str, Any], text: str, context: Context) -> Outcome:
    from symgd.handout.answers import matrix_parts

    key = [list(row) for row in exercise["answer"]["hessian"]]
    n = len(key)
    rows = matrix_parts(text)
    if len(rows) != n or any(len(row) != n for row in rows):
        shape = f"{len(rows)}×{max(len(r) for r in rows)}"
        return Fraction(0), [f"gave a {shape} matrix, expected {n}×{n}"]
    labels = (
        ["the second derivative"]
        if n == 1
        else [f"Hessian entry ({i + 1}, {j + 1})" for i in range(n) for j in range(n)]
    )
    flat = [cell for row in rows for cell in row]
    return _expression_parts(
        flat, [k for row in key for k in row], labels, _names(exercise), context
    )


def _total_differential(exercise: Mapping[str, Any], text: str, context: Context) -> Outcome:
    """Right as a whole, or a share per coefficient of ``dx``, ``dy``, ..."""
    import sympy as sp

    from symgd.expr.problem import to_text

    answer = exercise["answer"]
    names, differentials = _names(exercise), [str(d) for d in answer["differentials"]]
    for d in differentials:  # "(2x + 2y) dx + 2x dy": a space before a differential multiplies
        text = re.sub(rf"(?<=[\w)])\s+(?={re.escape(d)}\b)", "*", text)
    every = [*names, *differentials]
    whole = context.compare(text, answer["total_differential"], every)
    if whole.right:
        return Fraction(1), []
    parsed = read_expression(text, every)
    key = context.key_expr(answer["total_differential"], every)
    symbols = symbols_named(key, parsed.expr, every)
    ds = symbols[len(names) :]
    zero = dict.fromkeys(ds, 0)
    if any(sp.diff(parsed.expr, a, b) != 0 for a in ds for b in ds) or (
        not context.compare(to_text(parsed.expr.xreplace(zero)), "0", every).right
    ):
        return Fraction(0), [
            f"df = {' + '.join(f'(…) {d}' for d in differentials)} is expected; "
            "this answer has other terms"
        ]
    mine = [to_text(sp.diff(parsed.expr, d).xreplace(zero)) for d in ds]
    keys = [to_text(sp.diff(key, d).xreplace(zero)) for d in ds]
    labels = [f"the coefficient of {d}" for d in differentials]
    return _expression_parts(mine, keys, labels, every, context)


def _critical_points(exercise: Mapping[str, Any], text: str, context: Context) -> Outcome:
    """Points as a set, each with its kind (see the module docstring for the shares)."""
    from symgd.handout.answers import point_items

    names = _names(exercise)
    answer = exercise["answer"]
    keys = []
    for point in answer["critical_points"]:
        if point.get("free"):
            continue
        coords = [context.key_expr(point["point"][n], names) for n in names]
        decimal = not point.get("exact", True) or any(map(decimal_text, point["point"].values()))
        keys.append((coords, str(point["kind"]), tolerance_for(exercise, decimal)))
    complete = bool(answer.get("complete")) and len(keys) == len(answer["critical_points"])
    given = [(read_numbers(p, names, short(p)), kind, p) for p, kind in point_items(text)]
    if not keys and not complete:
        return None
    if not keys:
        if not given:
            return Fraction(1), []
        return Fraction(0), [f"f has no critical point; {short(given[0][2])} is not one"]
    if not given:
        return Fraction(0), [f"gave no critical point; the key has {len(keys)} point(s)"]
    matched: dict[int, int] = {}  # student point -> key point
    for k, (coords, _, tolerance) in enumerate(keys):
        for s, (point, _, _) in enumerate(given):
            if s not in matched and same_point(point, coords, tolerance):
                matched[s] = k
                break
    reasons: list[str] = []
    credit = Fraction(0)
    function = context.key_expr(exercise["function"], names) if not complete else None
    for s, (point, kind, written) in enumerate(given):
        expected = keys[matched[s]][1] if s in matched else None
        if expected is None and function is not None:
            expected = critical_kind(function, symbols_named(function, function, names), point)
        if expected is None:
            credit -= Fraction(1, 2)
            reasons.append(f"{short(written)} is not a critical point")
            continue
        credit += Fraction(1, 2)
        if kind == expected:
            credit += Fraction(1, 2)
        else:
            said = "no kind given" if kind is None else f"not a {kind}"
            reasons.append(f"{short(written)} is a {expected}, {said}")
    if complete:
        for k, (coords, kind, _) in enumerate(keys):
            if k not in matched.values():
                shown = ", ".join(short(str(c)) for c in coords)
                reasons.append(f"missed the critical point ({shown}) ({kind})")
        return credit / len(keys), reasons
    return credit / len(given), [
        *reasons,
        "the key may not list every critical point",
    ] if reasons else []


def _descent_steps(exercise: Mapping[str, Any], text: str, context: Context) -> Outcome:
    """``p1; p2; f(p0); f(p1); f(p2); yes`` (the start ``p0`` may come first)."""
    from symgd.handout.answers import split_top, yes_no

    names = _names(exercise)
    answer = exercise["answer"]
    points = [[p[n] for n in names] for p in answer["points"]]
    values = list(answer["values"])
    steps = len(points) - 1
    items = split_top(text, ";")
    expected = steps + len(values) + 1
    if len(items) == expected + 1:  # the start point too
        items = items[1:]
    if len(items) != expected:
        return _count_problem(
            len(items),
            expected,
            f"parts (write the {steps} new points, the {len(values)} values of f and yes or "
            "no, separated by ';')",
        )
    tolerance = tolerance_for(exercise)
    share = Fraction(1, expected)
    credit = Fraction(0)
    reasons: list[str] = []

    def key_number(value: Any) -> Any:
        return context.key_expr(value, names)

    for i, item in enumerate(items[:steps], start=1):
        mine = read_numbers(item, names, f"point p{i}")
        if all(
            compare_numbers(a, key_number(k), tolerance)
            for a, k in zip(mine, points[i], strict=True)
        ):
            credit += share
        else:
            reasons.append(f"point p{i} is {short(item)}, expected ({', '.join(points[i])})")
    for i, item in enumerate(items[steps : steps + len(values)]):
        mine = read_number(item, names)
        if compare_numbers(mine, key_number(values[i]), tolerance):
            credit += share
        else:
            reasons.append(f"f(p{i}) is {short(item)}, expected {short(str(values[i]))}")
    said = yes_no(items[-1])
    if said is bool(answer["decreasing"]):
        credit += share
    else:
        right = "yes" if answer["decreasing"] else "no"
        reasons.append(f"'did f decrease?' is answered {short(items[-1])!r}, expected {right}")
    return credit, reasons


def _learning_rate(exercise: Mapping[str, Any], text: str, context: Context) -> Outcome:
    """Yes or no: does descent converge (the explanation is not graded)."""
    from symgd.handout.answers import yes_no

    del context
    said = yes_no(text)
    right = bool(exercise["answer"]["converges"])
    if said is right:
        return Fraction(1), []
    if said is None:
        return Fraction(0), [f"{short(text)!r} does not start with yes or no"]
    return Fraction(0), [f"answered {'yes' if said else 'no'}, expected {'yes' if right else 'no'}"]


_GRADERS: dict[str, Callable[[Mapping[str, Any], str, Context], Outcome]] = {
    "gradient": _gradient,
    "total_differential": _total_differential,
    "hessian": _hessian,
    "critical_points": _critical_points,
    "descent_steps": _descent_steps,
    "learning_rate": _learning_rate,
}
