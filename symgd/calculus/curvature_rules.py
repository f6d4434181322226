"""Convexity by the rules a teacher uses: a sum of convex terms is convex; a convex function of
an affine map is convex (squared error, absolute error, the logistic loss −log σ(a·θ + b), the
cross-entropy of a linear model); a nondecreasing convex function of a convex one is convex; and
a Hessian that is a nonnegative multiple of a Gram matrix is positive semidefinite.

:func:`curvature` returns ``"affine"``, ``"convex"``, ``"concave"`` or None (no rule applies),
with the names of the rules used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy as sp

from symgd.base.i18n import N_
from symgd.calculus.intervals import bounds
from symgd.expr.activations import Abs, leaky_relu, relu, sigmoid, softplus


@dataclass(frozen=True)
class Shape:
    """The curvature of an expression and the rules that showed it."""

    kind: str  # "affine", "convex" or "concave"
    rules: frozenset[str] = frozenset()


_AFFINE = Shape("affine")

#: the rules' names are English (a stable sort key); show them through ``_()``
SUM_RULES = {"convex": N_("a sum of convex terms"), "concave": N_("a sum of concave terms")}
OUTER_RULES = {
    "relu": N_("relu (convex, nondecreasing) of a convex or affine term"),
    "softplus": N_("softplus (convex, nondecreasing) of a convex or affine term"),
    "exp": N_("exp (convex, nondecreasing) of a convex or affine term"),
    "leaky_relu": N_("leaky_relu (convex, nondecreasing) of a convex or affine term"),
}


def curvature(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> Shape | None:
    """The curvature ``expr`` has by the composition rules, or None.

    >>> import sympy as sp
    >>> from symgd.expr.activations import sigmoid
    >>> w, b = sp.symbols("w b", real=True)
    >>> curvature(-sp.log(sigmoid(3*w + b)), (w, b)).kind
    'convex'
    """
    return _shape(expr, frozenset(variables))


def _shape(expr: sp.Expr, xs: frozenset[sp.Symbol]) -> Shape | None:
    if not expr.free_symbols & xs:
        return _AFFINE if not expr.free_symbols else None
    if _is_affine(expr, xs):
        return _AFFINE
    if isinstance(expr, sp.Add):
        return _sum([_shape(a, xs) for a in expr.args])
    if isinstance(expr, sp.Mul):
        coefficient, rest = expr.as_independent(*xs, as_Add=False)
        if coefficient.free_symbols or not coefficient.is_number or coefficient == 1:
            return None
        inner = _shape(rest, xs)
        if inner is None or coefficient == 0:
            return inner
        return inner if coefficient > 0 else _flip(inner)
    if isinstance(expr, sp.Pow):
        return _power(expr, xs)
    return _function(expr, xs)


def _is_affine(expr: sp.Expr, xs: frozenset[sp.Symbol]) -> bool:
    return bool(
        not (expr.free_symbols - xs)
        and expr.is_polynomial(*xs)
        and sp.Poly(expr, *xs).total_degree() <= 1
    )


def _sum(parts: Sequence[Shape | None]) -> Shape | None:
    if any(p is None for p in parts):
        return None
    kinds = {p.kind for p in parts if p is not None} - {"affine"}
    rules = frozenset().union(*(p.rules for p in parts if p is not None))
    if not kinds:
        return _AFFINE
    if len(kinds) > 1:
        return None
    kind = kinds.pop()
    if sum(1 for p in parts if p is not None and p.kind != "affine") > 1:
        rules |= {SUM_RULES[kind]}
    return Shape(kind, rules)


def _flip(shape: Shape) -> Shape:
    kind = {"convex": "concave", "concave": "convex"}.get(shape.kind, shape.kind)
    return Shape(kind, shape.rules)


def _with(shape: Shape | None, rule: str) -> Shape | None:
    return None if shape is None else Shape(shape.kind, shape.rules | {rule})


def _power(expr: sp.Pow, xs: frozenset[sp.Symbol]) -> Shape | None:
    base, exponent = expr.args
    if not exponent.is_number or exponent.free_symbols:
        return None
    if exponent == sp.S.Half and _norm(base, xs):
        return Shape("convex", frozenset({N_("a Euclidean norm of affine expressions")}))
    inner = _shape(base, xs)
    if inner is None:
        return None
    if exponent.is_Integer and int(exponent) % 2 == 0 and exponent > 0:
        if inner.kind == "affine":
            return Shape(
                "convex", frozenset({N_("a square or even power of an affine expression")})
            )
        if inner.kind == "convex" and bounds(base)[0] >= 0:
            return Shape("convex", inner.rules | {N_("an even power of a nonnegative convex term")})
        return None
    if exponent >= 1 and bounds(base)[0] >= 0 and inner.kind in ("affine", "convex"):
        return Shape("convex", inner.rules | {N_("a power ≥ 1 of a nonnegative convex term")})
    if 0 < exponent < 1 and inner.kind in ("affine", "concave"):
        return Shape("concave", inner.rules | {N_("a root of a concave term")})
    return None


def _norm(base: sp.Expr, xs: frozenset[sp.Symbol]) -> bool:
    """base = Σ cᵢ(affine)² + c with cᵢ > 0, c ≥ 0: √base is a Euclidean norm, convex."""
    for term in sp.Add.make_args(base):
        if not term.free_symbols & xs:
            if not (term.is_number and term >= 0):
                return False
            continue
        coefficient, rest = term.as_independent(*xs, as_Add=False)
        if not (
            coefficient.is_number
            and coefficient > 0
            and isinstance(rest, sp.Pow)
            and rest.exp == 2
            and _is_affine(rest.base, xs)
        ):
            return False
    return True


def _function(expr: sp.Expr, xs: frozenset[sp.Symbol]) -> Shape | None:
    args = expr.args
    if isinstance(expr, sp.Abs | Abs):
        inner = _shape(args[0], xs)
        if inner is not None and inner.kind == "affine":
            return Shape("convex", frozenset({N_("an absolute value of an affine expression")}))
        return None
    if isinstance(expr, relu | softplus | sp.exp) or (
        isinstance(expr, leaky_relu) and expr.slope.is_number and 0 <= expr.slope <= 1
    ):
        inner = _shape(args[0], xs)
        name = {relu: "relu", softplus: "softplus", sp.exp: "exp"}.get(type(expr), "leaky_relu")
        if inner is not None and inner.kind in ("affine", "convex"):
            return Shape("convex", inner.rules | {OUTER_RULES[name]})
        return None
    if isinstance(expr, sp.Max) and all(_shape(a, xs) is not None for a in args):
        shapes = [_shape(a, xs) for a in args]
        if all(s is not None and s.kind in ("affine", "convex") for s in shapes):
            return Shape("convex", frozenset({N_("a maximum of convex terms")}))
        return None
    if isinstance(expr, sp.Min) and all(_shape(a, xs) is not None for a in args):
        shapes = [_shape(a, xs) for a in args]
        if all(s is not None and s.kind in ("affine", "concave") for s in shapes):
            return Shape("concave", frozenset({N_("a minimum of concave terms")}))
        return None
    if isinstance(expr, sp.log):
        return _log(args[0], xs)
    if isinstance(expr, sp.cosh):
        inner = _shape(args[0], xs)
        if inner is not None and inner.kind == "affine":
            return Shape("convex", frozenset({N_("cosh of an affine expression")}))
    return None


def _log(argument: sp.Expr, xs: frozenset[sp.Symbol]) -> Shape | None:
    """log σ(z) and log(1 − σ(z)) are concave in affine z (the logistic loss is their
    negative); log(c + Σ e^zᵢ) is convex (log-sum-exp); log of a concave term is concave."""
    if isinstance(argument, sigmoid):
        inner = _shape(argument.args[0], xs)
        if inner is not None and inner.kind in ("affine", "concave"):
            return Shape(
                "concave", frozenset({N_("the logistic loss −log σ(z) of an affine z (convex)")})
            )
        return None
    one_minus = _one_minus_sigmoid(argument)
    if one_minus is not None:
        inner = _shape(one_minus, xs)
        if inner is not None and inner.kind in ("affine", "convex"):
            return Shape(
                "concave",
                frozenset({N_("the logistic loss −log(1 − σ(z)) of an affine z (convex)")}),
            )
        return None
    terms = sp.Add.make_args(argument)
    exponentials = [t for t in terms if t.free_symbols & xs]
    constants = [t for t in terms if not t.free_symbols & xs]
    if (
        exponentials
        and all(isinstance(t, sp.exp) and _is_affine(t.args[0], xs) for t in exponentials)
        and all(c.is_number and c >= 0 for c in constants)
    ):
        return Shape("convex", frozenset({N_("log-sum-exp (softplus) of affine expressions")}))
    inner = _shape(argument, xs)
    if inner is not None and inner.kind in ("affine", "concave"):
        return Shape(
            "concave", inner.rules | {N_("log (concave, nondecreasing) of a concave term")}
        )
    return None


def _one_minus_sigmoid(argument: sp.Expr) -> sp.Expr | None:
    """z when argument is 1 − σ(z)."""
    terms = sp.Add.make_args(argument)
    if len(terms) != 2 or sp.S.One not in terms:
        return None
    other = terms[0] if terms[1] == 1 else terms[1]
    coefficient, rest = other.as_coeff_Mul()
    if coefficient == -1 and isinstance(rest, sigmoid):
        return rest.args[0]
    return None
