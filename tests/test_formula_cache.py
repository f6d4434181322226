"""Typeset formulas are kept between runs: read back exactly as typeset, without loading the
renderer, and a damaged, full or unwritable cache only means typesetting again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symgd.base import cache
from symgd.render import mathsvg

CORPUS = [
    (r"\frac{\partial f}{\partial x} = 2 x + 2 y", True),
    (r"\nabla f(x, y) = \begin{pmatrix} 2x \\ 3y^{2} \end{pmatrix}", True),
    (r"\cos\theta", False),
    (r"\eta = 0.1", False),
]

SCRIPT = """
import hashlib, json, sys
from symgd.render.mathsvg import typeset
svgs = [typeset(latex, display) for latex, display in json.loads(sys.argv[1])]
print(json.dumps({"loaded": "ziamath" in sys.modules,
                  "hashes": [hashlib.sha256(s.encode()).hexdigest() for s in svgs]}))
"""


def _typeset_elsewhere(folder: str) -> dict[str, object]:
    env = {**os.environ, "SYMGD_CACHE_DIR": folder}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(CORPUS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache folder for this process, and no formulas in memory."""
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(mathsvg, "_CACHE", {})
    return tmp_path


def _entries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.parent.name.startswith("formulas-")]


def test_a_later_run_reads_the_formulas_without_loading_the_renderer(tmp_path: Path) -> None:
    first = _typeset_elsewhere(str(tmp_path))
    assert first["loaded"] is True
    assert len(_entries(tmp_path)) == len(CORPUS)
    again = _typeset_elsewhere(str(tmp_path))
    assert again["loaded"] is False
    assert again["hashes"] == first["hashes"]
    uncached = _typeset_elsewhere("")
    assert uncached["hashes"] == first["hashes"]


def test_kept_formulas_are_the_typeset_ones(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    typeset = [mathsvg.typeset(latex, display) for latex, display in CORPUS]
    monkeypatch.setattr(mathsvg, "_CACHE", {})
    monkeypatch.setattr(mathsvg, "_render", _refuse)
    assert [mathsvg.typeset(latex, display) for latex, display in CORPUS] == typeset
    assert all(s.startswith("<svg") for s in typeset)


def _refuse(latex: str, display: bool) -> str:
    raise AssertionError(f"typeset again: {latex}")


def test_a_damaged_entry_is_typeset_again_and_replaced(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    latex, display = CORPUS[1]
    good = mathsvg.typeset(latex, display)
    (entry,) = _entries(fresh)
    for damage in (good.encode()[: len(good) // 2], b"\xff\xfe not text", b""):
        entry.write_bytes(damage)
        monkeypatch.setattr(mathsvg, "_CACHE", {})
        assert mathsvg.typeset(latex, display) == good
        assert entry.read_bytes() == good.encode()


def test_a_formula_that_cannot_be_typeset_is_not_kept(fresh: Path) -> None:
    svg = mathsvg.typeset(r"\frac{1}{", True)
    assert svg.startswith("<code")
    assert _entries(fresh) == []


def test_an_unwritable_folder_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(blocker / "below"))
    monkeypatch.setattr(mathsvg, "_CACHE", {})
    assert mathsvg.typeset(*CORPUS[2]).startswith("<svg")
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


def test_a_full_folder_drops_the_least_recently_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 8)
    monkeypatch.setattr(cache, "TRIM_EVERY", 1)
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(tmp_path))
    folder = cache.cache_folder("kind")
    assert folder is not None
    now = time.time()
    for index in range(8):
        cache.write_entries(folder, {f"e{index}": b"x"})
        os.utime(folder / f"e{index}", (now - 1000 + index, now - 1000 + index))
    assert cache.read_entry(folder, "e0") == b"x"  # used again: now the most recent
    for index in range(8, 12):
        cache.write_entries(folder, {f"e{index}": b"x"})
    kept = {p.name for p in folder.iterdir()}
    assert len(kept) <= 8
    assert {"e0", "e11"} <= kept
    assert "e1" not in kept


def test_formulas_kept_by_other_code_are_not_read(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    latex, display = CORPUS[0]
    kept = mathsvg.typeset(latex, display)
    code, *rest = mathsvg._made_by()
    assert code == hashlib.sha1(Path(mathsvg.__file__).read_bytes()).hexdigest()
    # what another version of this file (or of the renderer) typeset is somewhere else
    monkeypatch.setattr(mathsvg, "_made_by", lambda: ("other code", *rest))
    monkeypatch.setattr(mathsvg, "_CACHE", {})
    rendered: list[str] = []

    def render(text: str, display_mode: bool) -> str:
        rendered.append(text)
        return kept

    monkeypatch.setattr(mathsvg, "_render", render)
    assert mathsvg.typeset(latex, display) == kept
    assert rendered == [latex]


def test_a_lesson_from_kept_formulas_is_the_same_page(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from symgd import explain

    arguments = {"start": [1, -1], "steps": 3, "methods": "gd", "sections": "core"}
    first = explain("x**2 + x*y + 2*y**2", **arguments).html()  # type: ignore[arg-type]
    assert len(_entries(fresh)) > 20
    monkeypatch.setattr(mathsvg, "_CACHE", {})
    monkeypatch.setattr(mathsvg, "_render", _refuse)
    again = explain("x**2 + x*y + 2*y**2", **arguments).html()  # type: ignore[arg-type]
    assert again == first
