"""Fit parameters to data: full-batch, mini-batch and stochastic descent on a mean loss.

``fit(loss, data, params)`` takes a per-example loss such as ``(y - (w*x + b))**2``: the names in
``params`` are the parameters, every other name is a data column. The objective is the mean of
the loss over the rows,

    L(θ) = (1/N) Σᵢ ℓ(θ; rowᵢ),   ∇L(θ) = (1/N) Σᵢ ∇_θ ℓ(θ; rowᵢ),

and its gradient is the exact symbolic gradient of ℓ, compiled once into a numpy function of
the parameters and the data columns that works on a whole batch of rows at a time.

Each epoch visits every row once. With batch size B the rows are shuffled at the start of the
epoch (a numpy ``Generator`` seeded with ``seed``, so a run is reproducible) and cut into
⌈N/B⌉ batches; each batch gives one update of the chosen optimizer (:mod:`symgd.numeric.optimizers`). B = 1
is stochastic gradient descent; ``"full"`` (or B ≥ N) uses every row in order for each update,
which is plain descent on L.

A start where the loss is undefined (outside its domain) is an ``InputError``; numbers too
large for floating point in the data or the start (an int such as 10**400) are too. Values
that are finite but overflow in the arithmetic (data of 1e308) give ``diverged`` with the
reason, and no numpy warning.

After every epoch the loss and gradient on all rows are evaluated. The run stops with

- ``converged`` when |∇L| < ``tol`` at the end of an epoch (or at the start);
- ``domain`` when the loss or its gradient is not a real number on some rows while the
  parameters are finite (the square root or logarithm of a negative number, a division by
  zero): the update left the domain of the loss (``domain_at`` is that update);
- ``diverged`` when a parameter, the loss or the gradient stops being finite for any other
  reason (an overflow), or a parameter grows beyond 1e12 in size (``diverged_at`` is the
  update where it happened);
- ``max_steps`` after ``epochs`` epochs.

When the loss is a squared error that is linear in the parameters, ℓ = k·(t − xᵀθ)², the
least-squares answer is solved directly (``numpy.linalg.lstsq``) and reported beside the
descent result, with the gradient in matrix form, ∇L = −(2k/N) Xᵀ(t − Xθ).
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from symgd.numeric.codegen import lambdify_numpy
from symgd.numeric.data import Dataset, MissingColumnError, from_columns, load_csv
from symgd.numeric.runner import RUNAWAY, Status
from symgd.base.errors import InputError
from symgd.expr.activations import sigmoid, softplus
from symgd.numeric.optimizers import Optimizer, make_optimizer
from symgd.expr.parser import Problem, parse, to_text

#: epochs when none are given
DEFAULT_EPOCHS = 100
#: tolerance on |∇L| (all rows) checked at the end of each epoch
DEFAULT_TOL = 1e-8
#: most epochs one fit may run
MAX_EPOCHS = 1_000_000
#: most updates one fit may take (the path of every update is kept)
MAX_UPDATES = 20_000_000

BatchSize = int | str


# -- the model: symbolic pieces, compiled over data -------------------------------------------

@dataclass(frozen=True)
class LinearForm:
    """ℓ = factor · (target − Σᵢ designᵢ · θᵢ)²: a squared error linear in the parameters."""

    factor: sp.Expr
    design: tuple[sp.Expr, ...]   # one column of X per parameter, as an expression of the data
    target: sp.Expr               # t, an expression of the data


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
        rows = tuple(tuple(sp.diff(g, p) for p in self.params) for g in self.gradient)
        return _compile(self.params, self.data_symbols, rows)

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
            return np.array([[v.mean() if np.ndim(v) else float(v) for v in row]
                             for row in rows], dtype=float)

    def mean_loss(self, points: np.ndarray, columns: Sequence[np.ndarray], *,
                  chunk: int = 2_000_000) -> np.ndarray:
        """The mean loss at each row of ``points`` (shape ``(G, n)``), for contour plots."""
        n_rows = len(columns[0])
        per = max(1, chunk // max(n_rows, 1))
        data = [c[None, :] for c in columns]
        out = np.empty(len(points))
        with np.errstate(all="ignore"):
            for lo in range(0, len(points), per):
                block = points[lo:lo + per]
                values = self.value(*(block[:, i:i + 1] for i in range(block.shape[1])), *data)
                out[lo:lo + per] = np.broadcast_to(values, (len(block), n_rows)).mean(axis=1)
        return out


def _compile(params: Sequence[sp.Symbol], data: Sequence[sp.Symbol], exprs: Any
             ) -> Callable[..., Any]:
    """lambdify over internal names, so that no column name can shadow a module name."""
    inner = [sp.Symbol(f"_p{i}", real=True) for i in range(len(params))]
    inner += [sp.Symbol(f"_d{i}", real=True) for i in range(len(data))]
    rename = dict(zip([*params, *data], inner, strict=True))

    def swap(e: Any) -> Any:
        return tuple(swap(v) for v in e) if isinstance(e, tuple) else sp.sympify(e).xreplace(
            rename)

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
    gradient = tuple(sp.diff(problem.expr, p) for p in params)
    value = stable_loss(problem.expr)
    return Model(
        problem=problem, params=params, data_symbols=data, gradient=gradient,
        value_grad=_compile(params, data, (value, *gradient)),
        value=_compile(params, data, value),
        linear=linear_form(problem.expr, params, data),
    )


def linear_form(expr: sp.Expr, params: Sequence[sp.Symbol], data: Sequence[sp.Symbol] = ()
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
    if target.could_extract_minus_sign() or (target == 0 and all(
            d.could_extract_minus_sign() for d in design if d != 0)):
        design, target = tuple(slopes), -r0
    return LinearForm(sp.nsimplify(k) if k.is_Float else k, design, target)


# -- least squares ----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class LeastSquares:
    """The least-squares answer, solved directly, for a loss k·(t − xᵀθ)²."""

    form: LinearForm
    param_names: tuple[str, ...]
    solution: dict[str, float]
    loss: float                        # the mean loss at the solution
    rank: int
    eigenvalues: tuple[float, ...]     # of ∇²L = (2k/N) XᵀX, ascending
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
        return -(2.0 * k / len(self.t)) * (self.X.T @ (self.t - self.X @ theta))


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
    return LeastSquares(form, names, {n: float(v) for n, v in zip(names, solution, strict=True)},
                        loss, int(rank), eigenvalues, X, t)


# -- results ----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class FitResult:
    """One fit: the parameters found, the loss per epoch, how the run ended, and its path."""

    expression: str
    param_names: tuple[str, ...]
    columns: tuple[str, ...]
    params: dict[str, float]
    start: dict[str, float]
    loss: float
    initial_loss: float
    grad_norm: float
    epochs: int
    max_epochs: int
    batch_size: int
    rows: int
    steps: int
    method: str
    lr: float
    hyperparameters: dict[str, float]
    seed: int
    status: Status
    reason: str
    diverged_at: int | None
    loss_per_epoch: np.ndarray = field(repr=False)
    grad_norm_per_epoch: np.ndarray = field(repr=False)
    path: np.ndarray = field(repr=False)           # (steps + 1, n): θ after each update
    batch_losses: np.ndarray = field(repr=False)   # (steps,): batch loss before each update
    angles: np.ndarray = field(repr=False)         # degrees between batch and full gradient
    least_squares: LeastSquares | None = field(default=None, repr=False)
    model: Model | None = field(default=None, repr=False, compare=False)
    data: Dataset | None = field(default=None, repr=False, compare=False)
    tol: float = DEFAULT_TOL
    domain_at: int | None = None

    @property
    def final(self) -> np.ndarray:
        """θ at the end, in the order of ``param_names``."""
        return np.array([self.params[n] for n in self.param_names])

    @property
    def mode(self) -> str:
        """``"full batch"``, ``"mini-batch"`` or ``"stochastic"``."""
        if self.batch_size >= self.rows:
            return "full batch"
        return "stochastic" if self.batch_size == 1 else "mini-batch"

    @property
    def label(self) -> str:
        """The run's name: ``full batch``, ``mini-batch (B = 16)`` or ``SGD (B = 1)``."""
        if self.mode == "full batch":
            return "full batch"
        if self.mode == "stochastic":
            return "SGD (B = 1)"
        return f"mini-batch (B = {self.batch_size})"

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.rows // self.batch_size)

    @property
    def distance_to_least_squares(self) -> float | None:
        """|θ − θ_lstsq| (Euclidean), when the least-squares answer is known and the distance
        is a finite number (a run that overflowed has none)."""
        if self.least_squares is None:
            return None
        with np.errstate(all="ignore"):
            distance = float(np.linalg.norm(self.final - self.least_squares.vector))
        return distance if math.isfinite(distance) else None

    @property
    def message(self) -> str:
        return self.reason

    @property
    def data_source(self) -> str:
        """Where the data came from (a file name, ``demo linear``, ``data``)."""
        return self.data.source if self.data is not None else "data"

    def to_dict(self) -> dict[str, Any]:
        """The ``symgd fit --json`` shape (numbers as JSON numbers).

        JSON has no NaN or infinity: ``loss``, ``initial_loss``, ``grad_norm``, a parameter or
        an entry of ``loss_per_epoch`` that is not finite (after an overflow, or outside the
        domain of the loss) is ``None``; so are ``least_squares`` and the two
        ``least_squares_*`` values when there is no least-squares answer, and ``diverged_at``
        and ``domain_at`` unless the run stopped that way.
        """
        from symgd.numeric.runner import finite_or_none as num

        ls = self.least_squares
        return {
            "params": {k: num(v) for k, v in self.params.items()},
            "loss": num(self.loss),
            "epochs": int(self.epochs),
            "batch_size": int(self.batch_size),
            "status": self.status.value,
            "least_squares": None if ls is None else dict(ls.solution),
            "loss_per_epoch": [num(v) for v in self.loss_per_epoch],
            "expression": self.expression,
            "columns": list(self.columns),
            "rows": int(self.rows),
            "method": self.method,
            "lr": float(self.lr),
            "hyperparameters": {k: float(v) for k, v in self.hyperparameters.items()},
            "seed": int(self.seed),
            "steps": int(self.steps),
            "start": {k: float(v) for k, v in self.start.items()},
            "initial_loss": num(self.initial_loss),
            "grad_norm": num(self.grad_norm),
            "diverged_at": self.diverged_at,
            "domain_at": self.domain_at,
            "message": self.reason,
            "least_squares_loss": None if ls is None else num(ls.loss),
            "distance_to_least_squares": self.distance_to_least_squares,
        }

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(f"<tr><td>{e(n)}</td><td>{self.params[n]:.6g}</td>"
                       + (f"<td>{self.least_squares.solution[n]:.6g}</td>"
                          if self.least_squares else "") + "</tr>"
                       for n in self.param_names)
        head = "<th>least squares</th>" if self.least_squares else ""
        return (f"<p><b>{e(self.label)}</b>, {e(self.method)}, η = {self.lr:g}: "
                f"<b>{e(self.status.value)}</b> after {self.epochs} epochs. {e(self.reason)}</p>"
                f"<table><tr><th></th><th>descent</th>{head}</tr>{rows}</table>"
                f"<p>mean loss {self.loss:.6g}</p>")


# -- running a fit ----------------------------------------------------------------------------

def fit(
    loss: str | sp.Expr | Problem,
    data: Any,
    params: str | Sequence[str],
    *,
    batch_size: BatchSize = "full",
    epochs: int = DEFAULT_EPOCHS,
    lr: float | None = None,
    method: str = "gd",
    seed: int = 0,
    start: Any = None,
    tol: float = DEFAULT_TOL,
    shuffle: bool = True,
    trace_angles: int = 0,
    **hyper: float,
) -> FitResult:
    """Minimise the mean of the per-example ``loss`` over ``data`` in the parameters ``params``.

    ``data``: a CSV path, a :class:`~symgd.numeric.data.Dataset` or a mapping of column name → values.
    ``batch_size``: ``"full"``, or B ≥ 1 rows per update (1 is SGD). ``lr=None`` uses 0.1
    (1 for Newton). ``start``: a mapping or sequence of parameter values (default all 0).
    ``trace_angles``: for the first that many updates, also evaluate the gradient on all rows
    and record the angle between it and the batch gradient (costly on big data).
    ``hyper``: the optimizer's hyperparameters (see :func:`symgd.numeric.optimizers.make_optimizer`).
    Bad input raises :class:`~symgd.base.errors.InputError`; a run that blows up is a result.
    """
    problem = loss_problem(loss, params)
    dataset = load_data(data, problem)
    optimizer = make_optimizer(method, lr, **hyper)
    model = model_for(problem)
    columns = dataset.select(model.columns)
    n_rows = dataset.n_rows
    size = batch_rows(batch_size, n_rows)
    n_epochs = _count("epochs", epochs, 1, MAX_EPOCHS)
    seed_value = _count("seed", seed, 0, 2**63 - 1)
    tolerance = _tolerance(tol)
    x0 = start_point(start, model.param_names)
    per_epoch = -(-n_rows // size)
    if n_epochs * per_epoch > MAX_UPDATES:
        raise InputError(f"{n_epochs} epochs of {per_epoch:,} updates is more than "
                         f"{MAX_UPDATES:,} updates; use fewer epochs or a larger batch")
    run = _run(model, optimizer, columns, x0, size, n_epochs, seed_value, tolerance,
               shuffle, max(0, int(trace_angles)))
    ls = solve_least_squares(model, columns)
    reason = run.reason
    if run.status is Status.DIVERGED and ls is not None and ls.stable_lr is not None:
        reason += (f"; full-batch descent on this loss is stable only for η < 2/λmax = "
                   f"{ls.stable_lr:.4g}")
    names = model.param_names
    return FitResult(
        expression=to_text(problem.expr), param_names=names, columns=model.columns,
        params={n: float(v) for n, v in zip(names, run.x, strict=True)},
        start={n: float(v) for n, v in zip(names, x0, strict=True)},
        loss=run.losses[-1] if run.losses else run.initial_loss,
        initial_loss=run.initial_loss,
        grad_norm=run.norms[-1] if run.norms else run.initial_norm,
        epochs=len(run.losses), max_epochs=n_epochs, batch_size=size, rows=n_rows,
        steps=run.steps, method=optimizer.name, lr=optimizer.lr,
        hyperparameters=dict(optimizer.hyperparameters), seed=seed_value, status=run.status,
        reason=reason,
        diverged_at=run.diverged_at if run.status is Status.DIVERGED else None,
        domain_at=run.diverged_at if run.status is Status.DOMAIN else None,
        loss_per_epoch=np.array(run.losses, dtype=float),
        grad_norm_per_epoch=np.array(run.norms, dtype=float),
        path=run.path, batch_losses=run.batch_losses, angles=run.angles,
        least_squares=ls, model=model,
        data=Dataset(dict(zip(model.columns, columns, strict=True)), dataset.source),
        tol=tolerance,
    )


def compare_batches(
    loss: str | sp.Expr | Problem,
    data: Any,
    params: str | Sequence[str],
    *,
    mini_batch: int = 16,
    max_updates: int = 50_000,
    trace_angles: int = 300,
    **options: Any,
) -> tuple[FitResult, ...]:
    """The same fit with the full batch, a mini-batch of ``mini_batch`` rows and SGD (B = 1).

    ``options`` are passed to :func:`fit` (epochs, lr, method, seed, start, ...). A run whose
    epochs would take more than ``max_updates`` updates runs fewer epochs (the result's
    ``max_epochs`` says how many); the lesson says so.
    """
    problem = loss_problem(loss, params)
    dataset = load_data(data, problem)
    n_rows = dataset.n_rows
    epochs = _count("epochs", options.pop("epochs", DEFAULT_EPOCHS), 1, MAX_EPOCHS)
    sizes: list[BatchSize] = ["full"]
    if 1 < mini_batch < n_rows:
        sizes.append(int(mini_batch))
    if n_rows > 1:
        sizes.append(1)
    results = []
    for size in sizes:
        per_epoch = -(-n_rows // batch_rows(size, n_rows))
        allowed = max(1, min(epochs, max_updates // per_epoch))
        results.append(fit(problem, dataset, problem.names, batch_size=size, epochs=allowed,
                           trace_angles=trace_angles, **options))
    return tuple(results)


def loss_problem(loss: str | sp.Expr | Problem, params: str | Sequence[str]) -> Problem:
    """Parse ``loss`` with ``params`` as the variables; every other name is a data column."""
    names = param_names(params)
    if isinstance(loss, Problem):
        if list(loss.names) == names:
            problem = loss
        else:
            problem = parse(loss.expr, names, allow_parameters=True)
    else:
        problem = parse(loss, names, allow_parameters=True)
    absent = [p.name for p in problem.variables if not problem.expr.has(p)]
    if absent:
        raise InputError(f"the loss does not use the parameter{'s' if len(absent) > 1 else ''} "
                         f"{', '.join(absent)}")
    if not problem.parameters:
        raise InputError("the loss uses no data columns: every name in it is a parameter; "
                         "to minimise a plain function use symgd descend")
    return problem


def param_names(params: str | Sequence[str]) -> list[str]:
    """``"w,b"`` or ``["w", "b"]`` → ``["w", "b"]`` (at least one name)."""
    names = [p.strip() for p in params.split(",")] if isinstance(params, str) else [
        str(p).strip() for p in params]
    if not names or not all(names):
        raise InputError(f"--params must be a comma-separated list of names, got {params!r}")
    return names


def load_data(data: Any, problem: Problem) -> Dataset:
    """The columns the loss needs, from a CSV path, a Dataset or a mapping."""
    wanted = [s.name for s in problem.parameters]
    try:
        if isinstance(data, str | Path):
            return load_csv(data, wanted)
        return from_columns(data, wanted, source=getattr(data, "source", "data"))
    except OverflowError:
        raise InputError("the data has a number too large for floating point (beyond about "
                         "1.8e308)") from None
    except MissingColumnError as exc:
        one = len(exc.missing) == 1
        raise MissingColumnError(
            f"{exc}. The loss uses {', '.join(exc.missing)}: every name in it that is not a "
            f"parameter ({', '.join(problem.names)}) must be a column of the data, or add "
            f"{'it' if one else 'them'} to --params", exc.missing) from None


def batch_rows(batch_size: Any, n_rows: int) -> int:
    """Rows per update: ``"full"`` → N; an integer B ≥ 1 (B ≥ N is the full batch)."""
    if isinstance(batch_size, str):
        text = batch_size.strip().lower()
        if text in ("full", "all", "n"):
            return n_rows
        if not text.isdigit():
            raise InputError(f"the batch size must be 'full' or a whole number ≥ 1, "
                             f"got {batch_size!r}")
        batch_size = int(text)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
        raise InputError(f"the batch size must be 'full' or a whole number ≥ 1, "
                         f"got {batch_size!r}")
    if batch_size < 1:
        raise InputError(f"the batch size must be at least 1, got {batch_size}")
    return int(min(batch_size, n_rows))


def start_point(start: Any, names: Sequence[str]) -> np.ndarray:
    """The first θ: ``None`` (all zeros), a mapping name → value, or values in order."""
    n = len(names)
    if start is None:
        return np.zeros(n)
    if isinstance(start, dict):
        unknown = [k for k in start if k not in names]
        if unknown:
            raise InputError(f"the start names {', '.join(map(str, unknown))}, which "
                             f"{'is' if len(unknown) == 1 else 'are'} not among the parameters "
                             f"({', '.join(names)})")
        values = [start.get(name, 0.0) for name in names]
    else:
        values = list(np.atleast_1d(np.asarray(start, dtype=object)))
        if len(values) != n:
            raise InputError(f"the start has {len(values)} value(s) but there are {n} "
                             f"parameter(s) ({', '.join(names)})")
    try:
        point = np.array([float(v) for v in values])
    except OverflowError:
        raise InputError("a start value is too large for floating point (beyond about "
                         "1.8e308)") from None
    except (TypeError, ValueError):
        raise InputError(f"the start values must be numbers, got {start!r}") from None
    if not np.isfinite(point).all():
        raise InputError("the start values must be finite")
    return point


def _count(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high:,}, got {value}")
    return int(value)


def _tolerance(tol: Any) -> float:
    try:
        value = float(tol)
    except OverflowError:
        raise InputError("tol is too large for floating point") from None
    except (TypeError, ValueError):
        raise InputError(f"tol must be a number, got {tol!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"tol must be a finite number ≥ 0, got {tol!r}")
    return value


# -- the loop ---------------------------------------------------------------------------------

@dataclass
class _Run:
    x: np.ndarray
    initial_loss: float
    initial_norm: float
    losses: list[float]
    norms: list[float]
    steps: int
    status: Status
    reason: str
    diverged_at: int | None
    path: np.ndarray
    batch_losses: np.ndarray
    angles: np.ndarray


def _bad_point(x: np.ndarray) -> str:
    if float(np.max(np.abs(x))) <= RUNAWAY:  # False for NaN too
        return ""
    if not np.isfinite(x).all():
        return "a parameter is no longer a finite number"
    if np.abs(x).max() > RUNAWAY:
        return "a parameter grew beyond 1e12 in size"
    return ""


def _bad_values(loss: float, grad: np.ndarray) -> str:
    if math.isfinite(loss + float(np.add.reduce(grad))):  # NaN or ±inf anywhere spoils the sum
        return ""
    if not math.isfinite(loss):
        return "the loss is no longer a finite number"
    if not np.isfinite(grad).all():
        return "the gradient is no longer finite"
    return ""


_LEFT = ": the update took the parameters out of the domain of the loss"


def _why_not_finite(model: Model, x: np.ndarray, columns: Sequence[np.ndarray],
                    loss: float) -> tuple[Status, str]:
    """Why the mean loss or gradient at ``x`` over ``columns`` is not finite: ``domain`` (some
    row's loss has no real value there: a NaN from √ or log of a negative number, or a
    division by zero) or ``diverged`` (an overflow). Decided by the first floating-point
    error of the evaluation: an overflow comes before the NaN it may cause."""
    what = "the loss" if not math.isfinite(loss) else "the gradient"
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            for value in model.value_grad(*x, *columns):
                np.add.reduce(np.asarray(value, dtype=float), axis=None)
    except FloatingPointError as exc:
        cause = str(exc)
        if "overflow" in cause:
            return Status.DIVERGED, (f"{what} overflowed ({cause}: numbers beyond about "
                                     "1.8e308); rescale the data or lower the learning rate")
        return Status.DOMAIN, f"{what} is not a real number on some rows ({cause})"
    except (ZeroDivisionError, ValueError) as exc:
        return Status.DOMAIN, f"{what} is not a real number on some rows ({exc})"
    return Status.DIVERGED, f"{what} is no longer a finite number"


def _angle(g: np.ndarray, full: np.ndarray) -> float:
    a, b = float(np.linalg.norm(g)), float(np.linalg.norm(full))
    if a == 0 or b == 0 or not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    cosine = max(-1.0, min(1.0, float(g @ full) / (a * b)))
    return math.degrees(math.acos(cosine))


def _run(model: Model, optimizer: Optimizer, columns: Sequence[np.ndarray], x0: np.ndarray,
         size: int, epochs: int, seed: int, tol: float, shuffle: bool, trace: int) -> _Run:
    n_rows = len(columns[0])
    full_batch = size >= n_rows
    per_epoch = -(-n_rows // size)
    total = epochs * per_epoch
    path = np.empty((total + 1, len(x0)))
    path[0] = x0
    batch_losses = np.empty(total)
    angles: list[float] = []
    rng = np.random.default_rng(seed)
    newton = optimizer.needs_hessian
    x = np.array(x0, dtype=float)
    state = optimizer.init(x)
    loss, grad = model.batch(x, columns)
    with np.errstate(all="ignore"):
        norm = float(np.linalg.norm(grad))
    initial = (loss, norm)
    losses: list[float] = []
    norms: list[float] = []
    k = 0

    def finish(status: Status, reason: str, at: int | None = None) -> _Run:
        return _Run(x, initial[0], initial[1], losses, norms, k, status, reason, at,
                    path[:k + 1], batch_losses[:k], np.array(angles, dtype=float))

    why = _bad_point(x)
    if why:
        return finish(Status.DIVERGED, f"At the start, {why}", 0)
    if _bad_values(loss, grad):
        status, why = _why_not_finite(model, x, columns, loss)
        if status is Status.DOMAIN:
            at = ", ".join(f"{n} = {v:.6g}" for n, v in zip(model.param_names, x, strict=True))
            raise InputError(f"the start ({at}) is outside the domain of the loss: {why}; "
                             "choose a start where the loss is defined on every row")
        return finish(status, f"At the start, {why}", 0)
    if norm < tol:
        return finish(Status.CONVERGED, f"At the start, |∇L| = {norm:.3g} < {tol:g} already")
    with np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            if full_batch:
                order = columns
            elif shuffle:
                permutation = rng.permutation(n_rows)
                order = [c[permutation] for c in columns]
            else:
                order = columns
            for lo in range(0, n_rows, size):
                if full_batch:
                    batch, f_b, g_b = order, loss, grad
                else:
                    batch = [c[lo:lo + size] for c in order]
                    f_b, g_b = model.batch(x, batch)
                    if _bad_values(f_b, g_b):
                        status, why = _why_not_finite(model, x, batch, f_b)
                        return finish(status, f"At update {k} (epoch {epoch}), {why}"
                                      + _LEFT * (status is Status.DOMAIN), k)
                if k < trace:
                    full_g = grad if full_batch else model.batch(x, columns)[1]
                    angles.append(_angle(g_b, full_g))
                hessian = model.batch_hessian(x, batch) if newton else None
                step, state = optimizer.update(g_b, state, x, hessian=hessian)
                x = x + step
                batch_losses[k] = f_b
                k += 1
                path[k] = x
                why = _bad_point(x)
                if why:
                    return finish(Status.DIVERGED, f"At update {k} (epoch {epoch}), {why}", k)
            loss, grad = model.batch(x, columns)
            norm = float(np.linalg.norm(grad))
            losses.append(loss)
            norms.append(norm)
            if _bad_values(loss, grad):
                status, why = _why_not_finite(model, x, columns, loss)
                return finish(status, f"After epoch {epoch} (update {k}), {why}"
                              + _LEFT * (status is Status.DOMAIN), k)
            if norm < tol:
                return finish(Status.CONVERGED, f"After {epoch} epoch{'s' if epoch > 1 else ''}"
                              f" ({k:,} updates), |∇L| = {norm:.3g} < {tol:g}")
    return finish(Status.MAX_STEPS, f"After {epochs} epoch{'s' if epochs > 1 else ''} "
                  f"({k:,} updates), |∇L| = {norm:.3g} is still ≥ {tol:g}")
