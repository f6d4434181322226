"""What learners type, and input that used to end in a crash: bars, function powers, the wider
function list, steps that jump, numbers too large to evaluate, SymPy objects from programs,
constants after simplification and --vars naming an absent variable."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

import symgd
from symgd.base.errors import ExpressionError, InputError
from symgd.calculus.derivation import derive
from symgd.calculus.differentiate import nonsmooth_notes, partial_derivatives
from symgd.calculus.rules import derivative_steps
from symgd.cli import cli
from symgd.expr.activations import ceiling, floor, relu
from symgd.expr.lambdify import lambdify_math
from symgd.expr.parser import parse
from symgd.expr.problem import to_text
from symgd.numeric.codegen import compile_functions

X, Y, Z = sp.symbols("x y z", real=True)


def same(a: sp.Expr, b: sp.Expr) -> bool:
    return a == b or sp.simplify(a - b) == 0


# -- absolute-value bars --------------------------------------------------------------------------

BARS = [
    ("|x-1|", sp.Abs(X - 1)),
    ("|x - |y||", sp.Abs(X - sp.Abs(Y))),
    ("|x||y|", sp.Abs(X) * sp.Abs(Y)),
    ("|x| |y|", sp.Abs(X) * sp.Abs(Y)),
    ("2|x|", 2 * sp.Abs(X)),
    ("x|y|", X * sp.Abs(Y)),
    ("|x|y", sp.Abs(X) * Y),
    ("|x|^3 + y", sp.Abs(X) ** 3 + Y),
    ("-|x| + y", Y - sp.Abs(X)),
    ("|-x| + y", sp.Abs(X) + Y),
    ("||x||", sp.Abs(X)),
    ("|(x|y|)|", sp.Abs(X * sp.Abs(Y))),
    ("|x*|y - 1||", sp.Abs(X * sp.Abs(Y - 1))),
    ("|x|/|y|", sp.Abs(X) / sp.Abs(Y)),
    ("sqrt(|x|) + exp(-|y|)", sp.sqrt(sp.Abs(X)) + sp.exp(-sp.Abs(Y))),
    ("|sin(x)| + |cos(y)|", sp.Abs(sp.sin(X)) + sp.Abs(sp.cos(Y))),
    ("exp(-|x - y|)", sp.exp(-sp.Abs(X - Y))),
    ("x^|y|", X ** sp.Abs(Y)),
    ("|x + |y + |z|||", sp.Abs(X + sp.Abs(Y + sp.Abs(Z)))),
    ("max(|x|, |y|)", sp.Max(sp.Abs(X), sp.Abs(Y))),
]


@pytest.mark.parametrize(("text", "expected"), BARS)
def test_bars_are_absolute_values(text: str, expected: sp.Expr) -> None:
    assert same(parse(text).expr, expected)


@pytest.mark.parametrize("text", ["|x", "x|", "|x|y|", "(x|)", "|x,y|", "sin(|x)|", "|x + (y|)"])
def test_a_bar_without_a_partner_is_refused(text: str) -> None:
    with pytest.raises(ExpressionError, match=r"no matching '\|'"):
        parse(text)


def test_empty_bars_are_refused() -> None:
    with pytest.raises(ExpressionError, match="nothing between"):
        parse("||")


# -- powers of a function's value -----------------------------------------------------------------

POWERS = [
    ("sin^2(x)", sp.sin(X) ** 2),
    ("sin**2(x)", sp.sin(X) ** 2),
    ("sin²(x)", sp.sin(X) ** 2),
    ("cos^3(2x) + y", sp.cos(2 * X) ** 3 + Y),
    ("sin^2(x) + cos^2(x)", sp.sin(X) ** 2 + sp.cos(X) ** 2),
    ("tanh^2(x*y)", sp.tanh(X * Y) ** 2),
    ("log^2(x)", sp.log(X) ** 2),
    ("3sin^2(|x|)", 3 * sp.sin(sp.Abs(X)) ** 2),
    ("sigmoid^2(x)", parse("sigmoid(x)").expr ** 2),
]


@pytest.mark.parametrize(("text", "expected"), POWERS)
def test_a_power_after_a_function_name_is_the_power_of_its_value(
    text: str, expected: sp.Expr
) -> None:
    assert same(parse(text).expr, expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("sin^-1(x)", "asin(x)"),
        ("cosh^-1(x)", "acosh(x)"),
        ("tan**-1(x)", "atan(x)"),
        ("sin^-2(x)", "1/sin(x)^2"),
        ("sqrt^-1(x)", "1/sqrt(x) for the reciprocal"),
        ("sin^0.5(x)", "whole powers"),
        ("sin^0(x)", "whole powers"),
        ("sin^x(y)", "sin^2(x)"),
        ("sin^2 x", "expected '('"),
    ],
)
def test_unclear_function_powers_are_refused_with_the_spellings_to_use(
    text: str, fragment: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert fragment in str(caught.value)


# -- the wider list of functions ------------------------------------------------------------------

FUNCTIONS = [
    ("log2(x)", sp.log(X, 2)),
    ("log10(x)", sp.log(X, 10)),
    ("log(x, 5)", sp.log(X) / sp.log(5)),
    ("asinh(x)", sp.asinh(X)),
    ("arsinh(x)", sp.asinh(X)),
    ("arcsinh(x)", sp.asinh(X)),
    ("acosh(x)", sp.acosh(X)),
    ("atanh(x)", sp.atanh(X)),
    ("acoth(x)", sp.acoth(X)),
    ("coth(x)", sp.coth(X)),
    ("sech(x)", sp.sech(X)),
    ("csch(x)", sp.csch(X)),
    ("sec(x) + csc(y) + cot(x*y)", sp.sec(X) + sp.csc(Y) + sp.cot(X * Y)),
    ("asec(x) + acsc(y) + acot(x)", sp.asec(X) + sp.acsc(Y) + sp.acot(X)),
    ("arcsec(x)", sp.asec(X)),
    ("atan2(y, x)", sp.atan2(Y, X)),
    ("arctan2(y, x)", sp.atan2(Y, X)),
    ("floor(x) + y", floor(X) + Y),
    ("ceil(x) + ceiling(y)", ceiling(X) + ceiling(Y)),
    ("log10(|x| + 1) + atan2(y, x)^2", sp.log(sp.Abs(X) + 1, 10) + sp.atan2(Y, X) ** 2),
    ("floor(x/2) + ceil(y)^2", floor(X / 2) + ceiling(Y) ** 2),
]


@pytest.mark.parametrize(("text", "expected"), FUNCTIONS)
def test_the_functions_people_use_in_class(text: str, expected: sp.Expr) -> None:
    expr = parse(text).expr
    assert same(expr, expected)
    again = parse(to_text(expr)).expr
    assert same(again, expr), to_text(expr)


@pytest.mark.parametrize(
    "text",
    [
        "coth(x)",
        "sech(x)",
        "csch(x)",
        "asinh(x**2)",
        "acosh(x)",
        "atanh(x)",
        "acoth(x)",
        "acot(x)",
        "asec(x)",
        "acsc(3x)",
        "floor(x)",
        "ceil(x**2)*x",
        "sign(x)",
        "sign(x - 1)",
        "log2(x)",
        "sin^2(x)",
        "|x - 1|",
    ],
)
def test_steps_of_the_new_functions_agree_with_sympy(text: str) -> None:
    problem = parse(text)
    x = problem.variables[0]
    tree = derivative_steps(problem.expr, x)
    assert same(tree.result, sp.diff(problem.expr, x))


# -- steps that jump: floor, ceil, sign, Heaviside ------------------------------------------------


def test_floor_and_ceil_have_slope_zero_and_a_note() -> None:
    d = derive("floor(x) + ceil(y) + y**2", analyse=False)
    y = d.variables[1]
    assert d.gradient == (0, 2 * y)
    notes = nonsmooth_notes(d.expr, d.variables)
    assert any(note.startswith("floor(x) jumps") for note in notes)
    assert any(note.startswith("ceiling(y) jumps") for note in notes)
    assert all(note in d.notes for note in notes)
    assert nonsmooth_notes(parse("x**2 + relu(x)").expr) == ()


def test_a_function_that_jumps_gets_no_convexity_claim() -> None:
    d = derive("floor(x) + y**2")
    assert d.convexity.verdict == "unknown"
    assert "jumps" in d.convexity.reason
    (point,) = d.critical_points
    assert point.free == (d.variables[0],)


def test_sympys_own_floor_is_read_with_slope_zero() -> None:
    d = derive(sp.floor(X) + Y**2, analyse=False)
    assert d.gradient == (0, 2 * Y)


@pytest.mark.parametrize(
    "text",
    [
        "Heaviside(x) + y**2",
        "sign(x)*y + y**2",
        "abs(x) + y**2",
        "relu(x) + y**2",
        "floor(x) + y**2",
        "x*sign(x) + y**2",
    ],
)
def test_derivatives_of_steps_compile_and_count_as_zero_away_from_the_jump(text: str) -> None:
    problem = parse(text)
    xs = problem.variables
    gradient = partial_derivatives(problem.expr, xs)
    compiled = compile_functions(problem.expr, xs, gradient)
    points = np.array([[0.5, 0.75], [-1.5, 2.0]])
    h = compiled.hessian_at(points)
    g = compiled.gradient_at(points)
    assert np.isfinite(g).all() and np.isfinite(h).all()
    assert np.allclose(h[:, 1, 1], 2.0)
    scalar = lambdify_math(xs, (*gradient, *sp.Matrix(gradient).jacobian(xs)))
    assert all(np.isfinite(scalar(0.5, 0.75)))


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("Heaviside(x) + y**2", "gd"),
        ("sign(x) + y**2", "adam"),
        ("abs(x) + y**2", "newton"),
        ("relu(x) + y**2", "newton"),
        ("Heaviside(x) + y**2", "newton"),
    ],
)
def test_descent_runs_on_functions_with_kinks_and_jumps(text: str, method: str) -> None:
    run = symgd.descend(text, [0.5, 1.0], method=method, steps=20)
    assert np.isfinite(run.xs).all()


@pytest.mark.parametrize(
    ("text", "slope"),
    [
        ("|log(x)|", lambda x: sp.sign(sp.log(x)) / x),
        ("|1/(x - 2)|", lambda x: -sp.sign(1 / (x - 2)) / (x - 2) ** 2),
        ("|log^3(x)|", lambda x: 3 * sp.log(x) ** 2 * sp.sign(sp.log(x) ** 3) / x),
    ],
)
def test_bars_around_what_sympy_cannot_prove_real_differentiate_as_sign_times_slope(
    text: str, slope: Callable[[sp.Symbol], sp.Expr]
) -> None:
    problem = parse(text)
    (x,) = problem.variables
    (gradient,) = partial_derivatives(problem.expr, problem.variables)
    assert not gradient.has(sp.Derivative, sp.re, sp.im, sp.arg)
    point = {x: sp.Rational(7, 2)}
    assert abs(float(gradient.subs(point)) - float(slope(x).subs(point))) < 1e-12
    run = symgd.descend(text, [3.5], method="newton", steps=5)
    assert np.isfinite(run.xs).all()


def test_nested_bars_and_signs_never_leave_an_unevaluated_derivative() -> None:
    problem = parse("||sign(coth(x))|| + |sign(log(x))|")
    (gradient,) = partial_derivatives(problem.expr, problem.variables)
    assert not gradient.has(sp.Derivative)


@pytest.mark.parametrize(
    "text",
    [
        "cot(tanh(x))",
        "csch(sin(x)) + 1",
        "coth(x + 3)",
        "sech(x)*acot(x)",
        "asec(x + 3) + acsc(x + 3)",
        "acoth(x + 3)",
    ],
)
def test_reciprocal_functions_compile_to_real_arithmetic(text: str) -> None:
    problem = parse(text)
    (x,) = problem.variables
    expected = float(problem.expr.subs(x, sp.Rational(1, 3)).evalf())
    compiled = compile_functions(problem.expr, problem.variables)
    assert np.isclose(compiled.value_at(np.array([[1 / 3]]))[0], expected)
    assert np.isclose(lambdify_math(problem.variables, problem.expr)(1 / 3), expected)


def test_a_kinked_square_root_is_analysed_not_timed_out() -> None:
    d = derive("sqrt(abs(y)) + x**2")
    assert d.convexity.verdict == "neither"
    assert not any("ran out of time" in n or "Error" in n or "stopped" in n for n in d.notes)


# -- numbers too large to evaluate ----------------------------------------------------------------

NINES = "*".join(["9**400"] * 12) + "*x"


@pytest.mark.parametrize(
    "text",
    [
        "x**2+exp(exp(exp(exp(10))))",
        "x**2 + exp(exp(10))",
        NINES,
        "x*exp(900)*exp(900)",
        "x + pi**1000",
        "sinh(10**5)*x",
        "x + 10**401",
        "(9**400*9**400)**2*x",
        "sin(exp(exp(9)))*x",
        "relu(exp(exp(10)))*x",
        "floor(exp(exp(10)))*x",
    ],
)
def test_numbers_beyond_400_digits_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError, match="400 digits"):
        parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "Heaviside(log(|y|, asin(|3|)))",
        "max(log(-1), x)",
        "x*(-8)**(1/3)",
        "acosh(0)*x",
        "sign(x)*sqrt(-2)",
    ],
)
def test_a_complex_number_is_refused_where_it_appears(text: str) -> None:
    with pytest.raises(ExpressionError, match=r"not real|not a real number"):
        parse(text)


def test_large_but_bounded_numbers_still_read() -> None:
    assert parse("x + 10**350").expr == X + sp.Integer(10) ** 350
    assert parse("x*exp(-exp(5))").expr == X * sp.exp(-sp.exp(5))


@pytest.mark.parametrize("text", ["x**2+exp(exp(exp(exp(10))))", NINES])
def test_the_cli_reports_huge_numbers_as_bad_input(runner: CliRunner, text: str) -> None:
    result = runner.invoke(cli, ["derive", text])
    assert result.exit_code == 2, result.output
    assert "400 digits" in result.output


# -- SymPy objects from a program -----------------------------------------------------------------


def _doubling(k: int) -> sp.Expr:
    """An expression whose tree doubles with each level: 2**k paths through shared subtrees."""
    expr: sp.Expr = X
    for _ in range(k):
        expr = sp.sin(expr) + sp.cos(expr)
    return expr


def _tower() -> sp.Expr:
    inner: sp.Expr = sp.Integer(10)
    for _ in range(4):
        inner = sp.exp(inner, evaluate=False)
    return inner


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: sp.factorial(10**9, evaluate=False) * X, "factorial is not supported"),
        (lambda: sp.Function("f")(X), "f is not supported"),
        (lambda: sp.Integral(X, X), "Integral is not supported"),
        (lambda: sp.Piecewise((X, X > 0), (0, True)), "Piecewise is not supported"),
        (lambda: sp.Integer(10) ** 500 * X, "400 digits"),
        (lambda: sp.Float("1e500") * X, "400 digits"),
        (lambda: sp.Pow(X, 10**9, evaluate=False), "exponent is too large"),
        (lambda: sp.Pow(X, sp.pi * 10**9), "exponent is too large"),
        (lambda: sp.Pow(3, sp.pi * 300) * X, "400 digits"),
        (lambda: _tower() * X, "400 digits"),
        (lambda: _doubling(17), "200000 parts"),
        (lambda: sp.Add(*sp.symbols("v0:6000")), "too many variables"),
        (lambda: _nested(170), "nested"),
    ],
)
def test_sympy_objects_meet_the_same_bounds_as_text(
    build: Callable[[], sp.Expr], fragment: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        symgd.derive(build())
    assert fragment in str(caught.value)


def _nested(depth: int) -> sp.Expr:
    expr: sp.Expr = X
    for _ in range(depth):
        expr = sp.sin(expr)
    return expr


def test_sympy_objects_within_the_bounds_are_accepted() -> None:
    expr = sp.exp(-(X**2)) * sp.Abs(Y) + relu(X) + sp.Integer(10) ** 300 * X
    assert parse(expr).expr == expr
    assert parse(_nested(50)).names == ("x",)


# -- constants after simplification, and --vars ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "constant"),
    [("exp(x)*exp(-x)", "1"), ("x - x + 2", "2"), ("log(exp(x)) - x", "0"), ("(x+y)/(y+x)", "1")],
)
def test_an_expression_that_simplifies_to_a_constant_says_so(text: str, constant: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    message = str(caught.value)
    assert f"simplifies to the constant {constant}" in message
    assert "cancel" in message


def test_a_typed_constant_is_still_a_constant() -> None:
    with pytest.raises(ExpressionError, match="constant 1 \\+ pi: it has no variables"):
        parse("pi + 1")
    with pytest.raises(ExpressionError, match="constant 1"):
        parse(sp.exp(X) * sp.exp(-X))


def test_vars_must_appear_in_the_expression() -> None:
    from symgd.cli.common import parse_with_vars

    with pytest.raises(InputError, match="--vars names y, which is not in the expression"):
        parse_with_vars("x**2", "x,y")
    with pytest.raises(InputError, match="y, z, which are not"):
        parse_with_vars("x**2", "x,y,z")
    with pytest.raises(InputError, match="simplifies the expression to x"):
        parse_with_vars("x + y - y", "x,y")
    assert parse_with_vars("x*y", "y,x").names == ("y", "x")
    # the API reads a gradient component back in the function's variables
    assert parse("2*x", ["x", "y"]).names == ("x", "y")


@pytest.mark.parametrize(
    "args",
    [
        ["derive", "x**2", "--vars", "x,y"],
        ["descend", "x**2", "--vars", "x,y", "--start", "1,1"],
        ["derive", "exp(x)*exp(-x)"],
        ["derive", "|x"],
        ["derive", "sin^-1(x)"],
    ],
)
def test_the_cli_exits_2_with_one_line(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output


# -- size: many variables, a high power -----------------------------------------------------------


def test_partial_derivatives_match_sympy() -> None:
    xs = sp.symbols("x1:16", real=True)
    expr = sum((xs[i] - xs[i + 1]) ** 2 for i in range(14)) + sp.sin(xs[0]) * xs[5]
    assert partial_derivatives(expr, xs) == tuple(sp.diff(expr, v) for v in xs)
    assert partial_derivatives(sp.sin(X) * Y, (X, Y, Z)) == (sp.cos(X) * Y, sp.sin(X), 0)


def test_a_sum_over_100_variables_is_solved_exactly() -> None:
    text = " + ".join(f"x{i}**2" for i in range(1, 101))
    d = derive(text)
    assert d.critical_points_complete
    (point,) = d.critical_points
    assert point.kind == "minimum" and all(c == 0 for c in point.coordinates)
    chain = " + ".join(f"(x{i} - x{i + 1})**2" for i in range(1, 40))
    d = derive(chain)
    assert d.critical_points_complete
    assert d.critical_points[0].free == (d.variables[-1],)


def test_a_high_power_is_solved_without_expanding_it() -> None:
    d = derive("(x+1)**1000")
    assert d.critical_points_complete
    (point,) = d.critical_points
    assert point.coordinates == (-1,) and point.exact


def test_a_gradient_of_very_high_degree_goes_to_the_numeric_search_with_a_note() -> None:
    d = derive("(x+1)**200 + x**2")
    assert not d.critical_points_complete
    assert any("more than the exact solver takes on" in note for note in d.notes)
    assert d.critical_points and d.critical_points[0].kind == "minimum"


def test_the_library_takes_more_than_100_variables_and_the_cli_does_not(runner: CliRunner) -> None:
    text = " + ".join(f"x{i}**2" for i in range(1, 151))
    assert len(parse(text).variables) == 150
    names = [f"x{i}" for i in range(1, 5002)]
    with pytest.raises(ExpressionError, match=r"too many variables \(5001; at most 5000\)"):
        parse("x1 + x2", names)
    result = runner.invoke(cli, ["derive", " + ".join(f"x{i}" for i in range(1, 102))])
    assert result.exit_code == 2, result.output
    assert "too many variables (101; at most 100 here" in result.output
    assert "take up to 5000" in result.output
    assert "Traceback" not in result.output
    assert runner.invoke(cli, ["derive", " + ".join(f"x{i}" for i in range(1, 101))]).exit_code == 0
