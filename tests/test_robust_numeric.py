"""Numeric robustness: bounded memory and time on valid input, runs that leave the domain of f,
overflow, no NaN or infinity in results or JSON, numbers too large for floating point."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

import symgd
from symgd.base.errors import InputError
from symgd.cli import cli
from symgd.cli.common import json_text
from symgd.numeric.results import (
    MAX_PATH_FLOATS,
    PATH_HEAD,
    PATH_POINTS,
    STATUS_ORDER,
    Status,
)
from symgd.numeric.runner import descend

try:
    import numba  # noqa: F401

    BACKENDS = ("python", "numpy", "numba")
except ImportError:  # pragma: no cover - depends on the environment
    BACKENDS = ("python", "numpy")


def no_nan(text: str) -> Any:
    """``json.loads`` that fails on NaN, Infinity and -Infinity."""

    def refuse(constant: str) -> Any:
        raise AssertionError(f"JSON carries {constant}")

    return json.loads(text, parse_constant=refuse)


# -- memory: a single run keeps a thinned path unless asked for every iterate -------------------

BOWL_A = np.array([1.0, 0.5, 0.25, 2.0, 0.125])
BOWL_C = np.array([1.0, -2.0, 3.0, 0.5, -1.0])
BOWL = " + ".join(
    f"{a}*(x{i} - ({c}))**2" for i, (a, c) in enumerate(zip(BOWL_A, BOWL_C, strict=True))
)


def bowl_iterates(steps: np.ndarray, lr: float, x0: np.ndarray) -> np.ndarray:
    """Plain descent on Σ aᵢ(xᵢ − cᵢ)², in closed form: xₖ − c = (1 − 2ηa)ᵏ (x₀ − c)."""
    factor = 1 - 2 * lr * BOWL_A
    return BOWL_C + factor[None, :] ** steps[:, None] * (x0 - BOWL_C)[None, :]


# -- the lesson's stages, one at a time (what explain() checks, without runs or figures) ----------


def lesson_facts(text: str) -> Any:
    from symgd.calculus.derivation import derive
    from symgd.lesson.facts import work_out_facts

    return work_out_facts(derive(text))


def lesson_settings(facts: Any, start: Any, lr: Any, steps: Any, methods: Any) -> Any:
    from symgd.lesson.defaults import choose_settings

    return choose_settings(facts, start, lr, steps, methods).settings


def lesson_section(name: str, facts: Any, *settings: Any) -> Any:
    import importlib

    from symgd.lesson.view import as_context

    module = importlib.import_module(f"symgd.lesson.sections.{name}")
    return as_context(getattr(module, f"{name}_section")(facts, *settings))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_long_run_keeps_a_bounded_evenly_spaced_path(backend: str) -> None:
    steps, lr = (4_000 if backend == "numpy" else 20_000), 1e-5  # numpy: 0.1 ms a step
    x0 = np.zeros(5)
    run = descend(BOWL, list(x0), lr=lr, steps=steps, tol=0.0, trajectory=False, backend=backend)
    assert run.status is Status.MAX_STEPS and run.steps == steps
    kept = run.step_numbers
    # bounded: at most PATH_POINTS iterates plus the last, whatever the number of steps
    assert len(run.xs) <= PATH_POINTS + 1 and run.xs.nbytes <= (PATH_POINTS + 1) * 5 * 8
    assert not run.path_kept and len(kept) == len(run.xs) == len(run.fs)
    assert kept[0] == 0 and kept[-1] == steps
    assert list(kept[:PATH_HEAD]) == list(range(PATH_HEAD))
    gaps = np.diff(kept[PATH_HEAD:-1])
    assert len(set(gaps.tolist())) == 1 and gaps[0] & (gaps[0] - 1) == 0  # a power of two
    assert len(kept) > PATH_POINTS // 2  # thinned, not emptied
    expected = bowl_iterates(kept, lr, x0)
    np.testing.assert_allclose(run.xs, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        run.fs, ((expected - BOWL_C) ** 2 * BOWL_A).sum(axis=1), rtol=1e-9, atol=1e-12
    )


def test_newton_thinned_path_matches_its_closed_form() -> None:
    # Newton on a quadratic with η = 0.01: xₖ − x* = 0.99ᵏ (x₀ − x*) (numpy path, one start)
    run = descend(
        "(x - 3)**2 + 5*(y + 1)**2",
        [0.0, 0.0],
        method="newton",
        lr=0.01,
        steps=3000,
        tol=0.0,
        trajectory=False,
    )
    kept = run.step_numbers
    assert len(kept) < 3001 and kept[-1] == 3000
    expected = np.array([3.0, -1.0]) + 0.99 ** kept[:, None] * np.array([-3.0, 1.0])
    np.testing.assert_allclose(run.xs, expected, rtol=1e-9)


def test_every_backend_keeps_the_same_steps() -> None:
    runs = [
        descend(BOWL, [0.0] * 5, lr=1e-4, steps=5_000, tol=0.0, trajectory=False, backend=b)
        for b in BACKENDS
    ]
    for run in runs[1:]:
        np.testing.assert_array_equal(run.step_numbers, runs[0].step_numbers)
        np.testing.assert_allclose(run.xs, runs[0].xs, rtol=1e-10)


def test_trajectory_true_keeps_every_iterate_and_refuses_too_many() -> None:
    run = descend(BOWL, [0.0] * 5, lr=1e-3, steps=5000, tol=0.0, trajectory=True)
    assert run.path_kept and len(run.xs) == 5001 and run.kept_steps is None
    np.testing.assert_allclose(
        run.xs, bowl_iterates(np.arange(5001), 1e-3, np.zeros(5)), rtol=1e-9, atol=1e-12
    )
    ten = " + ".join(f"x{i}**2" for i in range(10))
    too_many = MAX_PATH_FLOATS // 10 + 10
    started = time.perf_counter()
    with pytest.raises(InputError, match="trajectory=False"):
        descend(ten, [1.0] * 10, steps=too_many, trajectory=True)
    assert time.perf_counter() - started < 2  # refused before running
    with pytest.raises(InputError, match="disagree"):
        descend(BOWL, [0.0] * 5, trajectory=True, keep_path=False)


def test_a_short_run_without_trajectory_still_keeps_every_iterate() -> None:
    run = descend("x**2 + 3*y**2", [1.0, 1.0], lr=0.1, steps=200, tol=0.0, trajectory=False)
    assert run.path_kept and len(run.xs) == 201
    np.testing.assert_array_equal(run.step_numbers, np.arange(201))


def test_cli_descend_summary_without_trajectory(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        [
            "descend",
            BOWL,
            "--start",
            "0,0,0,0,0",
            "--lr",
            "1e-5",
            "--steps",
            "50000",
            "--tol",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = no_nan(result.stdout)
    assert "trajectory" not in data and data["steps"] == 50000
    final = bowl_iterates(np.array([50000]), 1e-5, np.zeros(5))[0]
    assert [data["final"][f"x{i}"] for i in range(5)] == pytest.approx(final, rel=1e-9)
    full = runner.invoke(
        cli,
        [
            "descend",
            "x**2",
            "--start",
            "1",
            "--steps",
            "3",
            "--lr",
            "0.25",
            "--json",
            "--trajectory",
        ],
    )
    assert no_nan(full.stdout)["trajectory"] == [[1.0], [0.5], [0.25], [0.125]]


# -- leaving the domain ---------------------------------------------------------------------------


def _first_exit(
    f: Callable[..., Any], grad: Callable[..., Any], x0: list[float], lr: float, steps: int
) -> int | None:
    """The first step k at which f or ∇f has no real value, by plain Python iteration."""
    x = list(x0)
    for k in range(steps + 1):
        try:
            values = [f(*x), *grad(*x)]
        except (ValueError, ZeroDivisionError):
            return k
        if any(isinstance(v, complex) for v in values):
            return k
        x = [xi - lr * gi for xi, gi in zip(x, values[1:], strict=True)]
    return None


# (text, f, ∇f, start, learning rate)
DOMAIN_CASES: list[tuple[str, Callable[..., Any], Callable[..., Any], list[float], float]] = [
    ("sqrt(x)", lambda x: math.sqrt(x), lambda x: [0.5 / math.sqrt(x)], [1.0], 1.0),
    ("x**0.5", lambda x: x**0.5, lambda x: [0.5 * x**-0.5], [2.0], 3.0),
    ("log(x) + x**2", lambda x: math.log(x) + x * x, lambda x: [1 / x + 2 * x], [0.2], 0.5),
    ("log(x)", lambda x: math.log(x), lambda x: [1 / x], [1.0], 1.0),  # lands on 0 exactly
    ("acos(x)", lambda x: math.acos(x), lambda x: [-1 / math.sqrt(1 - x * x)], [0.5], 1.0),
    (
        "asin(x) + x**2/10",
        lambda x: math.asin(x) + x * x / 10,
        lambda x: [1 / math.sqrt(1 - x * x) + x / 5],
        [0.3],
        1.0,
    ),
    ("x*log(x)", lambda x: x * math.log(x), lambda x: [math.log(x) + 1], [0.1], 2.0),
    ("log(1 - x**2)", lambda x: math.log(1 - x * x), lambda x: [-2 * x / (1 - x * x)], [0.5], 0.5),
    (
        "log(x - y)",
        lambda x, y: math.log(x - y),
        lambda x, y: [1 / (x - y), -1 / (x - y)],
        [2.0, 1.0],
        1.0,
    ),
    (
        "sqrt(1 - x**2 - y**2)",
        lambda x, y: math.sqrt(1 - x * x - y * y),
        lambda x, y: [-x / math.sqrt(1 - x * x - y * y), -y / math.sqrt(1 - x * x - y * y)],
        [0.5, 0.1],
        0.5,
    ),
    (
        "sqrt(x) + y**2",
        lambda x, y: math.sqrt(x) + y * y,
        lambda x, y: [0.5 / math.sqrt(x), 2 * y],
        [1.0, 1.0],
        10.0,
    ),
]


# numba compiles each function (a second or two): it runs a few of the cases
DOMAIN_RUNS = [
    (case, backend)
    for case in DOMAIN_CASES
    for backend in BACKENDS
    if backend != "numba" or case[0] in ("sqrt(x)", "log(x)", "log(x - y)")
]


@pytest.mark.parametrize(
    ("case", "backend"), DOMAIN_RUNS, ids=[f"{c[0]}-{b}" for c, b in DOMAIN_RUNS]
)
def test_leaving_the_domain_is_its_own_status_at_the_right_step(
    case: tuple[str, Callable[..., Any], Callable[..., Any], list[float], float], backend: str
) -> None:
    text, f, grad, x0, lr = case
    expected = _first_exit(f, grad, x0, lr, 200)
    assert expected is not None and expected >= 1
    run = descend(text, x0, lr=lr, steps=200, backend=backend)
    assert run.status is Status.DOMAIN, (text, backend, run.message)
    assert run.domain_at == run.steps == expected and run.diverged_at is None
    assert "undefined" in run.detail and "left the domain" in run.message
    assert "without bound" not in run.message
    assert np.isfinite(run.xs).all()  # the iterate itself is a finite point
    payload = no_nan(json_text(run.to_dict()))
    assert payload["status"] == "domain" and payload["domain_at"] == expected
    assert payload["f"] is None or "f′" in run.detail or "∂f" in run.detail


@pytest.mark.parametrize("backend", ["numpy", "numba"] if "numba" in BACKENDS else ["numpy"])
def test_a_batch_marks_each_row_that_left_the_domain(backend: str) -> None:
    starts = np.array([[1.0], [4.0], [100.0], [-1.0]])
    run = descend("sqrt(x)", starts, lr=1.0, steps=50, backend=backend)
    statuses = run.row_status()
    assert statuses[3] is Status.DOMAIN  # outside from the start: step 0 in a batch
    assert run.row_steps is not None and run.row_steps[3] == 0
    for row in range(3):
        expected = _first_exit(math.sqrt, lambda x: [0.5 / math.sqrt(x)], [starts[row, 0]], 1.0, 50)
        if expected is None:
            assert statuses[row] is Status.MAX_STEPS
        else:
            assert statuses[row] is Status.DOMAIN and run.row_steps[row] == expected
    assert run.status is Status.DOMAIN and run.domain_at == 0
    assert STATUS_ORDER.index(Status.DIVERGED) < STATUS_ORDER.index(Status.DOMAIN)


@pytest.mark.parametrize(
    ("text", "start", "words"),
    [
        ("sqrt(x) + y**2", [-1.0, 1.0], "square root of a negative"),
        ("log(x)", [0.0], "logarithm"),
        ("1/x", [0.0], "division by zero"),
        ("acos(x)", [2.0], "acos"),
        ("log(x - y)", [1.0, 1.0], "logarithm"),
        ("x**0.5", [-1.0], "square root"),
        ("sqrt(x)", [0.0], "division by zero"),  # f is defined there, its derivative is not
    ],
)
def test_a_start_outside_the_domain_is_bad_input(
    text: str, start: list[float], words: str, runner: CliRunner
) -> None:
    backends = BACKENDS if text == "log(x)" else ("python", "numpy")  # numba compiles slowly
    for backend in backends:
        with pytest.raises(InputError, match=words):
            descend(text, start, backend=backend)
    result = runner.invoke(cli, ["descend", text, "--start", ",".join(map(str, start))])
    assert result.exit_code == 2
    assert "outside the domain" in result.output and "Traceback" not in result.output


def test_poles_and_overflow_are_still_divergence() -> None:
    # 1/x from the left: the iterates creep to the pole, |f| passes 1e12
    run = descend("1/x", [-1.0], lr=0.1, steps=10_000)
    assert run.status in (Status.DIVERGED, Status.MAX_STEPS)
    if run.status is Status.DIVERGED:
        assert run.diverged_at == run.steps and run.domain_at is None
    exp = descend("exp(x)", [0.0], method="ascent", lr=1.0, steps=100)
    assert exp.status is Status.DIVERGED and exp.diverged_at == 3


# -- overflow: a clear status, no warning, no NaN or inf in the output -----------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_huge_learning_rate_diverges_without_a_warning(backend: str) -> None:
    # pytest turns warnings into errors (filterwarnings = error): a leaking warning fails here
    run = descend("x**2 + y**2", [1.0, 2.0], lr=1e308, steps=10, backend=backend)
    assert run.status is Status.DIVERGED and run.diverged_at == 1
    x1 = 1.0 - 1e308 * 2.0  # -inf in IEEE arithmetic: the first step already overflows
    assert math.isinf(x1)
    payload = no_nan(json_text(run.to_dict(trajectory=True)))
    assert payload["final"] == {"x": None, "y": None} and payload["f"] is None
    assert payload["trajectory"][0] == [1.0, 2.0]


def test_cli_huge_learning_rate_prints_words_not_inf(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["descend", "x**2", "--start", "1", "--lr", "1e308", "--trajectory"]
    )
    assert result.exit_code == 0
    assert "diverged" in result.output
    for word in ("inf", "nan", "NaN"):
        assert word not in result.output.replace("infinite", ""), result.output
    data = no_nan(
        runner.invoke(cli, ["descend", "x**2", "--start", "1", "--lr", "1e308", "--json"]).stdout
    )
    nulls = {key for key, value in data.items() if value is None}
    assert nulls <= {"f", "grad_norm", "domain_at", "diverged_at"}
    assert data["status"] == "diverged" and data["final"] == {"x": None}


def test_cli_domain_json_uses_null_only_where_documented(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["descend", "sqrt(x) + y**2", "--start", "1,1", "--lr", "10", "--json"]
    )
    data = no_nan(result.stdout)
    assert data["status"] == "domain" and data["domain_at"] == 1
    assert data["final"] == {"x": -4.0, "y": -19.0}  # 1 - 10/2, 1 - 10·2
    assert {k for k, v in data.items() if v is None} <= {"f", "grad_norm", "diverged_at"}
    assert "square root of a negative number" in data["detail"]


# -- numbers too large for floating point, and other bad API values ----------------------------


def test_huge_python_ints_are_input_errors() -> None:
    big = 10**400
    for call in (
        lambda: descend("x**2", [big]),
        lambda: descend("x**2 + y**2", {"x": 1, "y": big}),
        lambda: descend("x**2", [[1.0], [big]]),
        lambda: descend("x**2", [1.0], lr=big),
        lambda: descend("x**2", [1.0], tol=big),
        lambda: symgd.fit("(y - w*x)**2", {"x": [1, 2, big], "y": [1, 2, 3]}, "w"),
        lambda: symgd.fit("(y - w*x)**2", {"x": [1, 2], "y": [1, 2]}, "w", start=[big]),
    ):
        with pytest.raises(InputError):
            call()


def test_method_must_be_a_name() -> None:
    for method in (5, None, ["gd"]):
        with pytest.raises(InputError):
            descend("x**2", [1.0], method=method)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="methods"):
        symgd.explain("x**2", methods=5)  # type: ignore[arg-type]
    facts = lesson_facts("x**2")
    with pytest.raises(InputError, match="too large"):
        lesson_settings(facts, [10**400], None, None, None)
    with pytest.raises(InputError, match="learning rate"):
        lesson_settings(facts, [1], 10**400, None, None)
    with pytest.raises(InputError, match="methods"):
        lesson_settings(facts, [1], 0.1, None, 5)
    with pytest.raises(InputError):
        symgd.fit("(y - w*x)**2", {"x": [1, 2], "y": [1, 2]}, "w", method=5)  # type: ignore[arg-type]


def test_a_start_too_far_out_for_a_lesson_is_bad_input(runner: CliRunner) -> None:
    with pytest.raises(InputError, match="1e12"):
        lesson_settings(lesson_facts("x**2 + y**2"), [1e150, 1e150], None, None, None)
    with pytest.raises(InputError, match="too large for floating point"):
        lesson_settings(lesson_facts("x**1000"), [3], None, None, None)  # 3¹⁰⁰⁰ ≈ 1.3e477
    result = runner.invoke(cli, ["explain", "x**2+y**2", "--start", "1e150,1e150"])
    assert result.exit_code == 2 and "1e12" in result.output


# -- fits -----------------------------------------------------------------------------------------


def test_fit_on_huge_data_diverges_with_a_reason_and_no_warning() -> None:
    data = {"x": [1.0, 2.0, 1e308], "y": [1.0, 2.0, 3.0]}
    result = symgd.fit("(y - (w*x + b))**2", data, "w,b")
    assert result.status is Status.DIVERGED and result.diverged_at == 0
    assert "overflow" in result.reason and result.least_squares is None
    payload = no_nan(json_text(result.to_dict()))
    assert payload["status"] == "diverged" and payload["grad_norm"] is None
    moderate = symgd.fit("(y - (w*x + b))**2", {"x": [1.0, 2.0, 1e154], "y": [1, 2, 3]}, "w,b")
    no_nan(json_text(moderate.to_dict()))


def test_fit_that_leaves_the_domain_says_so_at_the_right_update() -> None:
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([0.5, 1.0, 0.2])
    lr = 4.0
    for batch in ("full", 1):
        result = symgd.fit(
            "(log(w*x) - y)**2",
            {"x": x, "y": y},
            "w",
            lr=lr,
            start=[1.0],
            batch_size=batch,
            shuffle=False,
        )
        # the same updates by hand: the rows in order, mean gradient 2(log(wx) − y)/w
        w, k, expected = 1.0, 0, None
        size = 3 if batch == "full" else 1
        while expected is None and k < 300:
            for lo in range(0, 3, size):
                rows = slice(lo, lo + size)
                if (w * x[rows] <= 0).any():
                    expected = k
                    break
                w -= lr * float(np.mean(2 * (np.log(w * x[rows]) - y[rows]) / w))
                k += 1
                if w <= 0:
                    expected = k
                    break
        assert expected is not None
        assert result.status is Status.DOMAIN, (batch, result.reason)
        assert result.domain_at == expected and result.diverged_at is None
        assert "not a real number" in result.reason
        payload = no_nan(json_text(result.to_dict()))
        assert payload["status"] == "domain" and payload["domain_at"] == expected
    with pytest.raises(InputError, match="outside the domain"):
        symgd.fit("(log(w*x) - y)**2", {"x": x, "y": y}, "w", start=[-1.0])


# -- exact hand steps stay small ------------------------------------------------------------------


def test_exact_evaluation_stops_before_the_numbers_explode() -> None:
    from symgd.calculus.exact import TooLarge, decimal_at, exact_at

    x = sp.Symbol("x")
    point = {x: sp.Rational(1999, 2000)}
    started = time.perf_counter()
    with pytest.raises(TooLarge):
        exact_at(x**1000, point)
    assert time.perf_counter() - started < 0.5
    value = decimal_at(x**1000, point)
    assert float(value) == pytest.approx(0.9995**1000, rel=1e-12)
    small = x**3 - 2 * x
    assert exact_at(small, point) == small.xreplace(point)


def test_hand_steps_switch_to_decimals_and_say_so() -> None:
    facts = lesson_facts("x**1000")
    settings = lesson_settings(facts, [1], 1e-7, 10, ["gd"])
    started = time.perf_counter()
    hand = lesson_section("hand", facts, settings)
    assert time.perf_counter() - started < 5
    assert "more than 200 digits" in hand["intro"] and "decimals" in hand["intro"]
    x1 = 1 - 1e-7 * 1000
    x2 = x1 - 1e-7 * 1000 * x1**999
    f1, f2 = x1**1000, x2**1000
    assert f"{f1:.6g}" in hand["steps"][0]["value_latex"]
    assert f"{f2:.6g}" in hand["steps"][1]["value_latex"]
    assert hand["steps"][0]["comment"].startswith("f went down")


def test_hand_steps_stop_where_f_is_undefined() -> None:
    facts = lesson_facts("sqrt(x) + y**2")
    hand = lesson_section("hand", facts, lesson_settings(facts, [1, 1], 10, 10, ["gd"]))
    assert len(hand["steps"]) == 1 and "undefined" in hand["steps"][0]["value_latex"]
    assert "outside the domain" in hand["steps"][0]["comment"]
    assert "stop here" in hand["note"]


def test_handout_of_a_high_power_works_in_decimals() -> None:
    from symgd.handout import build_handout, handout_to_json

    started = time.perf_counter()
    handout = build_handout(["x**1000"], variants=1, workers=1)
    assert time.perf_counter() - started < 30
    key = no_nan(json_text(handout_to_json(handout)))
    steps = [e for e in key["variants"][0]["exercises"] if e["kind"] == "descent_steps"]
    assert steps and "four decimal places" in steps[0]["question"]


def test_handout_size_is_capped_with_a_clear_message() -> None:
    from symgd.base.limits import MAX_SHEETS, MAX_VARIANTS
    from symgd.handout.build import build_handout

    with pytest.raises(InputError, match=f"from 1 to {MAX_VARIANTS}"):
        build_handout(["x**2"], variants=MAX_VARIANTS + 1)
    with pytest.raises(InputError, match=f"at most {MAX_SHEETS}"):
        build_handout(["x**2", "y**2", "x*y"], variants=MAX_VARIANTS)


# -- a lesson on many variables is shown compactly and fast ---------------------------------------


def test_a_hundred_variable_lesson_is_compact() -> None:
    from symgd.render.latex import MAX_SHOWN_ENTRIES

    text = " + ".join(f"x{i}**2" for i in range(1, 101))
    started = time.perf_counter()
    facts = lesson_facts(text)
    settings = lesson_settings(facts, None, None, 20, ["gd"])
    derivatives = lesson_section("derivatives", facts)
    curvature = lesson_section("curvature", facts)
    hand = lesson_section("hand", facts, settings)
    differential = lesson_section("differential", facts, settings)
    assert time.perf_counter() - started < 30
    assert r"\operatorname{diag}" in curvature["hessian_latex"]
    assert curvature["hessian_latex"].count("2") <= 2 * MAX_SHOWN_ENTRIES
    assert derivatives["gradient_latex"].count(r"\\") < MAX_SHOWN_ENTRIES
    assert r"\vdots" in derivatives["gradient_latex"]
    assert len(derivatives["partials"]) < MAX_SHOWN_ENTRIES
    assert all(len(step["update_latex"]) < 2000 for step in hand["steps"])
    assert len(differential["latex"]) < 2000
    assert any(
        "shown in part" in note for note in lesson_section("function", facts, settings)["notes"]
    )


def test_a_lesson_whose_runs_leave_the_domain(runner: CliRunner, tmp_path: Any) -> None:
    result = runner.invoke(
        cli,
        [
            "explain",
            "sqrt(x) + y**2",
            "--start",
            "1,1",
            "--lr",
            "10",
            "--methods",
            "gd",
            "-o",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = no_nan(result.stdout)
    assert [run["status"] for run in data["runs"]] == ["domain"]
    page = (tmp_path / "report.html").read_text()
    assert "left the domain of f" in page
    assert "fell without bound" not in page and "grew without bound" not in page
