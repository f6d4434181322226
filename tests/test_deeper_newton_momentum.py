"""The "Go deeper" sections on the quadratic model (one Newton step by hand) and momentum's
map: their numbers against independent arithmetic, and their words on the rendered page."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from symgd.calculus.derivation import derive
from symgd.lesson.defaults import choose_settings
from symgd.lesson.facts import Facts, work_out_facts
from symgd.lesson.sections.momentum import (
    MAP_BUDGET,
    MomentumSection,
    momentum_json,
    momentum_section,
)
from symgd.lesson.sections.quadratic import QuadraticSection, quadratic_json, quadratic_section
from symgd.lesson.settings import TOLERANCE, Settings
from symgd.lesson.view import as_context
from symgd.numeric.momentum_map import CONVERGED, DIVERGED, UNFINISHED


def built(expression: str, start: Any = None) -> tuple[Facts, Settings]:
    """Facts and settings as the lesson's pipeline builds them."""
    facts = work_out_facts(derive(expression))
    return facts, choose_settings(facts, start, None, None, None).settings


def rendered(sid: str, section: Any) -> str:
    """The section's partial through the real template environment, as text a reader sees."""
    from symgd.render.templates import make_env

    env = make_env()
    html = env.get_template(f"partials/{sid}.html.jinja2").render({sid: as_context(section)})
    text = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


def words(section: QuadraticSection) -> str:
    return " ".join(section.verdict) + " " + section.undefined


# -- the quadratic model and one Newton step ----------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "start"),
    [
        ("x**2 + 3*x*y + 5*y**2 - x", (2, -1)),
        ("(1-x)**2 + 100*(y-x**2)**2", (Fraction(1, 2), 1)),
        ("x**4 + x*y + y**2", (1, 2)),
    ],
)
def test_newton_step_is_an_independent_exact_solve(expression: str, start: Any) -> None:
    import sympy as sp

    facts, s = built(expression, [float(v) for v in start])
    section = quadratic_section(facts, s)
    assert section is not None and section.landing is not None
    x, y = sp.symbols("x y")
    f = sp.sympify(expression)
    point = {x: sp.Rational(str(start[0])), y: sp.Rational(str(start[1]))}
    g = [Fraction(str(sp.diff(f, v).subs(point))) for v in (x, y)]
    h = [[Fraction(str(sp.diff(f, a, b).subs(point))) for b in (x, y)] for a in (x, y)]
    det = h[0][0] * h[1][1] - h[0][1] * h[1][0]
    # Cramer's rule for H d = -g, in fractions
    d = [(-g[0] * h[1][1] + g[1] * h[0][1]) / det, (-g[1] * h[0][0] + g[0] * h[1][0]) / det]
    landing = [Fraction(str(start[0])) + d[0], Fraction(str(start[1])) + d[1]]
    assert section.landing == pytest.approx([float(v) for v in landing], rel=1e-12, abs=1e-14)
    assert quadratic_json(section)["newton_step"] == list(section.landing)
    numeric = np.linalg.solve(np.array(h, dtype=float), -np.array(g, dtype=float))
    assert np.allclose(np.array(section.landing) - [float(v) for v in start[:2]], numeric)
    assert section.how == "Every number here is exact."
    assert rf"\det H(x_0) = {sp.latex(sp.Rational(det.numerator, det.denominator))}" in (
        section.det_latex
    )


def test_quadratic_lands_exactly_on_the_minimum() -> None:
    facts, s = built("x**2 + 3*x*y + 5*y**2 - x", (2, -1))
    section = quadratic_section(facts, s)
    assert section is not None and section.landing is not None
    (point,) = facts.isolated
    assert section.landing == tuple(float(c) for c in point.coordinates)
    # the exact critical point, from the linear system 2x + 3y = 1, 3x + 10y = 0
    assert section.landing == (10 / 11, -3 / 11)
    assert point.kind == "minimum"
    text = words(section)
    assert "exactly zero" in text and "minimum of f" in text
    assert section.check_latex.endswith(r"\begin{pmatrix}0 \\ 0\end{pmatrix}")
    page = rendered("quadratic", section)
    assert "Newton step" in page and "exactly zero" in page and "minimum of f" in page


@pytest.mark.parametrize("expression", ["x**2 - y**2", "x**2 + 2*x*y"])
def test_saddle_is_named_a_saddle(expression: str) -> None:
    facts, s = built(expression)
    section = quadratic_section(facts, s)
    assert section is not None
    assert section.landing == (0.0, 0.0)
    assert [p.kind for p in facts.isolated] == ["saddle"]
    text = words(section)
    assert "saddle" in text and "not a minimum" in text
    assert "any critical point" in text
    assert momentum_section(facts, s) is None  # no minimum: no map
    assert momentum_json(None) == {}
    assert "saddle of f" in rendered("quadratic", section)


def test_singular_hessian_makes_the_step_undefined() -> None:
    facts, s = built("x**3 + y**2", (0, 1))
    assert list(facts.grad_at(s.start.floats)) == [0.0, 2.0]
    section = quadratic_section(facts, s)
    assert section is not None
    assert section.landing is None and quadratic_json(section) == {"newton_step": None}
    assert section.det_latex == r"\det H(x_0) = 0"
    assert "undefined" in section.undefined and "det H(x₀) = 0" in section.undefined
    page = rendered("quadratic", section)
    assert "undefined" in page and "Solving it gives" not in page


def test_non_quadratic_says_where_the_step_lands() -> None:
    facts, s = built("exp(x) + y**2", (1, 1))
    section = quadratic_section(facts, s)
    assert section is not None and section.landing is not None
    # d_x = -e/e = -1, d_y = -2/2 = -1: the step lands at (0, 0), where f = 1 and |∇f| = 1
    assert section.landing == (0.0, 0.0)
    text = words(section)
    assert "not a quadratic" in text
    assert "1 against 3.71828" in text  # f(x₁) = 1 against f(x₀) = 1 + e
    assert f"{math.sqrt(math.e**2 + 4):.4g}" in text  # |∇f(x₀)| = √(e² + 4)
    # the model at the full step: 1 + e - e - 2 + (e + 2)/2 = e/2 + ... computed independently
    model = 1 + math.e + (math.e * -1 + 2 * -1) + (math.e * 1 + 2 * 1) / 2
    assert f"{model:.6g}" in text
    assert "converge" not in text.replace("says nothing yet", "")
    assert "not a quadratic" in rendered("quadratic", section)


# -- momentum's map ----------------------------------------------------------------------------


def heavy_ball(facts: Facts, start: Any, lr: float, mu: float, budget: int) -> tuple[str, int]:
    """A plain heavy-ball loop: (outcome, step) with the map's stopping rules."""
    x = np.array(start, dtype=float)
    v = np.zeros_like(x)
    for k in range(budget + 1):
        g = facts.grad_at(list(x))
        if float(g @ g) < TOLERANCE**2:
            return "converged", k
        if k % 8 == 0 or k == budget:
            f = facts.f_at(list(x))
            if not (np.isfinite(g).all() and abs(f) <= 1e12 and np.abs(x).max() <= 1e12):
                return "diverged", k
        if k == budget:
            return "unfinished", k
        v = mu * v + g
        x = x - lr * v
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def stretched() -> tuple[Facts, Settings, MomentumSection]:
    facts, s = built("x**2 + 10*y**2")
    section = momentum_section(facts, s)
    assert section is not None
    return facts, s, section


def test_cells_match_a_plain_heavy_ball_loop(
    stretched: tuple[Facts, Settings, MomentumSection],
) -> None:
    facts, s, section = stretched
    grid = section.grid
    names = {CONVERGED: "converged", DIVERGED: "diverged", UNFINISHED: "unfinished"}
    cells = [grid.fastest(), (0, 5), (20, 30), (10, 58), (39, 45)]
    seen = set()
    for row, column in cells:
        outcome, k = heavy_ball(
            facts, s.start.floats, float(grid.lrs[column]), float(grid.momenta[row]), MAP_BUDGET
        )
        assert (names[int(grid.codes[row, column])], int(grid.steps[row, column])) == (outcome, k)
        seen.add(outcome)
    assert seen == {"converged", "diverged", "unfinished"}


def test_map_shape_and_json(stretched: tuple[Facts, Settings, MomentumSection]) -> None:
    _, _, section = stretched
    grid = section.grid
    assert grid.steps.shape == (40, 60)
    payload = momentum_json(section)["momentum_map"]
    assert len(payload["lr"]) == 60 and len(payload["momentum"]) == 40
    assert payload["momentum"][0] == 0.0 and payload["momentum"][-1] == pytest.approx(0.99)
    ratios = np.diff(np.log(payload["lr"]))
    assert np.allclose(ratios, ratios[0])
    # 2/λ_max = 0.1 and at μ = 0.99 the bound is 0.199: the grid spans well below and past
    assert payload["lr"][0] <= 0.1 / 50 and payload["lr"][-1] > 0.199
    steps = payload["steps"]
    assert len(steps) == 40 and all(len(row) == 60 for row in steps)
    for i, row in enumerate(steps):
        for j, value in enumerate(row):
            assert (value is None) == (grid.codes[i, j] != CONVERGED)


def test_diverged_cells_lie_beyond_the_momentum_bound(
    stretched: tuple[Facts, Settings, MomentumSection],
) -> None:
    _, _, section = stretched
    grid = section.grid
    lam_max = 20.0
    eta = grid.lrs[None, :]
    mu = grid.momenta[:, None]
    away = grid.codes == DIVERGED
    assert away.any()
    bound = np.broadcast_to(2 * (1 + mu) / lam_max, away.shape)
    rates = np.broadcast_to(eta, away.shape)
    assert (rates[away] >= bound[away]).all()
    # and beyond the bound (by a margin) every cell ran away
    assert away[rates > 1.05 * bound].all()


def test_fastest_cell_is_near_the_optimal_pair(
    stretched: tuple[Facts, Settings, MomentumSection],
) -> None:
    _, _, section = stretched
    grid = section.grid
    lam_max, lam_min = 20.0, 2.0
    eta_star = 4 / (math.sqrt(lam_max) + math.sqrt(lam_min)) ** 2
    kappa = lam_max / lam_min
    mu_star = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    row, column = grid.fastest()
    columns_away = abs(math.log(grid.lrs[column] / eta_star)) / math.log(grid.lrs[1] / grid.lrs[0])
    rows_away = abs(grid.momenta[row] - mu_star) / (grid.momenta[1] - grid.momenta[0])
    assert columns_away <= 2.5 and rows_away <= 2.5
    text = " ".join(section.text)
    best = int(grid.steps[row, column])
    assert f"{best} steps" in text
    plain = int(np.where(grid.codes[0] == CONVERGED, grid.steps[0], 10**9).min())
    assert f"with {plain} steps" in text and plain > best
    assert f"η* ≈ {eta_star:.4g}" in text
    page = rendered("momentum", section)
    assert "fastest cell" in page and "optimal pair" in page and "η* ≈" in page
    assert "bounds hold exactly" in page


def test_non_quadratic_map_is_a_guide_at_the_minimum() -> None:
    facts, s = built("x**4 + y**2 - x*y")
    section = momentum_section(facts, s)
    assert section is not None
    text = section.bounds_intro
    assert "not a quadratic" in text and "as a guide" in text
    assert "curvature at the minimum" in text
    # the minimum named is where the fastest converged cell ended
    grid = section.grid
    row, column = grid.fastest()
    end = grid.finals[row, column]
    named = re.search(r"minimum \((−?[\d.]+), (−?[\d.]+)\)", text)
    assert named is not None
    shown = [float(v.replace("−", "-")) for v in named.groups()]
    counts: dict[tuple[float, ...], int] = {}
    for i, j in zip(*np.nonzero(grid.codes == CONVERGED), strict=True):
        key = tuple(np.round(grid.finals[i, j], 3))
        counts[key] = counts.get(key, 0) + 1
    majority = max(counts, key=lambda k: counts[k])
    assert shown == pytest.approx(list(majority), abs=1e-3)
    assert np.isfinite(end).all()
    assert "quadratic model" in section.caption


def test_one_variable_has_no_map() -> None:
    facts, s = built("w**2")
    assert momentum_section(facts, s) is None
