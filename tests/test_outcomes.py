"""Run outcomes (symgd.numeric.outcomes), each checked against a computation written here:
our own numpy iteration of the update rule, our own Hessian written by hand and its
eigenvalues, our own search for a period, never symgd's output alone."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from symgd.numeric.outcomes import Outcome, outcome_text
from symgd.numeric.results import PATH_POINTS, Status
from symgd.numeric.runner import descend

Vector = Callable[[np.ndarray], np.ndarray]


# -- our own reference computations -------------------------------------------------------------


def own_gd(
    grad: Vector, x0: list[float], lr: float, steps: int, tol: float = 1e-10, sign: float = -1.0
) -> tuple[np.ndarray, str]:
    """Plain descent (sign -1) or ascent (+1); the iterates and why it stopped."""
    x = np.array(x0, dtype=float)
    path = [x.copy()]
    for _ in range(steps):
        g = grad(x)
        if np.linalg.norm(g) < tol:
            return np.array(path), "converged"
        x = x + sign * lr * g
        path.append(x.copy())
        if np.abs(x).max() > 1e12:
            return np.array(path), "ran away"
    return np.array(path), "budget"


def own_momentum(
    grad: Vector,
    x0: list[float],
    lr: float,
    mu: float,
    steps: int,
) -> np.ndarray:
    """torch's SGD with momentum: b = μ b + g, x = x − η b."""
    x = np.array(x0, dtype=float)
    b = np.zeros_like(x)
    path = [x.copy()]
    for _ in range(steps):
        b = mu * b + grad(x)
        x = x - lr * b
        path.append(x.copy())
    return np.array(path)


def own_adam(
    grad: Vector,
    x0: list[float],
    lr: float,
    steps: int,
    tol: float = 1e-10,
) -> np.ndarray:
    """torch's Adam (β = 0.9, 0.999, ε = 1e-8), stopping when |∇f| < tol."""
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    path = [x.copy()]
    for t in range(1, steps + 1):
        g = grad(x)
        if np.linalg.norm(g) < tol:
            break
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - lr / (1 - 0.9**t) * m / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        path.append(x.copy())
    return np.array(path)


def own_period(path: np.ndarray, rtol: float = 1e-9) -> int | None:
    """The smallest p in 2..8 with the last p iterates equal (to rtol of the step) to the p
    before them, and the points not all equal."""
    for p in range(2, 9):
        last, before = path[-p:], path[-2 * p : -p]
        amplitude = np.abs(np.diff(path[-2 * p :], axis=0)).max()
        if amplitude > 1e-12 and np.abs(last - before).max() <= rtol * amplitude:
            return p
    return None


def own_kind(hessian: np.ndarray) -> str:
    """The second-order test on a Hessian written by hand."""
    eig = np.linalg.eigvalsh(np.asarray(hessian, dtype=float))
    zero = 1e-6 * max(1.0, float(np.abs(eig).max()))
    if (eig > zero).all():
        return "minimum"
    if (eig < -zero).all():
        return "maximum"
    if (eig > zero).any() and (eig < -zero).any():
        return "saddle"
    return "degenerate"


# -- minima, maxima, saddles ------------------------------------------------------------------


@pytest.mark.parametrize("lr", [0.4, 0.6])
def test_w_squared_converges_to_its_minimum(lr: float) -> None:
    path, why = own_gd(lambda w: 2 * w, [1.0], lr, 200)
    assert why == "converged" and abs(path[-1][0]) < 1e-10
    run = descend("w**2", 1.0, lr=lr, steps=200)
    assert run.status is Status.CONVERGED and run.steps == len(path) - 1
    assert own_kind([[2.0]]) == "minimum"
    assert run.outcome is Outcome.MINIMUM and run.cycle_period is None
    assert run.outcome.succeeded()


def test_w_squared_with_a_rate_too_large_diverges() -> None:
    path, why = own_gd(lambda w: 2 * w, [1.0], 1.2, 200)
    # each step multiplies w by 1 - 2.4 = -1.4: |w| and f grow, f never falls
    assert why == "ran away"
    np.testing.assert_allclose(path[1:4, 0], [-1.4, 1.96, -2.744])
    assert (np.diff(path[:, 0] ** 2) > 0).all()
    run = descend("w**2", 1.0, lr=1.2, steps=200)
    assert run.status is Status.DIVERGED and run.outcome is Outcome.DIVERGED


def test_bowl_worked_fact_reaches_the_minimum_within_its_budget() -> None:
    path, why = own_gd(lambda p: 2 * p, [-3.0, 4.0], 0.1, 100)
    assert why == "budget" and np.abs(path[-1]).max() < 1e-9  # 0.8^100·(-3, 4)
    run = descend("x0**2 + x1**2", [-3, 4], lr=0.1, steps=100)
    assert run.status is Status.MAX_STEPS
    assert own_kind(np.diag([2.0, 2.0])) == "minimum"
    assert run.outcome is Outcome.MINIMUM


def test_ascent_on_a_bowl_upside_down_reaches_its_maximum() -> None:
    path, why = own_gd(lambda p: -2 * p, [1.0, 2.0], 0.1, 500, sign=1.0)
    assert why == "converged"
    run = descend("-(x**2 + y**2)", [1.0, 2.0], method="ascent", steps=500)
    np.testing.assert_allclose(run.final, path[-1], atol=1e-12)
    assert own_kind(np.diag([-2.0, -2.0])) == "maximum"
    assert run.outcome is Outcome.MAXIMUM
    assert run.outcome.succeeded(minimizes=False) and not run.outcome.succeeded()


def test_start_exactly_on_a_saddle_of_sin_cos() -> None:
    x, y = 0.0, math.pi / 2
    # ∇f = (cos x cos y, −sin x sin y) ≈ (6e-17, 0); H = [[−sin x cos y, −cos x sin y], ...]
    grad = np.array([math.cos(x) * math.cos(y), -math.sin(x) * math.sin(y)])
    hessian = [
        [-math.sin(x) * math.cos(y), -math.cos(x) * math.sin(y)],
        [-math.cos(x) * math.sin(y), -math.sin(x) * math.cos(y)],
    ]
    assert np.linalg.norm(grad) < 1e-10 and own_kind(hessian) == "saddle"
    run = descend("sin(x)*cos(y)", [x, y], steps=500)
    assert run.steps == 0 and run.outcome is Outcome.SADDLE


def test_ascent_on_sin_cos_climbs_to_a_maximum() -> None:
    def grad(p: np.ndarray) -> np.ndarray:
        return np.array([math.cos(p[0]) * math.cos(p[1]), -math.sin(p[0]) * math.sin(p[1])])

    path, why = own_gd(grad, [1.0, 0.3], 0.1, 2000, sign=1.0)
    assert why == "converged"
    px, py = path[-1]
    hessian = [
        [-math.sin(px) * math.cos(py), -math.cos(px) * math.sin(py)],
        [-math.cos(px) * math.sin(py), -math.sin(px) * math.cos(py)],
    ]
    assert own_kind(hessian) == "maximum"
    run = descend("sin(x)*cos(y)", [1.0, 0.3], method="ascent", steps=2000)
    np.testing.assert_allclose(run.final, path[-1], atol=1e-9)
    assert run.outcome is Outcome.MAXIMUM


def test_descent_along_a_saddles_stable_line_stops_at_the_saddle() -> None:
    path, why = own_gd(lambda p: np.array([2 * p[0], -2 * p[1]]), [1.0, 0.0], 0.1, 500)
    assert why == "converged" and path[-1][1] == 0.0
    assert own_kind(np.diag([2.0, -2.0])) == "saddle"
    run = descend("x**2 - y**2", [1.0, 0.0], steps=500)
    assert run.outcome is Outcome.SADDLE


def test_descent_that_starts_on_a_maximum_stays_there() -> None:
    # f = x⁴ − 3x²: f'(0) = 0 and f''(0) = −6
    assert own_kind([[12 * 0.0**2 - 6]]) == "maximum"
    run = descend("x**4 - 3*x**2", 0.0, lr=0.2, steps=10)
    assert run.steps == 0 and run.outcome is Outcome.MAXIMUM
    assert not run.outcome.succeeded()


# -- degenerate and flat ------------------------------------------------------------------------


def test_x_to_the_fourth_at_its_degenerate_minimum() -> None:
    # f' = 4x³ and f'' = 12x² both vanish at 0: the second-order test says nothing
    assert own_kind([[0.0]]) == "degenerate"
    run = descend("x**4", 0.0, steps=10)
    assert run.outcome is Outcome.DEGENERATE


def test_x_to_the_fourth_stops_near_its_degenerate_minimum() -> None:
    path, why = own_gd(lambda x: 4 * x**3, [1.0], 0.1, 1_000_000, tol=1e-6)
    assert why == "converged" and 0 < path[-1][0] < 0.01  # the only critical point is 0
    run = descend("x**4", 1.0, steps=1_000_000, tol=1e-6)
    assert run.steps == len(path) - 1
    assert run.outcome is Outcome.DEGENERATE


def test_x_cubed_creeps_to_its_inflection_point_which_is_no_minimum() -> None:
    path, why = own_gd(lambda x: 3 * x**2, [1.0], 0.1, 1_000_000, tol=1e-6)
    assert why == "converged" and 0 < path[-1][0] < 1e-3
    # 0 is the only critical point; f'' = 6x is 0 there and f(-t) < 0 < f(t): an inflection
    assert own_kind([[6 * 0.0]]) == "degenerate"
    run = descend("x**3", 1.0, steps=1_000_000, tol=1e-6)
    assert run.outcome is Outcome.DEGENERATE and run.outcome is not Outcome.MINIMUM


def test_newton_on_a_quartic_valley_reaches_its_degenerate_minimum() -> None:
    # Newton on y⁴ multiplies y by 2/3 each step; H = diag(2, 12y²) is singular at (0, 0)
    y = 1.0
    steps = 0
    while 4 * y**3 >= 1e-10:
        y *= 2 / 3
        steps += 1
    run = descend("x**2 + y**4", [1.0, 1.0], method="newton", steps=500)
    assert run.status is Status.CONVERGED and abs(run.steps - steps) <= 1
    assert own_kind(np.diag([2.0, 0.0])) == "degenerate"
    assert run.outcome is Outcome.DEGENERATE


@pytest.mark.parametrize("lr", [0.5, 1.0, 2.0])
def test_adam_stops_on_the_plateau_of_a_gaussian_bump(lr: float) -> None:
    def grad(p: np.ndarray) -> np.ndarray:
        return -2 * p * math.exp(-(p @ p))

    path = own_adam(grad, [1.0, 1.0], lr, 500)
    # ∇f = −2 x f vanishes only at the origin; the run stopped far from it
    assert np.linalg.norm(grad(path[-1])) < 1e-10 and np.linalg.norm(path[-1]) > 3
    run = descend("exp(-(x**2+y**2))", [1.0, 1.0], method="adam", lr=lr, steps=500)
    assert run.status is Status.CONVERGED
    np.testing.assert_allclose(run.final, path[-1], rtol=1e-9)
    assert run.outcome is Outcome.FLAT


def test_a_start_on_the_plateau_is_flat_not_converged() -> None:
    # |∇f(6, 0)| = 12 e^-36 ≈ 2.8e-15 < tol, and the only critical point is 6 away
    assert 12 * math.exp(-36) < 1e-10
    run = descend("exp(-(x**2+y**2))", [6.0, 0.0], steps=100)
    assert run.steps == 0 and run.outcome is Outcome.FLAT


# -- cycles ---------------------------------------------------------------------------------


def test_abs_sum_cycles_with_period_two() -> None:
    path, why = own_gd(np.sign, [0.5, 0.7], 0.1, 100)
    assert why == "budget"
    assert own_period(path) == 2
    # |∇f| = √2 at every step: the run never slows down
    assert all(np.linalg.norm(np.sign(p)) == pytest.approx(math.sqrt(2)) for p in path)
    run = descend("abs(x) + abs(y)", [0.5, 0.7], lr=0.1, steps=100)
    np.testing.assert_allclose(run.xs, path, atol=1e-15)
    assert run.outcome is Outcome.CYCLE and run.cycle_period == 2


@pytest.mark.parametrize("start", [0.5, 2.0])
def test_quartic_double_well_at_rate_point_two_is_a_two_cycle(start: float) -> None:
    path, _ = own_gd(lambda x: 4 * x**3 - 6 * x, [start], 0.2, 300)
    assert own_period(path) == 2
    a, b = path[-2][0], path[-1][0]
    # the map x -> x − 0.2 f'(x) sends a to b and b back to a
    assert b == pytest.approx(a - 0.2 * (4 * a**3 - 6 * a), abs=1e-12)
    assert a == pytest.approx(b - 0.2 * (4 * b**3 - 6 * b), abs=1e-12)
    # both minima ±√1.5 have f'' = 12 > 2/0.2 = 10: descent cannot settle at either
    assert 12 * 1.5 - 6 > 2 / 0.2
    run = descend("x**4 - 3*x**2", start, lr=0.2, steps=300)
    assert run.status is Status.MAX_STEPS
    assert run.outcome is Outcome.CYCLE and run.cycle_period == 2


def test_momentum_on_its_stability_bound_never_settles() -> None:
    mu, lam = 0.9, 2.0  # f = x², λ = 2
    lr = 2 * (1 + mu) / lam  # the bound 2(1 + μ)/λ_max = 1.9
    path = own_momentum(lambda x: 2 * x, [1.0], lr, mu, 400)
    # x_k = A(−1)^k + B(−μ)^k: the (−μ)^k part dies, ±A stays
    assert own_period(path, rtol=1e-6) == 2 and abs(path[-1][0]) > 1
    run = descend("x**2", 1.0, method="momentum", lr=lr, momentum=mu, steps=400)
    np.testing.assert_allclose(run.xs[:, 0], path[:, 0], rtol=1e-9)
    assert run.outcome is Outcome.CYCLE and run.cycle_period == 2


def test_momentum_inside_its_bound_converges() -> None:
    path = own_momentum(lambda x: 2 * x, [1.0], 1.8, 0.9, 1000)
    assert abs(path[-1][0]) < 1e-10
    run = descend("x**2", 1.0, method="momentum", lr=1.8, momentum=0.9, steps=1000)
    assert run.outcome is Outcome.MINIMUM


def test_a_cycle_is_found_when_the_path_is_thinned() -> None:
    steps = 4 * PATH_POINTS + 3
    path, _ = own_gd(np.sign, [0.5, 0.7], 0.1, steps)
    period = own_period(path)
    run = descend("abs(x) + abs(y)", [0.5, 0.7], lr=0.1, steps=steps, trajectory=False)
    assert not run.path_kept and run.steps == steps
    assert run.outcome is Outcome.CYCLE and run.cycle_period == period == 2


# -- running away, domain, singular, budget -----------------------------------------------


def test_saddle_function_runs_off_along_the_negative_eigenvector() -> None:
    def grad(p: np.ndarray) -> np.ndarray:
        return np.array([2 * p[0] + 2 * p[1], 2 * p[0]])

    path, why = own_gd(grad, [1.0, 1.0], 0.1, 5000)
    values = path[:, 0] ** 2 + 2 * path[:, 0] * path[:, 1]
    eig, vectors = np.linalg.eigh([[2.0, 2.0], [2.0, 0.0]])  # 1 − √5, 1 + √5
    assert eig[0] == pytest.approx(1 - math.sqrt(5))
    direction = path[-1] / np.linalg.norm(path[-1])
    assert abs(direction @ vectors[:, 0]) == pytest.approx(1, abs=1e-9)
    assert values.min() < -1e12 or why == "ran away"
    run = descend("x**2 + 2*x*y", [1, 1], steps=5000)
    assert run.f_final < -1e12 and run.outcome is Outcome.UNBOUNDED


def test_x_cubed_from_minus_one_falls_without_bound() -> None:
    path, _ = own_gd(lambda x: 3 * x**2, [-1.0], 0.1, 5000)
    values = path[:, 0] ** 3
    assert (np.diff(values) < 0).all()  # f falls at every step
    run = descend("x**3", -1.0, steps=5000)
    assert run.status is Status.DIVERGED and run.outcome is Outcome.UNBOUNDED


def test_ascent_on_a_bowl_rises_without_bound() -> None:
    path, _ = own_gd(lambda x: 2 * x, [1.0], 0.1, 5000, sign=1.0)
    assert (np.diff(path[:, 0] ** 2) > 0).all()
    run = descend("x**2", 1.0, method="ascent", steps=5000)
    assert run.outcome is Outcome.UNBOUNDED
    assert "no upper bound" in run.outcome_message


def test_rate_beyond_two_over_lambda_max_diverges() -> None:
    lam_max = float(np.linalg.eigvalsh(np.diag([2.0, 200.0])).max())
    lr = 1.005 * 2 / lam_max
    _path, why = own_gd(lambda p: np.array([2 * p[0], 200 * p[1]]), [1.0, 1.0], lr, 20000)
    assert why == "ran away"
    run = descend("x**2 + 100*y**2", [1.0, 1.0], lr=lr, steps=20000)
    assert run.outcome is Outcome.DIVERGED


def test_square_root_left_its_domain() -> None:
    path, _ = own_gd(lambda x: 0.5 / np.sqrt(x), [1.0], 1.0, 1)
    x1 = path[-1][0]
    x2 = x1 - 0.5 / math.sqrt(x1)
    assert x1 == 0.5 and x2 < 0  # √ of a negative number next
    run = descend("sqrt(x)", 1.0, lr=1.0, steps=200)
    assert run.steps == 2 and run.outcome is Outcome.DOMAIN


def test_newton_with_a_singular_hessian() -> None:
    # f = x² + y: H = [[2, 0], [0, 0]] everywhere, ∇f = (2x, 1) never vanishes
    assert np.linalg.eigvalsh([[2.0, 0.0], [0.0, 0.0]]).min() == 0.0
    run = descend("x**2 + y", [1.0, 1.0], method="newton", steps=10)
    assert run.status is Status.SINGULAR and run.outcome is Outcome.SINGULAR


def test_rosenbrock_with_a_tiny_budget_is_unfinished() -> None:
    def grad(p: np.ndarray) -> np.ndarray:
        x, y = p
        return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])

    path, why = own_gd(grad, [-1.2, 1.0], 1e-3, 10)
    assert why == "budget" and np.linalg.norm(grad(path[-1])) > 1
    run = descend("(1-x)**2 + 100*(y-x**2)**2", [-1.2, 1.0], lr=1e-3, steps=10)
    np.testing.assert_allclose(run.final, path[-1], rtol=1e-12)
    assert run.outcome is Outcome.UNFINISHED


def test_adam_on_w_squared_is_still_moving_after_200_steps() -> None:
    path = own_adam(lambda w: 2 * w, [0.5], 0.1, 200)
    assert len(path) == 201 and abs(path[-1][0] - path[-2][0]) > 1e-7
    run = descend("w**2", 0.5, method="adam", steps=200)
    assert run.outcome is Outcome.UNFINISHED


# -- batches, JSON, words -------------------------------------------------------------------


def test_batch_rows_get_their_own_outcomes() -> None:
    starts = np.array([0.5, 2.0, 0.0, 1.0])
    run = descend("x**4 - 3*x**2", starts, lr=0.2, steps=300)
    expected = []
    for x0 in starts:
        path, why = own_gd(lambda x: 4 * x**3 - 6 * x, [x0], 0.2, 300)
        expected.append("maximum" if why == "converged" else f"cycle {own_period(path)}")
    got = [
        o.value + (f" {int(p)}" if p else "")
        for o, p in zip(run.row_outcomes(), run.row_periods, strict=True)
    ]
    assert got == expected
    assert run.outcome is None
    single = run.row(1)
    assert single.outcome is Outcome.CYCLE and single.cycle_period == 2
    assert single.to_dict()["cycle_period"] == 2


def test_large_batch_without_its_path_still_finds_cycles() -> None:
    rng = np.random.default_rng(1)
    starts = rng.uniform(0.05, 0.95, size=(3000, 2))
    run = descend("abs(x) + abs(y)", starts, lr=0.1, steps=60, trajectory=False)
    assert run.xs.shape[0] == 2
    for i in (0, 1, 2999):
        path, _ = own_gd(np.sign, list(starts[i]), 0.1, 60)
        assert run.row_outcomes()[i] is Outcome.CYCLE
        assert run.row_periods[i] == own_period(path)


def test_a_batch_of_one_start_without_its_path_still_finds_its_cycle() -> None:
    # one start as a batch runs as a thinned single run, cut to its start and final point
    path, _ = own_gd(lambda x: 4 * x**3 - 6 * x, [0.5], 0.2, 3000)
    run = descend("x**4 - 3*x**2", np.array([[0.5]]), lr=0.2, steps=3000, trajectory=False)
    assert run.xs.shape == (2, 1, 1) and run.row_periods is not None
    assert run.row_outcomes() == [Outcome.CYCLE] and run.row_periods[0] == own_period(path) == 2


def test_a_row_leaving_the_domain_leaves_the_others_their_cycles() -> None:
    # log(x + 10)/1e9 is defined for x > -10 only: the start at -20 is outside, the others
    # cycle as on x⁴ − 3x² (the log term moves them by about 1e-10)
    f = "x**4 - 3*x**2 + log(x + 10)/10**9"
    run = descend(f, np.array([0.5, -20.0, 0.6]), lr=0.2, steps=3000, trajectory=False)
    assert [s.value for s in run.row_status()] == ["max_steps", "domain", "max_steps"]
    assert [o.value for o in run.row_outcomes()] == ["cycle", "domain", "cycle"]
    assert run.row_periods is not None and run.row_periods.tolist() == [2, 0, 2]


# -- every backend reaches the same outcome -------------------------------------------------

#: (f, start, lr, outcome, cycle period); run past PATH_POINTS so a thinned path is thinned
AGREEING = [
    ("abs(x) + abs(y)", [0.5, 0.7], 0.1, Outcome.CYCLE, 2),
    ("x**4 - 3*x**2", [0.5], 0.2, Outcome.CYCLE, 2),
    ("w**2", [1.0], 0.6, Outcome.MINIMUM, None),
    ("(1 - x)**2 + 100*(y - x**2)**2", [-1.2, 1.0], 1e-3, Outcome.UNFINISHED, None),
]


def _backends() -> list[str]:
    try:
        import numba  # noqa: F401
    except ImportError:
        return ["python", "numpy"]
    return ["python", "numpy", "numba"]


@pytest.mark.parametrize("case", AGREEING, ids=[case[0] for case in AGREEING])
@pytest.mark.parametrize("trajectory", [True, False])
def test_single_runs_reach_the_same_outcome_on_every_backend(
    case: tuple[str, list[float], float, Outcome, int | None], trajectory: bool
) -> None:
    f, start, lr, outcome, period = case
    steps = 4 * PATH_POINTS + 3
    for backend in _backends():
        run = descend(f, start, lr=lr, steps=steps, trajectory=trajectory, backend=backend)
        assert run.path_kept is trajectory or run.status is Status.CONVERGED, backend
        assert (run.outcome, run.cycle_period) == (outcome, period), backend


@pytest.mark.parametrize("case", AGREEING, ids=[case[0] for case in AGREEING])
@pytest.mark.parametrize("trajectory", [True, False])
@pytest.mark.parametrize("count", [1, 5, 3000])
def test_batches_reach_the_same_outcome_on_every_backend(
    case: tuple[str, list[float], float, Outcome, int | None], trajectory: bool, count: int
) -> None:
    f, start, lr, outcome, period = case
    # the start, and starts near it (3000 rows: two blocks of the numba kernel)
    rng = np.random.default_rng(0)
    starts = np.array(start) * (1 + 0.01 * rng.uniform(-1, 1, size=(count, len(start))))
    starts[0] = start
    steps = 300 if count == 3000 else 2 * PATH_POINTS + 5
    runs = {
        backend: descend(f, starts, lr=lr, steps=steps, trajectory=trajectory, backend=backend)
        for backend in _backends()
        if backend != "python"
    }
    for backend, run in runs.items():
        assert run.row_periods is not None
        assert run.row_outcomes()[0] is outcome, backend
        assert (int(run.row_periods[0]) or None) == period, backend
    numpy_run = runs["numpy"]
    for backend, run in runs.items():
        assert run.row_outcomes() == numpy_run.row_outcomes(), backend
        np.testing.assert_array_equal(run.row_periods, numpy_run.row_periods)


def test_json_carries_the_outcome_and_a_period_only_for_cycles() -> None:
    cycle = descend("abs(x) + abs(y)", [0.5, 0.7], lr=0.1, steps=100).to_dict()
    assert cycle["outcome"] == "cycle" and cycle["cycle_period"] == 2
    bowl = descend("w**2", 1.0, lr=0.4, steps=200).to_dict()
    assert bowl["outcome"] == "minimum" and "cycle_period" not in bowl


def test_outcome_words() -> None:
    assert outcome_text(Outcome.CYCLE, 2).startswith("cycle (period 2): ")
    assert "second-order test" in Outcome.DEGENERATE.words
    assert {o.value for o in Outcome} == {
        "minimum",
        "maximum",
        "saddle",
        "degenerate",
        "flat",
        "cycle",
        "unbounded",
        "diverged",
        "unfinished",
        "domain",
        "singular",
    }
