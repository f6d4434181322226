"""Fit parameters to data: full-batch, mini-batch and stochastic descent on a mean loss.

``fit(loss, data, params)`` takes a per-example loss such as ``(y - (w*x + b))**2``: the names in
``params`` are the parameters, every other name is a data column. The objective is the mean of
the loss over the rows,

    L(θ) = (1/N) Σᵢ ℓ(θ; rowᵢ),   ∇L(θ) = (1/N) Σᵢ ∇_θ ℓ(θ; rowᵢ),

and its gradient is the exact symbolic gradient of ℓ, compiled once into a numpy function of
the parameters and the data columns that works on a whole batch of rows at a time. For plain
descent on a loss whose gradient is a polynomial in the parameters, whole epochs run from batch
means of its coefficients and are then checked row by row (:mod:`symgd.numeric.fit_runs`).

Each epoch visits every row once. With batch size B the rows are shuffled at the start of the
epoch (a numpy ``Generator`` seeded with ``seed``, so a run is reproducible) and cut into
⌈N/B⌉ batches; each batch gives one update of the chosen optimizer
(:mod:`symgd.numeric.optimizers`). B = 1 is stochastic gradient descent; ``"full"`` (or B ≥ N)
uses every row in order for each update, which is plain descent on L.

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

``lang`` (``"en"``, ``"ko"``; default: the language in effect, see :mod:`symgd.base.i18n`) is
the language of the result's words: its ``reason``, its errors and the page drawn from it.
Numbers, statuses and JSON keys are the same in every language.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.errors import InputError
from symgd.base.i18n import N_, _, current, language
from symgd.expr.parser import parse
from symgd.expr.problem import Problem, to_text
from symgd.numeric.data import (
    Dataset,
    MissingColumnError,
    from_columns,
    load_csv,
    source_text,
)
from symgd.numeric.fit_model import (
    LeastSquares,
    Model,
    batch_rows,
    check_count,
    check_tolerance,
    model_for,
    param_names,
    solve_least_squares,
    start_point,
)
from symgd.numeric.fit_runs import FitLoop, Words, run_epochs, words
from symgd.numeric.optimizers import make_optimizer
from symgd.numeric.results import Status

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_TOL",
    "MAX_EPOCHS",
    "MAX_UPDATES",
    "BatchSize",
    "FitResult",
    "batch_rows",
    "compare_batches",
    "fit",
    "load_data",
    "loss_problem",
    "param_names",
    "start_point",
]

#: epochs when none are given
DEFAULT_EPOCHS = 100
#: tolerance on |∇L| (all rows) checked at the end of each epoch
DEFAULT_TOL = 1e-8
#: most epochs one fit may run
MAX_EPOCHS = 1_000_000
#: most updates one fit may take (the path of every update is kept)
MAX_UPDATES = 20_000_000

BatchSize = int | str


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
    path: np.ndarray = field(repr=False)  # (steps + 1, n): θ after each update
    batch_losses: np.ndarray = field(repr=False)  # (steps,): batch loss before each update
    angles: np.ndarray = field(repr=False)  # degrees between batch and full gradient
    least_squares: LeastSquares | None = field(default=None, repr=False)
    model: Model | None = field(default=None, repr=False, compare=False)
    data: Dataset | None = field(default=None, repr=False, compare=False)
    tol: float = DEFAULT_TOL
    domain_at: int | None = None
    #: epochs whose updates ran from batch means of the gradient's coefficients (see
    #: :class:`symgd.numeric.fit_runs.FastEpochs`), each checked row by row afterwards
    fast_epochs: int = 0
    #: the language ``reason`` and the page are written in (``"en"``, ``"ko"``)
    lang: str = "en"
    #: ``reason`` as words to put into any language (see :meth:`reason_text`)
    why: Words | None = field(default=None, repr=False, compare=False)

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
        """The run's name: ``full batch``, ``mini-batch (B = 16)`` or ``SGD (B = 1)`` (in the
        language in effect)."""
        if self.mode == "full batch":
            return _("full batch")
        if self.mode == "stochastic":
            return _("SGD (B = 1)")
        return _("mini-batch (B = {size})").format(size=self.batch_size)

    def reason_text(self) -> str:
        """Why the run stopped, in the language in effect (``reason`` is in :attr:`lang`)."""
        return self.why.text() if self.why is not None else self.reason

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
        """Where the data came from (a file name, ``the linear demo``, ``data``), in the
        language in effect."""
        return source_text(self.data.source if self.data is not None else "data")

    def to_dict(self) -> dict[str, Any]:
        """The ``symgd fit --json`` shape (numbers as JSON numbers).

        JSON has no NaN or infinity: ``loss``, ``initial_loss``, ``grad_norm``, a parameter or
        an entry of ``loss_per_epoch`` that is not finite (after an overflow, or outside the
        domain of the loss) is ``None``; so are ``least_squares`` and the two
        ``least_squares_*`` values when there is no least-squares answer, and ``diverged_at``
        and ``domain_at`` unless the run stopped that way.
        """
        from symgd.numeric.results import finite_or_none as num

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
        with language(self.lang):
            return self._html_summary()

    def _html_summary(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(n)}</td><td>{self.params[n]:.6g}</td>"
            + (f"<td>{self.least_squares.solution[n]:.6g}</td>" if self.least_squares else "")
            + "</tr>"
            for n in self.param_names
        )
        least, descent = _("least squares"), _("descent")
        head = f"<th>{e(least)}</th>" if self.least_squares else ""
        outcome = _("<b>{status}</b> after {epochs} epochs.").format(
            status=e(self.status.value), epochs=self.epochs
        )
        mean = _("mean loss {loss}").format(loss=f"{self.loss:.6g}")
        return (
            f"<p><b>{e(self.label)}</b>, {e(self.method)}, η = {self.lr:g}: "
            f"{outcome} {e(self.reason_text())}</p>"
            f"<table><tr><th></th><th>{e(descent)}</th>{head}</tr>{rows}</table>"
            f"<p>{e(mean)}</p>"
        )


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
    lang: str | None = None,
    **hyper: float,
) -> FitResult:
    """Minimise the mean of the per-example ``loss`` over ``data`` in the parameters ``params``.

    ``data``: a CSV path, a :class:`~symgd.numeric.data.Dataset` or a mapping of column name →
    values. ``batch_size``: ``"full"``, or B ≥ 1 rows per update (1 is SGD). ``lr=None`` uses
    the optimizer's default (0.1; 1 for Newton). ``start``: a mapping or sequence of parameter
    values (default all 0). ``trace_angles``: for the first that many updates, also evaluate
    the gradient on all rows and record the angle between it and the batch gradient (costly
    on big data). ``hyper``: the optimizer's hyperparameters (see
    :func:`symgd.numeric.optimizers.make_optimizer`). ``lang``: the language of the result's
    words and errors (``"en"``, ``"ko"``; default: the language in effect). Bad input raises
    :class:`~symgd.base.errors.InputError`; a run that blows up is a result.

    >>> rows = {"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]}
    >>> result = fit("(y - w*x)**2", rows, "w", lr=0.05)
    >>> result.status.value, result.epochs, round(result.params["w"], 6)
    ('converged', 34, 2.0)
    """
    with language(lang):
        return _fit(
            loss,
            data,
            params,
            batch_size,
            epochs,
            (lr, method, seed, start, tol, shuffle, trace_angles),
            hyper,
        )


def _fit(
    loss: str | sp.Expr | Problem,
    data: Any,
    params: str | Sequence[str],
    batch_size: BatchSize,
    epochs: int,
    options: tuple[Any, ...],
    hyper: dict[str, float],
) -> FitResult:
    """:func:`fit` in the language in effect (``options``: lr, method, seed, start, tol,
    shuffle, trace_angles)."""
    lr, method, seed, start, tol, shuffle, trace_angles = options
    problem = loss_problem(loss, params)
    dataset = load_data(data, problem)
    optimizer = make_optimizer(method, lr, **hyper)
    model = model_for(problem)
    columns = dataset.select(model.columns)
    size = batch_rows(batch_size, dataset.n_rows)
    n_epochs = check_count("epochs", epochs, 1, MAX_EPOCHS)
    seed_value = check_count("seed", seed, 0, 2**63 - 1)
    tolerance = check_tolerance(tol)
    x0 = start_point(start, model.param_names)
    per_epoch = -(-dataset.n_rows // size)
    if n_epochs * per_epoch > MAX_UPDATES:
        raise InputError(
            _(
                "{epochs} epochs of {updates} updates is more than {most} updates; use fewer "
                "epochs or a larger batch"
            ).format(epochs=n_epochs, updates=f"{per_epoch:,}", most=f"{MAX_UPDATES:,}")
        )
    run = run_epochs(
        model,
        optimizer,
        columns,
        x0,
        size,
        n_epochs,
        seed_value,
        tolerance,
        shuffle,
        max(0, int(trace_angles)),
    )
    settings = _Settings(
        optimizer.name,
        optimizer.lr,
        dict(optimizer.hyperparameters),
        size,
        n_epochs,
        seed_value,
        tolerance,
        x0,
    )
    return _result(
        problem,
        model,
        Dataset(dict(zip(model.columns, columns, strict=True)), dataset.source),
        run,
        settings,
    )


@dataclass(frozen=True)
class _Settings:
    """What a fit was asked to do, after checking."""

    method: str
    lr: float
    hyperparameters: dict[str, float]
    batch_size: int
    max_epochs: int
    seed: int
    tol: float
    start: np.ndarray


def _result(
    problem: Problem, model: Model, data: Dataset, run: FitLoop, settings: _Settings
) -> FitResult:
    """The :class:`FitResult` of a finished loop, with the least-squares answer beside it."""
    columns = [data.columns[name] for name in model.columns]
    ls = _least_squares(model, columns)
    why = run.reason
    if run.status is Status.DIVERGED and ls is not None and ls.stable_lr is not None:
        why = words(
            N_("{reason}; full-batch descent on this loss is stable only for η < 2/λmax = {lr}"),
            reason=why,
            lr=f"{ls.stable_lr:.4g}",
        )
    names = model.param_names
    return FitResult(
        expression=to_text(problem.expr),
        param_names=names,
        columns=model.columns,
        params={n: float(v) for n, v in zip(names, run.x, strict=True)},
        start={n: float(v) for n, v in zip(names, settings.start, strict=True)},
        loss=run.losses[-1] if run.losses else run.initial_loss,
        initial_loss=run.initial_loss,
        grad_norm=run.norms[-1] if run.norms else run.initial_norm,
        epochs=len(run.losses),
        max_epochs=settings.max_epochs,
        batch_size=settings.batch_size,
        rows=data.n_rows,
        steps=run.steps,
        method=settings.method,
        lr=settings.lr,
        hyperparameters=settings.hyperparameters,
        seed=settings.seed,
        status=run.status,
        reason=why.text(),
        diverged_at=run.diverged_at if run.status is Status.DIVERGED else None,
        domain_at=run.diverged_at if run.status is Status.DOMAIN else None,
        loss_per_epoch=np.array(run.losses, dtype=float),
        grad_norm_per_epoch=np.array(run.norms, dtype=float),
        path=run.path,
        batch_losses=run.batch_losses,
        angles=run.angles,
        least_squares=ls,
        model=model,
        data=data,
        tol=settings.tol,
        fast_epochs=run.fast_epochs,
        lang=current(),
        why=why,
    )


#: inside :func:`compare_batches`: least-squares answers by (model, column arrays), so that
#: its runs share one design matrix (the data cannot change in between)
_SHARED: ContextVar[dict[tuple[int, ...], LeastSquares | None] | None] = ContextVar(
    "symgd_fit_least_squares", default=None
)


def _least_squares(model: Model, columns: Sequence[np.ndarray]) -> LeastSquares | None:
    """:func:`solve_least_squares`, solved once per model and data within
    :func:`compare_batches`."""
    shared = _SHARED.get()
    if shared is None:
        return solve_least_squares(model, columns)
    key = (id(model), *(id(c) for c in columns))
    if key not in shared:
        shared[key] = solve_least_squares(model, columns)
    return shared[key]


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

    ``options`` are passed to :func:`fit` (epochs, lr, method, seed, start, lang, ...). A run
    whose epochs would take more than ``max_updates`` updates runs fewer epochs (the result's
    ``max_epochs`` says how many); the lesson says so.
    """
    with language(options.pop("lang", None)):
        return _compare(loss, data, params, mini_batch, max_updates, trace_angles, options)


def _compare(
    loss: str | sp.Expr | Problem,
    data: Any,
    params: str | Sequence[str],
    mini_batch: int,
    max_updates: int,
    trace_angles: int,
    options: dict[str, Any],
) -> tuple[FitResult, ...]:
    """:func:`compare_batches` in the language in effect."""
    problem = loss_problem(loss, params)
    dataset = load_data(data, problem)
    n_rows = dataset.n_rows
    epochs = check_count("epochs", options.pop("epochs", DEFAULT_EPOCHS), 1, MAX_EPOCHS)
    sizes: list[BatchSize] = ["full"]
    if 1 < mini_batch < n_rows:
        sizes.append(int(mini_batch))
    if n_rows > 1:
        sizes.append(1)
    results: list[FitResult] = []
    token = _SHARED.set({})
    try:
        _run_sizes(problem, dataset, sizes, epochs, max_updates, trace_angles, options, results)
    finally:
        _SHARED.reset(token)
    return tuple(results)


def _run_sizes(
    problem: Problem,
    dataset: Dataset,
    sizes: list[BatchSize],
    epochs: int,
    max_updates: int,
    trace_angles: int,
    options: dict[str, Any],
    results: list[FitResult],
) -> None:
    """The runs of :func:`compare_batches`, appended to ``results``."""
    n_rows = dataset.n_rows
    for size in sizes:
        per_epoch = -(-n_rows // batch_rows(size, n_rows))
        allowed = max(1, min(epochs, max_updates // per_epoch))
        results.append(
            fit(
                problem,
                dataset,
                problem.names,
                batch_size=size,
                epochs=allowed,
                trace_angles=trace_angles,
                **options,
            )
        )


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
        raise InputError(
            (
                _("the loss does not use the parameters {names}")
                if len(absent) > 1
                else _("the loss does not use the parameter {names}")
            ).format(names=", ".join(absent))
        )
    if not problem.parameters:
        raise InputError(
            _(
                "the loss uses no data columns: every name in it is a parameter; "
                "to minimise a plain function use symgd descend"
            )
        )
    return problem


def load_data(data: Any, problem: Problem) -> Dataset:
    """The columns the loss needs, from a CSV path, a Dataset or a mapping."""
    wanted = [s.name for s in problem.parameters]
    try:
        if isinstance(data, str | Path):
            return load_csv(data, wanted)
        return from_columns(data, wanted, source=getattr(data, "source", "data"))
    except OverflowError:
        raise InputError(
            _("the data has a number too large for floating point (beyond about 1.8e308)")
        ) from None
    except MissingColumnError as exc:
        advice = (
            _(
                "{error}. The loss uses {missing}: every name in it that is not a parameter "
                "({params}) must be a column of the data, or add it to --params"
            )
            if len(exc.missing) == 1
            else _(
                "{error}. The loss uses {missing}: every name in it that is not a parameter "
                "({params}) must be a column of the data, or add them to --params"
            )
        )
        raise MissingColumnError(
            advice.format(
                error=exc, missing=", ".join(exc.missing), params=", ".join(problem.names)
            ),
            exc.missing,
        ) from None
