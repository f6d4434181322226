"""symgd's own templates are compiled once and kept, like Python's .pyc files; a cache that
cannot be used only means compiling again."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jinja2
import pytest

from symgd.render.template_cache import compiled_templates_cache
from symgd.render.templates import LESSON_TEMPLATE, make_env, render_html

SOURCE = Path(__file__).resolve().parents[1] / "templates"


def _refuse_compiling(env: jinja2.Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    def compile_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a template was compiled again")

    monkeypatch.setattr(env, "compile", compile_again)


def _root_code(template: jinja2.Template) -> bytes:
    return template.root_render_func.__code__.co_code


def test_a_second_environment_reads_the_compiled_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(tmp_path))
    compiled = make_env().get_template(LESSON_TEMPLATE)
    assert list(tmp_path.rglob("*.cache")), "nothing was kept"
    second = make_env()
    _refuse_compiling(second, monkeypatch)
    assert _root_code(second.get_template(LESSON_TEMPLATE)) == _root_code(compiled)


def test_a_page_from_kept_templates_is_the_page_from_fresh_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from symgd import explain

    lesson = explain("x**2 - x*y + y**2", start=[1, 2], steps=4, methods="gd", sections="core")
    monkeypatch.setenv("SYMGD_CACHE_DIR", "")
    fresh = render_html(lesson.context, make_env())
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(tmp_path))
    render_html(lesson.context, make_env())  # compiles and keeps
    kept = make_env()
    _refuse_compiling(kept, monkeypatch)
    page = render_html(lesson.context, kept)
    assert page == fresh
    assert "Gradient descent" in page or "gradient descent" in page


def _page(source: str, **options: Any) -> str:
    """``source`` rendered by a fresh environment that keeps its compiled templates."""
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.html": source}), **options)
    env.bytecode_cache = compiled_templates_cache(env)
    return env.get_template("t.html").render(x=1)


def test_an_edited_template_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(tmp_path))
    assert _page("A{{ x }}") == "A1"
    assert _page("B{{ x + 1 }}") == "B2"
    assert _page("A{{ x }}") == "A1"


def test_environments_with_other_settings_do_not_share_compiled_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(tmp_path))
    source = "{% if x %}\n  A {{ '<b>' }}\n{% endif %}"
    plain = _page(source)
    trimmed = _page(source, trim_blocks=True, lstrip_blocks=True, autoescape=True)
    assert plain == "\n  A <b>\n"
    assert trimmed == "  A &lt;b&gt;\n"
    assert _page(source) == plain  # read back, and not the other environment's code
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("templates-")]) == 2


def test_a_folder_that_cannot_be_written_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(blocker / "below"))
    template = make_env().get_template(LESSON_TEMPLATE)
    assert _root_code(template)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_damaged_entries_are_compiled_again_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(tmp_path))
    compiled = make_env().get_template(LESSON_TEMPLATE)
    entries = list(tmp_path.rglob("*.cache"))
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:40] + b"\x00garbage")
    again = make_env().get_template(LESSON_TEMPLATE)
    assert _root_code(again) == _root_code(compiled)
    reread = make_env()
    _refuse_compiling(reread, monkeypatch)  # the damaged entries were written afresh
    assert _root_code(reread.get_template(LESSON_TEMPLATE)) == _root_code(compiled)


def test_an_empty_setting_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYMGD_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = make_env()
    assert env.bytecode_cache is None
    env.get_template(LESSON_TEMPLATE)
    assert not any(tmp_path.iterdir())


def test_the_default_folder_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYMGD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    make_env().get_template(LESSON_TEMPLATE)
    assert list((tmp_path / "symgd").rglob("*.cache"))


def test_a_users_templates_are_never_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(cache))
    custom = tmp_path / "templates"
    shutil.copytree(SOURCE, custom, ignore=shutil.ignore_patterns("__pycache__"))
    env = make_env(custom)
    assert env.bytecode_cache is None
    env.get_template(LESSON_TEMPLATE)
    assert not cache.exists()
