"""What a descent run produces and when it stops: why it stopped (:class:`Status`), the
:class:`Trajectory` handed to the user, the raw :class:`RunResult` every backend returns, and
the stop rules every backend applies (:data:`RUNAWAY`, :func:`first_stop`, :func:`diagnose`).
What the run reached (its :class:`~symgd.numeric.outcomes.Outcome`) is decided afterwards, in
:mod:`symgd.numeric.outcomes`.

Shared by :mod:`symgd.numeric.runner` and :mod:`symgd.numeric.numba_backend`, which import it
and not each other's internals.
"""

from __future__ import annotations

import enum
import html
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from symgd.base.i18n import N_, _

if TYPE_CHECKING:
    from symgd.numeric.outcomes import Outcome

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

#: the last iterates every run keeps for its outcome (two periods of the longest cycle sought)
TAIL_POINTS = 16

#: most floats a batch keeps for those last iterates; beyond, cycles go undetected
MAX_TAIL_FLOATS = 20_000_000


def tail_length(steps: int, count: int, n: int) -> int:
    """How many last iterates a run of ``count`` starts in ``n`` variables keeps apart from
    its path: :data:`TAIL_POINTS` (fewer for a shorter run), or 0 beyond
    :data:`MAX_TAIL_FLOATS`."""
    recent = min(TAIL_POINTS, steps + 1)
    return recent if recent * count * n <= MAX_TAIL_FLOATS else 0


class Status(enum.Enum):
    """Why a run stopped."""

    CONVERGED = "converged"
    MAX_STEPS = "max_steps"
    DIVERGED = "diverged"
    DOMAIN = "domain"
    SINGULAR = "singular"

    @property
    def message(self) -> str:
        """What the status means, in plain words (in the language in effect), with the usual
        remedy."""
        return _(_MESSAGES[self])


_MESSAGES = {
    Status.CONVERGED: N_("converged: the gradient norm fell below the tolerance"),
    Status.MAX_STEPS: N_(
        "stopped after the maximum number of steps before the gradient norm fell "
        "below the tolerance; allow more steps or adjust the learning rate"
    ),
    Status.DIVERGED: N_(
        "diverged: the iterates ran away (a value became infinite or larger than "
        "1e12); lower the learning rate, or the function may be unbounded below"
    ),
    Status.DOMAIN: N_(
        "left the domain: f or its gradient is not a real number at the iterate "
        "(for example the square root or logarithm of a negative number, or a "
        "division by zero); lower the learning rate or start farther inside the "
        "domain of f"
    ),
    Status.SINGULAR: N_("stopped: the Hessian is singular, so Newton's step is undefined there"),
}

#: batch outcome codes, most severe first
STATUS_ORDER: tuple[Status, ...] = (
    Status.DIVERGED,
    Status.DOMAIN,
    Status.SINGULAR,
    Status.MAX_STEPS,
    Status.CONVERGED,
)
STATUS_CODE = {status: code for code, status in enumerate(STATUS_ORDER)}


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The iterates of one run (or a batch of runs) with f, |∇f|, why the run stopped
    (``status``) and what it reached (``outcome``; for a cycle ``cycle_period`` is its period).
    A batch has ``outcome`` ``None``: ``row_outcomes()`` and ``row_periods`` give each start's,
    and :meth:`row` one start as a run of its own."""

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
    outcome: Outcome | None = None
    cycle_period: int | None = None
    row_outcome_codes: np.ndarray | None = field(default=None, repr=False)
    row_periods: np.ndarray | None = field(default=None, repr=False)
    minimizes: bool = True

    @property
    def is_batch(self) -> bool:
        """True when the run started from a batch of points."""
        return self.xs.ndim == 3

    @property
    def start(self) -> np.ndarray:
        """The start point (``(n,)``, or ``(N, n)`` for a batch)."""
        start: np.ndarray = self.xs[0]
        return start

    @property
    def final(self) -> np.ndarray:
        """The last iterate (``(n,)``, or ``(N, n)`` for a batch)."""
        final: np.ndarray = self.xs[-1]
        return final

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
        if not self.reason:
            return self.status.message
        return _("{status}. {reason}.").format(status=self.status.message, reason=self.reason)

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

    def row_outcomes(self) -> list[Outcome]:
        """Each start's outcome (a one-element list for a single run; empty when unknown)."""
        from symgd.numeric.outcomes import OUTCOME_ORDER

        if self.row_outcome_codes is None:
            return [] if self.outcome is None else [self.outcome]
        return [OUTCOME_ORDER[int(code)] for code in self.row_outcome_codes]

    @property
    def outcome_message(self) -> str:
        """The outcome in plain words, in the language in effect ("" when unknown)."""
        from symgd.numeric.outcomes import outcome_text

        if self.outcome is None:
            return ""
        return outcome_text(self.outcome, self.cycle_period, self.minimizes)

    def row(self, index: int) -> Trajectory:
        """Start ``index`` of a batch as a run of its own (its path as far as the batch kept
        it: every iterate up to its stop, or its start and final point)."""
        if not self.is_batch:
            raise ValueError("row() picks one start of a batch; this is a single run")
        count = self.xs.shape[1]
        if not -count <= index < count:
            raise IndexError(f"row {index} of a batch of {count} starts")
        assert self.row_steps is not None and self.row_codes is not None
        i = index % count
        steps = int(self.row_steps[i])
        status = STATUS_ORDER[int(self.row_codes[i])]
        outcomes = self.row_outcomes()
        period = None if self.row_periods is None else int(self.row_periods[i]) or None
        if self.path_kept:
            xs, fs, gn, kept = (
                self.xs[: steps + 1, i],
                self.fs[: steps + 1, i],
                self.grad_norms[: steps + 1, i],
                None,
            )
        else:
            xs, fs, gn = self.xs[[0, -1], i], self.fs[[0, -1], i], self.grad_norms[[0, -1], i]
            kept = np.array([0, steps]) if steps else None
            if not steps:
                xs, fs, gn = xs[:1], fs[:1], gn[:1]
        return Trajectory(
            self.variables,
            self.method,
            self.lr,
            dict(self.hyperparameters),
            xs,
            fs,
            gn,
            status,
            steps if status is Status.DIVERGED else None,
            steps,
            self.tol,
            "",
            None,
            None,
            self.path_kept or steps == 0,
            "",
            steps if status is Status.DOMAIN else None,
            kept,
            outcomes[i] if outcomes else None,
            period,
            None,
            None,
            self.minimizes,
        )

    def to_dict(self, trajectory: bool = False) -> dict[str, Any]:
        """The ``symgd descend --json`` shape (plain floats; ``trajectory`` adds the points kept,
        every iterate when the run kept its path, else a thinned path and, as
        ``trajectory_steps``, the step number of each of its points).

        JSON has no NaN or infinity: a number that is not finite (a diverged run's last
        iterate, f outside its domain) is ``None``; ``diverged_at`` and ``domain_at`` are
        ``None`` unless the run stopped that way. ``outcome`` is what the run reached (see
        :mod:`symgd.numeric.outcomes`); ``cycle_period`` is there only for a cycle.
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
        if self.outcome is not None:
            payload["outcome"] = self.outcome.value
            if self.cycle_period:
                payload["cycle_period"] = int(self.cycle_period)
        if trajectory:
            payload["trajectory"] = [[finite_or_none(v) for v in point] for point in self.xs]
            if not self.path_kept:
                payload["trajectory_steps"] = [int(k) for k in self.step_numbers]
        return payload

    def _repr_html_(self) -> str:
        e = html.escape
        if self.is_batch:
            head = _("{method}, η = {lr}: {count} starts, {status}.").format(
                method=self.method,
                lr=f"{self.lr:g}",
                count=len(self.xs[0]),
                status=self.status.value,
            )
            return f"<p>{e(head)} {e(self.reason)}</p>"
        reached = (
            ". " + e(_("Outcome: {outcome}").format(outcome=self.outcome_message))
            if self.outcome is not None
            else ""
        )
        rows = "".join(
            f"<tr><td>{e(name)}</td><td>{number_text(self.xs[0][i], 6)}</td>"
            f"<td>{e(number_text(self.xs[-1][i], 6))}</td></tr>"
            for i, name in enumerate(self.variables)
        )
        steps = e(_("{lr}, {n} steps:").format(lr=f"η = {self.lr:g}", n=self.steps))
        return (
            f"<p><b>{e(self.method)}</b>, {steps} "
            f"<b>{e(self.status.value)}</b>. {e(self.reason)}{reached}</p>"
            f"<table><tr><th></th><th>{e(_('start'))}</th><th>{e(_('final'))}</th></tr>"
            f"{rows}</table>"
            f"<p>f = {e(number_text(self.fs[-1], 6))}, "
            f"|∇f| = {e(number_text(self.grad_norms[-1], 3))}</p>"
        )


def finite_or_none(value: Any) -> float | None:
    """``float(value)``, or ``None`` when it is not a finite number (JSON has no NaN)."""
    number = float(value)
    return number if math.isfinite(number) else None


def number_text(value: Any, digits: int = 10) -> str:
    """A float for people: ``digits`` significant digits, and words where it is not finite."""
    number = float(value)
    if math.isnan(number):
        return _("not a real number")
    if math.isinf(number):
        return _("overflowed") if number > 0 else _("overflowed (negative)")
    return f"{number:.{digits}g}"


@dataclass(frozen=True)
class RunResult:
    """What a backend returns; :func:`_finish` turns it into a :class:`Trajectory`."""

    xs: np.ndarray  # (S+1, N, n) or (2, N, n)
    fs: np.ndarray  # (S+1, N)
    grad_norms: np.ndarray  # (S+1, N)
    row_steps: np.ndarray  # (N,) updates taken per start
    row_codes: np.ndarray  # (N,) index into STATUS_ORDER
    details: tuple[str, ...] = ()  # per start, when known: why it diverged or left the domain
    kept_steps: np.ndarray | None = None  # the step of each row of xs, for a thinned path
    #: (T, N, n): each start's last iterates, its final one last (NaN before step 0), when
    #: xs does not hold them; only the starts that used the whole budget need theirs
    tail: np.ndarray | None = None


def diagnose(x: np.ndarray, f: float, grad_norm: float) -> str:
    """Why one iterate counts as diverged, in words (in the language in effect)."""
    if not np.isfinite(x).all():
        return _("the iterate is no longer a finite number")
    if np.abs(x).max() > RUNAWAY:
        return _("a coordinate exceeded {bound} in size").format(bound=RUNAWAY_TEXT)
    if not math.isfinite(f):
        return _("f is no longer a finite number")
    if abs(f) > RUNAWAY:
        return _("|f| exceeded {bound}").format(bound=RUNAWAY_TEXT)
    if not math.isfinite(grad_norm):
        return _("the gradient is no longer finite")
    return _("the arithmetic overflowed")


def first_stop(
    points: np.ndarray,
    fs: np.ndarray,
    gn: np.ndarray,
    tol: float,
) -> tuple[int | None, Status | None]:
    """The first index where a run must stop (and why), or ``(None, None)``."""
    with np.errstate(all="ignore"):
        # one cheap pass: any |x_i| or |f| above the bound, or anything non-finite, pushes
        # `size` above RUNAWAY (or makes it NaN); the exact tests run on those points only
        size = np.abs(fs) + np.einsum("ij,ij->i", points, points) * (1.0 / RUNAWAY) + gn * 0.0
        suspect = ~(size <= RUNAWAY)
        if tol > 0:
            suspect |= gn < tol
        where = np.flatnonzero(suspect)
        if where.size == 0:
            return None, None
        p, f, g = points[where], fs[where], gn[where]
        bad = (
            ~np.isfinite(p).all(axis=1)
            | (np.abs(p) > RUNAWAY).any(axis=1)
            | ~np.isfinite(f)
            | (np.abs(f) > RUNAWAY)
            | ~np.isfinite(g)
        )
        stop = bad | (g < tol)
    if not stop.any():
        return None, None
    k = int(np.argmax(stop))
    return int(where[k]), (Status.DIVERGED if bad[k] else Status.CONVERGED)
