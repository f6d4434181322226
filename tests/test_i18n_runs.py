"""Korean for the lesson's runs: the hand steps, the runs of the optimizers and how each ended,
and the learning-rate regimes, read in Korean with the same numbers as the English page, and
the outcome and status words of a descent run (``symgd descend``) in the language in effect,
with the machine values English."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from symgd.base.i18n import language
from symgd.calculus.derivation import derive
from symgd.lesson.pipeline import WorkedLesson, work_lesson
from symgd.lesson.view import as_context

HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: two English words in a row: what is left untranslated (names that stay Latin excepted)
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,})+\b")
LATIN_NAMES = {"symgd", "ReLU", "Adam", "tanh", "max or min", "arcsin/arccos"}
#: numbers a reader compares: decimals, several digits, signed
NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?:%)?")
#: the functions the Korean runs are read on: a saddle (two runaways), a parabola, a kink, three
#: variables, four minima (basins), a square root that leaves its domain, a cubic that falls
#: without bound in one variable, and a plateau
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "saddle": ("x**2+2*x*y", {"start": (1, 2), "lr": 0.1, "steps": 150}),
    "parabola": ("w**2", {}),
    "kink": ("abs(x)+y**2", {}),
    "three": ("x**2 + 2*y**2 + 3*z**2 + x*y", {"methods": "gd"}),
    "himmelblau": (
        "(x**2+y-11)**2+(x+y**2-7)**2",
        {"start": (-1, -1), "lr": 0.01, "steps": 600, "methods": "gd"},
    ),
    "root": ("sqrt(x)", {"start": [1], "lr": 3.0}),
    "cubic": ("x**3", {"start": [-1], "lr": 0.1, "steps": 200}),
}
#: glossary terms (docs/glossary-ko.md) these sections must use somewhere
TERMS = ("경사하강법", "학습률", "헤세 행렬", "고윳값", "극소점", "기울기")


def _texts(value: Any) -> Iterator[str]:
    """Every string a section view holds (LaTeX, figures and machine values left out)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("latex") or key in ("method", "tone", "figures"):
                continue
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, str) and not value.startswith("<"):
        yield value


def _prose(worked: WorkedLesson) -> list[str]:
    """The words of the hand, runs and rates sections, without method names (the optimizer
    registry's, translated elsewhere) and facts' reasons quoted in parentheses."""
    labels = {r["label"] for r in as_context(worked.sections["runs"])["table"]}
    found = []
    for name in ("hand", "runs", "rates"):
        if name in worked.sections:
            found += list(_texts(as_context(worked.sections[name])))
    return [t for t in found if t not in labels]


def _english_left(text: str, worked: WorkedLesson) -> list[str]:
    """English word runs in ``text`` that are not names, reasons symgd's facts give in words
    of their own (the calculus slice translates them) or the panel's words (the frame's)."""
    quoted = []
    known = worked.facts.known
    if known is not None and known.bounded_below_reason:
        quoted.append(known.bounded_below_reason)
    quoted += [p.expected for p in worked.panel.runs] + [worked.panel.where]
    for kink in worked.facts.kink_points:
        quoted.append(kink.reason)
    if known is not None:
        quoted += [p.reason for p in known.degenerate_points]
    for run in worked.runs.runs:
        quoted.append(run.detail)
    for words in quoted:
        if words:
            text = text.replace(words, "")
    for label in {r.method for r in worked.runs.runs}:
        from symgd.lesson.methods import label as name

        text = text.replace(name(label), "").replace(name(label).lower(), "")
    return [w for w in ENGLISH.findall(text) if w not in LATIN_NAMES]


@pytest.fixture(scope="module")
def lessons() -> dict[str, dict[str, WorkedLesson]]:
    worked: dict[str, dict[str, WorkedLesson]] = {}
    for key, (f, options) in CASES.items():
        derivation = derive(f)
        worked[key] = {}
        for lang in ("en", "ko"):
            with language(lang):
                worked[key][lang] = work_lesson(derivation, sections="hand,runs,rates", **options)
    return worked


@pytest.mark.parametrize("case", list(CASES))
def test_the_runs_read_in_korean(lessons: dict[str, dict[str, WorkedLesson]], case: str) -> None:
    korean = lessons[case]["ko"]
    for text in _prose(korean):
        left = _english_left(text, korean)
        assert not left, f"{case}: English left in {text!r}: {left}"
    assert HANGUL.search(" ".join(_prose(korean)))


@pytest.mark.parametrize("case", list(CASES))
def test_korean_keeps_the_english_numbers(
    lessons: dict[str, dict[str, WorkedLesson]], case: str
) -> None:
    english = " ".join(_prose(lessons[case]["en"]))
    korean = " ".join(_prose(lessons[case]["ko"]))
    # every number with a decimal point or several digits the English page states
    wanted = {n for n in NUMBER.findall(english) if "." in n or len(n.strip("−-%")) > 1}
    missing = {n for n in wanted if n not in korean}
    assert not missing, f"{case}: numbers missing in Korean: {sorted(missing)}"


def test_the_glossary_terms_are_used(lessons: dict[str, dict[str, WorkedLesson]]) -> None:
    text = " ".join(" ".join(_prose(lessons[case]["ko"])) for case in CASES)
    for term in TERMS:
        assert term in text, term
    # a run's ending names what it reached with the glossary's words
    saddle = as_context(lessons["saddle"]["ko"].sections["runs"])["table"]
    assert any("안장점" in row["message"] for row in saddle)
    assert "f는 아래로 유계가 아닙니다" in saddle[0]["message"]


def test_the_english_prose_is_as_before(lessons: dict[str, dict[str, WorkedLesson]]) -> None:
    runs = as_context(lessons["saddle"]["en"].sections["runs"])
    adam = next(row for row in runs["table"] if row["method"] == "adam")
    assert adam["message"] == "Used all 150 steps and was still moving; |∇f| is still 34.7."
    assert adam["outcome"] == "still moving"
    assert runs["intro"] == (
        "Each method starts at x₀ and runs for at most 150 steps, stopping early when "
        "|∇f| < 10⁻⁸ or when the iterates run away."
    )
    gd = runs["table"][0]
    assert gd["point_latex"] == r"\text{ran away}" and gd["f_text"] == "fell without bound"
    hand = as_context(lessons["parabola"]["en"].sections["hand"])
    assert hand["steps"][0]["comment"].startswith("f went ")


def test_the_runs_table_and_the_regimes_in_the_page(
    lessons: dict[str, dict[str, WorkedLesson]],
) -> None:
    from symgd.render.templates import make_env

    env = make_env()
    worked = lessons["saddle"]["ko"]
    with language("ko"):
        page = "".join(
            env.get_template(f"partials/{name}.html.jinja2").render(
                **{name: as_context(worked.sections[name])}
            )
            for name in ("hand", "runs", "rates")
        )
    text = html.unescape(re.sub(r"<svg.*?</svg>|<[^>]+>", " ", page, flags=re.S))
    for words in ("방법", "결과", "마지막 점", "갱신 규칙", "학습률", "실행 결과", "발산"):
        assert words in text, words
    headings = re.findall(r"<th>(.*?)</th>|data-label=\"([^\"]*)\"|<h3>(.*?)</h3>", page)
    assert len(headings) > 10
    for heading in ("".join(h) for h in headings):
        assert HANGUL.search(heading) and not ENGLISH.search(heading), heading
    # words are written beside the formulas, never in them: the math font draws no Hangul
    formulas = re.findall(r"<title>(.*?)</title>", page, flags=re.S)
    assert formulas and not [f for f in formulas if HANGUL.search(f)]
    assert "발산" in re.sub(r"<svg.*?</svg>", "", page, flags=re.S)  # the runaway's last point


def test_outcome_and_status_words_follow_the_language() -> None:
    from symgd.numeric.outcomes import Outcome, outcome_text
    from symgd.numeric.results import Status, diagnose, number_text

    english = outcome_text(Outcome.CYCLE, 2)
    assert english.startswith("cycle (period 2): ")
    with language("ko"):
        korean = outcome_text(Outcome.CYCLE, 2)
        assert korean.startswith("순환 (주기 2): ")
        assert HANGUL.search(Status.MAX_STEPS.message)
        assert not ENGLISH.search(outcome_text(Outcome.UNBOUNDED, minimizes=False))
        assert number_text(float("nan")) == "실수가 아님"
        assert "1e12" in diagnose(np.array([2e12]), 1.0, 1.0)
        assert HANGUL.search(diagnose(np.array([2e12]), 1.0, 1.0))
    assert outcome_text(Outcome.CYCLE, 2) == english
    assert Outcome.CYCLE.value == "cycle"


def test_a_descend_run_in_korean_keeps_its_json_machine_values() -> None:
    from symgd.numeric.runner import descend

    problem = derive("w**2").problem
    with language("ko"):
        run = descend(problem, [1.0], lr=1.2, steps=200)
        payload = json.loads(json.dumps(run.to_dict()))
        message, outcome = run.message, run.outcome_message
    assert payload["status"] == "diverged" and payload["outcome"] == "diverged"
    assert HANGUL.search(payload["detail"])  # the human-readable reason follows the language
    assert HANGUL.search(message) and HANGUL.search(outcome)
    # |w| grows by the factor |1 − 2η| = 1.4 each step until |f| = w² passes 10¹²
    expected = next(k for k in range(1, 200) if (1.4**k) ** 2 > 1e12)
    assert payload["diverged_at"] == expected
    assert f"{expected}" in message
    english = descend(problem, [1.0], lr=1.2, steps=200)
    assert english.detail == "|f| exceeded 1e12"
    assert english.message.startswith("diverged: the iterates ran away")
