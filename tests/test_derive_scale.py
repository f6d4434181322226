"""Derive at scale: the fast differentiation gives the very expressions ``sp.diff`` gives."""

from __future__ import annotations

import pytest
import sympy as sp

from symgd.calculus.derivation import derive
from symgd.calculus.differentiate import Differentiator, dense_matrix, jacobian_entries
from symgd.expr.activations import relu, sigmoid, softplus
from symgd.expr.parser import parse

x, y, z = sp.symbols("x y z", real=True)

EXPRESSIONS = [
    (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    x * y * z + x**2 / 3 - z,
    sp.sin(x) * sp.cos(y) + x**2 / 10,
    x * sp.exp(-(x**2) - y**2),
    sp.sqrt(x**2 + y**2 + 1),
    1 / (x * y + 1) ** sp.Rational(3, 2),
    (x - y) ** 2 * (x + y) ** -3,
    3 * x * (x + y) * (x - 2 * z) ** 2,
    -((x - y) ** 2),
    (2 * x + 2 * y) ** 2,
    x**x + 2**y * z,
    sp.Abs(x - y) * x,
    relu(x * y - 1) ** 2 + sigmoid(z * x) ** 3 + softplus(y),
    sp.log(x**2 + y**2 + 1) * sp.exp(-x * y),
]


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=[str(e) for e in EXPRESSIONS])
def test_the_differentiator_gives_sympys_expressions(expr: sp.Expr) -> None:
    d = Differentiator()
    for v in (x, y, z):
        first = d.diff(expr, v)
        assert first == sp.diff(expr, v)
        for u in (x, y, z):
            assert d.diff(first, u) == sp.diff(sp.diff(expr, v), u)


def _rosenbrock(n: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    xs = sp.symbols(f"x1:{n + 1}", real=True)
    return sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1)), xs


def _squares(n: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    xs = sp.symbols(f"x1:{n + 1}", real=True)
    return sum((i + 1) * xs[i] ** 2 for i in range(n)) + sp.sin(xs[0]) * xs[-1], xs


@pytest.mark.parametrize("n", [2, 7, 30])
@pytest.mark.parametrize("build", [_rosenbrock, _squares])
def test_derive_matches_sp_diff_and_sp_hessian(build: object, n: int) -> None:
    f, xs = build(n)  # type: ignore[operator]
    d = derive(f, analyse=False)
    assert d.variables == xs
    expected = tuple(sp.diff(f, v) for v in xs)
    assert d.gradient == expected  # the very expressions, not only equal in value
    hessian = sp.hessian(f, xs)
    assert d.hessian == hessian
    assert isinstance(d.hessian, sp.ImmutableMatrix)
    products = (g * s for g, s in zip(expected, d.differentials, strict=True))
    assert sp.expand(d.total_differential - sum(products)) == 0
    assert sp.expand(d.hessian[0, 0] - sp.diff(f, xs[0], 2)) == 0


def test_rosenbrock_hessian_beyond_the_old_cap_is_the_tridiagonal_one() -> None:
    n = 150
    f, xs = _rosenbrock(n)
    d = derive(parse(f), analyse=False)
    h = d.hessian
    for i in range(n):
        diagonal = (200 if i > 0 else 0) + (
            2 - 400 * (xs[i + 1] - 3 * xs[i] ** 2) if i < n - 1 else 0
        )
        assert sp.expand(h[i, i] - diagonal) == 0
        if i < n - 1:
            assert sp.expand(h[i, i + 1] + 400 * xs[i]) == 0
            assert sp.expand(h[i + 1, i] + 400 * xs[i]) == 0
    nonzero = sum(1 for i in range(n) for j in range(n) if h[i, j] != 0)
    assert nonzero == 3 * n - 2


def test_kinks_leave_the_hessian_and_say_so() -> None:
    d = derive("relu(x*y - 1)**2 + |x - y| + y**2", analyse=False)
    assert not d.hessian.has(sp.DiracDelta)
    assert any("Hessian is shown away from the kinks" in note for note in d.notes)
    reference = sp.hessian(d.expr, d.variables).replace(sp.DiracDelta, lambda *a: sp.S.Zero)
    assert d.hessian == reference
    smooth = derive("x**2 + y**2", analyse=False)
    assert not any("kinks" in note for note in smooth.notes)


def test_jacobian_entries_are_sparse_rows_and_the_matrix_is_dense_in_type() -> None:
    rows = jacobian_entries([x**2 + y, sp.sin(z)], (x, y, z))
    assert rows == [{0: 2 * x, 1: sp.S.One}, {2: sp.cos(z)}]
    matrix = dense_matrix(3, {(0, 0): 2 * x, (2, 1): sp.S(5)})
    assert matrix == sp.ImmutableMatrix([[2 * x, 0, 0], [0, 0, 0], [0, 5, 0]])
    assert isinstance(matrix, sp.ImmutableMatrix)


def test_a_sympy_expression_past_the_old_5000_parts_is_taken() -> None:
    f, xs = _rosenbrock(400)  # about 5,600 parts
    problem = parse(f)
    assert problem.expr == f
    assert problem.variables == xs
    assert len(problem.source) > 2000  # a program's expression is not held to text's length


def test_text_in_stored_order_reads_back_to_the_same_expression(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from symgd.expr import problem as problem_module

    f, _ = _rosenbrock(6)
    sorted_text = problem_module.to_text(f)
    monkeypatch.setattr(problem_module, "SORT_NODES", 0)
    for expr in [f, *EXPRESSIONS[:10]]:
        text = problem_module.to_text(expr)
        assert parse(text).expr == expr
    assert parse(problem_module.to_text(f)).expr == parse(sorted_text).expr
