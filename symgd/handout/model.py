"""The exact data of a handout: an exercise, a function's sheet, a student's variant, the whole.

Every answer is exact SymPy data, computed once when the sheet is drawn; the answer key
(:mod:`symgd.handout.answer_key`), the worked solutions (:mod:`symgd.handout.solutions`) and
the page (:mod:`symgd.handout.page`) only read it. The two steps by hand are the calculus
stage's :class:`~symgd.calculus.hand_steps.DescentSteps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from symgd.calculus.hand_steps import DescentSteps

if TYPE_CHECKING:
    from symgd.calculus.curvature import RateWindow
    from symgd.calculus.derivation import Derivation

__all__ = [
    "KINDS",
    "Exercise",
    "Handout",
    "RateQuestion",
    "Sheet",
    "Variant",
    "positive",
]


def positive(value: sp.Expr) -> bool:
    """Exact sign test with a high-precision fallback for algebraic numbers."""
    answer = value.is_positive
    if answer is not None:
        return bool(answer)
    return bool(sp.N(value, 50) > 0)


@dataclass(frozen=True)
class RateQuestion:
    """Does plain descent with ``eta`` converge on the quadratic ``function``, and why.

    ``generated`` is true when the quadratic was made up for the exercise because the sheet's
    own function has no constant Hessian. ``factors`` are ``1 - eta * lambda_i``: descent
    multiplies each eigen-component of the error by its factor at every step. ``limit`` is the
    minimiser descent converges to (``None`` when it does not converge). ``window`` is the
    calculus stage's account of the quadratic's curvature (:mod:`symgd.calculus.curvature`):
    ``eigenvalues`` are its exact eigenvalues and :attr:`threshold` its 2/λ_max.
    """

    function: sp.Expr
    variables: tuple[sp.Symbol, ...]
    name: str
    generated: bool
    hessian: sp.ImmutableMatrix
    eigenvalues: tuple[sp.Expr, ...]
    eta: sp.Rational
    converges: bool
    factors: tuple[sp.Expr, ...]
    limit: tuple[sp.Expr, ...] | None
    window: RateWindow

    @property
    def largest(self) -> sp.Expr:
        """λ_max, the largest eigenvalue."""
        return self.eigenvalues[-1]

    @property
    def threshold(self) -> sp.Expr | None:
        """2/λ_max when every eigenvalue is positive, else ``None`` (no rate works)."""
        if all(positive(v) for v in self.eigenvalues):
            return self.window.exact_stable_below
        return None


@dataclass(frozen=True)
class Exercise:
    """One numbered exercise: its statement in words and the data of its answer.

    ``kind`` is one of :data:`KINDS`. The answer lives in the sheet's derivation for the first
    four kinds, in ``steps`` for ``"descent_steps"`` and in ``rate`` for ``"learning_rate"``.
    ``cautions`` are sentences the key must add because the drawn numbers are special (the
    steps land exactly on a minimiser, or no draw avoided a hidden instability or a saddle:
    :mod:`symgd.handout.hazards`).
    """

    number: str
    kind: str
    question: str
    steps: DescentSteps | None = None
    rate: RateQuestion | None = None
    cautions: tuple[str, ...] = ()


KINDS = (
    "gradient",
    "total_differential",
    "hessian",
    "critical_points",
    "descent_steps",
    "learning_rate",
)


@dataclass(frozen=True)
class Sheet:
    """The exercises on one function in one variant."""

    index: int
    derivation: Derivation
    exercises: tuple[Exercise, ...]


@dataclass(frozen=True)
class Variant:
    """One student's handout: a sheet per function, numbered from 1."""

    number: int
    sheets: tuple[Sheet, ...]


@dataclass(frozen=True)
class Handout:
    """A whole handout: its settings and one :class:`Variant` per student, with the language
    (``"en"``, ``"ko"``) its questions, key and page are written in."""

    title: str
    seed: int
    answers: str
    derivations: tuple[Derivation, ...]
    variants: tuple[Variant, ...]
    lang: str = "en"
