"""Korean (``--lang ko``) for fitting to data: the fit page, its figures, the printed summary,
the JSON's message and the CSV loader's errors, with English unchanged by the ``lang`` switch."""

from __future__ import annotations

import html
import json
import re
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from symgd.base.errors import InputError
from symgd.base.i18n import language
from symgd.cli.fit import fit as fit_command
from symgd.numeric.data import demo, load_csv, parse_csv
from symgd.numeric.fitting import FitResult, compare_batches, fit
from symgd.render.fit_page import render_fit_page

HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: two or more English words in a row (what a Korean reader should not meet in a sentence)
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,})+\b")
#: names and a citation that stay in Latin letters in Korean too
ALLOWED = {"Keskar et al"}
#: the glossary's terms the Korean page uses (docs/glossary-ko.md; 에포크 for epoch)
TERMS = ["확률적 경사하강법", "미니배치", "에포크", "학습률", "경사하강법", "매개변수", "손실"]
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _section(page: str) -> str:
    """The visible text of the fitting section (formulas, code and figures left out)."""
    body = page[page.index('<section class="lesson-section" id="section-fit">') :]
    body = body[: body.index("</section>")]
    body = re.sub(r"<svg.*?</svg>|<math.*?</math>|<code>.*?</code>", " ", body, flags=re.S)
    body = re.sub(r'<span class="formula-inline">.*?</span>', " ", body, flags=re.S)
    body = re.sub(r'<div class="formula[^"]*">.*?</div>', " ", body, flags=re.S)
    body = re.sub(r"<(p|h[1-6]|li|dt|dd|tr|td|th|figcaption|div)\b", "\n<\\1", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _english_left(text: str, skip: tuple[str, ...] = ()) -> list[str]:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return [
        line
        for line in lines
        if line not in skip and any(w not in ALLOWED for w in ENGLISH.findall(line))
    ]


def _linear_runs(lang: str) -> tuple[FitResult, ...]:
    example = demo("linear", rows=40)
    return compare_batches(
        example.loss, example.data, "w,b", mini_batch=8, epochs=8, lr=0.05, lang=lang
    )


#: a small, wide corpus: least squares with two and three parameters, logistic regression (no
#: closed form), a square root that leaves its domain, a run that diverges
def _corpus() -> list[tuple[str, object, str, dict[str, Any]]]:
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 2.0, 40)
    quad = {"x": x, "y": 1.5 * x**2 - x + rng.normal(0, 0.1, 40)}
    logistic = demo("logistic", rows=80)
    return [
        ("(y - (a*x**2 + w*x + b))**2", quad, "a,w,b", {"epochs": 6, "lr": 0.02}),
        (logistic.loss, logistic.data, "w,b", {"epochs": 30, "lr": 0.8}),
        ("(y - sqrt(w)*x)**2", quad, "w", {"epochs": 5, "lr": 20.0, "start": [1.0]}),
        ("(y - (w*x + b))**2", demo("linear", rows=50).data, "w,b", {"epochs": 8, "lr": 1.5}),
    ]


@pytest.fixture(scope="module")
def linear_pages() -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the figures' fonts is a warning
        english, korean = _linear_runs("en"), _linear_runs("ko")
        return {
            "en": render_fit_page(english),
            "ko": render_fit_page(korean),
            "ko_as_en": render_fit_page(korean, lang="en"),
        }


def test_the_korean_fit_page_has_no_english_sentence_left(linear_pages: dict[str, str]) -> None:
    page = linear_pages["ko"]
    assert '<html lang="ko">' in page
    text = _section(page)
    assert len(HANGUL.findall(text)) > 1500
    # the optimizer's name comes from the registry's labels, translated in another part of the
    # catalog; every other line of the section is ours
    optimizer = re.search(r"<dt>최적화 방법</dt><dd>([^<]*)</dd>", page)
    assert optimizer is not None
    assert _english_left(text, skip=(optimizer.group(1).strip(),)) == []
    for term in TERMS:
        assert term in text, term
    for heading in ("에포크 하나를 쓰는 세 가지 방법", "행렬로 쓴 최소제곱", "잡음의 대가와 이득"):
        assert heading in text


def test_the_korean_page_shows_the_english_pages_numbers(linear_pages: dict[str, str]) -> None:
    def numbers(page: str) -> Counter[str]:
        # "Setting the gradient to zero" is "기울기를 0으로 두면"
        return Counter(NUMBER.findall(_section(page).replace(" to zero ", " to 0 ")))

    english, korean = numbers(linear_pages["en"]), numbers(linear_pages["ko"])
    assert sum(english.values()) > 80
    assert korean == english


def test_english_is_the_same_whatever_language_the_runs_were_made_in(
    linear_pages: dict[str, str],
) -> None:
    english = linear_pages["en"]
    assert '<html lang="en">' in english and not HANGUL.search(english)
    assert "Three ways to spend an epoch" in english and "mini-batch (B = 8)" in english
    assert linear_pages["ko"].count("<svg") == english.count("<svg")
    # the runs keep their words as messages, so a Korean run draws the same English page
    assert linear_pages["ko_as_en"] == english
    assert linear_pages["ko"] != english


@pytest.mark.parametrize("case", range(4))
def test_every_kind_of_run_reads_in_korean(case: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from symgd.render import fit_figures

    for name in ("epoch_loss_figure", "angle_figure", "path_contour_figure"):
        monkeypatch.setattr(fit_figures, name, lambda *args, **kwargs: "<svg></svg>")
    loss, data, params, options = _corpus()[case]
    english = compare_batches(loss, data, params, mini_batch=8, lang="en", **options)
    korean = compare_batches(loss, data, params, mini_batch=8, lang="ko", **options)
    for en, ko in zip(english, korean, strict=True):
        assert (en.status, en.lang, ko.lang) == (ko.status, "en", "ko")
        np.testing.assert_array_equal(en.path, ko.path)
        assert HANGUL.search(ko.reason) and not HANGUL.search(en.reason)
        assert Counter(NUMBER.findall(ko.reason)) == Counter(NUMBER.findall(en.reason))
        with language("en"):
            assert ko.reason_text() == en.reason
    page = render_fit_page(korean)
    text = _section(page)
    optimizer = re.search(r"<dt>최적화 방법</dt><dd>([^<]*)</dd>", page)
    assert optimizer is not None
    assert _english_left(text, skip=(optimizer.group(1).strip(),)) == []
    statuses = {r.status.value for r in korean}
    words = {"domain": "정의역 이탈", "diverged": "발산", "converged": "수렴"}
    for status, word in words.items():
        if status in statuses:
            assert word in text


def test_the_cli_prints_korean_lines_and_json() -> None:
    runner = CliRunner()
    args = ["--demo", "linear", "--batch-size", "16", "--epochs", "5"]
    english = runner.invoke(fit_command, args)
    korean = runner.invoke(fit_command, [*args, "--lang", "ko"])
    assert english.exit_code == 0 and korean.exit_code == 0, korean.output
    assert english.output.startswith("Fit of (-b - w*x + y)**2 over 200 rows (the linear demo)")
    lines = korean.output.splitlines()
    assert lines[0] == "(-b - w*x + y)**2의 적합, 행 200개 (선형 데모)"
    assert lines[1].startswith("미니배치 (B = 16), ") and "시드 0" in lines[1]
    assert lines[2] == "상태: 에포크 5번(갱신 65번) 후 최대 단계 수 도달"
    assert lines[-1].startswith("에포크별 손실: 1: ")
    for en_line, ko_line in zip(english.output.splitlines(), lines, strict=False):
        assert Counter(NUMBER.findall(en_line)) == Counter(NUMBER.findall(ko_line))
    data_en = json.loads(runner.invoke(fit_command, [*args, "--json"]).output)
    data_ko = json.loads(runner.invoke(fit_command, [*args, "--json", "--lang", "ko"]).output)
    assert data_en.keys() == data_ko.keys()
    assert data_ko["message"].startswith("에포크 5번(갱신 65번) 후에도 |∇L| = ")
    assert data_en["message"].startswith("After 5 epochs (65 updates), |∇L| = ")
    assert {k: v for k, v in data_ko.items() if k != "message"} == {
        k: v for k, v in data_en.items() if k != "message"
    }


@pytest.mark.parametrize(
    ("text", "english", "korean"),
    [
        ("x,y\n1,2\n3,abc\n", "d.csv, row 2 (line 3), column 'y': 'abc' is not a number",
         "d.csv, 2번째 행(3번째 줄), 열 'y': 'abc': 수가 아닙니다"),
        ("x,y\n1,2\n3\n", "d.csv, row 2 (line 3): 1 field, but the header names 2 columns",
         "d.csv, 2번째 행(3번째 줄): 필드가 1개인데 머리글의 열은 2개입니다"),
        ("x,y\n\n1,nan\n", "d.csv, row 1 (line 3), column 'y': 'nan' is not a finite number",
         "d.csv, 1번째 행(3번째 줄), 열 'y': 'nan': 유한한 수가 아닙니다"),
        ("x,y\n1,\n", "d.csv, row 1 (line 2), column 'y': is empty",
         "d.csv, 1번째 행(2번째 줄), 열 'y': 비어 있습니다"),
        ("x,z\n1,2\n", "d.csv, header (line 1): no column named 'y'; the columns are: x, z",
         "d.csv, 머리글(1번째 줄): 이름이 'y'인 열이 없습니다. 있는 열: x, z"),
        ("x,y,x\n1,2,3\n", "d.csv, header (line 1): column 'x' appears 2 times (positions 1, 3)",
         "d.csv, 머리글(1번째 줄): 열 'x', 2번 나옴(위치 1, 3)"),
    ],
)  # fmt: skip
def test_csv_errors_name_the_row_and_column_in_korean(
    tmp_path: Path, text: str, english: str, korean: str
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    columns = ["x", "y"]
    readers: list[Callable[[], object]] = [
        lambda: load_csv(path, columns),
        lambda: parse_csv(text, columns, source="d.csv"),
    ]
    for read in readers:
        with pytest.raises(InputError) as info:
            read()
        assert str(info.value).replace(str(path), "d.csv").startswith(english)
        with language("ko"), pytest.raises(InputError) as info:
            read()
        assert str(info.value).replace(str(path), "d.csv").startswith(korean)


def test_fit_errors_follow_lang() -> None:
    rows = {"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]}
    with pytest.raises(InputError, match=r"^the batch size must be at least 1, got 0$"):
        fit("(y - w*x)**2", rows, "w", batch_size=0)
    with pytest.raises(InputError, match=r"^배치 크기는 1 이상이어야 합니다. 받은 값: 0$"):
        fit("(y - w*x)**2", rows, "w", batch_size=0, lang="ko")
    with pytest.raises(InputError, match=r"^데이터, 1번째 행, 열 'x': 'a': 수가 아닙니다$"):
        fit("(y - w*x)**2", {"x": ["a"], "y": [1.0]}, "w", lang="ko")
    result = fit("(y - w*x)**2", rows, "w", lr=0.05, lang="ko")
    assert result.reason.startswith("에포크 34번(갱신 34번) 후 |∇L| = ")
    assert result.to_dict()["status"] == "converged" and result.data_source == "data"
    with language("ko"):
        assert result.data_source == "데이터" and result.label == "전체 배치"
