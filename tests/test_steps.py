"""Rule-by-rule derivatives: every node of every tree is checked against ``sympy.diff``."""

from __future__ import annotations

import json
import random

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from symgd.base.errors import ExpressionError
from symgd.calculus import rules as steps_module
from symgd.calculus.rule_builder import MAX_STEPS
from symgd.calculus.rules import (
    MAX_OPS,
    derivative_steps,
    format_steps,
    step_to_dict,
    steps_latex_items,
)
from symgd.calculus.step import RULE_TITLES, Step
from symgd.expr.activations import leaky_relu, relu, sigmoid, softplus, to_elementary
from symgd.expr.parser import parse

# At least 50 functions of one to four variables; Rosenbrock, Himmelblau and a logistic loss
# among them.
EXPRESSIONS = [
    "7",
    "x",
    "3*x",
    "x**2",
    "x**5 - 4*x**3 + x - 9",
    "x**(-3)",
    "x**(2/3)",
    "cbrt(x)",
    "sqrt(x)",
    "sqrt(1 - x**2)",
    "1/x",
    "5/(x**2 + 1)",
    "x/(x**2 + 1)",
    "(x + 1)/(x - 1)",
    "sin(x)/x",
    "x**2*sin(x)",
    "x*exp(x)*log(x)",
    "(x + 1)**7*(x - 1)**3",
    "exp(-x**2)*cos(3*x)",
    "exp(sin(x**2))",
    "sin(cos(tan(x)))",
    "log(log(x**2 + 2))",
    "log(x, 2)",
    "2**x",
    "2**(x**2)",
    "x**x",
    "x**sin(x)",
    "tan(x) + cot(x) + sec(x) + csc(x)",
    "asin(x/2) + acos(x/3) + atan(x**2)",
    "sinh(x)*cosh(x) + tanh(2*x)",
    "abs(x**2 - 1)",
    "sigmoid(x)",
    "sigmoid(3*x - 1)",
    "softplus(x**2)",
    "relu(2*x + 1)",
    "leaky_relu(x)",
    "leaky_relu(x - 1, 0.2)",
    "tanh(tanh(x))",
    "e**x + pi*x",
    "x**2 + 2*x*y",
    "x*y",
    "x/y",
    "y**x",
    "x**y",
    "(1 - x)**2 + 100*(y - x**2)**2",
    "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    "sin(x)*cos(y) + x**2/10",
    "sqrt(x**2 + y**2)",
    "x*exp(-x**2 - y**2)",
    "log(1 + exp(x*y))",
    "(x - y)/(x + y)",
    "x**2*y**3 - 3*x*y + 2",
    "atan(y/x)",
    "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))",
    "(w*x + b - y)**2",
    "abs(w*x + b - y)",
    "relu(w*x + b)**2",
    "x*y*z + x**2 + y**2 + z**2",
    "exp(x*y*z)/(1 + z**2)",
    "sigmoid(a*tanh(w*x + b) + c)",
    "x1**2 + 2*x2**2 + 3*x3**2 + 4*x4**2 - x1*x4",
    "softplus(x1*x2 - x3) + leaky_relu(x4, 0.1)*x1",
    "max(x, y) + x",
]

FUNCTION_TABLE_RULES = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "softplus": "softplus",
    "relu": "relu",
    "abs": "abs",
    "atan": "atan",
    "leaky_relu": "leaky_relu",
    "sinh": "sinh",
    "cosh": "cosh",
    "asin": "asin",
}


def _value(expr: sp.Expr, point: dict[sp.Symbol, sp.Float]) -> complex | None:
    """expr at point to 30 digits; 0.0 when it is certainly tiny; None when not a number."""
    try:
        return complex(expr.evalf(30, subs=point, strict=True))
    except ArithmeticError:  # no accurate digits: often an exact 0 reached by cancellation
        try:
            rough = complex(expr.evalf(30, subs=point))
        except (TypeError, ValueError, KeyError, ArithmeticError):
            return None
        return 0.0 if abs(rough) < 1e-15 else None
    except (TypeError, ValueError, KeyError):  # not a number here (a jump, x**y for x < 0)
        return None


def _numbers_agree(a: sp.Expr, b: sp.Expr, symbols: set[sp.Symbol], seed: int) -> bool | None:
    """a = b at random points (away from kinks with probability 1)?

    False as soon as one point differs; None when too few points give accurate numbers.
    """
    rng = random.Random(seed)
    a, b = to_elementary(a), to_elementary(b)  # softplus has no numeric evaluation of its own
    checked = 0
    for _ in range(40):
        if checked == 6:
            break
        point = {s: sp.Float(rng.uniform(-2.5, 2.5), 30) for s in symbols}
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None or any(v != v or abs(v) == float("inf") for v in (va, vb)):
            continue
        if abs(va - vb) > 1e-9 * (1 + abs(va) + abs(vb)):
            return False
        checked += 1
    return True if checked >= 3 else None


def equivalent(a: sp.Expr, b: sp.Expr, *, numeric: bool = False) -> bool:
    """True when SymPy shows a - b = 0 (or, with ``numeric``, a = b at many random points)."""
    if a == b:
        return True
    difference = a - b
    if difference == 0 or sp.expand(difference) == 0:
        return True
    symbols = a.free_symbols | b.free_symbols
    if numeric:
        verdict = _numbers_agree(a, b, symbols, seed=len(str(difference)))
        if verdict is not None:
            return verdict
        difference = to_elementary(difference)
    return sp.simplify(difference) == 0


def assert_tree_is_correct(tree: Step, *, numeric: bool = False) -> None:
    """Every node's result is the derivative of its expression; chain steps name u."""
    for node in tree.walk():
        expected = sp.diff(node.expression, node.variable)
        assert equivalent(node.result, expected, numeric=numeric), (
            f"{node.rule}: d/d{node.variable} {node.expression} gave {node.result}, "
            f"expected {expected}"
        )
        assert node.rule in RULE_TITLES
        assert node.explanation.strip()
        assert node.formula_latex.strip()
        if node.rule == "chain":
            assert node.inner is not None and node.inner.has(node.variable)
            outer, inner = node.substeps
            assert inner.expression == node.inner
            assert outer.variable not in node.expression.free_symbols
        else:
            assert node.inner is None


def steps_for(text: str) -> dict[sp.Symbol, Step]:
    problem = parse(text)
    xs = problem.variables
    return {v: derivative_steps(problem.expr, v, others=tuple(o for o in xs if o != v)) for v in xs}


def test_the_table_is_large_enough() -> None:
    assert len(EXPRESSIONS) >= 50
    assert {1, 2, 3, 4} <= {len(parse(t).variables) for t in EXPRESSIONS if t != "7"}


@pytest.mark.parametrize("text", [t for t in EXPRESSIONS if t != "7"])
def test_every_step_matches_sympy_diff(text: str) -> None:
    problem = parse(text)
    for v, tree in steps_for(text).items():
        assert equivalent(tree.result, sp.diff(problem.expr, v))
        assert tree.expression == problem.expr
        assert tree.variable == v
        assert_tree_is_correct(tree)


def test_a_constant_has_derivative_zero() -> None:
    x = sp.Symbol("x", real=True)
    tree = derivative_steps(sp.Integer(7), x)
    assert tree.rule == "constant" and tree.result == 0


def _rules(tree: Step) -> list[str]:
    return [node.rule for node in tree.walk()]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("x**2 + x", "sum"),
        ("x**7", "power"),
        ("4*x**3", "constant_multiple"),
        ("x*sin(x)", "product"),
        ("sin(x)/(x + 1)", "quotient"),
        ("sqrt(x)", "sqrt"),
        ("sqrt(x**2 + 1)", "sqrt"),
        ("exp(x)", "exp"),
        ("e**(x**2)", "exp"),
        ("3**x", "exponential"),
        ("x**x", "general_power"),
        ("log(x**2 + 1)", "log"),
        ("cos(x)", "cos"),
        ("tan(x)", "tan"),
        ("abs(x)", "abs"),
        ("sigmoid(x)", "sigmoid"),
        ("tanh(x)", "tanh"),
        ("relu(x)", "relu"),
        ("leaky_relu(x)", "leaky_relu"),
        ("softplus(x)", "softplus"),
        ("sin(x**2)", "chain"),
        ("max(x, x**2)", "no_rule"),
    ],
)
def test_the_textbook_rule_is_named(text: str, rule: str) -> None:
    (tree,) = steps_for(text).values()
    assert rule in _rules(tree)


def test_a_quotient_gets_the_quotient_rule_at_the_top() -> None:
    (tree,) = steps_for("(x + 1)/(x**2 + 3)").values()
    raw = tree.substeps[0] if tree.rule == "simplify" else tree
    assert raw.rule == "quotient"
    numerator, denominator = (s.expression for s in raw.substeps)
    x = sp.Symbol("x", real=True)
    assert sp.expand(numerator - (x + 1)) == 0
    assert sp.expand(denominator - (x**2 + 3)) == 0


def test_activation_derivatives_have_their_textbook_forms() -> None:
    """σ' = σ(1-σ), softplus' = σ, ReLU' = H, LeakyReLU' = 1 or a, tanh' = 1 - tanh²."""
    x = sp.Symbol("x", real=True)
    s = 1 / (1 + sp.exp(-x))
    cases = {
        "sigmoid(x)": sp.diff(s, x),
        "softplus(x)": s,
        "tanh(x)": 1 - sp.tanh(x) ** 2,
    }
    for text, expected in cases.items():
        (tree,) = steps_for(text).values()
        elementary = tree.result.replace(sigmoid, lambda z: 1 / (1 + sp.exp(-z)))
        assert sp.simplify(elementary - expected) == 0
    for point, slope in ((sp.Rational(3, 2), 1), (sp.Rational(-5, 2), 0)):
        (tree,) = steps_for("relu(x)").values()
        assert tree.result.subs(x, point) == slope
        (tree,) = steps_for("leaky_relu(x, 0.3)").values()
        assert tree.result.subs(x, point) == (1 if slope else sp.Rational(3, 10))
        (tree,) = steps_for("leaky_relu(x)").values()
        assert tree.result.subs(x, point) == (1 if slope else sp.Rational(1, 100))


def test_every_chain_step_names_its_inner_function() -> None:
    (tree,) = steps_for("sin(cos(x**2 + 1))").values()
    chains = [n for n in tree.walk() if n.rule == "chain"]
    x = sp.Symbol("x", real=True)
    assert [n.inner for n in chains] == [sp.cos(x**2 + 1), x**2 + 1]
    for node in chains:
        assert f"= {node.inner}" in node.explanation
        assert step_to_dict(node)["inner"] == str(node.inner)
    # nested chains use different letters for their inner functions
    assert len({n.substeps[0].variable for n in chains}) == 2


def test_the_letter_for_u_avoids_the_variables_of_the_function() -> None:
    trees = steps_for("sin(u*x) + exp(w*u)")
    for tree in trees.values():
        for node in tree.walk():
            if node.rule == "chain":
                letter = node.substeps[0].variable
                assert letter.name not in {"u", "w", "x"}


@pytest.mark.parametrize(
    "text",
    [
        "x**2 + 2*x*y",
        "(1 - x)**2 + 100*(y - x**2)**2",
        "x*y*z + x**2 + y**2 + z**2",
        "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))",
    ],
)
def test_partial_derivatives_say_which_variables_are_held_constant(text: str) -> None:
    for v, tree in steps_for(text).items():
        assert tree.partial
        assert f"with respect to {v.name}" in tree.explanation
        held = {s.name for s in tree.expression.free_symbols} - {v.name}
        words = " ".join(node.explanation for node in tree.walk())
        opening = tree.explanation.split(".")[0] + tree.explanation.split(".")[1]
        for name in held:
            assert name in opening
            assert "treat" in words.lower()
        assert "∂" in format_steps(tree)


def test_a_variable_held_constant_gets_its_own_rule() -> None:
    trees = steps_for("x**2 + 3*y")
    x = sp.Symbol("x", real=True)
    held = [n for n in trees[x].walk() if n.rule == "other_variable"]
    assert held and all(n.result == 0 for n in held)
    assert any("Treat y as a constant" in n.explanation for n in held)


def test_single_variable_derivatives_are_ordinary() -> None:
    (tree,) = steps_for("x**3 + sin(x)").values()
    assert not tree.partial
    assert "∂" not in format_steps(tree)
    assert "d/dx" in format_steps(tree)


def test_simplification_keeps_the_raw_derivation_below_it() -> None:
    (tree,) = steps_for("exp(-x**2)*cos(3*x)").values()
    assert tree.rule == "simplify"
    (raw,) = tree.substeps
    assert raw.rule == "product"
    assert raw.expression == tree.expression
    assert sp.count_ops(tree.result) < sp.count_ops(raw.result)
    assert equivalent(tree.result, raw.result)


def test_logistic_loss_gradient_simplifies_to_the_error_times_the_input() -> None:
    trees = steps_for("-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))")
    w, x, b, y = sp.symbols("w x b y", real=True)
    error = sigmoid(w * x + b) - y
    by_name = {v.name: t for v, t in trees.items()}
    assert sp.expand(by_name["w"].result - error * x) == 0
    assert sp.expand(by_name["b"].result - error) == 0


def test_no_simplify_step_when_the_form_does_not_change() -> None:
    (tree,) = steps_for("sin(x)").values()
    assert tree.rule == "sin"
    assert not tree.substeps


def test_no_rule_gives_the_direct_derivative_in_plain_words() -> None:
    trees = steps_for("max(x, y)")
    x = sp.Symbol("x", real=True)
    tree = trees[x]
    node = next(n for n in tree.walk() if n.rule == "no_rule")
    assert "No rule" in node.explanation
    assert node.result == sp.diff(node.expression, x)


def test_large_expressions_fall_back_to_a_direct_derivative(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(steps_module, "MAX_OPS", 60)  # a small cap keeps the test fast
    x, y = sp.symbols("x y", real=True)
    huge = sp.Add(*(sp.sin(k * x + y) * sp.exp(x / k) for k in range(1, 12)))
    assert sp.count_ops(huge) > 60
    tree = derivative_steps(huge, x, others=(y,))
    assert tree.rule == "direct"
    assert "directly" in tree.explanation
    assert sp.expand(tree.result - sp.diff(huge, x)) == 0
    assert derivative_steps(huge.args[0], x, others=(y,)).rule != "direct"
    assert MAX_OPS >= 1000  # the real cap leaves expressions of a few hundred operations alone


def test_step_budget_caps_the_tree() -> None:
    x = sp.Symbol("x", real=True)
    many = sp.Add(*(sp.sin(x + k) * sp.cos(x**2 + k) for k in range(1, 120)))
    tree = derivative_steps(many, x)
    nodes = tree.walk()
    # past the budget, each pending sibling becomes one direct step
    assert len(nodes) <= MAX_STEPS + 120
    assert any(n.rule == "direct" for n in nodes)
    assert sp.expand(tree.result - sp.diff(many, x)) == 0


def test_deep_nesting_stays_correct() -> None:
    text = "sin(" * 30 + "x*y" + ")" * 30
    for tree in steps_for(text).values():
        assert_tree_is_correct(tree, numeric=True)


def _parse_back(text: str) -> sp.Expr:
    """symgd.parse needs a variable, so a constant is read as ``probe + (text) - probe``."""
    return parse(f"zprobe + ({text})").expr - sp.Symbol("zprobe", real=True)


@pytest.mark.parametrize(
    "text",
    [
        "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))",
        "(1 - x)**2 + 100*(y - x**2)**2",
        "e**x*relu(x - 1) + leaky_relu(x, 0.2)",
        "abs(x*y) + sqrt(x**2 + 1) + log(x, 3)",
        "x**x + 2**y",
        "E*x + exp(E)",
    ],
)
def test_json_round_trips_through_the_parser(text: str) -> None:
    for tree in steps_for(text).values():
        data = json.loads(json.dumps(step_to_dict(tree)))

        def check(node: dict, step: Step) -> None:
            assert node["rule"] == step.rule
            assert node["variable"] == step.variable.name
            assert isinstance(node["explanation"], str) and node["explanation"]
            for key in ("expression", "result"):
                assert equivalent(_parse_back(node[key]), getattr(step, key))
            if step.rule == "chain":
                assert equivalent(_parse_back(node["inner"]), step.inner)
            else:
                assert "inner" not in node
            assert len(node["substeps"]) == len(step.substeps)
            for child, sub in zip(node["substeps"], step.substeps, strict=True):
                check(child, sub)

        check(data, tree)


def test_text_output_is_numbered_and_nested() -> None:
    (tree,) = steps_for("sin(x**2)*x").values()
    lines = format_steps(tree, indent="    ").splitlines()
    # two lines per step: the numbered explanation, then the equation under it
    assert len(lines) == 2 * len(tree.walk())
    numbers = []
    for explanation, equation in zip(lines[::2], lines[1::2], strict=True):
        number = explanation.split()[0]
        depth = number.count(".") - 1
        assert explanation.startswith("    " * depth + number)
        assert equation.startswith("    " * depth + " " * (len(number) + 1) + "d/d")
        numbers.append(number)
    assert numbers[0] == "1."
    assert "1.2.1." in numbers
    assert numbers == sorted(numbers, key=lambda n: [int(p) for p in n.split(".") if p])


def test_latex_items_mirror_the_tree() -> None:
    (tree,) = steps_for("sqrt(x**2 + 1)/x").values()
    items = steps_latex_items(tree)
    assert len(items) == 1

    def check(item, step: Step, number: str, depth: int) -> None:  # type: ignore[no-untyped-def]
        assert item.number == number and item.depth == depth
        assert item.rule == step.rule
        assert item.title == RULE_TITLES[step.rule]
        assert sp.latex(step.result) in item.equation_latex
        assert item.formula_latex == step.formula_latex
        assert (item.inner_latex is None) == (step.inner is None)
        assert len(item.children) == len(step.substeps)
        for index, (child, sub) in enumerate(zip(item.children, step.substeps, strict=True), 1):
            check(child, sub, f"{number}.{index}", depth + 1)

    check(items[0], tree, "1", 0)


def test_steps_are_frozen() -> None:
    (tree,) = steps_for("x**2").values()
    with pytest.raises(AttributeError):
        tree.rule = "other"  # type: ignore[misc]


# -- expressions generated from the function table ------------------------------------------

_UNARY = sorted(FUNCTION_TABLE_RULES)
_LEAVES = st.sampled_from(["x", "y", "1", "2", "3", "x", "y"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    unary = st.builds(lambda f, a: f"{f}({a})", st.sampled_from(_UNARY), children)
    binary = st.builds(
        lambda a, op, b: f"({a}){op}({b})",
        children,
        st.sampled_from(["+", "-", "*", "/"]),
        children,
    )
    power = st.builds(
        lambda a, n: f"({a})**{n}",
        children,
        st.sampled_from(["2", "3", "(-1)", "(1/2)", "(-2)", "x", "y"]),
    )
    return st.one_of(unary, binary, power)


EXPRESSION_TEXT = st.recursive(_LEAVES, _combine, max_leaves=6)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(EXPRESSION_TEXT)
def test_generated_expressions_match_sympy_at_every_step(text: str) -> None:
    try:
        problem = parse(text)
    except ExpressionError:
        assume(False)
        raise  # pragma: no cover - assume() stops the example
    for v in problem.variables:
        others = tuple(o for o in problem.variables if o != v)
        tree = derivative_steps(problem.expr, v, others=others)
        assert tree.expression == problem.expr
        assert equivalent(tree.result, sp.diff(problem.expr, v), numeric=True)
        assert_tree_is_correct(tree, numeric=True)


def test_activation_classes_are_all_covered() -> None:
    x = sp.Symbol("x", real=True)
    for cls in (sigmoid, softplus, relu, leaky_relu):
        tree = derivative_steps(cls(x), x)
        assert tree.rule == cls.__name__
