"""The exercise "does this learning rate converge?" on a quadratic, and its answer in words.

The quadratic is f itself when f is one (constant Hessian, exact eigenvalues), else one drawn
with integer eigenvalues. Its eigenvalues and the bound 2/λ_max come from the calculus stage
(:mod:`symgd.calculus.curvature`), the one place that computes them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sympy as sp

from symgd.base.i18n import _
from symgd.calculus.curvature import exact_window
from symgd.handout.descent_exercise import STEP_RATES
from symgd.handout.model import RateQuestion, positive
from symgd.handout.text import call_text, number_text, polynomial_text

if TYPE_CHECKING:
    from symgd.calculus.curvature import RateWindow
    from symgd.calculus.derivation import Derivation

#: learning rates the convergence question picks from
QUESTION_RATES = tuple(
    sp.Rational(p, q)
    for p, q in (
        (1, 20),
        (1, 10),
        (1, 8),
        (1, 6),
        (1, 5),
        (1, 4),
        (1, 3),
        (2, 5),
        (1, 2),
        (3, 5),
        (2, 3),
        (3, 4),
        (1, 1),
        (6, 5),
        (3, 2),
        (2, 1),
    )
)


def rate_question(d: Derivation, rng: random.Random) -> RateQuestion:
    """A convergence question on f itself when f is a suitable quadratic, else on a made-up one.

    f qualifies when its Hessian is constant, nonsingular and has exact real eigenvalues: then
    the answer is exact (0 < η < 2/λ_max when all eigenvalues are positive; no η at all when
    one is negative). Otherwise a quadratic with integer coefficients and integer eigenvalues
    is drawn in f's (first two) variables. The eigenvalues and 2/λ_max are the calculus
    stage's (:func:`symgd.calculus.curvature.exact_window`).
    """
    own = _own_quadratic(d)
    if own is not None:
        function, variables, hessian, window = own
        generated = False
        name = "f"
    else:
        function, variables = _generated_quadratic(d.variables, rng)
        hessian = sp.ImmutableMatrix(sp.hessian(function, variables))
        window = exact_window(hessian)
        generated = True
        name = "q"
    eigenvalues = window.exact_eigenvalues
    if not eigenvalues:  # pragma: no cover - a drawn quadratic has integer eigenvalues
        raise ValueError(f"no exact eigenvalues for {function}")
    eta = _choose_rate(eigenvalues, rng)
    factors = tuple(sp.expand(1 - eta * v) for v in eigenvalues)
    converges = all(positive(v) for v in eigenvalues) and all(positive(1 - abs(c)) for c in factors)
    limit = _minimiser(function, variables, hessian) if converges else None
    return RateQuestion(
        function=function,
        variables=variables,
        name=name,
        generated=generated,
        hessian=hessian,
        eigenvalues=eigenvalues,
        eta=eta,
        converges=converges,
        factors=factors,
        limit=limit,
        window=window,
    )


def _own_quadratic(
    d: Derivation,
) -> tuple[sp.Expr, tuple[sp.Symbol, ...], sp.ImmutableMatrix, RateWindow] | None:
    """f's own data when f is a quadratic with rational coefficients, a nonsingular Hessian
    and short exact eigenvalues; else ``None``."""
    if not d.hessian_is_constant or len(d.variables) > 3:
        return None
    hessian = sp.ImmutableMatrix(d.hessian)
    if hessian.has(sp.Heaviside, sp.sign, sp.DiracDelta) or not all(
        entry.is_Rational for entry in hessian
    ):
        return None
    if hessian.det() == 0:
        return None
    window = exact_window(hessian)
    eigenvalues = window.exact_eigenvalues
    if not eigenvalues or any(v.has(sp.CRootOf) or sp.count_ops(v) > 12 for v in eigenvalues):
        return None
    if not _polynomial_degree_at_most_2(d):
        return None
    return d.expr, d.variables, hessian, window


def _polynomial_degree_at_most_2(d: Derivation) -> bool:
    try:
        return bool(sp.Poly(d.expr, *d.variables).total_degree() <= 2)
    except sp.PolynomialError:
        return False


def quadratic_candidates() -> tuple[tuple[int, int, int], ...]:
    """``(a, b, c)`` for a x² + b xy + c y² with b ≠ 0 whose Hessian [[2a, b], [b, 2c]] has
    integer eigenvalues a + c ± √((a − c)² + b²), both positive."""
    found = []
    for a in range(1, 7):
        for c in range(1, 7):
            for b in range(-6, 7):
                if b == 0:
                    continue
                root = math.isqrt((a - c) ** 2 + b * b)
                if root * root == (a - c) ** 2 + b * b and a + c - root > 0:
                    found.append((a, b, c))
    return tuple(found)


_QUADRATICS = quadratic_candidates()


def _generated_quadratic(
    variables: tuple[sp.Symbol, ...], rng: random.Random
) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    linear = [rng.choice([-6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6]) for _ in range(2)]
    if len(variables) == 1:
        (w,) = variables
        a = rng.randint(1, 5)
        return a * w**2 + linear[0] * w, (w,)
    x, y = variables[:2]
    a, b, c = rng.choice(_QUADRATICS)
    return a * x**2 + b * x * y + c * y**2 + linear[0] * x + linear[1] * y, (x, y)


def _choose_rate(eigenvalues: Sequence[sp.Expr], rng: random.Random) -> sp.Rational:
    """A learning rate that converges or not with even odds (when both can happen), never on
    the boundary 2/λ_max itself."""
    if not all(positive(v) for v in eigenvalues):
        return rng.choice(STEP_RATES)
    largest = eigenvalues[-1]
    below = [eta for eta in QUESTION_RATES if positive(2 - eta * largest)]
    above = [eta for eta in QUESTION_RATES if positive(eta * largest - 2)]
    above = [eta for eta in above if positive(3 - eta * largest)] or above
    want_convergent = rng.random() < 0.5
    pool = (below if want_convergent else above) or below or above
    return rng.choice(pool)


def _minimiser(
    function: sp.Expr, variables: tuple[sp.Symbol, ...], hessian: sp.ImmutableMatrix
) -> tuple[sp.Expr, ...]:
    gradient_at_zero = sp.Matrix(
        [sp.diff(function, v).xreplace(dict.fromkeys(variables, 0)) for v in variables]
    )
    solution = hessian.LUsolve(-gradient_at_zero)
    return tuple(sp.nsimplify(s) for s in solution)


def rate_question_text(rate: RateQuestion) -> str:
    """The question, in the language in effect."""
    one = len(rate.variables) == 1
    eta = number_text(rate.eta)
    if rate.generated:
        values = {"call": call_text("q", rate.variables), "eta": eta}
        values["quadratic"] = polynomial_text(rate.function, rate.variables)
        if one:
            text = _(
                "The Hessian of f changes from point to point, so take the quadratic "
                "{call} = {quadratic}. Plain gradient descent with learning rate η = {eta} is "
                "run on q. Does it converge from every starting point? Explain why, using its "
                "second derivative."
            )
        else:
            text = _(
                "The Hessian of f changes from point to point, so take the quadratic "
                "{call} = {quadratic}. Plain gradient descent with learning rate η = {eta} is "
                "run on q. Does it converge from every starting point? Explain why, using the "
                "eigenvalues of its Hessian."
            )
        return text.format(**values)
    if one:
        text = _(
            "Plain gradient descent with learning rate η = {eta} is run on f. Does it converge "
            "from every starting point? Explain why, using its second derivative."
        )
    else:
        text = _(
            "Plain gradient descent with learning rate η = {eta} is run on f. Does it converge "
            "from every starting point? Explain why, using the eigenvalues of its Hessian."
        )
    return text.format(eta=eta)


def rate_reason(rate: RateQuestion) -> str:
    """The answer to the convergence question in one or two sentences. "Converges" answers
    the question, from every starting point; a claim about the iterates names the starts it
    holds for (a start with no component along an eigenvector escapes what that eigenvector's
    factor does), and a negative factor multiplies the signed offset, never a distance."""
    eta = number_text(rate.eta)
    g = rate.name
    if len(rate.variables) == 1:
        return _rate_reason_one(rate, eta)
    negatives = [v for v in rate.eigenvalues if not positive(v)]
    if negatives:
        return _(
            "No. The Hessian of {g} has the eigenvalue {value} < 0, so along its eigenvector "
            "each step multiplies the offset from the critical point by 1 − ηλ > 1, whatever "
            "η > 0 is: from every start with a component along that eigenvector the iterates "
            "run away, and {g} has no minimum to converge to."
        ).format(g=g, value=number_text(negatives[0]))
    threshold = rate.threshold
    assert threshold is not None
    values = {"limit": number_text(threshold), "largest": number_text(rate.largest), "eta": eta}
    if rate.converges:
        return _(
            "Yes. Every eigenvalue of the Hessian is positive and the largest is "
            "λₘₐₓ = {largest}, so descent converges exactly when 0 < η < 2/λₘₐₓ = {limit}; "
            "η = {eta} is inside that range, and every factor |1 − ηλ| is below 1."
        ).format(**values)
    factor = rate.factors[-1]
    if factor == -1:
        text = _(
            "No. The largest eigenvalue of the Hessian is λₘₐₓ = {largest}, so descent "
            "converges only for 0 < η < 2/λₘₐₓ = {limit}; with η = {eta} the factor "
            "1 − ηλₘₐₓ = {factor} has size at least 1, so from every start with a component "
            "along that eigenvector the iterates jump back and forth between two points "
            "without settling along it."
        )
    else:
        text = _(
            "No. The largest eigenvalue of the Hessian is λₘₐₓ = {largest}, so descent "
            "converges only for 0 < η < 2/λₘₐₓ = {limit}; with η = {eta} the factor "
            "1 − ηλₘₐₓ = {factor} has size at least 1, so from every start with a component "
            "along that eigenvector the iterates zig-zag outward along it."
        )
    return text.format(factor=number_text(factor), **values)


def _rate_reason_one(rate: RateQuestion, eta: str) -> str:
    g, curvature = rate.name, rate.eigenvalues[0]
    values = {"g": g, "curvature": number_text(curvature), "eta": eta}
    if not positive(curvature):
        return _(
            "No. {g}″ = {curvature} < 0, so each step multiplies the offset from the critical "
            "point by 1 − η·{g}″ > 1: from every start other than the critical point itself "
            "the iterates run away, whatever η > 0 is."
        ).format(**values)
    factor = rate.factors[0]
    values |= {"limit": number_text(2 / curvature), "factor": number_text(factor)}
    if rate.converges:
        if not positive(factor) and factor != 0:
            return _(
                "Yes. {g}″ = {curvature} > 0, so descent converges exactly when "
                "0 < η < 2/{g}″ = {limit}; η = {eta} is inside that range: each step multiplies "
                "the offset from the minimiser by 1 − η·{g}″ = {factor}, whose size is below 1 "
                "(the sign flips at every step, so the iterates zig-zag inward)."
            ).format(**values)
        return _(
            "Yes. {g}″ = {curvature} > 0, so descent converges exactly when "
            "0 < η < 2/{g}″ = {limit}; η = {eta} is inside that range: each step multiplies the "
            "distance to the minimiser by 1 − η·{g}″ = {factor}, whose size is below 1."
        ).format(**values)
    if factor == -1:
        text = _(
            "No. {g}″ = {curvature}, so descent converges only for 0 < η < 2/{g}″ = {limit}; "
            "with η = {eta} each step multiplies the offset from the minimiser by "
            "1 − η·{g}″ = {factor}, whose size is at least 1: from every start other than the "
            "minimiser itself the iterates jump back and forth between two points without "
            "settling."
        )
    else:
        text = _(
            "No. {g}″ = {curvature}, so descent converges only for 0 < η < 2/{g}″ = {limit}; "
            "with η = {eta} each step multiplies the offset from the minimiser by "
            "1 − η·{g}″ = {factor}, whose size is at least 1: from every start other than the "
            "minimiser itself the iterates zig-zag outward."
        )
    return text.format(**values)
