"""Single start: symgd's default path against a textbook numerical-gradient descent loop.

2-D Rosenbrock, 10,000 steps of plain descent with lr 1e-3 from (-1.2, 1). The baseline is
the central-difference loop of the usual deep-learning textbook (h = 1e-4, numpy arrays, the
path recorded), run in the same process. Rounds alternate between the two; the medians and
their ratio are printed twice: in the steady state (each round times back-to-back calls for at
least 50 ms and takes the mean, as ``timeit`` does: one textbook loop, dozens of compiled runs)
and as one call per round right after the other loops have run (which adds the cost of cold
caches to a run of a tenth of a millisecond). The first symgd call (parse, differentiate,
compile) is reported separately; the timed rounds reuse the compiled step, as any second run
on f does.

    python benchmarks/bench_single.py [--rounds 7] [--fast]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the working tree's symgd

F_TEXT = "(1 - x)**2 + 100*(y - x**2)**2"
START = (-1.2, 1.0)
LR = 1e-3
STEPS = 10_000


def rosenbrock(x: np.ndarray) -> float:
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2  # type: ignore[no-any-return]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
    return grad


def gradient_descent(
    f: Callable[[np.ndarray], float], init_x: np.ndarray, lr: float, step_num: int
) -> tuple[np.ndarray, np.ndarray]:
    x = init_x.copy()
    x_history = []
    for _ in range(step_num):
        x_history.append(x.copy())
        grad = numerical_gradient(f, x)
        x -= lr * grad
    return x, np.array(x_history)


#: shortest stretch of back-to-back calls timed as one round of the steady-state figures
MIN_ROUND = 0.05


def _calls_per_round(job: Callable[[], None]) -> int:
    """1, 2, 5, 10, 20, ... calls: the first count that takes at least MIN_ROUND seconds."""
    for count in (c * 10**e for e in range(6) for c in (1, 2, 5)):
        t0 = time.perf_counter()
        for _ in range(count):
            job()
        if time.perf_counter() - t0 >= MIN_ROUND:
            return count
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--fast", action="store_true", help="time backend='numba' as well")
    args = parser.parse_args()

    import symgd

    t0 = time.perf_counter()
    first = symgd.descend(F_TEXT, START, lr=LR, steps=STEPS, tol=0.0)
    cold = time.perf_counter() - t0
    backends = ["auto"]
    if args.fast:
        t0 = time.perf_counter()
        fast = symgd.descend(F_TEXT, START, lr=LR, steps=STEPS, tol=0.0, backend="numba")
        cold_fast = time.perf_counter() - t0
        assert np.allclose(fast.xs, first.xs, rtol=1e-9, atol=1e-12)
        backends.append("numba")

    baseline_x, _ = gradient_descent(rosenbrock, np.array(START), LR, STEPS)
    assert np.allclose(baseline_x, first.final, rtol=1e-4), (baseline_x, first.final)

    def textbook() -> None:
        gradient_descent(rosenbrock, np.array(START), LR, STEPS)

    def run_with(backend: str) -> Callable[[], None]:
        return lambda: (
            symgd.descend(F_TEXT, START, lr=LR, steps=STEPS, tol=0.0, backend=backend) and None
        )

    jobs = {"textbook": textbook, **{b: run_with(b) for b in backends}}
    # as timeit does: each round times as many back-to-back calls as fill MIN_ROUND seconds
    # (one call of the textbook loop, dozens of a compiled run) and takes their mean, so a
    # call is measured in the steady state a loop over runs sees, not right after other work
    numbers = {name: _calls_per_round(job) for name, job in jobs.items()}
    steady: dict[str, list[float]] = {name: [] for name in jobs}
    single: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(args.rounds):
        for name, job in jobs.items():
            t0 = time.perf_counter()
            job()
            single[name].append(time.perf_counter() - t0)
        for name, job in jobs.items():
            t0 = time.perf_counter()
            for _ in range(numbers[name]):
                job()
            steady[name].append((time.perf_counter() - t0) / numbers[name])

    print(f"Rosenbrock, {STEPS} steps, lr {LR}, from {START}; medians of {args.rounds} rounds")
    for title, times in (
        ("steady state (timeit-style rounds)", steady),
        ("one call per round, right after the others", single),
    ):
        base = statistics.median(times["textbook"])
        print(f" {title}:")
        print(f"  textbook numerical-gradient loop : {base * 1e3:9.3f} ms")
        for backend in backends:
            median = statistics.median(times[backend])
            label = "symgd default path" if backend == "auto" else "symgd backend='numba'"
            print(
                f"  {label:<33}: {median * 1e3:9.3f} ms   ratio {base / median:7.1f}x "
                f"  ({numbers[backend] if times is steady else 1} call(s) per round)"
            )
    print(f"  first symgd call (parse, derive, compile, run): {cold * 1e3:.0f} ms")
    if args.fast:
        print(f"  first numba call (including JIT compilation): {cold_fast * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
