"""Heavy-ball momentum over a grid of learning rates η and momenta μ: how many steps each pair
needs from one start to bring |∇f| below a tolerance.

The rule is that of ``momentum`` in :mod:`symgd.numeric.optimizers` (torch.optim.SGD with
momentum μ and no dampening): ``v ← μ v + g``, ``x ← x − η v``, with ``v`` starting at 0. Every
cell of the grid advances at once: the coordinates, the buffers and the per-cell η and μ are
arrays over the cells, ∇f is the compiled batch gradient called on them, and a cell leaves the
arrays as soon as it stops. At step k (0, 1, ...) a cell stops

- *converged* when |∇f(x_k)| < ``tol`` (its count is k, the steps taken);
- *diverged* when f or a coordinate passes :data:`~symgd.numeric.results.RUNAWAY` in size or a
  value overflows; this test runs every :data:`CHECK_EVERY` steps (a run away does not come
  back, and the test costs as much as a step);
- *unfinished* when it used the whole ``budget`` without either.

:func:`momentum_bound` and :func:`optimal_pair` give what the quadratic model says about the
grid: momentum is stable for η < 2(1 + μ)/λ_max, and η* = 4/(√λ_max + √λ_min)²,
μ* = ((√κ − 1)/(√κ + 1))² make the slowest direction shrink fastest.

>>> import numpy as np
>>> grad = lambda x, y: (2 * x, 20 * y)
>>> found = momentum_map(grad, None, (1.0, 2.0), np.array([0.05, 0.2]), np.array([0.0, 0.5]),
...                      tol=1e-8, budget=500)
>>> found.steps.tolist(), found.codes.tolist()  # rows μ = 0, 0.5; columns η = 0.05, 0.2
([[182, 32], [61, 40]], [[0, 2], [0, 2]])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from symgd.numeric.results import RUNAWAY

#: a cell's outcome (:attr:`MomentumMap.codes`)
CONVERGED, UNFINISHED, DIVERGED = 0, 1, 2
#: the divergence test runs every this many steps (and at the last)
CHECK_EVERY = 8
#: the grid's size: learning rates (columns) and momenta (rows)
LR_COUNT = 60
MOMENTUM_COUNT = 40
#: the grid's learning rates span 2/λ_max divided by BELOW up to 2/λ_max times PAST
BELOW = 100.0
PAST = 2.6
#: the largest momentum of the grid
TOP_MOMENTUM = 0.99


@dataclass(frozen=True)
class MomentumMap:
    """The step counts over the grid: row i is momentum ``momenta[i]``, column j learning rate
    ``lrs[j]``."""

    lrs: np.ndarray
    momenta: np.ndarray
    #: (rows, columns): the step at which each cell stopped (the budget when unfinished)
    steps: np.ndarray
    #: (rows, columns): CONVERGED, UNFINISHED or DIVERGED
    codes: np.ndarray
    #: (rows, columns, n): where each cell stopped (NaN for a diverged cell)
    finals: np.ndarray
    budget: int
    tol: float

    def fastest(self) -> tuple[int, int] | None:
        """``(row, column)`` of the converged cell with the fewest steps (the smallest μ, then
        the smallest η among ties), or None when no cell converged."""
        counts = np.where(self.codes == CONVERGED, self.steps, np.iinfo(np.int64).max)
        if not (self.codes == CONVERGED).any():
            return None
        row, column = np.unravel_index(int(np.argmin(counts)), counts.shape)
        return int(row), int(column)

    def fastest_in_row(self, row: int) -> int | None:
        """The column of the converged cell with the fewest steps in ``row``, if any."""
        done = self.codes[row] == CONVERGED
        if not done.any():
            return None
        return int(np.argmin(np.where(done, self.steps[row], np.iinfo(np.int64).max)))

    def ties(self) -> int:
        """How many converged cells share the fewest steps."""
        cell = self.fastest()
        if cell is None:
            return 0
        best = self.steps[cell]
        return int(((self.codes == CONVERGED) & (self.steps == best)).sum())

    def steps_or_none(self) -> list[list[int | None]]:
        """The step counts row by row (per μ), None where a cell did not converge."""
        return [
            [int(s) if c == CONVERGED else None for s, c in zip(row, codes, strict=True)]
            for row, codes in zip(self.steps, self.codes, strict=True)
        ]


def lr_grid(stable_below: float, count: int = LR_COUNT) -> np.ndarray:
    """Learning rates on a log scale from ``stable_below``/:data:`BELOW` (well inside the
    stable range) to :data:`PAST` × ``stable_below`` (past momentum's bound at μ = 0.99:
    2(1 + μ)/λ_max = 1.99 × 2/λ_max); ``stable_below`` is plain descent's 2/λ_max."""
    return np.geomspace(stable_below / BELOW, stable_below * PAST, count)


def momentum_grid(count: int = MOMENTUM_COUNT) -> np.ndarray:
    """Momenta from 0 to :data:`TOP_MOMENTUM`, evenly spaced."""
    return np.linspace(0.0, TOP_MOMENTUM, count)


def momentum_bound(stable_below: float, momentum: Any) -> Any:
    """Heavy-ball's stability bound on a quadratic, 2(1 + μ)/λ_max, from plain descent's
    2/λ_max: along an eigenvector, eₖ₊₁ = (1 + μ − ηλ)eₖ − μeₖ₋₁ settles iff 0 < ηλ < 2(1 + μ)
    (for 0 ≤ μ < 1).

    >>> momentum_bound(0.1, 0.5)
    0.15000000000000002
    """
    return stable_below * (1.0 + momentum)


def optimal_pair(lambda_min: float, lambda_max: float) -> tuple[float, float] | None:
    """``(η*, μ*)``: η* = 4/(√λ_max + √λ_min)², μ* = ((√κ − 1)/(√κ + 1))², the heavy-ball
    pair under which the error of a quadratic shrinks fastest, by (√κ − 1)/(√κ + 1) per step;
    None unless 0 < λ_min ≤ λ_max.

    >>> optimal_pair(1.0, 9.0)
    (0.25, 0.25)
    """
    if not 0 < lambda_min <= lambda_max:
        return None
    low, high = math.sqrt(lambda_min), math.sqrt(lambda_max)
    return 4.0 / (high + low) ** 2, ((high - low) / (high + low)) ** 2


def momentum_map(
    gradient: Callable[..., Sequence[Any]],
    value: Callable[..., Any] | None,
    start: Sequence[float],
    lrs: np.ndarray,
    momenta: np.ndarray,
    *,
    tol: float,
    budget: int,
) -> MomentumMap:
    """Heavy-ball momentum from ``start`` for every pair of ``momenta`` (rows) × ``lrs``
    (columns), each cell until it stops (see the module docstring).

    ``gradient`` takes one array per coordinate and returns ∇f's components (a compiled batch
    gradient); ``value``, when given, is f the same way (for the runaway test on f).
    """
    lrs = np.asarray(lrs, dtype=float)
    momenta = np.asarray(momenta, dtype=float)
    rows, columns = len(momenta), len(lrs)
    total = rows * columns
    out = _Outcomes(
        np.full(total, budget, dtype=np.int64),
        np.full(total, UNFINISHED, dtype=np.int8),
        np.full((total, len(start)), np.nan),
    )
    index = np.arange(total)
    lr, mu = np.tile(lrs, rows), np.repeat(momenta, columns)
    x = [np.full(total, float(c)) for c in start]
    v = [np.zeros(total) for _ in start]
    running = np.ones(total, dtype=bool)  # False: stopped, riding along until compacted
    tol2 = tol * tol
    with np.errstate(all="ignore"):
        for k in range(budget + 1):
            g = _gradient(gradient, x)
            gsq = g[0] * g[0]
            for gi in g[1:]:
                gsq += gi * gi
            stop = gsq < tol2
            away = None
            if k % CHECK_EVERY == 0 or k == budget:
                away = _runaway(x, gsq, value)
                stop |= away
            stop = running.copy() if k == budget else stop & running
            if stop.any():
                done = gsq[stop] < tol2
                lost = None if away is None else away[stop] & ~done
                out.record(index[stop], k, [xi[stop] for xi in x], done, lost)
                running[stop] = False
                left = int(np.count_nonzero(running))
                if left == 0:
                    break
                # stopped cells ride along (their results are recorded) until a quarter of
                # the arrays is idle: compacting costs as much as a few steps
                if left < 0.75 * len(index):
                    keep = running
                    index, lr, mu, running = index[keep], lr[keep], mu[keep], running[keep]
                    x, v, g = [xi[keep] for xi in x], [vi[keep] for vi in v], [gi[keep] for gi in g]
            for xi, vi, gi in zip(x, v, g, strict=True):
                vi *= mu
                vi += gi
                xi -= lr * vi
    out.finals[out.codes == DIVERGED] = np.nan
    return MomentumMap(
        lrs,
        momenta,
        out.steps.reshape(rows, columns),
        out.codes.reshape(rows, columns),
        out.finals.reshape(rows, columns, len(start)),
        budget,
        tol,
    )


@dataclass(frozen=True)
class _Outcomes:
    """Each cell's step count, outcome and final point, filled in as cells stop."""

    steps: np.ndarray
    codes: np.ndarray
    finals: np.ndarray

    def record(
        self,
        where: np.ndarray,
        k: int,
        x: list[np.ndarray],
        done: np.ndarray,
        lost: np.ndarray | None,
    ) -> None:
        """The cells ``where`` stopped at step ``k`` at ``x`` (one array per coordinate):
        converged where ``done``, diverged where ``lost``, otherwise unfinished."""
        self.steps[where] = k
        if lost is None:
            self.codes[where] = np.where(done, CONVERGED, UNFINISHED)
        else:
            self.codes[where] = np.where(done, CONVERGED, np.where(lost, DIVERGED, UNFINISHED))
        for i, xi in enumerate(x):
            self.finals[where, i] = xi


def _gradient(gradient: Callable[..., Sequence[Any]], x: list[np.ndarray]) -> list[np.ndarray]:
    """∇f at each cell, one array per component (a constant component comes back as a
    scalar: it is spread over the cells)."""
    count = len(x[0])
    parts = []
    for p in gradient(*x):
        if not isinstance(p, np.ndarray) or p.shape != (count,):
            p = np.full(count, float(p))
        parts.append(p)
    return parts


def _runaway(x: list[np.ndarray], gsq: np.ndarray, value: Callable[..., Any] | None) -> np.ndarray:
    """The cells whose f or a coordinate passed :data:`RUNAWAY`, or whose ∇f overflowed."""
    calm = gsq < math.inf
    for xi in x:
        calm &= np.abs(xi) <= RUNAWAY
    if value is not None:
        calm &= np.abs(np.asarray(value(*x), dtype=float)) <= RUNAWAY
    return ~calm
