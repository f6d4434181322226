"""The lesson's settings, parsed once at the edge: start point, learning rate, steps and
optimizers, each in the forms the lesson uses (exact, float, LaTeX, words) and with the reason
it was chosen. Whatever the user leaves out is chosen for the function here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from symgd.base.errors import InputError, short_repr
from symgd.calculus.exact import exact_number
from symgd.render.latex import fraction_text, number, point_tex, rate_tex, tex

if TYPE_CHECKING:
    import sympy as sp

    from symgd.lesson.facts import Facts
    from symgd.numeric.results import Trajectory

#: optimizers a lesson runs when the user names none
DEFAULT_METHODS = ("gd", "momentum", "adam")
#: Newton's method joins the default runs for up to this many variables
NEWTON_MAX_VARIABLES = 3
#: stop a run when |∇f| falls below this
TOLERANCE = 1e-8
#: most steps a default run may take
MAX_DEFAULT_STEPS = 10_000
#: least steps a default run takes (so that a fast run still shows a path)
MIN_DEFAULT_STEPS = 20
#: most steps a user may ask for
MAX_STEPS = 1_000_000

StartInput = Sequence[float] | Mapping[str, float] | float


@dataclass(frozen=True)
class Rate:
    """The learning rate η in every form the lesson shows or uses."""

    exact: sp.Rational
    value: float
    #: ``1/10`` (a decimal when huge or tiny), for prose
    text: str
    #: ``\frac{1}{10} = 0.1``
    latex: str


@dataclass(frozen=True)
class Start:
    """The start point x₀, exact and as floats."""

    exact: tuple[sp.Expr, ...]
    floats: tuple[float, ...]
    #: ``\left(1, 2\right)``
    latex: str


@dataclass(frozen=True)
class Settings:
    """What the runs use, and whether each value came from the user."""

    start: Start
    lr: Rate
    steps: int
    methods: tuple[str, ...]
    reasons: Mapping[str, str]
    defaults: frozenset[str]
    #: ``--direction``: the direction u the user asked about (exact, not normalised), or None
    direction: tuple[sp.Expr, ...] | None = None


@dataclass(frozen=True)
class Chosen:
    """The settings, and the trial run of gradient descent that chose the step count."""

    settings: Settings
    trial: Trajectory | None


def make_rate(exact: sp.Rational) -> Rate:
    """η in all its forms."""
    return Rate(exact, float(exact), fraction_text(exact), rate_tex(exact))


def make_start(exact: Sequence[sp.Expr]) -> Start:
    """x₀ in all its forms."""
    return Start(tuple(exact), tuple(float(v) for v in exact), point_tex([tex(v) for v in exact]))


# -- parsing what the user gave -----------------------------------------------------------------


def parse_rate(lr: object) -> sp.Rational:
    """A learning rate given through the API or the command line, checked, as a rational."""
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not _positive_float(lr):
        raise InputError(
            f"the learning rate must be a positive finite number, got {short_repr(lr)}"
        )
    return exact_number(lr)


def parse_steps(steps: object) -> int:
    """A step count, checked."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise InputError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
    return int(steps)


def parse_methods(methods: object) -> tuple[str, ...]:
    """Optimizer names (a comma-separated string or a list), checked, canonical, each once."""
    from symgd.numeric.optimizers import make_optimizer

    if not isinstance(methods, str) and not (
        isinstance(methods, Sequence | set | frozenset) and all(isinstance(m, str) for m in methods)
    ):
        raise InputError(
            "methods must be a comma-separated string or a list of names "
            f"such as ['gd', 'adam'], got {short_repr(methods)}"
        )
    names = (
        [m.strip() for m in methods.split(",")]
        if isinstance(methods, str)
        else [str(m).strip() for m in methods]
    )
    names = [m for m in names if m]
    if not names:
        raise InputError("no optimizer named; use for example --methods gd,momentum,adam")
    canonical: list[str] = []
    for m in names:
        name = make_optimizer(m, 0.1).name
        if name not in canonical:
            canonical.append(name)
    return tuple(canonical)


def parse_start(facts: Facts, start: StartInput) -> tuple[sp.Expr, ...]:
    """A start point given by the user, checked against f: the right number of finite values,
    inside the domain, not so far out that every run would stop at once."""
    names = facts.names
    if isinstance(start, Mapping):
        unknown = [k for k in start if k not in names]
        if unknown:
            raise InputError(
                f"{', '.join(map(str, unknown))} is not a variable of the "
                f"function ({', '.join(names)})"
            )
        missing = [k for k in names if k not in start]
        if missing:
            raise InputError(f"the start point gives no value for {', '.join(missing)}")
        values = [start[k] for k in names]
    elif isinstance(start, int | float):
        values = [start]
    elif isinstance(given := cast(Any, start), str) or not hasattr(given, "__iter__"):
        raise InputError(
            f"the start point must be a sequence of numbers or a mapping "
            f"{{name: number}}, got {type(start).__name__}"
        )
    else:
        values = list(start)
    if len(values) != facts.n:
        raise InputError(
            f"the start point has {len(values)} value(s) but the function has "
            f"{facts.n} variable(s) ({', '.join(names)})"
        )
    floats = [_start_number(v, name) for v, name in zip(values, names, strict=True)]
    point = tuple(
        exact_number(v if isinstance(v, int | str) else f)
        for v, f in zip(values, floats, strict=True)
    )
    _check_start_value(facts, floats)
    return point


def _check_start_value(facts: Facts, floats: Sequence[float]) -> None:
    value = facts.f_at(floats)
    grad = facts.grad_at(floats)
    if not math.isfinite(value) or not all(math.isfinite(g) for g in grad):
        from symgd.numeric.domain import undefined_at

        why = undefined_at(facts.problem, facts.compiled, floats)
        if why is not None:
            raise InputError(
                f"the start point is outside the domain of f: {why}; choose "
                "a point where f and its gradient are defined"
            )
        raise InputError(
            "f or its gradient at the start point is too large for floating "
            "point (beyond about 1.8e308); choose a start nearer the origin"
        )
    if abs(value) > _runaway():
        raise InputError(
            f"f is about {number(value, 3)} at the start point, beyond 1e12 in size: every run "
            "would count that as running away and stop at once; choose a start where f "
            "is smaller"
        )


def _positive_float(value: float) -> bool:
    """True when ``value`` is a positive number that a float can hold."""
    try:
        as_float = float(value)
    except OverflowError:
        return False
    return math.isfinite(as_float) and as_float > 0


def _runaway() -> float:
    from symgd.numeric.results import RUNAWAY

    return RUNAWAY


def _start_number(value: Any, name: str) -> float:
    """One coordinate of a start point given through the API, checked: a finite number, at
    most 1e12 in size (descent counts a larger coordinate as running away)."""
    if isinstance(value, bool) or (
        not isinstance(value, int | float | str) and not hasattr(value, "__float__")
    ):
        raise InputError(f"the start value for {name} must be a number, got {short_repr(value)}")
    try:
        as_float = float(value)
    except OverflowError:
        raise InputError(
            f"the start value for {name} is too large for floating point (beyond about 1.8e308)"
        ) from None
    except (TypeError, ValueError):
        raise InputError(
            f"the start value for {name} must be a number, got {short_repr(value)}"
        ) from None
    if not math.isfinite(as_float):
        raise InputError(f"the start value for {name} must be finite, got {short_repr(value)}")
    if abs(as_float) > _runaway():
        raise InputError(
            f"the start value for {name} is {as_float:.3g}, beyond 1e12 in size: "
            "descent counts such a coordinate as running away, so every run "
            "would stop at once; choose a start nearer the origin"
        )
    return as_float
