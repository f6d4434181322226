"""descend(): worked facts, stopping rules, batches, inputs."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

from symgd.base.errors import InputError
from symgd.expr.parser import parse
from symgd.numeric.results import RUNAWAY, Status, Trajectory
from symgd.numeric.runner import descend


def test_plain_descent_on_a_bowl_multiplies_by_point_eight() -> None:
    run = descend("x0**2 + x1**2", [-3, 4], lr=0.1, steps=100)
    assert run.status is Status.MAX_STEPS
    assert run.steps == 100 and run.xs.shape == (101, 2)
    expected = [0.8**k * np.array([-3.0, 4.0]) for k in range(101)]
    np.testing.assert_allclose(run.xs, expected, rtol=1e-12)
    np.testing.assert_allclose(run.final, [-6.1111e-10, 8.1481e-10], rtol=1e-4)
    np.testing.assert_allclose(run.fs, np.sum(np.array(expected) ** 2, axis=1), rtol=1e-12)
    np.testing.assert_allclose(run.grad_norms, 2 * np.linalg.norm(expected, axis=1), rtol=1e-12)


def test_bowl_matches_a_central_difference_descent() -> None:
    def f(p: list[float]) -> float:
        return p[0] ** 2 + p[1] ** 2

    x = [-3.0, 4.0]
    h = 1e-4
    for _ in range(100):
        g = []
        for i in range(2):
            up, down = list(x), list(x)
            up[i] += h
            down[i] -= h
            g.append((f(up) - f(down)) / (2 * h))
        x = [x[i] - 0.1 * g[i] for i in range(2)]
    run = descend("x0**2 + x1**2", [-3, 4], lr=0.1, steps=100)
    np.testing.assert_allclose(run.final, x, rtol=1e-6)


@pytest.mark.parametrize(
    ("lr", "iterates"),
    [
        (0.4, [1.0, 0.2, 0.04, 0.008]),
        (0.6, [1.0, -0.2, 0.04, -0.008]),
        (1.2, [1.0, -1.4, 1.96, -2.744]),
    ],
)
def test_learning_rate_regimes_on_w_squared(lr: float, iterates: list[float]) -> None:
    run = descend("w**2", 1.0, lr=lr, steps=3)
    np.testing.assert_allclose(run.xs[:, 0], iterates, rtol=1e-13)


def test_saddle_run_is_reported_diverged_at_its_step() -> None:
    run = descend("x**2 + 2*x*y", [1, 1], lr=0.1, steps=1000)
    # the same iteration written out: stop at the first |x_i| or |f| above the bound
    x, y = 1.0, 1.0
    k = 0
    while max(abs(x), abs(y), abs(x * x + 2 * x * y)) <= RUNAWAY:
        x, y = x - 0.1 * (2 * x + 2 * y), y - 0.1 * (2 * x)
        k += 1
    assert run.status is Status.DIVERGED
    assert run.diverged_at == k == run.steps
    assert len(run.xs) == k + 1
    np.testing.assert_allclose(run.final, [x, y], rtol=1e-9)
    assert np.isfinite(run.xs).all()
    # it ran away along the eigenvector of 1 - sqrt(5)
    direction = run.final / np.linalg.norm(run.final)
    v = np.array([2.0, 1 - math.sqrt(5) - 2.0])
    v /= np.linalg.norm(v)
    assert abs(abs(direction @ v) - 1) < 1e-9
    assert "|f| exceeded 1e12" in run.message


def test_overflow_is_a_result_not_a_warning() -> None:
    # lr so large that values overflow to inf within a few steps; pytest turns warnings into
    # errors, so a leaking numpy warning would fail this test
    for backend in ("python", "numpy"):
        run = descend("x**4", [3.0], lr=10.0, steps=500, backend=backend)
        assert run.status is Status.DIVERGED
        assert run.diverged_at == run.steps
    run = descend("exp(x)", [0.0], method="ascent", lr=1.0, steps=100)
    assert run.status is Status.DIVERGED and run.diverged_at == 3  # e, e + e^e, ...


@pytest.mark.parametrize("text", ["log(x)", "sqrt(x)", "x**(1/3)", "acos(x)"])
def test_leaving_the_domain_stops_the_run(text: str) -> None:
    for backend in ("python", "numpy"):
        run = descend(text, [0.5], lr=1.0, steps=50, backend=backend)
        assert run.status is Status.DOMAIN, (text, backend)
        assert run.domain_at is not None and run.domain_at <= 50 and run.diverged_at is None
        assert np.isfinite(run.xs[:-1]).all()


def test_convergence_stops_at_the_first_small_gradient() -> None:
    run = descend("(x - 3)**2", [0.0], lr=0.1, tol=1e-6, steps=1000)
    norms = [abs(2 * (3 * (1 - 0.8**k) - 3)) for k in range(200)]
    first = next(k for k, g in enumerate(norms) if g < 1e-6)
    assert run.status is Status.CONVERGED
    assert run.steps == first
    assert run.grad_norms[-1] < 1e-6 <= run.grad_norms[-2]


def test_converged_at_the_start_takes_no_step() -> None:
    run = descend("x**2 + y**2", [0, 0])
    assert run.status is Status.CONVERGED and run.steps == 0 and run.xs.shape == (1, 2)


def test_zero_steps_just_evaluates_the_start() -> None:
    run = descend("x**2", [2.0], steps=0)
    assert run.status is Status.MAX_STEPS
    assert run.fs.tolist() == [4.0] and run.grad_norms.tolist() == [4.0]


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_batch_and_single_paths_agree(method: str) -> None:
    f = "(1-x)**2 + 100*(y-x**2)**2"
    starts = np.array([[-1.2, 1.0], [0.0, 0.0], [1.5, 2.0], [2.0, -1.0]])
    batch = descend(f, starts, method=method, lr=1e-3, steps=40)
    assert batch.xs.shape[1:] == (4, 2)
    for row, start in enumerate(starts):
        single = descend(f, start, method=method, lr=1e-3, steps=40)
        k = single.steps
        assert batch.row_steps is not None and batch.row_steps[row] == k
        assert batch.row_status()[row] is single.status
        np.testing.assert_allclose(batch.xs[: k + 1, row], single.xs, rtol=1e-12)
        np.testing.assert_allclose(batch.fs[: k + 1, row], single.fs, rtol=1e-12)
        # a start that stopped early repeats its last point
        assert (batch.xs[k:, row] == batch.xs[k, row]).all()


def test_batch_rows_stop_on_their_own() -> None:
    starts = np.array([[0.0], [1.0], [3.0]])
    run = descend("x**2", starts, lr=0.5, steps=10)  # lr 0.5 lands on 0 in one step
    assert [s.value for s in run.row_status()] == ["converged", "converged", "converged"]
    assert run.row_steps is not None and run.row_steps.tolist() == [0, 1, 1]
    assert run.steps == 1 and run.status is Status.CONVERGED
    mixed = descend("x**2 + 2*x*y", [[0.0, 0.0], [1.0, 1.0]], steps=400)
    assert mixed.status is Status.DIVERGED
    assert [s.value for s in mixed.row_status()] == ["converged", "diverged"]
    single = descend("x**2 + 2*x*y", [1.0, 1.0], steps=400)
    assert mixed.diverged_at == single.diverged_at


def test_batch_of_one_variable_from_a_flat_array() -> None:
    run = descend("w**2", np.array([1.0, -2.0, 0.5]), lr=0.1, steps=5)
    assert run.is_batch and run.xs.shape == (6, 3, 1)
    np.testing.assert_allclose(run.final[:, 0], 0.8**5 * np.array([1.0, -2.0, 0.5]))


def test_keep_path_false_keeps_start_and_final() -> None:
    starts = np.array([[1.0, 2.0], [3.0, -1.0]])
    full = descend("x**2 + 3*y**2", starts, lr=0.1, steps=30)
    short = descend("x**2 + 3*y**2", starts, lr=0.1, steps=30, keep_path=False)
    assert short.xs.shape == (2, 2, 2)
    np.testing.assert_array_equal(short.xs[0], starts)
    np.testing.assert_array_equal(short.xs[1], full.xs[-1])
    np.testing.assert_array_equal(short.fs[1], full.fs[-1])


def test_accepts_expr_problem_mapping_and_derivation_like() -> None:
    x, y = sp.symbols("x y", real=True)
    expr = (x - 1) ** 2 + 2 * (y + 2) ** 2
    by_text = descend("(x - 1)**2 + 2*(y + 2)**2", [0, 0], steps=20)
    by_expr = descend(expr, {"y": 0, "x": 0}, steps=20)
    problem = parse(expr)
    by_problem = descend(problem, [0, 0], steps=20)
    grad = tuple(sp.diff(expr, v) for v in (x, y))
    derivation = SimpleNamespace(
        problem=problem, gradient=grad, hessian=sp.ImmutableMatrix(sp.hessian(expr, (x, y)))
    )
    by_derivation = descend(derivation, [0, 0], steps=20)
    for other in (by_expr, by_problem, by_derivation):
        np.testing.assert_array_equal(other.xs, by_text.xs)
    reordered = descend("(x - 1)**2 + 2*(y + 2)**2", [0, 0], variables=["y", "x"], steps=200)
    assert reordered.variables == ("y", "x")
    np.testing.assert_allclose(reordered.final, [-2.0, 1.0], atol=1e-9)


@pytest.mark.parametrize(
    ("f", "start", "kwargs", "words"),
    [
        ("x**2 + y", [1.0], {}, "shape"),
        ("x**2", [float("inf")], {}, "finite"),
        ("x**2", ["one"], {}, "numbers"),
        ("x**2", [1.0], {"steps": -1}, "steps"),
        ("x**2", [1.0], {"steps": 2.5}, "whole number"),
        ("x**2", [1.0], {"tol": -1.0}, "tol"),
        ("x**2", [1.0], {"method": "lbfgs"}, "unknown method"),
        ("x**2", [1.0], {"backend": "gpu"}, "backend"),
        ("x**2 + y**2", {"x": 1.0, "z": 2.0}, {}, "not among"),
        ("x**2 + y**2", np.zeros((3, 2)), {"backend": "python"}, "batches"),
        ("x**2", [1.0], {"method": "adam", "momentum": 0.9}, "adam takes"),
    ],
)
def test_bad_input_is_an_input_error(
    f: str, start: object, kwargs: dict[str, object], words: str
) -> None:
    with pytest.raises(InputError, match=words):
        descend(f, start, **kwargs)  # type: ignore[arg-type]


def test_parameters_are_refused() -> None:
    problem = parse("a*x**2", ["x"], allow_parameters=True)
    with pytest.raises(InputError, match="parameters"):
        descend(problem, [1.0])


def test_trajectory_json_shape() -> None:
    run = descend("x0**2 + x1**2", [-3, 4], lr=0.1, steps=100)
    data = run.to_dict()
    assert list(data) == [
        "method",
        "lr",
        "hyperparameters",
        "status",
        "steps",
        "variables",
        "start",
        "final",
        "f",
        "grad_norm",
        "diverged_at",
        "domain_at",
        "detail",
        "outcome",
    ]
    assert data["start"] == {"x0": -3.0, "x1": 4.0}
    assert data["status"] == "max_steps" and data["steps"] == 100
    path = run.to_dict(trajectory=True)["trajectory"]
    assert len(path) == 101 and path[1] == pytest.approx([-2.4, 3.2], rel=1e-15)
    assert isinstance(run, Trajectory) and "max_steps" in run._repr_html_()


def test_same_call_twice_gives_the_same_numbers() -> None:
    a = descend("sin(x) + y**2/3", [1.0, 2.0], method="adam", steps=50)
    b = descend("sin(x) + y**2/3", [1.0, 2.0], method="adam", steps=50)
    np.testing.assert_array_equal(a.xs, b.xs)


def test_large_batches_keep_only_start_and_final_by_default() -> None:
    starts = np.linspace(-1.0, 1.0, 2000)
    run = descend("x**2", starts, steps=6000)  # 2000 × 6001 floats: above the 10⁷ default
    assert not run.path_kept and run.xs.shape == (2, 2000, 1)
    assert run.status is Status.CONVERGED
    np.testing.assert_array_equal(run.xs[0, :, 0], starts)
    small = descend("x**2", starts[:10], steps=50)
    assert small.path_kept and small.xs.shape == (51, 10, 1)


def test_numba_backend_matches_the_default_path() -> None:
    pytest.importorskip("numba")
    f = "(1-x)**2 + 100*(y-x**2)**2"
    single = descend(f, [-1.2, 1.0], method="adam", lr=0.01, steps=300)
    fast = descend(f, [-1.2, 1.0], method="adam", lr=0.01, steps=300, backend="numba")
    assert fast.status is single.status and fast.steps == single.steps
    np.testing.assert_allclose(fast.xs, single.xs, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(fast.fs, single.fs, rtol=1e-10, atol=1e-13)
    starts = np.array([[-1.2, 1.0], [1.0, 1.0], [3.0, 3.0], [0.0, 0.5]])
    batch = descend(f, starts, method="adam", lr=0.01, steps=300, tol=1e-6)
    fast_batch = descend(f, starts, method="adam", lr=0.01, steps=300, tol=1e-6, backend="numba")
    assert fast_batch.row_steps is not None and batch.row_steps is not None
    np.testing.assert_array_equal(fast_batch.row_steps, batch.row_steps)
    assert fast_batch.row_status() == batch.row_status()
    np.testing.assert_allclose(fast_batch.xs, batch.xs, rtol=1e-10, atol=1e-13)


def test_numba_backend_stops_like_the_default_path() -> None:
    pytest.importorskip("numba")
    run = descend("x**2 + 2*x*y", [1.0, 1.0], steps=1000, backend="numba")
    assert run.status is Status.DIVERGED
    assert run.diverged_at == descend("x**2 + 2*x*y", [1.0, 1.0], steps=1000).diverged_at
    with pytest.raises(InputError, match="Newton"):
        descend("x**2", [1.0], method="newton", backend="numba")


def test_numba_batch_across_blocks_matches_numpy() -> None:
    pytest.importorskip("numba")
    rng = np.random.default_rng(1)
    starts = np.vstack([rng.uniform(-1.5, 1.5, (4500, 2)), [[1.0, 1.0], [4.0, 4.0]]])
    f = "(1-x)**2 + 100*(y-x**2)**2"
    for keep in (True, False):
        ref = descend(f, starts, lr=1e-3, steps=60, tol=1e-3, keep_path=keep)
        fast = descend(f, starts, lr=1e-3, steps=60, tol=1e-3, keep_path=keep, backend="numba")
        assert ref.row_steps is not None and fast.row_steps is not None
        np.testing.assert_array_equal(fast.row_steps, ref.row_steps)
        assert fast.row_status() == ref.row_status()
        assert fast.xs.shape == ref.xs.shape
        finite = np.isfinite(ref.xs)
        np.testing.assert_allclose(fast.xs[finite], ref.xs[finite], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fast.fs, ref.fs, rtol=1e-9, atol=1e-12)
        # |∇f| where each row stopped: recorded again after the lean sweep for those rows
        np.testing.assert_allclose(fast.grad_norms, ref.grad_norms, rtol=1e-9, atol=1e-12)
    assert {s.value for s in ref.row_status()} >= {"diverged", "converged", "max_steps"}


def test_divergence_detail_names_the_cause() -> None:
    assert descend("x**2 + 2*x*y", [1, 1], steps=1000).detail == "|f| exceeded 1e12"
    assert descend("log(x)", [0.5], lr=1.0, steps=10).detail == (
        "f is undefined at (x = -1.5): the logarithm of a number ≤ 0 (x = -1.5)"
    )
    newton = descend("x**2 + 2*x*y", [1, 1], steps=5, backend="numpy")
    assert newton.detail == ""
