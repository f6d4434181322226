"""The batch kernels against bare hand-written kernels, in the same run: point-steps per second.

2-D Rosenbrock, N starts × 200 steps of plain descent, lr 1e-3, starts from
[-1, 1] × [-0.5, 1.5] (seed 0), so every start runs every step. The baselines are written
here: the update alone, no f, no |∇f|, no stop tests, nothing recorded —

- *hand numba*: blocks of rows in parallel (``prange``), each block's rows swept step after
  step in a vectorised loop, the iterate kept in two arrays that stay in L1 cache; and the
  same taking 8 steps per row in registers between loads and stores;
- *hand numpy*: the same blocks of rows in threads (as many as symgd's numpy path uses), the
  update written with in-place operations on preallocated buffers; and, as a second row, the
  same kernel computing f and |∇f|² at every iterate and running symgd's whole-block stop test
  (what exact stop semantics cost numpy, by hand);
- *hand numba, stop tests*: the 8-in-registers kernel folding the stop tests the way symgd's
  chunks do (what the same semantics cost numba, by hand).

symgd's paths are its batch backends as ``descend(..., trajectory=False)`` calls them
(``run_numba`` and ``run_batch``: the run, each start's stop and its last iterates, without the
outcome rules that follow), with ``tol=0`` (every start runs all its steps; the stop tests
still run at every step) and, as a second row, the default ``tol=1e-10``. Rounds take
turns; medians; ratios to the faster hand kernel of the same backend. The machine may be busy
with other work: the load average is printed, and the ratios of one run are the figures that
count.

    python benchmarks/bench_batch_kernel.py [--n 100000] [--rounds 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the working tree's symgd

F_TEXT = "(1 - x)**2 + 100*(y - x**2)**2"
LR = 1e-3
STEPS = 200


def starts(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.column_stack([rng.uniform(-1.0, 1.0, n), rng.uniform(-0.5, 1.5, n)])


def hand_numba(unroll: int) -> Callable[[np.ndarray, np.ndarray, int, float], None]:
    """The bare update, blocks of 2,048 rows in parallel, each block swept step by step
    (``unroll`` 1) or ``unroll`` steps per row at a time in registers."""
    import numba

    @numba.njit(parallel=True, fastmath={"contract"})
    def run(x0: np.ndarray, x1: np.ndarray, steps: int, lr: float) -> None:
        count = x0.shape[0]
        for blk in numba.prange((count + 2047) // 2048):
            lo = blk * 2048
            hi = min(count, lo + 2048)
            a = x0[lo:hi]
            b = x1[lo:hi]
            for _ in range(steps // unroll):
                for r in range(a.shape[0]):
                    u = a[r]
                    w = b[r]
                    for _ in range(unroll):  # a constant count: LLVM unrolls it
                        v = w - u * u
                        u = u - lr * (2.0 * u - 2.0 - 400.0 * v * u)
                        w = w - lr * (200.0 * v)
                    a[r] = u
                    b[r] = w

    return run


def hand_numba_checked(unroll: int) -> Callable[[np.ndarray, np.ndarray, int, float], None]:
    """The 8-in-registers kernel, also computing what the stop rules read at every iterate (f
    and |∇f|²) and folding the tests as symgd's chunks do (|f| + |x| + |y| + 0·|∇f|² summed,
    the least |∇f|² kept), with a row's iterate stored only when its chunk passed: the bare
    kernel with the same stop semantics, by hand (no replay: no start stops here)."""
    import numba

    bound = 1e12

    @numba.njit(parallel=True, fastmath={"contract"})
    def run(x0: np.ndarray, x1: np.ndarray, steps: int, lr: float) -> None:
        count = x0.shape[0]
        limit = bound * (1.0 - 1e-9)
        failed = np.zeros((count + 2047) // 2048, dtype=np.int64)
        for blk in numba.prange((count + 2047) // 2048):
            lo = blk * 2048
            hi = min(count, lo + 2048)
            a = x0[lo:hi]
            b = x1[lo:hi]
            bad = 0
            for _ in range(steps // unroll):
                for r in range(a.shape[0]):
                    u = a[r]
                    w = b[r]
                    total = 0.0
                    low = math.inf
                    for _ in range(unroll):
                        v = w - u * u
                        c = 1.0 - u
                        f = c * c + 100.0 * v * v
                        g0 = -2.0 * c - 400.0 * v * u
                        g1 = 200.0 * v
                        gsq = g0 * g0 + g1 * g1
                        total += abs(f) + gsq * 0.0 + abs(u) + abs(w)
                        low = gsq if gsq < low else low
                        u = u - lr * g0
                        w = w - lr * g1
                    fine = (total <= limit) & (low >= 0.0)
                    if fine:
                        a[r] = u
                        b[r] = w
                    bad += not fine
            failed[blk] = bad
        if failed.sum():
            raise AssertionError("no start stops in this benchmark")

    return run


Kernel = Callable[[np.ndarray, np.ndarray, int, float], None]


def _in_threads(block: Kernel, threads: int) -> Kernel:
    """``block`` run on blocks of 32,768 rows, side by side in ``threads`` threads."""

    def run(x0: np.ndarray, x1: np.ndarray, steps: int, lr: float) -> None:
        count = x0.shape[0]
        per = 32768
        blocks = [(a, min(count, a + per)) for a in range(0, count, per)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(
                pool.map(lambda ab: block(x0[ab[0] : ab[1]], x1[ab[0] : ab[1]], steps, lr), blocks)
            )

    return run


def hand_numpy(threads: int) -> Callable[[np.ndarray, np.ndarray, int, float], None]:
    """The bare update in numpy, in-place, on cache-sized blocks of rows in threads."""

    def block(x0: np.ndarray, x1: np.ndarray, steps: int, lr: float) -> None:
        v, g, w = np.empty_like(x0), np.empty_like(x0), np.empty_like(x0)
        for _ in range(steps):
            np.multiply(x0, x0, out=v)
            np.subtract(x1, v, out=v)  # v = y - x²
            np.multiply(v, x0, out=g)
            np.multiply(g, 400.0 * lr, out=g)
            np.multiply(x0, 1.0 - 2.0 * lr, out=w)
            np.add(g, w, out=g)
            np.add(g, 2.0 * lr, out=x0)  # x ← x(1 − 2η) + 2η + 400η v x
            np.multiply(v, -200.0 * lr, out=v)
            np.add(x1, v, out=x1)  # y ← y − η·200 v

    return _in_threads(block, threads)


def hand_numpy_checked(threads: int) -> Callable[[np.ndarray, np.ndarray, int, float], None]:
    """The same blocks, but each step also computes what symgd's stop rules read at every
    iterate (f, |∇f|²) and runs the whole-block test symgd's numpy path runs (the minimum and
    maximum of f, |∇f|² and each coordinate): the bare kernel with the same stop semantics,
    written by hand with in-place operations and nothing recorded. It only tests; a row that
    would stop is not handled (none does in this benchmark)."""
    bound = 1e12

    def block(x0: np.ndarray, x1: np.ndarray, steps: int, lr: float) -> None:
        v, a, f, g0, g1, t = (np.empty_like(x0) for _ in range(6))
        for _ in range(steps):
            np.multiply(x0, x0, out=v)
            np.subtract(x1, v, out=v)  # v = y - x²
            np.subtract(1.0, x0, out=a)  # a = 1 - x
            np.multiply(a, a, out=f)
            np.multiply(v, v, out=t)
            np.multiply(t, 100.0, out=t)
            np.add(f, t, out=f)  # f = a² + 100 v²
            np.multiply(v, x0, out=g0)
            np.multiply(g0, -400.0, out=g0)
            np.multiply(a, -2.0, out=t)
            np.add(g0, t, out=g0)  # ∂f/∂x = -2a - 400 v x
            np.multiply(v, 200.0, out=g1)  # ∂f/∂y = 200 v
            np.multiply(g0, g0, out=t)
            np.multiply(g1, g1, out=v)
            np.add(t, v, out=t)  # |∇f|²
            if not (
                f.min() >= -bound
                and f.max() <= bound
                and t.max() < np.inf
                and not t.min() < 0.0
                and x0.min() >= -bound
                and x0.max() <= bound
                and x1.min() >= -bound
                and x1.max() <= bound
            ):
                raise AssertionError("no start stops in this benchmark")
            np.multiply(g0, -lr, out=g0)
            np.add(x0, g0, out=x0)
            np.multiply(g1, -lr, out=g1)
            np.add(x1, g1, out=x1)

    return _in_threads(block, threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-numba", action="store_true")
    args = parser.parse_args()

    x0 = starts(args.n)
    work = args.n * STEPS
    timers: dict[str, Callable[[], None]] = {}

    def hand(kernel: Callable[[np.ndarray, np.ndarray, int, float], None]) -> Callable[[], None]:
        def go() -> None:
            a, b = x0[:, 0].copy(), x0[:, 1].copy()
            kernel(a, b, STEPS, LR)

        return go

    from symgd.expr.parser import parse
    from symgd.numeric.batch_run import run_batch
    from symgd.numeric.codegen import compiled_for
    from symgd.numeric.optimizers import make_optimizer

    problem = parse(F_TEXT)
    compiled = compiled_for(problem.expr, problem.variables)
    optimizer = make_optimizer("gd", LR)

    def ours(backend: str, tol: float) -> Callable[[], None]:
        def go() -> None:
            if backend == "numba":
                from symgd.numeric.numba_backend import run_numba

                run = run_numba(problem, compiled, optimizer, x0, STEPS, tol, False)
            else:
                run = run_batch(compiled, optimizer, x0, STEPS, tol, False)
            assert int(run.row_steps.sum()) == work

        return go

    backends = ["numpy"] + ([] if args.no_numba else ["numba"])
    for backend in backends:
        if backend == "numpy":
            timers["hand numpy"] = hand(hand_numpy(args.threads))
            timers["hand numpy, stop tests"] = hand(hand_numpy_checked(args.threads))
        else:
            timers["hand numba"] = hand(hand_numba(1))
            timers["hand numba, 8 in registers"] = hand(hand_numba(8))
            timers["hand numba, 8, stop tests"] = hand(hand_numba_checked(8))
        timers[f"symgd {backend}, tol 0"] = ours(backend, 0.0)
        timers[f"symgd {backend}, tol 1e-10"] = ours(backend, 1e-10)
    for go in timers.values():  # warm up: parse, compile, JIT
        go()
    times: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(args.rounds):
        for name, go in timers.items():
            t0 = time.perf_counter()
            go()
            times[name].append(time.perf_counter() - t0)
    load = os.getloadavg()
    print(
        f"Rosenbrock, N = {args.n} starts × {STEPS} steps of gd, lr {LR}; "
        f"medians of {args.rounds} rounds; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"{'':<26} {'median s':>9}  {'point-steps/s':>13}  {'vs best hand':>12}")
    for name in timers:
        median = statistics.median(times[name])
        backend = name.split()[1].rstrip(",")
        base = min(
            statistics.median(times[h])
            for h in timers
            if h.startswith("hand " + backend) and "stop tests" not in h
        )
        print(f"{name:<26} {median:9.4f}  {work / median:13.3e}  {base / median:12.2f}")


if __name__ == "__main__":
    main()
