"""What a finished run did (:class:`Outcome`), decided once per run after it stops, for every
row of a batch at once (:func:`classify_runs`).

``status`` says why a run stopped; ``outcome`` says what it reached, and only what was shown.
Notation: x₀ is the start, x* the last iterate, g = ∇f(x*), H the Hessian; σ = +1 for a method
that minimizes (every one but ``ascent``; Newton counts as one) and −1 for ascent; the run's
length scale is S = max(1, ‖x*‖∞, ‖x* − x₀‖∞). The rules, by status:

- ``domain`` → ``domain`` (an iterate left the set where f and ∇f are real numbers);
  ``singular`` → ``singular`` (Newton's Hessian was singular).
- ``diverged`` → ``unbounded`` when σ·f(x*) < −1e12 (or is −∞) and below σ·f(x₀): f itself
  fell (rose, for ascent) past the runaway bound, as descent on x³ from −1 or on x² + 2xy;
  else ``diverged`` (the iterates or f grew: η too large for where they were, as w² with
  η = 1.2).
- ``converged`` (|g| < tol) → the critical-point test below with *near* = 0.05·S:
  ``minimum``, ``maximum``, ``saddle``, ``degenerate`` or ``flat``.
- ``max_steps``:

  1. ``cycle`` when the last iterates repeat with a period p in 2..8 (the smallest such p is
     ``cycle_period``): every one of the last p iterates lies within 1e-6·A of the iterate p
     steps before it (∞-norm), A being the largest step among the last 2p iterates, and A is
     more than a rounding error (64 ε ‖x*‖∞). The last 16 iterates (``TAIL_POINTS``) are
     kept for this even when the stored path is thinned. A run whose iterates stopped
     changing (every step within rounding) counts as a stop with a vanished gradient: the
     test below with *near* = 0.05·S.
  2. ``unfinished`` when the last step was longer than 1e-3·S: the run is still moving;
  3. else the critical-point test with *near* = 1e-6·S, whose only accepted answers are a
     nondegenerate ``minimum``, ``maximum`` or ``saddle`` reached to within 1e-6·S (the run
     is there to six digits of its scale, though |g| is still ≥ tol);
  4. else ``unfinished``: the budget ran out while the run was still moving.

The critical-point test (Newton's method from x*, on the compiled Hessian). Eigenvalues λ of
H with |λ| ≤ 1e-8·max|λ| count as zero; the Newton step is Δ = −H⁺g (pseudo-inverse over the
nonzero eigenvalues).

- *At precision*: g = 0, or ‖Δ‖∞ ≤ 64 ε ‖x*‖∞ (x* is a critical point to working precision).
- *Quadratic*: |∇f(x* + Δ)| ≤ 1e-3·|g| (Newton converges quadratically, which happens only
  at a nondegenerate critical point), and ‖Δ‖∞ ≤ near.

Either way the signs of λ at x* classify it: all > 0 ``minimum``, all < 0 ``maximum``, both
signs ``saddle`` (even with a zero eigenvalue), else (a zero eigenvalue and no two signs)
``degenerate``. Otherwise (converged runs only) up to :data:`NEWTON_ITERATIONS` more Newton
steps follow: when they contract (the last two steps' ratio ρ ≤ 0.9), as they do linearly
toward a degenerate critical point (x⁴, x³ at 0), the critical point is estimated at the
distance D = Σ‖Δₖ‖ + ‖Δ_last‖·ρ/(1 − ρ) (exact for pure powers), and the outcome is
``degenerate`` when D ≤ near; when they stop contracting, or D > near, the gradient merely
became tiny where no critical point is near: ``flat`` (Adam far out on exp(−(x² + y²))).
A step of Newton's iteration that is not a finite number ends it.

Where f is not smooth (abs, relu) the compiled Hessian is the one of the smooth piece, so a
stop exactly on a kink with ∇f = 0 there (sign(0) = 0) reads as ``degenerate``; a gradient
that underflowed to exactly 0 (far out on an exponential plateau) reads as a critical point
of the floating-point function. The lesson says which facts of f make those readings apply.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from symgd.base.i18n import N_, _
from symgd.expr.batch import Compiled
from symgd.numeric.results import RUNAWAY, STATUS_CODE, Status

#: periods looked for
CYCLE_PERIODS = range(2, 9)
#: a cycle repeats to within this fraction of its largest step
CYCLE_RTOL = 1e-6
#: steps within this many ulps of x are rounding, not motion
ROUNDING_ULPS = 64.0
#: eigenvalues within this fraction of the largest |λ| count as zero
ZERO_EIGENVALUE = 1e-8
#: Newton converges quadratically: the gradient after one step is at most this fraction
QUADRATIC = 1e-3
#: a critical point within this fraction of the run's length scale is where a run stopped
NEAR_STOP = 0.05
#: ... and where a run that used its whole budget arrived
NEAR_BUDGET = 1e-6
#: a run that used its budget and whose last step exceeds this fraction of its scale is moving
STILL_MOVING = 1e-3
#: Newton steps taken to tell a degenerate critical point from a flat region
NEWTON_ITERATIONS = 6
#: steps that shrink by at least this factor contract
CONTRACTING = 0.9

_EPS = float(np.finfo(float).eps)


class Outcome(enum.Enum):
    """What a finished run reached."""

    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    SADDLE = "saddle"
    DEGENERATE = "degenerate"
    FLAT = "flat"
    CYCLE = "cycle"
    UNBOUNDED = "unbounded"
    DIVERGED = "diverged"
    UNFINISHED = "unfinished"
    DOMAIN = "domain"
    SINGULAR = "singular"

    @property
    def words(self) -> str:
        """The outcome in plain words, in the language in effect (a cycle's period is added
        by the caller)."""
        return _(_WORDS[self])

    @property
    def name_words(self) -> str:
        """The outcome's name for people (``cycle``; the value stays the machine word)."""
        return _(_NAMES[self])

    def succeeded(self, minimizes: bool = True) -> bool:
        """True when the run reached what it looked for: a minimum (a maximum, for ascent)."""
        return self is (Outcome.MINIMUM if minimizes else Outcome.MAXIMUM)


_WORDS = {
    Outcome.MINIMUM: N_("reached a local minimum (the Hessian there is positive definite)"),
    Outcome.MAXIMUM: N_("reached a local maximum (the Hessian there is negative definite)"),
    Outcome.SADDLE: N_(
        "stopped at a saddle point (the Hessian there has eigenvalues of both signs)"
    ),
    Outcome.DEGENERATE: N_(
        "stopped at a critical point the second-order test cannot classify "
        "(the Hessian there is singular)"
    ),
    Outcome.FLAT: N_(
        "the gradient vanished numerically where no critical point is near: f is nearly flat there"
    ),
    Outcome.CYCLE: N_("the iterates repeat in a cycle and will not settle at this learning rate"),
    Outcome.UNBOUNDED: N_("f kept falling past −1e12: the run found no lower bound on f"),
    Outcome.DIVERGED: N_(
        "the iterates ran away: the learning rate is too large for where they were"
    ),
    Outcome.UNFINISHED: N_("the step budget ran out while the run was still moving"),
    Outcome.DOMAIN: N_("an iterate left the set where f is defined"),
    Outcome.SINGULAR: N_("Newton's step is undefined: the Hessian is singular"),
}
#: each outcome's name for people (its value is the machine word, the same in every language)
_NAMES = {
    Outcome.MINIMUM: N_("minimum"),
    Outcome.MAXIMUM: N_("maximum"),
    Outcome.SADDLE: N_("saddle"),
    Outcome.DEGENERATE: N_("degenerate"),
    Outcome.FLAT: N_("flat"),
    Outcome.CYCLE: N_("cycle"),
    Outcome.UNBOUNDED: N_("unbounded"),
    Outcome.DIVERGED: N_("diverged"),
    Outcome.UNFINISHED: N_("unfinished"),
    Outcome.DOMAIN: N_("domain"),
    Outcome.SINGULAR: N_("singular"),
}

#: codes of per-row outcome arrays
OUTCOME_ORDER: tuple[Outcome, ...] = tuple(Outcome)
OUTCOME_CODE = {outcome: code for code, outcome in enumerate(OUTCOME_ORDER)}


def outcome_text(outcome: Outcome, period: int | None = None, minimizes: bool = True) -> str:
    """One sentence for people, in the language in effect: ``cycle (period 2): the iterates
    repeat ...``."""
    words = outcome.words
    if outcome is Outcome.UNBOUNDED and not minimizes:
        words = _("f kept rising past 1e12: the run found no upper bound on f")
    if period:
        return _("{outcome} (period {period}): {words}").format(
            outcome=outcome.name_words, period=period, words=words
        )
    return _("{outcome}: {words}").format(outcome=outcome.name_words, words=words)


@dataclass(frozen=True)
class RunEnds:
    """What the classifier reads of N finished runs (rows)."""

    codes: np.ndarray  # (N,) status codes (index into STATUS_ORDER)
    starts: np.ndarray  # (N, n)
    finals: np.ndarray  # (N, n)
    f_start: np.ndarray  # (N,)
    f_final: np.ndarray  # (N,)
    tail: np.ndarray | None  # (T, N, n): the last iterates, the final one last; NaN-padded


@dataclass(frozen=True)
class Outcomes:
    """Each row's outcome code (index into :data:`OUTCOME_ORDER`) and cycle period (0 if
    none)."""

    codes: np.ndarray
    periods: np.ndarray

    def outcome(self, row: int) -> Outcome:
        return OUTCOME_ORDER[int(self.codes[row])]

    def period(self, row: int) -> int | None:
        return int(self.periods[row]) or None


def classify_runs(ends: RunEnds, compiled: Compiled, minimizes: bool) -> Outcomes:
    """Every row's :class:`Outcome` by the rules of the module docstring."""
    count = len(ends.codes)
    out = np.full(count, OUTCOME_CODE[Outcome.UNFINISHED], dtype=np.int8)
    periods = np.zeros(count, dtype=np.int64)
    status = ends.codes
    out[status == STATUS_CODE[Status.DOMAIN]] = OUTCOME_CODE[Outcome.DOMAIN]
    out[status == STATUS_CODE[Status.SINGULAR]] = OUTCOME_CODE[Outcome.SINGULAR]
    diverged = np.flatnonzero(status == STATUS_CODE[Status.DIVERGED])
    if diverged.size:
        sign = 1.0 if minimizes else -1.0
        with np.errstate(invalid="ignore"):
            fell = (sign * ends.f_final[diverged] < -RUNAWAY) & (
                sign * ends.f_final[diverged] < sign * ends.f_start[diverged]
            )
        out[diverged] = np.where(
            fell, OUTCOME_CODE[Outcome.UNBOUNDED], OUTCOME_CODE[Outcome.DIVERGED]
        )
    budget = np.flatnonzero(status == STATUS_CODE[Status.MAX_STEPS])
    stopped = [np.flatnonzero(status == STATUS_CODE[Status.CONVERGED])]
    scale = _length_scale(ends)
    if budget.size and ends.tail is not None:
        # every row at once: a copy of the budget rows' tails would be laid out axis-swapped
        period, stalled = find_cycles(ends.tail)
        period, stalled = period[budget], stalled[budget]
        cycling = period > 0
        out[budget[cycling]] = OUTCOME_CODE[Outcome.CYCLE]
        periods[budget[cycling]] = period[cycling]
        stopped.append(budget[stalled])
        # a run whose last step is a sizeable part of its scale is still moving
        moving = last_steps(ends.tail)[budget] > STILL_MOVING * scale[budget]
        budget = budget[~cycling & ~stalled & ~moving]
    rows = np.concatenate(stopped)
    if rows.size:
        out[rows] = critical_point_codes(
            compiled, ends.finals[rows], scale[rows], NEAR_STOP, iterate=True
        )
    if budget.size:
        codes = critical_point_codes(
            compiled, ends.finals[budget], scale[budget], NEAR_BUDGET, iterate=False
        )
        kinds = np.isin(
            codes, [OUTCOME_CODE[o] for o in (Outcome.MINIMUM, Outcome.MAXIMUM, Outcome.SADDLE)]
        )
        out[budget[kinds]] = codes[kinds]
    return Outcomes(out, periods)


def _length_scale(ends: RunEnds) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        size = _rowmax(np.abs(ends.finals))
        moved = _rowmax(np.abs(ends.finals - ends.starts))
        return np.asarray(np.fmax(np.fmax(size, moved), 1.0), dtype=float)


def find_cycles(tail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the tails ``(T, R, n)`` of R runs: each run's smallest period in 2..8 (0 when
    none), and whether its last iterates stopped changing (every step within rounding)."""
    length, rows = tail.shape[0], tail.shape[1]
    period = np.zeros(rows, dtype=np.int64)
    stalled = np.zeros(rows, dtype=bool)
    if length < 2:
        return period, stalled
    with np.errstate(invalid="ignore"):
        steps = _stepmax(np.abs(np.diff(tail, axis=0)))  # (T-1, R)
        # largest[k]: the largest of the last k + 1 steps (NaN propagates)
        largest = _running_max(steps[::-1])
        rounding = ROUNDING_ULPS * _EPS * _rowmax(np.abs(tail[-1]))
        if length >= 3:
            stalled = (steps[-1] <= rounding) & (steps[-2] <= rounding)
        usable = [p for p in CYCLE_PERIODS if 2 * p <= length]
        if not usable:
            return period, stalled & (period == 0)
        # the last iterate against the one p before, for every p: a cheap first cut
        first = _stepmax(np.abs(tail[-1] - tail[-1 - usable[-1] : -1][::-1]))  # (P, R)
        for p in usable:
            amplitude = largest[2 * p - 2]  # the steps among the last 2p iterates
            bound = CYCLE_RTOL * amplitude
            candidates = np.flatnonzero(
                (period == 0) & (amplitude > rounding) & (first[p - 1] <= bound)
            )
            for j in range(1, p):
                if not candidates.size:
                    break
                close = (
                    _gap(tail[-1 - j, candidates], tail[-1 - j - p, candidates])
                    <= bound[candidates]
                )
                candidates = candidates[close]
            period[candidates] = p
    return period, stalled & (period == 0)


def _stepmax(a: np.ndarray) -> np.ndarray:
    """The largest entry along the last axis of a ``(K, R, n)`` array (NaN propagates)."""
    out = a[..., 0].copy()
    for i in range(1, a.shape[-1]):
        np.maximum(out, a[..., i], out=out)
    return out


def _running_max(a: np.ndarray) -> np.ndarray:
    """``numpy.maximum.accumulate(a, axis=0)`` of a ``(K, R)`` array; for many rows a row of
    K at a time, several times faster than numpy's accumulation along the first axis."""
    if a.shape[1] < 256:
        return np.asarray(np.maximum.accumulate(a, axis=0))
    out = np.empty_like(a)
    out[0] = a[0]
    for k in range(1, len(a)):
        np.maximum(out[k - 1], a[k], out=out[k])
    return out


def last_steps(tail: np.ndarray) -> np.ndarray:
    """The size (∞-norm) of each run's last step, from its tail (NaN when unknown)."""
    if tail.shape[0] < 2:
        return np.full(tail.shape[1], np.nan)
    with np.errstate(invalid="ignore"):
        return _gap(tail[-1], tail[-2])


def _gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """‖a − b‖∞ per row of two ``(R, n)`` arrays (NaN where either has a NaN)."""
    return _rowmax(np.abs(a - b))


# Row-wise reductions of (R, n) arrays, a column at a time: for the few columns of a typical
# f, numpy's reduction along a short last axis is several times slower.


def _rowmax(a: np.ndarray) -> np.ndarray:
    """The largest entry of each row (NaN when the row has one; 0 for no columns)."""
    if a.shape[1] == 0:
        return np.zeros(a.shape[0])
    if a.shape[1] > 8:
        return np.asarray(a.max(axis=1), dtype=float)
    out = a[:, 0].copy()
    for i in range(1, a.shape[1]):
        np.maximum(out, a[:, i], out=out)
    return out


def _rownorm(a: np.ndarray) -> np.ndarray:
    """The Euclidean norm of each row."""
    if a.shape[1] > 8:
        return np.asarray(np.linalg.norm(a, axis=1), dtype=float)
    total = np.zeros(a.shape[0])
    for i in range(a.shape[1]):
        total += a[:, i] * a[:, i]
    return np.sqrt(total)


def _rowall(a: np.ndarray) -> np.ndarray:
    """Whether every entry of each row of a boolean array is true."""
    if a.shape[1] > 8:
        return np.asarray(a.all(axis=1), dtype=bool)
    out = np.ones(a.shape[0], dtype=bool)
    for i in range(a.shape[1]):
        out &= a[:, i]
    return out


def critical_point_codes(
    compiled: Compiled, points: np.ndarray, scale: np.ndarray, near: float, iterate: bool
) -> np.ndarray:
    """Outcome codes of the critical-point test at each row of ``points`` (see the module
    docstring); ``iterate`` allows the extra Newton steps that tell ``degenerate`` from
    ``flat`` (without it such rows are ``flat``)."""
    count = len(points)
    codes = np.full(count, OUTCOME_CODE[Outcome.FLAT], dtype=np.int8)
    with np.errstate(all="ignore"):
        grad, eigenvalues, step, usable = _newton_step(compiled, points)
        gnorm = _rownorm(grad)
        size = _rowmax(np.abs(step))
        precise = usable & ((gnorm == 0) | (size <= ROUNDING_ULPS * _EPS * _rowmax(np.abs(points))))
        rest = np.flatnonzero(usable & ~precise & (size <= near * scale))
        quadratic = np.zeros(count, dtype=bool)
        if rest.size:
            after = _gradients(compiled, points[rest] + step[rest])
            quadratic[rest] = _rownorm(after) <= QUADRATIC * gnorm[rest]
        known = precise | quadratic
        codes[known] = _kinds(eigenvalues[known])
        degenerate = ~usable & np.isfinite(gnorm)
        codes[degenerate] = OUTCOME_CODE[Outcome.DEGENERATE]
        if iterate:
            left = np.flatnonzero(usable & ~known & (size <= near * scale))
            if left.size:
                codes[left] = _newton_tail(compiled, points[left], step[left], scale[left], near)
    return codes


def _kinds(eigenvalues: np.ndarray) -> np.ndarray:
    """Outcome codes from the Hessian's eigenvalues ``(R, n)`` by their signs."""
    low, high = eigenvalues[:, 0], eigenvalues[:, -1]  # ascending
    largest = np.maximum(np.abs(low), np.abs(high))
    zero = ZERO_EIGENVALUE * largest
    positive = low > zero
    negative = high < -zero
    mixed = (high > zero) & (low < -zero)
    codes = np.full(len(eigenvalues), OUTCOME_CODE[Outcome.DEGENERATE], dtype=np.int8)
    codes[positive & (largest > 0)] = OUTCOME_CODE[Outcome.MINIMUM]
    codes[negative & (largest > 0)] = OUTCOME_CODE[Outcome.MAXIMUM]
    codes[mixed] = OUTCOME_CODE[Outcome.SADDLE]
    return codes


def _gradients(compiled: Compiled, points: np.ndarray) -> np.ndarray:
    values = compiled.value_grad_columns(list(points.T))
    return np.stack(values[1:], axis=1)


def _newton_step(
    compiled: Compiled,
    points: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """∇f, the Hessian's eigenvalues, the Newton step −H⁺∇f and whether they are finite."""
    grad = _gradients(compiled, points)
    hessian = compiled.hessian_at(points)
    count = len(points)
    finite = _rowall(np.isfinite(hessian.reshape(count, -1))) & _rowall(np.isfinite(grad))
    safe = np.where(finite[:, None, None], hessian, 0.0)
    eigenvalues, vectors = symmetric_eigen(0.5 * (safe + np.swapaxes(safe, 1, 2)))
    largest = np.maximum(np.abs(eigenvalues[:, 0]), np.abs(eigenvalues[:, -1]))
    keep = np.abs(eigenvalues) > ZERO_EIGENVALUE * largest[:, None]
    inverse = np.where(keep, 1.0 / np.where(keep, eigenvalues, 1.0), 0.0)
    safe_grad = np.where(finite[:, None], grad, 0.0)
    along = np.einsum("rji,rj->ri", vectors, safe_grad) * inverse
    step = -np.einsum("rij,rj->ri", vectors, along)
    return grad, eigenvalues, step, finite


def symmetric_eigen(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.linalg.eigh`` of symmetric ``(R, n, n)`` matrices: eigenvalues ascending and
    eigenvectors as columns; for n ≤ 2 in closed form (several times faster on many rows)."""
    count, n = matrices.shape[0], matrices.shape[1]
    if n == 1:
        return matrices[:, :, 0].copy(), np.ones((count, 1, 1))
    if n > 2:
        values, vectors = np.linalg.eigh(matrices)
        return values, vectors
    a, b, d = matrices[:, 0, 0], matrices[:, 0, 1], matrices[:, 1, 1]
    mean = 0.5 * (a + d)
    radius = np.hypot(0.5 * (a - d), b)
    angle = 0.5 * np.arctan2(2.0 * b, a - d)  # the eigenvector of the larger eigenvalue
    cos, sin = np.cos(angle), np.sin(angle)
    values = np.stack([mean - radius, mean + radius], axis=1)
    vectors = np.empty((count, 2, 2))
    vectors[:, 0, 0], vectors[:, 1, 0] = -sin, cos
    vectors[:, 0, 1], vectors[:, 1, 1] = cos, sin
    return values, vectors


def _newton_tail(
    compiled: Compiled, points: np.ndarray, first: np.ndarray, scale: np.ndarray, near: float
) -> np.ndarray:
    """The outcome for rows where Newton's first step did not settle the question: more
    Newton steps; one that reaches a critical point to working precision classifies it by its
    Hessian, steps that keep contracting point to a degenerate critical point at their
    extrapolated limit, and the rest are ``flat``."""
    count = len(points)
    codes = np.full(count, OUTCOME_CODE[Outcome.FLAT], dtype=np.int8)
    travelled = _rowmax(np.abs(first))
    previous = travelled.copy()
    ratio = np.full(count, np.inf)
    alive = np.ones(count, dtype=bool)
    y = points + first
    for _iteration in range(NEWTON_ITERATIONS):
        grad, eigenvalues, step, usable = _newton_step(compiled, y)
        size = _rowmax(np.abs(step))
        alive &= usable & np.isfinite(size)
        precise = alive & (
            (_rownorm(grad) == 0) | (size <= ROUNDING_ULPS * _EPS * _rowmax(np.abs(y)))
        )
        if precise.any():
            inside = precise & (travelled <= near * scale)
            codes[inside] = _kinds(eigenvalues[inside])
            alive &= ~precise
        ratio = np.where(alive, size / np.where(previous > 0, previous, np.inf), ratio)
        travelled = travelled + np.where(alive, size, 0.0)
        previous = np.where(alive, size, previous)
        y = np.where(alive[:, None], y + step, y)
        if not alive.any():
            return codes
    contracting = alive & (ratio <= CONTRACTING)
    bounded = np.fmin(ratio, CONTRACTING)
    distance = travelled + previous * bounded / (1.0 - bounded)
    codes[contracting & (distance <= near * scale)] = OUTCOME_CODE[Outcome.DEGENERATE]
    return codes
