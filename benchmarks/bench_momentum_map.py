"""What the momentum map adds to a lesson: its section builder (60 × 40 heavy-ball runs of up
to 1,000 steps on the numpy batch path) and its heat-map figure, in process, against the
lesson's rates figure drawn in the same rounds; and a cold ``symgd explain`` with every
section against the same lesson without the map, each in a fresh interpreter.

Target, on the project's 2-core machine: the map adds at most 0.3 s to a cold ``explain``
(computation + figure).

    python benchmarks/bench_momentum_map.py [--rounds 7] [--cold-rounds 5]
        [--expression "x**2+10*y**2"] [--also "(1-x)**2+100*(y-x**2)**2"]

Rounds alternate between the measured pieces, so that background load affects them alike;
medians are reported, and ratios come from the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from timing import timed  # benchmarks/timing.py (scripts run from this folder's path)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cold-rounds", type=int, default=5)
    parser.add_argument("--expression", default="x**2+10*y**2")
    parser.add_argument("--also", action="append", default=None, help="another function")
    args = parser.parse_args()
    expressions = [args.expression, *(args.also or ["(1-x)**2+100*(y-x**2)**2"])]
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for expression in expressions:
        _in_process(expression, args.rounds)
    if args.cold_rounds:
        _cold(args.expression, args.cold_rounds)


def _in_process(expression: str, rounds: int) -> None:
    """The builder and the figure against the rates figure, warm imports, taking turns."""
    os.environ["SYMGD_SERIAL"] = "1"
    from symgd.calculus.derivation import derive
    from symgd.lesson.pipeline import work_lesson
    from symgd.lesson.sections.momentum import momentum_section

    worked = work_lesson(derive(expression), sections="core")
    facts, s = worked.facts, worked.settings
    rates_job = worked.sections["rates"].figures["rates"]
    section = momentum_section(facts, s)
    if section is None:
        print(f"{expression}: no momentum map (the section does not apply)")
        return
    map_job = section.figures["momentum-map"]
    pieces: dict[str, Callable[[], object]] = {
        "momentum_section (60 × 40 runs)": lambda: momentum_section(facts, s),
        "momentum map figure": map_job.draw,
        "rates figure (baseline)": rates_job.draw,
    }
    for piece in pieces.values():  # warm: matplotlib's caches, the lambdified gradient
        piece()
    times: dict[str, list[float]] = {name: [] for name in pieces}
    for _ in range(rounds):
        for name, piece in pieces.items():
            start = time.perf_counter()
            piece()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{expression}: {rounds} rounds, in process")
    for name, t in times.items():
        print(f"  {name:<34} median {medians[name]:.3f} s  (range {min(t):.3f}–{max(t):.3f} s)")
    build, draw, rates = medians.values()
    print(
        f"  builder + figure: {build + draw:.3f} s (target ≤ 0.3 s); "
        f"map figure / rates figure: {draw / rates:.2f}"
    )


def _cold(expression: str, rounds: int) -> None:
    """``symgd explain`` with every section against the same without the momentum map."""
    from symgd.lesson.pipeline import SECTION_IDS

    # nothing kept from earlier runs (templates, formulas), and .pyc files as pip leaves them
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYMGD_CACHE_DIR": ""}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("SYMGD_SERIAL", None)
    without = ",".join(sid for sid in SECTION_IDS if sid != "momentum")
    with tempfile.TemporaryDirectory() as folder:
        base = [sys.executable, "-m", "symgd", "explain", expression, "-o", folder]
        commands = {
            "explain, every section": [*base, "--sections", "all"],
            "explain, all but the momentum map": [*base, "--sections", without],
        }
        for command in commands.values():  # warm the file cache and __pycache__
            timed(command, env)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                results[name].append(timed(command, env))
    print(f"cold `symgd explain {expression!r}`: {rounds} rounds, fresh interpreters")
    medians = []
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        medians.append(wall)
        spread = f"{min(w for w, _ in runs):.3f}–{max(w for w, _ in runs):.3f}"
        print(f"  {name:<36} median {wall:6.3f} s  (range {spread} s, CPU {cpu:.3f} s)")
    added = medians[0] - medians[1]
    print(f"  the map adds {added:+.3f} s (target ≤ +0.3 s): {'yes' if added <= 0.3 else 'no'}")


if __name__ == "__main__":
    main()
