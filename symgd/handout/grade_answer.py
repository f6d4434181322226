"""One answer graded by its exercise's kind: the shares of :mod:`symgd.handout.grading`'s points
and a reason for each wrong part, in the language in effect (answers are read the same way in
every language)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from symgd.base.errors import InputError
from symgd.base.i18n import _, pgettext
from symgd.handout.compare import (
    Context,
    KeyProblem,
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

__all__ = ["Outcome", "grade_exercise", "kind_text"]


def grade_exercise(
    exercise: Mapping[str, Any], text: str, context: Context
) -> tuple[Fraction, Fraction, str]:
    """``(points, max, reason)`` for one answer ``text`` to ``exercise`` (of the key)."""
    kind = exercise.get("kind")
    grader = _GRADERS.get(str(kind))
    if grader is None:
        why = _("not graded: no grader for {kind} exercises").format(kind=repr(kind))
        return Fraction(0), Fraction(0), why
    try:
        outcome = grader(exercise, text, context)
    except KeyProblem as exc:
        return Fraction(0), Fraction(0), _("not graded: {why}").format(why=exc)
    except InputError as exc:
        return Fraction(0), Fraction(1), _("could not read the answer: {why}").format(why=_why(exc))
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        why = _("not graded: the key's answer lacks {what}").format(what=exc)
        return Fraction(0), Fraction(0), why
    if outcome is None:
        return Fraction(0), Fraction(0), _("not graded: the key cannot tell the right answer")
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
            reasons.append(_("{label} is missing").format(label=label))
            continue
        try:
            verdict = context.compare(text, key, names)
        except InputError as exc:
            reasons.append(
                _("{label}: cannot read {text}: {why}").format(
                    label=label, text=repr(short(text)), why=_why(exc)
                )
            )
            continue
        if verdict.right:
            credit += Fraction(1, len(keys))
            continue
        values = {"label": label, "text": short(text), "key": short(str(key))}
        if verdict.method != "points" or verdict.undefined:
            reasons.append(
                _("{label} is {text}, expected {key} ({detail})").format(
                    detail=verdict.detail, **values
                )
            )
        else:
            reasons.append(_("{label} is {text}, expected {key}").format(**values))
    return credit, reasons


def _count_problem(message: str, given: int, expected: int, **more: int) -> Outcome:
    """The answer has the wrong number of parts: ``message`` (translated) says so."""
    return Fraction(0), [message.format(given=given, expected=expected, **more)]


def _why(exc: Exception) -> str:
    """The parser's message, without its list of every known function."""
    return short(str(exc).split("; known functions")[0]) if len(str(exc)) > 60 else str(exc)


def _gradient(exercise: Mapping[str, Any], text: str, context: Context) -> Outcome:
    from symgd.handout.answers import vector_parts

    keys = list(exercise["answer"]["gradient"])
    names = _names(exercise)
    parts = vector_parts(text)
    if len(parts) != len(keys):
        message = _("gave {given} component(s), expected {expected}")
        return _count_problem(message, len(parts), len(keys))
    labels = (
        [_("the derivative")]
        if len(keys) == 1
        else [_("gradient component {i}").format(i=i) for i in range(1, len(keys) + 1)]
    )
    return _expression_parts(parts, keys, labels, names, context)


def _hessian(exercise: Mapping[str, Any], text: str, context: Context) -> Outcome:
    from symgd.handout.answers import matrix_parts

    key = [list(row) for row in exercise["answer"]["hessian"]]
    n = len(key)
    rows = matrix_parts(text)
    if len(rows) != n or any(len(row) != n for row in rows):
        shape = f"{len(rows)}×{max(len(r) for r in rows)}"
        return Fraction(0), [_("gave a {shape} matrix, expected {n}×{n}").format(shape=shape, n=n)]
    labels = (
        [_("the second derivative")]
        if n == 1
        else [
            _("Hessian entry ({i}, {j})").format(i=i + 1, j=j + 1)
            for i in range(n)
            for j in range(n)
        ]
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
        form = " + ".join(f"(…) {d}" for d in differentials)
        return Fraction(0), [
            _("df = {form} is expected; this answer has other terms").format(form=form)
        ]
    mine = [to_text(sp.diff(parsed.expr, d).xreplace(zero)) for d in ds]
    keys = [to_text(sp.diff(key, d).xreplace(zero)) for d in ds]
    labels = [_("the coefficient of {d}").format(d=d) for d in differentials]
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
        return Fraction(0), [
            _("f has no critical point; {point} is not one").format(point=short(given[0][2]))
        ]
    if not given:
        return Fraction(0), [
            _("gave no critical point; the key has {n} point(s)").format(n=len(keys))
        ]
    matched: dict[int, int] = {}  # student point -> key point
    for k, (coords, _kind, tolerance) in enumerate(keys):
        for s, (point, _given_kind, _text) in enumerate(given):
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
            reasons.append(_("{point} is not a critical point").format(point=short(written)))
            continue
        credit += Fraction(1, 2)
        if kind == expected:
            credit += Fraction(1, 2)
        elif kind is None:
            reasons.append(
                _("{point} is a {expected}, no kind given").format(
                    point=short(written), expected=kind_text(expected)
                )
            )
        else:
            reasons.append(
                _("{point} is a {expected}, not a {given}").format(
                    point=short(written), expected=kind_text(expected), given=kind_text(kind)
                )
            )
    if complete:
        for k, (coords, kind, _tolerance) in enumerate(keys):
            if k not in matched.values():
                shown = ", ".join(short(str(c)) for c in coords)
                reasons.append(
                    _("missed the critical point ({point}) ({kind})").format(
                        point=shown, kind=kind_text(kind)
                    )
                )
        return credit / len(keys), reasons
    return credit / len(given), [
        *reasons,
        _("the key may not list every critical point"),
    ] if reasons else []


def kind_text(kind: str) -> str:
    """A kind of critical point (a machine value) in words, in the language in effect
    (English: as it is)."""
    known = {
        "minimum": pgettext("kind of critical point", "minimum"),
        "maximum": pgettext("kind of critical point", "maximum"),
        "saddle": pgettext("kind of critical point", "saddle"),
        "degenerate": pgettext("kind of critical point", "degenerate"),
    }
    return known.get(kind, kind)


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
        message = _(
            "gave {given} parts, expected {expected} (write the {steps} new points, the "
            "{values} values of f and yes or no, separated by ';')"
        )
        return _count_problem(message, len(items), expected, steps=steps, values=len(values))
    tolerance = tolerance_for(exercise)
    share = Fraction(1, expected)
    credit = Fraction(0)
    reasons: list[str] = []

    def key_number(value: Any) -> Any:
        return context.key_expr(value, names)

    for i, item in enumerate(items[:steps], start=1):
        mine = read_numbers(item, names, _("point p{i}").format(i=i))
        if all(
            compare_numbers(a, key_number(k), tolerance)
            for a, k in zip(mine, points[i], strict=True)
        ):
            credit += share
        else:
            reasons.append(
                _("point p{i} is {point}, expected ({key})").format(
                    i=i, point=short(item), key=", ".join(points[i])
                )
            )
    for i, item in enumerate(items[steps : steps + len(values)]):
        mine = read_number(item, names)
        if compare_numbers(mine, key_number(values[i]), tolerance):
            credit += share
        else:
            reasons.append(
                _("f(p{i}) is {value}, expected {key}").format(
                    i=i, value=short(item), key=short(str(values[i]))
                )
            )
    said = yes_no(items[-1])
    if said is bool(answer["decreasing"]):
        credit += share
    else:
        message = (
            _("'did f decrease?' is answered {answer}, expected yes")
            if answer["decreasing"]
            else _("'did f decrease?' is answered {answer}, expected no")
        )
        reasons.append(message.format(answer=repr(short(items[-1]))))
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
        return Fraction(0), [
            _("{answer} does not start with yes or no").format(answer=repr(short(text)))
        ]
    if said:
        return Fraction(0), [_("answered yes, expected no")]
    return Fraction(0), [_("answered no, expected yes")]


_GRADERS: dict[str, Callable[[Mapping[str, Any], str, Context], Outcome]] = {
    "gradient": _gradient,
    "total_differential": _total_differential,
    "hessian": _hessian,
    "critical_points": _critical_points,
    "descent_steps": _descent_steps,
    "learning_rate": _learning_rate,
}
