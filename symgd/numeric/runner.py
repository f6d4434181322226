"""Run an optimizer on f from one start or many: ``descend(f, start, ...) -> Trajectory``.

``f`` is text (parsed by :func:`symgd.parse`), a SymPy expression, a :class:`Problem` or a
:class:`~symgd.calculus.derivation.Derivation`. ``start`` is one point (a sequence in the order
of the variables, a mapping ``{name: value}``, or a number when there is one variable) or a
batch of shape ``(N, n)``; with one variable a 1-D array of N values is a batch of N starts.

At each iterate x_k the run evaluates f and ∇f, then stops with

- ``converged`` when |∇f(x_k)| < ``tol`` (default 1e-10);
- ``domain`` when x_k is a finite point where f or ∇f is not a real number (the square root or
  logarithm of a negative number, a division by zero, asin of 2, ...): the run left the domain
  of f; ``domain_at`` is that k and ``detail`` names the value and the cause;
- ``diverged`` at the first iterate where x_k, f or ∇f is not finite for any other reason, or
  |x_i| or |f| exceeds :data:`RUNAWAY` (1e12), or the arithmetic overflows; ``diverged_at`` is
  that k;
- ``singular`` (Newton only) when the Hessian at x_k is singular (condition number > 1e15);
- ``max_steps`` after ``steps`` updates.

A single start outside the domain (f or ∇f undefined there, as log(x) at x = 0) raises
:class:`~symgd.base.errors.InputError`; in a batch such a start is a row with status ``domain`` at
step 0.

Beside the ``status`` (why the run stopped), every run, and every start of a batch, gets an
``outcome`` (what it reached: ``minimum``, ``maximum``, ``saddle``, ``degenerate``, ``flat``,
``cycle`` with its ``cycle_period``, ``unbounded``, ``diverged``, ``unfinished``, ``domain``
or ``singular``), decided once after the run by the rules of :mod:`symgd.numeric.outcomes`
(for a batch, vectorised over the starts: ``row_outcomes()``, ``row_periods``, ``row(i)``).

``reason`` says what happened, with numbers; for a single run that diverged or left the domain
``detail`` names the cause (``|f| exceeded 1e12``, ``f is not a real number (sqrt of a
negative number)``, ...).

``Trajectory.steps`` counts the updates taken. Which iterates ``xs`` holds depends on
``trajectory``:

- ``True``: every iterate, ``steps + 1`` points (for a diverged run, the last is the runaway
  iterate); at most :data:`MAX_PATH_FLOATS` floats, beyond that an ``InputError``;
- ``False``: for a single start, a thinned path: the first :data:`PATH_HEAD` iterates, then
  evenly spaced ones (every s-th step, s a power of two, at most :data:`PATH_POINTS` in all),
  and always the last iterate, where the run stopped; ``kept_steps`` gives the step number of
  each row (a run of fewer than :data:`PATH_POINTS` steps keeps every iterate). For a batch,
  the start and the final point only (``xs`` of shape ``(2, N, n)``);
- ``None`` (the default): every iterate when ``xs`` would hold at most
  :data:`AUTO_PATH_FLOATS` floats (80 MB), else as ``False``.

``fs`` and ``grad_norms`` match ``xs``; ``path_kept`` is true when every iterate is kept, and
``step_numbers`` is the step of each row of ``xs`` in every case. Memory therefore stays bounded
for any number of steps unless the whole path is asked for. No numpy warning escapes: a run
that blows up is a result, not an error.

Backends: ``"python"`` (single start, the default for every method but Newton) runs a fused
scalar step compiled from ∇f and the update rule, several steps per call; ``"numpy"`` (the
default for batches and Newton) vectorises over starts; ``"numba"`` compiles the whole loop
(``pip install symgd[fast]``, imported only when asked for). All give the same numbers up to
rounding. Compiled functions are cached per expression, so repeated runs on one f are cheap.

In a batch every start runs as if alone and stops on its own; ``row_steps``/``row_status``
give each start's outcome, ``steps`` is the longest, ``status`` the most severe outcome
(diverged, domain, singular, max_steps, converged in that order), ``diverged_at`` the earliest
divergence and ``domain_at`` the earliest exit from the domain. Stopped starts repeat their
last point in ``xs``.

``keep_path`` is the former name of ``trajectory`` and means the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.errors import InputError, short_repr
from symgd.base.i18n import _, n_
from symgd.expr.batch import Compiled
from symgd.expr.parser import parse
from symgd.expr.problem import Problem
from symgd.numeric.batch_run import MAX_THREADS, SHORT_UNFUSED, run_batch
from symgd.numeric.codegen import compiled_for
from symgd.numeric.domain import (
    MAX_DOMAIN_CHECKS,
    find_domain_exits,
    start_refusal,
    undefined_at,
)
from symgd.numeric.optimizer_spec import Optimizer
from symgd.numeric.optimizers import make_optimizer
from symgd.numeric.outcomes import Outcomes, RunEnds, classify_runs
from symgd.numeric.results import (
    AUTO_PATH_FLOATS,
    DEFAULT_TOL,
    MAX_PATH_FLOATS,
    PATH_HEAD,
    PATH_POINTS,
    RUNAWAY,
    STATUS_CODE,
    STATUS_ORDER,
    TAIL_POINTS,
    RunResult,
    Status,
    Trajectory,
    diagnose,
    finite_or_none,
    number_text,
)
from symgd.numeric.scalar_run import CHUNK_FLOATS, evaluate_points, run_scalar

__all__ = [
    "AUTO_PATH_FLOATS",
    "BACKENDS",
    "CHUNK_FLOATS",
    "DEFAULT_TOL",
    "MAX_DOMAIN_CHECKS",
    "MAX_PATH_FLOATS",
    "MAX_STEPS",
    "MAX_THREADS",
    "PATH_HEAD",
    "PATH_POINTS",
    "RUNAWAY",
    "SHORT_UNFUSED",
    "STATUS_ORDER",
    "RunResult",
    "Status",
    "Trajectory",
    "descend",
    "evaluate_points",
    "finite_or_none",
    "number_text",
    "undefined_at",
]


#: most updates one run may take
MAX_STEPS = 10_000_000
BACKENDS = ("auto", "python", "numpy", "numba")


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
    trajectory: bool | None = None,
    keep_path: bool | None = None,
    **hyper: float,
) -> Trajectory:
    """Run ``method`` on ``f`` from ``start`` (see the module docstring for the details).

    ``lr=None`` uses 0.1 (1 for Newton). ``hyper`` are the optimizer's hyperparameters
    (``momentum``, ``beta1``, ``beta2``, ``eps``, ``alpha``, ``lr_decay``,
    ``initial_accumulator_value``). ``trajectory`` chooses which iterates are kept (every one,
    a thinned path, or by size when ``None``). Bad input, a single start outside the domain
    of f included, raises :class:`~symgd.base.errors.InputError`.

    >>> run = descend("x**2 + 3*y**2", [1.0, 1.0], lr=0.1, steps=500)
    >>> run.status.value, run.steps, run.outcome.value
    ('converged', 107, 'minimum')
    >>> cycle = descend("x**4 - 3*x**2", 0.5, lr=0.2, steps=200)
    >>> cycle.status.value, cycle.outcome.value, cycle.cycle_period
    ('max_steps', 'cycle', 2)
    >>> [round(float(v), 8) for v in run.final]
    [0.0, 0.0]
    >>> descend("(x - 2)**2", 0.0, method="newton", steps=5).final.tolist()
    [2.0]
    """
    if not isinstance(method, str):
        raise InputError(f"method must be a name such as 'gd' or 'adam', got {method!r}")
    problem = _problem(f, variables)
    optimizer = make_optimizer(method, lr, **hyper)
    n_steps = _check_steps(steps)
    tolerance = _check_tol(tol)
    points, batch = _start_points(start, problem)
    chosen = _backend(backend, batch, optimizer)
    compiled = compiled_for(problem.expr, problem.variables)
    keep = _keep_whole_path(trajectory, keep_path, n_steps, points)
    result = _run(chosen, problem, compiled, optimizer, points, n_steps, tolerance, keep)
    if batch and not keep and len(result.xs) != 2:
        # a batch of one start ran as a thinned single run: its start and final point
        result = RunResult(
            result.xs[[0, -1]],
            result.fs[[0, -1]],
            result.grad_norms[[0, -1]],
            result.row_steps,
            result.row_codes,
            result.details,
            tail=result.tail if result.tail is not None else _last_iterates(result),
        )
    result = find_domain_exits(result, problem, compiled)
    if not batch:
        _refuse_start_outside(result, problem, compiled, points[0])
    outcomes = classify_runs(_run_ends(result), compiled, _minimizes(optimizer))
    return _finish(result, problem.names, optimizer, tolerance, batch, keep, outcomes)


def _minimizes(optimizer: Optimizer) -> bool:
    return optimizer.spec is None or optimizer.spec.minimizes


def _run_ends(result: RunResult) -> RunEnds:
    """What the outcome rules read of a finished run: its first and last points and, when the
    backend kept them apart from ``xs`` or ``xs`` holds every iterate, its last iterates."""
    tail = result.tail if result.tail is not None else _last_iterates(result)
    return RunEnds(result.row_codes, result.xs[0], result.xs[-1], result.fs[0], result.fs[-1], tail)


def _last_iterates(result: RunResult) -> np.ndarray | None:
    """The last iterates of a run whose ``xs`` holds every one (else ``None``)."""
    if len(result.xs) == int(result.row_steps.max()) + 1:
        return result.xs[-TAIL_POINTS:]
    return None


def _backend(backend: str, batch: bool, optimizer: Optimizer) -> str:
    """The backend that runs: ``auto`` is numpy for batches and Newton, else python."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    chosen = backend
    if backend == "auto":
        chosen = "numpy" if batch or optimizer.rule is None else "python"
    if chosen == "python" and (batch or optimizer.rule is None):
        raise InputError(
            "the python backend runs one start with a first-order method; "
            "use backend='numpy' for batches and Newton's method"
        )
    return chosen


def _run(
    chosen: str,
    problem: Problem,
    compiled: Compiled,
    optimizer: Optimizer,
    points: np.ndarray,
    steps: int,
    tol: float,
    keep: bool,
) -> RunResult:
    if chosen == "numba":
        from symgd.numeric.numba_backend import run_numba

        return run_numba(problem, compiled, optimizer, points, steps, tol, keep)
    if chosen == "python":
        return run_scalar(problem, compiled, optimizer, points[0], steps, tol, keep)
    return run_batch(compiled, optimizer, points, steps, tol, keep)


def _refuse_start_outside(
    result: RunResult, problem: Problem, compiled: Compiled, start: np.ndarray
) -> None:
    """A single start where f or ∇f is undefined is bad input, said with the cause."""
    if result.row_codes[0] != STATUS_CODE[Status.DOMAIN] or result.row_steps[0] != 0:
        return
    raise InputError(start_refusal(problem, compiled, list(start)) or result.details[0])


def _keep_whole_path(
    trajectory: bool | None, keep_path: bool | None, steps: int, points: np.ndarray
) -> bool:
    """Whether a run keeps every iterate (``trajectory``, or its former name ``keep_path``)."""
    for name, value in (("trajectory", trajectory), ("keep_path", keep_path)):
        if value is not None and not isinstance(value, bool | np.bool_):
            raise InputError(f"{name} must be True, False or None, got {value!r}")
    if trajectory is not None and keep_path is not None and trajectory != keep_path:
        raise InputError("trajectory and keep_path (its former name) disagree; give one")
    wanted = trajectory if trajectory is not None else keep_path
    floats = (steps + 1) * points.size
    if wanted is None:
        return floats <= AUTO_PATH_FLOATS
    if wanted and floats > MAX_PATH_FLOATS:
        raise InputError(
            f"keeping every iterate of {points.shape[0]} start(s) × {steps} steps on "
            f"{points.shape[1]} variable(s) needs {floats * 8 / 1e9:.1f} GB (the limit is "
            f"{MAX_PATH_FLOATS * 8 / 1e9:.2g} GB); pass trajectory=False (the CLI: leave out "
            "--trajectory) or take fewer steps"
        )
    return bool(wanted)


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
            f"got {type(f).__name__}"
        )
    if problem.parameters:
        names = ", ".join(p.name for p in problem.parameters)
        raise InputError(
            f"the function has parameters without values ({names}); "
            "give them numbers or make them variables"
        )
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
    try:
        value = float(tol)
    except OverflowError:
        raise InputError(
            "tol must be a finite number ≥ 0; this one is too large for floating point"
        ) from None
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"tol must be a finite number ≥ 0, got {tol!r}")
    return value


def _start_points(start: Any, problem: Problem) -> tuple[np.ndarray, bool]:
    """The start as an ``(N, n)`` float array and whether it was a batch."""
    names = problem.names
    n = len(names)
    if (
        type(start) in (tuple, list)
        and len(start) == n
        and all(
            (type(v) is float and math.isfinite(v))
            or (type(v) is int and -MAX_START_INT < v < MAX_START_INT)
            for v in start
        )
    ):
        return np.array([start], dtype=float), False  # the common case, without the checks
    if isinstance(start, Mapping):
        unknown = [k for k in start if k not in names]
        if unknown:
            raise InputError(
                f"{', '.join(map(str, unknown))} not among the variables ({', '.join(names)})"
            )
        missing = [k for k in names if k not in start]
        if missing:
            raise InputError(f"the start point gives no value for {', '.join(missing)}")
        start = [start[k] for k in names]
    try:
        array = np.array(start, dtype=float)
    except OverflowError:
        raise InputError(
            "the start point has a number too large for floating point (beyond about 1.8e308)"
        ) from None
    except (TypeError, ValueError):
        raise InputError(f"the start point must be numbers, got {short_repr(start)}") from None
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
        raise InputError(
            f"the start has shape {array.shape}, but the function has {n} "
            f"variable(s) ({', '.join(names)}); give n values or an (N, n) batch"
        )
    if array.shape[0] == 0:
        raise InputError("the batch of starts is empty")
    if not np.isfinite(array).all():
        raise InputError(
            "the start point must be finite (a value is infinite, not a number, "
            "or too large for floating point)"
        )
    return np.ascontiguousarray(array), batch


#: whole numbers below this convert to float without overflow (quick path of _start_points)
MAX_START_INT = 2**1000


def _finish(
    result: RunResult,
    names: tuple[str, ...],
    optimizer: Optimizer,
    tol: float,
    batch: bool,
    keep: bool,
    outcomes: Outcomes,
) -> Trajectory:
    """The :class:`Trajectory` of a finished run (one start, or a batch)."""
    if batch:
        return _batch_trajectory(result, names, optimizer, tol, keep, outcomes)
    return _single_trajectory(result, names, optimizer, tol, outcomes)


def _single_trajectory(
    result: RunResult,
    names: tuple[str, ...],
    optimizer: Optimizer,
    tol: float,
    outcomes: Outcomes,
) -> Trajectory:
    """One start's run, with its reason in words and its outcome."""
    codes = result.row_codes
    steps = int(result.row_steps[0])
    status = STATUS_ORDER[int(codes[0])]
    xs, fs, gn = result.xs[:, 0], result.fs[:, 0], result.grad_norms[:, 0]
    detail = result.details[0] if result.details else ""
    if status is Status.DIVERGED and not detail:
        detail = diagnose(xs[-1], float(fs[-1]), float(gn[-1]))
    stopped = status in (Status.DIVERGED, Status.DOMAIN)
    reason = _reason(status, steps, float(gn[-1]), tol, detail)
    kept = result.kept_steps
    if kept is not None and len(kept) == steps + 1:
        kept = None  # every iterate is there after all
    return Trajectory(
        names,
        optimizer.name,
        optimizer.lr,
        dict(optimizer.hyperparameters),
        xs,
        fs,
        gn,
        status,
        steps if status is Status.DIVERGED else None,
        steps,
        tol,
        reason,
        None,
        None,
        kept is None and len(xs) == steps + 1,
        detail if stopped else "",
        steps if status is Status.DOMAIN else None,
        kept,
        outcomes.outcome(0),
        outcomes.period(0),
        None,
        None,
        _minimizes(optimizer),
    )


def _batch_trajectory(
    result: RunResult,
    names: tuple[str, ...],
    optimizer: Optimizer,
    tol: float,
    keep: bool,
    outcomes: Outcomes,
) -> Trajectory:
    """A batch: its most severe status, the counts of each in words, each start's outcome."""
    codes = result.row_codes
    status = STATUS_ORDER[int(codes.min())]
    firsts: dict[Status, int | None] = {}
    for which in (Status.DIVERGED, Status.DOMAIN):
        rows = codes == STATUS_CODE[which]
        firsts[which] = int(result.row_steps[rows].min()) if rows.any() else None
    steps = int(result.row_steps.max())
    counts = {s: int((codes == STATUS_CODE[s]).sum()) for s in STATUS_ORDER}
    parts = [f"{counts[s]} {s.value}" for s in STATUS_ORDER if counts[s]]
    reason = _("Of {count} starts: {parts}").format(count=len(codes), parts=", ".join(parts))
    if firsts[Status.DIVERGED] is not None:
        reason += _("; the first divergence came at step {step}").format(
            step=firsts[Status.DIVERGED]
        )
    if firsts[Status.DOMAIN] is not None:
        reason += _("; the first exit from the domain came at step {step}").format(
            step=firsts[Status.DOMAIN]
        )
    return Trajectory(
        names,
        optimizer.name,
        optimizer.lr,
        dict(optimizer.hyperparameters),
        result.xs,
        result.fs,
        result.grad_norms,
        status,
        firsts[Status.DIVERGED],
        steps,
        tol,
        reason,
        result.row_steps,
        result.row_codes,
        keep,
        "",
        firsts[Status.DOMAIN],
        None,
        None,
        None,
        outcomes.codes,
        outcomes.periods,
        _minimizes(optimizer),
    )


def _reason(status: Status, steps: int, grad_norm: float, tol: float, detail: str) -> str:
    """Why a single run stopped, in the language in effect."""
    values = {"steps": steps, "norm": f"{grad_norm:.3g}", "tol": f"{tol:g}", "detail": detail}
    if status is Status.CONVERGED:
        text = n_(
            "After {steps} step, |∇f| = {norm} < {tol}",
            "After {steps} steps, |∇f| = {norm} < {tol}",
            steps,
        )
    elif status is Status.MAX_STEPS:
        text = n_(
            "After {steps} step, |∇f| = {norm} is still ≥ {tol}",
            "After {steps} steps, |∇f| = {norm} is still ≥ {tol}",
            steps,
        )
    elif status is Status.SINGULAR:
        text = _("The Hessian at step {steps} is singular (condition number above 1e15)")
    elif status is Status.DOMAIN:
        text = _("At step {steps} the run left the domain of f: {detail}")
    else:
        text = _("At step {steps}, {detail}")
    return text.format(**values)
