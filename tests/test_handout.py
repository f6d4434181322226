"""Exercise generation and the JSON key, checked against SymPy worked independently."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import sympy as sp

from symgd.base.errors import InputError
from symgd.expr.parser import parse
from symgd.handout import (
    Handout,
    build_handout,
    handout_context,
    handout_to_json,
    render_handout_html,
)
from symgd.handout.page import _split, _units
from symgd.handout.rate_exercise import quadratic_candidates

FUNCTIONS = ["x**2 + 2*x*y", "x**3 - 3*x + y**2", "w**2 - 3*w", "exp(x) + y**2"]


@pytest.fixture(scope="module")
def handout() -> Handout:
    return build_handout(FUNCTIONS, variants=3, seed=11)


@pytest.fixture(scope="module")
def key(handout: Handout) -> dict[str, Any]:
    return handout_to_json(handout)


def read(text: str, names: list[str]) -> sp.Expr:
    """An expression from the key, read back with symgd's own parser (constants too)."""
    anchor = names[0]
    problem = parse(f"{anchor} + ({text})", [*names])
    return sp.expand(problem.expr - problem.variables[0])


def symbols(names: list[str]) -> list[sp.Symbol]:
    return [sp.Symbol(n, real=True) for n in names]


def exercises(key: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for v in key["variants"] for e in v["exercises"] if e["kind"] == kind]


def same(a: sp.Expr, b: sp.Expr) -> bool:
    return bool(sp.simplify(a - b) == 0)


# -- the key agrees with SymPy --------------------------------------------------------------


def test_every_function_gets_six_numbered_exercises(key: dict[str, Any]) -> None:
    for variant in key["variants"]:
        ids = [e["id"] for e in variant["exercises"]]
        expected = [f"{i}.{k}" for i in range(1, len(FUNCTIONS) + 1) for k in range(1, 7)]
        assert ids == expected
        for e in variant["exercises"]:
            assert e["question"].strip()
            assert set(e) >= {"function", "question", "given", "answer", "variables"}


def test_gradient_matches_sympy(key: dict[str, Any]) -> None:
    for e in exercises(key, "gradient"):
        names = e["variables"]
        f = read(e["function"], names)
        for v, text in zip(symbols(names), e["answer"]["gradient"], strict=True):
            assert same(read(text, names), sp.diff(f, v))


def test_total_differential_and_hessian_match_sympy(key: dict[str, Any]) -> None:
    for e in exercises(key, "total_differential"):
        names = e["variables"]
        ds = e["answer"]["differentials"]
        assert ds == [f"d{n}" for n in names]
        f = read(e["function"], names)
        expected = sum(sp.diff(f, v) * d for v, d in zip(symbols(names), symbols(ds), strict=True))
        assert same(read(e["answer"]["total_differential"], names + ds), expected)
    for e in exercises(key, "hessian"):
        names = e["variables"]
        xs = symbols(names)
        expected = sp.hessian(read(e["function"], names), xs)
        got = sp.Matrix([[read(t, names) for t in row] for row in e["answer"]["hessian"]])
        assert sp.simplify(got - expected) == sp.zeros(len(xs))


def test_critical_points_vanish_and_are_classified(key: dict[str, Any]) -> None:
    seen = 0
    for e in exercises(key, "critical_points"):
        names = e["variables"]
        xs = symbols(names)
        f = read(e["function"], names)
        if not e["answer"]["complete"]:
            continue
        hessian = sp.hessian(f, xs)
        for point in e["answer"]["critical_points"]:
            at = {x: read(point["point"][n], names) for x, n in zip(xs, names, strict=True)}
            assert all(sp.simplify(sp.diff(f, x).subs(at)) == 0 for x in xs)
            eigen = [float(v) for v in hessian.subs(at).eigenvals(multiple=True)]
            kind = (
                "minimum"
                if min(eigen) > 0
                else "maximum"
                if max(eigen) < 0
                else "saddle"
                if min(eigen) < 0 < max(eigen)
                else "degenerate"
            )
            assert point["kind"] == kind
            seen += 1
    # x**2 + 2xy: one saddle; x**3 - 3x + y**2: a saddle and a minimum; w**2 - 3w: a minimum
    assert seen == 3 * 4


def test_hand_steps_match_rational_arithmetic(key: dict[str, Any]) -> None:
    for e in exercises(key, "descent_steps"):
        names = e["variables"]
        xs = symbols(names)
        f = read(e["function"], names)
        gradient = [sp.diff(f, x) for x in xs]
        eta = sp.Rational(e["given"]["learning_rate"])
        assert eta > 0 and e["given"]["steps"] == 2
        point = [read(e["given"]["start"][n], names) for n in names]
        assert all(c.is_Rational for c in point)
        expected_points = [point]
        for _ in range(2):
            at = dict(zip(xs, point, strict=True))
            point = [c - eta * g.subs(at) for c, g in zip(point, gradient, strict=True)]
            expected_points.append(point)
        for got, want in zip(e["answer"]["points"], expected_points, strict=True):
            for n, value in zip(names, want, strict=True):
                assert same(read(got[n], names), value)
        for got_value, want in zip(e["answer"]["values_value"], expected_points, strict=True):
            exact = f.subs(dict(zip(xs, want, strict=True)))
            assert math.isclose(got_value, float(exact), rel_tol=1e-9, abs_tol=1e-12)
        values = [float(f.subs(dict(zip(xs, p, strict=True)))) for p in expected_points]
        assert e["answer"]["decreasing"] == (values[0] > values[1] > values[2])


def test_polynomial_hand_steps_are_exact_fractions(key: dict[str, Any]) -> None:
    for e in exercises(key, "descent_steps"):
        if "exp" in e["function"]:
            assert "decimal" in e["question"]
            continue
        for point in e["answer"]["points"]:
            for text in point.values():
                assert read(text, e["variables"]).is_Rational
        assert "exact fractions" in e["question"]


def test_learning_rate_verdict_matches_the_eigenvalues(key: dict[str, Any]) -> None:
    verdicts = set()
    for e in exercises(key, "learning_rate"):
        names = e["variables"]
        xs = symbols(names)
        q = read(e["function"], names)
        assert sp.Poly(q, *xs).total_degree() == 2
        hessian = sp.hessian(q, xs)
        assert hessian.free_symbols == set()
        eigen = hessian.eigenvals(multiple=True)
        largest = max(eigen, key=lambda v: float(v))
        eta = sp.Rational(e["given"]["learning_rate"])
        converges = all(float(v) > 0 for v in eigen) and float(eta * largest) < 2
        assert e["answer"]["converges"] is converges
        verdicts.add(converges)
        got = sorted(read(t, names) for t in e["answer"]["eigenvalues"])
        assert all(same(a, b) for a, b in zip(got, sorted(eigen, key=float), strict=True))
        if all(float(v) > 0 for v in eigen):
            assert same(read(e["answer"]["threshold"], names), 2 / largest)
        else:
            assert e["answer"]["threshold"] is None
        if converges:
            at = {x: read(e["answer"]["limit"][n], names) for x, n in zip(xs, names, strict=True)}
            assert all(sp.diff(q, x).subs(at) == 0 for x in xs)
        assert e["answer"]["reason"].startswith("Yes" if converges else "No")
    assert verdicts == {True, False}


def test_own_quadratic_is_used_when_its_hessian_is_constant(key: dict[str, Any]) -> None:
    by_index = {e["function_index"]: e for e in exercises(key, "learning_rate")}
    assert by_index[1]["function_name"] == "f"  # x**2 + 2xy: indefinite, no eta converges
    assert by_index[1]["answer"]["converges"] is False
    assert by_index[3]["function_name"] == "f"
    assert by_index[2]["function_name"] == "q"  # x**3 - 3x + y**2: Hessian not constant
    assert "q(x, y) = " in by_index[2]["question"]


def test_own_quadratic_eigenvalues_are_exact_surds() -> None:
    """The eigenvalues come from the curvature stage; they were once 'simplified' by a numeric
    guess into a wrong product of powers (−2^(304/961)·3^(596/961)·…)."""
    key = handout_to_json(build_handout(["22*x**2 + 3*x*y - 26*y**2/5"], workers=1))
    (rate,) = exercises(key, "learning_rate")
    assert rate["function_name"] == "f"
    names = ["x", "y"]
    eigenvalues = [read(v, names) for v in rate["answer"]["eigenvalues"]]
    expected = sp.Matrix([[44, 3], [3, sp.Rational(-52, 5)]]).eigenvals(multiple=True)
    pairs = zip(sorted(eigenvalues, key=float), sorted(expected, key=float), strict=True)
    assert all(same(a, b) for a, b in pairs)
    assert rate["answer"]["converges"] is False and rate["answer"]["threshold"] is None


def test_three_variable_quadratic_with_cubic_eigenvalues_gets_a_generated_one() -> None:
    """Eigenvalues that are roots of an irreducible cubic have no short exact form: the
    question is asked on a drawn quadratic instead (this once raised TypeError)."""
    key = handout_to_json(build_handout(["x**2 + y**2 + z**2 + 7*x*y + 3*y*z + x*z"], workers=1))
    (rate,) = exercises(key, "learning_rate")
    assert rate["function_name"] == "q" and rate["variables"] == ["x", "y"]
    assert all(read(v, ["x", "y"]).is_Integer for v in rate["answer"]["eigenvalues"])


def test_hand_walk_agrees_with_the_handout_steps_and_says_where_it_stops() -> None:
    from symgd.calculus.derivation import derive
    from symgd.calculus.hand_steps import walk_steps, work_steps

    d = derive("x**2 + 2*x*y + 3*y**2", analyse=False)
    start, eta = [sp.Integer(1), sp.Rational(-1, 2)], sp.Rational(1, 10)
    assert walk_steps(d, start, eta).descent() == work_steps(d, start, eta)
    assert work_steps(d, [sp.Integer(0), sp.Integer(0)], eta) is None  # flat start
    walk = walk_steps(derive("log(x)", analyse=False), [sp.Integer(1)], sp.Integer(2))
    assert (walk.stop, len(walk.steps), walk.final_value) == ("value", 1, None)
    relu = derive("relu(x) + x**2", analyse=False)
    assert work_steps(relu, [sp.Integer(0)], eta) is None  # a kink
    assert walk_steps(relu, [sp.Integer(0)], eta).stop is None  # the lesson's rules allow it


# -- variants and seeds ---------------------------------------------------------------------


def test_same_seed_gives_byte_identical_json() -> None:
    first = build_handout(FUNCTIONS[:2], variants=2, seed=5, workers=1)
    second = build_handout(FUNCTIONS[:2], variants=2, seed=5, workers=1)
    dump = json.dumps(handout_to_json(first), indent=2, ensure_ascii=False)
    assert dump == json.dumps(handout_to_json(second), indent=2, ensure_ascii=False)


def test_variants_and_seeds_change_the_numbers(key: dict[str, Any]) -> None:
    def givens(k: dict[str, Any], variant: int) -> list[Any]:
        return [
            (e["function"], e["given"])
            for e in k["variants"][variant]["exercises"]
            if e["kind"] in ("descent_steps", "learning_rate")
        ]

    assert givens(key, 0) != givens(key, 1) != givens(key, 2)
    other = handout_to_json(build_handout(FUNCTIONS, variants=1, seed=12))
    assert givens(other, 0) != givens(key, 0)
    # the function-only exercises do not vary
    fixed = [[e for e in v["exercises"] if e["kind"] == "gradient"] for v in key["variants"]]
    assert fixed[0] == fixed[1] == fixed[2]


def test_quadratic_candidates_have_positive_integer_eigenvalues() -> None:
    x, y = sp.symbols("x y", real=True)
    candidates = quadratic_candidates()
    assert len(candidates) >= 10
    for a, b, c in candidates:
        assert b != 0
        eigen = sp.hessian(a * x**2 + b * x * y + c * y**2, (x, y)).eigenvals(multiple=True)
        assert all(v.is_Integer and v > 0 for v in eigen)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variants": 0}, "--variants"),
        ({"answers": "maybe"}, "--answers"),
        ({"seed": 1.5}, "--seed"),
    ],
)
def test_bad_settings_are_input_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        build_handout(["x**2"], **kwargs)


def test_no_functions_is_an_input_error() -> None:
    with pytest.raises(InputError, match="at least one function"):
        build_handout([])


# -- the HTML the PDF is printed from -------------------------------------------------------


def test_html_has_statements_math_and_keys(handout: Handout, key: dict[str, Any]) -> None:
    html = render_handout_html(handout)
    for e in key["variants"][1]["exercises"]:
        assert _escape(e["question"]) in html
    assert html.count('class="handout-sheet"') == 3
    assert html.count('class="handout-key"') == 3
    assert "<svg" in html and "math-display" in html
    assert "data-running-fn=" in html and "data-running-title=" in html
    assert "work-room" in html


def test_answer_modes_change_the_layout() -> None:
    small = build_handout(["w**2"], answers="inline", seed=1)
    html = render_handout_html(small)
    assert 'class="handout-key"' not in html and 'class="solution"' in html
    html = render_handout_html(build_handout(["w**2"], answers="none", seed=1))
    assert 'class="solution"' not in html and "work-room" in html


def test_parts_are_contiguous_and_balanced(handout: Handout) -> None:
    context = handout_context(handout)
    units = _units(context["variants"], handout.answers)
    runs = _split(units, 2)
    assert [u for run in runs for u in run] == units
    weights = [sum(u.weight for u in run) for run in runs]
    biggest = max(u.weight for u in units)
    assert abs(weights[0] - weights[1]) <= 2 * biggest


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def test_iterates_are_not_named_after_a_variable() -> None:
    key = handout_to_json(build_handout(["x*p + x**2 + p**2"], seed=2, workers=1))
    (steps,) = exercises(key, "descent_steps")
    assert "rₖ₊₁ = rₖ − η ∇f(rₖ)" in steps["question"]
    assert "xₖ" not in steps["question"] and "pₖ" not in steps["question"]


@pytest.mark.parametrize(
    ("names", "letter"),
    [(["x", "y"], "p"), (["x1", "x2", "w1"], "p"), (["x_1", "p"], "r"), (["xy", "z"], "x")],
)
def test_point_symbol_avoids_variable_stems(names: list[str], letter: str) -> None:
    from symgd.handout.text import point_symbol

    assert point_symbol(symbols(names)) == letter
