"""The one place where SymPy expressions become numeric functions (``lambdify``).

Only trees built by :func:`symgd.parse` (or handed over as SymPy objects by a program) reach
here. Two families come out: scalar functions on Python floats (``modules="math"``), fast for a
single run, and numpy functions over a batch axis for many starts at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp


def _math_sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def _math_softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _math_heaviside(z: float, at_zero: float = 0.0) -> float:
    return 1.0 if z > 0 else (at_zero if z == 0 else 0.0)


def _math_leaky_relu(z: float, slope: float = 0.01) -> float:
    return z if z > 0 else slope * z


def _np_sigmoid(z: Any) -> Any:
    return np.exp(-np.logaddexp(0.0, -z))


def _np_softplus(z: Any) -> Any:
    return np.logaddexp(0.0, z)


def _np_leaky_relu(z: Any, slope: float = 0.01) -> Any:
    return np.where(z > 0, z, slope * z)


MATH_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sigmoid": _math_sigmoid,
    "softplus": _math_softplus,
    "relu": lambda z: z if z > 0 else 0.0,
    "leaky_relu": _math_leaky_relu,
    "Heaviside": _math_heaviside,
}

NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": _np_sigmoid,
    "softplus": _np_softplus,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": _np_leaky_relu,
    "Heaviside": lambda z, at_zero=0.0: np.heaviside(z, at_zero),
}


def lambdify_math(variables: Sequence[sp.Symbol], expr: Any) -> Callable[..., Any]:
    """Scalar function of Python floats (``expr`` may be a tuple to return several values)."""
    return sp.lambdify(list(variables), expr, modules=[MATH_FUNCTIONS, "math"], cse=True)


def lambdify_numpy(variables: Sequence[sp.Symbol], expr: Any) -> Callable[..., Any]:
    """numpy function, broadcasting over arrays passed for each variable."""
    return sp.lambdify(list(variables), expr, modules=[NUMPY_FUNCTIONS, "numpy"], cse=True)


@dataclass(frozen=True)
class Compiled:
    """Numeric versions of f, its gradient and Hessian.

    Batch functions take one array per variable (all of one shape) and return arrays that
    broadcast to it: ``grad_batch`` a tuple of n arrays, ``hess_batch`` an n×n nested tuple.
    """

    variables: tuple[sp.Symbol, ...]
    f_batch: Callable[..., Any]
    grad_batch: Callable[..., Any]
    hess_batch: Callable[..., Any]

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


def compile_functions(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    gradient: Sequence[sp.Expr] | None = None,
    hessian: sp.MatrixBase | None = None,
) -> Compiled:
    """Lambdify f, ∇f and the Hessian (derived here when not given) for batch evaluation."""
    variables = tuple(variables)
    if gradient is None:
        gradient = [sp.diff(expr, v) for v in variables]
    if hessian is None:
        hessian = sp.Matrix(gradient).jacobian(list(variables))
    rows = tuple(tuple(hessian[i, j] for j in range(len(variables))) for i in range(len(variables)))
    return Compiled(
        variables=variables,
        f_batch=lambdify_numpy(variables, expr),
        grad_batch=lambdify_numpy(variables, tuple(gradient)),
        hess_batch=lambdify_numpy(variables, rows),
    )
