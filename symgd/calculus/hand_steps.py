"""Plain gradient descent worked by hand, in exact arithmetic: one worker for lesson and handout.

A step is ``x_{k+1} = x_k - η ∇f(x_k)`` with an exact start ``x_0`` and an exact rate ``η``:
f and ∇f are put in at each point node by node (:func:`symgd.calculus.exact.exact_at`), so every
number is exact. A number that would pass ``max_digits`` digits (x¹⁰⁰⁰ one step from 1/2) is
worked in decimals with :data:`~symgd.calculus.exact.DECIMAL_DIGITS` significant digits instead
(:func:`~symgd.calculus.exact.decimal_at`), and the walk records from which step on.

Two entry points share one walker:

- :func:`work_steps` (the handout's rules): all ``count`` steps or ``None``. ``None`` when a
  point sits on a kink of relu/abs/sign, f or ∇f is not a finite real number (as a float) at a
  point, the gradient vanishes at the start, or a coordinate of the last point is not a finite
  number.
- :func:`walk_steps` (the lesson's rules): never ``None``; it stops at the first point where ∇f
  or f is undefined and says why (:attr:`HandWalk.stop`). Numbers of any size count as defined,
  kinks and a flat start are allowed, a value that still holds a Heaviside or DiracDelta is
  worked again through :func:`~symgd.expr.activations.to_elementary`, and an optional ``tidy``
  rewrites each gradient entry, point coordinate and value as it is computed.

>>> from symgd.calculus.derivation import derive
>>> steps = work_steps(derive("x**2", analyse=False), [sp.Integer(1)], sp.Rational(1, 4))
>>> [p[0] for p in steps.points], steps.values, steps.decreasing
([1, 1/2, 1/4], (1, 1/4, 1/16), True)
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from symgd.calculus.exact import (
    DECIMAL_DIGITS,
    MAX_EXACT_DIGITS,
    TooLarge,
    decimal_at,
    exact_at,
)
from symgd.expr.activations import to_elementary

if TYPE_CHECKING:
    from symgd.calculus.derivation import Derivation

#: a fraction with a larger denominator is not one a student carries by hand
HAND_DENOMINATOR = 10_000
#: the functions whose derivative jumps where their argument is zero
KINK_FUNCTIONS = frozenset(
    {"Heaviside", "sign", "Abs", "DiracDelta", "relu", "leaky_relu", "Max", "Min"}
)

#: why a walk stopped early (``HandWalk.stop``); ``None`` there means every step was taken
STOP_REASONS = ("kink", "gradient", "value", "flat", "point")

Tidy = Callable[[sp.Expr], sp.Expr]


@functools.lru_cache(maxsize=4096)
def real_number(value: sp.Expr) -> float | None:
    """The value as a float if it is a finite real number (within float's range), else ``None``.

    >>> real_number(sp.Rational(1, 4)), real_number(sp.I), real_number(sp.zoo)
    (0.25, None, None)
    """
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    try:
        z = complex(sp.N(to_elementary(value), 20))
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        return None
    if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)):
        return None
    return z.real


def finite_real(value: sp.Expr) -> bool:
    """True when ``value`` is a finite real number of any size (not complex, ±∞ or undefined).

    >>> finite_real(sp.Integer(10) ** 400), finite_real(sp.sqrt(-1))
    (True, False)
    """
    value = sp.sympify(value)
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return False
    real = value.is_extended_real
    if real is not None:
        return bool(real)
    try:
        z = complex(value.evalf(20))
    except (TypeError, ValueError):
        return False
    return abs(z.imag) <= 1e-12 * max(1.0, abs(z.real))


def value_change(before: sp.Expr, after: sp.Expr) -> int | None:
    """The sign of ``after − before``: exact for fractions, else from 50 significant digits
    of the exact difference, or as far as decimals tell; ``None`` when the numbers cannot
    tell (a difference below the decimals' precision, or a value that is not real).

    >>> third, quarter, two = sp.Rational(1, 3), sp.Rational(1, 4), sp.Integer(2)
    >>> value_change(third, quarter), value_change(two, two), value_change(quarter, third)
    (-1, 0, 1)
    """
    difference = sp.sympify(after - before)
    if difference.is_Rational:
        return int(sp.sign(difference))
    if real_number(before) is None or real_number(after) is None:
        return None
    rounded = difference.has(sp.Float)
    digits = DECIMAL_DIGITS if rounded else 50
    try:
        number = complex(sp.N(difference, digits))
        scale = max(abs(complex(sp.N(v, digits))) for v in (before, after))
    except (TypeError, ValueError):
        return None
    if abs(number.real) <= scale * 10.0 ** (5 - digits) or number.imag != 0:
        return 0 if not rounded and difference.is_zero else None
    return 1 if number.real > 0 else -1


def at_kink(exprs: Iterable[sp.Expr], mapping: Mapping[sp.Symbol, sp.Expr]) -> bool:
    """True when the point puts a relu/abs/sign argument exactly at its kink."""
    for expr in exprs:
        for atom in expr.atoms(sp.Function, sp.Abs):
            if type(atom).__name__ in KINK_FUNCTIONS and atom.args:
                inner = atom.args[0].xreplace(dict(mapping))
                if inner.is_number and inner.is_zero:
                    return True
    return False


# -- the data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandStep:
    """One step of plain descent: ``next_point = point - eta * gradient``."""

    point: tuple[sp.Expr, ...]
    value: sp.Expr
    gradient: tuple[sp.Expr, ...]
    next_point: tuple[sp.Expr, ...]


@dataclass(frozen=True)
class DescentSteps:
    """Steps of descent from ``start`` with learning rate ``eta``, worked exactly."""

    start: tuple[sp.Expr, ...]
    eta: sp.Rational
    steps: tuple[HandStep, ...]
    final_value: sp.Expr

    @property
    def points(self) -> tuple[tuple[sp.Expr, ...], ...]:
        """x₀, x₁, x₂."""
        return (*(s.point for s in self.steps), self.steps[-1].next_point)

    @property
    def values(self) -> tuple[sp.Expr, ...]:
        """f(x₀), f(x₁), f(x₂)."""
        return (*(s.value for s in self.steps), self.final_value)

    @property
    def decreasing(self) -> bool:
        """True when f fell at every step (decided exactly: :meth:`changes`)."""
        return all(change == -1 for change in self.changes())

    def changes(self) -> tuple[int | None, ...]:
        """How f changed at each step: −1 fell, 0 stayed the same, +1 rose, ``None`` when the
        numbers cannot tell (decimals past the exact-size bound that agree to their
        precision, or a value that is not a real number).

        >>> from symgd.calculus.derivation import derive
        >>> work_steps(derive("w**2", analyse=False), [sp.Integer(1)], sp.Integer(1)).changes()
        (0, 0)
        """
        return tuple(value_change(a, b) for a, b in itertools.pairwise(self.values))

    @property
    def unchanged(self) -> bool:
        """True when f has the same value at every point as far as the numbers go (decimals
        past the exact-size bound can hide a change far below their precision)."""
        numbers = [real_number(v) for v in self.values]
        return all(a is not None and a == b for a, b in itertools.pairwise(numbers))

    @property
    def rational(self) -> bool:
        """True when every number of the steps is a fraction with a small denominator
        (at most :data:`HAND_DENOMINATOR`), so that the steps can be carried out by hand."""
        numbers = [
            *self.values,
            *(v for p in self.points for v in p),
            *(g for s in self.steps for g in s.gradient),
        ]
        return all(v.is_Rational and v.q <= HAND_DENOMINATOR for v in numbers)


@dataclass(frozen=True)
class HandWalk:
    """The steps taken before the walk ended, and why it ended.

    ``stop`` is ``None`` when all steps were taken, else one of :data:`STOP_REASONS`: the
    next step's point is on a ``"kink"``, ∇f is undefined there (``"gradient"``, checked
    first), f is undefined at the start or at the last step's new point (``"value"``), the
    gradient vanishes at the start (``"flat"``) or a coordinate of the last point is not a
    finite number (``"point"``). ``final_value`` is f at the last step's new point, ``None`` when
    it is undefined there or no step was taken. ``rounded_from`` is the first step
    (counted from 1) in which a number was worked in decimals, ``None`` when all are exact.
    """

    start: tuple[sp.Expr, ...]
    eta: sp.Expr
    steps: tuple[HandStep, ...]
    final_value: sp.Expr | None
    stop: str | None
    rounded_from: int | None

    @property
    def values(self) -> tuple[sp.Expr, ...]:
        """f at every point reached where it is defined: f(x₀), f(x₁), ..."""
        last = () if self.final_value is None else (self.final_value,)
        return (*(s.value for s in self.steps), *last)

    def descent(self) -> DescentSteps | None:
        """The walk as :class:`DescentSteps` when every step was taken, else ``None``."""
        if self.stop is not None or not self.steps or self.final_value is None:
            return None
        return DescentSteps(
            start=self.steps[0].point,
            eta=sp.Rational(self.eta),
            steps=self.steps,
            final_value=self.final_value,
        )


# -- the walker --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    """How a walk treats awkward points (see the module docstring)."""

    strict: bool
    max_digits: int
    tidy: Tidy | None = None

    def defined(self, value: sp.Expr) -> bool:
        return real_number(value) is not None if self.strict else finite_real(value)

    def shape(self, value: sp.Expr) -> sp.Expr:
        return value if self.tidy is None else self.tidy(value)

    def evaluate(self, expr: sp.Expr, mapping: Mapping[sp.Symbol, sp.Expr]) -> tuple[sp.Expr, bool]:
        """``expr`` at the point, exactly or (flagged ``True``) in decimals past the bound."""
        jumps = (sp.DiracDelta, sp.Heaviside)
        try:
            value = exact_at(expr, mapping, self.max_digits)
            if not self.strict and value.has(*jumps):
                value = exact_at(to_elementary(expr), mapping, self.max_digits)
        except TooLarge:
            if not self.strict and expr.has(*jumps):
                expr = to_elementary(expr)
            return decimal_at(expr, mapping), True
        return value, False


def work_steps(
    d: Derivation,
    start: Sequence[sp.Expr],
    eta: sp.Rational,
    count: int = 2,
    *,
    max_digits: int = MAX_EXACT_DIGITS,
) -> DescentSteps | None:
    """``count`` exact steps of plain descent on ``d`` from ``start`` with rate ``eta``;
    ``None`` if f or ∇f is undefined on the way, the gradient at the start vanishes, or a
    point sits on a kink of relu/abs (the handout's rules; see the module docstring).

    >>> from symgd.calculus.derivation import derive
    >>> flat_start = [sp.Integer(0), sp.Integer(0)]
    >>> work_steps(derive("x**2 + y**2", analyse=False), flat_start, sp.Rational(1, 2)) is None
    True
    """
    walk = _walk(d, start, eta, count, _Rules(strict=True, max_digits=max_digits))
    return walk.descent()


def walk_steps(
    d: Derivation,
    start: Sequence[sp.Expr],
    eta: sp.Expr,
    count: int = 2,
    *,
    max_digits: int = MAX_EXACT_DIGITS,
    tidy: Tidy | None = None,
) -> HandWalk:
    """Up to ``count`` exact steps on ``d``, stopping where f or ∇f is undefined (the lesson's
    rules; see the module docstring). ``tidy`` rewrites every number as it is computed.

    >>> from symgd.calculus.derivation import derive
    >>> cube = derive("x**3", analyse=False)
    >>> walk = walk_steps(cube, [sp.Rational(1, 3)], sp.Rational(1, 10), max_digits=5)
    >>> walk.stop, walk.rounded_from, walk.values  # f(x₂) = 20346417/10⁹ has too many digits
    (None, 2, (1/27, 27/1000, 0.0203464170000000000000000000000))
    >>> walk_steps(derive("log(x)", analyse=False), [sp.Integer(1)], sp.Integer(2)).stop
    'value'
    """
    return _walk(d, start, eta, count, _Rules(strict=False, max_digits=max_digits, tidy=tidy))


def _walk(
    d: Derivation, start: Sequence[sp.Expr], eta: sp.Expr, count: int, rules: _Rules
) -> HandWalk:
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    xs = d.variables
    point = tuple(sp.nsimplify(v) for v in start)
    origin = point
    taken: list[HandStep] = []
    rounded_from: int | None = None
    value: sp.Expr | None = None
    stop: str | None = None
    for k in range(1, count + 1):
        mapping = dict(zip(xs, point, strict=True))
        if rules.strict and at_kink([d.expr, *d.gradient], mapping):
            stop = "kink"
            break
        worked = [rules.evaluate(g, mapping) for g in d.gradient]
        if value is None:  # f at the start; later points had theirs worked with the step
            worked.append(rules.evaluate(d.expr, mapping))
        if any(rounded for _, rounded in worked) and rounded_from is None:
            rounded_from = k
        gradient = tuple(rules.shape(g) for g, _ in worked[: len(d.gradient)])
        if not all(rules.defined(g) for g in gradient):
            stop = "gradient"
            break
        if value is None:
            value = rules.shape(worked[-1][0])
            if not rules.defined(value):
                value, stop = None, "value"
                break
        if rules.strict and not taken and all(g == 0 for g in gradient):
            stop = "flat"
            break
        following = tuple(rules.shape(x - eta * g) for x, g in zip(point, gradient, strict=True))
        taken.append(HandStep(point=point, value=value, gradient=gradient, next_point=following))
        point = following
        next_value, rounded = rules.evaluate(d.expr, dict(zip(xs, point, strict=True)))
        if rounded and rounded_from is None:
            rounded_from = k
        value = rules.shape(next_value)
        if not rules.defined(value):
            value, stop = None, "value"
            break
    if stop is None and rules.strict and any(real_number(v) is None for v in point):
        stop = "point"
    final = value if taken else None
    return HandWalk(
        start=origin,
        eta=eta,
        steps=tuple(taken),
        final_value=final,
        stop=stop,
        rounded_from=rounded_from,
    )
