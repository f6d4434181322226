"""The lesson's two parts: the core story first, then the "Go deeper" sections (collapsed in the
browser, printed in full), ``--sections`` to choose, ``--direction``, Newton in the default runs,
and the pointers to ``symgd backprop`` and ``symgd vanish`` on functions built from
activations."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from symgd import explain
from symgd.base.errors import InputError
from symgd.lesson.pipeline import CORE_IDS, SECTION_IDS, parse_sections


def section_ids(html: str) -> list[str]:
    return re.findall(r'<section class="lesson-section" id="section-(\w+)"', html)


@pytest.fixture(scope="module")
def bowl() -> object:
    return explain("x**2 + 3*y**2", start=(2, 1), lr=0.1, steps=60)


def test_parse_sections_reads_core_all_and_names() -> None:
    assert parse_sections(None) == SECTION_IDS == parse_sections("all")
    assert parse_sections("core") == CORE_IDS
    assert set(CORE_IDS) < set(SECTION_IDS)
    assert parse_sections(["tangent", "runs"]) == ("function", "runs", "tangent")
    assert parse_sections(" numerical ,summary") == ("function", "summary", "numerical")
    for bad in ("nope", "runs,nope", "", ",", ["core", "x"]):
        with pytest.raises(InputError, match="section"):
            parse_sections(bad)
    with pytest.raises(InputError, match="sections must be"):
        parse_sections(3)  # type: ignore[arg-type]


def test_core_story_comes_first_and_deeper_sections_are_marked(bowl: object) -> None:
    html = bowl.html()  # type: ignore[attr-defined]
    ids = section_ids(html)
    core = [sid for sid in ids if sid in CORE_IDS]
    deeper = [sid for sid in ids if sid not in CORE_IDS]
    assert ids == core + deeper and core == list(CORE_IDS) and deeper
    assert html.count('class="part-heading"') == 1
    assert html.index('class="part-heading"') > html.index('id="section-summary"')
    for sid in deeper:
        block = html.split(f'id="section-{sid}"', 1)[1].split("</section>", 1)[0]
        assert 'data-part="deeper"' in html.split(f'id="section-{sid}"', 1)[0][-80:] or (
            '<details class="deeper">' in block
        )
        assert block.count('<details class="deeper">') == 1
        assert f'<summary><h2 id="{sid}">' in block
    for sid in core:
        block = html.split(f'id="section-{sid}"', 1)[1].split("</section>", 1)[0]
        assert '<details class="deeper">' not in block
    listed = re.findall(r'<li( class="toc-deeper")?><a href="#(\w+)"', html)
    assert [sid for _, sid in listed] == ids
    assert [sid for mark, sid in listed if mark] == deeper


def test_sections_core_leaves_out_the_deeper_part_and_its_work() -> None:
    lesson = explain("x**2 + 3*y**2", start=(2, 1), lr=0.1, steps=60, sections="core")
    html = lesson.html()
    assert section_ids(html) == list(CORE_IDS)
    assert 'class="part-heading"' not in html and "<details class" not in html
    assert lesson.worked is not None
    assert set(lesson.worked.sections) == set(CORE_IDS)


def test_sections_by_name_keep_page_order_and_the_function() -> None:
    lesson = explain("x**2 + 3*y**2", start=(2, 1), lr=0.1, steps=60, sections="tangent,runs")
    assert section_ids(lesson.html()) == ["function", "runs", "tangent"]
    numbers = [s["number"] for s in lesson.context["sections"]]
    assert numbers == [1, 2, 3]


def test_newton_joins_the_default_runs_up_to_three_variables() -> None:
    two = explain("x**2 + 3*y**2", start=(2, 1), lr=0.1, steps=40, sections="core")
    assert [t.method for t in two.trajectories] == ["gd", "momentum", "adam", "newton"]
    runs = two.html().split('id="section-runs"')[1].split("</section>")[0]
    assert runs.count("Newton") >= 1 and runs.count("Adam") >= 1
    four = explain("a**2 + b**2 + c**2 + d**2", lr=0.1, steps=40, sections="core")
    assert [t.method for t in four.trajectories] == ["gd", "momentum", "adam"]
    chosen = explain("x**2 + 3*y**2", start=(2, 1), lr=0.1, steps=40, methods="gd", sections="core")
    assert [t.method for t in chosen.trajectories] == ["gd"]


def test_newton_on_a_quadratic_lands_on_the_minimum_in_one_step() -> None:
    lesson = explain("x**2 + 3*y**2 + x*y", start=(2, 1), lr=0.1, steps=40, sections="core")
    newton = next(t for t in lesson.trajectories if t.method == "newton")
    assert newton.steps == 1 and newton.status.value == "converged"
    assert max(abs(float(v)) for v in newton.xs[-1]) < 1e-12


def test_activation_functions_point_to_backprop_and_vanish() -> None:
    lesson = explain("sigmoid(w*x) + x**2", start=(1, 2), lr=0.1, steps=20, sections="core")
    commands = lesson.context["function"]["network_commands"]
    assert commands == [
        "symgd backprop 'sigmoid(w*x) + x**2' --at w=1,x=2",
        "symgd vanish --activations sigmoid",
    ]
    section = lesson.html().split('id="section-function"')[1].split("</section>")[0]
    assert "symgd backprop &#39;sigmoid(w*x) + x**2&#39; --at w=1,x=2" in section
    plain = explain("x**2 + y**2", start=(1, 2), lr=0.1, steps=20, sections="core")
    assert plain.context["function"]["network_commands"] == []
    assert "symgd backprop" not in plain.html()
    soft = explain("softplus(w) + w**2", start=(1,), lr=0.1, steps=20, sections="core")
    assert soft.context["function"]["network_commands"][1] == "symgd vanish"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    from symgd.cli import cli

    result = CliRunner().invoke(cli, list(args))
    return subprocess.CompletedProcess(list(args), result.exit_code, result.output, "")


def test_cli_sections_and_direction_are_checked(tmp_path: Path) -> None:
    bad = run_cli("explain", "x**2+y**2", "--sections", "runs,bogus", "-o", str(tmp_path / "a"))
    assert bad.returncode == 2 and "bogus" in bad.stdout and "core" in bad.stdout
    assert not (tmp_path / "a").exists()
    for direction, words in (("1", "the direction has 1 value"), ("0,0", "zero"), ("1,x", "x")):
        out = run_cli("explain", "x**2+y**2", "--direction", direction, "-o", str(tmp_path / "b"))
        assert out.returncode == 2, (direction, out.stdout)
        assert words in out.stdout, (direction, out.stdout)


def test_cli_json_carries_the_deeper_numbers(tmp_path: Path) -> None:
    result = run_cli(
        "explain",
        "x**2+3*y**2",
        "--start",
        "2,1",
        "--direction",
        "y=1,x=1",
        "--json",
        "-o",
        str(tmp_path / "r"),
    )
    assert result.returncode == 0, result.stdout
    data = json.loads(result.stdout)
    numerical = data["numerical_gradient"]
    assert numerical["h"] == 1e-4
    assert numerical["values"] == pytest.approx([4.0, 6.0], abs=1e-8)
    assert numerical["max_abs_error"] < 1e-8
    directional = data["directional_derivative"]
    assert directional["direction"] == [1.0, 1.0]
    assert directional["value"] == pytest.approx(10 / 2**0.5)
    assert data["newton_step"] == pytest.approx([0.0, 0.0], abs=1e-12)
    grid = data["momentum_map"]
    assert len(grid["lr"]) >= 40 and len(grid["momentum"]) >= 40
    assert len(grid["lr"]) * len(grid["momentum"]) >= 2400
    core = run_cli("explain", "x**2+3*y**2", "--sections", "core", "--json", "-o", str(tmp_path))
    data = json.loads(core.stdout)
    assert not {"numerical_gradient", "directional_derivative", "momentum_map"} & set(data)
    assert data.get("newton_step") is None


@pytest.mark.parametrize(
    ("function", "product"),
    [
        ("x**4 - 3*x**2 + x", r"\left(4 x^{3} - 6 x + 1\right) \cdot dx"),
        ("log(1 + exp(w))", r"\frac{e^{w}}{e^{w} + 1} \cdot dw"),
        ("t**3", r"3 t^{2} \cdot dt"),
    ],
)
def test_one_variable_differential_multiplies_the_whole_derivative(
    function: str, product: str
) -> None:
    """df = f′(x) · dx: a derivative that is a sum is bracketed, or the product would multiply
    only its last term."""
    lesson = explain(function, sections="differential")
    dot = lesson.context["differential"]["dot_latex"]
    assert dot.endswith(product), dot


@pytest.mark.parametrize(("function", "count"), [("x**4 - 3*x**2 + x", "two"), ("x*y", "three")])
def test_the_directional_table_is_introduced_with_its_own_row_count(
    function: str, count: str
) -> None:
    html = explain(function, sections="directional").html()
    table = re.search(r"directions of the cos θ table:</p>.*?</table>", html, flags=re.S)
    assert table is not None
    rows = len(re.findall(r"<tr><td>", table.group(0)))
    assert f"Along the {count} directions of the cos θ table:" in html
    assert rows == {"two": 2, "three": 3}[count]
