"""The numeric search for critical points: damped Newton from many starts in a box, the
genuine zeros of ∇f kept (a plateau's tiny gradient is not one)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
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


def numeric_points(
    problem: Problem,
    gradient: tuple[sp.Expr, ...],
    hessian: sp.Matrix,
    known: Sequence[CriticalPoint],
) -> tuple[CriticalPoint, ...]:
    """Multi-start damped Newton on ∇f = 0 over a box, deduplicated against ``known``."""
    n = len(problem.variables)
    compiled = batch_functions(problem.expr, problem.variables, gradient, hessian)
    hessian_at = hessian_function(problem.variables, hessian)
    starts = _search_starts(n)
    found = _newton_batch(compiled, starts, hessian_at)
    known_coordinates = [
        np.array(p.as_floats()) for p in known if not p.free
    ]
    points: list[CriticalPoint] = []
    for x in found:
        if any(np.allclose(x, k, atol=1e-6) for k in known_coordinates):
            continue
        known_coordinates.append(x)
        h = hessian_at(x[None, :])[0]
        eigenvalues = sorted(float(v) for v in np.linalg.eigvalsh((h + h.T) / 2))
        value = float(compiled.value_at(x[None, :])[0])
        points.append(
            CriticalPoint(
                coordinates=tuple(sp.Float(tidy(c), 12) for c in x),
                value=sp.Float(tidy(value), 12),
                eigenvalues=tuple(sp.Float(tidy(v), 12) for v in eigenvalues),
                kind=kind_of(eigenvalues, singular=False),
                exact=False,
            )
        )
        if len(points) >= MAX_POINTS:
            break
    points.sort(key=point_sort_key)
    return tuple(points)


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
    if h.shape[1] <= 10:
        return np.einsum("nij,nj->ni", np.linalg.pinv(h, rcond=1e-12), g)
    try:
        return np.linalg.solve(h, g[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return np.einsum("nij,nj->ni", np.linalg.pinv(h, rcond=1e-12), g)


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
