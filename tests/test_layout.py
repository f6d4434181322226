"""Layout defects a reader sees: relations and signs, log plots, matrices, derivative steps,
tables on a phone and in print, the fit page (issue 13, item 5)."""

from __future__ import annotations

import re
from html import unescape

import numpy as np
import pytest
import sympy as sp

from symgd.render.latex import (
    elided_tex,
    equals_tex,
    signed_sum,
    simplest_tex,
    tex,
    tidy_tex,
    tidy_text,
    uniform_numbers,
)


def _labels(html: str) -> list[str]:
    """The LaTeX of every formula on a page (what a screen reader reads)."""
    return [unescape(m) for m in re.findall(r'aria-label="([^"]*)"', html)]


def _text(html: str) -> str:
    """The words of a page, tags removed."""
    body = re.sub(r"<(svg|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


BAD_TEX = (re.compile(r"=\s*\\approx"), re.compile(r"\+\s*-"), re.compile(r"\+\s*\{-"))
BAD_TEXT = (re.compile(r"=\s*≈"), re.compile(r"\+ −\s*\d"))


# -- relations and signs ----------------------------------------------------------------------


def test_the_printer_tidies_relations_and_signs() -> None:
    assert tidy_tex(r"f(x_{2}) = \approx 1.266") == r"f(x_{2}) \approx 1.266"
    assert tidy_tex(r"dx + - 2 y\,dy") == r"dx - 2 y\,dy"
    assert tidy_tex(r"a + {-0.5}") == r"a - {0.5}"
    assert tidy_tex(r"a + {-b + c}") == r"a + {-b + c}"  # a group of several terms stays
    assert tidy_tex(r"a - - b") == r"a + b"
    assert tidy_text("f(x₂) = ≈ 1.266, dx + −2y dy") == "f(x₂) ≈ 1.266, dx − 2y dy"
    assert equals_tex(r"\approx 3") == r"\approx 3"
    assert signed_sum(["2 x\\,dx", "- 2 y\\,dy"]) == "2 x\\,dx - 2 y\\,dy"


def test_every_formula_and_sentence_on_a_page_is_tidied() -> None:
    from symgd.render.templates import make_env

    env = make_env()
    page = env.from_string("{{ a | math }} {{ b }}").render(
        a=r"f(x_2) = \approx 1.27 + -3", b="f = ≈ 2 and dx + −2y dy"
    )
    assert not any(p.search(label) for label in _labels(page) for p in BAD_TEX)
    assert not any(p.search(_text(page)) for p in BAD_TEXT)


@pytest.mark.parametrize(
    "function", ["x**2*y - y**2", "x**2 - 2*x*y + 3*y**2", "exp(-x**2) + x**3/7"]
)
def test_hand_steps_and_differential_write_no_double_relation(function: str) -> None:
    from symgd.calculus.derivation import derive
    from symgd.lesson.defaults import choose_settings
    from symgd.lesson.facts import work_out_facts
    from symgd.lesson.sections.differential import differential_section
    from symgd.lesson.sections.hand import hand_section

    facts = work_out_facts(derive(function))
    s = choose_settings(facts, None, None, None, None).settings
    latex = [differential_section(facts, s).latex]
    for step in hand_section(facts, s).steps:
        latex += [step.gradient_latex, step.update_latex, step.value_latex]
    assert not any(p.search(x) for x in latex for p in BAD_TEX), latex


def test_differential_joins_a_negative_term_with_a_minus() -> None:
    from symgd.calculus.derivation import derive
    from symgd.lesson.defaults import choose_settings
    from symgd.lesson.facts import work_out_facts
    from symgd.lesson.sections.differential import differential_section

    facts = work_out_facts(derive("x**2*y - y**2 - x"))
    s = choose_settings(facts, None, None, None, None).settings
    latex = differential_section(facts, s).latex
    assert "+ -" not in latex and "+ {-" not in latex


# -- matrices ---------------------------------------------------------------------------------


def test_a_matrix_shows_its_numbers_in_one_form() -> None:
    x = sp.Symbol("x")
    forms = [tex(e) for e in uniform_numbers([sp.Float(2.0), sp.Integer(2), sp.Rational(1, 2) * x])]
    assert forms == ["2", "2", "0.5 x"]
    exact = [tex(e) for e in uniform_numbers([sp.Rational(1, 2), sp.Integer(2)])]
    assert exact == [r"\frac{1}{2}", "2"]


def test_the_hessian_of_a_float_function_has_one_number_form() -> None:
    from symgd.calculus.derivation import derive
    from symgd.lesson.facts import work_out_facts
    from symgd.lesson.sections.curvature import curvature_section

    latex = curvature_section(work_out_facts(derive("x**2 + 2.0*x*y + 0.5*y**2"))).hessian_latex
    assert "2.0" not in latex and "1.0" not in latex
    assert latex.endswith(r"\begin{pmatrix}2 & 2 \\ 2 & 1\end{pmatrix}")


def test_a_wide_hessian_is_written_entry_by_entry_not_shrunk() -> None:
    from symgd.calculus.derivation import derive
    from symgd.lesson.facts import work_out_facts
    from symgd.lesson.sections.curvature import MAX_MATRIX_EM, curvature_section
    from symgd.render.mathsvg import width_em

    f = "exp(x*y)*sin(x + y*z) + x**2*z**3 + log(1 + x**2 + y**2 + z**2)"
    latex = curvature_section(work_out_facts(derive(f))).hessian_latex
    assert r"\begin{aligned}" in latex and "pmatrix" not in latex
    for line in latex.split(r"\begin{aligned}")[1].split(r" \\ "):
        assert width_em(line.replace("&", "")) <= 1.6 * MAX_MATRIX_EM


def test_print_never_shrinks_a_formula_below_a_readable_size() -> None:
    from symgd.render.mathsvg import MIN_PRINT_SCALE, as_images, tex_to_svg

    page = as_images(str(tex_to_svg(r"x^2 + y^2 + z^2 + w^2 + v^2 + u^2", display=True)))
    width = float(re.search(r"width:([\d.]+)em", page).group(1))  # type: ignore[union-attr]
    floor = float(re.search(r"min-width:([\d.]+)em", page).group(1))  # type: ignore[union-attr]
    assert floor == pytest.approx(MIN_PRINT_SCALE * width, abs=0.01)


# -- derivative steps -------------------------------------------------------------------------


def test_long_expressions_are_elided_by_structure() -> None:
    x = sp.Symbol("x")
    long_sum = sum(x**k / k for k in range(1, 40))
    latex = elided_tex(sp.exp(x) * sp.sin(long_sum), 80)
    assert len(latex) <= 120 and r"\cdots" in latex
    assert latex.count(r"\left(") == latex.count(r"\right)")  # nothing cut mid-term
    assert "…" not in latex


def test_derivative_steps_are_latex_not_program_text() -> None:
    from symgd.calculus.derivation import derive
    from symgd.lesson.facts import work_out_facts
    from symgd.lesson.sections.derivatives import derivatives_section

    f = "exp(-(x**2+y**2))*(x**3 + 2*x*y - 5*y**4 + x*y**3 + 7*x**2*y**2 + 11*x - 13*y - 19)"
    section = derivatives_section(work_out_facts(derive(f)))

    def nodes(step: dict) -> list[dict]:  # type: ignore[type-arg]
        return [step, *(n for child in step["substeps"] for n in nodes(child))]

    seen = 0
    for partial in section.partials:
        assert partial.steps is not None
        for node in nodes(partial.steps):
            words = " ".join(p["text"] for p in node["parts"])
            assert "**" not in words and "…" not in words, words
            assert not re.search(r"\d\*\w|\w\*\w", words), words
            seen += sum(1 for p in node["parts"] if p["latex"])
    assert seen > 5


# -- plots ------------------------------------------------------------------------------------


def _y_ticks(svg: str) -> list[str]:
    return re.findall(r">(10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+|0\.\d+|\d+)<", svg)


def test_the_gap_plot_is_logarithmic_and_clipped_to_a_readable_span() -> None:
    from symgd.render.figure_data import PathData
    from symgd.render.progress_figures import MAX_DECADES, log_window, progress_figure

    k = np.arange(300)
    exact = 10 * 0.8 ** (2 * k)
    exact[150:] = 0.0  # reached f* exactly: log(0) must not drag the axis down
    paths = [
        PathData("a", np.zeros((300, 2)), exact, np.maximum(0.8**k, 1e-320)),
        PathData("b", np.zeros((300, 2)), 1e11 * 0.5**k, 1e5 * 0.7**k),
    ]
    bottom, top = log_window([p.fs for p in paths])
    assert top / bottom <= 10.0**MAX_DECADES * 1.0001
    svg = progress_figure(paths, f_star=0.0)
    assert "not drawn" in svg  # the figure says what it left out
    # every y tick of a log axis is a power of ten, and none is below 10⁻⁴⁰
    powers = re.findall(r">10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)<", svg)
    table = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
    assert powers and min(int(p.translate(table)) for p in powers) > -40


def test_the_gap_plot_stays_logarithmic_when_a_run_dips_below_f_star() -> None:
    from symgd.render.figure_data import PathData
    from symgd.render.progress_figures import progress_figure

    k = np.arange(50)
    fs = 1.0 + 0.5**k
    fs[-1] = 1.0 - 1e-12  # rounding below the minimum
    svg = progress_figure([PathData("a", np.zeros((50, 1)), fs, 0.5**k)], f_star=1.0)
    assert len(re.findall(r">10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+<", svg)) >= 4  # both axes log


def test_the_progress_legend_sits_off_the_data() -> None:
    from matplotlib.figure import Figure

    from symgd.render import figure_output, progress_figures
    from symgd.render.figure_data import PathData

    k = np.arange(40)
    paths = [PathData(f"run {i}", np.zeros((40, 1)), 2.0**-k + i, 0.5**k) for i in range(3)]
    captured: list[Figure] = []
    original = figure_output.to_svg

    def keep(fig: Figure, name: str) -> str:
        captured.append(fig)
        return original(fig, name)

    figure_output.to_svg = keep
    try:
        progress_figures.progress_figure(paths)
    finally:
        figure_output.to_svg = original
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = captured[0]
    renderer = FigureCanvasAgg(fig).get_renderer()  # type: ignore[no-untyped-call]
    legend = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent(renderer))


# -- the fit page -----------------------------------------------------------------------------


def test_logistic_gradient_is_simplified() -> None:
    x, y, w, b = sp.symbols("x y w b")
    from symgd.expr.activations import sigmoid

    s = sigmoid(w * x + b)
    raw = -x * y * (1 - s) + x * (1 - y) * s
    assert simplest_tex(raw) == r"x \left(\sigma\left(b + w x\right) - y\right)"


@pytest.fixture(scope="module")
def logistic_page() -> str:
    from symgd.numeric.data import demo
    from symgd.numeric.fitting import compare_batches, load_data, loss_problem
    from symgd.render.fit_page import render_fit_page

    example = demo("logistic")
    problem = loss_problem(example.loss, ",".join(example.params))
    data = load_data(example.data, problem)
    runs = compare_batches(
        problem,
        data,
        problem.names,
        mini_batch=16,
        epochs=example.epochs,
        lr=example.lr,
        method="gd",
        seed=0,
        start=None,
        tol=1e-8,
    )
    return render_fit_page(runs)


def test_logistic_page_names_a_reference_optimum(logistic_page: str) -> None:
    text = _text(logistic_page)
    assert "reference optimum" in text and "Newton" in text
    labels = _labels(logistic_page)
    w_partial = next(x for x in labels if r"\partial w}" in x)
    assert w_partial.endswith(r"= x \left(\sigma\left(b + w x\right) - y\right)"), w_partial


def test_logistic_page_sgd_band_is_the_middle_half(logistic_page: str) -> None:
    from symgd.render.fit_figures import quantile_band

    assert "middle half" in _text(logistic_page)
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.exponential(0.3, 990), np.full(10, 50.0)])
    _, _low, high = quantile_band(values, bins=10)
    assert float(np.nanmax(high)) < 5  # outliers do not widen the band


def test_tables_stack_on_a_phone_and_fit_in_print() -> None:
    from symgd.render.templates import templates_path

    folder = templates_path()
    css = (folder / "style.css").read_text()
    printing = (folder / "print.css").read_text()
    assert "table.stack td::before" in css and "attr(data-label)" in css
    for name, labels in {
        "runs": ["f there", "|∇f| there"],
        "curvature": ["kind"],
        "fit": ["parameters", "mean loss"],
    }.items():
        partial = (folder / "partials" / f"{name}.html.jinja2").read_text()
        assert 'class="stack' in partial or "stack" in partial
        # each phone label is a column's translated heading, written into data-label
        assert "data-label=" in partial
        for label in labels:
            assert f'_("{label}")' in partial or f'data-label="{label}"' in partial
    assert "table { width: 100%" in printing
    assert "footer { break-before: avoid" in printing
