"""The numba batch kernel's chunks (several steps per row between looks at the stop tests, a
replay to find the exact step) against the same kernel taking one step at a time, and the
stop steps against a loop written here."""

from __future__ import annotations

import numpy as np
import pytest

from symgd.expr.parser import parse
from symgd.numeric.codegen import compiled_for
from symgd.numeric.optimizers import make_optimizer
from symgd.numeric.results import RUNAWAY, STATUS_CODE, RunResult, Status

numba_backend = pytest.importorskip("symgd.numeric.numba_backend")
pytest.importorskip("numba")

STEPS = 150


def _starts() -> np.ndarray:
    """Starts of x² + 3y² with lr 0.34: |1 − 6η| = 1.04, so y grows by 4 % a step and runs
    past 1e12 after a number of steps set by its size (small ones use the whole budget);
    y = 0 rows converge instead, at a step set by x's size."""
    rng = np.random.default_rng(3)
    count = 3000
    x = rng.uniform(-3.0, 3.0, count) * 10.0 ** rng.uniform(-8.0, 2.0, count)
    y = rng.uniform(-1.0, 1.0, count) * 10.0 ** rng.uniform(-6.0, 12.0, count)
    y[::3] = 0.0  # these converge: x shrinks by |1 − 2η| = 0.32 a step
    return np.column_stack([x, y])


def _run(
    text: str, method: str, lr: float, starts: np.ndarray, tol: float, unroll: int
) -> RunResult:
    problem = parse(text)
    compiled = compiled_for(problem.expr, problem.variables)
    saved = numba_backend.UNROLL
    numba_backend.UNROLL = unroll
    try:
        result: RunResult = numba_backend.run_numba(
            problem, compiled, make_optimizer(method, lr), starts, STEPS, tol, False
        )
        return result
    finally:
        numba_backend.UNROLL = saved


def _same(a: RunResult, b: RunResult) -> None:
    np.testing.assert_array_equal(a.row_steps, b.row_steps)
    np.testing.assert_array_equal(a.row_codes, b.row_codes)
    for name in ("xs", "fs", "grad_norms", "tail"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def _own_gd_quadratic(starts: np.ndarray, lr: float, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Plain descent on x² + 3y², row by row, with the stop rules written out."""
    steps, codes = [], []
    for x, y in starts:
        for k in range(STEPS + 1):
            f, gx, gy = x * x + 3 * y * y, 2 * x, 6 * y
            gsq = gx * gx + gy * gy
            if not (abs(f) <= RUNAWAY and abs(x) <= RUNAWAY and abs(y) <= RUNAWAY and gsq < np.inf):
                status = Status.DIVERGED
            elif gsq < tol * tol:
                status = Status.CONVERGED
            elif k == STEPS:
                status = Status.MAX_STEPS
            else:
                x, y = x - lr * gx, y - lr * gy
                continue
            steps.append(k)
            codes.append(STATUS_CODE[status])
            break
    return np.array(steps), np.array(codes)


def test_chunks_stop_where_single_steps_stop_bit_for_bit() -> None:
    starts = _starts()
    chunked = _run("x**2 + 3*y**2", "gd", 0.34, starts, 1e-6, 8)
    single = _run("x**2 + 3*y**2", "gd", 0.34, starts, 1e-6, 1)
    _same(chunked, single)
    steps, codes = _own_gd_quadratic(starts, 0.34, 1e-6)
    np.testing.assert_array_equal(chunked.row_steps, steps)
    np.testing.assert_array_equal(chunked.row_codes, codes)
    # every kind of stop, at many steps, most of them inside a chunk (chunks start at 1, 9, ...)
    for status in (Status.CONVERGED, Status.DIVERGED, Status.MAX_STEPS):
        assert (chunked.row_codes == STATUS_CODE[status]).any(), status
    early = chunked.row_steps[chunked.row_steps < STEPS - 16]
    assert len(np.unique(early)) > 40 and len(np.unique((early - 1) % 8)) == 8


def test_overflow_and_the_domain_stop_at_the_same_steps() -> None:
    rng = np.random.default_rng(5)
    # ascent on exp(x) jumps past 1e12 and, from x > 709, to an infinite f and ∇f;
    # log(x) leaves its domain (NaN) when a step jumps below 0
    cases = [
        (
            "exp(x) + y**2",
            np.column_stack([rng.uniform(-5.0, 20.0, 2000), rng.normal(size=2000)]),
            -0.05,
        ),
        (
            "log(x) + y**2",
            np.column_stack([rng.uniform(0.01, 3.0, 2000), rng.normal(size=2000)]),
            0.02,
        ),
    ]
    for text, starts, lr in cases:
        method = "ascent" if lr < 0 else "gd"
        chunked = _run(text, method, abs(lr), starts, 1e-9, 8)
        single = _run(text, method, abs(lr), starts, 1e-9, 1)
        _same(chunked, single)
        stopped = chunked.row_codes == STATUS_CODE[Status.DIVERGED]
        assert stopped.any() and len(np.unique(chunked.row_steps[stopped])) > 3, text


def test_momentum_stops_where_single_steps_stop_bit_for_bit() -> None:
    starts = _starts()[:1500] * 1e-3
    chunked = _run("x**2 + 3*y**2", "momentum", 0.3, starts, 1e-4, 8)
    single = _run("x**2 + 3*y**2", "momentum", 0.3, starts, 1e-4, 1)
    _same(chunked, single)
    assert len(np.unique(chunked.row_steps)) > 5
