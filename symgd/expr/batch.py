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


class _HessianParts:
    """The Hessian as a constant template plus the entries that vary, from its non-zero entries
    only (a sparse n × n Hessian is never walked entry by entry)."""

    def __init__(self, variables: Sequence[sp.Symbol], hessian: sp.MatrixBase) -> None:
        n = len(variables)
        self.n = n
        self.template = np.zeros((n, n))
        varying: list[tuple[int, int]] = []
        exprs: list[sp.Expr] = []
        for (i, j), value in sorted(_nonzero_entries(hessian).items()):
            if value.free_symbols:
                varying.append((i, j))
                exprs.append(value)
            else:
                self.template[i, j] = float(value)
        self.varying = varying
        self.rows = np.array([i for i, _ in varying], dtype=int)
        self.cols = np.array([j for _, j in varying], dtype=int)
        self.values = lambdify_numpy(variables, tuple(exprs)) if varying else None

    def array(self, points: np.ndarray) -> np.ndarray:
        """Points ``(N, n)`` → Hessians ``(N, n, n)``."""
        count = points.shape[0]
        out = np.repeat(self.template[None, :, :], count, axis=0)
        if self.values is not None:
            computed = self.values(*points.T)
            out[:, self.rows, self.cols] = np.stack(
                [np.broadcast_to(np.asarray(v, dtype=float), (count,)) for v in computed], axis=-1
            )
        return out

    def nested(self, *columns: Any) -> tuple[tuple[Any, ...], ...]:
        """The n × n nested tuple of entries at points given as n coordinate arrays."""
        out = self.values(*columns) if self.values is not None else ()
        found = dict(zip(self.varying, out, strict=True))
        return tuple(
            tuple(found.get((i, j), float(self.template[i, j])) for j in range(self.n))
            for i in range(self.n)
        )


def _nonzero_entries(matrix: sp.MatrixBase) -> dict[tuple[int, int], sp.Expr]:
    """The non-zero entries of ``matrix``, in O(entries) for SymPy's sparse-backed matrices."""
    entries: dict[tuple[int, int], sp.Expr] = matrix.todok()
    return entries


class _LazyHessian:
    """:class:`_HessianParts` built on first use (the Hessian is not always needed)."""

    def __init__(self, build: Callable[[], _HessianParts]) -> None:
        self._build = build
        self._parts: _HessianParts | None = None

    def parts(self) -> _HessianParts:
        if self._parts is None:
            self._parts = self._build()
        return self._parts

    def __call__(self, *columns: Any) -> tuple[tuple[Any, ...], ...]:
        return self.parts().nested(*columns)

    def array(self, points: np.ndarray) -> np.ndarray:
        return self.parts().array(points)


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
    hess_array: Callable[[np.ndarray], np.ndarray] | None = None

    def gradient_at(self, points: np.ndarray) -> np.ndarray:
        """Gradient at each row of ``points`` (shape ``(N, n)``) → ``(N, n)``."""
        columns = self.grad_batch(*points.T)
        return np.stack([np.broadcast_to(c, points.shape[:1]) for c in columns], axis=-1)

    def hessian_at(self, points: np.ndarray) -> np.ndarray:
        """Hessian at each row of ``points`` → ``(N, n, n)``."""
        if self.hess_array is not None:
            return self.hess_array(points)
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
    given = None if hessian is None else sp.ImmutableMatrix(hessian)

    def build_hessian() -> _HessianParts:
        if given is not None:
            matrix = given
        elif derive_hessian is not None:
            matrix = derive_hessian()
        else:
            raise ValueError("no Hessian was given and none can be derived")
        return _HessianParts(variables, matrix)

    lazy = _LazyHessian(build_hessian)
    value_grad = lambdify_numpy_shared(variables, (expr, *gradient))
    return Compiled(
        variables=variables,
        f_batch=lambda *columns: value_grad(*columns)[0],
        grad_batch=lambda *columns: value_grad(*columns)[1:],
        hess_batch=lazy,
        hess_array=lazy.array,
        value_grad_batch=value_grad,
        expr=expr,
        gradient=gradient,
        hessian=given,
    )


def hessian_function(
    variables: Sequence[sp.Symbol], hessian: sp.MatrixBase
) -> Callable[[np.ndarray], np.ndarray]:
    """Points ``(N, n)`` → Hessians ``(N, n, n)``: the constant entries are set once and the
    others come from one numpy function, written into the array in one assignment."""
    return _HessianParts(variables, hessian).array
