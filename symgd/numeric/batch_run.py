"""Batches of starts (and Newton's method) with numpy: the starts split into cache-sized blocks
run side by side in threads; a first-order method takes one generated step per iteration
(:func:`symgd.numeric.codegen.step_with_value`), Newton the optimizer's own update. Every start
stops on its own. A batch that keeps only its start and final points also keeps each start's
last :data:`~symgd.numeric.results.TAIL_POINTS` iterates (written in the last steps only), for
the outcome of the starts that use the whole budget."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from symgd.expr.batch import Compiled
from symgd.numeric.codegen import step_with_value
from symgd.numeric.optimizer_spec import Optimizer, OptState
from symgd.numeric.path import PathKeeper
from symgd.numeric.results import (
    RUNAWAY,
    STATUS_CODE,
    RunResult,
    Status,
    tail_length,
)

#: most threads the numpy batch path uses (one block of starts each)
MAX_THREADS = 8

#: a numpy run of at most this many point-steps uses the optimizer's update directly
SHORT_UNFUSED = 1000


def _block_rows(n: int, buffers: int) -> int:
    """Starts per block: the arrays of one step (coordinates, buffers and temporaries) stay
    within a core's L2 cache, where numpy's passes run several times faster than from memory."""
    return max(2048, min(32768, 262144 // (n * (buffers + 1) + 6)))


_BATCH_STEPS: dict[tuple[Any, ...], Callable[..., tuple[Any, ...]]] = {}


def _fused_key(compiled: Compiled, optimizer: Optimizer) -> tuple[Any, ...]:
    rule = optimizer.rule
    if rule is None:
        return ()
    constants = optimizer.constants()
    return (compiled.expr, compiled.variables, optimizer.name, rule.structure(constants))


def _batch_step(compiled: Compiled, optimizer: Optimizer) -> Callable[..., tuple[Any, ...]]:
    rule = optimizer.rule
    assert rule is not None and compiled.expr is not None
    constants = optimizer.constants()
    key = _fused_key(compiled, optimizer)
    step = _BATCH_STEPS.get(key)
    if step is None:
        step = step_with_value(
            compiled.variables,
            compiled.expr,
            compiled.gradient,
            rule,
            tuple(constants),
            constants,
            vectorised=True,
        )
        if len(_BATCH_STEPS) > 128:
            _BATCH_STEPS.clear()
        _BATCH_STEPS[key] = step
    return step


class _Path(NamedTuple):
    """f, |∇f| and the iterates a batch keeps: every step's (``(S + 1, N, ...)``), or the
    start's and the final one (two rows)."""

    xs: np.ndarray
    fs: np.ndarray
    gn: np.ndarray


class _Stops(NamedTuple):
    """Each start's stop: the step, the status code, and x, f and |∇f| there."""

    row_steps: np.ndarray
    row_codes: np.ndarray
    final_x: np.ndarray
    final_f: np.ndarray
    final_g: np.ndarray


@dataclass(frozen=True)
class _BatchJob:
    """What the blocks of one batch share: the run's settings and the arrays they fill."""

    steps: int
    tol: float
    keep_path: bool
    path: _Path
    stops: _Stops
    keeper: PathKeeper | None  # one start without its whole path: its thinned path
    tail: np.ndarray | None  # (T, N, n): the last iterates, when the path is not kept

    @property
    def first_recent(self) -> int:
        """The first step whose iterate goes into ``tail``."""
        return self.steps + 1 - (0 if self.tail is None else len(self.tail))


def run_batch(
    compiled: Compiled,
    optimizer: Optimizer,
    starts: np.ndarray,
    steps: int,
    tol: float,
    keep_path: bool,
) -> RunResult:
    """Run ``optimizer`` from each row of ``starts`` (see the module docstring)."""
    count, n = starts.shape
    rule = optimizer.rule
    job = _allocate(starts, steps, tol, keep_path)
    workers, blocks = _split(count, _block_rows(n, 0 if rule is None else len(rule.buffers)))
    # a short single run takes the optimizer's own numpy update: generating the fused step
    # would cost more than it saves (a second or more for a hundred variables)
    short = count * steps <= SHORT_UNFUSED and _fused_key(compiled, optimizer) not in _BATCH_STEPS
    step = None if rule is None or short else _batch_step(compiled, optimizer)

    def run(block: tuple[int, int]) -> None:
        a, b = block
        with np.errstate(all="ignore"):  # per thread: numpy's error state is thread-local
            if step is None:
                _run_block(compiled, optimizer, starts[a:b], a, job)
            else:
                _run_block_fused(step, optimizer, starts[a:b], a, job)

    if optimizer.needs_hessian:
        with np.errstate(all="ignore"):
            compiled.hessian_at(starts[:1])  # build the lazy Hessian before threads share it
    if workers > 1:
        # numpy releases the GIL inside each operation, so blocks run side by side
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, blocks))
    else:
        for block in blocks:
            run(block)
    return _batch_result(job, starts)


def _allocate(starts: np.ndarray, steps: int, tol: float, keep_path: bool) -> _BatchJob:
    """The arrays a batch fills: each start runs the whole budget until it stops."""
    count, n = starts.shape
    length = steps + 1 if keep_path else 2
    # one start without its whole path: a thinned path, kept as the run goes
    keeper = PathKeeper(n, False) if count == 1 and not keep_path else None
    recent = 0 if keep_path or keeper is not None else tail_length(steps, count, n)
    stops = _Stops(
        np.full(count, steps, dtype=np.int64),
        np.full(count, STATUS_CODE[Status.MAX_STEPS], dtype=np.int8),
        starts.copy(),
        np.empty(count),
        np.empty(count),
    )
    path = _Path(np.empty((length, count, n)), np.empty((length, count)), np.empty((length, count)))
    tail = np.full((recent, count, n), np.nan) if recent else None
    return _BatchJob(steps, tol, keep_path, path, stops, keeper, tail)


def _split(count: int, rows: int) -> tuple[int, list[tuple[int, int]]]:
    """The threads to use and the blocks ``(first, end)`` of at most about ``rows`` starts."""
    workers = min(-(-count // rows), os.cpu_count() or 1, MAX_THREADS)
    # equal blocks, as many per thread: no thread waits on a last, longer block
    per = -(-count // (workers * -(-count // (rows * workers))))
    return workers, [(a, min(count, a + per)) for a in range(0, count, per)]


def _batch_result(job: _BatchJob, starts: np.ndarray) -> RunResult:
    """The filled arrays as a :class:`RunResult` (a start that stopped early repeats its last
    point in a kept path)."""
    row_steps, row_codes, final_x, final_f, final_g = job.stops
    xs, fs, gn = job.path
    longest = int(row_steps.max())
    keeper = job.keeper
    if keeper is not None:
        kept, path_x, path_f, path_g = keeper.result(longest)
        return RunResult(
            path_x[:, None, :],
            path_f[:, None],
            path_g[:, None],
            row_steps,
            row_codes,
            (),
            kept,
            keeper.tail(longest)[:, None, :],
        )
    if job.keep_path:
        xs, fs, gn = xs[: longest + 1], fs[: longest + 1], gn[: longest + 1]
        for s in np.unique(row_steps[row_steps < longest]):
            which = np.flatnonzero(row_steps == s)
            xs[s + 1 :, which] = xs[s, which]
            fs[s + 1 :, which] = fs[s, which]
            gn[s + 1 :, which] = gn[s, which]
    else:
        xs[0], xs[1] = starts, final_x
        fs[1], gn[1] = final_f, final_g
    return RunResult(xs, fs, gn, row_steps, row_codes, tail=job.tail)


def _run_block(
    compiled: Compiled, optimizer: Optimizer, starts: np.ndarray, offset: int, job: _BatchJob
) -> None:
    """Any method (Newton included) on a block of starts, with the optimizer's own update."""
    steps, keep_path, keeper, tail, out = job.steps, job.keep_path, job.keeper, job.tail, job.stops
    xs, fs, gn = job.path
    first_recent = job.first_recent
    x = np.array(starts.T, order="C")  # (n, B): one row per coordinate
    index = np.arange(offset, offset + starts.shape[0])
    full = True  # every row of the block still running
    state: OptState = optimizer.init(starts if optimizer.needs_hessian else x)
    tol2 = job.tol * job.tol
    bound2 = RUNAWAY * RUNAWAY
    for k in range(steps + 1):
        values = compiled.value_grad_columns(list(x))
        f = values[0]
        grads = np.stack(values[1:])
        gsq = np.einsum("ij,ij->j", grads, grads)
        if keeper is not None:
            keeper.add_one(k, x[:, 0], float(f[0]), math.sqrt(gsq[0]))
        if keep_path:
            where = slice(index[0], index[-1] + 1) if full else index
            xs[k, where] = x.T
            fs[k, where] = f
            gn[k, where] = np.sqrt(gsq)
        elif k == 0:
            fs[0, index] = f
            gn[0, index] = np.sqrt(gsq)
        if tail is not None and k >= first_recent:
            tail[k - first_recent, index] = x.T
        # whole-block test first (NaN fails every comparison); per-row work only when needed
        xsq = np.einsum("ij,ij->j", x, x)
        calm = (
            f.min() >= -RUNAWAY
            and f.max() <= RUNAWAY
            and xsq.max() <= bound2
            and gsq.max() < math.inf
            and not gsq.min() < tol2
            and k < steps
        )
        stopped = None if calm else _flag_rows(f, xsq, gsq, tol2, k == steps)
        step = None
        if stopped is None or not stopped.all():
            if optimizer.needs_hessian:
                hessian = compiled.hessian_at(x.T)
                step_t, state = optimizer.update(grads.T, state, x.T, hessian=hessian)
                step = step_t.T
                singular = state.singular
                if singular is not None and singular.any():
                    stopped = np.zeros(len(index), bool) if stopped is None else stopped
                    _stop_rows(singular & ~stopped, Status.SINGULAR, k, x, f, gsq, index, out)
                    stopped = stopped | singular
            else:
                step, state = optimizer.update(grads, state, x)
        if stopped is not None and stopped.any():
            _classify_stops(stopped, k, k == steps, x, f, gsq, tol2, index, out)
            if state.singular is not None:
                stopped = stopped | state.singular
            if stopped.all():
                return
            keep = ~stopped
            x, index, full = x[:, keep], index[keep], False
            step = None if step is None else step[:, keep]
            state = _compact(state, keep, optimizer.needs_hessian)
        if step is None:
            return
        x += step


def _flag_rows(
    f: np.ndarray, xsq: np.ndarray, gsq: np.ndarray, tol2: float, last: bool
) -> np.ndarray:
    """The rows the cheap test flags as stopping (every row at the ``last`` step)."""
    bound2 = RUNAWAY * RUNAWAY
    with np.errstate(invalid="ignore"):
        stopped: np.ndarray = ~(
            (np.abs(f) <= RUNAWAY) & (xsq <= bound2) & (gsq < math.inf) & (gsq >= tol2)
        )
    if last:
        stopped[:] = True
    return stopped


def _run_block_fused(
    step: Callable[..., tuple[Any, ...]],
    optimizer: Optimizer,
    starts: np.ndarray,
    offset: int,
    job: _BatchJob,
) -> None:
    """A first-order method on a block of starts: one generated numpy step per iteration
    (∇f, f, |∇f|² and the update in one function, intermediate results shared)."""
    steps, keep_path, keeper, tail = job.steps, job.keep_path, job.keeper, job.tail
    xs, fs, gn = job.path
    first_recent = job.first_recent
    rule = optimizer.rule
    assert rule is not None
    count, n = starts.shape
    x = [np.array(starts[:, i]) for i in range(n)]
    buffers = [
        np.full(count, value) for value in rule.initial(optimizer.hyperparameters) for _ in range(n)
    ]
    consts = list(optimizer.constants().values())
    index = np.arange(offset, offset + count)
    full = True  # every row of the block still running
    tol2 = job.tol * job.tol
    t: Any = 0.0
    for k in range(steps + 1):
        result = step(*x, *buffers, t, *consts)
        rows = len(index)
        f = _as_rows(result[-1], rows)
        gsq = _as_rows(result[-2], rows)
        if keeper is not None:
            keeper.add_one(
                k, np.array([np.ravel(xi)[0] for xi in x]), float(f[0]), math.sqrt(gsq[0])
            )
        if keep_path:
            where = slice(index[0], index[-1] + 1) if full else index
            for i, xi in enumerate(x):
                xs[k, where, i] = xi
            fs[k, where] = f
            gn[k, where] = np.sqrt(gsq)
        elif k == 0:
            fs[0, index] = f
            gn[0, index] = np.sqrt(gsq)
        if tail is not None and k >= first_recent:
            rows_now = slice(index[0], index[-1] + 1) if full else index
            for i, xi in enumerate(x):
                tail[k - first_recent, rows_now, i] = xi
        # whole-block test first (min and max are NaN when any value is); rows only if needed
        calm = (
            f.min() >= -RUNAWAY
            and f.max() <= RUNAWAY
            and gsq.max() < math.inf
            and not gsq.min() < tol2
            and k < steps
            and all(xi.min() >= -RUNAWAY and xi.max() <= RUNAWAY for xi in x)
        )
        if not calm:
            stopped = _settle_rows(x, f, gsq, tol2, k, k == steps, index, job.stops)
            if stopped.all():
                return
            if stopped.any():
                keep = ~stopped
                index, full = index[keep], False
                result = tuple(v[keep] if np.ndim(v) else v for v in result)
        x = list(result[:n])
        buffers = list(result[n : n + len(buffers)])
        t = result[n + len(buffers)]


def _settle_rows(
    x: list[np.ndarray],
    f: np.ndarray,
    gsq: np.ndarray,
    tol2: float,
    k: int,
    last: bool,
    index: np.ndarray,
    out: _Stops,
) -> np.ndarray:
    """Stop the rows of a fused block that must stop at step ``k`` (every row at the
    ``last`` step); the mask of the rows that stopped."""
    stacked = np.stack(x)
    with np.errstate(invalid="ignore"):
        stopped: np.ndarray = ~(
            (np.abs(f) <= RUNAWAY)
            & (np.abs(stacked) <= RUNAWAY).all(axis=0)
            & (gsq < math.inf)
            & (gsq >= tol2)
        )
    if last:
        stopped[:] = True
    if stopped.any():
        _classify_stops(stopped, k, last, stacked, f, gsq, tol2, index, out)
    return stopped


def _as_rows(value: Any, rows: int) -> np.ndarray:
    """A per-row array of ``value`` (a generated step returns a constant as a scalar)."""
    array = np.asarray(value, dtype=float)
    return array if array.ndim else np.full(rows, float(array))


def _classify_stops(
    stopped: np.ndarray,
    k: int,
    last: bool,
    x: np.ndarray,
    f: np.ndarray,
    gsq: np.ndarray,
    tol2: float,
    index: np.ndarray,
    out: _Stops,
) -> None:
    """Record why each flagged row stops (rows flagged only by ``last`` hit max_steps)."""
    flagged = np.flatnonzero(stopped)
    xf = x[:, flagged]
    with np.errstate(invalid="ignore"):
        bad = (
            ~np.isfinite(xf).all(axis=0)
            | (np.abs(xf) > RUNAWAY).any(axis=0)
            | ~np.isfinite(f[flagged])
            | (np.abs(f[flagged]) > RUNAWAY)
            | ~np.isfinite(gsq[flagged])
        )
        converged = ~bad & (gsq[flagged] < tol2)
    others = ~(bad | converged)
    for mask, status in (
        (bad, Status.DIVERGED),
        (converged, Status.CONVERGED),
        (others if last else np.zeros_like(others), Status.MAX_STEPS),
    ):
        picked = np.zeros_like(stopped)
        picked[flagged[mask]] = True
        _stop_rows(picked, status, k, x, f, gsq, index, out)
    # a row flagged by the cheap test but fine on the exact one keeps running
    stopped[flagged[others]] = last


def _stop_rows(
    mask: np.ndarray,
    status: Status,
    k: int,
    x: np.ndarray,
    f: np.ndarray,
    gsq: np.ndarray,
    index: np.ndarray,
    out: _Stops,
) -> None:
    if not mask.any():
        return
    row_steps, row_codes, final_x, final_f, final_g = out
    rows = index[mask]
    row_steps[rows] = k
    row_codes[rows] = STATUS_CODE[status]
    final_x[rows] = x[:, mask].T
    final_f[rows] = f[mask]
    final_g[rows] = np.sqrt(gsq[mask])


def _compact(state: OptState, keep: np.ndarray, rows_first: bool) -> OptState:
    if rows_first:
        return OptState(state.step, tuple(b[keep] for b in state.buffers), None)
    return OptState(state.step, tuple(b[:, keep] for b in state.buffers), state.singular)
