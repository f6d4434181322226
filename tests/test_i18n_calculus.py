"""Korean (``lang="ko"``) for the calculus of a lesson: the rule-by-rule derivation, the facts and
verdicts ``symgd derive`` prints, and the first five sections of ``symgd explain`` (the
function, the partial derivatives, the total differential, the steepest-descent argument and
the curvature), read as a Korean reader sees them, with the English page unchanged."""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import pytest
import sympy as sp

from symgd.base.i18n import language

ROOT = Path(__file__).resolve().parents[1]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: the sections this slice writes, by the id of their ``<section>``
SECTIONS = ("function", "derivatives", "differential", "steepest", "curvature")
#: a small, wide corpus: two variables, one variable, a kink, a function that is not polynomial
CORPUS = ("x**2 + 2*x*y", "x**4 - 3*x**2 + x", "abs(x) + y**2", "sin(x)*cos(y)")
#: functions whose critical points come from a solver with a time budget: on a busy machine
#: one run may find them exactly and the next numerically, so their numbers are not compared
TIMED = ("sin(x)*cos(y)",)
#: the files whose messages this slice owns
PYTHON = sorted((ROOT / "symgd" / "calculus").glob("*.py")) + [
    ROOT / "symgd" / "lesson" / "sections" / f"{name}.py" for name in SECTIONS
]
TEMPLATES = [ROOT / "templates" / "partials" / f"{name}.html.jinja2" for name in SECTIONS]
#: the glossary's terms (docs/glossary-ko.md) these sections use
TERMS = ("편미분", "헤세 행렬", "고윳값", "임계점", "기울기", "경사하강법", "학습률")


@cache
def own_messages() -> tuple[str, ...]:
    """Every English message of this slice's files (plural forms included)."""
    from babel.messages.extract import extract_from_file

    keywords = {"_": None, "n_": (1, 2), "N_": None}
    found: list[str] = []
    for path in PYTHON:
        for _line, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=keywords
        ):
            found.extend([message] if isinstance(message, str) else message)
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    for path in TEMPLATES:
        for _line, message, _comments, _context in extract_from_file(
            "jinja2.ext:babel_extract", str(path), keywords=keywords, options=options
        ):
            found.extend([message] if isinstance(message, str) else message)
    return tuple(sorted(set(found)))


def _fragments(message: str) -> list[str]:
    """The literal runs of a message between its placeholders, long enough to be telling."""
    parts = re.split(r"\{[a-z_0-9]*\}|%\([a-z_]+\)s|<[^>]+>", message)
    return [" ".join(p.split()) for p in parts if len(re.findall(r"[A-Za-z]{2,}", p)) >= 3]


def _visible(page: str) -> str:
    """The text a reader sees: tags dropped, formulas (SVG with their LaTeX titles) left out."""
    page = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _sections(page: str) -> str:
    parts = []
    for name in SECTIONS:
        found = re.search(rf'<section[^>]*id="section-{name}".*?</section>', page, re.S)
        assert found is not None, name
        # the section's heading and figures belong to other parts of symgd
        body = re.sub(r"<h2.*?</h2>|<figure.*?</figure>", " ", found.group(0), flags=re.S)
        parts.append(body)
    return "\n".join(parts)


@cache
def lesson_pages(f: str) -> tuple[str, str]:
    """The page of the five sections for ``f`` in English and in Korean."""
    import symgd

    shown = ",".join(SECTIONS)
    english = symgd.explain(f, lang="en", sections=shown, methods="gd", steps=4).html()
    korean = symgd.explain(f, lang="ko", sections=shown, methods="gd", steps=4).html()
    return english, korean


# -- the rule-by-rule derivation and the facts -----------------------------------------------


def test_a_derivation_explains_every_rule_in_korean_with_the_same_results() -> None:
    from symgd.calculus.rules import derivative_steps, format_steps

    x, y = sp.symbols("x y", real=True)
    expr = sp.exp(x * y) * sp.sin(x) / (1 + y**2) + x**3
    english = derivative_steps(expr, x, others=(y,))
    with language("ko"):
        korean = derivative_steps(expr, x, others=(y,))
        text = format_steps(korean)
        titles = {step.title for step in korean.walk()}
    assert sp.simplify(korean.result - sp.diff(expr, x)) == 0
    assert [s.rule for s in korean.walk()] == [s.rule for s in english.walk()]
    assert [sp.srepr(s.result) for s in korean.walk()] == [
        sp.srepr(s.result) for s in english.walk()
    ]
    assert {"연쇄 법칙", "곱의 법칙", "합의 법칙"} <= titles
    assert "x에 대한 편미분입니다" in text and "y의 값은 상수로 취급합니다" in text
    for step in korean.walk():
        assert HANGUL.search(step.explanation), step.explanation
        assert not re.search(r"\b[a-z]{3,} [a-z]{3,} [a-z]{3,}\b", step.explanation), (
            step.explanation
        )
    # the English tree is as it was
    assert english.explanation.startswith("Partial derivative with respect to x: treat y as a")


def test_derive_says_its_facts_and_verdicts_in_korean_and_keeps_machine_values() -> None:
    from symgd.calculus.derivation import derivation_to_json, derive
    from symgd.calculus.facts import format_facts

    english = derive("x**2*y + y**2")
    with language("ko"):
        korean = derive("x**2*y + y**2")
        lines = format_facts(korean.facts, ["x", "y"]) if korean.facts else []
    assert korean.convexity.verdict == english.convexity.verdict == "neither"
    assert [p.kind for p in korean.critical_points] == [p.kind for p in english.critical_points]
    assert HANGUL.search(korean.convexity.reason)
    assert lines[0] == "사실:" and any(
        line.startswith("  볼록성: 볼록도 오목도 아님") for line in lines
    )
    assert not any(re.search(r"[A-Za-z]{3,} [A-Za-z]{3,} [A-Za-z]{3,}", line) for line in lines)
    data = derivation_to_json(korean)
    assert data["convexity"]["verdict"] == "neither" and set(data) == set(
        derivation_to_json(english)
    )
    # the point where the Hessian's signs differ is the same point in both languages
    assert re.findall(r"-?\d+", korean.convexity.reason) == re.findall(
        r"-?\d+", english.convexity.reason
    )


def test_a_wide_hessian_keeps_hangul_out_of_its_formula() -> None:
    from symgd.lesson.sections.curvature import _entry_list

    forms = {
        (i, j): sp.Integer(0) if i != j else sp.Integer(i + 1) for i in range(6) for j in range(6)
    }
    english, english_notes = _entry_list("x", [0, 1, 4, 5], forms)
    with language("ko"):
        korean, notes = _entry_list("x", [0, 1, 4, 5], forms)
    assert english_notes == () and r"\text{all other } h_{ij} &= 0" in english
    assert not HANGUL.search(korean)
    assert notes == ("나머지 성분 h_ij는 모두 0입니다.", "(처음과 마지막 변수의 성분만 표시)")


# -- the lesson's first five sections --------------------------------------------------------


@pytest.mark.parametrize("f", CORPUS)
def test_the_sections_read_in_korean(f: str) -> None:
    english, korean = lesson_pages(f)
    mine = _visible(_sections(korean))
    left = [
        message
        for message in own_messages()
        for fragment in _fragments(message)
        if fragment in mine
    ]
    assert left == [], left
    assert len(HANGUL.findall(mine)) > 400
    assert all(term in mine for term in TERMS[:4]), [t for t in TERMS if t not in mine]
    # formulas are never Korean: the formula font has no Hangul
    for title in re.findall(r"<title>(.*?)</title>", _sections(korean), re.S):
        assert not HANGUL.search(title), title
    if f in TIMED:  # whether the exact solver finishes in time differs from run to run
        return
    # the same formulas in both languages, and every number the English text gives
    assert _formulas(english) == _formulas(korean)
    numbers = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
    assert set(numbers.findall(_visible(_sections(english)))) <= set(numbers.findall(mine))


def _formulas(page: str) -> list[str]:
    """The formulas of the sections, their words (``\\text{at most }``) left out: Korean
    says those beside the formula."""
    found = re.findall(r'aria-label="([^"]*)"', _sections(page))
    words = r"(\\quad\s*)?\\text\{[^}]*\}|^\\mathrm\{none\}$"
    bare = (" ".join(re.sub(words, " ", f).split()) for f in found)
    return sorted(f for f in bare if f)


def test_kinds_and_verdicts_are_the_glossary_words() -> None:
    _, korean = lesson_pages("x**2 + 2*x*y")
    text = _visible(_sections(korean))
    assert "안장점" in text and "볼록 함수도 오목 함수도 아닙니다." in text
    _, one = lesson_pages("x**4 - 3*x**2 + x")
    text = _visible(_sections(one))
    assert "극소점" in text and "극대점" in text and "임계점 3개" in text
    # the one-variable step's direction is said in words beside the formula
    assert "(오른쪽으로 이동)" in text or "(왼쪽으로 이동)" in text


def test_the_english_page_does_not_depend_on_the_language_in_effect() -> None:
    import symgd

    english, _ = lesson_pages("abs(x) + y**2")
    with language("ko"):
        again = symgd.explain(
            "abs(x) + y**2", lang="en", sections=",".join(SECTIONS), methods="gd", steps=4
        ).html()
    assert _visible(again) == _visible(english)
    assert "Where every partial derivative is zero the gradient vanishes" in _visible(english)
    assert not HANGUL.search(_visible(english))
