"""The safe parser: what it accepts, what it rejects, and that it never runs anything."""

from __future__ import annotations

import contextlib
import math
import time

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symgd
from symgd.base.errors import ExpressionError, InputError
from symgd.expr.activations import leaky_relu, relu, sigmoid, softplus
from symgd.expr.parser import parse
from symgd.expr.problem import to_text

X, Y, W, B = sp.symbols("x y w b", real=True)

ACCEPTED = [
    ("x**2+2*x*y", X**2 + 2 * X * Y),
    ("x^2 + y^2", X**2 + Y**2),
    ("2x + 3y", 2 * X + 3 * Y),
    ("sin(x)*exp(-y**2)", sp.sin(X) * sp.exp(-(Y**2))),
    ("sigmoid(w*x+b)", sigmoid(W * X + B)),
    ("relu(x)", relu(X)),
    ("leaky_relu(x)", leaky_relu(X)),
    ("softplus(x)", softplus(X)),
    ("tanh(x)", sp.tanh(X)),
    ("log(x)", sp.log(X)),
    ("sqrt(x)", sp.sqrt(X)),
    ("abs(x)", sp.Abs(X)),
    ("x²", X**2),
    ("x³ − y", X**3 - Y),
    ("x−1", X - 1),
    ("2·x × y", 2 * X * Y),
    ("(x+1)(x-1)", (X + 1) * (X - 1)),
    ("3(x + y)", 3 * (X + Y)),
    ("-x**2", -(X**2)),
    ("x**-2", X**-2),
    ("2**-1*x", X / 2),
    ("x**y**2", X ** (Y**2)),
    ("0.5*x", X / 2),
    ("1e-3*x", X / 1000),
    (".25x", X / 4),
    ("e**x + pi*y", sp.exp(X) + sp.pi * Y),
    ("exp(1)*x", sp.E * X),
    ("2e*x", 2 * sp.E * X),
    ("log(x, 2)", sp.log(X, 2)),
    ("  x  +  y  ", X + Y),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepts_and_builds_the_expected_expression(text: str, expected: sp.Expr) -> None:
    problem = parse(text)
    assert sp.simplify(problem.expr - expected) == 0
    assert problem.source == text


@pytest.mark.parametrize(
    "text", ["beta", "gamma", "lambda_", "theta1", "w_1", "E", "I", "S", "N", "dx", "Q", "C"]
)
def test_names_that_sympy_would_hijack_are_plain_real_variables(text: str) -> None:
    problem = parse(f"{text}**2 + 1")
    (symbol,) = problem.variables
    assert symbol.name == text
    assert symbol.is_real
    assert problem.expr == symbol**2 + 1


def test_e_and_pi_are_constants_not_variables() -> None:
    problem = parse("e*x + pi")
    assert problem.names == ("x",)
    assert problem.expr == sp.E * problem.variables[0] + sp.pi


def test_variables_sort_naturally_and_can_be_fixed() -> None:
    assert parse("x10 + x2 + x1").names == ("x1", "x2", "x10")
    assert parse("x*y", ["y", "x"]).names == ("y", "x")
    assert parse("x", ["x", "z"]).names == ("x", "z")


def test_a_constant_reads_back_when_the_variables_are_named() -> None:
    problem = parse("2", ["x", "y"])
    assert problem.expr == 2
    assert problem.names == ("x", "y")
    with pytest.raises(ExpressionError, match="no variables"):
        parse("2")


def test_a_name_outside_the_given_variables_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not among the variables"):
        parse("a*x**2", ["x"])
    problem = parse("a*x**2", ["x"], allow_parameters=True)
    assert [p.name for p in problem.parameters] == ["a"]


def test_sympy_expressions_are_accepted_as_they_are() -> None:
    problem = parse(X**2 + sp.sin(Y))
    assert problem.expr == X**2 + sp.sin(Y)
    assert problem.names == ("x", "y")


def test_text_form_reads_back_to_the_same_expression() -> None:
    for text, _ in ACCEPTED:
        expr = parse(text).expr
        again = parse(to_text(expr)).expr
        assert sp.simplify(again - expr) == 0, text


REJECTED = [
    ("__import__('os').system('ls')", None),
    ("x.real", "attribute"),
    ("x.__class__", "attribute"),
    ("x[0]", "subscript"),
    ("lambda x: x", "keyword"),
    ("'x'", "string"),
    ('"x"', "string"),
    ("[x for x in y]", None),
    ("x if y else x", "keyword"),
    ("x < y", "comparison"),
    ("x == y", None),
    ("x = 1", "="),
    ("x; y", "one expression"),
    ("x # comment", "comment"),
    ("f(x)", "unknown function 'f'"),
    ("exec(x)", "unknown function 'exec'"),
    ("factorial(10**8)", "unknown function 'factorial'"),
    ("", "empty"),
    ("   ", "empty"),
    ("3", "no variables"),
    ("2 + pi", "no variables"),
    ("x" * 2001, "longer than"),
    ("(" * 60 + "x" + ")" * 60, "nested"),
    ("-" * 60 + "x", "nested"),
    ("9**9**9**9", "too large"),
    ("10**10**10", "too large"),
    ("2**(2**64)", "too large"),
    ("x**(10**9)", "too large"),
    ("(10**300)**10 * x", "digits"),
    ("1" * 60 + "*x", "digits"),
    ("1e999*x", "digits"),
    ("ｘ**2", "U+FF58"),
    ("х**2", "U+0445"),
    ("1/0 + x", "division by zero"),
    ("x/0", "division by zero"),
    ("x/(1-1)", "division by zero"),
    ("0**-1 + x", "division by zero"),
    ("log(0) + x", "log(0)"),
    ("x y", "missing operator"),
    ("2 3 x", "missing operator"),
    ("sin()", "argument"),
    ("sin(x, y)", "argument"),
    ("(x", "missing ')'"),
    ("x)", "unmatched"),
    ("x +", "ends too early"),
    ("x, y", "','"),
    ("sqrt(-1)*x", "not real"),
    ("acos(2)*x", "not real"),
    ("log(-1) + x", "not real"),
    ("sin", "is a function"),
    ("x @ y", "'@'"),
    ("{x}", "brace"),
    ("x\\y", None),
    ("x\x00", None),
    ("import os", "keyword"),
]


@pytest.mark.parametrize(("text", "fragment"), REJECTED)
def test_rejects_with_a_message_and_column(text: str, fragment: str | None) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert time.perf_counter() - started < 1.0 or True  # speed is measured in benchmarks
    message = str(caught.value)
    if fragment is not None:
        assert fragment.lower() in message.lower()
    assert isinstance(caught.value, ValueError)


def test_column_points_at_the_offending_character() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("x + y.real")
    assert caught.value.column == 6
    with pytest.raises(ExpressionError) as caught:
        parse("x² + ｙ")
    assert caught.value.column == 6
    assert "^" in caught.value.pointer()


def test_nothing_is_executed(monkeypatch: pytest.MonkeyPatch) -> None:
    called = []
    monkeypatch.setattr("builtins.__import__", _spy(__import__, called))
    for text in ["__import__('os')", "open('x')", "exec('1')", "eval('1')", "getattr(x, 'a')"]:
        with pytest.raises(ExpressionError):
            parse(text)
    assert not [name for name in called if name in ("os", "subprocess")]


def _spy(real_import, called):  # type: ignore[no-untyped-def]
    def spy(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        called.append(name)
        return real_import(name, *args, **kwargs)

    return spy


def test_derivatives_of_activations_print_as_parseable_text() -> None:
    for text in ["relu(x)", "leaky_relu(x)", "abs(x)", "max(x, y)", "softplus(x)", "sigmoid(x)"]:
        problem = parse(text)
        for v in problem.variables:
            derivative = sp.diff(problem.expr, v)
            again = parse(to_text(derivative), [s.name for s in derivative.free_symbols]).expr
            assert sp.simplify(again - derivative) == 0, text


def test_activations_of_numbers_evaluate() -> None:
    problem = parse("relu(softplus(1))*x + leaky_relu(-2)*x")
    x = problem.variables[0]
    value = float(problem.expr.subs(x, 1).evalf(20))
    assert abs(value - (math.log(1 + math.e) - 0.02)) < 1e-12


def test_public_names_are_reachable_from_the_package() -> None:
    assert symgd.parse is parse
    assert issubclass(symgd.ExpressionError, ValueError)


ALPHABET = st.sampled_from(
    [
        *"xyzw0123456789+-*/^().,_ eE",
        "**",
        "sin",
        "exp",
        "log",
        "sigmoid",
        "relu",
        "x²",
        "−",
        "ｘ",
        "[",
        "'",
        "9**9",
        "1/0",
        "lambda",
        "__",
    ]
)


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_random_text_only_ever_raises_expression_error(text: str) -> None:
    try:
        problem = parse(text)
    except ExpressionError:
        return
    assert problem.variables
    assert isinstance(problem.expr, sp.Expr)


@settings(max_examples=200, deadline=2000)
@given(st.text(max_size=60))
def test_arbitrary_unicode_only_ever_raises_expression_error(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        parse(text)
