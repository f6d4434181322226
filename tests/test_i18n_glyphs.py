"""Korean pages on a machine with no Korean font: the lesson, the handout and the backprop page
printed to PDF, and the lesson and the fit page in Chromium, draw every Hangul letter with the
font symgd ships (figures included), never an empty box."""

from __future__ import annotations

import html as markup
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hangul_fonts import hangul_drawing

from symgd.base.i18n import language

HANGUL = re.compile(r"[\uac00-\ud7a3]")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _visible(page: str) -> str:
    """The letters a reader sees, figures' labels included (no style, script or formula)."""
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    text = re.sub(r'<span class="formula-inline">.*?</span>', " ", text, flags=re.S)
    text = re.sub(r'<div class="formula[^"]*">.*?</div>', " ", text, flags=re.S)
    return markup.unescape(re.sub(r"<[^>]+>", " ", text))


def _without_korean_fonts(tmp_path: Path) -> dict[str, str]:
    """The environment of a machine whose fontconfig sees DejaVu only."""
    env = dict(os.environ, SYMGD_LANG="ko")
    if DEJAVU.is_dir():
        conf = tmp_path / "fonts.conf"
        conf.write_text(
            f'<?xml version="1.0"?><fontconfig><dir>{DEJAVU}</dir>'
            f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
            encoding="utf-8",
        )
        env["FONTCONFIG_FILE"] = str(conf)
    return env


def _symgd(tmp_path: Path, *args: str) -> None:
    command = [sys.executable, "-m", "symgd", *args]
    env = _without_korean_fonts(tmp_path)
    subprocess.run(command, env=env, check=True, timeout=600, capture_output=True)


def _pdf_text(pdf: Path) -> tuple[str, str]:
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return fonts.stdout, text.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("explain", "x**4 - 3*x**2 + x*y + y**2", "--sections", "all"),
        ("backprop", "(sigmoid(w*x + b) - y)**2", "--at", "w=0.5,b=0.1,x=1,y=0"),
    ],
    ids=["lesson", "backprop"],
)
def test_a_korean_page_prints_every_letter_with_the_shipped_font(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    folder = tmp_path / "out"
    _symgd(tmp_path, *command, "--pdf", "-o", str(folder))
    fonts, text = _pdf_text(folder / "report.pdf")
    assert "Symgd-Hangul" in fonts, fonts
    if DEJAVU.is_dir():
        assert "Nanum" not in fonts and "Noto" not in fonts, fonts
    page = (folder / "report.html").read_text(encoding="utf-8")
    # the explorer is for the screen: a printed copy leaves its controls out
    printed = re.sub(r'<section [^>]*id="section-explore".*?</section>', " ", page, flags=re.S)
    letters = set(HANGUL.findall(_visible(printed)))
    assert len(letters) > 100
    # a letter drawn as an empty box would not come back out of the PDF's text
    missing = letters - set(HANGUL.findall(text))
    assert not missing, "".join(sorted(missing))


def test_the_korean_handout_prints_with_the_shipped_font(tmp_path: Path) -> None:
    from symgd.base.i18n import _

    pdf = tmp_path / "week.pdf"
    _symgd(tmp_path, "handout", "x**2 + 2*x*y", "x**4 - 2*x**2 + y**2", "-o", str(pdf))
    fonts, text = _pdf_text(pdf)
    assert "Symgd-Hangul" in fonts, fonts
    flat = re.sub(r"\s+", "", text)
    with language("ko"):
        expected = [_("Name:"), _("Date:"), _("Gradient descent: exercises")]
    assert all(HANGUL.search(e) for e in expected), expected
    for words in expected:
        assert re.sub(r"\s+", "", words) in flat, words
    assert len(set(HANGUL.findall(text))) > 100


@pytest.mark.parametrize("page", ["lesson", "fit"])
def test_chromium_draws_the_korean_lesson_and_fit_page_with_the_shipped_font(
    devtools: Any, tmp_path: Path, page: str
) -> None:
    folder = tmp_path / page
    if page == "lesson":
        _symgd(tmp_path, "explain", "x**2 + 2*x*y", "--sections", "core", "-o", str(folder))
        path = folder / "report.html"
    else:
        _symgd(tmp_path, "fit", "--demo", "linear", "-o", str(folder))
        path = folder / "fit.html"
    devtools.open(path, 1200, 900)
    drawn = hangul_drawing(devtools)
    assert all(ours >= letters for letters, ours in drawn), drawn
    shown = len(drawn)
    assert shown > 30  # headings, paragraphs, table cells, figure labels
