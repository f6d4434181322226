"""The "Go deeper" sections in Korean: the numerical gradient, the directional derivative, the
tangent, the quadratic model with one Newton step, and momentum's map. A Korean reader sees
Korean sentences with the glossary's terms and the same numbers as the English page; the
figures' labels are Korean; the English sections do not change with the language."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest

from symgd.base.errors import InputError
from symgd.base.i18n import current, language
from symgd.calculus.derivation import derive
from symgd.lesson.defaults import choose_settings
from symgd.lesson.facts import Facts, work_out_facts
from symgd.lesson.sections.directional import directional_section, parse_direction
from symgd.lesson.sections.momentum import momentum_section
from symgd.lesson.sections.numerical import numerical_section
from symgd.lesson.sections.quadratic import quadratic_section
from symgd.lesson.sections.tangent import tangent_section
from symgd.lesson.settings import Settings
from symgd.lesson.view import as_context

BUILDERS: dict[str, Callable[[Facts, Settings], Any]] = {
    "numerical": numerical_section,
    "directional": directional_section,
    "tangent": tangent_section,
    "quadratic": quadratic_section,
    "momentum": momentum_section,
}
#: (f, start or None, a direction): a quadratic with a minimum (momentum's exact bounds), one
#: variable, a linear f (singular Hessian), a saddle, three variables (a hyperplane), a
#: non-quadratic map (bounds as a guide), kinks, a stationary start
CORPUS: tuple[tuple[str, tuple[float, ...] | None, str], ...] = (
    ("x**2 + 3*y**2 + x*y", None, "1,1"),
    ("x**4 - 3*x**2 + x", None, "-1"),
    ("3*x + 2*y", None, "-2,3"),
    ("x**2 - y**2", None, "1,0"),
    ("x**2 + y**2 + z**2 + x*y", None, "1,0,0"),
    ("x**4 + y**2 - x*y", None, "0,1"),
    ("abs(x) + y**2", None, "0,1"),
    ("x**2 + y**2", (0.0, 0.0), "1,1"),
)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: two English words in a row (what /tmp/tools/ko_leftovers.py looks for), and any English word
#: of three letters or more outside the names and symbols a Korean page keeps
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,})+\b")
ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
KEPT = {"SymPy", "symgd", "cos", "det", "max", "min", "direction"}
#: numbers as the pages write them: 1.5 × 10⁻⁸, −0.1875, 2400, 10⁻⁴
NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?|10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+")
#: numbers the Korean words add ("10분의 1" for a tenth, "2차" for second order, "0" for zero)
KOREAN_NUMBERS = {"0", "1", "2", "4", "10"}


@functools.cache
def worked(expr: str, start: tuple[float, ...] | None, u: str) -> tuple[Facts, Settings]:
    facts = work_out_facts(derive(expr))
    s = choose_settings(facts, start, None, None, None).settings
    return facts, dataclasses.replace(s, direction=parse_direction(facts, u))


@functools.cache
def env() -> Any:
    from symgd.render.templates import make_env

    return make_env()


def visible(sid: str, section: Any) -> str:
    """The words a reader sees in one section (typeset formulas and figures left out)."""
    html = env().get_template(f"partials/{sid}.html.jinja2").render(**{sid: as_context(section)})
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return " ".join(unescape(html).split())


def sections(lang: str | None, case: tuple[str, tuple[float, ...] | None, str]) -> dict[str, Any]:
    """Every section of ``case`` built (and so worded) in ``lang`` (None: no language block)."""
    facts, s = worked(*case)
    if lang is None:
        return {sid: build(facts, s) for sid, build in BUILDERS.items()}
    with language(lang):
        return {sid: build(facts, s) for sid, build in BUILDERS.items()}


def texts(lang: str | None, case: tuple[str, tuple[float, ...] | None, str]) -> dict[str, str]:
    built = sections(lang, case)
    if lang is None:
        return {sid: visible(sid, sec) for sid, sec in built.items() if sec is not None}
    with language(lang):
        return {sid: visible(sid, sec) for sid, sec in built.items() if sec is not None}


@functools.cache
def korean_and_english(index: int) -> tuple[dict[str, str], dict[str, str]]:
    case = CORPUS[index]
    return texts("ko", case), texts("en", case)


def english_left(text: str) -> list[str]:
    runs = ENGLISH_RUN.findall(text)
    words = [w for w in ENGLISH_WORD.findall(text) if w not in KEPT]
    return runs + words


# -- Korean words -------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(CORPUS)), ids=[c[0] for c in CORPUS])
def test_every_section_reads_in_korean(index: int) -> None:
    korean, english = korean_and_english(index)
    assert korean.keys() == english.keys() and korean
    for sid, text in korean.items():
        assert english_left(text) == [], (sid, english_left(text))
        assert len(HANGUL.findall(text)) > 40, sid
        # the English page has no Hangul
        assert not HANGUL.search(english[sid]), sid


@pytest.mark.parametrize("index", range(len(CORPUS)), ids=[c[0] for c in CORPUS])
def test_korean_sections_show_the_english_numbers(index: int) -> None:
    korean, english = korean_and_english(index)
    for sid in english:
        en = set(NUMBER.findall(english[sid]))
        ko = set(NUMBER.findall(korean[sid]))
        assert en <= ko, (sid, en - ko)
        assert ko - en <= KOREAN_NUMBERS, (sid, ko - en)


def test_the_glossary_terms_are_used() -> None:
    korean, _ = korean_and_english(0)
    page = " ".join(korean.values())
    for term in ("편미분", "전미분", "헤세 행렬", "뉴턴 방법", "임계점", "극소점", "경사하강법"):
        assert term in page, term
    for term in ("학습률", "모멘텀", "헤비볼 모멘텀", "상한"):
        assert term in korean["momentum"], term
    for term in ("중심 차분", "전진 차분", "절단 오차", "반올림 오차", "수치 기울기"):
        assert term in korean["numerical"], term
    assert "방향 도함수" in korean["directional"]
    assert "접평면" in korean["tangent"] and "선형 근사" in korean["tangent"]
    saddle, _ = korean_and_english(3)
    assert "안장점" in saddle["quadratic"]
    # the kind of tangent follows the number of variables
    assert "접선" in korean_and_english(1)[0]["tangent"]
    assert "접초평면" in korean_and_english(4)[0]["tangent"]


def test_branch_sentences_are_whole_korean_sentences() -> None:
    """The sentences picked by a condition: a linear f, a singular Hessian, a stationary
    start, a direction across ∇f, kinks, a map whose bounds are only a guide."""
    linear, _ = korean_and_english(2)
    assert "일차 함수" in linear["numerical"] and "접평면이 곧 f 자신" in linear["tangent"]
    assert "det H(x₀) = 0" in linear["quadratic"] and "정의되지 않습니다" in linear["quadratic"]
    assert "u는 ∇f에 수직입니다(θ = 90°)" in linear["directional"]
    guide, _ = korean_and_english(5)
    assert "참고용" in guide["momentum"] and "이차 모델" in guide["momentum"]
    kinks, _ = korean_and_english(6)
    assert "꺾인 점" in kinks["numerical"]
    still, _ = korean_and_english(7)
    assert "모든 방향에서" in still["directional"]
    assert "momentum" not in still


def test_a_bad_direction_is_reported_in_korean() -> None:
    facts, _ = worked(*CORPUS[0])
    with language("ko"), pytest.raises(InputError) as raised:
        parse_direction(facts, "1,2,3")
    message = str(raised.value)
    assert "방향에 값이 3개" in message and "변수는 2개(x, y)" in message
    assert "--direction 1,1" in message
    with language("ko"), pytest.raises(InputError, match="영벡터"):
        parse_direction(facts, "0,0")
    with pytest.raises(InputError, match="the direction is the zero vector"):
        parse_direction(facts, "0,0")


# -- figures -------------------------------------------------------------------------------------


def figure_text(svg: str) -> str:
    return " ".join(unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S))


@pytest.mark.parametrize("index", [0, 1], ids=["two variables", "one variable"])
def test_figures_are_labelled_in_korean(index: int) -> None:
    built = sections("ko", CORPUS[index])
    jobs = {
        name: job for sec in built.values() for name, job in getattr(sec, "figures", {}).items()
    }
    assert {"numerical", "directional", "tangent-error"} <= jobs.keys()
    with language("ko"):
        drawn = {name: figure_text(job.draw()) for name, job in jobs.items()}
    expected = {
        "numerical": ["간격 h", "전진 차분", "중심 차분", "좌표별 오차의 최댓값", "(사용한 값)"],
        "directional": ["u와 ∇f 사이의 각 θ (도)", "요청한 방향: θ ≈"],
        "tangent-error": ["이동 거리 |dx|", "선형 근사의 오차", "(기울기 2)"],
        "tangent-line": ["x₀에서의 접선"],
        "momentum-map": ["학습률 η (로그 눈금)", "모멘텀 μ", "최적 쌍", "가장 빠른 칸", "발산함"],
    }
    for name, text in drawn.items():
        for words in expected[name]:
            assert words in text, (name, words)
        assert ENGLISH_RUN.findall(text) == [], (name, ENGLISH_RUN.findall(text))
    if index == 1:
        assert "tangent-line" in drawn and "momentum-map" not in drawn
    else:
        assert "momentum-map" in drawn


# -- English stays as it was ----------------------------------------------------------------------


def test_english_does_not_change_with_the_language() -> None:
    korean, english = korean_and_english(0)
    assert texts(None, CORPUS[0]) == english != korean
    assert current() == "en"
    assert "The error is the largest of the 2 coordinate errors" in english["numerical"]
    assert "That system has one solution exactly when" in english["quadratic"]
    assert "Momentum keeps a running sum of past gradients" in english["momentum"]
