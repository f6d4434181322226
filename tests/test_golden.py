"""Golden JSON: what derive, descend, explain, the handout key and fit print, on a fixed corpus.

Code that moves must not change what users get. Each case's JSON was recorded from the
command line and is compared here, value for value (floats to 1e-9 relative, since moving code
may reorder a sum). To record again after a change that is meant (and listed in its commit):

    python tests/test_golden.py

They take a few minutes, so the default run leaves them out; run them with ``pytest -m golden``
before and after moving code. The lists of critical points depend on the exact solver finishing
within its time budget, so run them on a machine that is not busy.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

GOLDEN = Path(__file__).parent / "golden"

#: functions chosen to cover every kind of lesson: quadratics, saddles, no minimum, kinks,
#: activations, many critical points, one variable, three variables, data-style losses
CORPUS = [
    "x**2 + 2*x*y",
    "x0**2 + x1**2",
    "w**2",
    "(1-x)**2 + 100*(y-x**2)**2",
    "(x**2+y-11)**2 + (x+y**2-7)**2",
    "x**4 - 2*x**2 + y**2",
    "x**2 + 3*y**2",
    "x**2 + 100*y**2",
    "x**3 - 3*x + y**2",
    "sin(x)*cos(y)",
    "exp(-(x**2+y**2))",
    "abs(x) + abs(y)",
    "relu(x - 1) + 0.1*x**2",
    "-log(sigmoid(3*w + b))",
    "log(1 + exp(x)) + y**2",
    "x**2 + y**2 + z**2 + x*y",
    "sqrt(x**2 + 1) + y**2",
    "x**4 - 3*x**2",
    "(x - 1)**2*(y + 2)**2 + x**2",
    "tanh(x)**2 + y**2",
    "x**2*y**2 + x + y",
    "softplus(x) + softplus(-y) + x**2/10",
]
#: (function, number of variables, method) for descend
DESCENTS = [
    ("x**2 + 2*x*y", 2, "gd"),
    ("x0**2 + x1**2", 2, "momentum"),
    ("w**2", 1, "adam"),
    ("(1-x)**2 + 100*(y-x**2)**2", 2, "nesterov"),
    ("x**4 - 2*x**2 + y**2", 2, "rmsprop"),
    ("x**2 + 100*y**2", 2, "adagrad"),
    ("x**3 - 3*x + y**2", 2, "newton"),
    ("sin(x)*cos(y)", 2, "ascent"),
    ("x**2 + y**2 + z**2 + x*y", 3, "gd"),
    ("exp(-(x**2+y**2))", 2, "adam"),
]
#: every case: (name, command-line arguments)
CASES: list[tuple[str, list[str]]] = [
    *((f"derive-{i}", ["derive", f, "--json", "--steps"]) for i, f in enumerate(CORPUS)),
    *(
        (
            f"descend-{i}",
            [
                "descend",
                f,
                "--start",
                ",".join(["0.5"] * n),
                "--steps",
                "200",
                "--method",
                method,
                "--json",
            ],
        )
        for i, (f, n, method) in enumerate(DESCENTS)
    ),
    *((f"explain-{i}", ["explain", f, "--json"]) for i, f in enumerate(CORPUS)),
    ("fit-linear", ["fit", "--demo", "linear", "--json"]),
    ("fit-linear-minibatch", ["fit", "--demo", "linear", "--batch-size", "16", "--json"]),
    (
        "fit-logistic-sgd",
        ["fit", "--demo", "logistic", "--batch-size", "1", "--epochs", "5", "--json"],
    ),
]


def _run(args: list[str], folder: Path) -> Any:
    from symgd.cli import cli

    if args[0] == "explain":
        args = [*args, "-o", str(folder / "lesson")]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    if args[0] == "explain":
        payload["report"] = Path(payload["report"]).name
    return payload


def _handout_key() -> Any:
    from symgd.expr.parser import parse
    from symgd.handout import build_handout, handout_to_json

    problems = [parse(f) for f in CORPUS[:12]]
    key = handout_to_json(
        build_handout(problems, variants=2, seed=7, answers="separate", title="Golden")
    )
    return json.loads(json.dumps(key))


def _same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), where
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{where}: keys differ"
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.golden
@pytest.mark.parametrize(("name", "args"), CASES, ids=[name for name, _ in CASES])
def test_command_json_is_unchanged(name: str, args: list[str], tmp_path: Path) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    _same(_run(args, tmp_path), expected, name)


@pytest.mark.golden
def test_handout_key_is_unchanged() -> None:
    expected = json.loads((GOLDEN / "handout-key.json").read_text())
    _same(_handout_key(), expected, "handout")


def record() -> None:
    """Write every case's JSON into tests/golden/."""
    import tempfile

    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, args in CASES:
            payload = _run(args, Path(folder))
            (GOLDEN / f"{name}.json").write_text(json.dumps(payload, indent=1) + "\n")
            print(name, file=sys.stderr)
    (GOLDEN / "handout-key.json").write_text(json.dumps(_handout_key(), indent=1) + "\n")


if __name__ == "__main__":
    record()
