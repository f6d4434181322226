"""The loop of a fit: epochs of shuffled batches, one optimizer update per batch.

:func:`run_epochs` runs a compiled :class:`~symgd.numeric.fit_model.Model` with an optimizer
from a start and returns a :class:`FitLoop`: the parameters reached, the loss and |∇L| on all
rows after each epoch, the path of every update and why the run stopped (see
:mod:`symgd.numeric.fitting` for the statuses).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symgd.base.errors import InputError
from symgd.base.i18n import N_, _
from symgd.numeric.fit_model import CHUNK_ROWS, Model, MomentForm
from symgd.numeric.optimizer_spec import Optimizer
from symgd.numeric.results import RUNAWAY, Status


@dataclass(frozen=True)
class Words:
    """A sentence kept as its message and values and put into words in the language in effect
    when :meth:`text` is called, so that a run can be described in any language. A value may
    be :class:`Words` itself (put into words first) or text shown as it is."""

    message: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self) -> str:
        """The sentence in the language in effect."""
        values = {k: v.text() if isinstance(v, Words) else v for k, v in self.values}
        return _(self.message).format(**values)


def words(message: str, **values: Any) -> Words:
    """:class:`Words` of ``message`` (marked with ``N_``) and ``values``."""
    return Words(message, tuple(values.items()))


@dataclass(frozen=True)
class FitLoop:
    """How one run of the loop ended, with what it recorded."""

    x: np.ndarray
    initial_loss: float
    initial_norm: float
    losses: list[float]
    norms: list[float]
    steps: int
    status: Status
    reason: Words
    diverged_at: int | None
    path: np.ndarray
    batch_losses: np.ndarray
    angles: np.ndarray
    fast_epochs: int = 0  # epochs run by FastEpochs (checked row by row afterwards)


def run_epochs(
    model: Model,
    optimizer: Optimizer,
    columns: Sequence[np.ndarray],
    x0: np.ndarray,
    size: int,
    epochs: int,
    seed: int,
    tol: float,
    shuffle: bool,
    trace: int,
) -> FitLoop:
    """Up to ``epochs`` epochs of batches of ``size`` rows from ``x0``.

    The rows are shuffled each epoch from ``seed`` (unless ``shuffle`` is false or the batch
    is full); for the first ``trace`` updates the angle between the batch gradient and the
    gradient on all rows is recorded. A start outside the domain of the loss raises
    :class:`InputError`; every other way of stopping is a status of the result.
    """
    n_rows = len(columns[0])
    full_batch = size >= n_rows
    loop = _Loop(model, optimizer, columns, x0, epochs * -(-n_rows // size), trace)
    stopped = loop.check_start(tol)
    if stopped is not None:
        return stopped
    rng = np.random.default_rng(seed)
    fast = None if full_batch else fast_path(model, optimizer)
    with np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            order = columns
            if not full_batch and shuffle:
                permutation = rng.permutation(n_rows)
                order = [c[permutation] for c in columns]
                del permutation
            stopped = None
            if fast is None or not loop.fast_epoch(fast, order, size):
                stopped = loop.run_epoch(epoch, order, size, full_batch)
            if stopped is None:
                stopped = loop.end_epoch(epoch, tol)
            if stopped is not None:
                return stopped
    values = {"epochs": epochs, "updates": f"{loop.k:,}", "norm": f"{loop.norm:.3g}"}
    return loop.finish(
        Status.MAX_STEPS,
        words(
            N_("After {epochs} epochs ({updates} updates), |∇L| = {norm} is still ≥ {tol}")
            if epochs > 1
            else N_("After {epochs} epoch ({updates} updates), |∇L| = {norm} is still ≥ {tol}"),
            **values,
            tol=f"{tol:g}",
        ),
    )


class _Loop:
    """The state of a run in progress: parameters, optimizer state and the records so far."""

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer,
        columns: Sequence[np.ndarray],
        x0: np.ndarray,
        total: int,
        trace: int,
    ) -> None:
        self.model, self.optimizer, self.columns, self.trace = model, optimizer, columns, trace
        self.newton = optimizer.needs_hessian
        self.path = np.empty((total + 1, len(x0)))
        self.path[0] = x0
        self.batch_losses = np.empty(total)
        self.angles: list[float] = []
        self.losses: list[float] = []
        self.norms: list[float] = []
        self.k = 0
        self.fast_epochs = 0
        self.x = np.array(x0, dtype=float)
        self.state = optimizer.init(self.x)
        self.loss, self.grad = model.batch(self.x, columns)
        with np.errstate(all="ignore"):
            self.norm = float(np.linalg.norm(self.grad))
        self.initial = (self.loss, self.norm)

    def finish(self, status: Status, reason: Words, at: int | None = None) -> FitLoop:
        k = self.k
        return FitLoop(
            self.x,
            self.initial[0],
            self.initial[1],
            self.losses,
            self.norms,
            k,
            status,
            reason,
            at,
            self.path[: k + 1],
            self.batch_losses[:k],
            np.array(self.angles, dtype=float),
            self.fast_epochs,
        )

    def check_start(self, tol: float) -> FitLoop | None:
        """A finished run when the start already settles it, else ``None``."""
        why = _bad_point(self.x)
        if why is not None:
            return self.finish(Status.DIVERGED, words(N_("At the start, {why}"), why=why), 0)
        if _bad_values(self.loss, self.grad):
            status, what = _why_not_finite(self.model, self.x, self.columns, self.loss)
            if status is Status.DOMAIN:
                at = ", ".join(
                    f"{n} = {v:.6g}" for n, v in zip(self.model.param_names, self.x, strict=True)
                )
                raise InputError(
                    _(
                        "the start ({at}) is outside the domain of the loss: {why}; "
                        "choose a start where the loss is defined on every row"
                    ).format(at=at, why=what.text())
                )
            return self.finish(status, words(N_("At the start, {why}"), why=what), 0)
        if self.norm < tol:
            return self.finish(
                Status.CONVERGED,
                words(
                    N_("At the start, |∇L| = {norm} < {tol} already"),
                    norm=f"{self.norm:.3g}",
                    tol=f"{tol:g}",
                ),
            )
        return None

    def run_epoch(
        self, epoch: int, order: Sequence[np.ndarray], size: int, full_batch: bool
    ) -> FitLoop | None:
        """The updates of one epoch over the rows in ``order``; a finished run if one fails."""
        model = self.model
        for lo in range(0, len(order[0]), size):
            if full_batch:
                batch, f_b, g_b = order, self.loss, self.grad
            else:
                batch = [c[lo : lo + size] for c in order]
                f_b, g_b = model.batch(self.x, batch)
                if _bad_values(f_b, g_b):
                    status, why = _why_not_finite(model, self.x, batch, f_b)
                    return self.finish(status, _at_update(status, self.k, epoch, why), self.k)
            if self.k < self.trace:
                full_g = self.grad if full_batch else model.batch(self.x, self.columns)[1]
                self.angles.append(_angle(g_b, full_g))
            hessian = model.batch_hessian(self.x, batch) if self.newton else None
            step, self.state = self.optimizer.update(g_b, self.state, self.x, hessian=hessian)
            self.x = self.x + step
            self.batch_losses[self.k] = f_b
            self.k += 1
            self.path[self.k] = self.x
            runaway = _bad_point(self.x)
            if runaway is not None:
                return self.finish(
                    Status.DIVERGED, _at_update(Status.DIVERGED, self.k, epoch, runaway), self.k
                )
        return None

    def fast_epoch(self, fast: FastEpochs, order: Sequence[np.ndarray], size: int) -> bool:
        """The updates of one epoch by :class:`FastEpochs`, checked afterwards against the
        batch losses and gradients evaluated row by row, as :meth:`run_epoch` evaluates them
        (``False`` when the check fails or a parameter runs away: then :meth:`run_epoch` does
        the epoch again from its start and says what went wrong). The epoch goes in segments
        of :data:`SEGMENT` batches, so that its arrays stay small."""
        k0, x = self.k, self.x
        angles: list[float] = []
        reached: np.ndarray | None
        step = SEGMENT * size
        for lo in range(0, len(order[0]), step):
            segment = [c[lo : lo + step] for c in order]
            k = k0 + lo // size
            reached = self._fast_segment(fast, segment, size, k, x, angles)
            if reached is None:
                return False
            x = reached
        count = -(-len(order[0]) // size)
        self.angles += angles
        self.x = x
        self.state = self.state._replace(step=self.state.step + count)
        self.k += count
        self.fast_epochs += 1
        return True

    def _fast_segment(
        self,
        fast: FastEpochs,
        columns: Sequence[np.ndarray],
        size: int,
        k0: int,
        x: np.ndarray,
        angles: list[float],
    ) -> np.ndarray | None:
        """The updates ``k0 + 1, ...`` over ``columns`` from ``x``: the last θ, or ``None``."""
        moments = fast.moments
        means = moments.batch_means(columns, size)
        count = len(means)
        if not np.isfinite(means).all():
            return None
        end = fast.run(means, x, self.path[k0 + 1 : k0 + count + 1])
        if end is None:
            return None
        thetas = self.path[k0 : k0 + count]
        losses, grads = batch_values(self.model, thetas, columns, size)
        if not (np.isfinite(losses).all() and np.isfinite(grads).all()):
            return None
        predicted = moments.gradients(means, thetas)
        scale = moments.gradients(means, thetas, size=True) + np.abs(grads)
        if not np.all(np.abs(predicted - grads) <= AGREEMENT * scale + 1e-300):
            return None
        for k in range(k0, min(self.trace, k0 + count)):
            full = moments.gradients(fast.full_means(self.columns), thetas[k - k0 : k - k0 + 1])
            angles.append(_angle(grads[k - k0], full[0]))
        self.batch_losses[k0 : k0 + count] = losses
        return np.array(end, dtype=float)

    def end_epoch(self, epoch: int, tol: float) -> FitLoop | None:
        """Loss and gradient on all rows after an epoch; a finished run if they settle it."""
        self.loss, self.grad = self.model.batch(self.x, self.columns)
        self.norm = float(np.linalg.norm(self.grad))
        self.losses.append(self.loss)
        self.norms.append(self.norm)
        if _bad_values(self.loss, self.grad):
            status, why = _why_not_finite(self.model, self.x, self.columns, self.loss)
            message = (
                N_(
                    "After epoch {epoch} (update {update}), {why}: the update took the "
                    "parameters out of the domain of the loss"
                )
                if status is Status.DOMAIN
                else N_("After epoch {epoch} (update {update}), {why}")
            )
            return self.finish(status, words(message, epoch=epoch, update=self.k, why=why), self.k)
        if self.norm < tol:
            values = {"epochs": epoch, "updates": f"{self.k:,}", "norm": f"{self.norm:.3g}"}
            return self.finish(
                Status.CONVERGED,
                words(
                    N_("After {epochs} epochs ({updates} updates), |∇L| = {norm} < {tol}")
                    if epoch > 1
                    else N_("After {epochs} epoch ({updates} updates), |∇L| = {norm} < {tol}"),
                    **values,
                    tol=f"{tol:g}",
                ),
            )
        return None


def _at_update(status: Status, k: int, epoch: int, why: Words) -> Words:
    """``At update k (epoch e), why``, saying so when the update left the domain."""
    message = (
        N_(
            "At update {update} (epoch {epoch}), {why}: the update took the parameters out of "
            "the domain of the loss"
        )
        if status is Status.DOMAIN
        else N_("At update {update} (epoch {epoch}), {why}")
    )
    return words(message, update=k, epoch=epoch, why=why)


def _bad_point(x: np.ndarray) -> Words | None:
    if float(np.max(np.abs(x))) <= RUNAWAY:  # False for NaN too
        return None
    if not np.isfinite(x).all():
        return words(N_("a parameter is no longer a finite number"))
    if np.abs(x).max() > RUNAWAY:
        return words(N_("a parameter grew beyond 1e12 in size"))
    return None


def _bad_values(loss: float, grad: np.ndarray) -> str:
    if math.isfinite(loss + float(np.add.reduce(grad))):  # NaN or ±inf anywhere spoils the sum
        return ""
    if not math.isfinite(loss):
        return "the loss is no longer a finite number"
    if not np.isfinite(grad).all():
        return "the gradient is no longer finite"
    return ""


def _why_not_finite(
    model: Model, x: np.ndarray, columns: Sequence[np.ndarray], loss: float
) -> tuple[Status, Words]:
    """Why the mean loss or gradient at ``x`` over ``columns`` is not finite: ``domain`` (some
    row's loss has no real value there: a NaN from √ or log of a negative number, or a
    division by zero) or ``diverged`` (an overflow). Decided by the first floating-point
    error of the evaluation: an overflow comes before the NaN it may cause."""
    loss_bad = not math.isfinite(loss)
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            for value in model.value_grad(*x, *columns):
                np.add.reduce(np.asarray(value, dtype=float), axis=None)
    except FloatingPointError as exc:
        cause = _cause(str(exc))
        if "overflow" in str(exc):
            return Status.DIVERGED, words(
                N_(
                    "the loss overflowed ({cause}: numbers beyond about 1.8e308); rescale "
                    "the data or lower the learning rate"
                )
                if loss_bad
                else N_(
                    "the gradient overflowed ({cause}: numbers beyond about 1.8e308); "
                    "rescale the data or lower the learning rate"
                ),
                cause=cause,
            )
        return Status.DOMAIN, _not_real(loss_bad, cause)
    except (ZeroDivisionError, ValueError) as exc:
        return Status.DOMAIN, _not_real(loss_bad, str(exc))
    return Status.DIVERGED, words(
        N_("the loss is no longer a finite number")
        if loss_bad
        else N_("the gradient is no longer a finite number")
    )


def _not_real(loss_bad: bool, cause: Words | str) -> Words:
    return words(
        N_("the loss is not a real number on some rows ({cause})")
        if loss_bad
        else N_("the gradient is not a real number on some rows ({cause})"),
        cause=cause,
    )


#: numpy's floating-point errors, put into words (``{op}`` is the numpy function's name)
_CAUSES = {
    "overflow": N_("overflow encountered in {op}"),
    "divide by zero": N_("divide by zero encountered in {op}"),
    "invalid value": N_("invalid value encountered in {op}"),
}


def _cause(text: str) -> Words | str:
    """numpy's ``divide by zero encountered in log`` as :class:`Words` (other text as it is)."""
    kind, found, op = text.partition(" encountered in ")
    if found and kind in _CAUSES and op.isidentifier():
        return words(_CAUSES[kind], op=op)
    return text


def _angle(g: np.ndarray, full: np.ndarray) -> float:
    a, b = float(np.linalg.norm(g)), float(np.linalg.norm(full))
    if a == 0 or b == 0 or not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    cosine = max(-1.0, min(1.0, float(g @ full) / (a * b)))
    return math.degrees(math.acos(cosine))


# -- whole epochs at once ---------------------------------------------------------------------

#: batches per segment of a fast epoch
SEGMENT = 1 << 14
#: how closely the gradients of a fast epoch must match the row-by-row ones, relative to the
#: sizes of the terms they are sums of (rounding alone leaves about 1e-16 of that)
AGREEMENT = 1e-10


@dataclass(frozen=True, eq=False)
class FastEpochs:
    """Plain descent over an epoch whose batch gradients are polynomials in the parameters
    (:class:`~symgd.numeric.fit_model.MomentForm`): the batch means of the coefficients for
    the whole epoch in numpy, then one generated loop on Python floats, θ ← θ + (−η)·g_B, the
    update :mod:`symgd.numeric.optimizers` makes. The loop stops when a parameter leaves
    [−1e12, 1e12] or is NaN."""

    moments: MomentForm
    scale: float  # the step is scale · g (−η)
    loop: Callable[..., Any]
    full: list[np.ndarray] = field(default_factory=list)

    def full_means(self, columns: Sequence[np.ndarray]) -> np.ndarray:
        """The coefficient means over all rows (computed once)."""
        if not self.full:
            self.full.append(self.moments.batch_means(columns, len(columns[0])))
        return self.full[0]

    def run(self, means: np.ndarray, x: np.ndarray, out: np.ndarray) -> tuple[float, ...] | None:
        """Write θ after each update into ``out``; the last θ, or ``None`` when it ran away."""
        state = tuple(float(v) for v in x)
        block = 8192
        for lo in range(0, len(means), block):
            buffer = array("d")
            state = self.loop(means[lo : lo + block].tolist(), state, self.scale, RUNAWAY, buffer)
            if state is None:
                return None
            out[lo : lo + block] = np.frombuffer(buffer).reshape(-1, len(x))
        return state


def fast_path(model: Model, optimizer: Optimizer) -> FastEpochs | None:
    """:class:`FastEpochs` for plain descent on a loss whose gradient has a moment form."""
    rule = optimizer.rule
    if rule is None or rule.buffers or rule.gradient_scale is None or optimizer.needs_hessian:
        return None
    moments = model.moments
    if moments is None:
        return None
    scale = float(rule.gradient_scale(optimizer.constants()))
    probe = np.array([0.3, -1.7e-3, 2.5e7])
    step, _ = optimizer.update(probe, optimizer.init(np.zeros(3)))
    if not np.array_equal(step, scale * probe):  # the rule is not θ + c·g after all
        return None
    return FastEpochs(moments, scale, _loop_code(moments))


def _loop_code(moments: MomentForm) -> Callable[..., Any]:
    """The generated loop: for each row of batch means, the gradient and the step."""
    n = len(moments.terms)
    xs = [f"x{i}" for i in range(n)]
    ss = [f"s{m}" for m in range(moments.count)]

    def term(m: int, exponents: tuple[int, ...]) -> str:
        factors = [f"s{m}"] + [xs[i] for i, e in enumerate(exponents) for _ in range(e)]
        return "*".join(factors)

    inside = " and ".join(f"-R <= {x} <= R" for x in xs)
    lines = [
        "def loop(rows, state, c, R, out):",
        "    append = out.append",
        f"    {', '.join(xs)}, = state",
        f"    for {', '.join(ss)}, in rows:",
    ]
    for j, component in enumerate(moments.terms):
        lines.append(f"        g{j} = " + " + ".join(term(m, e) for m, e in component))
    lines += [f"        {x} = {x} + c*g{j}" for j, x in enumerate(xs)]
    lines += [f"        if not ({inside}):", "            return None"]
    lines += [f"        append({x})" for x in xs]
    lines.append(f"    return ({', '.join(xs)},)")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines) + "\n", "<symgd fit epoch>", "exec"), namespace)
    function: Callable[..., Any] = namespace["loop"]
    return function


def batch_values(
    model: Model, thetas: np.ndarray, columns: Sequence[np.ndarray], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The mean loss and gradient of each batch of ``size`` rows at its own parameters (row
    k of ``thetas``), evaluated row by row as :meth:`Model.batch` evaluates one batch."""
    n_rows, n = len(columns[0]), thetas.shape[1]
    count = len(thetas)
    sums = np.empty((n + 1, count))
    step = size * max(1, CHUNK_ROWS // size)
    with np.errstate(all="ignore"):
        for lo in range(0, n_rows, step):
            hi = min(n_rows, lo + step)
            which = np.arange(lo, hi) // size
            params = [thetas[which, i] for i in range(n)]
            values = model.value_grad(*params, *(c[lo:hi] for c in columns))
            cut = np.arange(0, hi - lo, size)
            first = lo // size
            for j, v in enumerate(values):
                full = np.broadcast_to(np.asarray(v, dtype=float), (hi - lo,))
                sums[j, first : first + len(cut)] = (
                    full if size == 1 else np.add.reduceat(full, cut)
                )
        counts = np.diff(np.append(np.arange(0, n_rows, size), n_rows))
        means = sums / counts
    return means[0], np.ascontiguousarray(means[1:].T)
