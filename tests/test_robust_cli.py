"""The command line never misreads a function: leading minus signs, option look-alikes, lists."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import sympy as sp
from click.testing import CliRunner

from symgd.base.errors import InputError
from symgd.cli import COMMANDS, cli
from symgd.cli.common import parse_point, separate_expressions, split_list
from symgd.expr.parser import parse


def _short_option_letters() -> set[str]:
    """Every letter that is a short option of some symgd command (plus -h for help)."""
    import importlib

    letters = {"h"}
    for target in COMMANDS.values():
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        for param in command.params:
            for name in getattr(param, "opts", []):
                if len(name) == 2 and name[0] == "-" and name[1].isalpha():
                    letters.add(name[1])
    return letters


SHORT = sorted(_short_option_letters())
#: expressions that begin with '-' and a letter that is an option somewhere (or looks like one)
LEADING_MINUS = [
    *(f"-{c}*x**2 + x**4" for c in SHORT),
    *(f"-{c}{c}x + x**2" for c in SHORT),
    "-log(sigmoid(3*w + b))",
    "-x**2 - y**2",
    "−x**2 + y**2",  # Unicode minus
    "-(x - 1)**2",
    "-3*x**2 + x**4",
]


def test_the_short_options_are_known() -> None:
    assert {"h", "o"} <= set(SHORT)


def _command(name: str) -> click.Command:
    import importlib

    module, attribute = COMMANDS[name].split(":")
    command: click.Command = getattr(importlib.import_module(module), attribute)
    return command


#: the commands whose first argument is an expression (vanish has none; grade reads files)
EXPRESSION_COMMANDS = sorted(set(COMMANDS) - {"vanish", "grade"})


@pytest.mark.parametrize("name", EXPRESSION_COMMANDS)
@pytest.mark.parametrize("expression", LEADING_MINUS)
def test_every_command_reads_a_leading_minus_as_the_expression(name: str, expression: str) -> None:
    command = _command(name)
    ctx = click.Context(command, info_name=name, help_option_names=["-h", "--help"])
    args = (
        [expression, "-o", "somewhere"] if name in {"explain", "fit", "handout"} else [expression]
    )
    words = separate_expressions(command, ctx, args)
    assert words[-1] == expression and words[-2] == "--"
    values, leftover, _ = command.make_parser(ctx).parse_args(words)
    first = "loss" if name == "fit" else "expressions" if name == "handout" else "expression"
    assert values[first] == ((expression,) if name == "handout" else expression)
    assert not leftover
    if "-o" in args:
        assert values["output" if name != "fit" else "out_dir"] == "somewhere"


def test_option_values_that_begin_with_minus_stay_values() -> None:
    command = _command("descend")
    ctx = click.Context(command, info_name="descend")
    words = separate_expressions(
        command, ctx, ["-x**2", "--start", "-3", "--lr=-0.1", "--tol", "-1e-3"]
    )
    assert words == ["--start", "-3", "--lr=-0.1", "--tol", "-1e-3", "--", "-x**2"]


def test_a_word_after_double_dash_is_never_an_option() -> None:
    command = _command("derive")
    ctx = click.Context(command, info_name="derive")
    assert separate_expressions(command, ctx, ["--json", "--", "-o"]) == ["--json", "--", "-o"]


@pytest.mark.parametrize(
    "expression",
    ["-x**2 - y**2", "-log(sigmoid(3*w + b))", "-o*x + x**4", "-h*x**2 + x**4", "-hx + x**2"],
)
def test_derive_works_with_a_leading_minus(runner: CliRunner, expression: str) -> None:
    result = runner.invoke(cli, ["derive", expression, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert sp.simplify(parse(payload["expression"]).expr - parse(expression).expr) == 0
    again = runner.invoke(cli, ["derive", "--json", "--", expression])
    assert json.loads(again.output) == payload


@pytest.mark.parametrize(
    ("expression", "start"),
    [("-x**2 - y**2", "1,2"), ("-o*x + x**2", "o=2,x=1"), ("-log(sigmoid(3*w + b))", "b=0,w=0")],
)
def test_descend_works_with_a_leading_minus(runner: CliRunner, expression: str, start: str) -> None:
    args = ["descend", expression, "--start", start, "--steps", "5", "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    problem = parse(expression)
    point = dict(zip(problem.variables, payload["final"].values(), strict=True))
    assert payload["f"] == pytest.approx(float(problem.expr.subs(point)), rel=1e-12)
    assert (
        json.loads(runner.invoke(cli, [*args[:1], *args[2:], "--", expression]).output) == payload
    )


def test_fit_works_with_a_leading_minus(runner: CliRunner) -> None:
    loss = "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b)))"
    result = runner.invoke(cli, ["fit", loss, "--demo", "logistic", "--epochs", "3", "--json"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(cli, ["fit", "--demo", "logistic", "--epochs", "3", "--json", "--", loss])
    assert json.loads(result.output) == json.loads(again.output)


@pytest.mark.slow
def test_explain_writes_the_lesson_of_the_typed_function(tmp_path: Path, runner: CliRunner) -> None:
    expression = "-log(sigmoid(3*w + b))"
    result = runner.invoke(
        cli, ["explain", expression, "-o", str(tmp_path / "lesson"), "--steps", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["expression"] == expression
    assert payload["variables"] == ["b", "w"]
    assert Path(payload["report"]) == tmp_path / "lesson" / "report.html"
    # nothing named after a misread option appeared anywhere
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson"]


@pytest.mark.pdf
def test_handout_reads_a_leading_minus(tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "h.pdf"
    result = runner.invoke(cli, ["handout", "-h*x**2 + x**4", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    key = json.loads((tmp_path / "h.json").read_text())
    assert [f["input"] for f in key["functions"]] == ["-h*x**2 + x**4"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_mistyped_long_option_is_an_unknown_option(runner: CliRunner, name: str) -> None:
    result = runner.invoke(cli, [name, "x**2", "--outptu", "d"])
    assert result.exit_code == 2
    assert "No such option" in result.output and "--outptu" in result.output


@pytest.mark.parametrize("word", ["-x**2 +", "-log(x", "-x.y", "-import"])
def test_a_dash_word_that_is_neither_option_nor_expression_is_an_error(
    runner: CliRunner, word: str
) -> None:
    result = runner.invoke(cli, ["derive", word])
    assert result.exit_code == 2
    assert "neither an option nor an expression" in result.output
    assert "Traceback" not in result.output


def test_a_short_option_with_its_value_attached_still_works(tmp_path: Path) -> None:
    command = _command("handout")
    ctx = click.Context(command, info_name="handout")
    target = f"-o{tmp_path}/h.pdf"
    assert separate_expressions(command, ctx, ["x**2", target]) == [target, "--", "x**2"]


# -- item 9: lists and points -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["x=1,x=2", "x = 1, y = 2, x = 3"])
def test_a_start_that_names_a_variable_twice_is_an_error(text: str) -> None:
    with pytest.raises(InputError, match="twice"):
        parse_point(text, ["x", "y"])


@pytest.mark.parametrize("text", ["1,,2", "1,2,", ",1,2"])
def test_a_start_with_an_empty_item_is_an_error(text: str) -> None:
    with pytest.raises(InputError, match="empty item"):
        parse_point(text, ["x", "y"])


@pytest.mark.parametrize("text", ["1_000", "１", "inf", "nan", "1e400", "0x10", "1/2", "٣"])
def test_a_start_value_must_be_a_plain_finite_number(text: str) -> None:
    with pytest.raises(InputError):
        parse_point(f"{text},1", ["x", "y"])


def test_plain_numbers_still_read() -> None:
    assert parse_point("−1.5e-3, +2.", ["x", "y"]) == [-1.5e-3, 2.0]
    assert parse_point("y=.5,x=-3", ["x", "y"]) == [-3.0, 0.5]


@pytest.mark.parametrize("text", ["gd,,adam", "gd,", ",gd", " , "])
def test_split_list_refuses_empty_items(text: str) -> None:
    with pytest.raises(InputError, match="empty item"):
        split_list(text, "--methods")


def test_explain_refuses_an_empty_method_before_any_work(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["explain", "x**2", "--methods", "gd,,adam", "-o", str(tmp_path / "l")]
    )
    assert result.exit_code == 2
    assert "empty item" in result.output
    assert not (tmp_path / "l").exists()


@pytest.mark.parametrize("name", ["descend", "explain"])
def test_duplicate_start_names_exit_2(runner: CliRunner, name: str, tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        [
            name,
            "x**2 + y**2",
            "--start",
            "x=1,x=2",
            *(["-o", str(tmp_path / "l")] if name == "explain" else []),
        ],
    )
    assert result.exit_code == 2
    assert "twice" in result.output


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_derive_timeout_must_be_finite(runner: CliRunner, value: str) -> None:
    result = runner.invoke(cli, ["derive", "x**2", "--timeout", value])
    assert result.exit_code == 2
    assert "--timeout" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["explain", "x**2", "-o", ""],
        ["handout", "x**2", "-o", " "],
        ["fit", "--demo", "linear", "-o", ""],
    ],
)
def test_an_empty_output_path_is_refused(
    runner: CliRunner, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert "the path is empty" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["descend", "x**2", "--start"], ["explain", "x**2", "-o"]])
def test_an_option_without_its_value_says_so(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert f"Option '{args[-1]}' requires a value" in result.output


def test_an_empty_option_value_stays_the_value(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["descend", "x**2", "--start", ""])
    assert result.exit_code == 2
    assert "the start point is empty" in result.output
