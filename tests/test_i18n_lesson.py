"""The lesson of ``symgd explain`` in Korean (``--lang ko``, ``lang="ko"``): its frame (title,
contents, section titles, "Go deeper", the settings' reasons, the summary, the explorer and its
script's words, the footer) in Korean, the same numbers as the English lesson, the explorer
working in Chromium, and the PDF drawn with the shipped Hangul font."""

from __future__ import annotations

import html as markup
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from symgd import explain
from symgd.base import i18n

#: a few functions of one, two and three variables: a saddle, a double well, a kink
FUNCTIONS = {
    "saddle": "x**2+2*x*y",
    "well": "w**4 - 3*w**2",
    "kink": "abs(x) + y**2",
}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: a run of two or more English words (what an untranslated sentence leaves behind)
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,})+\b")
#: names that stay in Latin letters (the glossary keeps them)
NAMES = {"RMSProp", "Adagrad", "Adam", "SymPy", "symgd", "JavaScript", "NaN"}
NUMBER = re.compile(r"−?\d+(?:\.\d+)?(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?")
#: glossary terms the frame of every lesson uses
TERMS = ("경사하강법", "학습률", "헤세 행렬", "고윳값", "기울기", "편미분", "전미분", "임계점")


@pytest.fixture(scope="module")
def korean() -> dict[str, Any]:
    return {name: explain(f, lang="ko", sections="all") for name, f in FUNCTIONS.items()}


@pytest.fixture(scope="module")
def pages(korean: dict[str, Any]) -> dict[str, str]:
    return {name: lesson.html() for name, lesson in korean.items()}


def visible(page: str) -> str:
    """What a reader sees: no script, style, formula, code or tag."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = re.sub(r'<span class="formula-inline">.*?</span>', " ", text, flags=re.S)
    text = re.sub(r'<div class="formula[^"]*">.*?</div>', " ", text, flags=re.S)
    text = re.sub(r"<(code|kbd|pre)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r'(?:aria-label|title|alt)="([^"]*)"', r"> \1 <", text)
    return re.sub(r"\s+", " ", markup.unescape(re.sub(r"<[^>]+>", " ", text)))


#: function names a note may list, as typed (not words)
FUNCTION_NAMES = re.compile(r"\b(?:ReLU|relu|max|min|abs|sigmoid|softplus|tanh|exp|log)\b")


def english_left(text: str) -> list[str]:
    return [w for w in ENGLISH.findall(FUNCTION_NAMES.sub(" ", text)) if w not in NAMES]


def part(page: str, pattern: str) -> str:
    found = re.search(pattern, page, flags=re.S)
    assert found is not None, pattern
    return found.group(0)


def section(page: str, sid: str, heading: bool = True) -> str:
    found = part(page, rf'<section class="lesson-section" id="section-{sid}".*?</section>')
    return found if heading else re.sub(r"<h2 .*?</h2>", " ", found, flags=re.S)


def frame(page: str) -> dict[str, str]:
    """The parts of the page the lesson's frame writes whole (the summary's paragraphs also
    quote how each run ended, in words of the runs section: the whole-page test reads them)."""
    summary = section(page, "summary")
    parts = {
        "masthead": part(page, r'<header class="masthead">.*?</header>'),
        "footer": part(page, r"<footer>.*?</footer>"),
        "deeper": part(page, r'<div class="part-heading" id="go-deeper">.*?</div>'),
        "takeaways": part(summary, r'<div class="callout good">.*?</div>'),
        "headings": " ".join(re.findall(r"<h2 id=.*?</h2>", page, flags=re.S)),
    }
    if 'id="section-explore"' in page:
        explore = section(page, "explore")
        parts["explore"] = re.sub(r"<svg\b.*?</svg>", " ", explore, flags=re.S)  # the figure's
    return parts


# -- the frame in Korean ------------------------------------------------------------------------


def test_the_frame_is_korean_with_the_glossary_terms(pages: dict[str, str]) -> None:
    for name, page in pages.items():
        assert '<html lang="ko">' in page, name
        title = part(page, r"<title>.*?</title>")
        assert "에 대한 경사하강법" in title, title
        for where, piece in frame(page).items():
            text = visible(piece)
            assert HANGUL.search(text), (name, where)
            assert not english_left(text), (name, where, english_left(text)[:5])
        text = visible(page)
        for term in TERMS:
            assert term in text, (name, term)
        assert "더 깊이" in text and "차례" in page and "무슨 일이 있었고, 왜 그런가" in text


def test_every_section_title_is_translated(pages: dict[str, str]) -> None:
    from symgd.lesson.pipeline import SECTIONS

    headings = visible(frame(pages["saddle"])["headings"])
    with i18n.language("ko"):
        titles = [i18n.gettext(spec.title) for spec in SECTIONS]
    shown = [t for t in titles if t in headings]
    assert len(shown) >= 13  # momentum's map only for some functions
    for title, spec in zip(titles, SECTIONS, strict=True):
        assert title != spec.title and HANGUL.search(title), spec.id


def test_the_reasons_for_the_settings_are_korean(korean: dict[str, Any]) -> None:
    for name, lesson in korean.items():
        for key, reason in lesson.settings.reasons.items():
            assert HANGUL.search(reason), (name, key)
            assert not english_left(reason), (name, key, reason)
    chosen = explain(
        "x**2", start=[0], lr=0.5, steps=5, methods="gd", sections="summary", lang="ko"
    )
    assert chosen.settings is not None
    reasons = chosen.settings.reasons
    assert reasons["lr"].startswith("사용자가 정한 값입니다.")
    assert "임계점" in reasons["start"]  # x = 0 is critical: the reason says so in Korean


def test_the_summary_has_the_english_numbers(pages: dict[str, str]) -> None:
    """The Korean summary says the English summary's numbers, no more and no fewer."""
    english = explain(FUNCTIONS["saddle"], sections="summary")
    korean_text = visible(section(pages["saddle"], "summary", heading=False))
    english_text = visible(section(english.html(), "summary", heading=False))
    assert sorted(NUMBER.findall(korean_text)) == sorted(NUMBER.findall(english_text))
    assert HANGUL.search(korean_text) and not HANGUL.search(english_text)


def test_the_explorer_script_carries_korean_words(pages: dict[str, str]) -> None:
    page = pages["well"]
    data = json.loads(part(page, r"const DATA = (\{.*?\});\n")[len("const DATA = ") : -2])
    words = data["words"]
    assert words["statuses"]["converged"] == "수렴"
    assert "상태" in words["said"][0] and "{status}" in words["said"][0]
    assert words["langOption"] == " --lang ko"
    labels = {m["name"]: m["label"] for m in data["methods"]}
    assert labels["gd"] == "경사하강법" and labels["newton"] == "뉴턴 방법"
    meanings = {h["name"]: h["meaning"] for m in data["methods"] for h in m["hyper"]}
    assert meanings["momentum"] == "모멘텀 계수"
    # the policy allows the one script (its hash) and the embedded font
    policy = markup.unescape(part(page, r'http-equiv="Content-Security-Policy" content="[^"]*"'))
    assert "font-src data:" in policy and "script-src 'sha256-" in policy


def test_the_whole_page_has_no_english_sentence_left(pages: dict[str, str]) -> None:
    """Every section of the page in Korean (needs every section's translation)."""
    for name, page in pages.items():
        left = english_left(visible(page))
        assert not left, (name, left[:10])


# -- English stays English ----------------------------------------------------------------------


def test_english_is_unchanged_by_the_language_around_it(korean: dict[str, Any]) -> None:
    english = explain("w**2", lr=0.6, steps=20, methods="gd,momentum", sections="summary,explore")
    page = english.html()
    assert not HANGUL.search(page) and "font-src" not in page
    assert "What happened, and why" in page and "Explore: run it yourself" in page
    with i18n.language("ko"):
        assert english.html() == page  # the lesson keeps its language
        again = explain("w**2", lr=0.6, steps=20, methods="gd,momentum", lang="en")
    assert again.lang == "en" and not HANGUL.search(again.html())
    assert korean["well"].lang == "ko"


def test_the_cli_writes_korean_and_keeps_json_machine_values(runner: Any, tmp_path: Path) -> None:
    from symgd.cli.explain import explain as command

    args = ["x**2+y**2", "--sections", "summary", "--json"]
    result = runner.invoke(command, [*args, "--lang", "ko", "-o", str(tmp_path / "ko")])
    assert result.exit_code == 0, result.output
    english = runner.invoke(command, [*args, "-o", str(tmp_path / "en")])
    assert english.exit_code == 0, english.output
    ko, en = json.loads(result.stdout), json.loads(english.stdout)
    assert set(ko) == set(en)
    for key in ("expression", "variables", "start", "lr", "steps", "methods", "defaults", "runs"):
        assert ko[key] == en[key], key
    page = Path(ko["report"]).read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "무슨 일이 있었고" in page
    env = runner.invoke(command, [*args, "-o", str(tmp_path / "env")], env={"SYMGD_LANG": "ko"})
    assert env.exit_code == 0 and '<html lang="ko">' in Path(
        json.loads(env.stdout)["report"]
    ).read_text(encoding="utf-8")
    bad = runner.invoke(command, ["x**2", "--lang", "xx"])
    assert bad.exit_code == 2 and "choose from en, ko" in bad.output


# -- in Chromium: the page and its explorer, in Korean --------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed")
def test_the_korean_explorer_works_in_chromium(
    devtools: Any, korean: dict[str, Any], tmp_path: Path
) -> None:
    page = korean["saddle"].save(tmp_path)
    devtools.open(page, 1200, 900)
    for _ in range(200):
        if devtools.evaluate("document.fonts.status") == "loaded":
            break
    assert devtools.evaluate("document.fonts.check('16px \"Symgd Hangul\"', '경사하강법')")
    read = (
        "JSON.stringify((() => { const r = document.getElementById('explore-root'); "
        "const q = n => r.querySelector('[data-x=' + n + ']'); "
        "const labels = Array.from(r.querySelectorAll('[aria-label]'));"
        "return {live: !q('live').hidden, text: q('live').innerText, "
        "said: q('outcome').textContent, marker: q('marker').getAttribute('aria-label'), "
        "command: q('command').textContent, "
        "labels: labels.map(e => e.getAttribute('aria-label'))}; })())"
    )
    before = json.loads(devtools.evaluate(read))
    assert before["live"]  # the script ran: the policy's hash matches it
    assert before["said"].startswith("상태: ") and "결과: " in before["said"]
    assert before["marker"].startswith("시작점 (1, 2)")
    assert "--lang ko" in before["command"]
    controls = before["text"].replace(before["command"], "")  # the command stays a command
    for text in [controls, before["said"], *before["labels"]]:
        assert not english_left(text), (text, english_left(text))
    assert "학습률" in before["text"] and "설정을 명령어로 복사" in before["text"]
    # a control moves the run, and the readout follows in Korean
    devtools.evaluate(
        "(() => { const s = document.querySelector('#explore-root [data-x=method]'); "
        "s.value = 'adam'; s.dispatchEvent(new Event('change')); return true; })()"
    )
    after = json.loads(devtools.evaluate(read))
    assert after["said"] != before["said"] and after["said"].startswith("상태: ")
    assert "--methods adam --lang ko" in after["command"]
    # a setting the script refuses is said in Korean
    message = devtools.evaluate(
        "(() => { try { window.symgd.run({method: 'gd', lr: -1, steps: 3, start: [1, 2]}); "
        "return ''; } catch (e) { return e.message; } })()"
    )
    assert message == "학습률은 양수여야 합니다"
    assert devtools.console() == []


# -- the PDF ------------------------------------------------------------------------------------


@pytest.mark.pdf
@pytest.mark.skipif(
    shutil.which("pdffonts") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils is not installed",
)
def test_the_korean_pdf_draws_hangul_with_the_shipped_font(tmp_path: Path) -> None:
    lesson = explain("x**2+2*x*y", lang="ko", sections="summary,explore")
    page = lesson.save(tmp_path)
    with i18n.language("en"):  # the lesson's language holds, whatever is in effect
        pdf = lesson.save_pdf(tmp_path)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    assert "Symgd-Hangul" in fonts.stdout, fonts.stdout
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    for words in ("경사하강법 풀이 수업", "무슨 일이 있었고, 왜 그런가", "탐색: 직접 실행해 보기"):
        assert re.sub(r"\s+", "", words) in flat, words
    # every Hangul letter the printed page shows comes back from the PDF (a .notdef glyph
    # would not); print shows the explorer's static picture, not its controls
    printed = page.read_text(encoding="utf-8")
    printed = re.sub(r'<div class="explore-live".*?<script>', "<script>", printed, flags=re.S)
    printed = re.sub(r"<noscript>.*?</noscript>|aria-label=\"[^\"]*\"", " ", printed, flags=re.S)
    shown = set(HANGUL.findall(visible(printed)))
    assert shown and shown <= set(HANGUL.findall(text))
    assert "\ufffd" not in text
