"""Learning-rate analysis for plain gradient descent, and a classifier of finished runs.

Near a point, f looks like a quadratic with Hessian H. Plain descent multiplies the component
of the error along an eigenvector of H (eigenvalue λ) by ``1 - ηλ`` each step, so

- it converges iff every λ > 0 and ``0 < η < 2/λ_max``;
- along the direction of λ it moves monotonically iff ``η ≤ 1/λ`` (at ``η = 1/λ`` it lands on
  the minimum of that direction in one step), and zig-zags with shrinking amplitude for
  ``1/λ < η < 2/λ``;
- a negative λ makes that direction grow for every η > 0: descent runs away (a saddle, or f
  unbounded below).

:func:`learning_rates` gives these thresholds. When the Hessian is constant (f is quadratic)
they are exact and global (SymPy numbers such as ``(√5 - 1)/2``); otherwise they come from the
Hessian at the start and at the point reached and are labelled local.

:func:`classify_run` labels a finished :class:`~symgd.numeric.runner.Trajectory`:
``"divergent"`` (it diverged or left the domain of f, ended higher than it began, or its
gradient and step lengths were still growing), ``"oscillating"`` (two consecutive steps point
more than 90° apart) or ``"monotone"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.errors import InputError
from symgd.expr.parser import Problem, parse

REGIMES = ("monotone", "oscillating", "divergent")

#: exact eigenvalues are attempted up to this many variables
EXACT_MAX_VARIABLES = 3


@dataclass(frozen=True)
class RateWindow:
    """Learning-rate thresholds from one Hessian (exact and global, or local at a point)."""

    label: str
    local: bool
    point: tuple[float, ...] | None
    eigenvalues: tuple[float, ...]
    exact_eigenvalues: tuple[sp.Expr, ...] | None = None

    @property
    def lambda_max(self) -> float | None:
        """The largest eigenvalue (None when the Hessian is undefined there)."""
        return self.eigenvalues[-1] if self.eigenvalues else None

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
        where = self.label
        if not self.eigenvalues:
            return f"{where}: the Hessian is not defined here."
        eig = ", ".join(_show(e) for e in self._shown_eigenvalues())
        text = f"{where}: Hessian eigenvalues {eig}. "
        if self.eigenvalues[0] < 0:
            return text + ("A negative eigenvalue: along its eigenvector f curves downward, so "
                           "plain descent runs away from here for every learning rate.")
        if self.stable_below is None:
            return text + "No curvature: plain descent does not settle for any learning rate."
        stable = _show(self.exact_stable_below) if self.exact_stable_below is not None \
            else f"{self.stable_below:.6g}"
        monotone = _show(self.exact_monotone_below) if self.exact_monotone_below is not None \
            else f"{self.monotone_below:.6g}"
        text += (f"Plain descent converges for 0 < η < 2/λ_max = {stable}; "
                 f"it moves without zig-zag for η ≤ 1/λ_max = {monotone}.")
        if self.eigenvalues[0] == 0:
            text += " A zero eigenvalue leaves one direction flat: the iterate may drift along it."
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
        return LearningRates(names, True, (_exact_window(hessian),))
    from symgd.numeric.codegen import compiled_for

    compiled = compiled_for(problem.expr, xs)
    windows = []
    for label, point in (("local, at the start", start), ("local, at the point reached", reached)):
        if point is None:
            continue
        p = np.asarray(point, dtype=float).reshape(-1)
        if p.shape != (len(xs),):
            raise InputError(f"a point needs {len(xs)} value(s), got {p.size}")
        with np.errstate(all="ignore"):
            h = compiled.hessian_at(p[None, :])[0]
        eigenvalues: tuple[float, ...] = ()
        if np.isfinite(h).all():
            eigenvalues = tuple(float(v) for v in np.linalg.eigvalsh((h + h.T) / 2))
        windows.append(RateWindow(label, True, tuple(float(v) for v in p), eigenvalues))
    return LearningRates(names, False, tuple(windows))


def _problem_and_hessian(f: Any, variables: Sequence[str] | None,
                         ) -> tuple[Problem, sp.ImmutableMatrix]:
    if hasattr(f, "problem") and hasattr(f, "hessian") and not isinstance(f, Problem):
        return f.problem, sp.ImmutableMatrix(f.hessian)
    if isinstance(f, Problem):
        problem = f
    elif isinstance(f, str | sp.Basic):
        problem = parse(f, None if variables is None else list(variables))
    else:
        raise InputError(f"expected a function, got {type(f).__name__}")
    if problem.parameters:
        names = ", ".join(p.name for p in problem.parameters)
        raise InputError(f"the function has parameters without values ({names})")
    xs = problem.variables
    gradient = sp.Matrix([sp.diff(problem.expr, v) for v in xs])
    return problem, sp.ImmutableMatrix(gradient.jacobian(list(xs)))


def _exact_window(hessian: sp.ImmutableMatrix) -> RateWindow:
    numeric = np.array(hessian.evalf(30).tolist(), dtype=float)
    eigenvalues = tuple(float(v) for v in np.linalg.eigvalsh((numeric + numeric.T) / 2))
    exact: tuple[sp.Expr, ...] | None = None
    if hessian.shape[0] <= EXACT_MAX_VARIABLES:
        exact = _exact_eigenvalues(hessian)
    return RateWindow("exact (the Hessian is constant)", False, None, eigenvalues, exact)


def _exact_eigenvalues(hessian: sp.ImmutableMatrix) -> tuple[sp.Expr, ...] | None:
    values: list[sp.Expr] = []
    for value, multiplicity in sp.Matrix(hessian).eigenvals().items():
        value = sp.radsimp(sp.nsimplify(value) if value.is_Float else value)
        if value.has(sp.I) or sp.count_ops(value) > 30 or not value.is_real:
            return None
        values.extend([value] * int(multiplicity))
    return tuple(sorted(values, key=lambda v: float(v)))


def _show(value: Any) -> str:
    if isinstance(value, sp.Basic):
        return str(value)
    return f"{value:.6g}"


# -- classifying a finished run ---------------------------------------------------------------

def classify_run(run: Any) -> Any:
    """``"monotone"``, ``"oscillating"`` or ``"divergent"`` for a Trajectory (a list for a batch).

    Divergent: the run diverged or left the domain of f (a step too long for the region where
    f is defined), or (for descent) f ended higher than it started, or the
    gradient norm grew overall while the last three step lengths kept growing. Oscillating:
    two consecutive steps of non-negligible length point more than 90° apart. Otherwise
    monotone.
    """
    if run.xs.ndim == 3:
        statuses = run.row_status()
        return [
            _classify(run.xs[:, i], run.fs[:, i], run.grad_norms[:, i],
                      statuses[i].value in _RAN_OFF, run.method == "ascent")
            for i in range(run.xs.shape[1])
        ]
    return _classify(run.xs, run.fs, run.grad_norms, run.status.value in _RAN_OFF,
                     run.method == "ascent")


#: statuses that count as divergent whatever the path looked like
_RAN_OFF = ("diverged", "domain")


def _classify(xs: np.ndarray, fs: np.ndarray, gn: np.ndarray, diverged: bool,
              ascent: bool) -> str:
    if diverged:
        return "divergent"
    with np.errstate(all="ignore"):
        # drop repeated points at the end (a batch start that stopped early)
        steps = np.diff(xs, axis=0)
        lengths = np.linalg.norm(steps, axis=1)
        moving = np.flatnonzero(lengths > 0)
        if moving.size == 0:
            return "monotone"
        last = int(moving[-1])
        steps, lengths = steps[: last + 1], lengths[: last + 1]
        fs, gn = fs[: last + 2], gn[: last + 2]
        worse = (fs[-1] < fs[0]) if ascent else (fs[-1] > fs[0])
        growing = len(lengths) >= 3 and bool(np.all(np.diff(lengths[-3:]) > 0))
        if worse or (gn[-1] > gn[0] and growing):
            return "divergent"
        big = lengths > 1e-9 * lengths.max()
        dots = np.einsum("ij,ij->i", steps[:-1], steps[1:])
        reversals = dots < 0
        if np.any(reversals & big[:-1] & big[1:]):
            return "oscillating"
    return "monotone"
