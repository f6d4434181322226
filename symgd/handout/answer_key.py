"""The answer key as JSON, for graders and for checking: every expression as a SymPy string
that symgd reads back, exact numbers as strings beside their float values.

>>> from symgd.handout import build_handout
>>> key = handout_to_json(build_handout(["w**2"], seed=1, workers=1))
>>> [e["kind"] for e in key["variants"][0]["exercises"]][:3]
['gradient', 'total_differential', 'hessian']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from symgd.base.i18n import language
from symgd.calculus.derivation import point_to_json
from symgd.calculus.hand_steps import DescentSteps, real_number
from symgd.expr.problem import to_text
from symgd.handout.model import KINDS, Exercise, Handout, RateQuestion, Sheet
from symgd.handout.rate_exercise import rate_reason

if TYPE_CHECKING:
    import sympy as sp

    from symgd.calculus.derivation import Derivation


def handout_to_json(h: Handout) -> dict[str, Any]:
    """The handout's exercises and answers: expressions as SymPy ``str`` strings, exact
    numbers as strings beside their float values. JSON has no NaN or infinity: a float value
    that is not a finite real number is ``None``, as are ``threshold``/``threshold_value``
    and ``limit`` when there is none. A descent-steps answer has ``cautions`` (sentences)
    only when its numbers are special: the steps land exactly on a minimiser, or no draw
    avoided a hidden instability or a saddle (:mod:`symgd.handout.hazards`). Each variant
    carries the ``seed`` it was drawn from: ``--seed`` with that number and the variant's
    number gives the same exercises again (each variant's draws depend on those two only).
    The sentences (questions, reasons, cautions) are in the handout's language; keys and
    machine values are English."""
    with language(h.lang):
        return _key(h)


def _key(h: Handout) -> dict[str, Any]:
    from symgd import __version__

    return {
        "generator": f"symgd {__version__}",
        "title": h.title,
        "seed": h.seed,
        "answers": h.answers,
        "variant_count": len(h.variants),
        "functions": [
            {
                "index": index,
                "input": d.problem.source,
                "expression": to_text(d.expr),
                "variables": [v.name for v in d.variables],
            }
            for index, d in enumerate(h.derivations, start=1)
        ],
        "variants": [
            {
                "variant": variant.number,
                "seed": h.seed,
                "exercises": [
                    exercise_to_json(sheet, exercise)
                    for sheet in variant.sheets
                    for exercise in sheet.exercises
                ],
            }
            for variant in h.variants
        ],
    }


def exercise_to_json(sheet: Sheet, exercise: Exercise) -> dict[str, Any]:
    """One exercise: its function, question, given values and answer."""
    d = sheet.derivation
    function, variables = d.expr, d.variables
    given: dict[str, Any] = {}
    if exercise.kind in KINDS[:4]:
        answer = _function_answer(d, exercise.kind)
    elif exercise.kind == "descent_steps" and exercise.steps is not None:
        given, answer = _steps_json(exercise.steps, [v.name for v in d.variables])
        if exercise.cautions:
            answer["cautions"] = list(exercise.cautions)
    elif exercise.kind == "learning_rate" and exercise.rate is not None:
        function, variables = exercise.rate.function, exercise.rate.variables
        given, answer = _rate_json(exercise.rate)
    else:  # pragma: no cover - every kind is handled above
        raise ValueError(f"unknown exercise kind {exercise.kind!r}")
    return {
        "id": exercise.number,
        "function_index": sheet.index,
        "kind": exercise.kind,
        "function_name": exercise.rate.name if exercise.rate is not None else "f",
        "function": to_text(function),
        "variables": [v.name for v in variables],
        "question": exercise.question,
        "given": given,
        "answer": answer,
    }


def _function_answer(d: Derivation, kind: str) -> dict[str, Any]:
    """The answer to an exercise on f alone (the same in every variant)."""
    names = [v.name for v in d.variables]
    if kind == "gradient":
        return {"gradient": [to_text(g) for g in d.gradient]}
    if kind == "total_differential":
        return {
            "total_differential": to_text(d.total_differential),
            "differentials": [s.name for s in d.differentials],
        }
    if kind == "hessian":
        n = len(names)
        return {"hessian": [[to_text(d.hessian[i, j]) for j in range(n)] for i in range(n)]}
    return {
        "critical_points": [point_to_json(p, names) for p in d.critical_points],
        "complete": d.critical_points_complete,
    }


def _steps_json(steps: DescentSteps, names: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The given start and rate, and the worked points, gradients and values."""
    given = {
        "start": _vector_json(names, steps.start),
        "learning_rate": to_text(steps.eta),
        "learning_rate_value": float(steps.eta),
        "steps": len(steps.steps),
    }
    answer = {
        "points": [_vector_json(names, p) for p in steps.points],
        "points_value": [[_float(v) for v in p] for p in steps.points],
        "gradients": [_vector_json(names, s.gradient) for s in steps.steps],
        "values": [to_text(v) for v in steps.values],
        "values_value": [_float(v) for v in steps.values],
        "decreasing": steps.decreasing,
    }
    return given, answer


def _rate_json(rate: RateQuestion) -> tuple[dict[str, Any], dict[str, Any]]:
    """The given rate, and whether descent converges on the quadratic and why."""
    given = {"learning_rate": to_text(rate.eta), "learning_rate_value": float(rate.eta)}
    threshold = rate.threshold
    answer = {
        "converges": rate.converges,
        "hessian": [[to_text(x) for x in row] for row in rate.hessian.tolist()],
        "eigenvalues": [to_text(v) for v in rate.eigenvalues],
        "threshold": None if threshold is None else to_text(threshold),
        "threshold_value": None if threshold is None else _float(threshold),
        "factors": [to_text(c) for c in rate.factors],
        "limit": None
        if rate.limit is None
        else _vector_json([v.name for v in rate.variables], rate.limit),
        "reason": rate_reason(rate),
    }
    return given, answer


def _vector_json(names: Sequence[str], values: Sequence[sp.Expr]) -> dict[str, str]:
    return {n: to_text(v) for n, v in zip(names, values, strict=True)}


def _float(value: sp.Expr) -> float | None:
    number = real_number(value)
    return None if number is None else float(f"{number:.15g}")
