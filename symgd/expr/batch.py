"""Numeric versions of f, ∇f and the Hessian over a batch of points (:class:`Compiled`).

The derivatives come in from the caller (calculus computes them); this module only turns
them into numpy functions through :mod:`symgd.expr.lambdify`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symgd.expr.lambdify import lambdify_numpy, lambdify_numpy_shared


class _LazyFunction:
    """A lambdified function built on first call (the Hessian is not always needed)."""

    def __init__(self, build: Callable[[], Callable[..., Any]]) -> None:
        self._build = build
        self._function: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        if self._function is None:
            self._function = self._build()
        return self._function(*args)


@dataclass(frozen=True)
class Compiled:
    """Numeric versions of f, its gradient and Hessian.

    Batch functions take one array per variable (all of one shape) and return arrays that
    broadcast to it: ``grad_batch`` a tuple of n arrays, ``hess_batch`` an n×n nested tuple,
    ``value_grad_batch`` the tuple ``(f, ∂f/∂x1, ..., ∂f/∂xn)``.
    """

    variables: tuple[sp.Symbol, ...]
    f_batch: Callable[..., Any]
    grad_batch: Callable[..., Any]
    hess_batch: Callable[..., Any]
    value_grad_batch: Callable[..., Any] | None = None
    expr: sp.Expr | None = None
    gradient: tuple[sp.Expr, ...] = ()
    hessian: sp.ImmutableMatrix | None = None

    def gradient_at(self, points: np.ndarray) -> np.ndarray:
        """Gradient at each row of ``points`` (shape ``(N, n)``) → ``(N, n)``."""
        columns = self.grad_batch(*points.T)
        return np.stack([np.broadcast_to(c, points.shape[:1]) for c in columns], axis=-1)

    def hessian_at(self, points: np.ndarray) -> np.ndarray:
        """Hessian at each row of ``points`` → ``(N, n, n)``."""
        rows = self.hess_batch(*points.T)
        shape = points.shape[:1]
        return np.stack(
            [np.stack([np.broadcast_to(v, shape) for v in row], axis=-1) for row in rows],
            axis=-2,
        )

    def value_at(self, points: np.ndarray) -> np.ndarray:
        """f at each row of ``points`` → ``(N,)``."""
        return np.broadcast_to(self.f_batch(*points.T), points.shape[:1]).astype(float)

    def value_grad_columns(self, columns: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        """``(f, g1, ..., gn)`` at points given as n coordinate arrays of one shape."""
        shape = np.shape(columns[0])
        if self.value_grad_batch is None:
            out = (self.f_batch(*columns), *self.grad_batch(*columns))
        else:
            out = self.value_grad_batch(*columns)
        return tuple(np.broadcast_to(np.asarray(v, dtype=float), shape) for v in out)


def batch_functions(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    gradient: Sequence[sp.Expr],
    hessian: sp.MatrixBase | None,
    derive_hessian: Callable[[], sp.MatrixBase] | None = None,
) -> Compiled:
    """Lambdify f, ∇f and the Hessian for batch evaluation.

    f and ∇f come from one function with shared subexpressions; the Hessian (``hessian``, or
    ``derive_hessian()`` when it is not given) is lambdified on first use.
    """
    variables = tuple(variables)
    gradient = tuple(gradient)
    n = len(variables)
    given = None if hessian is None else sp.ImmutableMatrix(hessian)

    def build_hessian() -> Callable[..., Any]:
        if given is not None:
            matrix = given
        elif derive_hessian is not None:
            matrix = derive_hessian()
        else:
            raise ValueError("no Hessian was given and none can be derived")
        # lambdify the entries that are not constant; a sparse Hessian prints quickly
        entries = [(i, j) for i in range(n) for j in range(n)]
        varying = [(i, j) for i, j in entries if matrix[i, j].free_symbols]
        varying_set = set(varying)
        fixed = {(i, j): float(matrix[i, j]) for i, j in entries if (i, j) not in varying_set}
        values = lambdify_numpy(variables, tuple(matrix[i, j] for i, j in varying))
        where = {key: k for k, key in enumerate(varying)}

        def hess(*columns: Any) -> tuple[tuple[Any, ...], ...]:
            out = values(*columns) if varying else ()
            return tuple(
                tuple(out[where[i, j]] if (i, j) in where else fixed[i, j] for j in range(n))
                for i in range(n)
            )

        return hess

    value_grad = lambdify_numpy_shared(variables, (expr, *gradient))
    return Compiled(
        variables=variables,
        f_batch=lambda *columns: value_grad(*columns)[0],
        grad_batch=lambda *columns: value_grad(*columns)[1:],
        hess_batch=_LazyFunction(build_hessian),
        value_grad_batch=value_grad,
        expr=expr,
        gradient=gradient,
        hessian=given,
    )


def hessian_function(
    variables: Sequence[sp.Symbol], hessian: sp.Matrix
) -> Callable[[np.ndarray], np.ndarray]:
    """Points ``(N, n)`` → Hessians ``(N, n, n)``: the constant entries are set once and the
    others come from one numpy function, written into the array in one assignment."""
    n = len(variables)
    template = np.zeros((n, n))
    varying: list[tuple[int, int]] = []
    for i in range(n):
        for j in range(n):
            if hessian[i, j].free_symbols:
                varying.append((i, j))
            else:
                template[i, j] = float(hessian[i, j])
    rows = np.array([i for i, _ in varying], dtype=int)
    cols = np.array([j for _, j in varying], dtype=int)
    values = (
        lambdify_numpy(variables, tuple(hessian[i, j] for i, j in varying)) if varying else None
    )

    def evaluate(points: np.ndarray) -> np.ndarray:
        count = points.shape[0]
        out = np.repeat(template[None, :, :], count, axis=0)
        if values is not None:
            computed = values(*points.T)
            out[:, rows, cols] = np.stack(
                [np.broadcast_to(np.asarray(v, dtype=float), (count,)) for v in computed], axis=-1
            )
        return out

    return evaluate
