"""The model behind a fit: a per-example loss differentiated and compiled over data.

:func:`model_for` turns a parsed loss into a :class:`Model` (the loss and its exact gradient,
compiled once into numpy functions of the parameters and the data columns). A squared error
linear in the parameters, ℓ = k·(t − xᵀθ)², is recognised (:func:`linear_form`) and solved
directly (:func:`solve_least_squares`) so the lesson can show it beside the descent result.
The settings of a fit are checked here too (:func:`batch_rows`, :func:`start_point`, ...), with
errors in the language in effect.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.errors import InputError
from symgd.base.i18n import _
from symgd.calculus.differentiate import partial_derivatives
from symgd.expr.activations import sigmoid, softplus
from symgd.expr.lambdify import lambdify_numpy
from symgd.expr.problem import Problem

# -- the model: symbolic pieces, compiled over data -------------------------------------------


@dataclass(frozen=True)
class LinearForm:
    """ℓ = factor · (target − Σᵢ designᵢ · θᵢ)²: a squared error linear in the parameters."""

    factor: sp.Expr
    design: tuple[sp.Expr, ...]  # one column of X per parameter, as an expression of the data
    target: sp.Expr  # t, an expression of the data


@dataclass(frozen=True, eq=False)
class Model:
    """A per-example loss ready to run: its gradient, compiled over the parameters and data."""

    problem: Problem
    params: tuple[sp.Symbol, ...]
    data_symbols: tuple[sp.Symbol, ...]
    gradient: tuple[sp.Expr, ...]
    value_grad: Callable[..., Any] = field(repr=False)
    value: Callable[..., Any] = field(repr=False)
    linear: LinearForm | None = None

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.data_symbols)

    @functools.cached_property
    def hessian(self) -> Callable[..., Any]:
        """Per-example Hessian rows (for Newton's method), compiled on first use."""
        rows = tuple(partial_derivatives(g, self.params) for g in self.gradient)
        return _compile(self.params, self.data_symbols, rows)

    @functools.cached_property
    def moments(self) -> MomentForm | None:
        """The gradient as a polynomial in the parameters with data coefficients (``None``
        when it is not one, or has too many terms), compiled on first use."""
        return moment_form(self.gradient, self.params, self.data_symbols)

    def batch(self, x: np.ndarray, columns: Sequence[np.ndarray]) -> tuple[float, np.ndarray]:
        """Mean loss and mean gradient over the rows in ``columns`` at parameters ``x``."""
        count = len(columns[0])
        add = np.add.reduce
        with np.errstate(all="ignore"):
            out = self.value_grad(*x, *columns)
            # add.reduce(v) / count is what ndarray.mean computes, without its overhead
            means = [add(v) / count if np.ndim(v) else float(v) for v in out]
        return float(means[0]), np.array(means[1:], dtype=float)

    def batch_hessian(self, x: np.ndarray, columns: Sequence[np.ndarray]) -> np.ndarray:
        """Mean Hessian over the rows in ``columns``."""
        with np.errstate(all="ignore"):
            rows = self.hessian(*x, *columns)
            return np.array(
                [[v.mean() if np.ndim(v) else float(v) for v in row] for row in rows], dtype=float
            )

    def mean_loss(
        self, points: np.ndarray, columns: Sequence[np.ndarray], *, chunk: int = 2_000_000
    ) -> np.ndarray:
        """The mean loss at each row of ``points`` (shape ``(G, n)``), for contour plots."""
        n_rows = len(columns[0])
        per = max(1, chunk // max(n_rows, 1))
        data = [c[None, :] for c in columns]
        out = np.empty(len(points))
        with np.errstate(all="ignore"):
            for lo in range(0, len(points), per):
                block = points[lo : lo + per]
                values = self.value(*(block[:, i : i + 1] for i in range(block.shape[1])), *data)
                out[lo : lo + per] = np.broadcast_to(values, (len(block), n_rows)).mean(axis=1)
        return out


#: most distinct data coefficients a gradient may have for the moment form
MAX_MOMENTS = 40
#: rows evaluated at a time when batch means or batch values are computed over an epoch
CHUNK_ROWS = 1 << 16


@dataclass(frozen=True, eq=False)
class MomentForm:
    """∂ℓ/∂θⱼ = Σₘ cₘ(row) θ^{eₘ}: every gradient component a polynomial in the parameters
    whose coefficients are functions of the data. The mean gradient over a batch then needs
    only the batch means of the coefficients, which numpy computes for every batch of an epoch
    at once; the loop over the batches is left with a small polynomial per update."""

    terms: tuple[
        tuple[tuple[int, tuple[int, ...]], ...], ...
    ]  # per component: (coefficient, exponents)
    coefficients: Callable[..., Any] = field(repr=False)  # data columns -> coefficient values
    count: int = 0

    def batch_means(self, columns: Sequence[np.ndarray], size: int) -> np.ndarray:
        """``(batches, count)``: the mean of each coefficient over each run of ``size`` rows."""
        n_rows = len(columns[0])
        starts = np.arange(0, n_rows, size)
        sums = np.empty((self.count, len(starts)))
        step = size * max(1, CHUNK_ROWS // size)
        with np.errstate(all="ignore"):
            for lo in range(0, n_rows, step):
                hi = min(n_rows, lo + step)
                values = self.coefficients(*(c[lo:hi] for c in columns))
                block = np.empty((self.count, hi - lo))
                for m, v in enumerate(values):
                    block[m] = v
                first = lo // size
                cut = np.arange(0, hi - lo, size)
                summed = block if size == 1 else np.add.reduceat(block, cut, axis=1)
                sums[:, first : first + len(cut)] = summed
            counts = np.diff(np.append(starts, n_rows))
            return np.ascontiguousarray((sums / counts).T)

    def gradients(self, means: np.ndarray, thetas: np.ndarray, *, size: bool = False) -> np.ndarray:
        """The gradient at each row of ``thetas`` from the coefficient means in the same row of
        ``means``; with ``size``, the sum of the terms' magnitudes instead (a rounding scale)."""
        out = np.zeros((len(thetas), len(self.terms)))
        with np.errstate(all="ignore"):
            for j, component in enumerate(self.terms):
                for m, exponents in component:
                    term = means[:, m].copy()
                    for i, e in enumerate(exponents):
                        if e:
                            term *= thetas[:, i] ** e
                    out[:, j] += np.abs(term) if size else term
        return out


def moment_form(
    gradient: Sequence[sp.Expr], params: Sequence[sp.Symbol], data: Sequence[sp.Symbol]
) -> MomentForm | None:
    """The :class:`MomentForm` of ``gradient``, or ``None`` when a component is not a
    polynomial in ``params`` or there are more than :data:`MAX_MOMENTS` coefficients."""
    coefficients: list[sp.Expr] = []
    terms = []
    for g in gradient:
        if not g.is_polynomial(*params):
            return None
        try:
            poly = sp.Poly(sp.expand(g), *params)
        except sp.PolynomialError:  # pragma: no cover - ruled out by is_polynomial
            return None
        component = []
        for exponents, coefficient in poly.terms():
            if coefficient not in coefficients:
                coefficients.append(coefficient)
            component.append((coefficients.index(coefficient), tuple(int(e) for e in exponents)))
        terms.append(tuple(component))
        if len(coefficients) > MAX_MOMENTS:
            return None
    if not coefficients:
        return None
    return MomentForm(tuple(terms), _compile((), data, tuple(coefficients)), len(coefficients))


def _compile(
    params: Sequence[sp.Symbol], data: Sequence[sp.Symbol], exprs: Any
) -> Callable[..., Any]:
    """lambdify over internal names, so that no column name can shadow a module name."""
    inner = [sp.Symbol(f"_p{i}", real=True) for i in range(len(params))]
    inner += [sp.Symbol(f"_d{i}", real=True) for i in range(len(data))]
    rename = dict(zip([*params, *data], inner, strict=True))

    def swap(e: Any) -> Any:
        return tuple(swap(v) for v in e) if isinstance(e, tuple) else sp.sympify(e).xreplace(rename)

    return lambdify_numpy(inner, swap(exprs))


def stable_loss(expr: sp.Expr) -> sp.Expr:
    """``log σ(z)`` → ``−softplus(−z)`` and ``log(1 − σ(z))`` → ``−softplus(z)``.

    The two sides are equal; the right ones stay finite for any z, where ``log`` of a sigmoid
    that rounded to 0 or 1 would give −∞. Used for the loss values only: the gradient SymPy
    derives from the loss as typed is already free of that logarithm.
    """

    def rewrite(e: sp.Expr) -> sp.Expr | None:
        if not isinstance(e, sp.log) or len(e.args) != 1:
            return None
        arg = e.args[0]
        if isinstance(arg, sigmoid):
            return -softplus(-arg.args[0])
        rest = sp.expand(1 - arg)
        if isinstance(rest, sigmoid):
            return -softplus(rest.args[0])
        return None

    return expr.replace(lambda e: rewrite(e) is not None, lambda e: rewrite(e))


@functools.lru_cache(maxsize=32)
def model_for(problem: Problem) -> Model:
    """Differentiate and compile the per-example loss of ``problem`` (cached)."""
    params, data = problem.variables, problem.parameters
    gradient = partial_derivatives(problem.expr, params)
    value = stable_loss(problem.expr)
    return Model(
        problem=problem,
        params=params,
        data_symbols=data,
        gradient=gradient,
        value_grad=_compile(params, data, (value, *gradient)),
        value=_compile(params, data, value),
        linear=linear_form(problem.expr, params, data),
    )


def linear_form(
    expr: sp.Expr, params: Sequence[sp.Symbol], data: Sequence[sp.Symbol] = ()
) -> LinearForm | None:
    """Recognise ℓ = k·(t − xᵀθ)² with a positive number k; ``None`` for any other loss.

    First a cheap check: the second derivatives in the parameters must be free of them (the
    loss is at most quadratic in θ). Then the loss must be a positive constant times a square
    whose base is affine in θ, as typed or after ``factor``; the columns of X are −∂r/∂θᵢ.
    """
    params = tuple(params)
    for i, p in enumerate(params):
        first = sp.diff(expr, p)
        for q in params[i:]:
            if sp.diff(first, q).has(*params):
                return None
    form = _square_form(expr, params)
    if form is None and expr.is_polynomial(*params):
        try:
            form = _square_form(sp.factor(expr), params)
        except (sp.PolynomialError, NotImplementedError):  # pragma: no cover - defensive
            return None
    return form


def _square_form(expr: sp.Expr, params: tuple[sp.Symbol, ...]) -> LinearForm | None:
    k, rest = expr.as_coeff_Mul()
    if not (isinstance(rest, sp.Pow) and rest.exp == 2 and k.is_number and k > 0):
        return None
    r = rest.base
    slopes = [sp.diff(r, p) for p in params]
    if any(s.has(*params) for s in slopes) or not any(s != 0 for s in slopes):
        return None
    r0 = r.xreplace(dict.fromkeys(params, sp.Integer(0)))
    if sp.expand(r - r0 - sum(s * p for s, p in zip(slopes, params, strict=True))) != 0:
        return None  # pragma: no cover - affine by the slope test
    design, target = tuple(-s for s in slopes), r0
    if target.could_extract_minus_sign() or (
        target == 0 and all(d.could_extract_minus_sign() for d in design if d != 0)
    ):
        design, target = tuple(slopes), -r0
    return LinearForm(sp.nsimplify(k) if k.is_Float else k, design, target)


# -- least squares ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LeastSquares:
    """The least-squares answer, solved directly, for a loss k·(t − xᵀθ)²."""

    form: LinearForm
    param_names: tuple[str, ...]
    solution: dict[str, float]
    loss: float  # the mean loss at the solution
    rank: int
    eigenvalues: tuple[float, ...]  # of ∇²L = (2k/N) XᵀX, ascending
    X: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.solution[n] for n in self.param_names])

    @property
    def full_rank(self) -> bool:
        return self.rank == len(self.param_names)

    @property
    def stable_lr(self) -> float | None:
        """2/λ_max: full-batch descent converges for η below it (when λ_max > 0)."""
        top = self.eigenvalues[-1] if self.eigenvalues else 0.0
        return 2.0 / top if top > 0 else None

    def matrix_gradient(self, theta: np.ndarray) -> np.ndarray:
        """∇L(θ) = −(2k/N) Xᵀ(t − Xθ)."""
        k = float(self.form.factor)
        gradient: np.ndarray = -(2.0 * k / len(self.t)) * (self.X.T @ (self.t - self.X @ theta))
        return gradient


def solve_least_squares(model: Model, columns: Sequence[np.ndarray]) -> LeastSquares | None:
    """Solve min ‖t − Xθ‖² with ``numpy.linalg.lstsq`` when the loss has the linear form."""
    form = model.linear
    if form is None:
        return None
    n_rows = len(columns[0])

    def evaluate(expr: sp.Expr) -> np.ndarray:
        function = lambdify_numpy(list(model.data_symbols), expr)
        return np.broadcast_to(np.asarray(function(*columns), dtype=float), (n_rows,))

    with np.errstate(all="ignore"):
        X = np.column_stack([evaluate(d) for d in form.design])
        t = np.array(evaluate(form.target))
        if not (np.isfinite(X).all() and np.isfinite(t).all()):
            return None
        # data near the end of float's range (1e308) overflows here: no answer then
        hessian = (2.0 * float(form.factor) / n_rows) * (X.T @ X)
        if not np.isfinite(hessian).all():
            return None
        try:
            solution, _, rank, _ = np.linalg.lstsq(X, t, rcond=None)
        except np.linalg.LinAlgError:
            return None
        k = float(form.factor)
        residual = t - X @ solution
        loss = float(k * np.mean(residual * residual))
        eigenvalues = tuple(float(v) for v in np.linalg.eigvalsh(hessian))
    if not (np.isfinite(solution).all() and math.isfinite(loss)):
        return None
    names = model.param_names
    return LeastSquares(
        form,
        names,
        {n: float(v) for n, v in zip(names, solution, strict=True)},
        loss,
        int(rank),
        eigenvalues,
        X,
        t,
    )


#: Newton iterations the reference optimum may take, and the |∇L| it stops under
REFERENCE_ITERATIONS = 100
REFERENCE_TOLERANCE = 1e-10


@dataclass(frozen=True)
class ReferenceOptimum:
    """The minimiser of the mean loss found by Newton's method on all rows: the answer a
    descent run is measured against when there is no closed form (logistic regression)."""

    param_names: tuple[str, ...]
    solution: dict[str, float]
    loss: float
    grad_norm: float
    iterations: int

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.solution[n] for n in self.param_names], dtype=float)

    @property
    def converged(self) -> bool:
        return self.grad_norm < REFERENCE_TOLERANCE


def newton_optimum(
    model: Model, columns: Sequence[np.ndarray], start: Sequence[float]
) -> ReferenceOptimum | None:
    """Damped Newton's method on the mean loss over all rows, from ``start``: each step solves
    H d = −∇L and halves d until L falls (a plain gradient step where H is not positive
    definite). ``None`` when it does not reach |∇L| < :data:`REFERENCE_TOLERANCE` (then no
    reference is claimed).

    >>> from symgd.expr.parser import parse
    >>> model = model_for(parse("(y - w*x)**2", ["w"], allow_parameters=True))
    >>> cols = (np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    >>> round(newton_optimum(model, cols, [0.0]).solution["w"], 9)
    2.0
    """
    x = np.array(start, dtype=float)
    loss, grad = model.batch(x, columns)
    for k in range(REFERENCE_ITERATIONS + 1):
        norm = float(np.linalg.norm(grad))
        if not (np.isfinite(loss) and np.isfinite(norm)):
            return None
        if norm < REFERENCE_TOLERANCE:
            names = model.param_names
            solution = {n: float(v) for n, v in zip(names, x, strict=True)}
            return ReferenceOptimum(names, solution, float(loss), norm, k)
        step = _newton_direction(model.batch_hessian(x, columns), grad)
        for _attempt in range(60):
            trial = x + step
            trial_loss, trial_grad = model.batch(trial, columns)
            if np.isfinite(trial_loss) and trial_loss <= loss + 1e-12 * max(1.0, abs(loss)):
                break
            step = step / 2
        else:
            return None
        x, loss, grad = trial, trial_loss, trial_grad
    return None


def _newton_direction(hessian: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """−H⁻¹∇L when H is positive definite, else −∇L."""
    try:
        if np.all(np.isfinite(hessian)) and np.all(np.linalg.eigvalsh(hessian) > 0):
            return np.asarray(-np.linalg.solve(hessian, grad), dtype=float)
    except np.linalg.LinAlgError:
        pass
    return np.asarray(-grad, dtype=float)


# -- the settings of a fit, checked -----------------------------------------------------------


def param_names(params: str | Sequence[str]) -> list[str]:
    """``"w,b"`` or ``["w", "b"]`` → ``["w", "b"]`` (at least one name)."""
    names = (
        [p.strip() for p in params.split(",")]
        if isinstance(params, str)
        else [str(p).strip() for p in params]
    )
    if not names or not all(names):
        raise InputError(
            _("--params must be a comma-separated list of names, got {value}").format(
                value=repr(params)
            )
        )
    return names


def _batch_size_message() -> str:
    return _("the batch size must be 'full' or a whole number ≥ 1, got {value}")


def batch_rows(batch_size: Any, n_rows: int) -> int:
    """Rows per update: ``"full"`` → N; an integer B ≥ 1 (B ≥ N is the full batch)."""
    if isinstance(batch_size, str):
        text = batch_size.strip().lower()
        if text in ("full", "all", "n"):
            return n_rows
        if not text.isdigit():
            raise InputError(_batch_size_message().format(value=repr(batch_size)))
        batch_size = int(text)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise InputError(_batch_size_message().format(value=repr(batch_size)))
    if batch_size < 1:
        raise InputError(
            _("the batch size must be at least 1, got {value}").format(value=batch_size)
        )
    return int(min(batch_size, n_rows))


def start_point(start: Any, names: Sequence[str]) -> np.ndarray:
    """The first θ: ``None`` (all zeros), a mapping name → value, or values in order."""
    n = len(names)
    if start is None:
        return np.zeros(n)
    if isinstance(start, dict):
        unknown = [k for k in start if k not in names]
        if unknown:
            message = (
                _("the start names {unknown}, which is not among the parameters ({names})")
                if len(unknown) == 1
                else _("the start names {unknown}, which are not among the parameters ({names})")
            )
            raise InputError(
                message.format(unknown=", ".join(map(str, unknown)), names=", ".join(names))
            )
        values = [start.get(name, 0.0) for name in names]
    else:
        values = list(np.atleast_1d(np.asarray(start, dtype=object)))
        if len(values) != n:
            raise InputError(
                _("the start has {count} value(s) but there are {n} parameter(s) ({names})").format(
                    count=len(values), n=n, names=", ".join(names)
                )
            )
    try:
        point = np.array([float(v) for v in values])
    except OverflowError:
        raise InputError(
            _("a start value is too large for floating point (beyond about 1.8e308)")
        ) from None
    except (TypeError, ValueError):
        raise InputError(
            _("the start values must be numbers, got {value}").format(value=repr(start))
        ) from None
    if not np.isfinite(point).all():
        raise InputError(_("the start values must be finite"))
    return point


def check_count(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(
            _("{name} must be a whole number, got {value}").format(name=name, value=repr(value))
        )
    if not low <= value <= high:
        raise InputError(
            _("{name} must be between {low} and {high}, got {value}").format(
                name=name, low=low, high=f"{high:,}", value=value
            )
        )
    return int(value)


def check_tolerance(tol: Any) -> float:
    try:
        value = float(tol)
    except OverflowError:
        raise InputError(_("tol is too large for floating point")) from None
    except (TypeError, ValueError):
        raise InputError(_("tol must be a number, got {value}").format(value=repr(tol))) from None
    if not (math.isfinite(value) and value >= 0):
        raise InputError(_("tol must be a finite number ≥ 0, got {value}").format(value=repr(tol)))
    return value
