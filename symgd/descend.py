"""Run an optimizer on f from one start or many: ``descend(f, start, ...) -> Trajectory``.

``f`` is text (parsed by :func:`symgd.parse`), a SymPy expression, a :class:`Problem` or a
:class:`~symgd.derive.Derivation`. ``start`` is one point (a sequence in the order of the
variables, a mapping ``{name: value}``, or a number when there is one variable) or a batch of
shape ``(N, n)``; with one variable a 1-D array of N values is a batch of N starts.

At each iterate x_k the run evaluates f and ∇f, then stops with

- ``converged`` when |∇f(x_k)| < ``tol`` (default 1e-10);
- ``diverged`` at the first iterate where x_k, f or ∇f is not finite, or |x_i| or |f| exceeds
  :data:`RUNAWAY` (1e12), or the arithmetic overflows; ``diverged_at`` is that k;
- ``singular`` (Newton only) when the Hessian at x_k is singular (condition number > 1e15);
- ``max_steps`` after ``steps`` updates.

``reason`` says what happened, with numbers; for a diverged single run ``detail`` names the
cause (``|f| exceeded 1e12``, ``f is no longer a finite number``, ...).

``Trajectory.steps`` counts the updates taken, so ``xs`` holds ``steps + 1`` points (for a
diverged run, the last is the runaway iterate); ``fs`` and ``grad_norms`` match ``xs``. No
numpy warning escapes: a run that blows up is a result, not an error.

Backends: ``"python"`` (single start, the default for every method but Newton) runs a fused
scalar step compiled from ∇f and the update rule, several steps per call; ``"numpy"`` (the
default for batches and Newton) vectorises over starts; ``"numba"`` compiles the whole loop
(``pip install symgd[fast]``, imported only when asked for). All give the same numbers up to
rounding. Compiled functions are cached per expression, so repeated runs on one f are cheap.

In a batch every start runs as if alone and stops on its own; ``row_steps``/``row_status``
give each start's outcome, ``steps`` is the longest, ``status`` the most severe outcome
(diverged, singular, max_steps, converged in that order) and ``diverged_at`` the earliest
divergence. Stopped starts repeat their last point in ``xs``.

``keep_path=False`` keeps only the start and the final point (``xs`` of shape ``(2, N, n)``,
``path_kept`` false). By default (``None``) a single run keeps its whole path, and a batch does
when ``xs`` would hold at most 10⁷ floats (80 MB); larger batches keep start and final only.
"""

from __future__ import annotations

import enum
import html
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from symgd.compile import (
    Compiled,
    ScalarStepper,
    build_scalar_stepper,
    compiled_for,
    step_with_value,
)
from symgd.errors import InputError
from symgd.optim import Optimizer, OptState, make_optimizer
from symgd.parse import Problem, parse

#: |x_i| or |f| beyond this counts as a runaway iterate
RUNAWAY = 1e12
#: the default tolerance on |∇f|
DEFAULT_TOL = 1e-10
#: most updates one run may take
MAX_STEPS = 10_000_000
_BOUND = "1e12"
#: by default a batch keeps its whole path only up to this many floats in xs (80 MB)
AUTO_PATH_FLOATS = 10_000_000
#: most floats a kept path may hold (xs, 480 MB); beyond it pass keep_path=False
MAX_PATH_FLOATS = 60_000_000
BACKENDS = ("auto", "python", "numpy", "numba")
#: most threads the numpy batch path uses (one block of starts each)
MAX_THREADS = 8


class Status(enum.Enum):
    """Why a run stopped."""

    CONVERGED = "converged"
    MAX_STEPS = "max_steps"
    DIVERGED = "diverged"
    SINGULAR = "singular"

    @property
    def message(self) -> str:
        """What the status means, in plain words, with the usual remedy."""
        return _MESSAGES[self]


_MESSAGES = {
    Status.CONVERGED: "converged: the gradient norm fell below the tolerance",
    Status.MAX_STEPS: "stopped after the maximum number of steps before the gradient norm fell "
                      "below the tolerance; allow more steps or adjust the learning rate",
    Status.DIVERGED: "diverged: the iterates ran away (a value became infinite or larger than "
                     "1e12); lower the learning rate, or the function may be unbounded below",
    Status.SINGULAR: "stopped: the Hessian is singular, so Newton's step is undefined there",
}

#: batch outcome codes, most severe first
STATUS_ORDER: tuple[Status, ...] = (
    Status.DIVERGED, Status.SINGULAR, Status.MAX_STEPS, Status.CONVERGED,
)
_CODE = {status: code for code, status in enumerate(STATUS_ORDER)}


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The iterates of one run (or a batch of runs) with f, |∇f| and how the run ended."""

    variables: tuple[str, ...]
    method: str
    lr: float
    hyperparameters: dict[str, float]
    xs: np.ndarray = field(repr=False)
    fs: np.ndarray = field(repr=False)
    grad_norms: np.ndarray = field(repr=False)
    status: Status
    diverged_at: int | None
    steps: int
    tol: float = DEFAULT_TOL
    reason: str = ""
    row_steps: np.ndarray | None = field(default=None, repr=False)
    row_codes: np.ndarray | None = field(default=None, repr=False)
    path_kept: bool = True
    detail: str = ""

    @property
    def is_batch(self) -> bool:
        """True when the run started from a batch of points."""
        return self.xs.ndim == 3

    @property
    def start(self) -> np.ndarray:
        """The start point (``(n,)``, or ``(N, n)`` for a batch)."""
        return self.xs[0]

    @property
    def final(self) -> np.ndarray:
        """The last iterate (``(n,)``, or ``(N, n)`` for a batch)."""
        return self.xs[-1]

    @property
    def f_final(self) -> Any:
        """f at the last iterate."""
        return self.fs[-1] if self.is_batch else float(self.fs[-1])

    @property
    def grad_norm_final(self) -> Any:
        """|∇f| at the last iterate."""
        return self.grad_norms[-1] if self.is_batch else float(self.grad_norms[-1])

    @property
    def message(self) -> str:
        """The status in words followed by the specifics of this run."""
        return f"{self.status.message}. {self.reason}." if self.reason else self.status.message

    def row_status(self) -> list[Status]:
        """Each start's status (a one-element list for a single run)."""
        if self.row_codes is None:
            return [self.status]
        return [STATUS_ORDER[int(code)] for code in self.row_codes]

    def to_dict(self, trajectory: bool = False) -> dict[str, Any]:
        """The ``symgd descend --json`` shape (plain floats; ``trajectory`` adds every point)."""
        if self.is_batch:
            raise ValueError("to_dict describes a single run; index a batch by row first")
        names = self.variables
        payload: dict[str, Any] = {
            "method": self.method,
            "lr": float(self.lr),
            "hyperparameters": {k: float(v) for k, v in self.hyperparameters.items()},
            "status": self.status.value,
            "steps": int(self.steps),
            "variables": list(names),
            "start": {k: float(v) for k, v in zip(names, self.xs[0], strict=True)},
            "final": {k: float(v) for k, v in zip(names, self.xs[-1], strict=True)},
            "f": float(self.fs[-1]),
            "grad_norm": float(self.grad_norms[-1]),
            "diverged_at": self.diverged_at,
        }
        if trajectory:
            payload["trajectory"] = [[float(v) for v in point] for point in self.xs]
        return payload

    def _repr_html_(self) -> str:
        e = html.escape
        if self.is_batch:
            return (f"<p>{e(self.method)}, η = {self.lr:g}: {len(self.xs[0])} starts, "
                    f"{e(self.status.value)}. {e(self.reason)}</p>")
        rows = "".join(
            f"<tr><td>{e(name)}</td><td>{self.xs[0][i]:.6g}</td><td>{self.xs[-1][i]:.6g}</td>"
            "</tr>" for i, name in enumerate(self.variables))
        return (f"<p><b>{e(self.method)}</b>, η = {self.lr:g}, {self.steps} steps: "
                f"<b>{e(self.status.value)}</b>. {e(self.reason)}</p>"
                f"<table><tr><th></th><th>start</th><th>final</th></tr>{rows}</table>"
                f"<p>f = {self.fs[-1]:.6g}, |∇f| = {self.grad_norms[-1]:.3g}</p>")


# -- entry point ------------------------------------------------------------------------------

def descend(
    f: Any,
    start: Any,
    *,
    method: str = "gd",
    lr: float | None = None,
    steps: int = 100,
    tol: float = DEFAULT_TOL,
    variables: Sequence[str] | None = None,
    backend: str = "auto",
    keep_path: bool | None = None,
    **hyper: float,
) -> Trajectory:
    """Run ``method`` on ``f`` from ``start`` (see the module docstring for the details).

    ``lr=None`` uses 0.1 (1 for Newton). ``hyper`` are the optimizer's hyperparameters
    (``momentum``, ``beta1``, ``beta2``, ``eps``, ``alpha``, ``lr_decay``,
    ``initial_accumulator_value``). Bad input raises :class:`~symgd.errors.InputError`.
    """
    problem = _problem(f, variables)
    optimizer = make_optimizer(method, lr, **hyper)
    n_steps = _check_steps(steps)
    tolerance = _check_tol(tol)
    points, batch = _start_points(start, problem)
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    compiled = compiled_for(problem.expr, problem.variables)
    chosen = backend
    if backend == "auto":
        chosen = "numpy" if batch or optimizer.rule is None else "python"
    if chosen == "python" and (batch or optimizer.rule is None):
        raise InputError("the python backend runs one start with a first-order method; "
                         "use backend='numpy' for batches and Newton's method")
    names = problem.names
    keep = keep_path
    if keep is None:
        keep = not batch or (n_steps + 1) * points.size <= AUTO_PATH_FLOATS
    if chosen == "numba":
        from symgd.fast import run_numba

        result = run_numba(problem, compiled, optimizer, points, n_steps, tolerance, keep)
    elif chosen == "python":
        result = _run_scalar(problem, compiled, optimizer, points[0], n_steps, tolerance)
    else:
        if keep and (n_steps + 1) * points.size > MAX_PATH_FLOATS:
            raise InputError(
                f"keeping every point of {points.shape[0]} starts × {n_steps} steps needs "
                f"{(n_steps + 1) * points.size * 8 / 1e9:.1f} GB; pass keep_path=False")
        result = _run_batch(compiled, optimizer, points, n_steps, tolerance, keep)
    if not keep and len(result.xs) != 2:
        result = RunResult(result.xs[[0, -1]], result.fs[[0, -1]], result.grad_norms[[0, -1]],
                           result.row_steps, result.row_codes, result.details)
    return _finish(result, names, optimizer, tolerance, batch, keep)


# -- inputs -----------------------------------------------------------------------------------

def _problem(f: Any, variables: Sequence[str] | None) -> Problem:
    if isinstance(f, Problem):
        problem = f
        if variables is not None and list(variables) != list(problem.names):
            problem = parse(problem.expr, list(variables))
    elif isinstance(f, str | sp.Basic):
        problem = _parse_cached(f, None if variables is None else tuple(variables))
    elif hasattr(f, "problem") and hasattr(f, "gradient") and hasattr(f, "hessian"):
        problem = f.problem
        if not isinstance(problem, Problem):
            raise InputError("the derivation does not carry a parsed problem")
    else:
        raise InputError(
            f"expected a string, a SymPy expression, a Problem or a Derivation, "
            f"got {type(f).__name__}")
    if problem.parameters:
        names = ", ".join(p.name for p in problem.parameters)
        raise InputError(f"the function has parameters without values ({names}); "
                         "give them numbers or make them variables")
    return problem


_PARSED: dict[tuple[Any, Any], Problem] = {}


def _parse_cached(f: str | sp.Basic, variables: tuple[str, ...] | None) -> Problem:
    key = (f, variables)
    problem = _PARSED.get(key)
    if problem is None:
        problem = parse(f, None if variables is None else list(variables))
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = problem
    return problem


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise InputError(f"steps must be a whole number, got {steps!r}")
    if not 0 <= steps <= MAX_STEPS:
        raise InputError(f"steps must be between 0 and {MAX_STEPS}, got {steps}")
    return int(steps)


def _check_tol(tol: Any) -> float:
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.floating | np.integer):
        raise InputError(f"tol must be a number, got {tol!r}")
    value = float(tol)
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"tol must be a finite number ≥ 0, got {tol!r}")
    return value


def _start_points(start: Any, problem: Problem) -> tuple[np.ndarray, bool]:
    """The start as an ``(N, n)`` float array and whether it was a batch."""
    names = problem.names
    n = len(names)
    if (type(start) in (tuple, list) and len(start) == n
            and all(type(v) in (float, int) and math.isfinite(v) for v in start)):
        return np.array([start], dtype=float), False  # the common case, without the checks
    if isinstance(start, Mapping):
        unknown = [k for k in start if k not in names]
        if unknown:
            raise InputError(f"{', '.join(map(str, unknown))} not among the variables "
                             f"({', '.join(names)})")
        missing = [k for k in names if k not in start]
        if missing:
            raise InputError(f"the start point gives no value for {', '.join(missing)}")
        start = [start[k] for k in names]
    try:
        array = np.array(start, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"the start point must be numbers, got {start!r}") from None
    batch = False
    if array.ndim == 0 and n == 1:
        array = array.reshape(1, 1)
    elif array.ndim == 1 and array.shape[0] == n:
        array = array.reshape(1, n)
    elif array.ndim == 1 and n == 1:
        array, batch = array.reshape(-1, 1), True
    elif array.ndim == 2 and array.shape[1] == n:
        batch = True
    else:
        raise InputError(f"the start has shape {array.shape}, but the function has {n} "
                         f"variable(s) ({', '.join(names)}); give n values or an (N, n) batch")
    if array.shape[0] == 0:
        raise InputError("the batch of starts is empty")
    if not np.isfinite(array).all():
        raise InputError("the start point must be finite")
    return np.ascontiguousarray(array), batch


# -- results ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunResult:
    """What a backend returns; :func:`_finish` turns it into a :class:`Trajectory`."""

    xs: np.ndarray           # (S+1, N, n) or (2, N, n)
    fs: np.ndarray           # (S+1, N)
    grad_norms: np.ndarray   # (S+1, N)
    row_steps: np.ndarray    # (N,) updates taken per start
    row_codes: np.ndarray    # (N,) index into STATUS_ORDER
    details: tuple[str, ...] = ()   # per start, when known: why it diverged


def _finish(result: RunResult, names: tuple[str, ...], optimizer: Optimizer, tol: float,
            batch: bool, keep: bool) -> Trajectory:
    codes = result.row_codes
    if not batch:
        steps = int(result.row_steps[0])
        status = STATUS_ORDER[int(codes[0])]
        xs, fs, gn = result.xs[:, 0], result.fs[:, 0], result.grad_norms[:, 0]
        detail = result.details[0] if result.details else ""
        if status is Status.DIVERGED and not detail:
            detail = _diagnose(xs[-1], float(fs[-1]), float(gn[-1]))
        reason = _reason(status, steps, float(gn[-1]), tol, detail)
        return Trajectory(names, optimizer.name, optimizer.lr, dict(optimizer.hyperparameters),
                          xs, fs, gn, status, steps if status is Status.DIVERGED else None,
                          steps, tol, reason, None, None, keep,
                          detail if status is Status.DIVERGED else "")
    status = STATUS_ORDER[int(codes.min())]
    diverged = codes == _CODE[Status.DIVERGED]
    diverged_at = int(result.row_steps[diverged].min()) if diverged.any() else None
    steps = int(result.row_steps.max())
    counts = {s: int((codes == _CODE[s]).sum()) for s in STATUS_ORDER}
    parts = [f"{counts[s]} {s.value}" for s in STATUS_ORDER if counts[s]]
    reason = f"Of {len(codes)} starts: " + ", ".join(parts)
    if diverged_at is not None:
        reason += f"; the first divergence came at step {diverged_at}"
    return Trajectory(names, optimizer.name, optimizer.lr, dict(optimizer.hyperparameters),
                      result.xs, result.fs, result.grad_norms, status, diverged_at, steps,
                      tol, reason, result.row_steps, result.row_codes, keep)


def _reason(status: Status, steps: int, grad_norm: float, tol: float, detail: str) -> str:
    plural = "s" if steps != 1 else ""
    if status is Status.CONVERGED:
        return f"After {steps} step{plural}, |∇f| = {grad_norm:.3g} < {tol:g}"
    if status is Status.MAX_STEPS:
        return f"After {steps} step{plural}, |∇f| = {grad_norm:.3g} is still ≥ {tol:g}"
    if status is Status.SINGULAR:
        return f"The Hessian at step {steps} is singular (condition number above 1e15)"
    return f"At step {steps}, {detail}"


def _diagnose(x: np.ndarray, f: float, grad_norm: float) -> str:
    """Why one iterate counts as diverged, in words."""
    if not np.isfinite(x).all():
        return "the iterate is no longer a finite number"
    if np.abs(x).max() > RUNAWAY:
        return f"a coordinate exceeded {_BOUND} in size"
    if not math.isfinite(f):
        return "f is no longer a finite number"
    if abs(f) > RUNAWAY:
        return f"|f| exceeded {_BOUND}"
    if not math.isfinite(grad_norm):
        return "the gradient is no longer finite"
    return "the arithmetic overflowed"


def evaluate_points(compiled: Compiled, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f and |∇f| at each row of ``points`` (non-finite where undefined; no warnings)."""
    with np.errstate(all="ignore"):
        values = compiled.value_grad_columns(list(points.T))
        gsq = np.zeros(points.shape[0])
        for component in values[1:]:
            gsq = gsq + component * component
        return np.asarray(values[0], dtype=float), np.sqrt(gsq)


def _first_stop(points: np.ndarray, fs: np.ndarray, gn: np.ndarray, tol: float,
                ) -> tuple[int | None, Status | None]:
    """The first index where a run must stop (and why), or ``(None, None)``."""
    with np.errstate(all="ignore"):
        # one cheap pass: any |x_i| or |f| above the bound, or anything non-finite, pushes
        # `size` above RUNAWAY (or makes it NaN); the exact tests run on those points only
        size = (np.abs(fs) + np.einsum("ij,ij->i", points, points) * (1.0 / RUNAWAY)
                + gn * 0.0)
        suspect = ~(size <= RUNAWAY)
        if tol > 0:
            suspect |= gn < tol
        where = np.flatnonzero(suspect)
        if where.size == 0:
            return None, None
        p, f, g = points[where], fs[where], gn[where]
        bad = (~np.isfinite(p).all(axis=1) | (np.abs(p) > RUNAWAY).any(axis=1)
               | ~np.isfinite(f) | (np.abs(f) > RUNAWAY) | ~np.isfinite(g))
        stop = bad | (g < tol)
    if not stop.any():
        return None, None
    k = int(np.argmax(stop))
    return int(where[k]), (Status.DIVERGED if bad[k] else Status.CONVERGED)


# -- single start on Python floats ------------------------------------------------------------

_STEPPERS: dict[tuple[Any, ...], ScalarStepper] = {}

#: |∇f|² at which the scalar loop pauses to look at the new points
_GSQ_ALARM = RUNAWAY * RUNAWAY
_CALL_ERRORS = (ArithmeticError, ValueError, TypeError)


def _stepper(problem: Problem, compiled: Compiled, optimizer: Optimizer) -> ScalarStepper:
    rule = optimizer.rule
    assert rule is not None
    constants = optimizer.constants()
    key = (problem.expr, problem.variables, optimizer.name, rule.structure(constants))
    stepper = _STEPPERS.get(key)
    if stepper is None:
        stepper = build_scalar_stepper(problem.variables, compiled.gradient, rule,
                                       tuple(constants), constants, expr=problem.expr)
        if len(_STEPPERS) > 128:
            _STEPPERS.clear()
        _STEPPERS[key] = stepper
    return stepper


def _run_scalar(problem: Problem, compiled: Compiled, optimizer: Optimizer, x0: np.ndarray,
                steps: int, tol: float) -> RunResult:
    stepper = _stepper(problem, compiled, optimizer)
    _fused, single = stepper.bind(optimizer.constants())
    loop = stepper.bind_loop(optimizer.constants())
    rule = optimizer.rule
    assert rule is not None
    n, k = stepper.n, stepper.unroll
    initial = rule.initial(optimizer.hyperparameters)
    vals: tuple[float, ...] = (*map(float, x0), *(v for v in initial for _ in range(n)), 0.0)
    lo = tol * tol
    segments: list[np.ndarray] = [np.asarray(x0, dtype=float).reshape(1, n)]
    values: list[np.ndarray] = []
    norms: list[np.ndarray] = []
    done = 0          # updates computed so far
    examined = 0      # points before this index have been checked
    stop: int | None = None
    status = Status.MAX_STEPS
    detail = ""
    unchecked = 0     # calls to run without the early alarm, after a false alarm
    quiet = 1
    while True:
        error = False
        alarm = False
        calls = (steps - done) // k
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
            error = event == "error"
            alarm = event == "alarm"
        if error or (not calls and done < steps):
            todo = min(todo + k, steps - done) if error else steps - done
            block, vals, failed = _careful_steps(single, vals, todo, n)
            if len(block):
                segments.append(block)
                done += len(block)
            if failed:
                stop, status, detail = done, Status.DIVERGED, "the arithmetic overflowed"
        points = np.concatenate(segments)[examined:]
        fs, gn = evaluate_points(compiled, points)
        values.append(fs)
        norms.append(gn)
        first, why = _first_stop(points, fs, gn, tol)
        if first is not None and (stop is None or examined + first <= stop):
            stop, status = examined + first, why or Status.DIVERGED
            detail = ""
        examined += len(points)
        if stop is not None or done >= steps:
            break
        if alarm:
            unchecked, quiet = quiet, quiet * 2
    xs = np.concatenate(segments)
    fs_all = np.concatenate(values)
    gn_all = np.concatenate(norms)
    end = steps if stop is None else stop
    xs, fs_all, gn_all = xs[: end + 1], fs_all[: end + 1], gn_all[: end + 1]
    if status is Status.DIVERGED and not detail:
        detail = _diagnose(xs[-1], float(fs_all[-1]), float(gn_all[-1]))
    return RunResult(xs[:, None, :], fs_all[:, None], gn_all[:, None],
                     np.array([end]), np.array([_CODE[status]], dtype=np.int8), (detail,))


def _fast_calls(loop: Callable[..., bool], vals: tuple[float, ...], calls: int, cut: int,
                lo: float, unchecked: int,
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


def _careful_steps(single: Callable[..., tuple[float, ...]], vals: tuple[float, ...],
                   count: int, n: int) -> tuple[np.ndarray, tuple[float, ...], bool]:
    """One step per call, checking every value; ``failed`` when a step cannot be computed."""
    points: list[tuple[float, ...]] = []
    for _ in range(count):
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


# -- batches (and Newton) with numpy ----------------------------------------------------------

def _block_rows(n: int, buffers: int) -> int:
    """Starts per block: the arrays of one step (coordinates, buffers and temporaries) stay
    within a core's L2 cache, where numpy's passes run several times faster than from memory."""
    return max(2048, min(32768, 262144 // (n * (buffers + 1) + 6)))


_BATCH_STEPS: dict[tuple[Any, ...], Callable[..., tuple[Any, ...]]] = {}


def _batch_step(compiled: Compiled, optimizer: Optimizer) -> Callable[..., tuple[Any, ...]]:
    rule = optimizer.rule
    assert rule is not None and compiled.expr is not None
    constants = optimizer.constants()
    key = (compiled.expr, compiled.variables, optimizer.name, rule.structure(constants))
    step = _BATCH_STEPS.get(key)
    if step is None:
        step = step_with_value(compiled.variables, compiled.expr, compiled.gradient, rule,
                               tuple(constants), constants, vectorised=True)
        if len(_BATCH_STEPS) > 128:
            _BATCH_STEPS.clear()
        _BATCH_STEPS[key] = step
    return step


def _run_batch(compiled: Compiled, optimizer: Optimizer, starts: np.ndarray, steps: int,
               tol: float, keep_path: bool) -> RunResult:
    count, n = starts.shape
    rule = optimizer.rule
    rows = _block_rows(n, 0 if rule is None else len(rule.buffers))
    row_steps = np.full(count, steps, dtype=np.int64)
    row_codes = np.full(count, _CODE[Status.MAX_STEPS], dtype=np.int8)
    final_x = starts.copy()
    final_f = np.empty(count)
    final_g = np.empty(count)
    length = steps + 1 if keep_path else 2
    xs = np.empty((length, count, n))
    fs = np.empty((length, count))
    gn = np.empty((length, count))
    workers = min(-(-count // rows), os.cpu_count() or 1, MAX_THREADS)
    # equal blocks, as many per thread: no thread waits on a last, longer block
    per = -(-count // (workers * -(-count // (rows * workers))))
    blocks = [(a, min(count, a + per)) for a in range(0, count, per)]

    step = None if rule is None else _batch_step(compiled, optimizer)

    def run(block: tuple[int, int]) -> None:
        a, b = block
        path, out = (xs, fs, gn), (row_steps, row_codes, final_x, final_f, final_g)
        with np.errstate(all="ignore"):  # per thread: numpy's error state is thread-local
            if step is None:
                _run_block(compiled, optimizer, starts[a:b], steps, tol, keep_path, a, path,
                           out)
            else:
                _run_block_fused(step, optimizer, starts[a:b], steps, tol, keep_path, a, path,
                                 out)

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
    longest = int(row_steps.max())
    if keep_path:
        xs, fs, gn = xs[: longest + 1], fs[: longest + 1], gn[: longest + 1]
        for s in np.unique(row_steps[row_steps < longest]):
            which = np.flatnonzero(row_steps == s)
            xs[s + 1:, which] = xs[s, which]
            fs[s + 1:, which] = fs[s, which]
            gn[s + 1:, which] = gn[s, which]
    else:
        xs[0], xs[1] = starts, final_x
        fs[1], gn[1] = final_f, final_g
    return RunResult(xs, fs, gn, row_steps, row_codes)


def _run_block(compiled: Compiled, optimizer: Optimizer, starts: np.ndarray, steps: int,
               tol: float, keep_path: bool, offset: int,
               path: tuple[np.ndarray, np.ndarray, np.ndarray],
               out: tuple[np.ndarray, ...]) -> None:
    xs, fs, gn = path
    x = np.array(starts.T, order="C")             # (n, B): one row per coordinate
    index = np.arange(offset, offset + starts.shape[0])
    full = True                                   # every row of the block still running
    state: OptState = optimizer.init(starts if optimizer.needs_hessian else x)
    tol2 = tol * tol
    bound2 = RUNAWAY * RUNAWAY
    for k in range(steps + 1):
        values = compiled.value_grad_columns(list(x))
        f = values[0]
        grads = np.stack(values[1:])
        gsq = np.einsum("ij,ij->j", grads, grads)
        if keep_path:
            where = slice(index[0], index[-1] + 1) if full else index
            xs[k, where] = x.T
            fs[k, where] = f
            gn[k, where] = np.sqrt(gsq)
        elif k == 0:
            fs[0, index] = f
            gn[0, index] = np.sqrt(gsq)
        # whole-block test first (NaN fails every comparison); per-row work only when needed
        xsq = np.einsum("ij,ij->j", x, x)
        calm = (f.min() >= -RUNAWAY and f.max() <= RUNAWAY and xsq.max() <= bound2
                and gsq.max() < math.inf and not gsq.min() < tol2 and k < steps)
        stopped = None
        if not calm:
            with np.errstate(invalid="ignore"):
                stopped = ~((np.abs(f) <= RUNAWAY) & (xsq <= bound2) & (gsq < math.inf)
                            & (gsq >= tol2))
            if k == steps:
                stopped[:] = True
        hessian = None
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


def _run_block_fused(step: Callable[..., tuple[Any, ...]], optimizer: Optimizer,
                     starts: np.ndarray, steps: int, tol: float, keep_path: bool, offset: int,
                     path: tuple[np.ndarray, np.ndarray, np.ndarray],
                     out: tuple[np.ndarray, ...]) -> None:
    """A first-order method on a block of starts: one generated numpy step per iteration
    (∇f, f, |∇f|² and the update in one function, intermediate results shared)."""
    xs, fs, gn = path
    rule = optimizer.rule
    assert rule is not None
    count, n = starts.shape
    x = [np.array(starts[:, i]) for i in range(n)]
    buffers = [np.full(count, value) for value in rule.initial(optimizer.hyperparameters)
               for _ in range(n)]
    consts = list(optimizer.constants().values())
    index = np.arange(offset, offset + count)
    full = True                                   # every row of the block still running
    tol2 = tol * tol
    t: Any = 0.0
    for k in range(steps + 1):
        result = step(*x, *buffers, t, *consts)
        rows = len(index)
        f = _as_rows(result[-1], rows)
        gsq = _as_rows(result[-2], rows)
        if keep_path:
            where = slice(index[0], index[-1] + 1) if full else index
            for i, xi in enumerate(x):
                xs[k, where, i] = xi
            fs[k, where] = f
            gn[k, where] = np.sqrt(gsq)
        elif k == 0:
            fs[0, index] = f
            gn[0, index] = np.sqrt(gsq)
        # whole-block test first (min and max are NaN when any value is); rows only if needed
        calm = (f.min() >= -RUNAWAY and f.max() <= RUNAWAY and gsq.max() < math.inf
                and not gsq.min() < tol2 and k < steps
                and all(xi.min() >= -RUNAWAY and xi.max() <= RUNAWAY for xi in x))
        if not calm:
            stacked = np.stack(x)
            with np.errstate(invalid="ignore"):
                stopped = ~((np.abs(f) <= RUNAWAY) & (np.abs(stacked) <= RUNAWAY).all(axis=0)
                            & (gsq < math.inf) & (gsq >= tol2))
            if k == steps:
                stopped[:] = True
            if stopped.any():
                _classify_stops(stopped, k, k == steps, stacked, f, gsq, tol2, index, out)
                if stopped.all():
                    return
                keep = ~stopped
                index, full = index[keep], False
                result = tuple(v[keep] if np.ndim(v) else v for v in result)
        x = list(result[:n])
        buffers = list(result[n:n + len(buffers)])
        t = result[n + len(buffers)]


def _as_rows(value: Any, rows: int) -> np.ndarray:
    """A per-row array of ``value`` (a generated step returns a constant as a scalar)."""
    array = np.asarray(value, dtype=float)
    return array if array.ndim else np.full(rows, float(array))


def _classify_stops(stopped: np.ndarray, k: int, last: bool, x: np.ndarray, f: np.ndarray,
                    gsq: np.ndarray, tol2: float, index: np.ndarray,
                    out: tuple[np.ndarray, ...]) -> None:
    """Record why each flagged row stops (rows flagged only by ``last`` hit max_steps)."""
    flagged = np.flatnonzero(stopped)
    xf = x[:, flagged]
    with np.errstate(invalid="ignore"):
        bad = (~np.isfinite(xf).all(axis=0) | (np.abs(xf) > RUNAWAY).any(axis=0)
               | ~np.isfinite(f[flagged]) | (np.abs(f[flagged]) > RUNAWAY)
               | ~np.isfinite(gsq[flagged]))
        converged = ~bad & (gsq[flagged] < tol2)
    others = ~(bad | converged)
    for mask, status in ((bad, Status.DIVERGED), (converged, Status.CONVERGED),
                         (others if last else np.zeros_like(others), Status.MAX_STEPS)):
        picked = np.zeros_like(stopped)
        picked[flagged[mask]] = True
        _stop_rows(picked, status, k, x, f, gsq, index, out)
    # a row flagged by the cheap test but fine on the exact one keeps running
    stopped[flagged[others]] = last


def _stop_rows(mask: np.ndarray, status: Status, k: int, x: np.ndarray, f: np.ndarray,
               gsq: np.ndarray, index: np.ndarray, out: tuple[np.ndarray, ...]) -> None:
    if not mask.any():
        return
    row_steps, row_codes, final_x, final_f, final_g = out
    rows = index[mask]
    row_steps[rows] = k
    row_codes[rows] = _CODE[status]
    final_x[rows] = x[:, mask].T
    final_f[rows] = f[mask]
    final_g[rows] = np.sqrt(gsq[mask])


def _compact(state: OptState, keep: np.ndarray, rows_first: bool) -> OptState:
    if rows_first:
        return OptState(state.step, tuple(b[keep] for b in state.buffers), None)
    return OptState(state.step, tuple(b[:, keep] for b in state.buffers), state.singular)
