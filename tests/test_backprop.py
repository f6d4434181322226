"""symgd.network: the computational graph, its forward and backward pass, the checks, the
layout of the drawing and the page's words."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import sympy as sp

from symgd.base.errors import InputError
from symgd.expr.activations import leaky_relu, relu, sigmoid, softplus
from symgd.expr.parser import parse
from symgd.network.backprop import backprop, parse_at
from symgd.network.backprop_page import backprop_context, graph_nodes
from symgd.network.graph import build_graph
from symgd.network.layout import graph_boxes

TWO_LAYER = "(sigmoid(w2*sigmoid(w1*x + b1) + b2) - y)**2"
TWO_LAYER_AT = {"w1": 0.5, "b1": 0.1, "w2": -0.3, "b2": 0.2, "x": 1.0, "y": 1.0}
CROSS_ENTROPY = "-(y*log(sigmoid(w*x+b)) + (1-y)*log(1-sigmoid(w*x+b)))"

#: (loss, point, parameters): smooth points, away from every kink
CASES = [
    (TWO_LAYER, TWO_LAYER_AT, "w1,b1,w2,b2"),
    ("sigmoid(w*x)*(1-sigmoid(w*x))", {"w": 0.7, "x": -1.3}, None),
    ("softplus(w*x + b)", {"w": 0.4, "x": 2, "b": -0.5}, "w,b"),
    ("tanh(w*x + b)**2", {"w": 1.1, "x": 0.3, "b": 0.2}, None),
    ("-(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z)))", {"y": 1, "z": 0.3}, "z"),
    (CROSS_ENTROPY, {"y": 0, "w": 0.3, "x": 2, "b": 0.1}, "w,b"),
    ("relu(w*x + b)", {"w": 0.5, "x": 2, "b": 0.1}, "w,b"),
    ("relu(w*x + b)", {"w": -0.5, "x": 2, "b": 0.1}, "w,b"),
    ("leaky_relu(w*x + b)", {"w": -0.5, "x": 2, "b": 0.1}, "w,b"),
    ("leaky_relu(w*x + b, 0.2)**2", {"w": -0.5, "x": 2, "b": 0.1}, "w,b"),
    ("x/y", {"x": 1.5, "y": -0.4}, None),
    ("(w*x - y)**2/2", {"w": 0.5, "x": 2, "y": 3}, "w"),
    ("exp(w*x)/(1 + exp(w*x))", {"w": 0.2, "x": 1.5}, None),
    ("log(w**2 + 1)", {"w": 0.75}, None),
    ("w**3 - 2*w + 1", {"w": -1.25}, None),
    ("sqrt(w**2 + b**2)", {"w": 0.6, "b": 0.8}, None),
    (
        "(w1*x1 + w2*x2 + b - y)**2",
        {"w1": 1, "x1": 2, "w2": -1, "x2": 0.5, "b": 0.1, "y": 1},
        "w1,w2,b",
    ),
    ("exp(-w**2)", {"w": 0.9}, None),
    ("w*exp(w)", {"w": -0.4}, None),
    ("sin(w)*cos(b)", {"w": 0.3, "b": 1.2}, None),
    ("abs(w - 1) + abs(b)", {"w": 0.2, "b": -0.7}, None),
    ("max(w, b) + min(w, 2*b)", {"w": 0.2, "b": 0.7}, None),
    ("2**w + w**b", {"w": 1.5, "b": 0.5}, None),
    ("(relu(w1*x) + relu(w2*x) - y)**2", {"w1": 0.5, "w2": 0.25, "x": 2, "y": 0.5}, "w1,w2"),
    ("tanh(w2*tanh(w1*x))", {"w1": 0.8, "w2": -1.2, "x": 0.5}, "w1,w2"),
    ("sigmoid(sigmoid(sigmoid(w)))", {"w": 0.1}, None),
    ("(w*x + 3)**2 + 5", {"w": 0.5, "x": -1}, "w"),
    ("(1 - sigmoid(w))**2 + 1/(1 + w**2)", {"w": 0.3}, None),
    ("log(softplus(w)) + w", {"w": -0.6}, None),
    ("(w1*w2*x - y)**2", {"w1": 0.5, "w2": 1.5, "x": 2, "y": 1}, "w1,w2"),
    ("atan(w) + w/(b + 2)", {"w": 0.4, "b": 0.5}, None),
    ("cosh(w) - b**2 + e", {"w": 0.4, "b": 0.5}, None),
    (
        "(sigmoid(w*x + b)*(1 - sigmoid(w*x + b)) - y)**2",
        {"w": 1, "x": 0.5, "b": 0, "y": 0.1},
        "w,b",
    ),
    (
        "(softplus(w2*relu(w1*x + b1)) - y)**2",
        {"w1": 0.5, "b1": 0.1, "w2": 1.2, "x": 1, "y": 0},
        "w1,b1,w2",
    ),
]


def sympy_gradient(text: str, at: dict[str, float], name: str) -> float:
    """The derivative by SymPy alone, evaluated with subs and evalf at 30 digits."""
    expr = parse(text).expr
    symbols = {s.name: s for s in expr.free_symbols}
    values = {symbols[k]: sp.Rational(str(v)) for k, v in at.items()}
    return float(sp.diff(expr, symbols[name]).subs(values).evalf(30))


def test_there_are_thirty_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize(("text", "at", "wrt"), CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_sympy_and_central_difference(
    text: str, at: dict[str, float], wrt: str | None
) -> None:
    result = backprop(text, at=at, wrt=wrt)
    names = wrt.split(",") if wrt else sorted(at)
    assert set(result.wrt) == set(names)
    for name in names:
        expected = sympy_gradient(text, at, name)
        assert result.gradient[name] == pytest.approx(expected, rel=1e-12, abs=1e-14)
        assert result.sympy_gradient[name] == pytest.approx(expected, rel=1e-12, abs=1e-14)
        assert result.numerical_gradient[name] == pytest.approx(expected, rel=1e-6, abs=1e-7)
        exact = result.gradient_exact[name]
        if exact is not None:  # the exact form reads back and has the same value
            value = parse(exact, ["x"]).expr
            assert abs(float(value.evalf(30)) - expected) <= 1e-12 * max(1, abs(expected))
    assert result.max_abs_error_vs_exact < 1e-20
    assert result.max_abs_error_numerical < 1e-6


def by_label(result: object, label: str) -> int:
    return next(n.id for n in result.graph.nodes if n.label == label)  # type: ignore[attr-defined]


def test_two_layer_example_by_hand() -> None:
    """Every forward value and every gradient of the example of the notes, computed here
    with math alone, and one step of descent."""
    result = backprop(TWO_LAYER, at=TWO_LAYER_AT, wrt="w1,b1,w2,b2", lr=0.5)
    s = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    z1 = 0.5 * 1 + 0.1
    a1 = s(z1)
    z2 = -0.3 * a1 + 0.2
    a2 = s(z2)
    loss = (a2 - 1) ** 2
    values = [float(v) for v in result.values.decimal]
    forward_ops = [values[n.id] for n in result.graph.nodes if not n.is_leaf]
    assert forward_ops == pytest.approx([0.5, z1, a1, -0.3 * a1, z2, a2, a2 - 1, loss], rel=1e-14)
    assert result.loss == pytest.approx(loss, rel=1e-14)
    d_a2 = 2 * (a2 - 1)
    d_z2 = d_a2 * a2 * (1 - a2)
    d_z1 = d_z2 * -0.3 * a1 * (1 - a1)
    expected = {"w2": d_z2 * a1, "b2": d_z2, "w1": d_z1 * 1.0, "b1": d_z1}
    for name, value in expected.items():
        assert result.gradient[name] == pytest.approx(value, rel=1e-13)
    assert result.update is not None
    after = {n: TWO_LAYER_AT[n] - 0.5 * expected[n] for n in expected}
    assert result.update == pytest.approx(after, rel=1e-13)
    a1_new = s(after["w1"] + after["b1"])
    new_loss = (s(after["w2"] * a1_new + after["b2"]) - 1) ** 2
    assert result.loss_after == pytest.approx(new_loss, rel=1e-12)
    assert result.loss_after < result.loss
    assert result.values.exact[by_label(result, "v2")] == sp.Rational(3, 5)


def test_two_layer_stages() -> None:
    result = backprop(TWO_LAYER, at=TWO_LAYER_AT, wrt="w1,b1,w2,b2")
    assert result.stages is not None
    labels = [
        (s.kind, s.layer, [result.graph.nodes[i].label for i in s.nodes]) for s in result.stages
    ]
    assert labels == [
        ("loss", None, ["L", "v7"]),
        ("activation", 2, ["v6"]),
        ("affine", 2, ["v5", "v4"]),
        ("activation", 1, ["v3"]),
        ("affine", 1, ["v2", "v1"]),
        ("parameters", None, ["w2", "w1", "b2", "b1"]),
    ]
    # the grouped order is a valid backward order: every node after all its users
    position = {i: k for k, i in enumerate(result.order)}
    for i in result.order:
        for user, _ in result.graph.users[i]:
            assert position[user] < position[i]


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("(w*x - y)**2", {"w": 0.5, "x": 1.5, "y": 2}),
        ("exp(w)*sin(w)", {"w": 0.5}),
        ("sigmoid(w*x**2)", {"w": 0.5, "x": 1.5}),  # x² is no affine operation
    ],
)
def test_no_layers_without_the_shape(text: str, at: dict[str, float]) -> None:
    result = backprop(text, at=at)
    assert result.stages is None
    context = backprop_context(result)
    assert context["layers"] is None
    assert all(group["title"] is None for group in context["backward"])


def test_shared_subexpression_is_one_node_whose_adjoint_sums_both_users() -> None:
    """L = s·(1 − s) with s = σ(w·x): s has two users and ∂L/∂s = (1 − s) − s."""
    result = backprop("sigmoid(w*x)*(1-sigmoid(w*x))", at={"w": 0.7, "x": -1.3})
    graph = result.graph
    sig = [n for n in graph.nodes if n.op == "sigmoid"]
    assert len(sig) == 1
    users = {u for u, _ in graph.users[sig[0].id]}
    assert len(users) == 2
    s = 1 / (1 + math.exp(0.7 * 1.3))
    terms = result.adjoints.terms[sig[0].id]
    assert len(terms) == 2
    assert sorted(float(t.contribution) for t in terms) == pytest.approx(sorted([1 - s, -s]))
    assert float(result.adjoints.decimal[sig[0].id]) == pytest.approx(1 - 2 * s, rel=1e-14)
    assert any("is used by 2 nodes" in s for s in backprop_context(result)["graph"]["shared"])


def test_local_derivatives_are_named_by_their_rules() -> None:
    result = backprop(
        "(softplus(w*x) + tanh(w) + relu(w) + leaky_relu(-w) + w**3 + exp(w))**2",
        at={"w": 0.5, "x": 2},
    )
    graph = result.graph
    rules = {graph.nodes[t.user].op: t.rule for terms in result.adjoints.terms for t in terms}
    assert rules["softplus"] == "softplus" and rules["tanh"] == "tanh"
    assert rules["relu"] == "relu" and rules["leaky_relu"] == "leaky_relu"
    assert rules["power"] == "power" and rules["exp"] == "exp"
    assert rules["product"] in ("product", "constant_multiple")
    softplus_term = next(
        t for terms in result.adjoints.terms for t in terms if graph.nodes[t.user].op == "softplus"
    )
    assert float(softplus_term.local_value) == pytest.approx(1 / (1 + math.exp(-1.0)))


def test_json_shape() -> None:
    result = backprop(CROSS_ENTROPY, at={"y": 1, "w": 0.3, "x": 2, "b": 0.1}, wrt="w,b", lr=1)
    data = json.loads(json.dumps(result.to_json()))
    for key in ("expression", "at", "wrt", "loss", "nodes", "order", "gradient"):
        assert key in data
    for key in ("gradient_exact", "numerical_gradient", "check", "update"):
        assert key in data
    assert data["wrt"] == ["w", "b"] and set(data["update"]) == {"w", "b"}
    assert set(data["check"]) == {"max_abs_error_vs_exact", "max_abs_error_numerical"}
    nodes = data["nodes"]
    assert [n["id"] for n in nodes] == list(range(len(nodes)))
    for node in nodes:
        assert set(node) >= {"id", "op", "label", "inputs", "value", "exact", "adjoint"}
        assert all(i < node["id"] for i in node["inputs"])  # forward order
        if node["exact"] is not None:
            assert float(parse(node["exact"], ["x"]).expr.evalf(20)) == pytest.approx(node["value"])
    output = data["order"]["backward"][0]
    assert nodes[output]["adjoint"] == 1
    assert sorted(data["order"]["forward"]) == list(range(len(nodes)))
    assert data["loss"] == pytest.approx(-math.log(1 / (1 + math.exp(-0.7))))
    # gradient of the cross-entropy in (w, b) is (σ(z) − y)(x, 1)
    s = 1 / (1 + math.exp(-0.7))
    assert data["gradient"]["w"] == pytest.approx((s - 1) * 2)
    assert data["gradient"]["b"] == pytest.approx(s - 1)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        (TWO_LAYER, TWO_LAYER_AT),
        (CROSS_ENTROPY, {"y": 1, "w": 0.3, "x": 2, "b": 0.1}),
        ("sigmoid(w*x)*(1-sigmoid(w*x)) + exp(w*x)*w + (w*x)**2", {"w": 0.2, "x": 1}),
        (
            "(relu(w1*x) + relu(w2*x) + relu(w3*x) + relu(w4*x) - y)**2",
            {"w1": 1, "w2": 2, "w3": 3, "w4": 4, "x": 1, "y": 0},
        ),
        (
            "tanh(w5*tanh(w4*tanh(w3*tanh(w2*tanh(w1*x)))))",
            {f"w{k}": 0.5 for k in range(1, 6)} | {"x": 1},
        ),
    ],
)
def test_layout_boxes_never_overlap_and_edges_point_right(text: str, at: dict[str, float]) -> None:
    result = backprop(text, at=at)
    nodes = graph_nodes(result)
    boxes = graph_boxes(nodes)
    assert len(boxes) == len(result.graph.nodes)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    for node in nodes:
        for i in node.inputs:
            assert boxes[i].x + boxes[i].width < boxes[node.id].x
    assert all(b.x >= 0 and b.y >= 0 for b in boxes)


def test_overlap_check_itself() -> None:
    from symgd.network.layout import Box

    a = Box(0, 0, 0, 10, 10, ("a",), "input")
    assert a.overlaps(Box(1, 5, 5, 10, 10, ("b",), "input"))
    assert not a.overlaps(Box(1, 10, 0, 10, 10, ("b",), "input"))


@pytest.mark.parametrize(
    ("at", "wrt", "lr", "words"),
    [
        ({"w": 1}, None, None, "no value for x"),
        ({"w": 1, "x": float("nan")}, None, None, "not a finite number"),
        ({"w": 1, "x": float("inf")}, None, None, "not a finite number"),
        ({"w": 1, "x": 2, "q": 3}, None, None, "q, which is not a variable"),
        ({"w": 1, "x": 2}, "w,q", None, "--wrt names q"),
        ({"w": 1, "x": 2}, None, 0.0, "positive finite"),
        ({"w": 1, "x": 2}, None, -1.0, "positive finite"),
        ({"w": 1, "x": 2}, None, float("nan"), "positive finite"),
        ({"w": 1, "x": 2}, None, float("inf"), "positive finite"),
    ],
)
def test_bad_input_is_refused(
    at: dict[str, float], wrt: str | None, lr: float | None, words: str
) -> None:
    with pytest.raises(InputError, match=words):
        backprop("(w*x - 1)**2", at=at, wrt=wrt, lr=lr)


def test_undefined_points_and_huge_graphs() -> None:
    with pytest.raises(InputError, match="logarithm is defined only for positive"):
        backprop("log(w - 2)", at={"w": 1})
    with pytest.raises(InputError, match="division by zero"):
        backprop("x/y", at={"x": 1, "y": 0})
    w = sp.Symbol("w", real=True)
    with pytest.raises(InputError, match="more than 500 nodes"):
        backprop(sp.Add(*[sp.sin(w + k) for k in range(1, 200)]), at={"w": 1})


def test_parse_at() -> None:
    assert parse_at("w1=0.5, b=−2,x=1e-3") == {"w1": 0.5, "b": -2.0, "x": 0.001}
    for bad in ("", "w", "w=1,w=2", "w=abc", "w=inf", "=3"):
        with pytest.raises(InputError):
            parse_at(bad)


def test_exact_values_give_way_to_decimals_past_the_digit_bound() -> None:
    result = backprop("w**60 + w", at={"w": 1.234567891234})
    assert result.gradient_exact["w"] is None
    assert any("Exact values stop" in n and "200 digits" in n for n in result.notes)
    expected = 60 * 1.234567891234**59 + 1
    assert result.gradient["w"] == pytest.approx(expected, rel=1e-13)


def test_notes_for_a_kink_and_an_edge_of_the_domain() -> None:
    kink = backprop("relu(w*x)", at={"w": 0, "x": 1})
    assert any("corner" in n for n in kink.notes)
    edge = backprop("log(w)", at={"w": 5e-5})
    assert math.isnan(edge.numerical_gradient["w"])
    assert any("central difference could not be computed" in n for n in edge.notes)
    assert edge.gradient["w"] == pytest.approx(1 / 5e-5)


def test_activations_in_the_graph_are_symgd_functions() -> None:
    expr = parse("softplus(relu(x)) + leaky_relu(sigmoid(x))").expr
    graph = build_graph(expr, list(expr.free_symbols))
    kinds = {type(n.expr) for n in graph.nodes}
    assert {softplus, relu, leaky_relu, sigmoid} <= kinds


def test_page_words_come_from_the_numbers() -> None:
    from symgd.network.backprop_page import render_backprop_page

    result = backprop(TWO_LAYER, at=TWO_LAYER_AT, wrt="w1,b1,w2,b2", lr=0.5)
    context = backprop_context(result)
    agreement = context["agreement"]
    assert "agree to within" in agreement
    assert context["step"]["verdict"].startswith("The loss went down")
    page = render_backprop_page(result)
    for words in (
        "Layer 2: activation stage",
        "Layer 1: affine stage",
        "Loss stage",
        "The loss went down",
        "chain rule",
        "Sigmoid rule",
        "Product rule",
    ):
        assert words in page, words
    up = backprop("(w - 1)**2", at={"w": 0}, lr=1.5)
    assert backprop_context(up)["step"]["verdict"].startswith("The loss went up")
