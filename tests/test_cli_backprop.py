"""``symgd backprop`` on the command line: the report, the JSON, the errors (exit 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from symgd.cli.backprop import backprop
from symgd.expr.parser import parse

SMALL = "(w*x - y)**2"


def test_json_and_report(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        backprop,
        [SMALL, "--at", "w=0.5,x=2,y=3", "--wrt", "w", "--lr", "0.1", "--json", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["loss"] == pytest.approx(4.0)
    assert data["gradient"] == {"w": pytest.approx(2 * (0.5 * 2 - 3) * 2)}
    assert data["gradient_exact"] == {"w": "-8"}
    assert parse(data["gradient_exact"]["w"], ["x"]).expr == -8
    assert data["update"] == {"w": pytest.approx(0.5 + 0.1 * 8)}
    assert data["loss_after"] == pytest.approx((1.3 * 2 - 3) ** 2)
    page = Path(data["report"])
    assert page == out / "report.html" and page.is_file()
    html = page.read_text(encoding="utf-8")
    assert "The loss went down" in html
    assert "Layer" not in html  # no activations: nothing is said about layers
    assert "agree to within" in html


def test_default_folder_and_text_output(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(backprop, ["sigmoid(w*x+b)", "--at", "w=1,x=0.5,b=0", "--wrt", "w,b"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    page = Path(lines[-1])
    assert page == Path("out/backprop/sigmoidwx-b/report.html")
    assert (tmp_path / page).is_file()
    s = 1 / (1 + math.exp(-0.5))
    assert f"{s * (1 - s) * 0.5:.10g}" in result.stdout  # ∂σ/∂w = σ(1 − σ)·x


def test_an_expression_that_starts_with_a_minus(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(backprop, ["-log(w)", "--at", "w=2", "--json", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["gradient"]["w"] == pytest.approx(-0.5)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([SMALL, "--at", "w=1,x=2"], "no value for y"),
        ([SMALL, "--at", "w=1,x=2,y=nan"], "finite decimal number"),
        ([SMALL, "--at", "w=1,x=2,y=3,z=4"], "z, which is not a variable"),
        ([SMALL, "--at", "w=1,x=2,y=3", "--wrt", "v"], "--wrt names v"),
        ([SMALL, "--at", "w=1,x=2,y=3", "--lr", "0"], "--lr must be a positive"),
        ([SMALL, "--at", "w=1,x=2,y=3", "--lr", "-0.5"], "--lr must be a positive"),
        ([SMALL, "--at", "w=1,x=2,y=3", "--lr", "nan"], "--lr must be a positive"),
        ([SMALL, "--at", "w=1,x=2,y=3", "--lr", "inf"], "positive finite"),
        (["log(w - x)", "--at", "w=1,x=2"], "logarithm is defined only for positive"),
        (["w/x", "--at", "w=1,x=0"], "division by zero"),
        (["w*", "--at", "w=1"], "ends too early"),
    ],
)
def test_bad_input_exits_2(runner: CliRunner, tmp_path: Path, args: list[str], words: str) -> None:
    result = runner.invoke(backprop, [*args, "-o", str(tmp_path / "never")])
    assert result.exit_code == 2, result.output
    assert "Error:" in result.stderr and words in result.stderr
    assert not (tmp_path / "never").exists()


def test_missing_at_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(backprop, [SMALL])
    assert result.exit_code == 2
    assert "--at" in result.stderr


def test_pdf(runner: CliRunner, tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    result = runner.invoke(
        backprop, ["(w*x - 1)**2", "--at", "w=2,x=1", "--pdf", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
