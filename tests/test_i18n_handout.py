"""The handout and the grader in Korean (``lang="ko"``, ``--lang ko``): the sheets, the worked
solutions, the JSON key's sentences, the Moodle and Canvas questions and the grader's report
read in Korean with the same numbers and the same machine values as in English, and English is
unchanged by the language switch."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from symgd.base.i18n import language
from symgd.handout import build_handout, handout_to_json, render_handout_html
from symgd.handout.export import handout_questions
from symgd.handout.grading import grade
from symgd.handout.model import Handout
from symgd.handout.moodle import moodle_xml
from symgd.handout.qti import qti_package

#: a small, wide corpus: a quadratic in two variables (its own convergence question), a quartic
#: with a saddle and two minima (a made-up quadratic), and a function of one variable whose hand
#: steps are worked in decimals and whose critical point comes from a numeric search
FUNCTIONS = ["x**2 + 3*y**2", "x**4 - 2*x**2 + y**2", "exp(x) + x**2"]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: two or more English words in a row (what a reader would see as an English phrase)
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,})+\b")
#: Latin words that are names, not English prose
ALLOWED = {"symgd", "SymPy"}
#: the glossary's terms (docs/glossary-ko.md) a Korean handout and its key use
TERMS = [
    "경사하강법",
    "학습률",
    "편미분",
    "전미분",
    "기울기",
    "헤세 행렬",
    "고윳값",
    "임계점",
    "극소점",
]


@pytest.fixture(scope="module")
def handouts() -> dict[str, Handout]:
    """The same handout (answers inline) in English and in Korean."""
    return {
        lang: build_handout(FUNCTIONS, seed=3, answers="inline", workers=1, lang=lang)
        for lang in ("en", "ko")
    }


@pytest.fixture(scope="module")
def pages(handouts: dict[str, Handout]) -> dict[str, str]:
    """Each handout as HTML."""
    return {lang: render_handout_html(h) for lang, h in handouts.items()}


def visible_text(page: str) -> str:
    """The words a reader sees: no styles, no formulas (SVG), no tags; the running header's
    attributes kept."""
    page = re.sub(r"<style.*?</style>|<svg.*?</svg>|<script.*?</script>", "", page, flags=re.S)
    page = re.sub(r'data-running-(?:title|fn)="([^"]*)"', r">\1<", page)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def english_left(text: str) -> list[str]:
    """Lines with English phrases. The names of the differentiation rules come from the
    calculus stage's catalog and are left out here (``사용한 규칙: ...`` up to the period)."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"사용한 규칙: [^.]*\.", "", line)
        if [w for w in ENGLISH.findall(line) if w not in ALLOWED]:
            found.append(" ".join(line.split()))
    return found


def numbers(text: str) -> Counter[str]:
    """The numbers in ``text`` but 0 (which Korean writes where English says "zero")."""
    return Counter(n for n in re.findall(r"\d+(?:\.\d+)?", text) if n != "0")


def test_the_korean_page_reads_in_korean_with_the_english_numbers(pages: dict[str, str]) -> None:
    ko, en = visible_text(pages["ko"]), visible_text(pages["en"])
    assert english_left(ko) == []
    for term in TERMS:
        assert term in ko, term
    for heading in ("연습 문제", "이름:", "날짜:", "풀이", "함수 1", "함수 3"):
        assert heading in ko, heading
    assert numbers(ko) == numbers(en)
    assert not HANGUL.search(en)
    assert "Find every critical point of f" in en and "Solution" in en


def test_the_korean_page_declares_its_language_and_embeds_the_hangul_font(
    pages: dict[str, str],
) -> None:
    page = pages["ko"]
    assert '<html lang="ko">' in page
    assert 'font-family: "Symgd Hangul"' in page
    assert "data:font/ttf;base64," in page
    assert '<html lang="en">' in pages["en"]
    assert "Symgd Hangul" not in pages["en"]


def test_english_does_not_depend_on_the_language_in_effect(handouts: dict[str, Handout]) -> None:
    one = build_handout(["x**2 - 3*x"], seed=2, variants=2, workers=1)
    english = render_handout_html(one)
    key = handout_to_json(one)
    with language("ko"):
        assert render_handout_html(one) == english
        assert handout_to_json(one) == key
        again = build_handout(["x**2 - 3*x"], seed=2, variants=2, workers=1, lang="en")
        assert handout_to_json(again) == key
    korean = build_handout(["x**2 - 3*x"], seed=2, variants=2, workers=1, lang="ko")
    shown = visible_text(render_handout_html(korean))
    assert "정답과 풀이 · 변형 2 / 2" in shown and "연습 문제 · 변형 1 / 2" in shown
    assert english_left(shown) == []
    ko_json = handout_to_json(handouts["ko"])
    with language("en"):
        assert handout_to_json(handouts["ko"]) == ko_json


def _strip_sentences(value: Any) -> Any:
    """The key without its sentences (questions, reasons, cautions) and its title."""
    if isinstance(value, dict):
        return {
            k: _strip_sentences(v)
            for k, v in value.items()
            if k not in ("question", "reason", "cautions", "title")
        }
    if isinstance(value, list):
        return [_strip_sentences(v) for v in value]
    return value


def test_the_json_key_has_korean_sentences_and_the_same_machine_values(
    handouts: dict[str, Handout],
) -> None:
    ko, en = handout_to_json(handouts["ko"]), handout_to_json(handouts["en"])
    assert _strip_sentences(ko) == _strip_sentences(en)
    assert ko["title"] == "경사하강법 연습 문제" and en["title"] == "Gradient descent: exercises"
    sentences = [
        text
        for variant in ko["variants"]
        for exercise in variant["exercises"]
        for text in (
            exercise["question"],
            exercise["answer"].get("reason", ""),
            *exercise["answer"].get("cautions", []),
        )
        if text
    ]
    assert len(sentences) > 15
    for text in sentences:
        assert HANGUL.search(text), text
        assert english_left(text) == [], text
    kinds = {e["kind"] for v in ko["variants"] for e in v["exercises"]}
    assert kinds == {
        "gradient",
        "total_differential",
        "hessian",
        "critical_points",
        "descent_steps",
        "learning_rate",
    }


def test_a_given_title_is_kept_in_every_language() -> None:
    h = build_handout(["x**2"], title="Week 3", workers=1, lang="ko")
    assert h.title == "Week 3" and h.lang == "ko"


def _xml_words(text: str) -> str:
    """An XML file's text without tags, TeX and cloze markup."""
    text = html.unescape(re.sub(r"<!--.*?-->", "", text, flags=re.S))
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    text = re.sub(r"\\\(.*?\\\)", " ", text, flags=re.S)
    return re.sub(r"\{1:(?:NUMERICAL|MULTICHOICE):[^}]*\}", " ", text)


def test_moodle_and_canvas_questions_are_korean(handouts: dict[str, Handout]) -> None:
    quiz = handout_questions(handouts["ko"])
    assert quiz.questions[0].name == "f1 · 변형 1 · 시드 3 · 1.1 기울기"
    assert handout_questions(handouts["en"]).questions[0].name == (
        "f1 · variant 1 · seed 3 · 1.1 gradient"
    )
    moodle = moodle_xml(quiz).decode("utf-8")
    words = _xml_words(moodle.replace("$course$/top/", ""))
    assert english_left(words) == []
    assert "이 퀴즈에서는 각 수를 분수가 아닌 소수로" in words
    assert "=예~아니요" in moodle or "예~=아니요" in moodle
    archive = zipfile.ZipFile(io.BytesIO(qti_package(quiz)))
    for name in archive.namelist():
        if name == "imsmanifest.xml":  # the schema's own words and the title
            continue
        text = archive.read(name).decode("utf-8")
        assert english_left(_xml_words(text)) == [], name
        assert "경사하강법 연습 문제 · 변형 1 · 시드 3" in text


def _answers(key: dict[str, Any]) -> list[dict[str, str]]:
    """A right answer to every exercise of variant 1, and a wrong one, per student."""
    right: dict[str, str] = {"student": "ana", "variant": "1"}
    wrong: dict[str, str] = {"student": "bo", "variant": "1"}
    for exercise in key["variants"][0]["exercises"]:
        answer, number = exercise["answer"], exercise["id"]
        if exercise["kind"] == "gradient":
            right[number] = "(" + ", ".join(answer["gradient"]) + ")"
            wrong[number] = "(" + ", ".join(["0"] * len(answer["gradient"])) + ")"
        elif exercise["kind"] == "critical_points" and answer["complete"]:
            words = {"minimum": "극소점", "maximum": "극대점", "saddle": "안장점"}
            names = exercise["variables"]
            points = [
                "(" + ", ".join(p["point"][n] for n in names) + ") " + words[p["kind"]]
                for p in answer["critical_points"]
            ]
            right[number] = "; ".join(points)
            wrong[number] = "; ".join(p.rsplit(" ", 1)[0] + " 판정 불가" for p in points)
        elif exercise["kind"] == "total_differential":
            right[number] = answer["total_differential"]
            wrong[number] = ""
        elif exercise["kind"] == "learning_rate":
            right[number] = "예" if answer["converges"] else "아니요, 발산합니다"
            wrong[number] = "아니요" if answer["converges"] else "네"
    return [right, wrong]


def test_the_grader_reports_in_korean_and_grades_as_in_english(
    handouts: dict[str, Handout],
) -> None:
    key_ko, key_en = handout_to_json(handouts["ko"]), handout_to_json(handouts["en"])
    rows = _answers(key_en)
    english = grade(key_en, rows, check_seconds=0)
    korean = grade(key_ko, rows, check_seconds=0, lang="ko")
    assert korean.lang == "ko" and english.lang == "en"
    points = [[(e.exercise, e.points) for e in s.exercises] for s in english.students]
    assert [[(e.exercise, e.points) for e in s.exercises] for s in korean.students] == points
    ana, bo = korean.students
    assert ana.score == ana.max
    assert bo.score < bo.max
    reasons = [e.reason for e in bo.exercises if e.reason]
    assert reasons
    for reason in reasons:
        assert HANGUL.search(reason), reason
        assert english_left(reason) == [], reason
    assert any("판정 불가" in r for r in reasons)
    blank = [e.reason for e in bo.exercises if e.exercise.endswith(".2")]
    assert blank and all(r == "빈칸" for r in blank)


def test_the_cli_writes_korean(tmp_path: Path, handouts: dict[str, Handout]) -> None:
    from symgd.cli import cli as main

    runner = CliRunner()
    out = tmp_path / "week.xml"
    result = runner.invoke(
        main,
        ["handout", "w**2 - 2*w", "--format", "moodle", "--json", "--lang", "ko", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("저장했습니다: ")
    key = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert key["title"] == "경사하강법 연습 문제"
    assert "시드" in out.read_text(encoding="utf-8")
    answers = tmp_path / "answers.csv"
    with answers.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "variant", "1.1", "1.4"])
        writer.writerow(["ana", "1", "2w - 2", "(1) 극소점"])
        writer.writerow(["bo", "1", "2w", "(1) 안장점"])
    key_path = out.with_suffix(".json")
    graded = runner.invoke(main, ["grade", str(key_path), str(answers), "--lang", "ko"])
    assert graded.exit_code == 0, graded.output
    lines = graded.stdout.splitlines()
    assert lines[0].split() == ["학생", "변형", "점수", "만점", "만점에", "못", "미친", "문제"]
    assert lines[1].split()[:4] == ["ana", "1", "2", "2"]
    assert lines[2].split()[:4] == ["bo", "1", "0.5", "2"]
    assert lines[-1].startswith("답마다의 채점 사유")
    english = runner.invoke(main, ["grade", str(key_path), str(answers)])
    assert english.stdout.splitlines()[0].split()[:4] == ["student", "variant", "score", "max"]
