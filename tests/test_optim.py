"""Optimizers: each rule against its written formula, step by step, and against torch.optim."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest

from symgd.base.errors import InputError
from symgd.numeric.optimizers import (
    ALIASES,
    DEFAULTS,
    METHODS,
    OPTIMIZERS,
    RULES_LATEX,
    make_optimizer,
    optimizer_spec,
)
from symgd.numeric.runner import descend

Vector = list[float]

# -- targets with hand-written gradients ------------------------------------------------------

TARGETS: dict[str, tuple[Callable[[Vector], Vector], Vector]] = {
    "x**2": (lambda p: [2 * p[0]], [1.5]),
    "x**2/2": (lambda p: [p[0]], [-2.0]),
    "(1-x)**2+100*(y-x**2)**2": (
        lambda p: [-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)],
        [-1.2, 1.0],
    ),
}


# -- the update rules as the PyTorch documentation writes them, on plain floats ---------------


def written(
    method: str, grad: Callable[[Vector], Vector], x0: Vector, steps: int, lr: float, **h: float
) -> list[Vector]:
    """Iterates of ``method`` computed coordinate by coordinate from the documented formulas."""
    x = list(x0)
    n = len(x)
    b = [0.0] * n  # momentum buffer / sum / square average / first moment
    s = [0.0] * n  # second moment / rmsprop momentum buffer
    if method == "adagrad":
        b = [h.get("initial_accumulator_value", 0.0)] * n
    path = [list(x)]
    for t in range(1, steps + 1):
        g = grad(x)
        for i in range(n):
            if method == "gd":
                x[i] = x[i] - lr * g[i]
            elif method == "ascent":
                x[i] = x[i] + lr * g[i]
            elif method in ("momentum", "nesterov"):
                mu = h.get("momentum", 0.9)
                b[i] = g[i] if t == 1 else mu * b[i] + g[i]
                d = g[i] + mu * b[i] if method == "nesterov" else b[i]
                x[i] = x[i] - lr * d
            elif method == "adagrad":
                eps, decay = h.get("eps", 1e-10), h.get("lr_decay", 0.0)
                clr = lr / (1 + (t - 1) * decay)
                b[i] = b[i] + g[i] * g[i]
                x[i] = x[i] - clr * (g[i] / (math.sqrt(b[i]) + eps))
            elif method == "rmsprop":
                alpha, eps, mu = h.get("alpha", 0.99), h.get("eps", 1e-8), h.get("momentum", 0.0)
                b[i] = alpha * b[i] + (1 - alpha) * g[i] * g[i]
                avg = math.sqrt(b[i]) + eps
                if mu > 0:
                    s[i] = mu * s[i] + g[i] / avg
                    x[i] = x[i] - lr * s[i]
                else:
                    x[i] = x[i] - lr * (g[i] / avg)
            elif method == "adam":
                b1, b2, eps = h.get("beta1", 0.9), h.get("beta2", 0.999), h.get("eps", 1e-8)
                b[i] = b1 * b[i] + (1 - b1) * g[i]
                s[i] = b2 * s[i] + (1 - b2) * g[i] * g[i]
                m_hat = b[i] / (1 - b1**t)
                v_hat = s[i] / (1 - b2**t)
                x[i] = x[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
            else:
                raise AssertionError(method)
        path.append(list(x))
    return path


CASES: list[tuple[str, float, dict[str, float]]] = [
    ("gd", 0.1, {}),
    ("ascent", 0.01, {}),
    ("momentum", 0.05, {}),
    ("momentum", 0.02, {"momentum": 0.5}),
    ("nesterov", 0.05, {}),
    ("nesterov", 0.01, {"momentum": 0.7}),
    ("adagrad", 0.3, {}),
    ("adagrad", 0.2, {"lr_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("rmsprop", 0.01, {}),
    ("rmsprop", 0.01, {"alpha": 0.9, "eps": 1e-6, "momentum": 0.5}),
    ("adam", 0.1, {}),
    ("adam", 0.05, {"beta1": 0.3, "beta2": 0.9, "eps": 1e-4}),
]


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize(("method", "lr", "hyper"), CASES)
@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_each_step_matches_the_written_formula(
    target: str, method: str, lr: float, hyper: dict[str, float], backend: str
) -> None:
    grad, x0 = TARGETS[target]
    lr = lr / 100 if target.startswith("(1-x)") and method not in ("adam", "rmsprop") else lr
    run = descend(target, x0, method=method, lr=lr, steps=8, tol=0.0, backend=backend, **hyper)
    expected = np.array(written(method, grad, x0, 8, lr, **hyper))
    assert run.steps == 8
    np.testing.assert_allclose(run.xs, expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "newton"])
def test_init_and_update_are_pure(method: str) -> None:
    opt = make_optimizer(method, 0.1)
    x = np.array([1.0, -2.0])
    state = opt.init(x)
    g = np.array([0.3, -0.4])
    first = opt.update(g, state, x)
    second = opt.update(g, state, x)
    np.testing.assert_array_equal(first[0], second[0])
    assert state.step == 0
    assert all(np.array_equal(b, np.full_like(x, b.flat[0])) for b in state.buffers)


def test_update_works_on_a_batch_row_by_row() -> None:
    opt = make_optimizer("adam", 0.05)
    xs = np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, 0.0]])
    gs = np.array([[0.5, -1.0], [2.0, 0.1], [0.0, 3.0]])
    batch_step, _ = opt.update(gs, opt.init(xs), xs)
    for row in range(3):
        row_step, _ = opt.update(gs[row], opt.init(xs[row]), xs[row])
        np.testing.assert_allclose(batch_step[row], row_step, rtol=0, atol=0)


def test_newton_is_exact_in_one_step_on_a_quadratic() -> None:
    # f = 3x² + 2xy + 2y² - 4x + y: minimum where H z = (4, -1)
    run = descend("3*x**2 + 2*x*y + 2*y**2 - 4*x + y", [5.0, -7.0], method="newton")
    h = np.array([[6.0, 2.0], [2.0, 4.0]])
    expected = np.linalg.solve(h, [4.0, -1.0])
    np.testing.assert_allclose(run.xs[1], expected, rtol=1e-14)
    assert run.status.value == "converged"
    assert run.steps == 1


def test_newton_with_a_learning_rate_takes_a_fraction_of_the_step() -> None:
    run = descend("x**2", [4.0], method="newton", lr=0.25, steps=3, tol=0.0)
    np.testing.assert_allclose(run.xs[:, 0], [4.0, 3.0, 2.25, 1.6875], rtol=1e-15)


def test_newton_reports_a_singular_hessian_instead_of_failing() -> None:
    run = descend("x**2 + y", [1.0, 1.0], method="newton")
    assert run.status.value == "singular"
    assert run.steps == 0
    assert "singular" in run.message
    batch = descend("x**4 + y**2", [[1.0, 1.0], [0.0, 1.0]], method="newton", steps=5)
    assert [s.value for s in batch.row_status()] == ["max_steps", "singular"]


def test_every_method_has_latex_a_label_and_defaults() -> None:
    for method in METHODS:
        opt = make_optimizer(method)
        assert opt.rule_latex == RULES_LATEX[method] and "x_{k+1}" in opt.rule_latex
        assert opt.label
        assert opt.hyperparameters == DEFAULTS[method]
    assert make_optimizer("newton").lr == 1.0
    assert make_optimizer("adam").hyperparameters == {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


@pytest.mark.parametrize(
    ("method", "lr", "hyper", "words"),
    [
        ("sgd2", 0.1, {}, "unknown method"),
        ("gd", -0.1, {}, "ascent"),
        ("gd", 0.0, {}, "positive"),
        ("gd", float("nan"), {}, "finite"),
        ("gd", 0.1, {"momentum": 0.9}, "--method momentum"),
        ("adam", 0.1, {"beta1": 1.0}, "beta1"),
        ("adam", 0.1, {"beta3": 0.5}, "beta3"),
        ("rmsprop", 0.1, {"alpha": -1.0}, "alpha"),
        ("nesterov", 0.1, {"momentum": 0.0}, "momentum > 0"),
    ],
)
def test_bad_settings_are_input_errors(
    method: str, lr: float, hyper: dict[str, float], words: str
) -> None:
    with pytest.raises(InputError, match=words):
        make_optimizer(method, lr, **hyper)


# -- the registry: one spec per optimizer ----------------------------------------------------


def test_the_registry_is_the_one_list_of_optimizers() -> None:
    assert tuple(OPTIMIZERS) == METHODS
    colours = [spec.colour for spec in OPTIMIZERS.values()]
    assert len(set(colours)) == len(colours)
    for name, spec in OPTIMIZERS.items():
        assert spec.name == name and optimizer_spec(name.upper()) is spec
        assert all(optimizer_spec(alias) is spec for alias in spec.aliases)
        assert spec.label and spec.short_rule and "x_{k+1}" in spec.rule_latex
        assert re.fullmatch(r"#[0-9A-F]{6}", spec.colour)
        assert spec.description.endswith(".") and "\n" not in spec.description
        assert len(spec.description) <= 90
        opt = make_optimizer(name)
        assert (opt.spec, opt.label, opt.rule_latex) == (spec, spec.label, spec.rule_latex)
        assert opt.lr == spec.default_lr and opt.needs_hessian == spec.needs_hessian
        assert list(opt.hyperparameters) == [h.name for h in spec.hyperparameters]
    assert set(ALIASES.values()) == set(OPTIMIZERS)


def test_a_hyperparameter_means_the_same_in_every_optimizer() -> None:
    seen: dict[str, tuple[object, ...]] = {}
    for spec in OPTIMIZERS.values():
        for h in spec.hyperparameters:
            shown = (h.symbol, h.meaning, h.allowed, h.metavar, h.common)
            assert seen.setdefault(h.name, shown) == shown, h.name
            assert h.allowed.test(h.default), (spec.name, h.name)


@pytest.mark.parametrize("method", [m for m in METHODS if OPTIMIZERS[m].hyperparameters])
def test_the_spec_ranges_are_what_make_optimizer_checks(method: str) -> None:
    for h in OPTIMIZERS[method].hyperparameters:
        outside = next(v for v in (-1.0, 1.0, 2.0) if not h.allowed.test(v))
        with pytest.raises(InputError, match=re.escape(f"{h.name} must be {h.allowed.words}")):
            make_optimizer(method, 0.1, **{h.name: outside})


def test_the_registry_loads_without_numpy() -> None:
    code = (
        "import sys; import symgd.numeric.optimizers as o; "
        "print(len(o.OPTIMIZERS), 'numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == [str(len(OPTIMIZERS)), "False"]


# -- against real torch.optim -----------------------------------------------------------------

TORCH_CASES: list[tuple[str, dict[str, float], str, dict[str, object]]] = [
    ("gd", {"lr": 0.01}, "SGD", {"lr": 0.01}),
    ("ascent", {"lr": 0.01}, "SGD", {"lr": 0.01, "maximize": True}),
    ("momentum", {"lr": 0.01, "momentum": 0.9}, "SGD", {"lr": 0.01, "momentum": 0.9}),
    (
        "nesterov",
        {"lr": 0.01, "momentum": 0.6},
        "SGD",
        {"lr": 0.01, "momentum": 0.6, "nesterov": True},
    ),
    ("adagrad", {"lr": 0.1}, "Adagrad", {"lr": 0.1}),
    (
        "adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.5},
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.5},
    ),
    ("rmsprop", {"lr": 0.01}, "RMSprop", {"lr": 0.01}),
    (
        "rmsprop",
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.8},
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "momentum": 0.8},
    ),
    ("adam", {"lr": 0.01}, "Adam", {"lr": 0.01}),
    (
        "adam",
        {"lr": 0.02, "beta1": 0.3, "beta2": 0.9, "eps": 1e-4},
        "Adam",
        {"lr": 0.02, "betas": (0.3, 0.9), "eps": 1e-4},
    ),
]

TORCH_TARGETS = {
    "(1-x)**2+100*(y-x**2)**2": (
        lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2,
        [-1.2, 1.0],
    ),
    "sin(x)*cos(y) + x**2/10": (lambda p: p[0].sin() * p[1].cos() + p[0] ** 2 / 10, [1.0, 0.5]),
    "exp(x/2) + x*y + y**2": (lambda p: (p[0] / 2).exp() + p[0] * p[1] + p[1] ** 2, [0.3, -0.8]),
}


@pytest.mark.parametrize("target", list(TORCH_TARGETS))
@pytest.mark.parametrize(("method", "ours", "name", "theirs"), TORCH_CASES)
def test_matches_torch_optim(
    target: str, method: str, ours: dict[str, float], name: str, theirs: dict[str, object]
) -> None:
    torch = pytest.importorskip("torch")
    loss, x0 = TORCH_TARGETS[target]
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, name)([p], **theirs)
    path = [p.detach().numpy().copy()]
    steps = 30
    for _ in range(steps):
        opt.zero_grad()
        loss(p).backward()
        opt.step()
        path.append(p.detach().numpy().copy())
    hyper = {k: v for k, v in ours.items() if k != "lr"}
    run = descend(target, x0, method=method, lr=ours["lr"], steps=steps, tol=0.0, **hyper)
    if target.startswith("(1-x)") and method in ("gd", "ascent", "momentum", "nesterov"):
        # these blow up on Rosenbrock at this rate; compare up to where symgd stopped
        assert run.status.value in ("diverged", "max_steps")
    expected = np.array(path)[: run.steps + 1]
    np.testing.assert_allclose(run.xs, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_first_step_is_sign_is_what_the_rule_does(name: str) -> None:
    """The flag the lesson reads ('its first step is ±η per coordinate') matches one real step
    on gradients of very different sizes."""
    spec = OPTIMIZERS[name]
    if spec.needs_hessian:
        assert not spec.first_step_is_sign
        return
    run = descend("1000*x**2 + y**2/1000", [3.0, -2.0], method=name, lr=0.01, steps=1, tol=0.0)
    moved = np.abs(np.asarray(run.xs[1]) - np.asarray(run.xs[0]))
    assert bool(np.allclose(moved, 0.01, rtol=1e-4)) == spec.first_step_is_sign
    assert spec.family in ("plain", "momentum", "adaptive", "second-order")
