"""``symgd vanish`` on the command line: the page, the JSON, the default folder, the PDF and
the errors (exit code 2, a message naming the bad value)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from symgd.cli.vanish import vanish


def test_writes_the_page_into_the_folder_given(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        vanish, ["--depth", "6", "--activations", "sigmoid,relu", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    page = tmp_path / "report.html"
    assert page.is_file()
    assert result.output.strip().splitlines()[-1] == str(page)
    html = page.read_text(encoding="utf-8")
    assert "Vanishing gradients in a chain of 6 layers" in html
    assert "sigmoid σ" in html and "ReLU" in html and "Leaky ReLU" not in html
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left


def test_default_folder_names_the_settings(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(vanish, ["--depth", "3", "--weight", "-0.5", "--bias", "0.25"])
    assert result.exit_code == 0, result.output
    page = Path("out/vanish/n3-wm0p5-b0p25-x1/report.html")
    assert page.is_file()
    assert str(page) in result.output
    # the terminal summary gives the first and last layer's gradient of each activation
    assert "sigmoid σ" in result.output and "∂p3/∂w1" in result.output


def test_json_is_printed_and_no_page_is_written_without_o(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(vanish, ["--json", "--depth", "4", "--weight", "2", "--bias", "-1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"depth", "weight", "bias", "input", "activations"}
    assert (data["depth"], data["weight"], data["bias"], data["input"]) == (4, 2.0, -1.0, 1.0)
    assert list(data["activations"]) == ["sigmoid", "tanh", "relu", "leaky_relu"]
    relu = data["activations"]["relu"]
    # z = 1 in every layer (2·1 − 1), so ∂p₄/∂w_k = p_{k−1}·2^(4−k) = 8, 4, 2, 1
    assert relu["z"] == [1.0] * 4
    assert relu["grad_w"] == [8.0, 4.0, 2.0, 1.0]
    sigmoid = data["activations"]["sigmoid"]
    s1 = 1 / (1 + math.exp(-1.0))
    assert sigmoid["p"][0] == pytest.approx(s1)
    assert sigmoid["derivatives"][0] == pytest.approx(s1 * (1 - s1))
    assert not (tmp_path / "out").exists()


def test_json_with_o_writes_the_page_too(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(vanish, ["--json", "--depth", "2", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["depth"] == 2
    assert (tmp_path / "report.html").is_file()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--depth", "0"], "depth must be between 1 and 200 layers, got 0"),
        (["--depth", "201"], "depth must be between 1 and 200 layers, got 201"),
        (["--depth", "ten"], "'--depth'"),
        (["--activations", "sigmoid,swish"], "unknown activation 'swish'"),
        (["--activations", "relu,,tanh"], "unknown activation ''"),
        (["--weight", "nan"], "the weight must be a finite number"),
        (["--bias", "inf"], "the bias must be a finite number"),
        (["--input", "-inf"], "the input must be a finite number"),
        (["--input", "x"], "'--input'"),
        (
            ["--depth", "200", "--weight", "1e3", "--activations", "relu"],
            "beyond the largest float",
        ),
    ],
)
def test_bad_input_exits_2_naming_it(
    runner: CliRunner, tmp_path: Path, args: list[str], fragment: str
) -> None:
    result = runner.invoke(vanish, [*args, "-o", str(tmp_path / "never")])
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "never").exists()


def test_an_output_that_is_a_file_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    result = runner.invoke(vanish, ["-o", str(target)])
    assert result.exit_code == 2
    assert "is a file" in result.output
    assert target.read_text() == "keep me"


@pytest.mark.pdf
def test_pdf_is_written_beside_the_page(runner: CliRunner, tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    result = runner.invoke(vanish, ["--depth", "5", "--pdf", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(str(pdf)).pages)
    assert "Vanishing gradients" in text
    assert "sigmoid" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.pdf"]
