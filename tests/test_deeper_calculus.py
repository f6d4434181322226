"""The "Go deeper" calculus sections: the numerical gradient, the directional derivative and
the tangent (line, plane, hyperplane) with the error of the linearisation. Numbers are checked
against computations written here; pages by the words a reader sees."""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from html import unescape
from typing import Any

import pytest
import sympy as sp

from symgd.base.errors import InputError
from symgd.calculus.derivation import derive
from symgd.lesson.defaults import choose_settings
from symgd.lesson.facts import Facts, work_out_facts
from symgd.lesson.sections.directional import (
    directional_json,
    directional_section,
    parse_direction,
)
from symgd.lesson.sections.numerical import numerical_json, numerical_section
from symgd.lesson.sections.tangent import tangent_section
from symgd.lesson.settings import Settings
from symgd.lesson.view import as_context
from symgd.render.calculus_figures import FIGURES
from symgd.render.figures import DRAWABLE


@functools.cache
def worked(expr: str, start: tuple[float, ...]) -> tuple[Facts, Settings]:
    facts = work_out_facts(derive(expr))
    return facts, choose_settings(facts, start, None, None, None).settings


def with_direction(expr: str, start: tuple[float, ...], u: Any) -> tuple[Facts, Settings]:
    facts, s = worked(expr, start)
    return facts, dataclasses.replace(s, direction=parse_direction(facts, u))


@functools.cache
def env() -> Any:
    from symgd.render.templates import make_env

    return make_env()


def page_text(sid: str, section: Any) -> str:
    """The partial rendered through the real environment, as the words a reader sees (the
    typeset formulas keep their LaTeX in a title or aria-label, which is dropped here)."""
    html = env().get_template(f"partials/{sid}.html.jinja2").render(**{sid: as_context(section)})
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return " ".join(unescape(html).split())


def my_central(f: Any, x: list[float], h: float) -> list[float]:
    out = []
    for i in range(len(x)):
        up, down = list(x), list(x)
        up[i] += h
        down[i] -= h
        out.append((f(up) - f(down)) / (2 * h))
    return out


# -- the numerical gradient ---------------------------------------------------------------------


def test_numerical_on_the_worked_quadratic_matches_the_exact_gradient() -> None:
    facts, s = worked("x0**2 + x1**2", (-3, 4))
    section = numerical_section(facts, s)
    assert section is not None
    mine = my_central(lambda p: p[0] ** 2 + p[1] ** 2, [-3.0, 4.0], 1e-4)
    assert section.values == pytest.approx(mine, abs=1e-12)
    assert section.values == pytest.approx([-6.0, 8.0], abs=1e-9)
    assert section.max_abs_error == pytest.approx(
        max(abs(mine[0] + 6), abs(mine[1] - 8)), abs=1e-12
    )
    data = numerical_json(section)["numerical_gradient"]
    assert data["h"] == 1e-4 and data["values"] == list(section.values)
    assert numerical_json(None) == {}
    text = page_text("numerical", section)
    assert "f is a quadratic" in text and "no truncation error" in text
    assert "rounding alone" in text
    assert "2n = 4 evaluations of f per step (n = 2)" in text
    assert "largest of the 2 coordinate errors" in text


def test_numerical_on_a_non_quadratic_names_the_h_squared_error() -> None:
    facts, s = worked("x**4 + y**2 + x*y", (1, 2))
    section = numerical_section(facts, s)
    assert section is not None
    mine = my_central(lambda p: p[0] ** 4 + p[1] ** 2 + p[0] * p[1], [1.0, 2.0], 1e-4)
    assert section.values == pytest.approx(mine, abs=1e-10)
    # f''' along x is 24 x = 24: the error in ∂f/∂x is h²·24/6 = 4e-8 to leading order
    assert section.max_abs_error == pytest.approx(4e-8, rel=1e-3)
    text = page_text("numerical", section)
    assert "f is a quadratic" not in text and "not a quadratic" in text
    assert "about 24" in text and "4 × 10⁻⁸" in text
    assert "central difference has no truncation error" not in text


def test_numerical_one_and_three_variables_and_a_zero_gradient() -> None:
    facts, s = worked("w**2", (1,))
    one = numerical_section(facts, s)
    assert one is not None and len(one.values) == 1
    assert "2n = 2 evaluations" in page_text("numerical", one)
    facts, s = worked("x**2 + y**2 + z**2 + x*y*z", (1, 2, 3))
    three = numerical_section(facts, s)
    assert three is not None
    mine = my_central(
        lambda p: p[0] ** 2 + p[1] ** 2 + p[2] ** 2 + p[0] * p[1] * p[2], [1.0, 2.0, 3.0], 1e-4
    )
    assert three.values == pytest.approx(mine, abs=1e-10)
    assert "2n = 6 evaluations" in page_text("numerical", three)
    facts, s = worked("x**2 - y**2", (0, 0))
    zero = numerical_section(facts, s)
    assert zero is not None
    assert "exact gradient is zero" in page_text("numerical", zero)


def test_numerical_figure_draws_and_is_listed() -> None:
    facts, s = worked("x**2 + 2*x*y", (1, 1))
    section = numerical_section(facts, s)
    assert section is not None
    job = section.figures["numerical"]
    assert job.kwargs["central_slope"] is None  # a quadratic: no h² guide
    assert job.kwargs["forward_slope"] == pytest.approx(1.0)  # max |f_ii| / 2 = 2 / 2
    svg = job.draw()
    assert svg.startswith("<svg") and "fig-numerical-error" in svg
    for function in FIGURES:
        assert DRAWABLE[function.__name__] is function


# -- the directional derivative -----------------------------------------------------------------


def test_parse_direction_checks_what_it_is_given() -> None:
    facts, _ = worked("x**2 + y**2", (1, 1))
    assert parse_direction(facts, "1, 0.5") == (sp.Integer(1), sp.Rational(1, 2))
    assert parse_direction(facts, [0.1, -2]) == (sp.Rational(1, 10), sp.Integer(-2))
    for bad, words in (
        ("1", "has 1 value"),
        ("1,2,3", "has 3 value"),
        ("0,0", "zero vector"),
        ("nan,1", "finite"),
        ("1e400,1", "finite"),
        ("a,1", "must be a number"),
        ([True, 1], "must be a number"),
        (None, "numbers separated by commas"),
    ):
        with pytest.raises(InputError, match=words):
            parse_direction(facts, bad)


def test_directional_derivative_along_a_given_direction() -> None:
    facts, s = with_direction("x**2 + 2*x*y", (1, 1), "1,2")
    section = directional_section(facts, s)
    assert section is not None and section.asked is not None
    gradient = (2 * 1 + 2 * 1, 2 * 1)
    length = math.hypot(1, 2)
    expected = (gradient[0] * 1 + gradient[1] * 2) / length
    data = directional_json(section)["directional_derivative"]
    assert data["value"] == pytest.approx(expected)
    assert data["unit"] == pytest.approx([1 / length, 2 / length])
    assert sp.simplify(sp.sympify(data["exact"]) - sp.Rational(8) / sp.sqrt(5)) == 0
    cosine = expected / math.hypot(*gradient)
    assert data["angle_degrees"] == pytest.approx(math.degrees(math.acos(cosine)))
    text = page_text("directional", section)
    assert "θ ≈ 36.9°" in text and "f rises along u" in text
    assert "--direction 1,2" in text


def test_directional_saddle_across_the_gradient_and_without_a_direction() -> None:
    facts, s = with_direction("x**2 - y**2", (1, 1), "1,1")
    section = directional_section(facts, s)
    assert section is not None and section.asked is not None
    assert section.asked.value == 0.0 and section.asked.angle_degrees == pytest.approx(90)
    assert "perpendicular to ∇f" in page_text("directional", section)
    facts, s = worked("x**2 - y**2", (1, 1))
    plain = directional_section(facts, s)
    assert plain is not None and plain.asked is None and directional_json(plain) == {}
    assert [r.theta for r in plain.rows] == ["0°", "90°", "180°"]
    text = page_text("directional", plain)
    assert "along ∇f" in text and "against ∇f" in text and "--direction" in text
    assert not plain.figures


def test_directional_zero_gradient_one_and_three_variables() -> None:
    facts, s = with_direction("x**2 + y**2", (0, 0), "3,-1")
    section = directional_section(facts, s)
    assert section is not None and section.stationary
    assert "in every direction" in page_text("directional", section)
    assert directional_json(section)["directional_derivative"]["value"] == 0
    facts, s = with_direction("w**2", (1,), "-0.5")
    one = directional_section(facts, s)
    assert one is not None and one.asked is not None
    assert one.asked.value == pytest.approx(-2.0)  # f'(1) = 2 times the unit -1
    assert [r.name for r in one.rows] == ["along ∇f", "against ∇f"]
    facts, s = with_direction("x*y*z", (1, 2, 3), (1, 1, 1))
    three = directional_section(facts, s)
    assert three is not None and three.asked is not None
    assert three.asked.value == pytest.approx((6 + 3 + 2) / math.sqrt(3))


# -- the tangent and the error of the linearisation ---------------------------------------------


def linearisation(expr: str, start: tuple[int, ...]) -> sp.Expr:
    """f(x₀) + ∇f(x₀)·(x − x₀), built here from SymPy directly."""
    f = sp.sympify(expr)
    names = sorted(f.free_symbols, key=lambda v: v.name)
    point = dict(zip(names, start, strict=True))
    return f.subs(point) + sum(sp.diff(f, v).subs(point) * (v - point[v]) for v in names)


@pytest.mark.parametrize(
    ("expr", "start"),
    [("x**2 + 2*x*y", (1, 1)), ("x**4 + y**2 + x*y", (1, 2)), ("x*y*z + x**2", (1, 2, 3))],
)
def test_tangent_plane_is_the_linearisation(expr: str, start: tuple[int, ...]) -> None:
    facts, s = worked(expr, start)
    section = tangent_section(facts, s)
    assert section is not None
    expected = linearisation(expr, start)
    mine = expected.subs({sp.Symbol(v.name): v for v in facts.variables})
    assert sp.simplify(section.linearisation - mine) == 0
    assert not section.decimals
    # the page writes out every coefficient of the multiplied-out plane
    text = section.expanded_latex or ""
    for c in sp.Poly(sp.expand(mine), *facts.variables).as_dict().values():
        assert sp.latex(abs(c)) in text
    assert section.slope == pytest.approx(2.0, abs=0.05)
    words = page_text("tangent", section)
    assert "second order" in words and "is 2.00" in words


def test_tangent_words_when_f_is_linear_or_flat_along_the_move() -> None:
    facts, s = worked("2*x + 3*y", (1, 2))
    section = tangent_section(facts, s)
    assert section is not None and section.slope is None
    text = page_text("tangent", section)
    assert "f is linear" in text and "no slope to draw" in text
    assert section.error_figure is None
    # the saddle x² − y² from (1, 1) downhill: f(1 − t/√2, 1 + t/√2) is linear in t
    facts, s = worked("x**2 - y**2", (1, 1))
    saddle = tangent_section(facts, s)
    assert saddle is not None and saddle.slope is None
    assert "exactly linearly" in page_text("tangent", saddle)


def test_tangent_measures_slope_three_where_the_curvature_is_zero() -> None:
    facts, s = worked("x**3", (0,))
    section = tangent_section(facts, s)
    assert section is not None
    assert section.slope == pytest.approx(3.0, abs=0.05)
    text = page_text("tangent", section)
    assert "is 3.00" in text and "second order" not in text and "|dx|³" in text


def test_tangent_line_in_one_variable_and_its_figures() -> None:
    facts, s = worked("log(1 + w**2)", (2,))
    section = tangent_section(facts, s)
    assert section is not None and section.kind == "line"
    w = facts.variables[0]
    expected = sp.log(5) + sp.Rational(4, 5) * (w - 2)  # f'(w) = 2w/(1 + w²)
    assert sp.simplify(section.linearisation - expected) == 0
    assert section.slope == pytest.approx(2.0, abs=0.05)
    # at w = 1, f''(w) = (2 − 2w²)/(1 + w²)² is 0: an inflection point, and a steeper slope
    facts, s = worked("log(1 + w**2)", (1,))
    inflection = tangent_section(facts, s)
    assert inflection is not None and inflection.slope == pytest.approx(3.0, abs=0.05)
    assert "f″(x₀) ≈ 0" in page_text("tangent", inflection)
    assert set(section.figures) == {"tangent-line", "tangent-error"}
    for job in section.figures.values():
        assert job.draw().startswith("<svg")
    assert "tangent line" in page_text("tangent", section)


def test_three_variables_say_there_is_no_picture() -> None:
    facts, s = worked("x*y*z + x**2", (1, 2, 3))
    section = tangent_section(facts, s)
    assert section is not None and section.kind == "hyperplane"
    assert section.line_figure is None
    assert "no picture" in page_text("tangent", section)
