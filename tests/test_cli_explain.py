"""``symgd explain`` on the command line: output, options, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ.setdefault("SYMGD_SERIAL", "1")

from symgd.cli import cli
from symgd.cli.explain import slug

ROOT = Path(__file__).resolve().parents[1]


def test_writes_the_report_and_prints_its_path(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        [
            "explain",
            "x**2 + y**2",
            "--start",
            "x=1,y=2",
            "--lr",
            "0.1",
            "--methods",
            "gd",
            "-o",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path == tmp_path / "r" / "report.html"
    html = path.read_text(encoding="utf-8")
    assert "x_{0} = \\left(1, 2\\right)" in html  # the start, as LaTeX in an aria-label
    assert "<title>Gradient descent on f(x, y) = x**2 + y**2</title>" in html


def test_default_folder_is_named_after_the_expression(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["explain", "x**2 + 2*x*y", "--methods", "gd", "--steps", "30"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(Path("out") / "x2-2xy" / "report.html")
    assert (tmp_path / "out" / "x2-2xy" / "report.html").is_file()


def test_json_summary(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        [
            "explain",
            "w**2",
            "--start",
            "1",
            "--lr",
            "0.4",
            "--steps",
            "100",
            "--methods",
            "gd,newton",
            "-o",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["report"] == str(tmp_path / "report.html")
    assert data["expression"] == "w**2" and data["variables"] == ["w"]
    assert data["start"] == [1.0] and data["lr"] == 0.4 and data["steps"] == 100
    assert data["defaults"] == []
    gd, newton = data["runs"]
    assert gd["method"] == "gd" and gd["status"] == "converged"
    # w_k = 0.2^k: the first k with |f'(w_k)| = 2 · 0.2^k < 1e-8
    assert gd["steps"] == 12 and gd["final"][0] == pytest.approx(0.2**12)
    assert newton["method"] == "newton" and newton["lr"] == 1.0 and newton["steps"] == 1


def test_expression_with_a_leading_minus(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["explain", "-x**2-y**2", "--methods", "gd", "--steps", "20", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "concave" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x**2 +"], "Error:"),
        (["__import__('os')"], "Error:"),
        (["x**2 + y**2", "--start", "1,2,3"], "3 value"),
        (["x**2 + y**2", "--start", "x=1,z=2"], "not a variable"),
        (["x**2 + y**2", "--start", "x=nan,y=1"], "finite"),
        (["x**2", "--lr", "-1"], "positive"),
        (["x**2", "--lr", "0"], "positive"),
        (["x**2", "--steps", "0"], "0"),
        (["x**2", "--methods", "gd,warp"], "unknown method"),
        (["x + 1/0"], "zero"),
        (["log(x)", "--start", "-1"], "undefined"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(cli, ["explain", *args, "-o", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "report.html").exists()


def test_templates_folder_must_hold_the_lesson(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["explain", "x**2", "--templates", str(tmp_path), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "lesson.html.jinja2" in result.stderr


def test_unwritable_output_is_an_input_error(runner: CliRunner, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(
        cli, ["explain", "x**2", "--methods", "gd", "--steps", "10", "-o", str(blocker / "sub")]
    )
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        ("x**2+2*x*y", "x2-2xy"),
        ("x**2 + 2*x*y", "x2-2xy"),
        ("-x**2-y**2", "mx2-my2"),
        ("sigmoid(w*x+b)", "sigmoidwx-b"),
        ("***", "lesson"),
    ],
)
def test_slug(expression: str, name: str) -> None:
    assert slug(expression) == name


def test_help_lists_the_options(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["explain", "--help"])
    assert result.exit_code == 0
    for option in ("--start", "--lr", "--steps", "--methods", "--output", "--templates", "--json"):
        assert option in result.output


def test_help_does_not_import_the_heavy_stages() -> None:
    code = (
        "import sys; from symgd.cli import main\n"
        "try:\n    main(['explain', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sympy', 'numpy', 'matplotlib', 'ziamath', 'jinja2') "
        "if m in sys.modules]\nprint(heavy, file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert result.stderr.strip() == "[]"


def test_worker_process_gives_the_same_page(tmp_path: Path) -> None:
    """Figures and part of the typesetting happen in a forked worker when the command runs
    on its own; the page must not depend on that."""
    import symgd

    env = {**os.environ, "PYTHONPATH": str(Path(symgd.__file__).resolve().parents[1])}
    pages = []
    for serial in ("", "1"):
        env["SYMGD_SERIAL"] = serial
        folder = tmp_path / f"serial{serial or 0}"
        subprocess.run(
            [sys.executable, "-m", "symgd", "explain", "x**2+2*x*y", "-o", str(folder)],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        pages.append((folder / "report.html").read_text(encoding="utf-8"))
    assert pages[0] == pages[1]
    assert pages[0].count("<svg") > 40
