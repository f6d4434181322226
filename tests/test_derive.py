"""Exact derivation: checked against SymPy written out independently in each case."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import sympy as sp

from symgd.base.errors import InputError
from symgd.calculus.derivation import derivation_to_json, derive
from symgd.expr.parser import parse

x, y, z, w, b = sp.symbols("x y z w b", real=True)
x1, x2, x3, x4 = sp.symbols("x1 x2 x3 x4", real=True)

# (text, the same function written directly in SymPy, its variables)
FUNCTIONS = [
    ("x**2+2*x*y", x**2 + 2 * x * y, (x, y)),
    ("x**2+y**2", x**2 + y**2, (x, y)),
    ("(1-x)**2+100*(y-x**2)**2", (1 - x) ** 2 + 100 * (y - x**2) ** 2, (x, y)),
    ("(x**2+y-11)**2+(x+y**2-7)**2", (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, (x, y)),
    ("x**4-2*x**2+y**2", x**4 - 2 * x**2 + y**2, (x, y)),
    ("x**3-3*x+y**3-3*y", x**3 - 3 * x + y**3 - 3 * y, (x, y)),
    ("x**4+y**4", x**4 + y**4, (x, y)),
    ("sin(x)*cos(y)+x**2/10", sp.sin(x) * sp.cos(y) + x**2 / 10, (x, y)),
    ("x^2", x**2, (x,)),
    ("x**3 - 3x", x**3 - 3 * x, (x,)),
    ("exp(x) - 2x", sp.exp(x) - 2 * x, (x,)),
    ("log(1 + x**2)", sp.log(1 + x**2), (x,)),
    ("x*exp(-x**2-y**2)", x * sp.exp(-(x**2) - y**2), (x, y)),
    ("x**2 + y**2 + z**2 + x*y", x**2 + y**2 + z**2 + x * y, (x, y, z)),
    ("x*y*z + x**2+y**2+z**2", x * y * z + x**2 + y**2 + z**2, (x, y, z)),
    ("(x-y)**2", (x - y) ** 2, (x, y)),
    (
        "x1**2 + 2*x2**2 + 3*x3**2 + 4*x4**2 - x1*x4",
        x1**2 + 2 * x2**2 + 3 * x3**2 + 4 * x4**2 - x1 * x4,
        (x1, x2, x3, x4),
    ),
    ("sqrt(x**2 + y**2 + 1)", sp.sqrt(x**2 + y**2 + 1), (x, y)),
    ("tanh(w*x + b)", sp.tanh(w * x + b), (b, w, x)),
    ("-(x**2) - y**2 + 4", -(x**2) - y**2 + 4, (x, y)),
    ("x/(1 + x**2)", x / (1 + x**2), (x,)),
    ("cos(x) + y**2", sp.cos(x) + y**2, (x, y)),
    ("x**2*y - y**3/3", x**2 * y - y**3 / 3, (x, y)),
]


def _hessian_numeric(expr: sp.Expr, xs: tuple[sp.Symbol, ...], at: dict) -> np.ndarray:
    return np.array(sp.hessian(expr, xs).subs(at).evalf(30).tolist(), dtype=float)


@pytest.mark.parametrize(("text", "reference", "xs"), FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_gradient_hessian_and_differential_match_sympy(
    text: str, reference: sp.Expr, xs: tuple[sp.Symbol, ...]
) -> None:
    d = derive(text, timeout=10)
    assert [v.name for v in d.variables] == [v.name for v in xs]
    for got, v in zip(d.gradient, xs, strict=True):
        assert sp.simplify(got - sp.diff(reference, v)) == 0
    assert sp.simplify(d.hessian - sp.hessian(reference, xs)) == sp.zeros(len(xs))
    expected_df = sum(sp.diff(reference, v) * dv for v, dv in zip(xs, d.differentials, strict=True))
    assert sp.simplify(d.total_differential - expected_df) == 0
    assert [dv.name for dv in d.differentials] == [f"d{v.name}" for v in xs]


@pytest.mark.parametrize(("text", "reference", "xs"), FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_every_reported_critical_point_is_one_and_its_kind_is_right(
    text: str, reference: sp.Expr, xs: tuple[sp.Symbol, ...]
) -> None:
    d = derive(text, timeout=10)
    for point in d.critical_points:
        if point.free:
            assert point.kind == "degenerate"
            continue
        at = {
            v: sp.Float(c, 30) if isinstance(c, sp.Float) else c
            for v, c in zip(xs, point.coordinates, strict=True)
        }
        grad = [complex(sp.diff(reference, v).subs(at).evalf(30)) for v in xs]
        assert max(abs(g) for g in grad) < 1e-7, (text, point)
        assert abs(float(point.value) - float(reference.subs(at).evalf(30))) < 1e-7
        eig = np.linalg.eigvalsh(_hessian_numeric(reference, xs, at))
        assert np.allclose(sorted(float(v) for v in point.eigenvalues), eig, atol=1e-6)
        scale = max(1.0, float(np.abs(eig).max()))
        if np.any(np.abs(eig) < 1e-9 * scale):
            expected = "degenerate"
        elif np.all(eig > 0):
            expected = "minimum"
        elif np.all(eig < 0):
            expected = "maximum"
        else:
            expected = "saddle"
        assert point.kind == expected, (text, point)


def test_saddle_of_x2_plus_2xy_is_exact() -> None:
    d = derive("x**2+2*x*y")
    (point,) = d.critical_points
    assert point.coordinates == (0, 0)
    assert point.kind == "saddle"
    assert point.exact
    assert {sp.simplify(v) for v in point.eigenvalues} == {1 - sp.sqrt(5), 1 + sp.sqrt(5)}
    assert d.critical_points_complete
    assert d.convexity.verdict == "neither"


def test_himmelblau_has_four_minima_four_saddles_and_one_maximum() -> None:
    d = derive("(x**2+y-11)**2+(x+y**2-7)**2")
    assert Counter(p.kind for p in d.critical_points) == {"minimum": 4, "saddle": 4, "maximum": 1}
    assert d.critical_points_complete
    minima = [p for p in d.critical_points if p.kind == "minimum"]
    assert all(abs(float(p.value)) < 1e-9 for p in minima)
    assert any(p.coordinates == (3, 2) for p in minima)


def test_rosenbrock_has_its_single_minimum_at_one_one() -> None:
    d = derive("(1-x)**2+100*(y-x**2)**2")
    (point,) = d.critical_points
    assert point.coordinates == (1, 1)
    assert point.kind == "minimum"
    assert d.convexity.verdict == "neither"


def test_double_well_and_cubic() -> None:
    d = derive("x**4-2*x**2+y**2")
    kinds = {p.coordinates: p.kind for p in d.critical_points}
    assert kinds == {(-1, 0): "minimum", (0, 0): "saddle", (1, 0): "minimum"}
    d = derive("x**3-3*x+y**3-3*y")
    kinds = {p.coordinates: p.kind for p in d.critical_points}
    assert kinds == {(1, 1): "minimum", (-1, -1): "maximum", (1, -1): "saddle", (-1, 1): "saddle"}


def test_quartic_bowl_is_degenerate_at_the_origin_and_convex() -> None:
    d = derive("x**4+y**4")
    (point,) = d.critical_points
    assert point.kind == "degenerate"
    assert d.convexity.verdict == "convex"


def test_transcendental_system_uses_the_numeric_search_and_says_incomplete() -> None:
    d = derive("sin(x)*cos(y)+x**2/10")
    assert not d.critical_points_complete
    assert any(not p.exact for p in d.critical_points)
    # the global minima near (-1.31, 0) and (1.31, ±π), which SymPy's solve misses
    minima = [p.as_floats() for p in d.critical_points if p.kind == "minimum" and not p.free]
    assert any(abs(px + 1.3064) < 1e-3 and abs(py) < 1e-9 for px, py in minima)
    assert any(abs(px - 1.3064) < 1e-3 and abs(abs(py) - np.pi) < 1e-9 for px, py in minima)
    assert any("numeric" in note for note in d.notes)


def test_a_line_of_critical_points_keeps_its_free_variable() -> None:
    d = derive("(x-y)**2")
    (point,) = d.critical_points
    assert point.free
    assert point.kind == "degenerate"
    xs = d.variables
    assert sp.simplify(point.coordinates[0] - point.coordinates[1]) == 0
    assert point.coordinates[0].free_symbols <= set(xs)


def test_saturating_functions_report_no_fake_critical_points() -> None:
    d = derive("sigmoid(w*x+b)")
    assert d.critical_points == ()
    assert not d.critical_points_complete


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("x**2+y**2", "strictly convex"),
        ("-x**2-y**2", "strictly concave"),
        ("(x-y)**2", "convex"),
        ("x**2+2*x*y", "neither"),
        ("exp(x)+exp(y)", "strictly convex"),
        ("x**4+y**4", "convex"),
        ("x**3", "neither"),
        ("(1-x)**2+100*(y-x**2)**2", "neither"),
    ],
)
def test_convexity_verdicts(text: str, verdict: str) -> None:
    assert derive(text).convexity.verdict == verdict


def test_a_slow_solve_falls_back_within_the_budget() -> None:
    # 10 coupled quartics (the most the exact solver takes on): it cannot finish in 0.5 s
    terms = " + ".join(f"(x{i}**2 - x{i + 1})**2 + x{i}**4/7" for i in range(1, 10))
    d = derive(terms, timeout=0.5)
    assert not d.critical_points_complete
    assert any("gave up" in note for note in d.notes)


def test_json_shape_matches_the_contract() -> None:
    j = derivation_to_json(derive("x**2+2*x*y"))
    assert j["input"] == "x**2+2*x*y"
    assert j["variables"] == ["x", "y"]
    assert j["gradient"] == ["2*x + 2*y", "2*x"]
    assert j["hessian"] == [["2", "2"], ["2", "0"]]
    assert j["critical_points"] == [
        {
            "point": {"x": "0", "y": "0"},
            "value": "0",
            "kind": "saddle",
            "exact": True,
            "eigenvalues": ["1 - sqrt(5)", "1 + sqrt(5)"],
        }
    ]
    assert j["critical_points_complete"] is True
    assert j["convexity"]["verdict"] == "neither"
    dx, dy = sp.symbols("dx dy", real=True)
    xx, yy = sp.symbols("x y", real=True)
    total = parse(j["total_differential"], ["x", "y", "dx", "dy"]).expr
    assert sp.simplify(total - (dx * (2 * xx + 2 * yy) + 2 * xx * dy)) == 0


def test_json_expressions_read_back_with_the_parser() -> None:
    j = derivation_to_json(derive("exp(x) + x*y**2"))
    for g in j["gradient"]:
        parse(g, ["x", "y"])
    assert "E" not in j["expression"]


def test_a_constant_function_is_an_input_error() -> None:
    with pytest.raises(InputError, match="constant"):
        derive("7", ["x"])


def test_bad_timeout_is_an_input_error() -> None:
    with pytest.raises(InputError):
        derive("x**2", timeout=0)
