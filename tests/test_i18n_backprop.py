"""Korean (``--lang ko``) for ``symgd backprop``: the page, the graph's labels, the notes, the
printed lines, the JSON and the PDF read in Korean, with the numbers of the English page and
the English page unchanged."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from symgd.base import i18n
from symgd.network import backprop_page
from symgd.network.backprop import BackpropResult, backprop

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
#: a run of two or more English words (as a reader would spot English prose)
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,})+\b")
#: names that stay in Latin letters in Korean (docs/glossary-ko.md): functions and tools
NAMES = {"ReLU", "Leaky", "tanh", "softplus", "sympy", "diff", "symgd"}
#: English words that must not be left in the Korean prose
ENGLISH_WORDS = re.compile(
    r"\b(the|and|of|is|are|from|node|nodes|loss|adjoint|gradient|layer|stage|parameters?|"
    r"value|step|central|difference|forward|backward|pass|rule|exactly|undefined)\b"
)
NUMBER = re.compile(r"−?\d+(?:\.\d+)?(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?")
TWO_LAYERS = "(sigmoid(w2*sigmoid(w1*x + b1) + b2) - y)**2"
TWO_LAYERS_AT = "w1=0.5,b1=0.1,w2=-0.3,b2=0.2,x=1,y=1"

#: a small, wide corpus: layers and stages, a step up and a step off the domain, a kink, a
#: central difference that cannot be taken, operations without a named rule, a shared node,
#: exact values past their bound
CORPUS: dict[str, tuple[str, str, str | None, float | None]] = {
    "two-layer": (TWO_LAYERS, TWO_LAYERS_AT, "w1,b1,w2,b2", 0.5),
    "step-up": ("(w*x - y)**2", "w=0.5,x=2,y=3", "w", 10.0),
    "kink-and-edge": ("relu(w*x) + log(b)", "w=0,x=1,b=0.00005", None, 1.0),
    "no-rule-shared": ("max(w, b) + atan2(w, b) + exp(w)*(1 - exp(w))", "w=0.2,b=0.7", None, None),
    "digits": ("w**60 + w", "w=1.234567891234", None, None),
}


def _work(name: str, lang: str) -> BackpropResult:
    expr, at, wrt, lr = CORPUS[name]
    return backprop(expr, at=at, wrt=wrt, lr=lr, lang=lang)


@pytest.fixture(scope="module")
def plain_tables() -> Iterator[None]:
    """Pages with their tables in plain text: quick to make, and the words are the same as
    in typeset tables."""
    saved = backprop_page.MAX_TYPESET_NODES
    backprop_page.MAX_TYPESET_NODES = 0
    yield
    backprop_page.MAX_TYPESET_NODES = saved


@pytest.fixture(scope="module")
def pages(plain_tables: None) -> dict[tuple[str, str], tuple[BackpropResult, str]]:
    """Every page of the corpus in both languages."""
    made = {}
    for name in CORPUS:
        for lang in ("ko", "en"):
            result = _work(name, lang)
            made[name, lang] = (result, backprop_page.render_backprop_page(result))
    return made


def _visible(html: str, attributes: bool = True) -> str:
    """The words a reader sees: no style, no formulas, no footer (the shared one), no tags;
    with ``attributes`` also the labels of a phone's table cells, the running title and the
    table of contents' name."""
    text = re.sub(r"<style>.*?</style>|<footer>.*?</footer>", " ", html, flags=re.S)
    text = re.sub(r'<span class="formula-inline">.*?</span>', " ", text, flags=re.S)
    text = re.sub(r'<div class="formula[^"]*">.*?</div>', " ", text, flags=re.S)
    if attributes:
        text = re.sub(r'(?:aria-label|data-label|data-running-title)="([^"]*)"', r">\1<", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text).replace("&#39;", "'").replace("&amp;", "&")


def _calculus_rule_names() -> set[str]:
    """The rule names of the derivative steps as :mod:`symgd.calculus` gives them in Korean
    (their translation belongs to the derivative steps, not to this page)."""
    from symgd.calculus.step import RULE_TITLES

    with i18n.language("ko"):
        return {i18n._(title) for title in RULE_TITLES.values()}


def _prose(html: str) -> str:
    """The visible words of the page without the words it borrows: the derivative steps' rule
    names and the number formatter's word for a number that does not exist."""
    import math

    from symgd.render.templates import number

    known = _calculus_rule_names()
    with i18n.language("ko"):
        no_number = number(math.nan)

    def rule(match: re.Match[str]) -> str:
        return " " if match.group(1) in known else match.group(0)

    text = _visible(re.sub(r'<span class="rule-name">(.*?)</span>', rule, html))
    return text.replace(no_number, " ")


def _english_runs(text: str) -> list[str]:
    return [r for r in ENGLISH_RUN.findall(text) if not set(re.findall(r"\w+", r)) <= NAMES]


@pytest.mark.parametrize("name", list(CORPUS))
def test_the_korean_page_has_no_english_prose_and_the_english_numbers(
    pages: dict[tuple[str, str], tuple[BackpropResult, str]], name: str
) -> None:
    _, korean = pages[name, "ko"]
    _, english = pages[name, "en"]
    assert '<html lang="ko">' in korean and '<html lang="en">' in english
    text = _prose(korean)
    assert not _english_runs(text), _english_runs(text)[:5]
    assert not ENGLISH_WORDS.findall(text), ENGLISH_WORDS.findall(text)[:10]
    # the same numbers as the English page, written the same way
    assert Counter(NUMBER.findall(_visible(korean))) == Counter(NUMBER.findall(_visible(english)))


def test_the_korean_page_uses_the_glossary_terms(
    pages: dict[tuple[str, str], tuple[BackpropResult, str]],
) -> None:
    text = _visible(pages["two-layer", "ko"][1])
    for term in ("역전파", "순전파", "연쇄 법칙", "국소 도함수", "손실", "가중치", "학습률"):
        assert term in text, term
    for words in ("계산 그래프", "수반값", "중심 차분", "두 번 검산한 기울기", "경사하강 한 걸음"):
        assert words in text, words
    # the stages of the backward pass, from the top layer down
    heads = re.findall(r"<h3>(.*?)</h3>", pages["two-layer", "ko"][1])
    assert heads == [
        "손실",
        "손실 단계",
        "2번째 층: 활성화 단계",
        "2번째 층: 아핀 단계",
        "1번째 층: 활성화 단계",
        "1번째 층: 아핀 단계",
        "매개변수",
    ]
    assert "활성화 함수의 층이 2개인 신경망" in text
    assert "손실이 0.04213만큼 줄었습니다." in text


def test_the_sentences_follow_what_was_computed(
    pages: dict[tuple[str, str], tuple[BackpropResult, str]],
) -> None:
    up = _visible(pages["step-up", "ko"][1])
    # (w*x - y)² at w = 0.5 → 80.5 with η = 10: 4 → (80.5·2 − 3)² = 24964
    assert "한 걸음 전의 손실은 4이고, 한 걸음 뒤에는 24964입니다." in up
    assert "손실이 2.496 × 10⁴만큼 늘었습니다." in up
    edge = _visible(pages["kink-and-edge", "ko"][1])
    assert "한 걸음 뒤에는 정의되지 않습니다" in edge
    assert "b에 대한 중심 차분은 계산할 수 없었습니다" in edge
    assert "꺾인 점에 정확히 놓여" in edge
    shared_result, shared_html = pages["no-rule-shared", "ko"]
    shared = _visible(shared_html)
    # exp(w) has two users, and the users' names are listed as the graph has them
    assert re.search(r"v\d+의 사용처는 노드 2개\(v\d+, v\d+\)입니다", shared)
    # an operation without a named rule is named by itself, in Korean words
    rules = re.findall(r'<span class="rule-name">(.*?)</span>', shared_html)
    assert {"Max의 도함수", "Atan2의 도함수"} <= set(rules)
    known = _calculus_rule_names()
    assert all(r in known or HANGUL.search(r) for r in rules), rules
    assert shared_result.notes == ()
    digits = pages["digits", "ko"][0]
    assert digits.notes == (
        "정확한 값은 v1에서 멈춥니다(자릿수가 200개를 넘습니다). 그 뒤로는 값이 30자리 소수입니다.",
    )


def test_the_graph_labels_are_korean_and_fit_their_boxes(
    pages: dict[tuple[str, str], tuple[BackpropResult, str]],
) -> None:
    from fontTools.ttLib import TTFont

    from symgd.network.layout import FONT, PAD_X, graph_boxes

    result = pages["two-layer", "ko"][0]
    with i18n.language("ko"):
        boxes = graph_boxes(backprop_page.graph_nodes(result))
    lines = [line for box in boxes for line in box.lines]
    assert any(line.startswith("값 ") for line in lines)
    assert any(line.startswith("수반 ") for line in lines)
    assert not any(re.match(r"(val|adj) ", line) for line in lines)
    # the widths the letters really take: Hangul in the shipped font, the rest in DejaVu Sans
    # Mono (0.602 em a letter)
    font = TTFont(str(i18n.hangul_font_path()))
    advance, per_em = font["hmtx"].metrics, font["head"].unitsPerEm
    cmap = font.getBestCmap()

    def width(line: str) -> float:
        em = sum(
            advance[cmap[ord(c)]][0] / per_em if i18n.is_hangul(c) else 1233 / 2048 for c in line
        )
        return em * FONT

    for box in boxes:
        for line in box.lines:
            assert width(line) <= box.width - 2 * PAD_X, (line, box.width)
    # the SVG asks for the shipped Hangul font, which the Korean page declares
    svg = pages["two-layer", "ko"][1].split('<svg class="graph"', 1)[1].split("</svg>", 1)[0]
    assert "Symgd Hangul" in svg and "값 0.5" in svg and "수반 0.0171" in svg


def test_korean_and_english_results_differ_only_in_their_words(
    pages: dict[tuple[str, str], tuple[BackpropResult, str]],
) -> None:
    for name in CORPUS:
        korean, english = pages[name, "ko"][0], pages[name, "en"][0]
        k, e = korean.to_json(), english.to_json()
        assert k.pop("notes") == list(korean.notes) and e.pop("notes") == list(english.notes)
        # NaN (a central difference off the domain) compares equal as text
        assert json.dumps(k, sort_keys=True) == json.dumps(e, sort_keys=True), name
        for k_note, e_note in zip(korean.notes, english.notes, strict=True):
            assert HANGUL.search(k_note) and not HANGUL.search(e_note)
            assert Counter(NUMBER.findall(k_note)) == Counter(NUMBER.findall(e_note))


def test_english_stays_english(pages: dict[tuple[str, str], tuple[BackpropResult, str]]) -> None:
    result, html = pages["step-up", "en"]
    assert not HANGUL.search(html)
    assert "Symgd Hangul" not in html.split('<svg class="graph"')[0]  # no font declared
    assert "@font-face" not in html and "font-src" not in html
    text = _visible(html)
    assert "The loss before the step is 4; after it, 24964." in text
    assert "The loss went up, by 2.496 × 10⁴: this step was too large" in text
    assert "val 0.5" in html and "adj 1" in html
    # the result's language wins over the one in effect around it; the default is English
    with i18n.language("ko"):
        assert backprop_page.render_backprop_page(result) == html
    default = backprop("(w*x - y)**2", at="w=0.5,x=2,y=3", wrt="w", lr=10.0)
    assert default.lang == "en"
    assert backprop_page.render_backprop_page(default) == html
    with i18n.language("ko"):
        assert pages["digits", "en"][0].notes[0].startswith("Exact values stop at v1 (more than")


def test_the_typeset_korean_page_has_no_words_in_its_formulas(tmp_path: Path) -> None:
    result = backprop("(w*x - y)**2", at="w=0.5,x=2,y=3", wrt="w", lr=0.1, lang="ko")
    page = backprop_page.save_report(result, tmp_path)[0].read_text(encoding="utf-8")
    assert r"\sum_{v \to u}" in page and r"\text{ uses }" not in page
    assert "v를 쓰는 모든 노드 u(간선 v → u)" in _visible(page)
    assert "@font-face" in page and "font-src data:" in page
    with i18n.language("ko"):
        english = backprop_page.render_backprop_page(
            backprop("(w*x - y)**2", at="w=0.5,x=2,y=3", wrt="w", lr=0.1)
        )
    assert r"\sum_{u \text{ uses } v}" in english


# -- the command ------------------------------------------------------------------------------


def test_the_korean_cli_prints_korean_lines_and_english_json_keys(tmp_path: Path) -> None:
    from symgd.cli.backprop import backprop as command

    runner = CliRunner()
    args = ["(w*x - y)**2", "--at", "w=0.5,x=2,y=3", "--wrt", "w", "--lr", "0.1"]
    korean = runner.invoke(command, [*args, "--lang", "ko", "-o", str(tmp_path / "ko")])
    assert korean.exit_code == 0, korean.output
    lines = korean.output.splitlines()
    assert lines[0] == "w = 0.5, x = 2, y = 3에서 손실 4"
    assert lines[1] == "  ∂L/∂w = -8 = -8  (sympy.diff -8, 중심 차분 -8)"
    assert lines[2].startswith("가장 큰 차이: sympy.diff와 0, 중심 차분과 ")
    assert lines[3] == "한 걸음(η = 0.1): w = 1.3; 손실 4 → 0.16"
    page = (tmp_path / "ko" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page
    # SYMGD_LANG=ko gives the same; JSON keys and machine values stay English
    env = {"SYMGD_LANG": "ko"}
    edge = ["relu(w*x)", "--at", "w=0,x=1", "--json", "-o", str(tmp_path / "json")]
    as_korean = runner.invoke(command, edge, env=env)
    as_english = runner.invoke(command, [*edge, "--lang", "en"], env=env)
    assert as_korean.exit_code == 0 and as_english.exit_code == 0, as_korean.output
    k, e = json.loads(as_korean.stdout), json.loads(as_english.stdout)
    assert HANGUL.search(k.pop("notes")[0]) and not HANGUL.search(e.pop("notes")[0])
    assert k == e
    bad = runner.invoke(command, [*args, "--lang", "xx"])
    assert bad.exit_code == 2 and "choose from en, ko" in bad.output
    # bad input is told in Korean too, and exits with 2
    off = runner.invoke(command, ["log(w)", "--at", "w=-1", "--lang", "ko", "-o", str(tmp_path)])
    assert off.exit_code == 2
    assert "노드 L = log(w)의 입력은 w = −1인데, 로그는 양수에서만 정의됩니다" in off.output


def test_bad_input_is_told_in_the_language_asked_for() -> None:
    from symgd.base.errors import InputError

    for lang, words in (("ko", "--wrt에 같은 매개변수가 두 번 있습니다"), ("en", "twice")):
        with pytest.raises(InputError, match=words):
            backprop("w*x", at="w=1,x=2", wrt="w,w", lang=lang)
    with pytest.raises(InputError, match=r"w에 대한 L = √w의 도함수가 w = 0에서 정의되지"):
        backprop("sqrt(w)", at={"w": 0}, lang="ko")
    with pytest.raises(InputError, match=r"^the gradient does not exist at this point"):
        backprop("sqrt(w)", at={"w": 0})


# -- the PDF and the browser ------------------------------------------------------------------


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_korean_pdf_gives_back_its_korean_text(plain_tables: None, tmp_path: Path) -> None:
    result = backprop("(sigmoid(w*x + b) - y)**2", at="w=0.5,b=0.1,x=1,y=0", lang="ko")
    html, pdf = backprop_page.save_report(result, tmp_path, with_pdf=True)
    assert pdf is not None
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    for words in ("손으로 풀어 보는 역전파", "계산 그래프", "1번째 층: 활성화 단계", "값 0.5"):
        assert re.sub(r"\s+", "", words) in flat, words
    # every Hangul letter of the page comes back from the PDF (a missing glyph would not)
    letters = set(HANGUL.findall(_visible(html.read_text(encoding="utf-8"), attributes=False)))
    assert letters <= set(HANGUL.findall(text))


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed")
@pytest.mark.parametrize("width", [400, 1400])
def test_chromium_draws_the_korean_graph_labels_inside_their_boxes(
    pages: dict[tuple[str, str], tuple[BackpropResult, str]],
    devtools: Any,
    tmp_path: Path,
    width: int,
) -> None:
    page = tmp_path / "report.html"
    page.write_text(pages["two-layer", "ko"][1], encoding="utf-8")
    devtools.open(page, width, 900)
    for _ in range(200):
        if devtools.evaluate("document.fonts.status") == "loaded":
            break
    outside = json.loads(
        devtools.evaluate(
            """JSON.stringify(Array.from(document.querySelectorAll('svg.graph g.node')).flatMap(
              g => { const r = g.querySelector('rect').getBBox();
                return Array.from(g.querySelectorAll('text')).map(t => [t.textContent,
                  t.getBBox(), r]).filter(([_, b, r]) => b.x < r.x || b.x + b.width > r.x +
                  r.width - 2).map(([s]) => s); }))"""
        )
    )
    assert outside == []
    labels = devtools.evaluate(
        "Array.from(document.querySelectorAll('svg.graph text')).map(t => t.textContent)"
        ".filter(s => s.startsWith('수반 ')).length"
    )
    assert labels >= 10
    scroll, inner = devtools.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner
