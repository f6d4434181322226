"""``symgd descend`` from the command line: worked facts through --json, errors exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from symgd.cli import cli


def run_json(runner: CliRunner, *args: str) -> dict[str, object]:
    result = runner.invoke(cli, ["descend", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def test_bowl_worked_fact(runner: CliRunner) -> None:
    data = run_json(runner, "x0**2+x1**2", "--start", "-3,4", "--lr", "0.1", "--steps", "100")
    assert data["method"] == "gd" and data["lr"] == 0.1 and data["hyperparameters"] == {}
    assert data["status"] == "max_steps" and data["steps"] == 100
    assert data["variables"] == ["x0", "x1"]
    assert data["start"] == {"x0": -3.0, "x1": 4.0}
    final = data["final"]
    assert isinstance(final, dict)
    np.testing.assert_allclose(
        [final["x0"], final["x1"]], 0.8**100 * np.array([-3.0, 4.0]), rtol=1e-12
    )
    assert data["f"] == pytest.approx(0.8**200 * 25, rel=1e-12)
    assert data["grad_norm"] == pytest.approx(2 * 0.8**100 * 5, rel=1e-12)
    assert data["diverged_at"] is None
    assert "trajectory" not in data


def test_named_start_and_trajectory(runner: CliRunner) -> None:
    data = run_json(runner, "x0**2+x1**2", "--start", "x1=4,x0=-3", "--steps", "3", "--trajectory")
    path = data["trajectory"]
    assert isinstance(path, list) and len(path) == 4
    np.testing.assert_allclose(path, [[-3.0 * 0.8**k, 4.0 * 0.8**k] for k in range(4)], rtol=1e-14)


@pytest.mark.parametrize(
    ("lr", "iterates"),
    [
        ("0.4", [1, 0.2, 0.04, 0.008]),
        ("0.6", [1, -0.2, 0.04, -0.008]),
        ("1.2", [1, -1.4, 1.96, -2.744]),
    ],
)
def test_w_squared_regimes(runner: CliRunner, lr: str, iterates: list[float]) -> None:
    data = run_json(runner, "w**2", "--start", "1", "--lr", lr, "--steps", "3", "--trajectory")
    np.testing.assert_allclose(np.array(data["trajectory"])[:, 0], iterates, rtol=1e-13)


def test_saddle_is_diverged_with_its_step(runner: CliRunner) -> None:
    data = run_json(runner, "x**2+2*x*y", "--start", "1,1", "--steps", "5000")
    assert data["status"] == "diverged"
    assert isinstance(data["diverged_at"], int) and data["diverged_at"] == data["steps"]
    result = runner.invoke(cli, ["descend", "x**2+2*x*y", "--start", "1,1", "--steps", "5000"])
    assert "diverged" in result.output and "unbounded below" in result.output
    assert not {"inf", "nan"} & set(result.output.replace(",", " ").split())


def test_hyperparameters_reach_the_optimizer(runner: CliRunner) -> None:
    data = run_json(
        runner,
        "x**2+y**2",
        "--start",
        "1,2",
        "--method",
        "adam",
        "--beta1",
        "0.8",
        "--eps",
        "1e-6",
        "--lr",
        "0.01",
        "--steps",
        "5",
    )
    assert data["hyperparameters"] == {"beta1": 0.8, "beta2": 0.999, "eps": 1e-6}
    data = run_json(
        runner,
        "x**2",
        "--start",
        "1",
        "--method",
        "momentum",
        "--momentum",
        "0.5",
        "--steps",
        "2",
        "--trajectory",
        "--lr",
        "0.1",
    )
    # b1 = g0 = 2, x1 = 0.8; b2 = 0.5*2 + 1.6 = 2.6, x2 = 0.8 - 0.26
    np.testing.assert_allclose(np.array(data["trajectory"])[:, 0], [1, 0.8, 0.54], rtol=1e-14)


def test_text_output(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["descend", "x**2", "--start", "3", "--method", "newton"])
    assert result.exit_code == 0
    assert "Newton" in result.output and "converged after 1 step" in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["x**2", "--start", "1", "--method", "gd", "--momentum", "0.9"], "no hyperparameters"),
        (["x**2", "--start", "y=1"], "not a variable"),
        (["x**2+y", "--start", "1"], "1 value"),
        (["x**2", "--start", "1", "--lr", "-1"], "positive"),
        (["x**2", "--start", "1", "--steps", "-3"], "steps"),
        (["x**2", "--start", "1", "--tol", "nan"], "tol"),
        (["x**2 +", "--start", "1"], "ends too early"),
        (["x**2", "--start", "1", "--method", "lbfgs"], "lbfgs"),
        (["x**2"], "--start"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    runner: CliRunner, args: list[str], words: str
) -> None:
    result = runner.invoke(cli, ["descend", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert words in result.output


def test_fast_flag_gives_the_same_answer(runner: CliRunner) -> None:
    pytest.importorskip("numba")
    args = ["x**2+2*x*y", "--start", "1,1", "--steps", "500"]
    plain = run_json(runner, *args)
    fast = run_json(runner, *args, "--fast")
    assert fast["status"] == plain["status"] == "diverged"
    assert fast["diverged_at"] == plain["diverged_at"]


def test_methods_and_their_options_come_from_the_registry(runner: CliRunner) -> None:
    from symgd.cli.descend import descend
    from symgd.numeric.optimizers import OPTIMIZERS, shared_hyperparameters

    params = {p.name: p for p in descend.params}
    assert tuple(params["method"].type.choices) == tuple(OPTIMIZERS)  # type: ignore[attr-defined]
    hyper = shared_hyperparameters(OPTIMIZERS.values())
    assert {name for name in params if name in hyper} == set(hyper)
    text = " ".join(runner.invoke(cli, ["descend", "--help"]).output.split())
    for spec in OPTIMIZERS.values():
        assert spec.description in text
    assert "Momentum coefficient (momentum, nesterov: 0.9; rmsprop: 0)." in text
    assert "Learning rate (default 0.1; 1 for newton)." in text


def test_json_and_text_carry_the_outcome(runner: CliRunner) -> None:
    data = run_json(runner, "abs(x)+abs(y)", "--start", "0.5,0.7", "--lr", "0.1")
    # x and y step by 0.1 down to 2.8e-17, then hop between it and -0.1: a 2-cycle
    assert data["status"] == "max_steps" and data["outcome"] == "cycle"
    assert data["cycle_period"] == 2
    data = run_json(runner, "x**2+2*x*y", "--start", "1,1", "--steps", "5000")
    assert data["outcome"] == "unbounded" and "cycle_period" not in data
    result = runner.invoke(cli, ["descend", "x**4 - 3*x**2", "--start", "0.5", "--lr", "0.2"])
    assert result.exit_code == 0
    assert "Outcome: cycle (period 2): the iterates repeat" in result.output
