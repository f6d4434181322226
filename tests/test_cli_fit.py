"""``symgd fit`` from the command line: JSON shape, reproducibility, bad data exits 2."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from symgd.cli import cli

LINEAR = "(y - (w*x + b))**2"


def write_points(folder: Path, rows: int = 40, seed: int = 0, name: str = "points.csv") -> Path:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, rows)
    y = -1.5 * x + 0.5 + rng.normal(0, 0.3, rows)
    path = folder / name
    path.write_text(
        "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
    )
    return path


def run_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(cli, ["fit", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_demo_linear_json_shape(runner: CliRunner) -> None:
    data = run_json(runner, "--demo", "linear")
    assert set(data) >= {
        "params",
        "loss",
        "epochs",
        "batch_size",
        "status",
        "least_squares",
        "loss_per_epoch",
    }
    assert data["status"] == "converged" and data["batch_size"] == 200
    assert set(data["params"]) == {"w", "b"}
    assert all(isinstance(v, float) for v in data["params"].values())
    assert isinstance(data["loss"], float) and len(data["loss_per_epoch"]) == data["epochs"]
    ls = data["least_squares"]
    for name in ("w", "b"):
        assert data["params"][name] == pytest.approx(ls[name], abs=1e-7)
    assert abs(ls["w"] - 3) < 0.2 and abs(ls["b"] - 2) < 0.2


def test_demo_logistic_has_no_least_squares(runner: CliRunner) -> None:
    data = run_json(runner, "--demo", "logistic", "--epochs", "50")
    assert data["least_squares"] is None and data["epochs"] == 50
    assert data["loss_per_epoch"][-1] < data["initial_loss"]


def test_csv_fit_reaches_least_squares(runner: CliRunner, tmp_path: Path) -> None:
    path = write_points(tmp_path)
    data = run_json(
        runner, LINEAR, "--data", str(path), "--params", "w,b", "--lr", "0.2", "--epochs", "2000"
    )
    rows = np.loadtxt(path, delimiter=",", skiprows=1)
    X = np.column_stack([rows[:, 0], np.ones(len(rows))])
    expected = np.linalg.solve(X.T @ X, X.T @ rows[:, 1])
    assert data["status"] == "converged"
    np.testing.assert_allclose([data["params"]["w"], data["params"]["b"]], expected, atol=1e-7)
    np.testing.assert_allclose(
        [data["least_squares"]["w"], data["least_squares"]["b"]], expected, rtol=1e-10
    )


def test_seed_reproducibility(runner: CliRunner, tmp_path: Path) -> None:
    path = str(write_points(tmp_path))
    args = [
        LINEAR,
        "--data",
        path,
        "--params",
        "w,b",
        "--batch-size",
        "4",
        "--epochs",
        "3",
        "--lr",
        "0.05",
    ]
    one = run_json(runner, *args, "--seed", "7")
    two = run_json(runner, *args, "--seed", "7")
    other = run_json(runner, *args, "--seed", "8")
    assert one == two
    assert one["params"] != other["params"]
    assert one["batch_size"] == 4 and one["steps"] == 30


def test_options_reach_the_optimizer(runner: CliRunner, tmp_path: Path) -> None:
    path = str(write_points(tmp_path))
    data = run_json(
        runner,
        LINEAR,
        "--data",
        path,
        "--params",
        "w,b",
        "--method",
        "momentum",
        "--momentum",
        "0.5",
        "--lr",
        "0.05",
        "--start",
        "w=1,b=-1",
        "--epochs",
        "3",
    )
    assert data["method"] == "momentum" and data["hyperparameters"] == {"momentum": 0.5}
    assert data["start"] == {"w": 1.0, "b": -1.0}


@pytest.mark.parametrize(
    ("content", "pieces"),
    [
        ("x,z\n1,2\n", ["no column named 'y'", "line 1"]),
        ("x,y\n1,2\n3,abc\n", ["row 2", "line 3", "column 'y'", "'abc'"]),
        ("x,y\n1,2\n4,5\n2.5,\n", ["row 3", "line 4", "column 'y'", "empty"]),
        ("", ["empty"]),
        ("x,y\n1,2\nnan,3\n", ["row 2", "line 3", "column 'x'", "finite"]),
        ("x,y\n1,inf\n", ["row 1", "line 2", "column 'y'", "finite"]),
        ("x,y\n1,-inf\n", ["row 1", "column 'y'", "finite"]),
        ("x,y\n", ["no data rows"]),
    ],
)
def test_bad_data_exits_2_naming_row_and_column(
    runner: CliRunner, tmp_path: Path, content: str, pieces: list[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(cli, ["fit", LINEAR, "--data", str(path), "--params", "w,b"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.output
    for piece in pieces:
        assert piece in result.stderr


@pytest.mark.parametrize(
    ("args", "piece"),
    [
        (["--data", "points.csv", "--params", "w,b"], "LOSS"),
        ([LINEAR, "--params", "w,b"], "--data"),
        ([LINEAR, "--data", "points.csv"], "--params"),
        ([LINEAR, "--data", "missing.csv", "--params", "w,b"], "does not exist"),
        ([LINEAR, "--data", "points.csv", "--params", "w,b", "--batch-size", "0"], "at least 1"),
        ([LINEAR, "--data", "points.csv", "--params", "w,b", "--batch-size", "lots"], "'full'"),
        ([LINEAR, "--data", "points.csv", "--params", "w,b", "--method", "bogus"], "bogus"),
        ([LINEAR, "--data", "points.csv", "--params", "w,b", "--epochs", "x"], "x"),
        (["--demo", "linear", "--data", "points.csv"], "not both"),
        (["--demo", "cubic"], "cubic"),
        (["(y - w*x - b - q)**2", "--demo", "linear"], "'q'"),
        ([LINEAR, "--demo", "linear", "--params", "w"], "b"),
        ([LINEAR, "--demo", "linear", "--start", "w=1"], "no value for b"),
        (["(y - w*x)**2 +", "--demo", "linear", "--params", "w"], "column"),
    ],
)
def test_usage_errors_exit_2(
    runner: CliRunner, tmp_path: Path, monkeypatch: Any, args: list[str], piece: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write_points(tmp_path)
    result = runner.invoke(cli, ["fit", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and piece in result.stderr


def test_diverged_fit_is_reported_with_exit_0(runner: CliRunner) -> None:
    data = run_json(runner, "--demo", "linear", "--lr", "5")
    assert data["status"] == "diverged" and isinstance(data["diverged_at"], int)
    text = runner.invoke(cli, ["fit", "--demo", "linear", "--lr", "5"])
    assert text.exit_code == 0 and "diverged" in text.output


def test_text_output(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["fit", "--demo", "linear", "--batch-size", "16", "--epochs", "5"])
    assert result.exit_code == 0
    out = result.output
    assert "Mini-batch (B = 16)" in out and "Status: max_steps after 5 epochs" in out
    assert "Least squares (numpy.linalg.lstsq): w = " in out
    assert "∇L = -(2/N) Xᵀ(t - Xθ), with X = [x, 1], t = y" in out


def test_output_page(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    result = runner.invoke(
        cli,
        [
            "fit",
            "--demo",
            "linear",
            "--epochs",
            "8",
            "--batch-size",
            "20",
            "-o",
            str(folder),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["batch_size"] == 20 and data["epochs"] == 8
    page = (folder / "fit.html").read_text(encoding="utf-8")
    assert f"Wrote {folder / 'fit.html'}" in result.stderr
    figures = re.findall(r'<figure class="plot[^"]*" id="([^"]+)">\s*<svg', page)
    assert figures == ["fig-fit-loss", "fig-fit-angles", "fig-fit-contour"]
    assert "mini-batch (B = 20)" in page and "SGD (B = 1)" in page
    assert "http://" not in re.sub(r'xmlns(:\w+)?="[^"]*"', "", page).replace(
        "http://www.w3.org", ""
    )
    # the JSON run is the page's mini-batch run: same numbers as a plain fit
    plain = run_json(runner, "--demo", "linear", "--epochs", "8", "--batch-size", "20")
    assert plain["params"] == data["params"]


def test_fit_offers_the_minimizers_of_the_registry(runner: CliRunner) -> None:
    from symgd.cli.fit import fit
    from symgd.numeric.optimizers import OPTIMIZERS

    method = next(p for p in fit.params if p.name == "method")
    offered = tuple(method.type.choices)  # type: ignore[attr-defined]
    assert offered == tuple(n for n, s in OPTIMIZERS.items() if s.minimizes)
    assert "ascent" not in offered
    result = runner.invoke(cli, ["fit", "--demo", "linear", "--method", "adam", "--alpha", "0.9"])
    assert result.exit_code == 2 and "adam takes beta1, beta2, eps; got alpha" in result.output


def _visible(page: str) -> str:
    """The page's words as a reader sees them: no SVG, tags or styles."""
    page = re.sub(r"<(svg|style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_page_says_how_the_noisy_runs_were_computed(runner: CliRunner, tmp_path: Path) -> None:
    data = write_points(tmp_path, rows=300)
    args = ["fit", LINEAR, "--data", str(data), "--params", "w,b", "--batch-size", "10"]
    result = runner.invoke(cli, [*args, "--epochs", "3", "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    text = _visible((tmp_path / "a" / "fit.html").read_text(encoding="utf-8"))
    assert "Whole epochs were run that way (3 of the 3 epochs of the mini-batch (B = 10); " in text
    assert "3 of the 3 epochs of the SGD (B = 1))" in text
    assert "evaluated again row by row" in text and "coefficient means over all rows" in text
    assert "agreed to within 1e-10 of the size of their terms" in text
    # a loss that is not a polynomial in the parameters runs batch by batch, and says nothing
    logistic = runner.invoke(
        cli, ["fit", "--demo", "logistic", "--epochs", "3", "-o", str(tmp_path / "b")]
    )
    assert logistic.exit_code == 0, logistic.output
    other = _visible((tmp_path / "b" / "fit.html").read_text(encoding="utf-8"))
    assert "Whole epochs" not in other and "row by row" not in other


def test_large_plain_csv_bad_cell_exits_2_naming_it(runner: CliRunner, tmp_path: Path) -> None:
    path = write_points(tmp_path, rows=2000)
    lines = path.read_text().splitlines()
    lines[1500] = lines[1500].split(",")[0] + ",1e999"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(cli, ["fit", LINEAR, "--data", str(path), "--params", "w,b"])
    assert result.exit_code == 2
    assert f"{path}, row 1500 (line 1501), column 'y': '1e999' is not a finite number" in (
        result.stderr
    )
