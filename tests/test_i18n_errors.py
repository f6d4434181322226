"""Bad input in Korean: every refusal a person can cause reads in the language of the command,
with the same numbers, names and caret as the English, and exit code 2."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from symgd.base.errors import ExpressionError, InputError
from symgd.base.i18n import language

HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: two English words in a row (names of functions, options and files excepted by the caller)
ENGLISH = re.compile(r"\b[a-z]{3,} [a-z]{3,}\b")

#: typed text symgd refuses, each for a different reason
BAD_EXPRESSIONS = [
    "x**",
    "foo(x)",
    "x y",
    "2 3",
    "3",
    "exp(x)*exp(-x)",
    "sin^-1(x)",
    "sin^x(y)",
    "x.y",
    "x = 1",
    "x; y",
    "(x + 1",
    "x + 1)",
    "|x",
    "1/0",
    "log(0)",
    "x**(10**9)",
    "lambda",
    "__x",
    "sin",
    "atan2(x)",
    "x # note",
    "x ≥ 1",
    "",
]


def _parse_error(text: str) -> InputError:
    from symgd.expr.parser import parse

    with pytest.raises(InputError) as caught:
        parse(text)
    return caught.value


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+", text)


@pytest.mark.parametrize("text", BAD_EXPRESSIONS)
def test_a_refused_expression_is_explained_in_korean(text: str) -> None:
    english = _parse_error(text)
    with language("ko"):
        korean = _parse_error(text)
    message = str(korean)
    assert HANGUL.search(message), message
    # the function names, option names and the list of known functions are not prose
    prose = re.sub(r"known functions.*|[A-Za-z_]+\(|--[a-z-]+|'[^']*'", "", message)
    assert not ENGLISH.search(prose), message
    # the same facts: every number and quoted piece of the English is in the Korean
    # (Korean writes "division by zero" with the digit: 0으로 나누기)
    assert not Counter(_numbers(str(english))) - Counter(_numbers(message))
    assert set(re.findall(r"'[^']*'", str(english))) <= set(re.findall(r"'[^']*'", message))
    if isinstance(english, ExpressionError):
        assert isinstance(korean, ExpressionError)
        assert korean.column == english.column and korean.pointer() == english.pointer()


def test_the_command_line_refuses_in_the_language_asked_for(tmp_path: Path) -> None:
    from symgd.cli import cli

    runner = CliRunner()
    korean = runner.invoke(cli, ["derive", "x**", "--lang", "ko"])
    english = runner.invoke(cli, ["derive", "x**"])
    assert korean.exit_code == english.exit_code == 2
    assert korean.output.startswith("오류: 식이 너무 일찍 끝납니다 (4번째 열)")
    assert english.output.startswith("Error: the expression ends too early (column 4)")
    # the caret under the same column in both
    assert korean.output.splitlines()[1:] == english.output.splitlines()[1:]
    start = runner.invoke(
        cli, ["explain", "x**2", "--start", "x=1,y=2", "--lang", "ko", "-o", str(tmp_path)]
    )
    assert start.exit_code == 2
    assert "'y'" in start.output and "함수의 변수" in start.output
    # the language never leaks past the command
    after = runner.invoke(cli, ["derive", "x**"])
    assert after.output.startswith("Error: ")


def test_file_refusals_name_the_file_in_korean(tmp_path: Path) -> None:
    from symgd.base.files import output_folder, read_input

    missing = tmp_path / "nowhere.csv"
    with language("ko"), pytest.raises(InputError, match=r"^데이터 파일 .*nowhere\.csv이\(가\) 없"):
        read_input(missing, limit=10, what="data file")
    with language("ko"), pytest.raises(InputError, match="폴더가 아니라 파일입니다"):
        (tmp_path / "plain").write_text("x", encoding="utf-8")
        output_folder(tmp_path / "plain")
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 2048)
    with (
        language("ko"),
        pytest.raises(InputError, match=r"최대 크기 1 KiB보다 큽니다 \(2,048바이트\)"),
    ):
        read_input(big, limit=1024, what="data file")
    with pytest.raises(InputError, match=r"data file .* is larger than 1 KiB"):
        read_input(big, limit=1024, what="data file")
