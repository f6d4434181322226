"""What a descent run produces and when it stops: the outcome (:class:`Status`), the
:class:`Trajectory` handed to the user, the raw :class:`RunResult` every backend returns, and
the stop rules every backend applies (:data:`RUNAWAY`, :func:`first_stop`, :func:`diagnose`).

Shared by :mod:`symgd.numeric.runner` and :mod:`symgd.numeric.numba_backend`, which import it
and not each other's internals.
"""

from __future__ import annotations

import enum
import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: |x_i| or |f| beyond this counts as a runaway iterate
RUNAWAY = 1e12

#: the default tolerance on |∇f|
DEFAULT_TOL = 1e-10
RUNAWAY_TEXT = "1e12"

#: by default a batch keeps its whole path only up to this many floats in xs (80 MB)
AUTO_PATH_FLOATS = 10_000_000

#: most floats a kept path may hold (xs, 480 MB); beyond it pass trajectory=False
MAX_PATH_FLOATS = 60_000_000

#: most iterates a thinned single-start path holds (trajectory=False), besides the last
PATH_POINTS = 2048

#: the first iterates a thinned path always keeps (the first steps are the ones people study)
PATH_HEAD = 16


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
STATUS_CODE = {status: code for code, status in enumerate(STATUS_ORDER)}


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


def diagnose(x: np.ndarray, f: float, grad_norm: float) -> str:
    """Why one iterate counts as diverged, in words."""
    if not np.isfinite(x).all():
        return "the iterate is no longer a finite number"
    if np.abs(x).max() > RUNAWAY:
        return f"a coordinate exceeded {RUNAWAY_TEXT} in size"
    if not math.isfinite(f):
        return "f is no longer a finite number"
    if abs(f) > RUNAWAY:
        return f"|f| exceeded {RUNAWAY_TEXT}"
    if not math.isfinite(grad_norm):
        return "the gradient is no longer finite"
    return "the arithmetic overflowed"


def first_stop(points: np.ndarray, fs: np.ndarray, gn: np.ndarray, tol: float,
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
