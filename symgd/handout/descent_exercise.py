"""The exercise "two steps of gradient descent by hand": drawing a start point and a learning
rate whose steps stay tidy and honest (no hidden instability, no landing on a saddle: see
:mod:`symgd.handout.hazards`), and the question's wording.

The steps themselves are worked by the calculus stage
(:func:`symgd.calculus.hand_steps.work_steps`), exactly, with the same rules as the lesson's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import sympy as sp

from symgd.base.i18n import _
from symgd.calculus.hand_steps import HAND_DENOMINATOR, DescentSteps, real_number, work_steps
from symgd.handout.hazards import Hazard, Saddle, non_minima, step_hazards
from symgd.handout.text import number_text, point_symbol, point_text

if TYPE_CHECKING:
    from symgd.calculus.derivation import Derivation

#: start coordinates for the hand steps: small integers and halves, easy to work with
START_VALUES = tuple(sp.Rational(v, 2) for v in (-6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6))
#: learning rates for the hand steps; the small ones serve steep functions such as Rosenbrock's
STEP_RATES = tuple(sp.Rational(1, d) for d in (10, 4, 5, 2, 20, 8))
SMALL_STEP_RATES = tuple(sp.Rational(1, d) for d in (50, 100, 200, 500, 1000))
#: tries at drawing a start point and learning rate whose two steps stay tidy
STEP_TRIES = 60
#: an exact hand-step number larger than this (or with a larger denominator) is not tidy
TIDY_SIZE = 50
TIDY_DENOMINATOR = HAND_DENOMINATOR


def descent_steps(d: Derivation, rng: random.Random) -> DescentSteps | None:
    """The steps of :func:`draw_steps`, without the key's cautions."""
    drawn = draw_steps(d, rng)
    return None if drawn is None else drawn[0]


def draw_steps(d: Derivation, rng: random.Random) -> tuple[DescentSteps, tuple[Hazard, ...]] | None:
    """Draw a start point and a learning rate whose two steps are tidy and honest, and work
    them exactly; with them, the hazards the key must state (:mod:`symgd.handout.hazards`).

    Each draw is first run in floating point (cheap); only a draw where f falls at both steps
    and the points stay small is worked exactly. A draw whose steps hide an instability or
    land on a critical point or a saddle's stable line (a *blocking* hazard) is rejected and
    drawn again from the same stream, so the same seed still gives the same handout. A
    polynomial with rational coefficients keeps drawing until the exact numbers are
    fractions with small denominators; other functions take the first good draw (their exact
    numbers are never plain fractions). When every draw has a blocking hazard the best of
    them is kept, and its hazards are returned for the key to state. ``None`` when no draw
    keeps f and its gradient defined (e.g. log's domain is never met).
    """
    fast = _float_steps(d)
    rational = _rational_polynomial(d)
    saddles: tuple[Saddle, ...] | None = None
    best: tuple[tuple[bool, int], DescentSteps, tuple[Hazard, ...]] | None = None
    n = len(d.variables)
    for attempt in range(STEP_TRIES):
        start = tuple(rng.choice(START_VALUES) for _ in range(n))
        rates = STEP_RATES if attempt < STEP_TRIES // 2 else STEP_RATES + SMALL_STEP_RATES
        eta = rng.choice(rates)
        if all(v == 0 for v in start):
            continue
        promising = fast is None or fast(start, eta)
        if not promising and best is not None:
            continue
        worked = work_steps(d, start, eta)
        if worked is None:
            continue
        grade = _tidiness(worked)
        if best is not None and best[0] >= (True, grade):
            continue  # cannot do better than the draw kept, whatever its hazards
        if saddles is None:
            saddles = non_minima(d)
        hazards = _cautions(step_hazards(d, worked, saddles))
        safe = not any(h.blocking for h in hazards)
        if safe and (grade == 2 or (grade == 1 and not rational)):
            return worked, hazards
        if best is None or (safe, grade) > best[0]:
            best = ((safe, grade), worked, hazards)
    return None if best is None else (best[1], best[2])


def _cautions(hazards: Sequence[Hazard]) -> tuple[Hazard, ...]:
    """The first hazard of each kind (later points repeat what the first one says)."""
    seen: dict[str, Hazard] = {}
    for hazard in hazards:
        seen.setdefault(hazard.kind, hazard)
    return tuple(seen.values())


def _rational_polynomial(d: Derivation) -> bool:
    try:
        poly = sp.Poly(d.expr, *d.variables)
    except sp.PolynomialError:
        return False
    return all(c.is_Rational for c in poly.coeffs())


def _float_steps(d: Derivation) -> Callable[[Sequence[sp.Expr], sp.Rational], bool] | None:
    """A float screen for a draw: True when f falls at both steps and the points stay small."""
    try:
        from symgd.expr.lambdify import lambdify_math

        function = lambdify_math(d.variables, (d.expr, *d.gradient))
    except Exception:  # an expression the numeric printer cannot handle: no screen
        return None

    def promising(start: Sequence[sp.Expr], eta: sp.Rational) -> bool:
        point = [float(v) for v in start]
        rate = float(eta)
        values: list[float] = []
        try:
            for k in range(3):
                value, *gradient = function(*point)
                values.append(float(value))
                if k < 2:
                    point = [x - rate * float(g) for x, g in zip(point, gradient, strict=True)]
                    if not all(math.isfinite(x) and abs(x) <= TIDY_SIZE for x in point):
                        return False
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return False
        return all(math.isfinite(v) for v in values) and values[0] > values[1] > values[2]

    return promising


def _tidiness(worked: DescentSteps) -> int:
    """2: f falls and every number is a small fraction a student can carry by hand; 1: f
    falls and the numbers stay moderate (decimals); 0: usable but f rises or runs away."""
    if not worked.decreasing:
        return 0
    for point in worked.points:
        for v in point:
            x = real_number(v)
            if x is None or abs(x) > TIDY_SIZE:
                return 0
    return 2 if worked.rational else 1


def steps_question(d: Derivation, worked: DescentSteps) -> str:
    """The question, in the language in effect."""
    one = len(d.variables) == 1
    name = d.variables[0].name if one else point_symbol(d.variables)
    rule = f"{name}ₖ₊₁ = {name}ₖ − η " + (f"f′({name}ₖ)" if one else f"∇f({name}ₖ)")
    values = {"start": point_text(d.variables, worked.start), "rule": rule}
    values["eta"] = number_text(worked.eta)
    if worked.rational:
        text = _(
            "Starting from {start}, take two steps of gradient descent {rule} by hand with "
            "learning rate η = {eta}. Give the two new points and the values of f at all three "
            "points as exact fractions. Did f decrease?"
        )
    else:
        text = _(
            "Starting from {start}, take two steps of gradient descent {rule} by hand with "
            "learning rate η = {eta}. Give the two new points and the values of f at all three "
            "points, to four decimal places. Did f decrease?"
        )
    return text.format(**values)
