"""The numeric search for critical points: damped Newton from many starts in a box, the
genuine zeros of ∇f kept (a plateau's tiny gradient is not one)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symgd.calculus.points import CriticalPoint, kind_of, point_sort_key, tidy
from symgd.expr.batch import batch_functions, hessian_function
from symgd.expr.problem import Problem

#: numeric search: box half-width, Newton iterations, point budget
SEARCH_RADIUS = 5.0
SEARCH_ITERATIONS = 60
MAX_POINTS = 24
#: extra starts at the lowest values of f on a fine grid
LOWEST_STARTS = 64


def numeric_points(
    problem: Problem,
    gradient: tuple[sp.Expr, ...],
    hessian: sp.Matrix,
    known: Sequence[CriticalPoint],
) -> tuple[CriticalPoint, ...]:
    """Multi-start damped Newton on ∇f = 0 over a box, deduplicated against ``known``."""
    return numeric_search(problem, gradient, hessian, known).points


@dataclass(frozen=True)
class NumericSearch:
    """The points the numeric search kept (at most :data:`MAX_POINTS`, those that matter most:
    minima first, lowest f first) and how many distinct points it found in all."""

    points: tuple[CriticalPoint, ...]
    found: int

    @property
    def capped(self) -> bool:
        return self.found > len(self.points)


def numeric_search(
    problem: Problem,
    gradient: tuple[sp.Expr, ...],
    hessian: sp.Matrix,
    known: Sequence[CriticalPoint],
) -> NumericSearch:
    """Multi-start damped Newton on ∇f = 0 over a box; when more than :data:`MAX_POINTS`
    distinct points turn up, the minima with the lowest f are kept first, then the saddles
    and degenerate points, then the maxima (each by f, lowest first)."""
    n = len(problem.variables)
    compiled = batch_functions(problem.expr, problem.variables, gradient, hessian)
    hessian_at = hessian_function(problem.variables, hessian)
    starts = np.concatenate([_search_starts(n), _lowest_starts(compiled, n)])
    found = _distinct(
        _newton_batch(compiled, starts, hessian_at),
        [np.array(p.as_floats()) for p in known if not p.free],
    )
    points: list[CriticalPoint] = []
    if len(found):
        hessians = hessian_at(found)
        spectra = np.linalg.eigvalsh((hessians + np.swapaxes(hessians, 1, 2)) / 2)
        values = compiled.value_at(found)
        for x, eigenvalues, value in zip(found, spectra, values, strict=True):
            ordered = sorted(float(v) for v in eigenvalues)
            points.append(
                CriticalPoint(
                    coordinates=tuple(sp.Float(tidy(c), 12) for c in x),
                    value=sp.Float(tidy(float(value)), 12),
                    eigenvalues=tuple(sp.Float(tidy(v), 12) for v in ordered),
                    kind=kind_of(ordered, singular=False),
                    exact=False,
                )
            )
    total = len(points)
    points.sort(key=importance)
    kept = points[:MAX_POINTS]
    kept.sort(key=point_sort_key)
    return NumericSearch(tuple(kept), total)


def _distinct(found: list[np.ndarray], known: list[np.ndarray]) -> np.ndarray:
    """The points of ``found`` farther than 1e-6 from each other and from ``known`` (in the
    order found), each compared with all kept ones at once."""
    if not found:
        return np.zeros((0, len(known[0]) if known else 0))
    n = len(found[0])
    kept = np.empty((len(found) + len(known), n))
    count = 0
    for k in known:
        kept[count] = k
        count += 1
    first = count
    for x in found:
        if count and (np.abs(kept[:count] - x) <= 1e-6 + 1e-5 * np.abs(x)).all(axis=1).any():
            continue
        kept[count] = x
        count += 1
    result: np.ndarray = kept[first:count]
    return result


#: the order in which kinds of point are kept when the list is capped
_KIND_RANK = {"minimum": 0, "saddle": 1, "degenerate": 2, "maximum": 3}


def importance(point: CriticalPoint) -> tuple[int, float]:
    """Minima before saddles and degenerate points before maxima, lowest f first."""
    try:
        value = float(point.value)
    except (TypeError, ValueError):
        value = math.inf
    return _KIND_RANK.get(point.kind, 4), value


def _lowest_starts(compiled: Any, n: int) -> np.ndarray:
    """Starts at the lowest values of f on a fine grid (or many random points): where the
    minima that matter most are."""
    rng = np.random.default_rng(2)
    per_axis = {1: 2001, 2: 201, 3: 41}.get(n, 0)
    if per_axis:
        axis = np.linspace(-SEARCH_RADIUS, SEARCH_RADIUS, per_axis)
        grid = np.stack([g.ravel() for g in np.meshgrid(*([axis] * n), indexing="ij")], axis=1)
    else:
        grid = rng.uniform(-SEARCH_RADIUS, SEARCH_RADIUS, size=(min(20000, 400 * n), n))
    with np.errstate(all="ignore"):
        values = compiled.value_at(grid)
    values = np.where(np.isfinite(values), values, np.inf)
    best = np.argsort(values, kind="stable")[:LOWEST_STARTS]
    return grid[best[np.isfinite(values[best])]]


def _search_starts(n: int) -> np.ndarray:
    """A grid over the box for few variables, plus seeded random points."""
    rng = np.random.default_rng(0)
    per_axis = {1: 41, 2: 17, 3: 7, 4: 5}.get(n, 0)
    grids = []
    if per_axis:
        axis = np.linspace(-SEARCH_RADIUS, SEARCH_RADIUS, per_axis)
        grids.append(np.array(list(itertools.product(axis, repeat=n)), dtype=float))
    count = 200 if n <= 4 else max(50, 2000 // n)
    grids.append(rng.uniform(-SEARCH_RADIUS, SEARCH_RADIUS, size=(count, n)))
    return np.concatenate(grids)


def _newton_steps(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The Newton steps H⁻¹g for a batch: a pseudo-inverse for few variables (robust when H is
    singular); a batched solve for many (a 100×100 pseudo-inverse per start costs seconds),
    with the pseudo-inverse only when some H is singular."""
    steps: np.ndarray
    if h.shape[1] <= 10:
        steps = np.einsum("nij,nj->ni", np.linalg.pinv(h, rcond=1e-12), g)
        return steps
    try:
        steps = np.linalg.solve(h, g[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        steps = np.einsum("nij,nj->ni", np.linalg.pinv(h, rcond=1e-12), g)
    return steps


def _newton_batch(
    compiled: Any, starts: np.ndarray, hessian_at: Callable[[np.ndarray], np.ndarray]
) -> list[np.ndarray]:
    """Damped Newton on all starts at once; returns the genuine critical points in the box."""
    x = starts.copy()
    n = x.shape[1]
    active = np.ones(len(x), dtype=bool)  # starts still moving
    with np.errstate(all="ignore"):
        for _ in range(SEARCH_ITERATIONS):
            if not active.any():
                break
            here = x[active]
            g = compiled.gradient_at(here)
            h = hessian_at(here)
            h[~np.isfinite(h).all(axis=(1, 2))] = np.eye(n)
            step = _newton_steps(h, g)
            step[~np.isfinite(step).all(axis=1)] = 0.0
            norm = np.linalg.norm(step, axis=1, keepdims=True)
            moved = here - step * np.minimum(1.0, SEARCH_RADIUS / np.maximum(norm, 1e-300))
            moved[~np.isfinite(moved).all(axis=1)] = np.nan
            x[active] = moved
            # a start whose step no longer changes it (or that left the reals) is done
            settled = (moved == here).all(axis=1) | np.isnan(moved).any(axis=1)
            active[np.flatnonzero(active)[settled]] = False
        g_norm = np.linalg.norm(compiled.gradient_at(x), axis=1)
        ok = np.isfinite(x).all(axis=1) & (g_norm < 1e-9)
        ok &= (np.abs(x) <= SEARCH_RADIUS + 1e-9).all(axis=1)
        x, g_norm = x[ok], g_norm[ok]
        # A plateau (a saturated sigmoid, say) has a tiny gradient everywhere nearby; a real
        # critical point has a gradient that grows as soon as one steps away from it.
        delta = 1e-4 * (1.0 + np.abs(x))
        nearby = np.zeros_like(g_norm)
        for axis in range(n):
            shifted = x.copy()
            shifted[:, axis] += delta[:, axis]
            nearby = np.maximum(nearby, np.linalg.norm(compiled.gradient_at(shifted), axis=1))
        genuine = nearby > 100 * g_norm + 1e-13
    return list(x[genuine])
