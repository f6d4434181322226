"""Learning-rate analysis for plain gradient descent: the only place symgd computes the
curvature thresholds η < 1/λ_max and η < 2/λ_max.

Near a point, f looks like a quadratic with Hessian H. Plain descent multiplies the component
of the error along an eigenvector of H (eigenvalue λ) by ``1 - ηλ`` each step, so

- it converges iff every λ > 0 and ``0 < η < 2/λ_max``;
- along the direction of λ it moves monotonically iff ``η ≤ 1/λ`` (at ``η = 1/λ`` it lands on
  the minimum of that direction in one step), and zig-zags with shrinking amplitude for
  ``1/λ < η < 2/λ``;
- a negative λ makes that direction grow for every η > 0: descent runs away (a saddle, or f
  unbounded below).

:class:`RateWindow` holds the eigenvalues of one Hessian and every threshold read from them;
:func:`exact_window` builds it for a constant Hessian (exact eigenvalues such as ``1 - √5``),
:func:`window_of_matrix` for a Hessian evaluated at a point. :func:`learning_rates` gives the
windows of a function: one exact and global window when the Hessian is constant (f is
quadratic), otherwise local windows at the start and at the point reached. The classifier of
finished runs is :func:`symgd.numeric.regimes.classify_run`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.errors import InputError
from symgd.base.i18n import N_, _
from symgd.expr.parser import parse
from symgd.expr.problem import Problem

REGIMES = ("monotone", "oscillating", "divergent")

#: exact eigenvalues are attempted up to this many variables
EXACT_MAX_VARIABLES = 3


@dataclass(frozen=True)
class RateWindow:
    """Learning-rate thresholds from one Hessian (exact and global, or local at a point).

    ``eigenvalues`` ascend; ``vectors[i]``, when given, is a unit eigenvector of
    ``eigenvalues[i]``. Every threshold symgd states (1/λ_max, 2/λ_max, the contraction factor
    and the condition number) is computed here and read by the lesson and the handout.

    >>> window = window_of_matrix([[2.0, 0.0], [0.0, 8.0]], "at the minimum")
    >>> window.lambda_max, window.monotone_below, window.stable_below
    (8.0, 0.125, 0.25)
    """

    label: str
    local: bool
    point: tuple[float, ...] | None
    eigenvalues: tuple[float, ...]
    exact_eigenvalues: tuple[sp.Expr, ...] | None = None
    vectors: tuple[tuple[float, ...], ...] | None = None

    @property
    def lambda_max(self) -> float | None:
        """The largest eigenvalue (None when the Hessian is undefined there)."""
        return self.eigenvalues[-1] if self.eigenvalues else None

    @property
    def lambda_min(self) -> float | None:
        """The smallest eigenvalue (None when the Hessian is undefined there)."""
        return self.eigenvalues[0] if self.eigenvalues else None

    def contraction(self, lr: float) -> float | None:
        """The largest ``|1 − ηλ|``: the factor by which plain descent shrinks the error per
        step near a minimum (None unless every eigenvalue is clearly positive)."""
        if not self.eigenvalues or self.eigenvalues[0] <= 1e-12:
            return None
        return float(np.abs(1 - lr * np.asarray(self.eigenvalues)).max())

    @property
    def condition_number(self) -> float | None:
        """``λ_max / λ_min`` when every eigenvalue is positive."""
        if not self.eigenvalues or self.eigenvalues[0] <= 0:
            return None
        return self.eigenvalues[-1] / self.eigenvalues[0]

    @property
    def converges(self) -> bool:
        """True when some learning rate makes plain descent converge: every λ > 0."""
        return bool(self.eigenvalues) and self.eigenvalues[0] > 0

    @property
    def stable_below(self) -> float | None:
        """``2/λ_max`` when λ_max > 0, else None."""
        top = self.lambda_max
        return 2.0 / top if top is not None and top > 0 else None

    @property
    def monotone_below(self) -> float | None:
        """``1/λ_max``: at or below it every direction moves without zig-zagging."""
        top = self.lambda_max
        return 1.0 / top if top is not None and top > 0 else None

    @property
    def exact_stable_below(self) -> sp.Expr | None:
        """``2/λ_max`` exactly, when the eigenvalues are exact."""
        top = self._exact_top()
        return None if top is None else sp.radsimp(2 / top)

    @property
    def exact_monotone_below(self) -> sp.Expr | None:
        """``1/λ_max`` exactly, when the eigenvalues are exact."""
        top = self._exact_top()
        return None if top is None else sp.radsimp(1 / top)

    def _exact_top(self) -> sp.Expr | None:
        if not self.exact_eigenvalues:
            return None
        top = self.exact_eigenvalues[-1]
        return top if top.is_positive else None

    def thresholds(self) -> list[tuple[float, float, float]]:
        """``(λ, 1/λ, 2/λ)`` for each positive eigenvalue, ascending in λ."""
        return [(lam, 1.0 / lam, 2.0 / lam) for lam in self.eigenvalues if lam > 0]

    def regime(self, lr: float) -> str:
        """What plain descent with rate ``lr`` does under this quadratic model."""
        if not self.eigenvalues or self.eigenvalues[0] < 0:
            return "divergent"
        top = self.eigenvalues[-1]
        if top <= 0:
            return "divergent"  # flat or linear: nothing pulls the iterate back
        if lr * top <= 1:
            return "monotone"
        if lr * top <= 2:
            return "oscillating"
        return "divergent"

    def summary(self) -> str:
        """One or two sentences in plain words."""
        where = _(self.label)
        if not self.eigenvalues:
            return _("{where}: the Hessian is not defined here.").format(where=where)
        eig = ", ".join(_show(e) for e in self._shown_eigenvalues())
        text = _("{where}: Hessian eigenvalues {values}.").format(where=where, values=eig) + " "
        if self.eigenvalues[0] < 0:
            return text + _(
                "A negative eigenvalue: along its eigenvector f curves downward, so "
                "plain descent runs away from here for every learning rate."
            )
        if self.stable_below is None:
            return text + _("No curvature: plain descent does not settle for any learning rate.")
        stable = (
            _show(self.exact_stable_below)
            if self.exact_stable_below is not None
            else f"{self.stable_below:.6g}"
        )
        monotone = (
            _show(self.exact_monotone_below)
            if self.exact_monotone_below is not None
            else f"{self.monotone_below:.6g}"
        )
        text += _(
            "Plain descent converges for 0 < η < 2/λ_max = {stable}; "
            "it moves without zig-zag for η ≤ 1/λ_max = {monotone}."
        ).format(stable=stable, monotone=monotone)
        if self.eigenvalues[0] == 0:
            text += " " + _(
                "A zero eigenvalue leaves one direction flat: the iterate may drift along it."
            )
        return text

    def stable_range_latex(self) -> str:
        """``0 < \\eta < 2/\\lambda_{\\max} = ...`` in LaTeX ('' when no rate converges)."""
        if self.stable_below is None or not self.converges:
            return ""
        value = self.exact_stable_below
        shown = sp.latex(value) if value is not None else f"{self.stable_below:.6g}"
        return rf"0 < \eta < \frac{{2}}{{\lambda_{{\max}}}} = {shown}"

    def _shown_eigenvalues(self) -> tuple[Any, ...]:
        return self.exact_eigenvalues if self.exact_eigenvalues else self.eigenvalues


@dataclass(frozen=True)
class LearningRates:
    """The thresholds for f: one exact window, or local windows at the given points."""

    variables: tuple[str, ...]
    constant_hessian: bool
    windows: tuple[RateWindow, ...]

    def regime(self, lr: float) -> str:
        """The predicted regime from the first window (exact, or local at the start)."""
        if not self.windows:
            raise ValueError("no window to predict from; pass a start point")
        return self.windows[0].regime(lr)

    def summary(self) -> str:
        """Every window's summary, one per line."""
        return "\n".join(w.summary() for w in self.windows)


def learning_rates(
    f: Any,
    start: Sequence[float] | None = None,
    reached: Sequence[float] | None = None,
    *,
    variables: Sequence[str] | None = None,
) -> LearningRates:
    """Learning-rate thresholds for plain descent on ``f`` (see the module docstring).

    ``f`` is text, a SymPy expression, a Problem or a Derivation. With a constant Hessian the
    answer is exact and the points are not needed; otherwise local windows are computed at
    ``start`` and ``reached`` (the final point of a run), whichever are given.
    """
    problem, hessian = _problem_and_hessian(f, variables)
    xs = problem.variables
    names = problem.names
    constant = not any(entry.free_symbols & set(xs) for entry in hessian)
    if constant:
        return LearningRates(names, True, (exact_window(hessian),))
    windows = []
    for label, point in (
        (N_("local, at the start"), start),
        (N_("local, at the point reached"), reached),
    ):
        if point is None:
            continue
        p = np.asarray(point, dtype=float).reshape(-1)
        if p.shape != (len(xs),):
            raise InputError(
                _("a point needs {n} value(s), got {got}").format(n=len(xs), got=p.size)
            )
        windows.append(
            window_of_matrix(_hessian_at(hessian, xs, p), label, point=[float(v) for v in p])
        )
    return LearningRates(names, False, tuple(windows))


def _hessian_at(
    hessian: sp.ImmutableMatrix, variables: Sequence[sp.Symbol], point: np.ndarray
) -> np.ndarray:
    """The Hessian's value at ``point`` as floats (NaN where it is undefined or not real)."""
    values = hessian.xreplace(
        {v: sp.Float(float(c)) for v, c in zip(variables, point, strict=True)}
    )
    out = np.full(hessian.shape, np.nan)
    rows, columns = hessian.shape
    for i, j in ((i, j) for i in range(rows) for j in range(columns)):
        try:
            number = complex(values[i, j].evalf())
        except (TypeError, ValueError):
            continue
        if number.imag == 0:
            out[i, j] = number.real
    return out


def _problem_and_hessian(
    f: Any,
    variables: Sequence[str] | None,
) -> tuple[Problem, sp.ImmutableMatrix]:
    if hasattr(f, "problem") and hasattr(f, "hessian") and not isinstance(f, Problem):
        return f.problem, sp.ImmutableMatrix(f.hessian)
    if isinstance(f, Problem):
        problem = f
    elif isinstance(f, str | sp.Basic):
        problem = parse(f, None if variables is None else list(variables))
    else:
        raise InputError(_("expected a function, got {kind}").format(kind=type(f).__name__))
    if problem.parameters:
        names = ", ".join(p.name for p in problem.parameters)
        raise InputError(
            _("the function has parameters without values ({names})").format(names=names)
        )
    xs = problem.variables
    gradient = sp.Matrix([sp.diff(problem.expr, v) for v in xs])
    return problem, sp.ImmutableMatrix(gradient.jacobian(list(xs)))


def window_of_matrix(
    matrix: Any,
    label: str,
    *,
    local: bool = True,
    point: Sequence[float] | None = None,
    vectors: bool = False,
) -> RateWindow:
    """The window of a numeric Hessian: its eigenvalues (and with ``vectors`` its unit
    eigenvectors); no eigenvalues when the matrix is not finite."""
    h = np.asarray(matrix, dtype=float)
    where = None if point is None else tuple(float(v) for v in point)
    if not np.isfinite(h).all():
        return RateWindow(label, local, where, ())
    symmetric = (h + h.T) / 2
    if not vectors:
        values = np.linalg.eigvalsh(symmetric)
        return RateWindow(label, local, where, tuple(float(v) for v in values))
    values, columns = np.linalg.eigh(symmetric)
    return RateWindow(
        label,
        local,
        where,
        tuple(float(v) for v in values),
        vectors=tuple(tuple(float(c) for c in columns[:, i]) for i in range(len(values))),
    )


def exact_window(hessian: Any, numeric: Any = None) -> RateWindow:
    """The global window of a constant Hessian, with its exact eigenvalues when SymPy finds
    them as real numbers (up to :data:`EXACT_MAX_VARIABLES` variables), in ascending order.
    ``numeric`` is the Hessian in floats, when the caller has it already."""
    matrix = sp.Matrix(hessian)
    if numeric is None:
        numeric = np.array(matrix.evalf(), dtype=float)
    window = window_of_matrix(
        numeric, N_("exact (the Hessian is constant)"), local=False, vectors=True
    )
    exact: tuple[sp.Expr, ...] | None = None
    if matrix.shape[0] <= EXACT_MAX_VARIABLES:
        exact = _exact_eigenvalues(matrix)
    return replace(window, exact_eigenvalues=exact)


_exact_window = exact_window


def _exact_eigenvalues(matrix: sp.Matrix) -> tuple[sp.Expr, ...] | None:
    try:
        found = [v for v, m in matrix.eigenvals().items() for _copy in range(int(m))]
    except (NotImplementedError, sp.MatrixError):
        return None
    if any(v.has(sp.I) or v.is_real is False for v in found):
        return None
    return tuple(sorted(found, key=lambda v: float(sp.re(v.evalf()))))


def _show(value: Any) -> str:
    if isinstance(value, sp.Basic):
        return str(value)
    return f"{value:.6g}"
