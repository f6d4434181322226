"""Draws of a start point and a learning rate that would teach something false.

Two steps of descent can look well behaved while hiding what happens next:

- a **hidden instability**: η ≥ 2/λ for an eigenvalue λ of the Hessian at a point shown, but
  the gradient has no component along λ's eigenvectors there (x² + 100y² started on y = 0
  with η = 1/4), so f falls only because the steps stay in a line or plane that exact descent
  never leaves; any rounding error, or any other start, grows by |1 − ηλ| ≥ 1 at each step;
- a **landing on a critical point**: a point shown is exactly a critical point (∇f = 0) that is
  not a minimum, or the first step lands exactly on any critical point (the second step then
  does not move);
- a **landing on a saddle's stable line**: a point shown lies on the affine subspace through a
  critical point that is not a minimum, spanned by the eigenvectors of its Hessian with λ > 0,
  and the gradient there has no component along the others (x⁴ − 2x² + y² reached at x = 0:
  exact descent then runs into the saddle (0, 0) instead of down to a minimum).

The points are exact; every test evaluates them with :data:`DIGITS` significant digits, so a
component that is zero in exact arithmetic is told apart from a small one. A drawing loop
rejects a draw with a :class:`Hazard` whose ``blocking`` is true and draws again; when no draw
avoids it, the hazard's ``caution`` is the key's plain account of it.

>>> from symgd.calculus.derivation import derive
>>> from symgd.calculus.hand_steps import work_steps
>>> d = derive("x**2 + 100*y**2")
>>> hidden = work_steps(d, [sp.Integer(-2), sp.Integer(0)], sp.Rational(1, 4))
>>> step_hazards(d, hidden)[0].kind
'hidden_instability'
>>> step_hazards(d, work_steps(d, [sp.Integer(-2), sp.Integer(1)], sp.Rational(1, 500)))
()
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp

from symgd.base.i18n import _
from symgd.calculus.exact import MAX_EXACT_DIGITS, TooLarge, exact_at
from symgd.calculus.hand_steps import DescentSteps
from symgd.handout.text import SUBSCRIPTS, number_text, point_symbol

if TYPE_CHECKING:
    from symgd.calculus.derivation import Derivation

__all__ = ["DIGITS", "HAZARD_KINDS", "Hazard", "Saddle", "non_minima", "step_hazards"]

#: significant digits of the checks (the points are exact; this only decides zero or not)
DIGITS = 50
#: a component below this fraction of its vector's length is zero in exact arithmetic
ZERO = sp.Float("1e-30", DIGITS)
#: the same for a critical point whose coordinates come from a numeric search (decimals)
NUMERIC_ZERO = sp.Float("1e-8", DIGITS)

HAZARD_KINDS = ("hidden_instability", "critical_point", "saddle_line", "minimum_reached")


@dataclass(frozen=True)
class Hazard:
    """What is wrong with a draw at point ``x_step``, and the key's sentence about it.

    ``blocking`` hazards make the drawing loop draw again; ``"minimum_reached"`` (the last
    point shown is exactly a minimiser) is only worth a sentence in the key.
    """

    kind: str
    step: int
    caution: str
    blocking: bool = True


def step_hazards(
    d: Derivation, worked: DescentSteps, saddles: Sequence[Saddle] | None = None
) -> tuple[Hazard, ...]:
    """Every hazard of the worked steps, in the order of the points shown (see the module
    docstring); an empty tuple when the steps show what descent does from there.
    ``saddles`` is :func:`non_minima` of ``d``, passed in when many draws are checked."""
    found: list[Hazard] = []
    if saddles is None:
        saddles = non_minima(d)
    letter = d.variables[0].name if len(d.variables) == 1 else point_symbol(d.variables)
    last = len(worked.points) - 1
    for k, point in enumerate(worked.points):
        numeric = _numbers(point)
        if numeric is None:
            continue
        gradient = _at(d.gradient, d.variables, numeric)
        hessian = _hessian_at(d, numeric)
        if gradient is None or hessian is None:
            continue
        if k > 0 and _exactly_critical(d, worked, k, gradient):
            found.append(_critical(k, hessian, last, letter))
            continue
        hidden = _hidden_instability(worked, k, gradient, hessian, letter)
        if hidden is not None:
            found.append(hidden)
            continue
        line = _saddle_line(k, numeric, gradient, saddles, letter)
        if line is not None:
            found.append(line)
    return tuple(found)


# -- the three tests ---------------------------------------------------------------------------


def _hidden_instability(
    worked: DescentSteps, k: int, gradient: sp.Matrix, hessian: sp.Matrix, letter: str
) -> Hazard | None:
    """η ≥ 2/λ along eigenvectors the gradient at x_k has no component on."""
    pairs = _eigenpairs(hessian)
    if pairs is None:
        return None
    eta = worked.eta
    unstable = [(value, vector) for value, vector in pairs if eta * value >= 2 - ZERO]
    if not unstable or not _orthogonal(gradient, [v for _value, v in unstable], ZERO):
        return None
    largest = max(value for value, _vector in unstable)
    factor = 1 - eta * largest
    where = _point_name(letter, k)
    caution = _(
        "Here η = {eta} is at or above 2/λ = {bound} for the eigenvalue λ ≈ {value} of the "
        "Hessian at {where}, so descent is unstable along its eigenvector: each step multiplies "
        "that component by 1 − ηλ ≈ {factor}. f falls in these steps only because the gradient "
        "has no component along that eigenvector, so the exact steps never leave the line or "
        "plane they are on; the smallest rounding error, or any other start, grows at every step."
    ).format(
        eta=number_text(eta),
        bound=_decimal(2 / largest),
        value=_decimal(largest),
        where=where,
        factor=_decimal(factor),
    )
    return Hazard("hidden_instability", k, caution)


def _critical(k: int, hessian: sp.Matrix, last: int, letter: str) -> Hazard:
    """x_k is exactly a critical point: which kind, and what descent does there."""
    pairs = _eigenpairs(hessian)
    values = [] if pairs is None else [v for v, _vector in pairs]
    scale = max([abs(v) for v in values] + [sp.Integer(1)])
    minimum = bool(values) and all(v > ZERO * scale for v in values)
    where = _point_name(letter, k)
    if minimum:
        if k < last:
            caution = _(
                "{where} is exactly a minimiser of f (∇f = 0 there and every eigenvalue of the "
                "Hessian is positive), so every later step stays there: the second step does "
                "not move and f does not change."
            ).format(where=where)
        else:
            caution = _(
                "{where} is exactly a minimiser of f (∇f = 0 there and every eigenvalue of the "
                "Hessian is positive), so every later step stays there."
            ).format(where=where)
        return Hazard("minimum_reached", k, caution, blocking=k < last)
    if any(v < -ZERO * scale for v in values):
        caution = _(
            "{where} is exactly a critical point of f (∇f = 0 there), a saddle point or a "
            "maximum, not a minimum: exact descent stops there, but the smallest rounding error "
            "moves the iterate off it and descent goes on downhill."
        ).format(where=where)
    else:
        caution = _(
            "{where} is exactly a critical point of f (∇f = 0 there), one the "
            "second-derivative test cannot classify (a zero eigenvalue): exact descent stops "
            "there, but the smallest rounding error moves the iterate off it and descent goes "
            "on downhill."
        ).format(where=where)
    return Hazard("critical_point", k, caution)


def _saddle_line(
    k: int,
    point: Sequence[sp.Float],
    gradient: sp.Matrix,
    saddles: Sequence[Saddle],
    letter: str,
) -> Hazard | None:
    """x_k on the affine span of a non-minimum's λ > 0 eigenvectors, with a gradient that has
    no component along its other eigenvectors (so exact descent stays on that span)."""
    if _length(gradient).is_zero:
        return None
    for saddle in saddles:
        offset = sp.Matrix([p - s for p, s in zip(point, saddle.where, strict=True)])
        tolerance = ZERO if saddle.exact else NUMERIC_ZERO
        if _length(offset).is_zero or not _orthogonal(offset, saddle.downhill, tolerance):
            continue
        if not _orthogonal(gradient, saddle.downhill, ZERO):
            continue
        caution = _(
            "{where} lies on a line or plane through the critical point ({point}), which is "
            "not a minimum, and the gradient there has no component along the directions in "
            "which f curves down at that point: exact descent stays on that line or plane and "
            "is drawn toward the critical point instead of away from it downhill; the smallest "
            "rounding error takes the iterate off it."
        ).format(
            where=_point_name(letter, k),
            point=", ".join(_decimal(s) for s in saddle.where),
        )
        return Hazard("saddle_line", k, caution)
    return None


@dataclass(frozen=True)
class Saddle:
    """A listed critical point that is not a minimum: where it is (to :data:`DIGITS`
    digits), the unit eigenvectors of its Hessian with λ ≤ 0, and whether it is exact."""

    where: tuple[sp.Float, ...]
    downhill: tuple[sp.Matrix, ...]
    exact: bool


def non_minima(d: Derivation) -> tuple[Saddle, ...]:
    """The critical points of ``d`` that are not minima (isolated ones with real
    coordinates), with the directions in which f does not curve up."""
    found = []
    for point in d.critical_points:
        if point.kind == "minimum" or point.free:
            continue
        numeric = _numbers(point.coordinates)
        hessian = None if numeric is None else _hessian_at(d, numeric)
        pairs = None if hessian is None else _eigenpairs(hessian)
        if numeric is None or pairs is None:
            continue
        scale = max(abs(v) for v, _vector in pairs) or sp.Integer(1)
        downhill = tuple(vector for value, vector in pairs if value <= ZERO * scale)
        if downhill:
            exact = not any(sp.sympify(c).has(sp.Float) for c in point.coordinates)
            found.append(Saddle(tuple(numeric), downhill, exact))
    return tuple(found)


# -- numbers -----------------------------------------------------------------------------------


def _numbers(values: Iterable[sp.Expr]) -> list[sp.Float] | None:
    """Each exact value as a :data:`DIGITS`-digit real number, or ``None`` if one is not."""
    out: list[sp.Float] = []
    for v in values:
        try:
            number = sp.N(v, DIGITS + 10)
        except (TypeError, ValueError, ArithmeticError):  # pragma: no cover - defensive
            return None
        if not isinstance(number, sp.Float | sp.Integer | sp.Rational):
            return None
        out.append(sp.Float(number, DIGITS + 10))
    return out


def _at(
    exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol], point: Sequence[sp.Float]
) -> sp.Matrix | None:
    mapping = dict(zip(variables, point, strict=True))
    values = _numbers(sp.sympify(e).xreplace(mapping) for e in exprs)
    return None if values is None else sp.Matrix(values)


def _hessian_at(d: Derivation, point: Sequence[sp.Float]) -> sp.Matrix | None:
    n = len(d.variables)
    flat = _at([d.hessian[i, j] for i in range(n) for j in range(n)], d.variables, point)
    return None if flat is None else flat.reshape(n, n)


def _eigenpairs(matrix: sp.Matrix) -> list[tuple[sp.Float, sp.Matrix]] | None:
    """Eigenvalues and unit eigenvectors of a symmetric matrix, to :data:`DIGITS` digits."""
    import mpmath

    n = matrix.rows
    with mpmath.workdps(DIGITS):
        m = mpmath.matrix([[mpmath.mpf(str(matrix[i, j])) for j in range(n)] for i in range(n)])
        m = (m + m.T) / 2
        try:
            values, vectors = mpmath.eigsy(m)
        except (ZeroDivisionError, ValueError):  # pragma: no cover - defensive
            return None
        return [
            (
                sp.Float(str(values[i]), DIGITS),
                sp.Matrix([sp.Float(str(vectors[r, i]), DIGITS) for r in range(n)]),
            )
            for i in range(n)
        ]


def _length(vector: sp.Matrix) -> Any:
    return sp.sqrt(sum(v**2 for v in vector))


def _orthogonal(vector: sp.Matrix, basis: Sequence[sp.Matrix], tolerance: sp.Float) -> bool:
    """True when ``vector`` has no component along the orthonormal ``basis`` (relative to its
    length, to ``tolerance``)."""
    size = _length(vector)
    if size.is_zero:
        return True
    along = _length(sp.Matrix([(b.T * vector)[0, 0] for b in basis]))
    return bool(along <= tolerance * size)


def _exactly_critical(d: Derivation, worked: DescentSteps, k: int, numeric: sp.Matrix) -> bool:
    """∇f(x_k) = 0 exactly. The step from x_k holds its exact gradient; at the last point it
    is worked here within the hand steps' size bound, else ``numeric`` (∇f there to
    :data:`DIGITS` digits) decides: only an exact zero is zero."""
    if not all(v.is_zero for v in numeric):
        return False
    if k < len(worked.steps):
        gradient: Sequence[sp.Expr] = worked.steps[k].gradient
    else:
        mapping = dict(zip(d.variables, worked.points[k], strict=True))
        try:
            gradient = [exact_at(g, mapping, MAX_EXACT_DIGITS) for g in d.gradient]
        except TooLarge:
            return True  # every component is 0 to DIGITS digits, and no exact form to ask
    return all(g.is_zero is not False for g in gradient)


def _point_name(letter: str, k: int) -> str:
    return letter + str(k).translate(SUBSCRIPTS)


def _decimal(value: sp.Expr) -> str:
    number = float(value)
    text = f"{number:.4g}"
    return text.replace("-", "−")
