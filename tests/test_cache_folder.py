"""Where kept work lives, and which folders are trusted with it: a real folder of the user's
own that nobody else may write to, or none at all."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from symgd.base import cache
from symgd.render import mathsvg
from symgd.render.templates import LESSON_TEMPLATE, make_env


@pytest.fixture(autouse=True)
def _no_formulas_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mathsvg, "_CACHE", {})


def _typeset_something() -> str:
    return mathsvg.typeset(r"\frac{\partial f}{\partial y} = 3 y^{2}", True)


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_new_folders_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "deep" / "cache"
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(root))
    folder = cache.cache_folder("formulas", "test")
    assert folder is not None and folder.parent == root
    for made in (root, folder):
        assert stat.S_IMODE(made.stat().st_mode) & 0o077 == 0


def test_without_a_home_folder_nothing_is_kept_and_everything_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SYMGD_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    mathsvg._ziamath()  # the renderer's font finder asks for the home folder when imported

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert cache.cache_root() is None
    assert make_env().bytecode_cache is None
    assert _typeset_something().startswith("<svg")


def test_a_relative_xdg_cache_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYMGD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setattr(Path, "home", staticmethod(lambda: tmp_path))
    assert cache.cache_root() == tmp_path / ".cache" / "symgd"


def test_a_linked_cache_folder_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(link))
    assert cache.cache_folder("formulas", "test") is None
    assert _typeset_something().startswith("<svg")
    make_env().get_template(LESSON_TEMPLATE)
    assert not any(elsewhere.iterdir())


def test_a_linked_kind_folder_is_not_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cache"
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(root))
    folder = mathsvg._kept()
    assert folder is not None
    folder.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (elsewhere / "precious").write_text("keep me")
    folder.symlink_to(elsewhere)
    assert mathsvg._kept() is None
    assert _typeset_something().startswith("<svg")
    assert [p.name for p in elsewhere.iterdir()] == ["precious"]


def test_a_folder_others_may_write_to_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(shared))
    assert cache.cache_folder("formulas", "test") is None
    planted = _typeset_something()
    assert planted.startswith("<svg") and _files_under(shared) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_someone_elses_folder_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 65534, 65534)
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(theirs))
    assert cache.cache_folder("formulas", "test") is None
    assert make_env().bytecode_cache is None


def test_old_folders_of_the_same_kind_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYMGD_CACHE_DIR", str(tmp_path))
    old = tmp_path / "formulas-0123456789ab"
    recent = tmp_path / "formulas-ba9876543210"
    other = tmp_path / "templates-0123456789ab"
    for folder in (old, recent, other):
        folder.mkdir(mode=0o700)
        (folder / "entry").write_text("x")
    long_ago = time.time() - (cache.STALE_DAYS + 1) * 86400
    for folder in (old, other):
        os.utime(folder, (long_ago, long_ago))
    made = cache.cache_folder("formulas", "a new version")
    assert made is not None and made.is_dir()
    assert not old.exists()
    assert recent.exists() and other.exists()
