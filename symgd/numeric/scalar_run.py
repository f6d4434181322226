"""One start on Python floats: fused steps (several per call, from
:func:`symgd.numeric.codegen.build_scalar_stepper`) run in chunks, each chunk checked with the
stop rules and handed to a :class:`~symgd.numeric.path.PathKeeper`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from symgd.base.i18n import _
from symgd.expr.batch import Compiled
from symgd.expr.problem import Problem
from symgd.numeric.codegen import ScalarStepper, build_scalar_stepper
from symgd.numeric.optimizer_spec import Optimizer
from symgd.numeric.path import PathKeeper
from symgd.numeric.results import RUNAWAY, STATUS_CODE, RunResult, Status, diagnose, first_stop

#: iterates the single-start Python loop computes between two checks (bounds its memory)
CHUNK_FLOATS = 1 << 17
_STEPPERS: dict[tuple[Any, ...], ScalarStepper] = {}

#: |∇f|² at which the scalar loop pauses to look at the new points
_GSQ_ALARM = RUNAWAY * RUNAWAY
_CALL_ERRORS = (ArithmeticError, ValueError, TypeError)


def evaluate_points(compiled: Compiled, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f and |∇f| at each row of ``points`` (non-finite where undefined; no warnings)."""
    with np.errstate(all="ignore"):
        values = compiled.value_grad_columns(list(points.T))
        gsq = np.zeros(points.shape[0])
        for component in values[1:]:
            gsq = gsq + component * component
        return np.asarray(values[0], dtype=float), np.sqrt(gsq)


def _stepper(problem: Problem, compiled: Compiled, optimizer: Optimizer) -> ScalarStepper:
    rule = optimizer.rule
    assert rule is not None
    constants = optimizer.constants()
    key = (problem.expr, problem.variables, optimizer.name, rule.structure(constants))
    stepper = _STEPPERS.get(key)
    if stepper is None:
        stepper = build_scalar_stepper(
            problem.variables,
            compiled.gradient,
            rule,
            tuple(constants),
            constants,
            expr=problem.expr,
        )
        if len(_STEPPERS) > 128:
            _STEPPERS.clear()
        _STEPPERS[key] = stepper
    return stepper


def run_scalar(
    problem: Problem,
    compiled: Compiled,
    optimizer: Optimizer,
    x0: np.ndarray,
    steps: int,
    tol: float,
    keep: bool = True,
) -> RunResult:
    """One start on Python floats. The steps run in chunks of at most :data:`CHUNK_FLOATS`
    coordinates; each chunk is checked, then handed to a :class:`PathKeeper` (``keep``: the
    whole path, else a thinned one), so memory stays bounded for any number of steps."""
    stepper = _stepper(problem, compiled, optimizer)
    _fused, single = stepper.bind(optimizer.constants())
    loop = stepper.bind_loop(optimizer.constants())
    rule = optimizer.rule
    assert rule is not None
    n, k = stepper.n, stepper.unroll
    initial = rule.initial(optimizer.hyperparameters)
    vals: tuple[float, ...] = (*map(float, x0), *(v for v in initial for _ in range(n)), 0.0)
    lo = tol * tol
    keeper = PathKeeper(n, keep)
    chunk = max(1, CHUNK_FLOATS // (k * n))  # calls per chunk
    segments: list[np.ndarray] = [np.asarray(x0, dtype=float).reshape(1, n)]
    done = 0  # updates computed so far
    examined = 0  # points before this index have been checked (and handed on)
    stop: int | None = None
    status = Status.MAX_STEPS
    detail = ""
    unchecked = 0  # calls to run without the early alarm, after a false alarm
    quiet = 1
    while True:
        error = False
        alarm = False
        calls = min((steps - done) // k, chunk)
        todo = 0
        if calls:
            before = vals
            outs, vals, event = _fast_calls(loop, vals, calls, (k - 1) * n, lo, unchecked)
            unchecked = max(0, unchecked - len(outs))
            try:
                flat = np.fromiter(itertools.chain.from_iterable(outs), float)
            except TypeError:  # a complex power slipped through: redo these steps one by one
                vals, event, todo = before, "error", len(outs) * k
            else:
                if outs:
                    segments.append(flat.reshape(len(outs), -1)[:, : k * n].reshape(-1, n))
                done += len(outs) * k
            del outs
            error = event == "error"
            alarm = event == "alarm"
        if error or (not calls and done < steps):
            todo = min(todo + k, steps - done) if error else steps - done
            block, vals, failed = _careful_steps(single, vals, todo, n)
            if len(block):
                segments.append(block)
                done += len(block)
            if failed:
                stop, status, detail = done, Status.DIVERGED, _("the arithmetic overflowed")
        points = np.concatenate(segments) if len(segments) > 1 else segments[0]
        segments = []
        fs, gn = evaluate_points(compiled, points)
        first, why = first_stop(points, fs, gn, tol)
        if first is not None and (stop is None or examined + first <= stop):
            stop, status = examined + first, why or Status.DIVERGED
            detail = ""
        upto = len(points) if stop is None else stop - examined + 1
        keeper.add(examined, points[:upto], fs[:upto], gn[:upto])
        examined += len(points)
        if stop is not None or done >= steps:
            break
        if alarm:
            unchecked, quiet = quiet, quiet * 2
    return _scalar_result(keeper, steps if stop is None else stop, status, detail)


def _scalar_result(keeper: PathKeeper, end: int, status: Status, detail: str) -> RunResult:
    """The run that stopped at step ``end`` with ``status`` as a :class:`RunResult` (a
    thinned path comes with its step numbers and last iterates)."""
    kept, xs, fs, gn = keeper.result(end)
    if status is Status.DIVERGED and not detail:
        detail = diagnose(xs[-1], float(fs[-1]), float(gn[-1]))
    thinned = not keeper.whole
    return RunResult(
        xs[:, None, :],
        fs[:, None],
        gn[:, None],
        np.array([end]),
        np.array([STATUS_CODE[status]], dtype=np.int8),
        (detail,),
        kept if thinned else None,
        keeper.tail(end)[:, None, :] if thinned else None,
    )


def _fast_calls(
    loop: Callable[..., bool],
    vals: tuple[float, ...],
    calls: int,
    cut: int,
    lo: float,
    unchecked: int,
) -> tuple[list[tuple[float, ...]], tuple[float, ...], str | None]:
    """Take up to ``calls`` fused steps; pause on an alarm or an arithmetic error.

    The alarm (|∇f|² below tol² or above 1e24, or not a number) is only a cue to look at the
    points so far; the exact checks run on them afterwards. The first ``unchecked`` calls
    raise no alarm (after a false one) unless |∇f|² is not a number.
    """
    outs: list[tuple[float, ...]] = []
    event: str | None = None
    try:
        quiet = min(unchecked, calls)
        if quiet and loop(*vals, quiet, outs.append, -math.inf, math.inf):
            event = "alarm"
        elif calls > quiet:
            if outs:
                vals = outs[-1][cut:-1]
            event = "alarm" if loop(*vals, calls - quiet, outs.append, lo, _GSQ_ALARM) else None
    except _CALL_ERRORS:
        event = "error"
    if outs:
        vals = outs[-1][cut:-1]
    return outs, vals, event


def _careful_steps(
    single: Callable[..., tuple[float, ...]], vals: tuple[float, ...], count: int, n: int
) -> tuple[np.ndarray, tuple[float, ...], bool]:
    """One step per call, checking every value; ``failed`` when a step cannot be computed."""
    points: list[tuple[float, ...]] = []
    for _step in range(count):
        try:
            out = single(*vals)
        except _CALL_ERRORS:
            return _as_block(points, n), vals, True
        if not all(type(v) is float for v in out):
            return _as_block(points, n), vals, True
        points.append(out[:n])
        vals = out[:-1]
    return _as_block(points, n), vals, False


def _as_block(points: list[tuple[float, ...]], n: int) -> np.ndarray:
    return np.array(points, dtype=float).reshape(-1, n)
