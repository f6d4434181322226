"""The Jinja environment: where templates come from, escaping, strictness, filters."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest

from symgd.base.errors import InputError
from symgd.render.templates import (
    LESSON_TEMPLATE,
    make_env,
    number,
    paragraphs,
    png_data_uri,
    templates_path,
)

SOURCE = Path(__file__).resolve().parents[1] / "templates"


def test_templates_are_found_without_arguments() -> None:
    folder = templates_path()
    assert (folder / LESSON_TEMPLATE).is_file()
    assert (folder / "style.css").is_file()
    for partial in (
        "function",
        "derivatives",
        "differential",
        "steepest",
        "curvature",
        "hand",
        "runs",
        "rates",
        "summary",
    ):
        assert (folder / "partials" / f"{partial}.html.jinja2").is_file()


def test_a_folder_without_the_lesson_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"lesson\.html\.jinja2"):
        templates_path(tmp_path)


def test_environment_escapes_and_is_strict() -> None:
    env = make_env()
    assert (
        env.from_string("{{ text }}").render(text="<script>x</script>")
        == "&lt;script&gt;x&lt;/script&gt;"
    )
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ thing.missing }}").render(thing={})


def test_environments_are_independent() -> None:
    first, second = make_env(), make_env()
    first.globals["extra"] = 1
    assert "extra" not in second.globals


def test_math_filters_emit_svg_markup() -> None:
    env = make_env()
    page = env.from_string("{{ a | math }}|{{ b | dmath }}").render(a="x^2", b=r"\frac{1}{2}")
    inline, display = page.split("|")
    assert inline.startswith('<svg class="math-inline"')
    assert display.startswith('<svg class="math-display"')


def test_stylesheet_is_inlined() -> None:
    env = make_env()
    css = env.from_string('{{ inline_file("style.css") }}').render()
    assert "@media print" in css and "@media (max-width" in css
    assert "url(" not in css and "@import" not in css


def test_a_copy_of_the_templates_can_override_one_partial(tmp_path: Path) -> None:
    custom = tmp_path / "templates"
    (custom / "partials").mkdir(parents=True)
    shutil.copy(SOURCE / LESSON_TEMPLATE, custom / LESSON_TEMPLATE)
    (custom / "partials" / "summary.html.jinja2").write_text("<p>OUR OWN SUMMARY</p>")
    env = make_env(custom)
    assert "OUR OWN SUMMARY" in env.get_template("partials/summary.html.jinja2").render()
    # everything else still comes from symgd's own folder
    assert "{% macro" in env.loader.get_source(env, "macros.html.jinja2")[0]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0001234567, "0.000123457"),
        (-2.5, "−2.5"),
        (1.5e-12, "1.5 × 10⁻¹²"),
        (1e-8, "10⁻⁸"),
        (-1e20, "−10²⁰"),
        (float("inf"), "∞"),
        (float("-inf"), "−∞"),
        (float("nan"), "undefined"),
        (0, "0"),
        (None, "—"),
    ],
)
def test_number(value: float | None, text: str) -> None:
    assert number(value) == text


def test_paragraphs_escape_and_split() -> None:
    assert paragraphs("a < b\n\nc") == "<p>a &lt; b</p><p>c</p>"


def test_png_data_uri() -> None:
    assert png_data_uri(b"\x89PNG").startswith("data:image/png;base64,")


def test_formulas_in_lists_each_formula_once_without_typesetting() -> None:
    from symgd.render import mathsvg
    from symgd.render.templates import formulas_in

    env = make_env()
    env.loader = jinja2.DictLoader({"page.html": "{{ a | math }} {{ b | dmath }} {{ a | math }}"})
    before = dict(mathsvg._CACHE)
    found = formulas_in({"a": r"\alpha_{unique}", "b": r"\beta_{unique}"}, env, "page.html")
    assert found == [(r"\alpha_{unique}", False), (r"\beta_{unique}", True)]
    assert len(mathsvg._CACHE) == len(before)
    page = env.get_template("page.html").render(a="x", b="y")
    assert page.count("<svg") == 3
