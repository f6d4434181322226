"""Facts about f (symgd.calculus.facts), each checked against a computation written out in the
test: f in numpy, sampled along rays, midpoint convexity on random pairs, shifted by a period,
one-sided slopes at a kink, numpy eigenvalues of a Hessian written by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from symgd.calculus.derivation import derivation_to_json, derive

sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
softplus = lambda z: np.logaddexp(0, z)  # noqa: E731
relu = lambda z: np.maximum(z, 0)  # noqa: E731
PI = math.pi


@dataclass(frozen=True)
class Case:
    text: str
    f: Callable[..., Any]
    smooth: bool
    bounded: bool | None  # None: symgd may say True or None, never False
    convexity: str | None = None  # "convex", "concave" or "neither" as the truth
    critical_set: str | None = None
    periodic: dict[int, float] = field(default_factory=dict)  # variable index -> a period
    kink_at: tuple[float, ...] | None = None  # a point on a kink
    falls: tuple[float, ...] | None = None  # my own direction in which f → −∞
    kappa: float | None = None  # from a Hessian written by hand at the minimum
    inflections: tuple[float, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def H_eig(matrix: list[list[float]]) -> float:
    values = np.linalg.eigvalsh(np.array(matrix, dtype=float))
    return float(values.max() / values.min())


CASES = [
    # kinks
    Case(
        "abs(x) + abs(y)", lambda x, y: abs(x) + abs(y), False, True, "convex", kink_at=(0.0, 0.3)
    ),
    Case(
        "relu(x - 1) + 0.1*x**2",
        lambda x: relu(x - 1) + 0.1 * x**2,
        False,
        True,
        "convex",
        kink_at=(1.0,),
        kappa=1.0,
    ),
    Case(
        "abs(x - 1) + abs(y + 2)",
        lambda x, y: abs(x - 1) + abs(y + 2),
        False,
        True,
        "convex",
        kink_at=(1.0, 0.0),
    ),
    Case(
        "max(x, y) + x**2 + y**2",
        lambda x, y: np.maximum(x, y) + x**2 + y**2,
        False,
        True,
        "convex",
        kink_at=(0.5, 0.5),
    ),
    Case(
        "leaky_relu(x) + y**2",
        lambda x, y: np.where(x > 0, x, 0.01 * x) + y**2,
        False,
        False,
        "convex",
        kink_at=(0.0, 1.0),
        falls=(-1.0, 0.0),
    ),
    Case("-abs(x) + x**2", lambda x: -abs(x) + x**2, False, True, "neither", kink_at=(0.0,)),
    Case(
        "abs(x) - y**2",
        lambda x, y: abs(x) - y**2,
        False,
        False,
        "neither",
        kink_at=(0.0, 1.0),
        falls=(0.0, 1.0),
    ),
    Case(
        "min(x, 2*y)",
        lambda x, y: np.minimum(x, 2 * y),
        False,
        False,
        "concave",
        kink_at=(1.0, 0.5),
        falls=(-1.0, 0.0),
    ),
    Case(
        "relu(x)**2 + y**2",
        lambda x, y: relu(x) ** 2 + y**2,
        True,
        True,
        "convex",
        critical_set="infinite",
    ),
    # no minimum, unbounded
    Case(
        "x**3",
        lambda x: x**3,
        True,
        False,
        "neither",
        "complete",
        falls=(-1.0,),
        inflections=(0.0,),
    ),
    Case(
        "x**2 + 2*x*y",
        lambda x, y: x**2 + 2 * x * y,
        True,
        False,
        "neither",
        "complete",
        falls=(0.5257311121191336, -0.85065080835),
    ),
    Case(
        "-x**2 - y**2",
        lambda x, y: -(x**2) - y**2,
        True,
        False,
        "concave",
        "complete",
        falls=(1.0, 0.0),
    ),
    Case(
        "x**2*y**2 + x + y",
        lambda x, y: x**2 * y**2 + x + y,
        True,
        False,
        "neither",
        "complete",
        falls=(-1.0, 0.0),
    ),
    Case(
        "x**3 - 3*x + y**2",
        lambda x, y: x**3 - 3 * x + y**2,
        True,
        False,
        "neither",
        "complete",
        falls=(-1.0, 0.0),
    ),
    Case("x + y", lambda x, y: x + y, True, False, "convex", "complete", falls=(-1.0, -1.0)),
    Case("x*y", lambda x, y: x * y, True, False, "neither", "complete", falls=(1.0, -1.0)),
    Case("-log(1 + x**2)", lambda x: -np.log(1 + x**2), True, False, "neither", falls=(1.0,)),
    Case(
        "x**2 + 2*x*y + y**2 + x",
        lambda x, y: (x + y) ** 2 + x,
        True,
        False,
        "convex",
        "complete",
        falls=(-1.0, 1.0),
    ),
    Case("exp(x) + y", lambda x, y: np.exp(x) + y, True, False, "convex", falls=(0.0, -1.0)),
    # plateaus and no minimum but bounded
    Case("exp(-(x**2+y**2))", lambda x, y: np.exp(-(x**2 + y**2)), True, True, "neither"),
    Case(
        "tanh(x)**2 + y**2",
        lambda x, y: np.tanh(x) ** 2 + y**2,
        True,
        True,
        "neither",
        kappa=H_eig([[2, 0], [0, 2]]),
    ),
    Case("sigmoid(x)", lambda x: sig(x), True, True, "neither", inflections=(0.0,)),
    Case("-log(sigmoid(3*w + b))", lambda b, w: -np.log(sig(3 * w + b)), True, True, "convex"),
    # infinitely many critical points
    Case(
        "sin(x)*cos(y)",
        lambda x, y: np.sin(x) * np.cos(y),
        True,
        True,
        "neither",
        "infinite",
        periodic={0: 2 * PI, 1: 2 * PI},
        kappa=1.0,
    ),
    Case(
        "sin(x) + y**2",
        lambda x, y: np.sin(x) + y**2,
        True,
        True,
        "neither",
        "infinite",
        periodic={0: 2 * PI},
    ),
    Case(
        "cos(2*x) + cos(3*x)",
        lambda x: np.cos(2 * x) + np.cos(3 * x),
        True,
        True,
        "neither",
        "infinite",
        periodic={0: 2 * PI},
    ),
    Case("(x + y)**2", lambda x, y: (x + y) ** 2, True, True, "convex", "infinite"),
    Case(
        "exp(-(x - y)**2)", lambda x, y: np.exp(-((x - y) ** 2)), True, True, "neither", "infinite"
    ),
    Case("(x**2 + y**2 - 1)**2", lambda x, y: (x**2 + y**2 - 1) ** 2, True, True, "neither"),
    # inflections, flat minima, saddles next to minima
    Case("x**4", lambda x: x**4, True, True, "convex", "complete", inflections=()),
    Case(
        "x**4 - 3*x**2",
        lambda x: x**4 - 3 * x**2,
        True,
        True,
        "neither",
        "complete",
        kappa=1.0,
        inflections=(-math.sqrt(0.5), math.sqrt(0.5)),
    ),
    Case(
        "x**3 - 3*x",
        lambda x: x**3 - 3 * x,
        True,
        False,
        "neither",
        "complete",
        falls=(-1.0,),
        kappa=1.0,
        inflections=(0.0,),
    ),
    Case(
        "x**5 - 5*x",
        lambda x: x**5 - 5 * x,
        True,
        False,
        "neither",
        "complete",
        falls=(-1.0,),
        inflections=(0.0,),
    ),
    Case(
        "x**4 - 2*x**2 + y**2",
        lambda x, y: x**4 - 2 * x**2 + y**2,
        True,
        True,
        "neither",
        "complete",
        kappa=H_eig([[8, 0], [0, 2]]),
    ),
    Case(
        "(x**2+y-11)**2 + (x+y**2-7)**2",
        lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        True,
        True,
        "neither",
        "complete",
    ),
    Case("x**4 + y**4", lambda x, y: x**4 + y**4, True, True, "convex", "complete"),
    Case(
        "x**3 + y**3",
        lambda x, y: x**3 + y**3,
        True,
        False,
        "neither",
        "complete",
        falls=(-1.0, 0.0),
    ),
    # ill-conditioned, huge and tiny scales
    Case(
        "x**2 + 100*y**2",
        lambda x, y: x**2 + 100 * y**2,
        True,
        True,
        "convex",
        "complete",
        kappa=100.0,
    ),
    Case(
        "x**2 + 10000*y**2",
        lambda x, y: x**2 + 1e4 * y**2,
        True,
        True,
        "convex",
        "complete",
        kappa=1e4,
    ),
    Case(
        "1e6*x**2 + 1e-6*y**2",
        lambda x, y: 1e6 * x**2 + 1e-6 * y**2,
        True,
        True,
        "convex",
        "complete",
        kappa=1e12,
    ),
    Case(
        "(1-x)**2 + 100*(y-x**2)**2",
        lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        True,
        True,
        "neither",
        "complete",
        kappa=H_eig([[802, -400], [-400, 200]]),
    ),
    Case(
        "1e-8*(x**2 + y**2)",
        lambda x, y: 1e-8 * (x**2 + y**2),
        True,
        True,
        "convex",
        "complete",
        kappa=1.0,
    ),
    Case(
        "x**2 + y**2 + z**2 + x*y",
        lambda x, y, z: x**2 + y**2 + z**2 + x * y,
        True,
        True,
        "convex",
        "complete",
        kappa=H_eig([[2, 1, 0], [1, 2, 0], [0, 0, 2]]),
    ),
    # data-style losses
    Case(
        "(2*w + b - 1)**2 + (3*w + b - 2)**2 + (w + b)**2",
        lambda b, w: (2 * w + b - 1) ** 2 + (3 * w + b - 2) ** 2 + (w + b) ** 2,
        True,
        True,
        "convex",
        "complete",
        kappa=H_eig([[6, 12], [12, 28]]),
    ),
    Case(
        "abs(2*w + b - 1) + abs(3*w + b - 2)",
        lambda b, w: abs(2 * w + b - 1) + abs(3 * w + b - 2),
        False,
        True,
        "convex",
        kink_at=(-0.4, 0.7),
    ),
    Case(
        "-0.5*log(sigmoid(w + b)) - 0.5*log(1 - sigmoid(2*w + b))",
        lambda b, w: -0.5 * np.log(sig(w + b)) - 0.5 * np.log(1 - sig(2 * w + b)),
        True,
        True,
        "convex",
    ),
    Case(
        "softplus(x) + softplus(-y) + x**2/10",
        lambda x, y: softplus(x) + softplus(-y) + x**2 / 10,
        True,
        True,
        "convex",
    ),
    Case("log(1 + exp(x)) + y**2", lambda x, y: np.log1p(np.exp(x)) + y**2, True, True, "convex"),
    Case(
        "sqrt(x**2 + 1) + y**2",
        lambda x, y: np.sqrt(x**2 + 1) + y**2,
        True,
        True,
        "convex",
        kappa=H_eig([[1, 0], [0, 2]]),
    ),
]


@pytest.fixture(scope="module")
def derived() -> dict[str, Any]:
    return {}


def _facts(case: Case, cache: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if case.text not in cache:
        d = derive(case.text, timeout=5)
        cache[case.text] = (d, derivation_to_json(d))
    return cache[case.text]


def _midpoint_violations(f: Callable[..., Any], n: int) -> tuple[int, int]:
    """(pairs where f at the midpoint is above the chord, pairs where it is below)."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-3, 3, size=(2, 4000, n))
    with np.errstate(all="ignore"):
        fa, fb, fm = f(*a.T), f(*b.T), f(*((a + b) / 2).T)
    chord = (fa + fb) / 2
    tol = 1e-9 * (1 + np.abs(chord))
    ok = np.isfinite(fa) & np.isfinite(fb) & np.isfinite(fm)
    return int(((fm > chord + tol) & ok).sum()), int(((fm < chord - tol) & ok).sum())


def _falls_along(f: Callable[..., Any], direction: tuple[float, ...]) -> bool:
    """f(t·d) decreasing in t, and far below f(0), out to t = 10⁶."""
    d = np.array(direction, dtype=float)
    t = 10.0 ** np.arange(1, 7)
    with np.errstate(all="ignore"):
        values = np.array([float(f(*(s * d))) for s in t])
        start = float(f(*np.zeros_like(d)))
    return bool(np.all(np.diff(values) < 0) and values[-1] < start - 10)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.text for c in CASES])
def test_facts_agree_with_an_independent_computation(
    case: Case,
    derived: dict[str, Any],
) -> None:
    d, payload = _facts(case, derived)
    facts = d.facts
    n = len(d.variables)
    keys = {
        "smooth",
        "kinks",
        "bounded_below",
        "periodic",
        "critical_set",
        "convexity",
        "condition_number",
    }
    assert keys <= set(payload["facts"])
    # smooth: one-sided slopes differ at my kink point
    assert facts.smooth is case.smooth, facts.kinks
    if case.kink_at is not None:
        p = np.array(case.kink_at)
        h = 1e-6
        slopes = []
        for axis in range(n):
            e = np.zeros(n)
            e[axis] = h
            right = (case.f(*(p + e)) - case.f(*p)) / h
            left = (case.f(*p) - case.f(*(p - e))) / h
            slopes.append(abs(right - left))
        assert max(slopes) > 1e-3
        assert facts.kinks
    # bounded below: my own ray for False, and symgd's direction must go down too
    if case.bounded is False:
        assert case.falls is not None and _falls_along(case.f, case.falls)
        assert facts.bounded_below is False, facts.bounded_below_reason
        assert facts.falls_along is not None and _falls_along(case.f, facts.falls_along)
    elif case.bounded is True:
        assert facts.bounded_below in (True, None), facts.bounded_below_reason
        cloud = np.random.default_rng(1).uniform(-1e3, 1e3, size=(20000, n))
        with np.errstate(all="ignore"):
            assert np.nanmin(case.f(*cloud.T)) > -1e3
    else:
        assert facts.bounded_below is not False
    # convexity: midpoint inequality on random pairs
    above, below = _midpoint_violations(case.f, n)
    if facts.convexity in ("convex", "strictly convex"):
        assert above == 0
    if facts.convexity in ("concave", "strictly concave"):
        assert below == 0
    if facts.convexity == "neither":
        assert above and below
    if case.convexity in ("convex", "concave"):
        assert case.convexity in facts.convexity or facts.convexity == "unknown"
        assert (above == 0) if case.convexity == "convex" else (below == 0)
    # periodic: f(x + T e_v) = f(x) at random points
    if case.periodic:
        assert facts.periodic is True
        x = np.random.default_rng(2).uniform(-3, 3, size=(50, n))
        for axis, period in case.periodic.items():
            shifted = x.copy()
            shifted[:, axis] += period
            assert np.allclose(case.f(*shifted.T), case.f(*x.T), atol=1e-9)
    elif facts.periodic:
        pytest.fail(f"{case.text} called periodic: {facts.periodic_reason}")
    # the critical set
    assert facts.critical_set in ("complete", "incomplete", "infinite")
    if case.critical_set is not None:
        assert facts.critical_set == case.critical_set, facts.critical_set_reason
    # condition number from a Hessian written by hand
    if case.kappa is not None:
        assert facts.condition_number is not None
        assert math.isclose(facts.condition_number, case.kappa, rel_tol=1e-6)
    # inflection points: f'' changes sign across each, by second differences
    if case.inflections is not None:
        got = sorted(float(v) for v in facts.inflection_points)
        assert np.allclose(got, sorted(case.inflections), atol=1e-9)
        for v in got:

            def second(u: float) -> float:
                h = 1e-3
                return float(case.f(u + h) - 2 * case.f(u) + case.f(u - h)) / h**2

            assert second(v - 0.05) * second(v + 0.05) < 0


def test_x_cubed_zero_is_an_inflection_not_a_minimum() -> None:
    d = derive("x**3")
    (nature,) = d.facts.degenerate_points
    assert nature.kind == "inflection"
    f = lambda x: x**3  # noqa: E731
    assert f(-1e-3) < f(0) < f(1e-3)  # neither a minimum nor a maximum


def test_abs_corner_is_a_kink_minimum_not_a_critical_point() -> None:
    d = derive("abs(x) + abs(y)")
    assert all(p.as_floats() != (0.0, 0.0) for p in d.critical_points if not p.free)
    (corner,) = d.facts.kink_points
    assert [float(c) for c in corner.coordinates] == [0.0, 0.0]
    assert corner.kind == "minimum"
    # independent: f ≥ f(0, 0) on a cloud
    cloud = np.random.default_rng(4).normal(size=(1000, 2))
    assert (np.abs(cloud).sum(axis=1) >= 0).all()


@pytest.mark.parametrize(
    ("text", "f", "argmin"),
    [
        (
            "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
            lambda x, y: 20 + x**2 - 10 * np.cos(2 * PI * x) + y**2 - 10 * np.cos(2 * PI * y),
            (0.0, 0.0),
        ),
        (
            "sin(3*pi*x)**2 + (x-1)**2*(1+sin(3*pi*y)**2) + (y-1)**2*(1+sin(2*pi*y)**2)",
            lambda x, y: (
                np.sin(3 * PI * x) ** 2
                + (x - 1) ** 2 * (1 + np.sin(3 * PI * y) ** 2)
                + (y - 1) ** 2 * (1 + np.sin(2 * PI * y) ** 2)
            ),
            (1.0, 1.0),
        ),
    ],
    ids=["rastrigin", "levi13"],
)
def test_a_capped_search_keeps_the_global_minimum(
    text: str, f: Callable[..., Any], argmin: tuple[float, float]
) -> None:
    d = derive(text, timeout=1)
    grid = np.linspace(-5, 5, 1001)
    gx, gy = np.meshgrid(grid, grid)
    lowest = float(np.min(f(gx, gy)))
    assert f(*argmin) <= lowest + 1e-12  # the known minimum is the lowest on a fine grid
    minima = [p for p in d.critical_points if p.kind == "minimum"]
    best = min(minima, key=lambda p: float(p.value))
    assert np.allclose(best.as_floats(), argmin, atol=1e-6)
    assert d.facts.critical_set == "incomplete"
    assert any("matter most" in note for note in d.notes)


def test_analyse_false_skips_the_facts() -> None:
    assert derive("x**2", analyse=False).facts is None
