"""The lesson: its numbers checked against independent arithmetic, defaults, prose, and a
snapshot of the whole context (LaTeX and words, figures left out).

Regenerate the snapshot after an intended change with ``python tests/test_lesson.py``.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("SYMGD_SERIAL", "1")  # draw figures in-process: faster for many lessons

from symgd.base.errors import InputError
from symgd.calculus.exact import exact_number
from symgd.lesson.page import Lesson, explain, print_parts
from symgd.numeric.regimes import classify_signal

SNAPSHOT = Path(__file__).parent / "snapshots" / "lesson_saddle.json"


@pytest.fixture(scope="module")
def saddle() -> Lesson:
    return explain("x**2+2*x*y", start=(1, 2), lr=0.1, steps=150)


@pytest.fixture(scope="module")
def parabola() -> Lesson:
    return explain("w**2")


@pytest.fixture(scope="module")
def three() -> Lesson:
    return explain("x**2 + 2*y**2 + 3*z**2 + x*y", methods="gd")


def latex_numbers(latex: str) -> list[Fraction]:
    r"""The fractions ``\frac{p}{q}`` (with their signs) and integers in a LaTeX string."""
    text = re.sub(r"- \\frac", r"-\\frac", latex)
    found = []
    for sign, p, q in re.findall(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", text):
        found.append(Fraction(int(p), int(q)) * (-1 if sign else 1))
    return found


# -- the saddle, worked by hand ----------------------------------------------------------------


def test_first_two_steps_are_exact(saddle: Lesson) -> None:
    eta = Fraction(1, 10)
    x = [Fraction(1), Fraction(2)]
    expected = []
    for _ in range(2):
        grad = [2 * x[0] + 2 * x[1], 2 * x[0]]
        x = [a - eta * g for a, g in zip(x, grad, strict=True)]
        expected.append((grad, x, x[0] ** 2 + 2 * x[0] * x[1]))
    steps = saddle.context["hand"]["steps"]
    assert [s["k"] for s in steps] == [1, 2]
    (_, x1, f1), (g2, x2, f2) = expected
    assert x1 == [Fraction(2, 5), Fraction(9, 5)]
    first, second = steps
    assert first["gradient_latex"].endswith(r"\begin{pmatrix}6 \\ 2\end{pmatrix}")
    assert latex_numbers(first["update_latex"])[-2:] == x1
    assert latex_numbers(second["gradient_latex"]) == g2
    assert latex_numbers(second["update_latex"])[-2:] == x2
    assert latex_numbers(first["value_latex"])[0] == f1
    assert latex_numbers(second["value_latex"])[0] == f2
    assert "exact" in saddle.context["hand"]["intro"]


def test_cos_theta_numbers(saddle: Lesson) -> None:
    steep = saddle.context["steepest"]
    assert math.isclose(steep["norm"], math.hypot(6, 2))
    assert r"2 \sqrt{10}" in steep["norm_latex"]
    assert [row["theta"] for row in steep["rows"]] == [0, 90, 180]
    assert steep["rows"][1]["latex"] == "0"
    assert r"2 \sqrt{10}" in steep["rows"][0]["latex"]
    assert steep["rows"][2]["latex"].startswith(r"-\lVert\nabla f\rVert")
    # the steepest-descent direction is -(6, 2)/|(6, 2)|
    assert r"- \frac{3 \sqrt{10}}{10}" in steep["direction_latex"]
    assert r"- \frac{\sqrt{10}}{10}" in steep["direction_latex"]


def test_curvature_of_the_saddle(saddle: Lesson) -> None:
    curvature = saddle.context["curvature"]
    assert "f is a quadratic" in curvature["constant_note"]
    assert r"1 - \sqrt{5}" in curvature["eigen_latex"]
    assert r"1 + \sqrt{5}" in curvature["eigen_latex"]
    assert [p["kind"] for p in curvature["points"]] == ["saddle"]
    assert curvature["convexity"]["verdict"] == "neither"


def test_saddle_summary_says_unbounded_and_names_the_direction(saddle: Lesson) -> None:
    text = " ".join(saddle.context["summary"]["paragraphs"])
    assert "unbounded below" in text
    assert "1 − √5" in text
    values, vectors = np.linalg.eigh(np.array([[2.0, 2.0], [2.0, 0.0]]))
    v = vectors[:, 0] * np.sign(vectors[np.argmax(np.abs(vectors[:, 0])), 0])
    assert f"({v[0]:.3g}, {v[1]:.3g})".replace("-", "−") in text
    assert values[0] < 0


def test_diverged_runs_show_words_not_overflow(saddle: Lesson) -> None:
    gd = next(row for row in saddle.context["runs"]["table"] if row["method"] == "gd")
    # f falls without bound (its facts say so): the badge names that, not a bad η
    assert gd["outcome"] == "f unbounded below" and gd["tone"] == "bad"
    assert saddle.trajectories[0].status.value == "diverged"
    assert "ran away" in gd["point_latex"]
    assert "without bound" in gd["f_text"]
    assert "e+" not in json.dumps(saddle.context["runs"]["table"])


def test_saddle_rates_along_the_top_eigenvector(saddle: Lesson) -> None:
    rates = saddle.context["rates"]
    assert r"1 + \sqrt{5}" in rates["bound_latex"]
    assert [r["observed"] for r in rates["regimes"]] == ["monotone", "oscillating", "divergent"]
    assert any("negative eigenvalue" in t for t in rates["text"])


# -- one variable: the three regimes of LESSON.md ----------------------------------------------


def test_parabola_defaults_are_stated_and_sensible(parabola: Lesson) -> None:
    values = parabola.context["settings_values"]
    assert values["defaults"] == ["lr", "methods", "start", "steps"]
    assert values["start"] != [0.0]
    assert 0 < values["lr"] < 1 / 2  # λ = 2: monotone and stable
    assert Fraction(values["lr"]).limit_denominator(1000).denominator <= 100
    for item in parabola.context["settings"]:
        assert item["chosen_by_symgd"] and len(item["reason"]) > 20
    gd = parabola.trajectories[0]
    assert gd.status.value == "converged" and gd.steps <= values["steps"]


def test_parabola_regimes_match_the_worked_facts(parabola: Lesson) -> None:
    regimes = parabola.context["rates"]["regimes"]
    assert [r["eta_latex"] for r in regimes] == [r"\eta = 0.4", r"\eta = 0.6", r"\eta = 1.2"]
    assert [r["observed"] for r in regimes] == ["monotone", "oscillating", "divergent"]
    start = parabola.context["settings_values"]["start"][0]
    for regime, eta in zip(regimes, (0.4, 0.6, 1.2), strict=True):
        shown = [float(v) for v in re.findall(r"-?[\d.]+", regime["first_latex"])]
        assert shown == pytest.approx([start * (1 - 2 * eta) ** k for k in range(4)], rel=1e-3)


def test_one_variable_uses_the_curve(parabola: Lesson) -> None:
    runs = parabola.context["runs"]
    assert runs["picture"].startswith("<svg") and runs["no_contour"] is None
    assert "tangent" in runs["picture_caption"]


# -- three variables -----------------------------------------------------------------------------


def test_three_variables_explain_why_no_contour(three: Lesson) -> None:
    runs = three.context["runs"]
    assert runs["picture"] is None
    assert "3 variables" in runs["no_contour"] and "contour" in runs["no_contour"]
    assert runs["traces"].startswith("<svg")
    assert three.context["curvature"]["convexity"]["verdict"] == "strictly convex"
    assert [r["method"] for r in runs["table"]] == ["gd"]


def test_bowl_converges_in_the_number_of_steps_the_algebra_predicts() -> None:
    lesson = explain("x**2 + y**2", start=(-3, 4), lr=0.1, steps=200, methods=["gd"])
    run = lesson.trajectories[0]
    # x_k = 0.8^k x_0, |∇f(x_k)| = 2 · 5 · 0.8^k: the first k with 10 · 0.8^k < 1e-8
    expected = math.ceil(math.log(1e-9) / math.log(0.8))
    assert run.status.value == "converged" and run.steps == expected
    assert run.xs[-1] == pytest.approx(0.8**expected * np.array([-3.0, 4.0]), rel=1e-9)
    assert "global" in " ".join(lesson.context["summary"]["paragraphs"])


def test_several_minima_name_the_one_reached() -> None:
    lesson = explain(
        "(x**2+y-11)**2+(x+y**2-7)**2", start=(-1, -1), lr=0.01, steps=600, methods="gd"
    )
    run = lesson.trajectories[0]
    assert run.status.value == "converged"
    x, y = run.xs[-1]
    gradient = (
        4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),
        2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7),
    )
    assert np.hypot(*gradient) < 1e-6
    reached = f"({x:.4g}, {y:.4g})".replace("-", "−")
    assert reached in lesson.context["summary"]["paragraphs"][0]
    basins = lesson.context["runs"]["basins"]
    assert basins is not None and "4 minima" in basins["text"]
    assert basins["figure"].startswith("<svg")


def test_no_critical_point_is_explained() -> None:
    lesson = explain("sigmoid(w*x+b)", steps=300)
    assert lesson.context["curvature"]["points"] == []
    text = " ".join(lesson.context["summary"]["paragraphs"])
    assert "critical point" in text and "vanishing-gradient" in text


# -- choices and errors ---------------------------------------------------------------------------


def test_exact_number_reads_decimals_as_people_mean_them() -> None:
    import sympy as sp

    assert exact_number(0.1) == sp.Rational(1, 10)
    assert exact_number(-2.5) == sp.Rational(-5, 2)
    assert exact_number(3) == 3
    assert exact_number(1e-20) == sp.Rational(1, 10**20)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1.0, 0.2, 0.04, 0.008], "monotone"),
        ([1.0, -0.2, 0.04, -0.008], "oscillating"),
        ([1.0, -1.4, 1.96, -2.744], "divergent"),
    ],
)
def test_classify_signal(values: list[float], kind: str) -> None:
    assert classify_signal(values) == kind


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": (1, 2, 3)}, "3 value"),
        ({"start": {"x": 1}}, "no value for y"),
        ({"start": {"x": 1, "q": 2}}, "not a variable"),
        ({"lr": -0.1}, "positive"),
        ({"lr": float("nan")}, "positive"),
        ({"steps": 0}, "steps"),
        ({"methods": "gd,sideways"}, "unknown method"),
        ({"methods": ""}, "no optimizer"),
    ],
)
def test_bad_choices_are_input_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        explain("x**2 + y**2", **kwargs)


def test_start_outside_the_domain_is_refused() -> None:
    with pytest.raises(InputError, match="undefined"):
        explain("log(x) + y**2", start=(-1, 1))


def test_default_start_avoids_critical_points_and_the_domain_edge() -> None:
    lesson = explain("log(x) + (y - 1)**2", methods="gd", steps=50)
    x0, y0 = lesson.context["settings_values"]["start"]
    assert x0 > 0
    assert (1 / x0, 2 * (y0 - 1)) != (0, 0)


# -- the Lesson object ---------------------------------------------------------------------------


def test_save_and_notebook_view(saddle: Lesson, tmp_path: Path) -> None:
    path = saddle.save(tmp_path / "deep" / "folder")
    assert path == tmp_path / "deep" / "folder" / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html == saddle.html()
    assert html.startswith("<!DOCTYPE html>")
    assert "<!--symgd-figure" not in html
    frame = saddle._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in frame
    assert repr(saddle) == "Lesson('x**2+2*x*y')"


def test_page_is_deterministic(saddle: Lesson) -> None:
    again = explain("x**2+2*x*y", start=(1, 2), lr=0.1, steps=150)
    assert again.html() == saddle.html()


def test_sections_in_order(saddle: Lesson) -> None:
    ids = [s["id"] for s in saddle.context["sections"]]
    assert ids == [
        "function",
        "derivatives",
        "differential",
        "steepest",
        "curvature",
        "hand",
        "runs",
        "explore",
        "rates",
        "summary",
        "numerical",
        "directional",
        "tangent",
        "quadratic",
    ]  # no momentum map: the saddle has no minimum
    html = saddle.html()
    positions = [html.index(f'id="section-{i}"') for i in ids]
    assert positions == sorted(positions)


def test_print_parts_split_at_sections_and_keep_everything_once(saddle: Lesson) -> None:
    page = saddle.html()
    parts = print_parts(page, 2)
    assert len(parts) == 2
    ids = [s["id"] for s in saddle.context["sections"]]
    found = [
        re.findall(r'<section class="lesson-section" id="section-(\w+)"', part) for part in parts
    ]
    assert found[0] + found[1] == ids and found[0] and found[1]  # each once, in order
    assert [part.count('class="masthead"') for part in parts] == [1, 0]
    assert [part.count("<footer>") for part in parts] == [0, 1]
    for part in parts:  # complete pages, each with the styles and the running-header marks
        assert part.startswith(page[:200]) and part.rstrip().endswith("</html>")
        assert part.count('class="running-marks"') == 1
    sizes = [len(part) for part in parts]
    assert max(sizes) < 0.75 * len(page)  # about equal work for the two processes
    assert print_parts(page, 1) == [page]
    assert print_parts("<p>no sections</p>", 2) == ["<p>no sections</p>"]


# -- typed results -------------------------------------------------------------------------------


def test_settings_are_parsed_once_into_every_form(saddle: Lesson) -> None:
    import sympy as sp

    settings = saddle.settings
    assert settings is not None
    assert settings.lr.exact == sp.Rational(1, 10) and settings.lr.value == 0.1
    assert settings.lr.text == "1/10" and settings.lr.latex == r"\frac{1}{10} = 0.1"
    assert settings.start.exact == (1, 2) and settings.start.floats == (1.0, 2.0)
    learning_rate = next(i for i in saddle.context["settings"] if i["name"] == "Learning rate")
    assert learning_rate["latex"] == rf"\eta = {settings.lr.latex}"


def test_json_comes_from_the_typed_results_not_the_page(saddle: Lesson, tmp_path: Path) -> None:
    import copy

    from symgd.lesson.report import lesson_json

    before = lesson_json(saddle, tmp_path / "report.html")
    assert before["lr"] == 0.1 and before["start"] == [1.0, 2.0]
    assert before["expression"] == "x**2+2*x*y" and before["variables"] == ["x", "y"]
    assert [r["method"] for r in before["runs"]] == ["gd", "momentum", "adam", "newton"]
    kept = copy.deepcopy(saddle.context)
    try:  # a template context changed after the fact does not change the JSON
        saddle.context["settings_values"]["lr"] = 99.0
        saddle.context["function"]["source"] = "changed"
        assert lesson_json(saddle, tmp_path / "report.html") == before
    finally:
        saddle.context.clear()  # type: ignore[attr-defined]
        saddle.context.update(kept)  # type: ignore[attr-defined]


def test_sections_are_pure_functions_of_the_results(saddle: Lesson) -> None:
    from symgd.lesson.sections.rates import rates_section
    from symgd.lesson.sections.summary import summary_section
    from symgd.lesson.view import as_context

    worked = saddle.worked
    assert worked is not None
    again = summary_section(worked.facts, worked.settings, worked.runs, worked.panel)
    assert again == worked.sections["summary"]
    rates = rates_section(worked.facts, worked.runs, worked.panel)
    assert as_context(rates)["bound_latex"] == saddle.context["rates"]["bound_latex"]


def test_thresholds_come_from_the_curvature_window(saddle: Lesson) -> None:
    import sympy as sp

    worked = saddle.worked
    assert worked is not None
    window = worked.facts.constant_window
    assert window is not None and not window.local
    assert window.exact_eigenvalues == (1 - sp.sqrt(5), 1 + sp.sqrt(5))
    assert window.stable_below == pytest.approx(2 / (1 + 5**0.5), rel=1e-15)
    assert worked.panel.window.lambda_max == pytest.approx(1 + 5**0.5, rel=1e-15)


def test_one_printer_writes_powers_of_self_printing_functions() -> None:
    from symgd.expr.parser import parse
    from symgd.render.latex import tex

    squared = parse("sigmoid(z)**2").expr
    inverse = parse("1/sigmoid(z)").expr
    assert tex(squared) == r"\sigma\left(z\right)^{2}"
    assert tex(inverse) == r"\frac{1}{\sigma\left(z\right)}"
    assert tex(inverse, raise_function_powers=True) == r"\sigma\left(z\right)^{-1}"
    x = parse("x").variables[0]
    assert tex(x**2, symbol_names={x: r"\left(3\right)"}) == r"\left(3\right)^{2}"


# -- snapshot -------------------------------------------------------------------------------------


def normalise(value: Any) -> Any:
    """The context without figures, with floats rounded: what the snapshot compares."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, str) and value.startswith("<svg"):
        return "<svg>"
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


def test_context_matches_snapshot(saddle: Lesson) -> None:
    current = normalise(saddle.context)
    stored = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert current == stored, "run `python tests/test_lesson.py` to review and update"


if __name__ == "__main__":  # regenerate the snapshot
    lesson = explain("x**2+2*x*y", start=(1, 2), lr=0.1, steps=150)
    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(
        json.dumps(normalise(lesson.context), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {SNAPSHOT}", file=sys.stderr)
