"""The compile stage: batch functions, the fused scalar step and its printer."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import sympy as sp

from symgd.expr.activations import sigmoid, softplus
from symgd.expr.lambdify import lambdify_math, lambdify_numpy
from symgd.expr.parser import parse
from symgd.numeric.codegen import (
    build_scalar_stepper,
    compile_functions,
    compiled_for,
    default_unroll,
)
from symgd.numeric.optimizers import make_optimizer

x, y = sp.symbols("x y", real=True)
ROSENBROCK = (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(a: float, b: float) -> tuple[float, float]:
    return (-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a))


def test_batch_members_match_hand_derivatives() -> None:
    compiled = compile_functions(ROSENBROCK, (x, y))
    points = np.array([[-1.2, 1.0], [0.5, -0.3], [2.0, 3.0]])
    expected_grad = np.array([rosenbrock_grad(a, b) for a, b in points])
    np.testing.assert_allclose(compiled.gradient_at(points), expected_grad, rtol=1e-13)
    a, b = points.T
    np.testing.assert_allclose(
        compiled.value_at(points), (1 - a) ** 2 + 100 * (b - a**2) ** 2, rtol=1e-13
    )
    hess = compiled.hessian_at(points)
    expected_h = np.stack(
        [np.array([[2 - 400 * (q - 3 * p * p), -400 * p], [-400 * p, 200]]) for p, q in points]
    )
    np.testing.assert_allclose(hess, expected_h, rtol=1e-13)
    f, g0, g1 = compiled.value_grad_columns([a, b])
    np.testing.assert_allclose(np.stack([g0, g1], axis=1), expected_grad, rtol=1e-13)
    np.testing.assert_allclose(f, compiled.value_at(points), rtol=1e-15)


def test_constant_gradient_broadcasts() -> None:
    compiled = compile_functions(3 * x - y, (x, y))
    points = np.zeros((4, 2))
    np.testing.assert_array_equal(compiled.gradient_at(points), [[3.0, -1.0]] * 4)
    assert compiled.hessian_at(points).shape == (4, 2, 2)


def test_compiled_for_is_cached() -> None:
    problem = parse("x**2 + sin(y)")
    assert compiled_for(problem.expr, problem.variables) is compiled_for(
        problem.expr, problem.variables
    )


def test_activation_functions_in_both_families() -> None:
    z = sp.Symbol("z", real=True)
    expr = sigmoid(z) + softplus(z)
    scalar = lambdify_math([z], expr)
    vector = lambdify_numpy([z], expr)
    for value in (-800.0, -2.0, 0.0, 3.5, 800.0):
        sig = 1 / (1 + math.exp(-value)) if value > -700 else 0.0
        soft = max(value, 0.0) + math.log1p(math.exp(-abs(value)))
        assert scalar(value) == pytest.approx(sig + soft, rel=1e-15)
        assert float(vector(np.array([value]))[0]) == pytest.approx(sig + soft, rel=1e-15)


def _bound(method: str, unroll: int, expr: sp.Expr = ROSENBROCK, lr: float = 1e-3, **hyper: float):  # type: ignore[no-untyped-def]
    opt = make_optimizer(method, lr, **hyper)
    assert opt.rule is not None
    constants = opt.constants()
    grad = [sp.diff(expr, v) for v in (x, y)]
    stepper = build_scalar_stepper(
        (x, y), grad, opt.rule, tuple(constants), constants, unroll=unroll
    )
    return stepper, *stepper.bind(constants)


def test_fused_step_is_gradient_descent() -> None:
    stepper, _fused, single = _bound("gd", 1)
    assert stepper.unroll == 1
    out = single(-1.2, 1.0, 0.0)
    g = rosenbrock_grad(-1.2, 1.0)
    assert out[:2] == pytest.approx((-1.2 - 1e-3 * g[0], 1.0 - 1e-3 * g[1]), rel=1e-15)
    assert out[2] == 1.0  # the step counter
    assert out[3] == pytest.approx(g[0] ** 2 + g[1] ** 2, rel=1e-14)


@pytest.mark.parametrize("method", ["gd", "nesterov", "adagrad", "rmsprop", "adam"])
def test_unrolled_steps_equal_single_steps(method: str) -> None:
    stepper, fused, single = _bound(method, 5, lr=1e-3 if method != "adam" else 0.05)
    n, buffers = 2, stepper.buffers
    state = (-1.2, 1.0, *([0.0] * (n * buffers)), 0.0)
    out = fused(*state)
    points = [out[2 * j : 2 * j + 2] for j in range(5)]
    vals = state
    for j in range(5):
        step = single(*vals)
        np.testing.assert_allclose(step[:2], points[j], rtol=1e-15)
        vals = step[:-1]
    np.testing.assert_allclose(out[10:-1], vals[2:], rtol=1e-15)


FOLD_CASES = [
    ROSENBROCK,
    x**3 - 3 * x * y + 2 * y**2 + 5 * x,
    sp.exp(x / 3) + x * y / 2 - sp.Rational(7, 4) * y + 3 * x**2,
    sigmoid(2 * x - y) + y**2 / 8,
]


@pytest.mark.parametrize("expr", FOLD_CASES)
@pytest.mark.parametrize(("method", "sign"), [("gd", -1.0), ("ascent", 1.0)])
def test_folded_unrolled_steps_follow_the_written_update(
    expr: sp.Expr, method: str, sign: float
) -> None:
    # the unrolled step multiplies η into the gradient's coefficients; eight calls (64 steps)
    # must still follow x ← x ∓ η ∇f(x), evaluated here independently of the generated code
    lr = 1e-3 if method == "gd" else 1e-5  # slow enough that ascent stays finite
    _stepper, fused, _single = _bound(method, 8, expr=expr, lr=lr)
    gradient = [
        sp.lambdify((x, y), sp.diff(expr, v), modules=[{"sigmoid": _sigmoid}, "math"])
        for v in (x, y)
    ]
    a, b = 0.7, -0.4
    vals: tuple[float, ...] = (a, b, 0.0)
    for _ in range(8):
        out = fused(*vals)
        for j in range(8):
            ga, gb = gradient[0](a, b), gradient[1](a, b)
            a, b = a + sign * lr * ga, b + sign * lr * gb
            assert out[2 * j : 2 * j + 2] == pytest.approx((a, b), rel=1e-12, abs=1e-15)
        a, b = out[14], out[15]
        vals = out[14:-1]
    assert vals[-1] == 64.0


@pytest.mark.parametrize("method", ["gd", "momentum", "adam"])
def test_step_loop_repeats_the_fused_step_and_raises_the_alarm(method: str) -> None:
    stepper, fused, _single = _bound(method, 4, lr=1e-3)
    loop = stepper.bind_loop(make_optimizer(method, 1e-3).constants())
    state = (-1.2, 1.0, *([0.0] * (2 * stepper.buffers)), 0.0)
    kept: list[tuple[float, ...]] = []
    assert loop(*state, 5, kept.append, 0.0, math.inf) is False
    vals = state
    for out in kept:  # each call of the loop equals a call of the fused step
        assert out == fused(*vals)
        vals = out[6:-1]
    assert len(kept) == 5
    # |∇f|² above `hi` after the first call: stop there and say so
    alarmed: list[tuple[float, ...]] = []
    assert loop(*state, 5, alarmed.append, 0.0, 1.0) is True
    assert alarmed == kept[:1]


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_rebinding_changes_only_the_constants() -> None:
    stepper, fused, _ = _bound("gd", 2)
    slow, _ = stepper.bind({"lr": 1e-4})
    a = fused(1.0, 1.0, 0.0)
    b = slow(1.0, 1.0, 0.0)
    g = rosenbrock_grad(1.0, 1.0)  # zero at the minimum: both stay put
    assert g == (0.0, 0.0) and a[:4] == b[:4] == (1.0, 1.0, 1.0, 1.0)
    c = fused(0.0, 0.0, 0.0)[0]
    d = slow(0.0, 0.0, 0.0)[0]
    assert c == pytest.approx(2e-3) and d == pytest.approx(2e-4)


def test_printer_writes_products_and_floats() -> None:
    stepper, _, _ = _bound("gd", 1)
    source = inspect.getsource(stepper.single)
    assert "**2" not in source and "x0*_x0" in source
    assert "400.0" in source
    assert "-_c_lr" in source


def test_variable_named_like_a_module_is_safe() -> None:
    math_var = sp.Symbol("math", real=True)
    opt = make_optimizer("gd", 0.1)
    assert opt.rule is not None
    c = opt.constants()
    stepper = build_scalar_stepper((math_var,), [sp.cos(math_var)], opt.rule, tuple(c), c)
    _, single = stepper.bind(c)
    assert single(1.0, 0.0)[0] == pytest.approx(1.0 - 0.1 * math.cos(1.0), rel=1e-15)


def test_default_unroll_shrinks_with_dimension() -> None:
    assert default_unroll(1) == 8 and default_unroll(2) == 8
    assert default_unroll(100) == 1
    assert all(default_unroll(n) >= default_unroll(n + 1) for n in range(1, 40))


def test_gradient_of_many_variables_matches_sp_diff() -> None:
    from symgd.calculus.differentiate import gradient_of, hessian_of

    xs = sp.symbols("x1:16", real=True)
    f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(14))
    f += sp.Rational(1, 3) * xs[0] * xs[14] + sp.pi * xs[3] ** 2
    grad = gradient_of(f, xs)
    for g, v in zip(grad, xs, strict=True):
        assert sp.expand(g - sp.diff(f, v)) == 0
    hess = hessian_of(grad, xs)
    assert sp.expand(hess - sp.hessian(f, xs)) == sp.zeros(15, 15)
    with_sin = f + sp.sin(xs[2])
    assert sp.simplify(gradient_of(with_sin, xs)[2] - sp.diff(with_sin, xs[2])) == 0


def _rosenbrock_n(n: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    xs = sp.symbols(f"x1:{n + 1}", real=True)
    return sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1)), xs


def test_large_compile_matches_independent_formulas() -> None:
    """Above the size where only repeated subtrees are shared and sums print in stored order,
    f, ∇f and the (sparse) Hessian still agree with formulas written out here."""
    from symgd.calculus.derivation import derive
    from symgd.expr.subexpressions import LARGE_NODES, node_count

    n = 120
    f, xs = _rosenbrock_n(n)
    d = derive(f, analyse=False)
    assert node_count((f, *d.gradient), LARGE_NODES) > LARGE_NODES  # the large path is taken
    compiled = compile_functions(f, xs, d.gradient, d.hessian)
    points = np.random.default_rng(3).uniform(-2, 2, size=(5, n))
    a, b = points[:, :-1], points[:, 1:]
    value = np.sum(100 * (b - a * a) ** 2 + (1 - a) ** 2, axis=1)
    grad = np.zeros_like(points)
    grad[:, :-1] += -400 * a * (b - a * a) - 2 * (1 - a)
    grad[:, 1:] += 200 * (b - a * a)
    hess = np.zeros((5, n, n))
    idx = np.arange(n - 1)
    hess[:, idx, idx] += 1200 * a * a - 400 * b + 2
    hess[:, idx + 1, idx + 1] += 200
    hess[:, idx, idx + 1] = -400 * a
    hess[:, idx + 1, idx] = -400 * a
    np.testing.assert_allclose(compiled.value_at(points), value, rtol=1e-12)
    np.testing.assert_allclose(compiled.gradient_at(points), grad, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(compiled.hessian_at(points), hess, rtol=1e-12, atol=1e-9)
    nested = compiled.hess_batch(*points.T)  # the n × n tuple form agrees with the array form
    assert len(nested) == n and all(len(row) == n for row in nested)
    assert np.broadcast_to(nested[0][0], (5,)) == pytest.approx(hess[:, 0, 0], rel=1e-12)
    assert nested[0][2] == 0.0 and nested[n - 1][n - 1] == 200.0


def test_hessian_function_sets_constants_and_varying_entries() -> None:
    from symgd.expr.batch import hessian_function

    matrix = sp.ImmutableMatrix([[2 * x * y, 3], [0, sp.sin(y)]])
    evaluate = hessian_function((x, y), matrix)
    points = np.array([[1.0, 2.0], [-0.5, 0.25]])
    expected = np.stack([[[2 * p * q, 3.0], [0.0, math.sin(q)]] for p, q in points])
    np.testing.assert_allclose(evaluate(points), expected, rtol=1e-15)


def test_repeated_subtrees_rebuild_the_expressions() -> None:
    from symgd.expr.subexpressions import repeated_subtrees, subexpressions_for

    f, xs = _rosenbrock_n(12)
    exprs = [f, *(sp.diff(f, v) for v in xs)]
    pairs, reduced = repeated_subtrees(exprs)
    assert pairs  # (x_{i+1} - x_i²) is shared by f and two gradient entries
    back = list(reduced)
    for name, value in reversed(pairs):
        back = [e.xreplace({name: value}) for e in back]
    assert all(sp.expand(u - v) == 0 for u, v in zip(back, exprs, strict=True))
    small_pairs, small = subexpressions_for((x**2 + y, sp.sin(x**2 + y)))
    assert isinstance(small, tuple) and len(small) == 2
    assert sp.simplify(small[1].xreplace(dict(small_pairs)) - sp.sin(x**2 + y)) == 0
