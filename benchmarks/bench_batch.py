"""Batch: N starts × 200 steps of plain descent on 2-D Rosenbrock, point-steps per second.

Starts are drawn uniformly from [-1, 1] × [-0.5, 1.5] (seed 0), where lr 1e-3 is stable, so
every start runs all 200 steps; the count reported is the number of updates actually taken.
``keep_path=False`` keeps only each start's final point (the full path of 10⁶ starts would
need 3.2 GB); ``--keep-path`` times the default, path-keeping mode for N ≤ 10⁵.

    python benchmarks/bench_batch.py [--max-n 1000000] [--rounds 3] [--fast] [--keep-path]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the working tree's symgd

F_TEXT = "(1 - x)**2 + 100*(y - x**2)**2"
LR = 1e-3
STEPS = 200


def starts(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.column_stack([rng.uniform(-1.0, 1.0, n), rng.uniform(-0.5, 1.5, n)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fast", action="store_true", help="time backend='numba' as well")
    parser.add_argument("--keep-path", action="store_true", help="also time keep_path=True")
    args = parser.parse_args()

    import symgd

    modes: list[tuple[str, str, bool]] = [("numpy", "numpy", False)]
    if args.keep_path:
        modes.append(("numpy, path kept", "numpy", True))
    if args.fast:
        modes.append(("numba", "numba", False))
    for _label, backend, keep in modes:  # warm up: parse, compile, JIT
        symgd.descend(F_TEXT, starts(64), lr=LR, steps=5, backend=backend, keep_path=keep)
    print(f"Rosenbrock, {STEPS} steps of gd, lr {LR}; medians of {args.rounds} rounds")
    print(f"{'N':>9}  {'mode':<18} {'seconds':>9}  {'point-steps/s':>14}")
    n = 1000
    while n <= args.max_n:
        x0 = starts(n)
        for label, backend, keep in modes:
            if keep and n > 100_000:
                continue
            times = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                run = symgd.descend(
                    F_TEXT, x0, lr=LR, steps=STEPS, tol=0.0, backend=backend, keep_path=keep
                )
                times.append(time.perf_counter() - t0)
            assert run.row_steps is not None
            updates = int(run.row_steps.sum())
            assert updates == n * STEPS, "a start stopped early; the count would flatter"
            median = statistics.median(times)
            print(f"{n:>9}  {label:<18} {median:9.4f}  {updates / median:14.3e}")
        n *= 10


if __name__ == "__main__":
    main()
