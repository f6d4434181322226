"""symgd.fit: descent on a mean loss over data, checked against independent computations."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pytest
import sympy as sp

import symgd
from symgd.base.errors import InputError
from symgd.expr.activations import sigmoid
from symgd.numeric.data import demo
from symgd.numeric.fit_model import linear_form, model_for, stable_loss
from symgd.numeric.fitting import FitResult, compare_batches, fit, loss_problem
from symgd.numeric.results import Status
from symgd.numeric.runner import descend

LINEAR = "(y - (w*x + b))**2"


def line_data(
    seed: int, rows: int = 60, slope: float = 3.0, intercept: float = 2.0, noise: float = 0.5
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, rows)
    return {"x": x, "y": slope * x + intercept + rng.normal(0.0, noise, rows)}


def normal_equations(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(XᵀX)⁻¹Xᵀy by a direct solve: independent of lstsq and of symgd."""
    return np.linalg.solve(X.T @ X, X.T @ y)


def safe_lr(X: np.ndarray, factor: float = 1.0) -> float:
    """1/λmax of the mean-squared-error Hessian (2/N)XᵀX: inside the stable range 0 < η < 2/λ."""
    return float(1.0 / np.linalg.eigvalsh(2.0 / len(X) * X.T @ X)[-1]) * factor


# -- recognising least squares ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "params"),
    [
        (LINEAR, "w,b"),
        ("(w*x + b - y)**2/2", "w,b"),
        ("0.5*(y - w*x - b)**2", "w,b"),
        ("y**2 - 2*y*(w*x + b) + (w*x + b)**2", "w,b"),
        ("(y - w*x)**2", "w"),
        ("3*(t - a*u - c*v - d)**2", "a,c,d"),
        ("(y - w*sin(x) - b*exp(x))**2", "w,b"),
    ],
)
def test_linear_form_rebuilds_the_loss(loss: str, params: str) -> None:
    problem = loss_problem(loss, params)
    form = linear_form(problem.expr, problem.variables)
    assert form is not None
    fitted = sum(
        (d * p for d, p in zip(form.design, problem.variables, strict=True)), sp.Integer(0)
    )
    assert sp.expand(form.factor * (form.target - fitted) ** 2 - problem.expr) == 0
    for column in (*form.design, form.target):
        assert not column.has(*problem.variables)


@pytest.mark.parametrize(
    "loss",
    [
        "abs(y - w*x - b)",
        "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))",
        "x*(y - w*x - b)**2",  # a data-dependent weight
        "(y - w*x - b)**4",
        "(y - w*x - b)**2 + w**2",  # ridge: quadratic, but not a plain squared error
        "-(y - w*x - b)**2",
        "(y - w**2*x - b)**2",
    ],
)
def test_linear_form_rejects_other_losses(loss: str) -> None:
    problem = loss_problem(loss, "w,b")
    assert linear_form(problem.expr, problem.variables) is None


def test_stable_loss_is_equal_and_finite() -> None:
    z = sp.Symbol("z", real=True)
    expr = -(sp.log(sigmoid(z)) + sp.log(1 - sigmoid(z)))
    stable = stable_loss(expr)
    assert not stable.has(sp.log)
    for value in (-3.0, 0.25, 4.0):
        left = stable.subs(z, value).rewrite(sp.exp)
        right = expr.subs(z, value).rewrite(sp.exp)
        assert float(left) == pytest.approx(float(right), rel=1e-12)
    problem = loss_problem("-(y*log(sigmoid(w*x)) + (1 - y)*log(1 - sigmoid(w*x)))", "w")
    model = model_for(problem)
    loss, grad = model.batch(np.array([1.0]), (np.array([-800.0]), np.array([1.0])))
    # log σ(−800) = −800 − log(1 + e^−800): the loss is 800 and the slope −x(1 − σ) = 800
    assert loss == pytest.approx(800.0) and grad[0] == pytest.approx(800.0)


# -- least squares by descent -----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_batch_descent_reaches_least_squares(seed: int) -> None:
    data = line_data(seed, slope=-1.5 + seed, intercept=0.5 * seed)
    X = np.column_stack([data["x"], np.ones_like(data["x"])])
    expected = normal_equations(X, data["y"])
    result = fit(LINEAR, data, "w,b", lr=safe_lr(X), epochs=5000, tol=1e-10)
    assert result.status is Status.CONVERGED
    np.testing.assert_allclose(result.final, expected, atol=1e-8)
    assert result.least_squares is not None
    np.testing.assert_allclose(result.least_squares.vector, expected, rtol=1e-10, atol=1e-12)
    assert result.distance_to_least_squares is not None
    assert result.distance_to_least_squares < 1e-8
    residual = data["y"] - X @ expected
    assert result.least_squares.loss == pytest.approx(float(np.mean(residual**2)), rel=1e-10)


def test_three_parameters_and_other_optimizers() -> None:
    rng = np.random.default_rng(7)
    u, v = rng.normal(size=80), rng.normal(size=80)
    t = 1.0 - 2.0 * u + 0.5 * v + rng.normal(0.0, 0.1, 80)
    data = {"u": u, "v": v, "t": t}
    X = np.column_stack([u, v, np.ones(80)])
    expected = normal_equations(X, t)
    loss = "(t - (a*u + c*v + d))**2"
    cases: list[tuple[str, dict[str, Any]]] = [
        ("momentum", {"lr": safe_lr(X, 0.5)}),
        ("adam", {"lr": 0.05}),
        ("newton", {}),
    ]
    for method, options in cases:
        result = fit(loss, data, "a,c,d", method=method, epochs=3000, tol=1e-9, **options)
        np.testing.assert_allclose(result.final, expected, atol=1e-6, err_msg=method)
    newton = fit(loss, data, "a,c,d", method="newton", epochs=10, tol=1e-9)
    assert newton.status is Status.CONVERGED and newton.epochs <= 2  # a quadratic: one step


def test_mini_batch_and_sgd_land_near_least_squares() -> None:
    data = line_data(11, rows=400)
    X = np.column_stack([data["x"], np.ones(400)])
    expected = normal_equations(X, data["y"])
    for size, lr, tolerance in [(20, 0.02, 0.02), (1, 0.002, 0.05)]:
        result = fit(LINEAR, data, "w,b", batch_size=size, lr=lr, epochs=60, seed=3)
        assert result.status is Status.MAX_STEPS
        assert np.linalg.norm(result.final - expected) < tolerance, size


def test_matrix_gradient_equals_the_compiled_gradient() -> None:
    data = line_data(4)
    result = fit(LINEAR, data, "w,b", epochs=1)
    ls, model = result.least_squares, result.model
    assert ls is not None and model is not None
    X = np.column_stack([data["x"], np.ones_like(data["x"])])
    for theta in ([0.0, 0.0], [2.5, -1.0], [-7.0, 3.0]):
        point = np.array(theta)
        by_hand = -2.0 / len(X) * X.T @ (data["y"] - X @ point)
        np.testing.assert_allclose(ls.matrix_gradient(point), by_hand, rtol=1e-12)
        _, compiled = model.batch(point, (data["x"], data["y"]))
        np.testing.assert_allclose(compiled, by_hand, rtol=1e-12, atol=1e-12)
    eigen = np.linalg.eigvalsh(2.0 / len(X) * X.T @ X)
    assert ls.stable_lr == pytest.approx(2.0 / eigen[-1], rel=1e-12)


# -- full batch is plain descent ----------------------------------------------------------------


def test_full_batch_equals_descend_on_the_symbolic_mean() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=6)
    y = 2 * x - 1 + 0.3 * rng.normal(size=6)
    w, b = sp.symbols("w b", real=True)
    mean = (
        sum(
            (sp.Float(float(yi)) - (w * sp.Float(float(xi)) + b)) ** 2
            for xi, yi in zip(x, y, strict=True)
        )
        / 6
    )
    plain = descend(mean, [0.5, -0.5], lr=0.2, steps=40, tol=1e-9, variables=["w", "b"])
    result = fit(LINEAR, {"x": x, "y": y}, "w,b", lr=0.2, epochs=40, start=[0.5, -0.5], tol=1e-9)
    assert result.steps == plain.steps and result.status == plain.status
    np.testing.assert_allclose(result.path, plain.xs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(result.loss_per_epoch, plain.fs[1:], rtol=1e-12)


def numpy_minibatch(
    data: dict[str, np.ndarray], size: int, epochs: int, lr: float, seed: int
) -> np.ndarray:
    """The documented schedule written out: permute per epoch, consecutive batches, mean grad."""
    x_all, y_all = data["x"], data["y"]
    n = len(x_all)
    rng = np.random.default_rng(seed)
    theta = np.zeros(2)
    path = [theta]
    for _ in range(epochs):
        order = rng.permutation(n) if size < n else np.arange(n)
        for lo in range(0, n, size):
            rows = order[lo : lo + size]
            r = y_all[rows] - (theta[0] * x_all[rows] + theta[1])
            theta = theta - lr * np.array([np.mean(-2 * x_all[rows] * r), np.mean(-2 * r)])
            path.append(theta)
    return np.array(path)


@pytest.mark.parametrize(
    ("size", "batch_size"), [(7, 7), (23, "full"), (23, 23), (23, 100), (1, 1), (4, "4")]
)
def test_schedule_matches_an_independent_loop(size: int, batch_size: int | str) -> None:
    data = line_data(5, rows=23)
    expected = numpy_minibatch(data, size, 3, 0.05, seed=9)
    result = fit(LINEAR, data, "w,b", batch_size=batch_size, epochs=3, lr=0.05, seed=9, tol=0)
    assert result.batch_size == min(size, 23)
    assert result.steps == 3 * -(-23 // min(size, 23)) == len(expected) - 1
    np.testing.assert_allclose(result.path, expected, rtol=1e-12, atol=1e-13)


def test_same_seed_same_run_different_seed_different_path() -> None:
    data = line_data(8, rows=50)
    one = fit(LINEAR, data, "w,b", batch_size=5, epochs=4, lr=0.05, seed=21)
    two = fit(LINEAR, data, "w,b", batch_size=5, epochs=4, lr=0.05, seed=21)
    other = fit(LINEAR, data, "w,b", batch_size=5, epochs=4, lr=0.05, seed=22)
    np.testing.assert_array_equal(one.path, two.path)
    np.testing.assert_array_equal(one.loss_per_epoch, two.loss_per_epoch)
    assert one.to_dict() == two.to_dict()
    assert np.array_equal(one.path[0], other.path[0])
    assert not np.array_equal(one.path[1:], other.path[1:])
    # the full batch ignores the seed: it never shuffles
    np.testing.assert_array_equal(
        fit(LINEAR, data, "w,b", epochs=3, seed=1).path,
        fit(LINEAR, data, "w,b", epochs=3, seed=2).path,
    )


# -- outcomes -----------------------------------------------------------------------------------


def test_divergence_is_reported_not_raised() -> None:
    data = line_data(2)
    result = fit(LINEAR, data, "w,b", lr=5.0, epochs=500)
    assert result.status is Status.DIVERGED
    assert result.diverged_at is not None and result.diverged_at == result.steps
    assert "1e12" in result.reason or "finite" in result.reason
    X = np.column_stack([data["x"], np.ones_like(data["x"])])
    assert f"2/λmax = {2 * safe_lr(X):.4g}" in result.reason
    payload = result.to_dict()
    assert payload["status"] == "diverged" and payload["diverged_at"] == result.steps


def test_start_at_the_answer_converges_at_once() -> None:
    data = line_data(6)
    X = np.column_stack([data["x"], np.ones_like(data["x"])])
    answer = normal_equations(X, data["y"])
    result = fit(LINEAR, data, "w,b", start={"w": answer[0], "b": answer[1]}, tol=1e-9)
    assert result.status is Status.CONVERGED and result.epochs == 0 and result.steps == 0
    assert result.loss == result.initial_loss


def test_logistic_regression_against_scipy() -> None:
    from scipy.optimize import minimize

    example = demo("logistic")
    x, y = example.data.column("x"), example.data.column("y")

    def mean_loss(theta: np.ndarray) -> float:
        z = theta[0] * x + theta[1]
        return float(np.mean(np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y)))

    best = minimize(mean_loss, np.zeros(2), method="BFGS", options={"gtol": 1e-10}).x
    result = fit(example.loss, example.data, "w,b", method="newton", epochs=30, tol=1e-10)
    assert result.status is Status.CONVERGED and result.least_squares is None
    np.testing.assert_allclose(result.final, best, atol=1e-5)
    assert result.loss == pytest.approx(mean_loss(result.final), rel=1e-12)
    gd = fit(example.loss, example.data, "w,b", lr=example.lr, epochs=example.epochs)
    np.testing.assert_allclose(gd.final, best, atol=1e-4)


def test_gradient_matches_finite_differences_of_the_mean() -> None:
    example = demo("logistic", rows=50)
    model = model_for(loss_problem(example.loss, "w,b"))
    columns = example.data.select(model.columns)
    theta = np.array([0.7, -0.3])
    _, grad = model.batch(theta, columns)
    h = 1e-6
    for i in range(2):
        step = np.zeros(2)
        step[i] = h
        up, _ = model.batch(theta + step, columns)
        down, _ = model.batch(theta - step, columns)
        assert grad[i] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_angles_are_traced_and_correct() -> None:
    data = line_data(12, rows=40)
    full = fit(LINEAR, data, "w,b", epochs=3, trace_angles=10)
    assert len(full.angles) == 3 and np.all(full.angles < 1e-6)
    mini = fit(LINEAR, data, "w,b", batch_size=4, epochs=2, seed=5, trace_angles=12)
    assert len(mini.angles) == 12
    finite = mini.angles[np.isfinite(mini.angles)]
    assert np.all((finite >= 0) & (finite <= 180)) and finite.max() > 1
    # first update: batch = the first 4 rows of the seeded permutation, at θ = 0
    rows = np.random.default_rng(5).permutation(40)[:4]
    x, y = data["x"], data["y"]
    g_batch = np.array([np.mean(-2 * x[rows] * y[rows]), np.mean(-2 * y[rows])])
    g_full = np.array([np.mean(-2 * x * y), np.mean(-2 * y)])
    cosine = g_batch @ g_full / np.linalg.norm(g_batch) / np.linalg.norm(g_full)
    assert mini.angles[0] == pytest.approx(math.degrees(math.acos(cosine)), abs=1e-9)


# -- inputs and the result ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": "w,c"}, "does not use the parameter c"),
        ({"loss": "w**2 + b**2"}, "no data columns"),
        ({"loss": "(y - w*x - b - q)**2"}, "'q'"),
        ({"batch_size": 0}, "at least 1"),
        ({"batch_size": "half"}, "'full' or a whole number"),
        ({"batch_size": 2.5}, "'full' or a whole number"),
        ({"epochs": 0}, "epochs must be between"),
        ({"seed": -1}, "seed must be between"),
        ({"start": [1.0]}, "1 value"),
        ({"start": {"q": 1.0}}, "not among the parameters"),
        ({"method": "sideways"}, "unknown method"),
        ({"lr": -0.1}, "positive"),
        ({"params": ""}, "comma-separated"),
        ({"tol": -1}, "tol"),
    ],
)
def test_bad_input_raises_input_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"loss": LINEAR, "data": line_data(0, rows=10), "params": "w,b"}
    args.update(kwargs)
    loss, data, params = args.pop("loss"), args.pop("data"), args.pop("params")
    with pytest.raises(InputError, match=re.escape(message)):
        fit(loss, data, params, **args)  # type: ignore[arg-type]


def test_json_shape_and_library_exports() -> None:
    assert symgd.fit is fit and symgd.FitResult is FitResult
    result = symgd.fit(LINEAR, line_data(1), ["w", "b"], batch_size=8, epochs=5, lr=0.05)
    payload = result.to_dict()
    for key in (
        "params",
        "loss",
        "epochs",
        "batch_size",
        "status",
        "least_squares",
        "loss_per_epoch",
    ):
        assert key in payload
    assert set(payload["params"]) == {"w", "b"} and set(payload["least_squares"]) == {"w", "b"}
    assert all(isinstance(v, float) for v in payload["params"].values())
    assert isinstance(payload["loss"], float) and payload["epochs"] == 5
    assert payload["batch_size"] == 8 and payload["status"] == "max_steps"
    assert len(payload["loss_per_epoch"]) == 5
    assert payload["loss"] == payload["loss_per_epoch"][-1]
    json.dumps(payload, allow_nan=False)
    assert (
        symgd.parse(payload["expression"], ["w", "b"], allow_parameters=True).expr
        == symgd.parse(LINEAR, ["w", "b"], allow_parameters=True).expr
    )


def test_csv_path_data(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    path = folder / "points.csv"
    data = line_data(3, rows=30)
    pairs = zip(data["x"].tolist(), data["y"].tolist(), strict=True)
    path.write_text(
        "x,y,label\n" + "".join(f"{a!r},{b!r},p{i}\n" for i, (a, b) in enumerate(pairs))
    )
    from_file = fit(LINEAR, str(path), "w,b", epochs=20)
    from_arrays = fit(LINEAR, data, "w,b", epochs=20)
    np.testing.assert_array_equal(from_file.path, from_arrays.path)
    assert from_file.data_source == str(path)


# -- the lesson section -------------------------------------------------------------------------


def test_lesson_context_and_page() -> None:
    from symgd.render.fit_page import fit_lesson_context, render_fit_page

    example = demo("linear", rows=60)
    runs = compare_batches(
        example.loss, example.data, "w,b", mini_batch=8, epochs=15, lr=0.05, trace_angles=40
    )
    assert [r.batch_size for r in runs] == [60, 8, 1]
    context = fit_lesson_context(runs)
    for key in ("losses", "angles", "contour"):
        svg = str(context["figures"][key])
        assert svg.startswith("<svg") and "<dc:date>" not in svg
    ls = context["least_squares"]
    assert ls is not None and ls["symbolic_match"] is True and ls["gradient_gap"] < 1e-12
    assert [row["batch_size"] for row in context["runs"]] == [60, 8, 1]
    assert len(context["noise"]) >= 3
    again = fit_lesson_context(runs)
    assert str(again["figures"]["losses"]) == str(context["figures"]["losses"])
    page = render_fit_page(runs)
    assert page.startswith("<!DOCTYPE html>") and 'id="section-fit"' in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_lesson_context_three_parameters_has_no_contour() -> None:
    from symgd.render.fit_page import fit_lesson_context

    rng = np.random.default_rng(0)
    data = {"u": rng.normal(size=30), "v": rng.normal(size=30), "t": rng.normal(size=30)}
    result = fit("(t - (a*u + c*v + d))**2", data, "a,c,d", epochs=5)
    context = fit_lesson_context(result)
    assert context["figures"]["contour"] is None and context["figures"]["angles"] is None
    assert context["least_squares"]["numbers_latex"]


# -- whole epochs from batch means agree with the batch-by-batch loop -------------------------


def _careful_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from symgd.numeric import fit_runs

    monkeypatch.setattr(fit_runs, "fast_path", lambda model, optimizer: None)


@pytest.mark.parametrize(
    ("loss", "params", "batch", "lr"),
    [
        (LINEAR, "w,b", 8, 0.1),
        (LINEAR, "w,b", 1, 0.05),
        ("(y - (a*x**2 + w*x + b))**2", "a,w,b", 5, 0.02),
        ("3*(y - w*x)**2 + b**2*x**2", "w,b", 7, 0.02),
    ],
)
def test_fast_epochs_match_the_batch_by_batch_loop(
    monkeypatch: pytest.MonkeyPatch, loss: str, params: str, batch: int, lr: float
) -> None:
    data = line_data(11, rows=203)
    options: dict[str, Any] = {
        "batch_size": batch,
        "epochs": 4,
        "lr": lr,
        "seed": 5,
        "trace_angles": 30,
    }
    fast = fit(loss, data, params, **options)
    assert fast.fast_epochs == 4  # every epoch took the fast path
    _careful_only(monkeypatch)
    slow = fit(loss, data, params, **options)
    assert slow.fast_epochs == 0
    assert (fast.status, fast.steps, fast.epochs) == (slow.status, slow.steps, slow.epochs)
    gap = (
        np.linalg.norm(fast.path - slow.path, axis=1) / np.linalg.norm(slow.path[1:], axis=1).min()
    )
    assert gap.max() < 1e-12
    scale = float(np.mean(slow.batch_losses))
    np.testing.assert_allclose(fast.batch_losses, slow.batch_losses, rtol=1e-9, atol=1e-12 * scale)
    np.testing.assert_allclose(fast.loss_per_epoch, slow.loss_per_epoch, rtol=1e-12)
    assert len(fast.angles) == len(slow.angles) == 30
    np.testing.assert_allclose(fast.angles, slow.angles, atol=1e-6)


def test_fast_path_agrees_with_a_loop_written_here() -> None:
    data = line_data(4, rows=101)
    result = fit(LINEAR, data, "w,b", batch_size=10, epochs=3, lr=0.1, seed=9)
    assert result.fast_epochs == 3
    rng = np.random.default_rng(9)
    theta = np.zeros(2)
    for _ in range(3):
        order = rng.permutation(101)
        xs, ys = data["x"][order], data["y"][order]
        for lo in range(0, 101, 10):
            x, y = xs[lo : lo + 10], ys[lo : lo + 10]
            r = y - (theta[0] * x + theta[1])
            theta = theta - 0.1 * np.array([-2 * np.mean(x * r), -2 * np.mean(r)])
    np.testing.assert_allclose(result.final, theta, rtol=1e-12)


def test_a_run_that_blows_up_is_replayed_batch_by_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    data = line_data(2, rows=90)
    options: dict[str, Any] = {"batch_size": 3, "epochs": 5, "lr": 3.0, "seed": 1}
    fast = fit(LINEAR, data, "w,b", **options)
    assert fast.status is Status.DIVERGED and fast.fast_epochs == 0
    _careful_only(monkeypatch)
    slow = fit(LINEAR, data, "w,b", **options)
    assert (fast.reason, fast.diverged_at, fast.steps) == (
        slow.reason,
        slow.diverged_at,
        slow.steps,
    )
    np.testing.assert_array_equal(fast.path, slow.path)


def test_moment_form_of_the_gradient() -> None:
    from symgd.numeric.fit_runs import fast_path
    from symgd.numeric.optimizers import make_optimizer

    model = model_for(loss_problem(LINEAR, "w,b"))
    form = model.moments
    assert form is not None
    data = line_data(6, rows=50)
    x, y = data["x"], data["y"]
    means = form.batch_means([x, y], 16)
    assert means.shape == (4, form.count)
    thetas = np.array([[0.5, -1.0], [2.0, 0.25], [-3.0, 1.5], [1.0, 1.0]])
    got = form.gradients(means, thetas)
    for k, (w, b) in enumerate(thetas):
        xb, yb = x[16 * k : 16 * k + 16], y[16 * k : 16 * k + 16]
        r = yb - (w * xb + b)
        np.testing.assert_allclose(got[k], [-2 * np.mean(xb * r), -2 * np.mean(r)], rtol=1e-12)
    logistic = model_for(loss_problem(demo("logistic").loss, "w,b"))
    assert logistic.moments is None  # not a polynomial in w, b
    assert model_for(loss_problem("(y - sin(w)*x)**2", "w")).moments is None
    assert fast_path(model, make_optimizer("gd", 0.1)) is not None
    assert fast_path(model, make_optimizer("momentum", 0.1)) is None
    assert fast_path(model, make_optimizer("adam", 0.1)) is None
