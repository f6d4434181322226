"""Cold-start time of ``symgd explain`` (HTML only) and ``symgd --help``.

Targets, on the project's 2-core machine:

- ``symgd explain "x**2+2*x*y"`` ≤ 1.5 s, and within 0.5 s of
  ``python -c "import sympy, matplotlib.pyplot"`` measured in the same run;
- ``symgd --help`` ≤ 0.2 s.

Every measurement starts a fresh interpreter (no warm caches in the process; the operating
system's file cache is warm after the first round, as it is for a user, and so is
``__pycache__``: ``PYTHONDONTWRITEBYTECODE`` is dropped, as ``pip install`` compiles the
package). The commands take turns, so that background load affects them alike; medians are
reported. symgd keeps compiled templates and typeset formulas between runs
(:mod:`symgd.base.cache`), so the lesson is timed three ways:

- *nothing kept*: ``SYMGD_CACHE_DIR=`` (empty), the very first run;
- *a new function*: a cache holding what three other lessons kept, copied afresh before each
  run (so the lesson's own formulas are never there);
- *made again*: a cache that holds this lesson's own templates and formulas.

    python benchmarks/bench_explain.py [--rounds 7] [--expression "x**2+2*x*y"] [--against REV]

``--against REV`` also times ``symgd explain`` from git revision REV (checked out into a
temporary worktree and put first on ``PYTHONPATH``), in the same rounds: the way to show that a
change did not make the cold lesson slower. The ratio of the two medians is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from timing import timed  # benchmarks/timing.py (scripts run from this folder's path)

ROOT = Path(__file__).resolve().parents[1]
#: runs symgd from the other revision's tree; an editable install's import hook would otherwise
#: hand that tree this checkout's templates
AGAINST = (
    "import runpy, sys; "
    "sys.meta_path[:] = [f for f in sys.meta_path "
    "if '__editable__' not in getattr(f, '__module__', '')]; "
    "sys.argv[0] = 'symgd'; runpy.run_module('symgd', run_name='__main__', alter_sys=True)"
)


#: the lessons that fill the cache for the "new function" runs
OTHERS = ("x**2 + 3*y**2", "(1 - x)**2 + 100*(y - x**2)**2", "sin(x) + y**2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--expression", default="x**2+2*x*y")
    parser.add_argument("--against", metavar="REV", help="also time explain from this git revision")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("SYMGD_SERIAL", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    with tempfile.TemporaryDirectory() as folder:
        explain = [sys.executable, "-m", "symgd", "explain", args.expression, "-o", folder]
        others, again, fresh = (str(Path(folder) / name) for name in ("others", "again", "fresh"))
        for other in OTHERS:  # what earlier lessons on other functions kept
            timed([*explain[:4], other, "-o", folder], {**env, "SYMGD_CACHE_DIR": others})

        def new_function() -> None:
            shutil.rmtree(fresh, ignore_errors=True)
            shutil.copytree(others, fresh)

        commands: dict[str, Command] = {
            "baseline (import sympy, matplotlib.pyplot)": [
                sys.executable,
                "-c",
                "import sympy, matplotlib.pyplot",
            ],
            f"explain {args.expression!r}, nothing kept": (explain, {**env, "SYMGD_CACHE_DIR": ""}),
            "  the same, a new function": (
                explain,
                {**env, "SYMGD_CACHE_DIR": fresh},
                new_function,
            ),
            "  the same, made again": (explain, {**env, "SYMGD_CACHE_DIR": again}),
            "symgd --help": [sys.executable, "-m", "symgd", "--help"],
        }
        if args.against:
            tree = Path(folder) / "against"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.against],
                check=True,
                capture_output=True,
            )
            commands[f"explain at {args.against}"] = (
                [sys.executable, "-c", AGAINST, "explain", args.expression, "-o", folder],
                {**env, "PYTHONPATH": str(tree), "SYMGD_CACHE_DIR": ""},
            )
        try:
            results = _rounds(commands, env, args.rounds)
        finally:
            if args.against:
                subprocess.run(
                    [
                        "git",
                        "-C",
                        str(ROOT),
                        "worktree",
                        "remove",
                        "--force",
                        str(Path(folder) / "against"),
                    ],
                    check=False,
                )
    print(
        f"{args.rounds} rounds, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    medians = {}
    cpus = {}
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        medians[name], cpus[name] = wall, cpu
        spread = f"{min(w for w, _ in runs):.3f}–{max(w for w, _ in runs):.3f}"
        print(f"  {name:<48} median {wall:6.3f} s  (range {spread} s, CPU {cpu:.3f} s)")
    names = list(medians)
    baseline, explain_time, help_ = medians[names[0]], medians[names[1]], medians[names[4]]
    if args.against:
        name = f"explain at {args.against}"
        print(
            f"  explain (nothing kept) now / at {args.against}: wall "
            f"{explain_time / medians[name]:.3f}, CPU {cpus[names[1]] / cpus[name]:.3f}"
        )
    print(
        "  CPU / baseline's CPU: "
        + ", ".join(f"{cpus[n] / cpus[names[0]]:.2f} ({n.strip()})" for n in names[1:4])
    )
    print(
        f"  explain − baseline: {explain_time - baseline:+.3f} s (target ≤ +0.5 s); "
        f"explain ≤ 1.5 s: {'yes' if explain_time <= 1.5 else 'no'}; "
        f"--help ≤ 0.2 s: {'yes' if help_ <= 0.2 else 'no'}"
    )


#: a command line; or one with its environment, and something to do before each run (untimed)
Command = (
    list[str]
    | tuple[list[str], dict[str, str]]
    | tuple[list[str], dict[str, str], Callable[[], None]]
)


def _rounds(
    commands: dict[str, Command], env: dict[str, str], rounds: int
) -> dict[str, list[tuple[float, float]]]:
    """Each command once to warm caches, then ``rounds`` rounds taking turns."""

    def run(command: Command) -> tuple[float, float]:
        if not isinstance(command, tuple):
            return timed(command, env)
        if len(command) == 3:
            command[2]()
        return timed(command[0], command[1])

    for command in commands.values():  # warm the file cache and __pycache__
        run(command)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            results[name].append(run(command))
    return results


if __name__ == "__main__":
    main()
