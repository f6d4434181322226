"""symgd.grade: answers read by symgd's parser and compared with a handout's key, exactly or at
random points, with a reason for every wrong part; hostile answers and bad rows never stop it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sympy as sp

from symgd.base.errors import InputError
from symgd.handout.answers import (
    kind_word,
    matrix_parts,
    point_items,
    split_top,
    vector_parts,
    yes_no,
)
from symgd.handout.grading import grade

X = sp.Symbol("x", real=True)


def key_of(*exercises: dict[str, Any], variants: int = 1) -> dict[str, Any]:
    """A key in the handout's JSON shape with the same exercises in every variant."""
    return {
        "title": "test",
        "variants": [{"variant": v, "exercises": list(exercises)} for v in range(1, variants + 1)],
    }


def gradient(*components: str, names: tuple[str, ...] = ("x", "y")) -> dict[str, Any]:
    return {
        "id": "1.1",
        "kind": "gradient",
        "variables": list(names),
        "answer": {"gradient": list(components)},
    }


def one(key: dict[str, Any], answer: str, **options: Any) -> tuple[float, str]:
    """Points and reason for one student's answer to exercise 1.1."""
    result = grade(key, [{"student": "s", "variant": "1", "1.1": answer}], **options)
    exercise = result.students[0].exercises[0]
    return exercise.points, exercise.reason


# -- equivalent forms are right ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "answer"),
    [
        ("3*(x + 1)**2", "3x^2 + 6x + 3"),  # factored key, expanded answer
        ("3*x**2 + 6*x + 3", "3(x+1)^2"),  # and the other way round
        ("2*x", "x*2"),
        ("x**2 + 2*x + 1", "1 + 2x + x²"),  # reordered sum, Unicode square
        ("cos(x)**2", "1 - sin(x)^2"),
        ("-2*x", "−2x"),  # Unicode minus
        ("x", "log(exp(x))"),  # log(e^x) = x for every real x
        ("1/x", "x^(-1)"),
        ("sqrt(2)*x/2", "x/sqrt(2)"),
    ],
)
def test_equivalent_forms_are_right(expected: str, answer: str) -> None:
    assert one(key_of(gradient(expected, names=("x",))), answer) == (1.0, "")


def test_exp_log_x_is_not_x_over_the_reals() -> None:
    """exp(log(x)) has no real value for x ≤ 0, where x has one: not the same function (SymPy
    simplifies it to x; the answer is evaluated as written)."""
    points, reason = one(key_of(gradient("x", names=("x",))), "exp(log(x))")
    assert points == 0.0
    assert "the derivative is exp(log(x)), expected x" in reason
    assert "no real value at x = -" in reason
    # where both have a value they agree: x is positive there
    points, reason = one(key_of(gradient("log(x)", names=("x",))), "log(exp(log(x)))")
    assert (points, reason) == (1.0, "")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("(2x - 2y, 2x)", "gradient component 1 is 2x - 2y, expected 2*x + 2*y"),  # a sign
        ("(2x, 2x)", "gradient component 1 is 2x, expected 2*x + 2*y"),  # a missing term
        ("(2x + 2y, 2y)", "gradient component 2 is 2y, expected 2*x"),
    ],
)
def test_traps_are_wrong_with_their_reason(answer: str, reason: str) -> None:
    assert one(key_of(gradient("2*x + 2*y", "2*x")), answer) == (0.5, reason)


def test_a_comparison_too_slow_to_finish_falls_back_to_points() -> None:
    key = key_of(gradient("(x + 1)**200", names=("x",)))
    # equal, but expanding (x² + 2x + 1)^100 takes seconds: cut after 0.3 s, then the points
    result = grade(
        key, [{"student": "s", "variant": "1", "1.1": "(x^2 + 2x + 1)^100"}], check_seconds=0.3
    )
    assert result.students[0].exercises[0].points == 1.0
    assert any("ran out of time" in note for note in result.notes)
    # a different polynomial is caught by the points, before any exact check
    points, reason = one(key, "(x^2 + 2x + 1)^100 + 1", check_seconds=0.3)
    assert points == 0.0
    assert reason.startswith("the derivative is (x^2 + 2x + 1)^100 + 1, expected (x + 1)**200")


HOSTILE = [
    "__import__('os').system('touch /tmp/symgd-grade-pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "eval('1')",
    "open('/etc/passwd').read()",
    "lambda: 0",
    "9**9**9**9",
    "10**10**10",
    "2**(2**64)",
    "x" * 5000,
    "(" * 500 + "x" + ")" * 500,
    "x**(10**100)",
    "sin(x)**10000",
    "x;import os",
    "[x]*10**9",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_answers_get_zero_with_a_reason(text: str) -> None:
    points, reason = one(key_of(gradient("2*x", names=("x",))), text)
    assert points == 0.0
    assert reason
    assert not Path("/tmp/symgd-grade-pwned").exists()


# -- the other kinds ---------------------------------------------------------------------------


def test_total_differential_by_coefficient() -> None:
    key = key_of(
        {
            "id": "1.1",
            "kind": "total_differential",
            "variables": ["x", "y"],
            "answer": {
                "total_differential": "dx*(2*x + 2*y) + 2*dy*x",
                "differentials": ["dx", "dy"],
            },
        }
    )
    assert one(key, "(2x + 2y) dx + 2x dy") == (1.0, "")
    assert one(key, "2x dx + 2x dy") == (0.5, "the coefficient of dx is 2*x, expected 2*x + 2*y")
    points, reason = one(key, "(2x + 2y) dx + 2x dy + 1")
    assert points == 0.0 and "other terms" in reason


def test_hessian_by_entry() -> None:
    key = key_of(
        {
            "id": "1.1",
            "kind": "hessian",
            "variables": ["x", "y"],
            "answer": {"hessian": [["12*x**2 - 4", "0"], ["0", "2"]]},
        }
    )
    assert one(key, "[[12x^2 - 4, 0], [0, 2]]") == (1.0, "")
    assert one(key, "[12x^2 - 4, 0; 0, 2]") == (1.0, "")
    assert one(key, "[[12x^2, 0], [0, 2]]") == (
        0.75,
        "Hessian entry (1, 1) is 12x^2, expected 12*x**2 - 4",
    )
    points, reason = one(key, "[[1, 2, 3], [4, 5, 6]]")
    assert points == 0.0 and "2×3" in reason


def critical(points: list[tuple[str, str, str]], complete: bool = True) -> dict[str, Any]:
    return {
        "id": "1.1",
        "kind": "critical_points",
        "function": "x**4 - x**2 + y**2",
        "variables": ["x", "y"],
        "answer": {
            "critical_points": [
                {"point": {"x": a, "y": b}, "kind": kind, "exact": True} for a, b, kind in points
            ],
            "complete": complete,
        },
    }


QUARTIC = [("-sqrt(2)/2", "0", "minimum"), ("0", "0", "saddle"), ("sqrt(2)/2", "0", "minimum")]


def test_critical_points_are_a_set_with_kinds() -> None:
    key = key_of(critical(QUARTIC))
    # any order, exact or 10-digit forms, kind words in English or Korean
    answer = "(0.7071067812, 0) 극소점; (0, 0): saddle; (-1/sqrt(2), 0) minimum"
    assert one(key, answer) == (1.0, "")
    points, reason = one(key, "(0, 0) minimum; (sqrt(2)/2, 0) min")
    # (0,0): point ½, kind 0; (√2/2, 0): 1; (−√2/2, 0) missed: of 3 shares, 1.5
    assert points == 0.5
    assert "(0, 0) is a saddle, not a minimum" in reason
    assert "missed the critical point (-sqrt(2)/2, 0) (minimum)" in reason
    points, reason = one(key, "(0, 0) saddle; (2, 0) maximum")
    assert points == pytest.approx((1 - 0.5) / 3, abs=1e-4)
    assert "(2, 0) is not a critical point" in reason


def test_an_incomplete_key_checks_extra_points_by_the_gradient() -> None:
    key = key_of(critical([("0", "0", "saddle")], complete=False))
    # (√2/2, 0) is not in this key, but ∇f = 0 there and it is a minimum
    assert one(key, "(0, 0) saddle; (sqrt(2)/2, 0) minimum") == (1.0, "")
    points, reason = one(key, "(0, 0) saddle; (1, 1) minimum")
    assert points == 0.25  # (1 - ½) over 2 points
    assert "(1, 1) is not a critical point" in reason


def test_descent_steps_and_learning_rate() -> None:
    steps = {
        "id": "1.1",
        "kind": "descent_steps",
        "variables": ["x", "y"],
        "question": "... as exact fractions. Did f decrease?",
        "answer": {
            "points": [
                {"x": "2", "y": "-2"},
                {"x": "2", "y": "-11/5"},
                {"x": "101/50", "y": "-12/5"},
            ],
            "values": ["-4", "-24/5", "-14039/2500"],
            "decreasing": True,
        },
    }
    key = key_of(steps)
    right = "(2, -11/5); (2.02, -2.4); -4; -4.8; -5.6156; yes"
    assert one(key, right) == (1.0, "")
    assert one(key, "(2, -2); " + right) == (1.0, "")  # the start point first
    points, reason = one(key, "(2, -11/5); (2.02, 2.4); -4; -4.8; -5.6; 예")
    assert points == pytest.approx(4 / 6, abs=1e-4)
    assert "point p2 is (2.02, 2.4), expected (101/50, -12/5)" in reason
    assert "f(p2) is -5.6, expected -14039/2500" in reason
    rate = {
        "id": "1.1",
        "kind": "learning_rate",
        "variables": ["x"],
        "answer": {"converges": False},
    }
    assert one(key_of(rate), "아니요. 고윳값이 음수") == (1.0, "")
    assert one(key_of(rate), "Yes, eta is small") == (0.0, "answered yes, expected no")


# -- rows --------------------------------------------------------------------------------------


def test_bad_rows_are_reported_and_the_rest_graded() -> None:
    key = key_of(gradient("2*x + 2*y", "2*x"), variants=2)
    rows = [
        {"student": "ana", "variant": "1", "1.1": "(2x + 2y, 2x)"},
        {"student": "bo", "variant": "9", "1.1": "(2x + 2y, 2x)"},  # unknown variant
        {"student": "cy", "variant": "2", "1.1": ""},  # blank
        {"student": "dee", "variant": "2", "1.1": "(2x + , 2x)"},  # unparsable
        {"student": "", "variant": "1", "1.1": "(2x + 2y, 2x)"},  # no id
    ]
    result = grade(key, rows)
    assert [s.student for s in result.students] == ["ana", "cy", "dee", "row 6"]
    assert [s.score for s in result.students] == [1.0, 0.0, 0.5, 1.0]
    assert result.students[1].exercises[0].reason == "blank"
    assert "cannot read '2x +'" in result.students[2].exercises[0].reason
    texts = [p.text() for p in result.problems]
    assert (
        "row 3 (bo), column variant: variant '9' is not in the key (variants 1 to 2); not graded"
        in texts
    )
    assert any(t.startswith("row 6, column student: no student id") for t in texts)


def test_the_json_shape() -> None:
    key = key_of(gradient("2*x + 2*y", "2*x"))
    data = grade(key, [{"student": "ana", "variant": "1", "1.1": "(2x, 2x)"}]).to_json()
    json.dumps(data)  # plain JSON
    (student,) = data["students"]
    assert set(student) >= {"id", "variant", "score", "max", "exercises"}
    assert student["exercises"] == {
        "1.1": {
            "points": 0.5,
            "max": 1.0,
            "reason": "gradient component 1 is 2x, expected 2*x + 2*y",
        }
    }
    assert (student["id"], student["variant"], student["score"], student["max"]) == (
        "ana",
        1,
        0.5,
        1.0,
    )


def test_a_header_without_exercises_or_student_is_refused() -> None:
    key = key_of(gradient("2*x", names=("x",)))
    with pytest.raises(InputError, match="no 'student' column"):
        grade(key, [{"name": "ana", "1.1": "2x"}])
    with pytest.raises(InputError, match="names no exercise of the key"):
        grade(key, [{"student": "ana", "9.9": "2x"}])
    with pytest.raises(InputError, match="no variants"):
        grade({"title": "x"}, [{"student": "ana", "1.1": "2x"}])


# -- a real key --------------------------------------------------------------------------------


def right_answer(exercise: dict[str, Any]) -> str:
    """The right answer to ``exercise``, written from the key the way a student would."""
    answer, names = exercise["answer"], exercise["variables"]
    kind: str = exercise["kind"]
    if kind == "gradient":
        return "(" + ", ".join(answer["gradient"]) + ")"
    if kind == "total_differential":
        return str(answer["total_differential"])
    if kind == "hessian":
        return "[" + ", ".join("[" + ", ".join(row) + "]" for row in answer["hessian"]) + "]"
    if kind == "critical_points":
        points = answer["critical_points"]
        return (
            "; ".join(
                "(" + ", ".join(p["point"][n] for n in names) + ") " + p["kind"] for p in points
            )
            or "none"
        )
    if kind == "descent_steps":
        points = ["(" + ", ".join(p[n] for n in names) + ")" for p in answer["points"][1:]]
        return "; ".join([*points, *answer["values"], "yes" if answer["decreasing"] else "no"])
    return "yes" if answer["converges"] else "no"


@pytest.fixture(scope="module")
def real_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from symgd.handout import build_handout, handout_to_json

    handout = build_handout(["x**2 + 2*x*y", "x**4 - 2*x**2 + y**2"], variants=2, seed=3, workers=1)
    path = tmp_path_factory.mktemp("key") / "key.json"
    path.write_text(json.dumps(handout_to_json(handout)), encoding="utf-8")
    return path


def test_a_real_key_gives_full_marks_to_its_own_answers(real_key: Path) -> None:
    key = json.loads(real_key.read_text(encoding="utf-8"))
    rows = []
    for variant in key["variants"]:
        row = {"student": f"s{variant['variant']}", "variant": str(variant["variant"])}
        row |= {e["id"]: right_answer(e) for e in variant["exercises"]}
        rows.append(row)
    result = grade(real_key, rows)
    assert len(result.exercises) == 12
    for student in result.students:
        assert student.score == student.max == 12.0, [e for e in student.exercises if e.reason]
    # the same answers with some wrong: another variant's descent steps, a kind, a component
    wrong = dict(rows[0])
    other = {e["id"]: e for e in key["variants"][1]["exercises"]}
    wrong["1.5"] = right_answer(other["1.5"])
    wrong["2.4"] = wrong["2.4"].replace("saddle", "maximum")
    wrong["1.1"] = "(2*x + 2*y, 2*y)"
    graded = grade(real_key, [wrong]).students[0]
    by_id = {e.exercise: e for e in graded.exercises}
    assert by_id["1.1"].points == 0.5
    assert by_id["2.4"].points == pytest.approx(1 - 0.5 / 3, abs=1e-4)
    assert "(0, 0) is a saddle, not a maximum" in by_id["2.4"].reason
    assert by_id["1.5"].points < 1.0 and "expected" in by_id["1.5"].reason


# -- the answer forms --------------------------------------------------------------------------


def test_answer_forms_split_at_the_top_level() -> None:
    assert split_top("(a, b); (c, d)", ";") == ["(a, b)", "(c, d)"]
    assert vector_parts("[max(x, y), (x+1)*(x-1)]") == ["max(x, y)", "(x+1)*(x-1)"]
    assert vector_parts("(x+1)*(x-1)") == ["(x+1)*(x-1)"]
    assert matrix_parts("((1, 2), (3, 4))") == [["1", "2"], ["3", "4"]]
    assert point_items("none") == []
    assert point_items("(1, 2) local maximum; (0, 0)") == [("(1, 2)", "maximum"), ("(0, 0)", None)]
    for bad in ("(1, 2]", "(1, 2", "1, 2)"):
        with pytest.raises(InputError, match="bracket"):
            split_top(bad, ",")


def test_word_tables() -> None:
    assert [kind_word(w) for w in ("극소점", "극대점", "안장점", "Saddle point", "MIN.")] == [
        "minimum",
        "maximum",
        "saddle",
        "saddle",
        "minimum",
    ]
    assert kind_word("nothing") is None
    assert [yes_no(w) for w in ("예", "아니요", "True", "no, it diverges", "perhaps")] == [
        True,
        False,
        True,
        False,
        None,
    ]
