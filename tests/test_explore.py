"""The explorer section: built for one and two variables only, its script generated from
the exact derivatives and safe whatever the variables are called, its page self-contained
and allowed to run exactly that script."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path
from typing import Any

import pytest

from symgd.calculus.derivation import derive
from symgd.lesson.pipeline import figure_jobs, page_context, work_lesson
from symgd.lesson.sections.explore import ExploreSection, explore_csp, explore_section


def worked_with_explore(expression: str, **settings: Any) -> tuple[Any, ExploreSection | None]:
    worked = work_lesson(derive(expression), sections="core", **settings)
    section = worked.sections.get("explore")
    again = explore_section(worked.facts, worked.settings, worked.runs)
    # the pipeline's section is a pure function of its inputs
    assert (section is None) == (again is None)
    assert section is None or again is None or section.script == again.script
    return worked, section


def lesson_page(expression: str, path: Path, draw: bool = True, **settings: Any) -> Path:
    """The core lesson (the explorer after the runs), rendered as the lesson renders."""
    from symgd.render.templates import make_env, render_html
    from symgd.render.worker import Pending, draw_all

    worked, section = worked_with_explore(expression, **settings)
    context = page_context(worked)
    jobs = dict(figure_jobs(worked))
    if section is not None:
        assert context["csp"] == explore_csp(section)
    page = render_html(context, make_env())
    if draw:
        for name, svg in draw_all(jobs).items():
            page = page.replace(str(Pending(name)), svg)
    path.write_text(page, encoding="utf-8")
    return path


def inline_scripts(page: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", page, flags=re.S)


def test_only_for_one_or_two_variables() -> None:
    _, three = worked_with_explore("x**2 + y**2 + z**2")
    assert three is None
    _, one = worked_with_explore("w**2")
    assert one is not None and one.variables == ("w",)


def test_page_allows_exactly_its_script(tmp_path: Path) -> None:
    """The policy hashes the script the page holds, byte for byte; nothing else may load."""
    page = lesson_page("x**2 + 2*x*y + 3*y**2", tmp_path / "p.html", draw=False)
    text = page.read_text(encoding="utf-8")
    scripts = inline_scripts(text)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text)
    assert meta is not None
    policy = html.unescape(meta.group(1))
    assert f"script-src 'sha256-{digest}'" in policy
    assert policy.startswith("default-src 'none';")
    assert "unsafe-inline'" not in policy.split("script-src")[1]
    assert "unsafe-eval" not in policy
    assert not re.search(r"(?:https?|file|ftp):", text, flags=re.I)
    assert not re.search(r"<script[^>]*\ssrc\s*=|<link\b|<iframe\b", text, flags=re.I)
    assert "eval(" not in scripts[0] and "Function(" not in scripts[0]
    assert "<noscript>" in text and "interactive in a web browser" in text
    assert "@media print { .explore-live { display: none !important; }" in text


def test_page_without_script_gets_strict_policy() -> None:
    from symgd.render.jscode import STRICT_POLICY, page_policy

    assert page_policy() == STRICT_POLICY
    assert "script-src" not in STRICT_POLICY
    assert explore_csp(None) == STRICT_POLICY


@pytest.mark.parametrize(
    "name",
    ["constructor", "alert", "window", "document", "x_1", "eval", "Math", "v1"],
)
def test_hostile_names_never_reach_the_code(name: str) -> None:
    """Whatever the variables are called, the code names them v0, v1 and holds only the
    helpers' names; the names appear only inside the JSON data, as strings."""
    from symgd.render.jscode import ALLOWED_NAMES, check_generated

    _, section = worked_with_explore(f"({name} - 1)**2 + exp(y) - y")
    assert section is not None
    script = str(section.script)
    model = script[script.index("const MODEL") : script.index("};\n", script.index("const MODEL"))]
    identifiers = set(
        re.findall(
            r"[A-Za-z_$][A-Za-z0-9_$]*",
            re.sub(r"(?<![A-Za-z_$0-9])\d+(\.\d*)?(e[+-]?\d+)?", " ", model),
        )
    )
    assert identifiers <= ALLOWED_NAMES | {
        "v0",
        "v1",
        "const",
        "MODEL",
        "f",
        "grad",
        "hess",
        "function",
        "return",
    }
    assert f'"names":["{name}","y"]' in script or f'"names":["y","{name}"]' in script
    with pytest.raises(ValueError):
        check_generated(f"{name}(v0)" if name not in ALLOWED_NAMES else "alert(v0)", 1)


def test_refusals_are_input_errors() -> None:
    from symgd.base.errors import InputError

    for text in ("x.constructor", "__proto__ + y", "ｘ**2", "__import__('os')", "'</script>'"):
        with pytest.raises(InputError):
            derive(text)


def test_check_generated_refuses_markup_and_strings() -> None:
    from symgd.render.jscode import check_generated

    for bad in ("v0 </script>", "'a'", "v0; alert(1)", "{v0}", "`x`"):
        with pytest.raises(ValueError):
            check_generated(bad, 1)
    assert check_generated("_div(1.0, v0) + Math.sin(v0)*1e-05", 1)


def test_data_escapes_markup() -> None:
    from symgd.render.jscode import json_data

    text = json_data({"source": "</script><b>&\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text


def test_printed_functions_use_the_stable_helpers() -> None:
    """sigmoid, softplus, relu, leaky_relu, abs, max and min print as the helpers whose
    formulas match symgd.expr.lambdify's (the browser test checks the numbers)."""
    import sympy as sp

    from symgd.expr.parser import parse
    from symgd.render.jscode import model_code

    problem = parse(
        "sigmoid(x) + softplus(y) + relu(x) + leaky_relu(y) + abs(x) + max(x, y) + min(x, y)"
    )
    x, y = problem.variables
    gradient = [sp.diff(problem.expr, v) for v in (x, y)]
    hessian = sp.Matrix([[sp.diff(g, v) for v in (x, y)] for g in gradient])
    code = model_code(problem.variables, problem.expr, gradient, hessian)
    for helper in (
        "_sigmoid(",
        "_softplus(",
        "_relu(",
        "_leaky_relu(",
        "Math.abs(",
        "_max(",
        "_min(",
        "_heaviside(",
    ):
        assert helper in code, helper


def test_registry_data_matches_the_registry() -> None:
    from symgd.lesson.sections.explore import registry_data
    from symgd.numeric.optimizers import OPTIMIZERS

    data = registry_data()
    assert [m["name"] for m in data["methods"]] == list(OPTIMIZERS)
    for m in data["methods"]:
        assert {h["name"]: h["default"] for h in m["hyper"]} == OPTIMIZERS[m["name"]].defaults
    body = Path(__file__).resolve().parents[1].joinpath("templates", "explore.js").read_text()
    for name in OPTIMIZERS:
        assert name in body  # every method has an update rule in the script
