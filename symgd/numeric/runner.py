"""Run an optimizer on f from one start or many: ``descend(f, start, ...) -> Trajectory``.

``f`` is text (parsed by :func:`symgd.parse`), a SymPy expression, a :class:`Problem` or a
:class:`~symgd.calculus.derivation.Derivation`. ``start`` is one point (a sequence in the order of the
variables, a mapping ``{name: value}``, or a number when there is one variable) or a batch of
shape ``(N, n)``; with one variable a 1-D array of N values is a batch of N starts.

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

from symgd.numeric.codegen import (
    Compiled,
    ScalarStepper,
    build_scalar_stepper,
    compiled_for,
    step_with_value,
)
from symgd.base.errors import InputError, short_repr
from symgd.numeric.optimizers import Optimizer, OptState, make_optimizer
from symgd.expr.parser import Problem, parse

#: |x_i| or |f| beyond this counts as a runaway iterate
RUNAWAY = 1e12
#: the default tolerance on |∇f|
DEFAULT_TOL = 1e-10
#: most updates one run may take
MAX_STEPS = 10_000_000
_BOUND = "1e12"
#: by default a batch keeps its whole path only up to this many floats in xs (80 MB)
AUTO_PATH_FLOATS = 10_000_000
#: most floats a kept path may hold (xs, 480 MB); beyond it pass trajectory=False
MAX_PATH_FLOATS = 60_000_000
#: most iterates a thinned single-start path holds (trajectory=False), besides the last
PATH_POINTS = 2048
#: the first iterates a thinned path always keeps (the first steps are the ones people study)
PATH_HEAD = 16
#: iterates the single-start Python loop computes between two checks (bounds its memory)
CHUNK_FLOATS = 1 << 17
BACKENDS = ("auto", "python", "numpy", "numba")
#: most threads the numpy batch path uses (one block of starts each)
MAX_THREADS = 8
#: a numpy run of at most this many point-steps uses the optimizer's update directly
SHORT_UNFUSED = 1000


class Status(enum.Enum):
    """Why a run stopped."""

    CONVERGED = "converged"
    MAX_STEPS = "max_steps"
    DIVERGED = "diverged"
    DOMAIN = "domain"
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
    Status.DOMAIN: "left the domain: f or its gradient is not a real number at the iterate "
                   "(for example the square root or logarithm of a negative number, or a "
                   "division by zero); lower the learning rate or start farther inside the "
                   "domain of f",
    Status.SINGULAR: "stopped: the Hessian is singular, so Newton's step is undefined there",
}

#: batch outcome codes, most severe first
STATUS_ORDER: tuple[Status, ...] = (
    Status.DIVERGED, Status.DOMAIN, Status.SINGULAR, Status.MAX_STEPS, Status.CONVERGED,
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
    domain_at: int | None = None
    kept_steps: np.ndarray | None = field(default=None, repr=False)

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

    @property
    def step_numbers(self) -> np.ndarray:
        """The step number of each row of ``xs`` (``0, 1, ..., steps`` when every iterate is
        kept; for a batch without its path, ``[0, steps]``: each row's own last step is in
        ``row_steps``)."""
        if self.kept_steps is not None:
            return self.kept_steps
        if len(self.xs) == self.steps + 1:
            return np.arange(self.steps + 1)
        return np.array([0, self.steps])[: len(self.xs)]

    def row_status(self) -> list[Status]:
        """Each start's status (a one-element list for a single run)."""
        if self.row_codes is None:
            return [self.status]
        return [STATUS_ORDER[int(code)] for code in self.row_codes]

    def to_dict(self, trajectory: bool = False) -> dict[str, Any]:
        """The ``symgd descend --json`` shape (plain floats; ``trajectory`` adds the points kept,
        every iterate when the run kept its path, else a thinned path and, as
        ``trajectory_steps``, the step number of each of its points).

        JSON has no NaN or infinity: a number that is not finite (a diverged run's last
        iterate, f outside its domain) is ``None``; ``diverged_at`` and ``domain_at`` are
        ``None`` unless the run stopped that way.
        """
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
            "start": {k: finite_or_none(v) for k, v in zip(names, self.xs[0], strict=True)},
            "final": {k: finite_or_none(v) for k, v in zip(names, self.xs[-1], strict=True)},
            "f": finite_or_none(self.fs[-1]),
            "grad_norm": finite_or_none(self.grad_norms[-1]),
            "diverged_at": self.diverged_at,
            "domain_at": self.domain_at,
            "detail": self.detail,
        }
        if trajectory:
            payload["trajectory"] = [[finite_or_none(v) for v in point] for point in self.xs]
            if not self.path_kept:
                payload["trajectory_steps"] = [int(k) for k in self.step_numbers]
        return payload

    def _repr_html_(self) -> str:
        e = html.escape
        if self.is_batch:
            return (f"<p>{e(self.method)}, η = {self.lr:g}: {len(self.xs[0])} starts, "
                    f"{e(self.status.value)}. {e(self.reason)}</p>")
        rows = "".join(
            f"<tr><td>{e(name)}</td><td>{number_text(self.xs[0][i], 6)}</td>"
            f"<td>{e(number_text(self.xs[-1][i], 6))}</td></tr>"
            for i, name in enumerate(self.variables))
        return (f"<p><b>{e(self.method)}</b>, η = {self.lr:g}, {self.steps} steps: "
                f"<b>{e(self.status.value)}</b>. {e(self.reason)}</p>"
                f"<table><tr><th></th><th>start</th><th>final</th></tr>{rows}</table>"
                f"<p>f = {e(number_text(self.fs[-1], 6))}, "
                f"|∇f| = {e(number_text(self.grad_norms[-1], 3))}</p>")


def finite_or_none(value: Any) -> float | None:
    """``float(value)``, or ``None`` when it is not a finite number (JSON has no NaN)."""
    number = float(value)
    return number if math.isfinite(number) else None


def number_text(value: Any, digits: int = 10) -> str:
    """A float for people: ``digits`` significant digits, and words where it is not finite."""
    number = float(value)
    if math.isnan(number):
        return "not a real number"
    if math.isinf(number):
        return "overflowed" if number > 0 else "overflowed (negative)"
    return f"{number:.{digits}g}"


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
    """
    if not isinstance(method, str):
        raise InputError(f"method must be a name such as 'gd' or 'adam', got {method!r}")
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
    keep = _keep_whole_path(trajectory, keep_path, n_steps, points)
    if chosen == "numba":
        from symgd.numeric.numba_backend import run_numba

        result = run_numba(problem, compiled, optimizer, points, n_steps, tolerance, keep)
    elif chosen == "python":
        result = _run_scalar(problem, compiled, optimizer, points[0], n_steps, tolerance, keep)
    else:
        result = _run_batch(compiled, optimizer, points, n_steps, tolerance, keep)
    if batch and not keep and len(result.xs) != 2:
        result = RunResult(result.xs[[0, -1]], result.fs[[0, -1]], result.grad_norms[[0, -1]],
                           result.row_steps, result.row_codes, result.details)
    result = _find_domain_exits(result, problem, compiled)
    if not batch and result.row_codes[0] == _CODE[Status.DOMAIN] and result.row_steps[0] == 0:
        where = _point_text(names, points[0])
        which, _, cause = result.details[0].partition(f" at {where}: ")
        raise InputError(f"the start point {where} is outside the domain of f: {which} there "
                         f"because of {cause}; choose a start where f and its gradient are "
                         "defined")
    return _finish(result, names, optimizer, tolerance, batch, keep)


def _keep_whole_path(trajectory: bool | None, keep_path: bool | None, steps: int,
                     points: np.ndarray) -> bool:
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
            "--trajectory) or take fewer steps")
    return bool(wanted)


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
    try:
        value = float(tol)
    except OverflowError:
        raise InputError("tol must be a finite number ≥ 0; this one is too large for "
                         "floating point") from None
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"tol must be a finite number ≥ 0, got {tol!r}")
    return value


def _start_points(start: Any, problem: Problem) -> tuple[np.ndarray, bool]:
    """The start as an ``(N, n)`` float array and whether it was a batch."""
    names = problem.names
    n = len(names)
    if (type(start) in (tuple, list) and len(start) == n
            and all((type(v) is float and math.isfinite(v))
                    or (type(v) is int and -MAX_START_INT < v < MAX_START_INT)
                    for v in start)):
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
    except OverflowError:
        raise InputError("the start point has a number too large for floating point "
                         "(beyond about 1.8e308)") from None
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
        raise InputError(f"the start has shape {array.shape}, but the function has {n} "
                         f"variable(s) ({', '.join(names)}); give n values or an (N, n) batch")
    if array.shape[0] == 0:
        raise InputError("the batch of starts is empty")
    if not np.isfinite(array).all():
        raise InputError("the start point must be finite (a value is infinite, not a number, "
                         "or too large for floating point)")
    return np.ascontiguousarray(array), batch


#: whole numbers below this convert to float without overflow (quick path of _start_points)
MAX_START_INT = 2**1000


# -- results ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunResult:
    """What a backend returns; :func:`_finish` turns it into a :class:`Trajectory`."""

    xs: np.ndarray           # (S+1, N, n) or (2, N, n)
    fs: np.ndarray           # (S+1, N)
    grad_norms: np.ndarray   # (S+1, N)
    row_steps: np.ndarray    # (N,) updates taken per start
    row_codes: np.ndarray    # (N,) index into STATUS_ORDER
    details: tuple[str, ...] = ()   # per start, when known: why it diverged or left the domain
    kept_steps: np.ndarray | None = None   # the step of each row of xs, for a thinned path


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
        stopped = status in (Status.DIVERGED, Status.DOMAIN)
        reason = _reason(status, steps, float(gn[-1]), tol, detail)
        kept = result.kept_steps
        if kept is not None and len(kept) == steps + 1:
            kept = None  # every iterate is there after all
        return Trajectory(names, optimizer.name, optimizer.lr, dict(optimizer.hyperparameters),
                          xs, fs, gn, status, steps if status is Status.DIVERGED else None,
                          steps, tol, reason, None, None, kept is None and len(xs) == steps + 1,
                          detail if stopped else "",
                          steps if status is Status.DOMAIN else None, kept)
    status = STATUS_ORDER[int(codes.min())]
    firsts: dict[Status, int | None] = {}
    for which in (Status.DIVERGED, Status.DOMAIN):
        rows = codes == _CODE[which]
        firsts[which] = int(result.row_steps[rows].min()) if rows.any() else None
    steps = int(result.row_steps.max())
    counts = {s: int((codes == _CODE[s]).sum()) for s in STATUS_ORDER}
    parts = [f"{counts[s]} {s.value}" for s in STATUS_ORDER if counts[s]]
    reason = f"Of {len(codes)} starts: " + ", ".join(parts)
    if firsts[Status.DIVERGED] is not None:
        reason += f"; the first divergence came at step {firsts[Status.DIVERGED]}"
    if firsts[Status.DOMAIN] is not None:
        reason += f"; the first exit from the domain came at step {firsts[Status.DOMAIN]}"
    return Trajectory(names, optimizer.name, optimizer.lr, dict(optimizer.hyperparameters),
                      result.xs, result.fs, result.grad_norms, status, firsts[Status.DIVERGED],
                      steps, tol, reason, result.row_steps, result.row_codes, keep, "",
                      firsts[Status.DOMAIN])


def _reason(status: Status, steps: int, grad_norm: float, tol: float, detail: str) -> str:
    plural = "s" if steps != 1 else ""
    if status is Status.CONVERGED:
        return f"After {steps} step{plural}, |∇f| = {grad_norm:.3g} < {tol:g}"
    if status is Status.MAX_STEPS:
        return f"After {steps} step{plural}, |∇f| = {grad_norm:.3g} is still ≥ {tol:g}"
    if status is Status.SINGULAR:
        return f"The Hessian at step {steps} is singular (condition number above 1e15)"
    if status is Status.DOMAIN:
        return f"At step {steps} the run left the domain of f: {detail}"
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


# -- leaving the domain -----------------------------------------------------------------------

#: most rows of a batch examined one by one for a domain exit; beyond, a NaN decides
MAX_DOMAIN_CHECKS = 4096
_CHECKERS: dict[tuple[Any, ...], Callable[[np.ndarray, bool], str | None]] = {}


def _find_domain_exits(result: RunResult, problem: Problem, compiled: Compiled) -> RunResult:
    """Re-mark as ``domain`` the diverged rows that stopped at a finite point (within the
    bound) where f or ∇f is not a real number; the rest stay diverged (overflow)."""
    codes = result.row_codes
    diverged = np.flatnonzero(codes == _CODE[Status.DIVERGED])
    if diverged.size == 0:
        return result
    final = result.xs[-1][diverged]
    f, g = result.fs[-1][diverged], result.grad_norms[-1][diverged]
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(final).all(axis=1) & (np.abs(final) <= RUNAWAY).all(axis=1)
        candidate = inside & ~(np.isfinite(f) & np.isfinite(g))
    rows = diverged[candidate]
    if rows.size == 0:
        return result
    single = len(codes) == 1
    checker = _domain_checker(problem, compiled)
    new_codes = codes.copy()
    details = list(result.details) if single and result.details else [""] * single
    nan = np.isnan(f[candidate]) | np.isnan(g[candidate])
    for count, row in enumerate(rows):
        if count < MAX_DOMAIN_CHECKS:
            why = checker(result.xs[-1][row], single)  # words only for a single run
        else:
            why = "f or its gradient is not a number" if nan[count] else None
        if why is not None:
            new_codes[row] = _CODE[Status.DOMAIN]
            if single:
                details[0] = why
    return RunResult(result.xs, result.fs, result.grad_norms, result.row_steps, new_codes,
                     tuple(details), result.kept_steps)


def undefined_at(problem: Problem, compiled: Compiled, point: Sequence[float]) -> str | None:
    """Why f or ∇f is not a real number at the finite ``point`` ("f is undefined at (x = -1):
    the square root of a negative number (x = -1)"), or ``None`` when both are real numbers
    there or merely overflow."""
    return _domain_checker(problem, compiled)(np.asarray(point, dtype=float), True)


def _domain_checker(problem: Problem, compiled: Compiled,
                    ) -> Callable[[np.ndarray, bool], str | None]:
    """``check(point, words)`` for a finite point: why f or ∇f is not a real number there, or
    ``None`` when they are (or when they only overflowed); without ``words`` the reason is
    "" (a batch row needs only the verdict, and finding the culprit costs a millisecond)."""
    key = (problem.expr, problem.variables)
    found = _CHECKERS.get(key)
    if found is not None:
        return found
    from symgd.numeric.codegen import lambdify_math

    names = problem.names
    labels = ["f", *(f"∂f/∂{name}" for name in names)] if len(names) > 1 else ["f", "f′"]
    exprs = (problem.expr, *compiled.gradient)
    scalar: list[Callable[..., Any]] = []

    def check(point: np.ndarray, words: bool = True) -> str | None:
        with np.errstate(all="ignore"):
            values = compiled.value_grad_columns([np.array([float(v)]) for v in point])
        bad = [i for i, v in enumerate(values) if not math.isfinite(float(v[0]))]
        if not bad:
            return None
        if not scalar:
            scalar.append(lambdify_math(problem.variables, exprs))
        cause = ""
        try:
            exact = scalar[0](*(float(v) for v in point))
        except OverflowError:
            return None
        except ZeroDivisionError:
            cause = "a division by zero"
        except (ValueError, TypeError):
            cause = "a function applied outside its domain"
        else:
            imaginary = [i for i, v in enumerate(exact)
                         if isinstance(v, complex) and v.imag != 0]
            if not imaginary:
                return None  # inf or NaN from arithmetic that overflowed
            cause = "its value would be a complex number"
        if not words:
            return ""
        culprit = _culprit([exprs[i] for i in dict.fromkeys([0, *bad])], problem.variables,
                           point)
        if len(bad) == 1:
            which = f"{labels[bad[0]]} is"
        else:
            which = "f and its gradient are" if bad[0] == 0 else "the gradient is"
        return f"{which} undefined at {_point_text(names, point)}: {culprit or cause}"

    if len(_CHECKERS) > 64:
        _CHECKERS.clear()
    _CHECKERS[key] = check
    return check


def _point_text(names: Sequence[str], point: np.ndarray) -> str:
    """``(x = 1, y = -0.5)``."""
    at = ", ".join(f"{name} = {float(v):.6g}" for name, v in zip(names, point, strict=True))
    return f"({at})"


def _culprit(exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol], point: np.ndarray,
             limit: int = 2000) -> str:
    """The first piece of ``exprs`` that is undefined at ``point``, in words ("" if none is
    found among the first ``limit`` subexpressions)."""
    mapping = {v: sp.Float(float(x), 17) for v, x in zip(variables, point, strict=True)}
    seen = 0
    for expr in exprs:
        for node in sp.preorder_traversal(expr):
            seen += 1
            if seen > limit:
                return ""
            why = _undefined(node, mapping)
            if why:
                return why
    return ""


def _undefined(node: sp.Basic, mapping: Mapping[sp.Symbol, sp.Float]) -> str:
    """Why ``node`` (one function or power) has no real value at ``mapping``, or ""."""
    if not node.args or not node.free_symbols:
        return ""

    def value(expr: sp.Basic) -> float | None:
        try:
            number = complex(expr.xreplace(mapping).evalf(17))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        return number.real if number.imag == 0 else None

    def named(expr: sp.Basic) -> str:
        text = str(expr)
        return text if len(text) <= 40 else "its argument"

    if isinstance(node, sp.Pow):
        base, exponent = node.args
        if not exponent.is_number:
            return ""
        b = value(base)
        if b is None:
            return ""
        if b == 0 and exponent.is_negative:
            return f"a division by zero ({named(base)} = 0)"
        if b < 0 and not exponent.is_integer:
            kind = ("the square root of a negative number" if exponent == sp.Rational(1, 2)
                    or exponent == -sp.Rational(1, 2) else "a fractional power of a negative "
                    "number")
            return f"{kind} ({named(base)} = {b:.6g})"
        return ""
    rule = _DOMAINS.get(type(node))
    if rule is None:
        return ""
    outside, words = rule
    a = value(node.args[0])
    if a is None or not outside(a):
        return ""
    return f"{words} ({named(node.args[0])} = {a:.6g})"


#: function -> (is this argument outside its real domain?, the words for it)
_DOMAINS: dict[type, tuple[Callable[[float], bool], str]] = {
    sp.log: (lambda a: a <= 0, "the logarithm of a number ≤ 0"),
    sp.asin: (lambda a: abs(a) > 1, "asin of a number outside [−1, 1]"),
    sp.acos: (lambda a: abs(a) > 1, "acos of a number outside [−1, 1]"),
    sp.acosh: (lambda a: a < 1, "acosh of a number below 1"),
    sp.atanh: (lambda a: abs(a) >= 1, "atanh of a number outside (−1, 1)"),
}


# -- which iterates a single run keeps ----------------------------------------------------------

class _PathKeeper:
    """The iterates one run keeps: every one (``whole``), or the first :data:`PATH_HEAD`, then
    every ``stride``-th (the stride doubles whenever more than :data:`PATH_POINTS` are held),
    and always the last one added."""

    def __init__(self, n: int, whole: bool) -> None:
        self.n = n
        self.whole = whole
        self.stride = 1
        self.count = 0
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.last: tuple[int, np.ndarray, float, float] | None = None

    def add(self, first: int, xs: np.ndarray, fs: np.ndarray, gn: np.ndarray) -> None:
        """Offer the iterates of steps ``first, first + 1, ...``."""
        m = len(xs)
        if m == 0:
            return
        self.last = (first + m - 1, xs[-1].copy(), float(fs[-1]), float(gn[-1]))
        steps = np.arange(first, first + m)
        if not self.whole:
            chosen = (steps < PATH_HEAD) | (steps % self.stride == 0)
            if not chosen.all():
                steps, xs, fs, gn = steps[chosen], xs[chosen], fs[chosen], gn[chosen]
        if len(steps):
            self.parts.append((steps, np.asarray(xs, dtype=float), np.asarray(fs, dtype=float),
                               np.asarray(gn, dtype=float)))
            self.count += len(steps)
        while not self.whole and self.count > PATH_POINTS:
            self.stride *= 2
            steps, xs, fs, gn = self._joined()
            chosen = (steps < PATH_HEAD) | (steps % self.stride == 0)
            self.parts = [(steps[chosen], xs[chosen], fs[chosen], gn[chosen])]
            self.count = int(chosen.sum())

    def add_one(self, k: int, x: np.ndarray, f: float, g: float) -> None:
        """Offer the iterate of step ``k`` (the next one)."""
        if self.whole or k < PATH_HEAD or k % self.stride == 0:
            # a copy: the caller may update its iterate in place
            self.add(k, np.array(x, dtype=float).reshape(1, self.n), np.array([f]),
                     np.array([g]))
        else:
            self.last = (k, np.array(x, dtype=float), float(f), float(g))

    def _joined(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if len(self.parts) == 1:
            return self.parts[0]
        steps, xs, fs, gn = zip(*self.parts, strict=True)
        return (np.concatenate(steps), np.concatenate(xs), np.concatenate(fs),
                np.concatenate(gn))

    def result(self, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(steps, xs, fs, grad_norms)`` up to step ``end`` (which must have been added)."""
        steps, xs, fs, gn = self._joined() if self.parts else (
            np.zeros(0, dtype=np.int64), np.zeros((0, self.n)), np.zeros(0), np.zeros(0))
        if len(steps) and steps[-1] > end:
            upto = steps <= end
            steps, xs, fs, gn = steps[upto], xs[upto], fs[upto], gn[upto]
        if self.last is not None and self.last[0] == end and (not len(steps) or steps[-1] < end):
            k, x, f, g = self.last
            steps = np.append(steps, k)
            xs = np.vstack([xs, x.reshape(1, self.n)])
            fs, gn = np.append(fs, f), np.append(gn, g)
        return steps, xs, fs, gn


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
                steps: int, tol: float, keep: bool = True) -> RunResult:
    """One start on Python floats. The steps run in chunks of at most :data:`CHUNK_FLOATS`
    coordinates; each chunk is checked, then handed to a :class:`_PathKeeper` (``keep``: the
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
    keeper = _PathKeeper(n, keep)
    chunk = max(1, CHUNK_FLOATS // (k * n))   # calls per chunk
    segments: list[np.ndarray] = [np.asarray(x0, dtype=float).reshape(1, n)]
    done = 0          # updates computed so far
    examined = 0      # points before this index have been checked (and handed on)
    stop: int | None = None
    status = Status.MAX_STEPS
    detail = ""
    unchecked = 0     # calls to run without the early alarm, after a false alarm
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
                stop, status, detail = done, Status.DIVERGED, "the arithmetic overflowed"
        points = np.concatenate(segments) if len(segments) > 1 else segments[0]
        segments = []
        fs, gn = evaluate_points(compiled, points)
        first, why = _first_stop(points, fs, gn, tol)
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
    end = steps if stop is None else stop
    kept, xs, fs_all, gn_all = keeper.result(end)
    if status is Status.DIVERGED and not detail:
        detail = _diagnose(xs[-1], float(fs_all[-1]), float(gn_all[-1]))
    return RunResult(xs[:, None, :], fs_all[:, None], gn_all[:, None],
                     np.array([end]), np.array([_CODE[status]], dtype=np.int8), (detail,),
                     None if keep else kept)


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
    # one start without its whole path: a thinned path, kept as the run goes
    keeper = _PathKeeper(n, False) if count == 1 and not keep_path else None
    xs = np.empty((length, count, n))
    fs = np.empty((length, count))
    gn = np.empty((length, count))
    workers = min(-(-count // rows), os.cpu_count() or 1, MAX_THREADS)
    # equal blocks, as many per thread: no thread waits on a last, longer block
    per = -(-count // (workers * -(-count // (rows * workers))))
    blocks = [(a, min(count, a + per)) for a in range(0, count, per)]

    # a short single run takes the optimizer's own numpy update: generating the fused step
    # would cost more than it saves (a second or more for a hundred variables)
    short = count * steps <= SHORT_UNFUSED and _fused_key(compiled, optimizer) not in _BATCH_STEPS
    step = None if rule is None or short else _batch_step(compiled, optimizer)

    def run(block: tuple[int, int]) -> None:
        a, b = block
        path, out = (xs, fs, gn), (row_steps, row_codes, final_x, final_f, final_g)
        with np.errstate(all="ignore"):  # per thread: numpy's error state is thread-local
            if step is None:
                _run_block(compiled, optimizer, starts[a:b], steps, tol, keep_path, a, path,
                           out, keeper)
            else:
                _run_block_fused(step, optimizer, starts[a:b], steps, tol, keep_path, a, path,
                                 out, keeper)

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
    if keeper is not None:
        kept, path_x, path_f, path_g = keeper.result(longest)
        return RunResult(path_x[:, None, :], path_f[:, None], path_g[:, None], row_steps,
                         row_codes, (), kept)
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
               out: tuple[np.ndarray, ...], keeper: _PathKeeper | None = None) -> None:
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
                     out: tuple[np.ndarray, ...], keeper: _PathKeeper | None = None) -> None:
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
        if keeper is not None:
            keeper.add_one(k, np.array([np.ravel(xi)[0] for xi in x]), float(f[0]),
                           math.sqrt(gsq[0]))
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
