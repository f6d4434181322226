"""Settings the user left out, chosen for the function, each with its reason in words."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from symgd.base.errors import InputError
from symgd.base.i18n import _
from symgd.calculus.exact import exact_number
from symgd.lesson.settings import (
    DEFAULT_METHODS,
    MAX_DEFAULT_STEPS,
    MIN_DEFAULT_STEPS,
    NEWTON_MAX_VARIABLES,
    TOLERANCE,
    Chosen,
    Settings,
    StartInput,
    make_rate,
    make_start,
    parse_methods,
    parse_rate,
    parse_start,
    parse_steps,
)
from symgd.render.latex import floats_plain, number

if TYPE_CHECKING:
    import sympy as sp

    from symgd.calculus.curvature import RateWindow
    from symgd.lesson.facts import Facts
    from symgd.numeric.results import Trajectory


def choose_settings(
    facts: Facts,
    start: StartInput | None,
    lr: float | None,
    steps: int | None,
    methods: Sequence[str] | str | None,
) -> Chosen:
    """The settings of the lesson: what the user gave, checked, and the rest chosen."""
    reasons: dict[str, str] = {}
    defaults: set[str] = set()
    if start is None:
        point, reasons["start"] = default_start(facts)
        defaults.add("start")
    else:
        point = parse_start(facts, start)
        reasons["start"] = _("Chosen by you.")
        if facts.n and _is_critical(facts, point):
            reasons["start"] += " " + _(
                "It is a critical point: the gradient is zero there, so "
                "gradient descent cannot move."
            )
    if lr is None:
        exact, reasons["lr"] = default_lr(facts, point)
        rate = make_rate(exact)
        defaults.add("lr")
    else:
        rate = make_rate(parse_rate(lr))
        remark = lr_remark(facts, rate.value)
        reasons["lr"] = _("Chosen by you.") + (" " + remark if remark else "")
    chosen: tuple[str, ...]
    if methods is None:
        chosen = default_methods(facts.n)
        defaults.add("methods")
        reasons["methods"] = (
            _(
                "Plain gradient descent, the subject of this lesson, and two popular "
                "refinements of it for comparison."
            )
            if "newton" not in chosen
            else _(
                "Plain gradient descent, the subject of this lesson; momentum and Adam, two "
                "popular refinements of it; and Newton's method, which also uses the Hessian "
                "(a lesson runs it for up to {n} variables)."
            ).format(n=NEWTON_MAX_VARIABLES)
        )
    else:
        chosen = parse_methods(methods)
        reasons["methods"] = _("Chosen by you.")
    trial = None
    if steps is None:
        count, reasons["steps"], trial = default_steps(facts, point, rate.value)
        defaults.add("steps")
    else:
        count = parse_steps(steps)
        reasons["steps"] = _("Chosen by you.")
    settings = Settings(make_start(point), rate, count, chosen, reasons, frozenset(defaults))
    return Chosen(settings, trial)


def default_methods(n: int) -> tuple[str, ...]:
    """The optimizers a lesson runs when the user names none: Newton's method joins the three
    first-order ones for up to :data:`NEWTON_MAX_VARIABLES` variables.

    >>> default_methods(2), default_methods(4)
    (('gd', 'momentum', 'adam', 'newton'), ('gd', 'momentum', 'adam'))
    """
    return (*DEFAULT_METHODS, "newton") if n <= NEWTON_MAX_VARIABLES else DEFAULT_METHODS


def _is_critical(facts: Facts, point: Sequence[Any]) -> bool:
    grad = facts.grad_at([float(v) for v in point])
    return bool(max(abs(g) for g in grad) < 1e-12)


def default_start(facts: Facts) -> tuple[tuple[Any, ...], str]:
    """The first simple candidate point where f and ∇f are defined, the gradient is not zero
    and no critical point is near."""
    import sympy as sp

    known = [p.as_floats() for p in facts.isolated]
    for candidate in _start_candidates(facts.n):
        point = [float(c) for c in candidate]
        value = facts.f_at(point)
        grad = facts.grad_at(point)
        if not math.isfinite(value) or not all(math.isfinite(g) for g in grad):
            continue
        norm = math.sqrt(sum(g * g for g in grad))
        if norm < 1e-6:
            continue
        if any(max(abs(a - b) for a, b in zip(point, k, strict=True)) < 0.25 for k in known):
            continue
        if not facts.smooth and on_a_kink(facts, point):
            continue
        words = (
            _(
                "The first of symgd's simple candidate points where f and ∇f are defined and "
                "the gradient is not zero (|∇f| ≈ {norm}); {point} is not a critical point, "
                "so descent has somewhere to go, and the figures are drawn around it."
            )
            if facts.smooth
            else _(
                "The first of symgd's simple candidate points where f and ∇f are defined and "
                "the gradient is not zero (|∇f| ≈ {norm}); {point} is not a critical point "
                "and not on a kink of f, so descent has somewhere to go, and the figures are "
                "drawn around it."
            )
        )
        shown = words.format(norm=number(norm, 3), point=floats_plain(point))
        return tuple(sp.sympify(c) for c in candidate), shown
    raise InputError(
        "symgd could not find a start point where f and its gradient are "
        "defined and the gradient is not zero; give one with --start"
    )


def on_a_kink(facts: Facts, point: Sequence[float]) -> bool:
    """True when ∇f jumps at ``point`` (it lies on a kink of abs, relu, max, ...): the one-sided
    gradients a small step either side along some axis differ."""
    import numpy as np

    x = np.asarray(point, dtype=float)
    for i in range(facts.n):
        h = np.zeros_like(x)
        h[i] = 1e-7 * max(1.0, abs(float(x[i])))
        left, right = facts.grad_at(list(x - h)), facts.grad_at(list(x + h))
        scale = 1.0 + float(np.abs(facts.grad_at(list(x))).max())
        if (
            np.isfinite(left).all()
            and np.isfinite(right).all()
            and float(np.abs(right - left).max()) > 1e-4 * scale
        ):
            return True
    return False


def _start_candidates(n: int) -> list[tuple[Any, ...]]:
    import sympy as sp

    cycle = [1, 2, -1, sp.Rational(1, 2), -2, sp.Rational(3, 2), 3, -3]
    if n == 1:
        return [(sp.Integer(c),) for c in (1, 2, -1, sp.Rational(1, 2), -2, 3)]
    candidates: list[tuple[Any, ...]] = []
    base = [(1, 2), (2, 1), (-1, 2), (2, -1), (1, 1), (-2, -1), (3, 2), (-3, 1)]
    for pair in base:
        tail = [cycle[(i + 2) % len(cycle)] for i in range(n - 2)]
        candidates.append(tuple(sp.sympify(v) for v in (*pair, *tail)))
    for shift in range(len(cycle)):
        candidates.append(tuple(sp.sympify(cycle[(i + shift) % len(cycle)]) for i in range(n)))
    return candidates


def steepest_window(facts: Facts, point: Sequence[Any]) -> RateWindow | None:
    """The curvature window with the largest positive λ_max that matters for a step size: at
    the start and at the minima (the whole range when the Hessian is constant)."""
    places = [[float(v) for v in point]] + [list(p.as_floats()) for p in facts.minima]
    best: RateWindow | None = None
    for place in places:
        window = facts.window_at(place)
        top = window.lambda_max
        if top is not None and top > 0 and (best is None or top > (best.lambda_max or 0)):
            best = window
    return best


def default_lr(facts: Facts, point: Sequence[Any]) -> tuple[sp.Rational, str]:
    """A round learning rate below half of 1/λ_max, and why."""
    window = steepest_window(facts, point)
    several = len(facts.minima) > 1
    if window is None or window.monotone_below is None or window.stable_below is None:
        if not facts.minima:
            why = _(
                "The Hessian has no positive eigenvalue at the start point, so curvature "
                "suggests no step size; 1/10 is a common first try."
            )
        elif several:
            why = _(
                "The Hessian has no positive eigenvalue at the start point or at the minima, "
                "so curvature suggests no step size; 1/10 is a common first try."
            )
        else:
            why = _(
                "The Hessian has no positive eigenvalue at the start point or at the minimum, "
                "so curvature suggests no step size; 1/10 is a common first try."
            )
        return exact_number(0.1), why
    rate = min(_nice_below(window.monotone_below / 2), 1.0)
    exact = exact_number(rate)
    if facts.derivation.hessian_is_constant and facts.smooth:
        largest = _("The largest Hessian eigenvalue everywhere is λ_max ≈ {lam}.")
    elif facts.minima and several:
        largest = _(
            "The largest Hessian eigenvalue at the start point and at the minima is λ_max ≈ {lam}."
        )
    elif facts.minima:
        largest = _(
            "The largest Hessian eigenvalue at the start point and at the minimum is λ_max ≈ {lam}."
        )
    else:
        largest = _(
            "The largest Hessian eigenvalue at the start point (symgd found no minimum of f) "
            "is λ_max ≈ {lam}."
        )
    margin = _(
        "Plain descent on a quadratic is stable for η < 2/λ_max ≈ {stable} and moves without "
        "zig-zag for η < 1/λ_max ≈ {monotone}; η = {rate} is a round number below half of "
        "1/λ_max, a safe margin."
    )
    return exact, (
        largest.format(lam=number(window.lambda_max or 0, 4))
        + " "
        + margin.format(
            stable=number(window.stable_below, 4),
            monotone=number(window.monotone_below, 4),
            rate=make_rate(exact).text,
        )
    )


def lr_remark(facts: Facts, rate: float) -> str:
    """What the curvature predicts for a learning rate the user chose (constant Hessian)."""
    window = facts.constant_window
    if window is None or window.stable_below is None or window.monotone_below is None:
        return ""
    stable, monotone = window.stable_below, window.monotone_below
    if rate >= stable:
        return _(
            "It is at or above 2/λ_max ≈ {stable}, so plain descent cannot settle: expect it "
            "to diverge."
        ).format(stable=number(stable, 4))
    if rate > monotone:
        return _(
            "It lies between 1/λ_max ≈ {monotone} and 2/λ_max ≈ {stable}: expect zig-zag "
            "steps that still converge."
        ).format(monotone=number(monotone, 4), stable=number(stable, 4))
    return _("It is below 1/λ_max ≈ {monotone}: expect steady, monotone progress.").format(
        monotone=number(monotone, 4)
    )


def default_steps(
    facts: Facts,
    point: Sequence[Any],
    rate: float,
) -> tuple[int, str, Trajectory]:
    """Enough steps to show convergence or divergence, from a trial run of gradient descent
    (returned too: it is the lesson's gradient-descent run when it fits)."""
    from symgd.numeric.results import Status
    from symgd.numeric.runner import descend

    trial = descend(
        facts.problem,
        [float(v) for v in point],
        method="gd",
        lr=rate,
        steps=MAX_DEFAULT_STEPS,
        tol=TOLERANCE,
        trajectory=False,
    )
    if trial.status is Status.CONVERGED:
        count = _nice_steps(max(trial.steps * 1.15, MIN_DEFAULT_STEPS))
        return (
            count,
            _(
                "Gradient descent converges in {steps} steps (|∇f| below {tol}); {count} "
                "leaves room for the other methods."
            ).format(steps=trial.steps, tol=number(TOLERANCE), count=count),
            trial,
        )
    if trial.status is Status.DIVERGED:
        count = _nice_steps(max(trial.steps, MIN_DEFAULT_STEPS))
        return (
            count,
            _(
                "Gradient descent runs away after {steps} steps; {count} steps are enough to "
                "see every method's fate."
            ).format(steps=trial.steps, count=count),
            trial,
        )
    return (
        MAX_DEFAULT_STEPS,
        _(
            "Gradient descent has still not converged after {steps} steps (symgd's cap for a "
            "lesson); the runs below show how far it got."
        ).format(steps=MAX_DEFAULT_STEPS),
        trial,
    )


def _nice_below(value: float) -> float:
    """The largest of 1, 2, 5 × 10^k not above ``value``."""
    if not value > 0 or not math.isfinite(value):
        return 0.1
    exponent = math.floor(math.log10(value))
    for mantissa in (5, 2, 1):
        candidate = mantissa * 10.0**exponent
        if candidate <= value * (1 + 1e-12):
            return float(f"{candidate:.12g}")
    return float(f"{10.0 ** (exponent - 1) * 5:.12g}")


def _nice_steps(value: float) -> int:
    """Round a step count up to 1, 2, 2.5, 5 × 10^k."""
    if value <= MIN_DEFAULT_STEPS:
        return MIN_DEFAULT_STEPS
    exponent = math.floor(math.log10(value))
    for mantissa in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        candidate = round(mantissa * 10.0**exponent)
        if candidate >= value:
            return candidate
    return int(10 ** (exponent + 1))
