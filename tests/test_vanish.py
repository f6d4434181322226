"""``symgd.network.vanish``: the chain of the notes, its gradients checked against plain loops,
SymPy's derivative of the whole composition, the worked facts of the notes, and the page's
words against the numbers."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest

from symgd.base.errors import InputError
from symgd.network.vanish import ACTIVATION_NAMES, below_layers, vanish

# -- an independent forward and backward pass, written the long way --------------------------


def act(name: str, z: float) -> float:
    if name == "sigmoid":
        return 1 / (1 + math.exp(-z))
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return z if z > 0 else 0.0
    return z if z > 0 else 0.01 * z


def slope(name: str, z: float) -> float:
    if name == "sigmoid":
        s = 1 / (1 + math.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - math.tanh(z) ** 2
    if name == "relu":
        return 1.0 if z > 0 else 0.0
    return 1.0 if z > 0 else 0.01


def by_hand(name: str, n: int, w: float, b: float, x: float) -> tuple[list[float], ...]:
    """z, p, a′(z) and every ∂p_N/∂w_k = p_{k−1} a′(z_k) Π_{j>k} w a′(z_j), product by product."""
    zs, ps = [], [x]
    for _ in range(n):
        zs.append(w * ps[-1] + b)
        ps.append(act(name, zs[-1]))
    ds = [slope(name, z) for z in zs]
    grads = []
    for k in range(n):
        g = ps[k] * ds[k]
        for j in range(k + 1, n):
            g *= w * ds[j]
        grads.append(g)
    return zs, ps[1:], ds, grads


SETTINGS = [
    (10, 1.0, 0.0, 1.0),
    (10, 2.0, -1.0, 1.0),
    (7, -0.7, 0.3, 2.0),
    (12, 0.5, -0.2, -1.0),
    (1, 1.5, 0.25, -0.5),
    (10, 5.0, 0.0, 1.0),
    (40, 1.0, 0.0, 1.0),
]


@pytest.mark.parametrize(("n", "w", "b", "x"), SETTINGS)
def test_every_value_matches_the_plain_loop(n: int, w: float, b: float, x: float) -> None:
    result = vanish(depth=n, weight=w, bias=b, input=x)
    for chain in result.chains:
        zs, ps, ds, grads = by_hand(chain.name, n, w, b, x)
        for got, want in (
            (chain.z, zs),
            (chain.p, ps),
            (chain.derivatives, ds),
            (chain.grad_w, grads),
        ):
            assert len(got) == n
            for g, h in zip(got, want, strict=True):
                assert g == pytest.approx(h, rel=1e-9, abs=1e-300), (chain.name, got, want)


def test_the_worked_facts_of_the_notes() -> None:
    result = vanish()
    sigmoid = result.chain("sigmoid")
    assert sigmoid.grad_w[0] == pytest.approx(2.785e-7, rel=2e-4)
    assert sigmoid.grad_w[-1] == pytest.approx(0.1481, rel=2e-4)
    assert sigmoid.grad_w[-1] / sigmoid.grad_w[0] == pytest.approx(5.3e5, rel=0.01)
    assert result.chain("tanh").grad_w[0] == pytest.approx(0.0409, rel=1e-3)
    for name in ("relu", "leaky_relu"):
        chain = result.chain(name)
        assert chain.grad_w == (1.0,) * 10
        assert chain.exact_grad == (Fraction(1),) * 10


def test_exact_values_where_they_are_short() -> None:
    """σ′(0) = 1/4 and σ(0) = 1/2 exactly; ReLU and Leaky ReLU stay rational all the way."""
    result = vanish(depth=3, weight=Fraction(1, 2), bias=0, input=0)
    sigmoid = result.chain("sigmoid")
    assert sigmoid.exact_derivatives[0] == Fraction(1, 4)
    assert sigmoid.exact_p[0] == Fraction(1, 2)
    assert sigmoid.exact_derivatives[1] is None  # z₂ = 1/4: σ′ is not rational there
    leaky = vanish(depth=3, bias=-0.5, input=0.1, activations="leaky_relu").chain("leaky_relu")
    # z₁ = 1/10 − 1/2 = −2/5, p₁ = −1/250; z₂ = −1/250 − 1/2 = −63/125, ...
    assert leaky.exact_z[:2] == (Fraction(-2, 5), Fraction(-63, 125))
    assert leaky.exact_derivatives == (Fraction(1, 100),) * 3


@pytest.mark.parametrize(
    ("w", "b", "x"),
    [(1, 0, 1), (Fraction(-7, 10), Fraction(3, 10), 2), (-1, 1, 1), (1, -2, 1)],
)
def test_gradients_equal_sympys_derivative_of_the_whole_expression(
    w: Fraction | int, b: Fraction | int, x: int
) -> None:
    """Four layers composed as one SymPy expression in w₁..w₄, differentiated by sympy.diff
    with respect to each weight and evaluated exactly: the same as the backward pass."""
    import sympy as sp

    from symgd.expr.activations import leaky_relu, relu, sigmoid

    functions = {"sigmoid": sigmoid, "tanh": sp.tanh, "relu": relu, "leaky_relu": leaky_relu}
    weights = sp.symbols("w1:5")
    values = {s: sp.Rational(w) for s in weights}
    result = vanish(depth=4, weight=w, bias=b, input=x)
    for chain in result.chains:
        a = functions[chain.name]
        p: sp.Expr = sp.Integer(x)
        for symbol in weights:
            p = a(symbol * p + sp.Rational(b))
        for k, symbol in enumerate(weights):
            derivative = sp.diff(p, symbol).subs(values)
            expected = float(sp.N(derivative, 20))
            assert chain.grad_w[k] == pytest.approx(expected, rel=1e-12, abs=1e-15), (
                chain.name,
                k + 1,
            )


def test_json_shape_and_numbers() -> None:
    result = vanish(depth=5, activations="tanh, relu", weight=-1.5, bias=0.5, input=2)
    data = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert set(data) == {"depth", "weight", "bias", "input", "activations"}
    assert (data["depth"], data["weight"], data["bias"], data["input"]) == (5, -1.5, 0.5, 2.0)
    assert list(data["activations"]) == ["tanh", "relu"]
    for name, entry in data["activations"].items():
        assert set(entry) == {"z", "p", "derivatives", "grad_w", "bound"}
        assert all(len(entry[key]) == 5 for key in ("z", "p", "derivatives", "grad_w"))
        assert all(isinstance(v, float) for v in entry["grad_w"])
        assert entry["grad_w"] == pytest.approx(by_hand(name, 5, -1.5, 0.5, 2)[3], rel=1e-12)
    assert data["activations"]["tanh"]["bound"] == "tanh′(z) ≤ 1"
    assert data["activations"]["relu"]["bound"] == "relu′(z) ∈ {0, 1}"


def test_underflow_is_zero_in_json_and_its_size_is_kept() -> None:
    """W = 10, 200 layers: sigmoid's early gradients are far below float range; the JSON holds
    0.0 and the logarithm holds the size, checked against a sum of logs by hand."""
    result = vanish(depth=200, weight=10, activations="sigmoid")
    chain = result.chain("sigmoid")
    ds = by_hand("sigmoid", 200, 10.0, 0.0, 1.0)[2]
    log_first = math.log10(1.0) + sum(math.log10(d) for d in ds) + 199 * math.log10(10)
    assert chain.grad_w[0] == 0.0
    assert chain.log10_grad[0] == pytest.approx(log_first, abs=1e-9)
    assert log_first < -600
    underflowed = [
        k for k in range(1, 201) if chain.log10_grad[k - 1] < math.log10(2.2250738585072014e-308)
    ]
    assert chain.underflowed() == tuple(underflowed)
    assert json.dumps(result.to_json(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"activations": "sigmoid,softmax"}, "unknown activation 'softmax'"),
        ({"activations": ""}, "unknown activation ''"),
        ({"depth": 0}, "depth must be between 1 and 200"),
        ({"depth": 201}, "depth must be between 1 and 200"),
        ({"depth": 2.5}, "depth must be a whole number"),
        ({"depth": True}, "depth must be a whole number"),
        ({"weight": math.nan}, "the weight must be a finite number"),
        ({"bias": math.inf}, "the bias must be a finite number"),
        ({"input": "one"}, "the input must be a finite number"),
        ({"input": 10**400}, "the input must be a finite number"),
    ],
)
def test_bad_input_is_an_input_error_naming_it(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        vanish(**kwargs)  # type: ignore[arg-type]


def test_values_beyond_float_range_are_refused() -> None:
    with pytest.raises(InputError, match="beyond the largest float"):
        vanish(depth=200, weight=1e3, activations="relu")


# -- the words against the numbers -----------------------------------------------------------


def words(result: object, name: str) -> list[str]:
    from symgd.network.vanish_page import vanish_context

    context = vanish_context(result)  # type: ignore[arg-type]
    block = next(c for c in context["chains"] if c["id"] == name.replace("_", "-"))
    return [w["text"] for w in block["words"]]


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """The words do not need the figures drawn (the page tests draw them)."""
    if not request.node.name.startswith("test_page"):
        import symgd.network.vanish_page as page

        monkeypatch.setattr(page, "_figures", lambda result: {})


def test_default_depth_says_no_layer_is_below_a_millionth_and_when_one_would_be() -> None:
    """Layer 1 is at 1.88 × 10⁻⁶ of layer 10; eleven layers is the first chain where a layer
    drops below 10⁻⁶ (checked with the plain loop at depths 10 and 11)."""
    for n, below in ((10, False), (11, True)):
        grads = by_hand("sigmoid", n, 1.0, 0.0, 1.0)[3]
        assert (min(abs(g) for g in grads[:-1]) < 1e-6 * abs(grads[-1])) is below
    said = " ".join(words(vanish(), "sigmoid"))
    assert "No layer's gradient is below 10⁻⁶ of the last layer's" in said
    assert "layer 1's, 1.88 × 10⁻⁶" in said
    assert "11 layers is the shortest chain" in said


@pytest.mark.parametrize(("n", "w"), [(200, 1.0), (10, 5.0), (30, 1.0)])
def test_the_vanishing_layer_named_is_the_one_in_the_numbers(n: int, w: float) -> None:
    grads = by_hand("sigmoid", n, w, 0.0, 1.0)[3]
    last = abs(grads[-1])
    below = [k for k in range(1, n) if abs(grads[k - 1]) < 1e-6 * last]
    assert below == list(range(1, below[-1] + 1))  # a prefix here
    result = vanish(depth=n, weight=w)
    assert below_layers(result.chain("sigmoid")) == tuple(below)
    said = " ".join(words(result, "sigmoid"))
    assert f"Layers 1–{below[-1]} have gradients below 10⁻⁶ of the last layer's" in said
    assert f"first drops below that at layer {below[-1]}." in said


def test_relu_passes_the_gradient_when_every_z_is_positive() -> None:
    said = " ".join(words(vanish(), "relu"))
    assert "Every pre-activation zₖ is positive" in said
    assert "every ReLU′ factor is exactly 1" in said
    assert "With |W| = 1 nothing shrinks" in said
    assert "Every layer's gradient equals the last layer's." in said
    grown = " ".join(words(vanish(weight=2, bias=-1), "relu"))
    assert "grows by a factor 2 per layer going back" in grown
    assert vanish(weight=2, bias=-1).chain("relu").grad_w[0] == 2.0**9


def test_a_negative_pre_activation_cuts_relu_and_the_page_names_the_layer() -> None:
    """B = −2: every z_k is negative (z₁ = −1, then −2 onward); the last one, layer 10, cuts
    every path, and every gradient is 0."""
    result = vanish(bias=-2)
    chain = result.chain("relu")
    zs = by_hand("relu", 10, 1.0, -2.0, 1.0)[0]
    assert all(z < 0 for z in zs) and zs[-1] == -2.0
    assert chain.grad_w == (0.0,) * 10
    said = " ".join(words(result, "relu"))
    assert "At layer 10 the pre-activation z₁₀ = −2 is negative" in said
    assert "layers 1–10" in said
    assert "The last layer's gradient is 0 here" in said


def test_relu_at_exactly_zero_and_zero_inputs() -> None:
    """W = −1, B = 1: z alternates 0, 1, 0, ...; ReLU′(0) = 0 (symgd's convention) cuts at
    the deepest zero, layer 9, and layer 10 multiplies p₉ = 0."""
    result = vanish(weight=-1, bias=1)
    zs = by_hand("relu", 10, -1.0, 1.0, 1.0)[0]
    assert [k for k, z in enumerate(zs, 1) if z <= 0] == [1, 3, 5, 7, 9]
    said = " ".join(words(result, "relu"))
    assert "At layer 9 the pre-activation z₉ is exactly 0" in said
    assert (
        "The gradient of layer 10 is exactly 0 because the weight multiplies an input of 0" in said
    )


def test_leaky_relu_keeps_a_hundredth_per_negative_layer() -> None:
    result = vanish(bias=-2)
    chain = result.chain("leaky_relu")
    zs, _, _, grads = by_hand("leaky_relu", 10, 1.0, -2.0, 1.0)
    negative = sum(z <= 0 for z in zs)
    assert negative == 10
    assert chain.exact_grad[0] == Fraction(1, 100) ** 10  # x · 0.01¹⁰ · W⁹, W = x = 1
    assert grads[0] == pytest.approx(1e-20)
    said = " ".join(words(result, "leaky_relu"))
    assert "Layers 1–10 have z ≤ 0" in said
    assert "passes through 10 such factors" in said
    assert "and is 10⁻²⁰: scaled down, but not 0." in said


def test_depth_one_and_zero_input_say_only_what_holds() -> None:
    one = " ".join(words(vanish(depth=1), "sigmoid"))
    assert "With a single layer there is no earlier layer to compare" in one
    assert "0.1966" in one
    zero = words(vanish(input=0), "tanh")
    assert any("exactly 0 because each weight multiplies an input of 0" in w for w in zero)
    assert "The last layer's gradient is 0 here, so no ratio to it can be formed." in zero
    assert not any("below 10⁻⁶" in w for w in zero)


def test_sigmoid_bound_and_saturation_with_a_large_weight() -> None:
    """W = 5: every |z_k| is near 5, so σ′(z_k) ≈ 0.0066, far under the bound 1/4."""
    result = vanish(weight=5)
    ds = by_hand("sigmoid", 10, 5.0, 0.0, 1.0)[2]
    assert max(ds) < 0.007
    said = " ".join(words(result, "sigmoid"))
    assert "|zₖ| runs from 4.965 to 5" in said
    bound = 5.0**9 / 4**10
    assert f"= {bound:.4g}; here it is" in said
    assert abs(result.chain("sigmoid").grad_w[0]) <= bound


def test_a_factor_just_below_the_bound_is_not_shown_as_the_bound() -> None:
    from symgd.network.vanish_words import below_bound_text

    assert below_bound_text(0.2499502, 0.25) == "0.24995"
    assert below_bound_text(0.1966, 0.25) == "0.1966"


def test_underflow_is_said_on_the_page() -> None:
    from symgd.network.vanish_page import vanish_context

    context = vanish_context(vanish(depth=200, weight=10, activations="sigmoid"))
    notes = " ".join(context["notes"])
    first_normal = min(
        k
        for k in range(1, 201)
        if vanish(depth=200, weight=10, activations="sigmoid").chain("sigmoid").grad_w[k - 1] != 0.0
    )
    assert f"the gradients of layers 1–{first_normal - 1} are smaller than the smallest" in notes
    assert "The JSON holds 0.0 for them" in notes


# -- the page ----------------------------------------------------------------------------------


def test_page_reads_the_numbers_and_elides_long_tables(tmp_path: object) -> None:
    import re

    result = vanish(depth=40, activations=ACTIVATION_NAMES)
    html = result.html()
    assert html.startswith("<!DOCTYPE html>")
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Layers 11–30 are left out of this table" in text
    assert text.count("⋯") >= 4
    assert "nan" not in text.lower().split()
    assert html.count('<figure class="plot') == 4  # two figures, each for wide and phone
    assert "2.785" not in text  # depth 40 has its own numbers
    first = result.chain("sigmoid").grad_w[0]
    mantissa = f"{first:.4g}".split("e")[0]
    assert mantissa in text
