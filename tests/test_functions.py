"""The activation functions: derivatives, LaTeX and numeric agreement."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from symgd.expr.activations import leaky_relu, relu, sigmoid, softplus, to_elementary

z = sp.Symbol("z", real=True)


@pytest.mark.parametrize("f", [sigmoid(z), softplus(z), sigmoid(3 * z) ** 2, softplus(z**2)])
def test_smooth_derivatives_agree_with_the_elementary_forms(f: sp.Expr) -> None:
    derivative = sp.diff(f, z)
    elementary = sp.diff(to_elementary(f), z)
    for value in (-2.5, -0.3, 0.0, 0.7, 3.0):
        assert math.isclose(
            float(to_elementary(derivative).subs(z, value)),
            float(elementary.subs(z, value)),
            rel_tol=1e-12,
            abs_tol=1e-15,
        )


def test_relu_and_leaky_relu_slopes() -> None:
    assert sp.diff(relu(z), z).subs(z, 2) == 1
    assert sp.diff(relu(z), z).subs(z, -2) == 0
    assert sp.diff(leaky_relu(z), z).subs(z, 2) == 1
    assert sp.diff(leaky_relu(z), z).subs(z, -2) == sp.Rational(1, 100)
    assert sp.diff(leaky_relu(z, sp.Rational(1, 5)), z).subs(z, -1) == sp.Rational(1, 5)


@pytest.mark.parametrize(
    ("expr", "latex"),
    [
        (sigmoid(z) ** 2, r"\sigma\left(z\right)^{2}"),
        (relu(z) ** 3, r"\operatorname{ReLU}\left(z\right)^{3}"),
        (softplus(z) ** 2, r"\operatorname{softplus}\left(z\right)^{2}"),
        (sigmoid(z), r"\sigma\left(z\right)"),
    ],
)
def test_powers_of_activations_print_as_latex(expr: sp.Expr, latex: str) -> None:
    assert sp.latex(expr) == latex
