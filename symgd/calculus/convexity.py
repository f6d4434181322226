"""Convexity of f: decided from a constant Hessian's eigenvalues, refuted by a sampled point
(eigenvalues of both signs), or proven by Sylvester-style minors with SymPy's sign
assumptions; ``unknown`` when none of these settles it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.i18n import N_, _
from symgd.calculus.curvature_rules import curvature
from symgd.calculus.intervals import bounds
from symgd.calculus.kink_points import piecewise_form
from symgd.calculus.kinks import Kink
from symgd.calculus.points import ZERO_EIGENVALUE, eigenvalues_numeric
from symgd.calculus.polynomial import expanded_degree
from symgd.expr.batch import hessian_function
from symgd.expr.problem import Problem, to_text

#: a minor is not expanded to decide its sign above this degree
MAX_EXPAND_DEGREE = 24


@dataclass(frozen=True)
class Convexity:
    """A verdict on convexity (a machine word, see :data:`VERDICT_WORDS`) with the one-line
    reason behind it (in the language in effect)."""

    verdict: str
    reason: str


#: the verdicts in a reader's words (the verdicts themselves stay English: JSON, tones)
VERDICT_WORDS = {
    "strictly convex": N_("strictly convex"),
    "convex": N_("convex"),
    "strictly concave": N_("strictly concave"),
    "concave": N_("concave"),
    "neither": N_("neither"),
    "unknown": N_("unknown"),
}


def verdict_words(verdict: str) -> str:
    """``verdict`` in the reader's words, in the language in effect."""
    words = VERDICT_WORDS.get(verdict)
    return _(words) if words is not None else verdict


def judge_convexity(problem: Problem, hessian: sp.Matrix, kinks: Sequence[Kink] = ()) -> Convexity:
    """Convexity from the Hessian, the composition rules and a Gram factorisation; with
    ``kinks`` (where f is not differentiable) a verdict read from the Hessian, which does not
    see them, is kept only when every kink bends the same way.

    >>> from symgd.expr.parser import parse
    >>> from symgd.calculus.differentiate import hessian_of, gradient_of
    >>> p = parse("-log(sigmoid(3*w + b))")
    >>> judge_convexity(p, sp.Matrix(hessian_of(gradient_of(p.expr, p.variables),
    ...                                          p.variables))).verdict
    'convex'
    """
    if problem.parameters:
        return Convexity("unknown", _("The function has parameters; convexity depends on them."))
    smooth_kinks = [k for k in kinks if not k.jump]
    if not smooth_kinks:
        return _judge_smooth(problem, hessian)
    return _judge_kinked(problem, hessian)


def _judge_kinked(problem: Problem, hessian: sp.Matrix) -> Convexity:
    """f with kinks: the composition rules, or the Hessian of the smooth part when f is that
    part plus hinges (abs, relu, max, ... of affine expressions) that all bend one way."""
    xs = problem.variables
    by_rules = _by_rules(problem)
    if by_rules is not None and by_rules.verdict != "convex":
        return by_rules
    form = piecewise_form(problem.expr, xs)
    if form is None:
        # curvature of both signs where f is smooth rules out convex and concave, kinks or not
        witness = by_rules or _sign_witness(problem, hessian, off_kinks=True)
        return witness or Convexity(
            "unknown",
            _(
                "f has kinks that are not abs, relu, max or min of affine expressions; "
                "the Hessian does not see them, so symgd cannot tell."
            ),
        )
    up = all(h.bends_up for h in form.hinges)
    down = not any(h.bends_up for h in form.hinges)
    names = ", ".join(sorted({h.name for h in form.hinges}))
    smooth = _judge_smooth(problem, hessian)
    if smooth.verdict in ("strictly convex", "convex") and up:
        text = (
            _("Away from its kinks: {reason} Each kink ({names}) bends upward, so f is convex.")
            if smooth.verdict == "convex"
            else _(
                "Away from its kinks: {reason} Each kink ({names}) bends upward, so f is "
                "strictly convex."
            )
        )
        return Convexity(smooth.verdict, text.format(reason=_lower(smooth.reason), names=names))
    if smooth.verdict in ("strictly concave", "concave") and down:
        text = (
            _("Away from its kinks: {reason} Each kink ({names}) bends downward, so f is concave.")
            if smooth.verdict == "concave"
            else _(
                "Away from its kinks: {reason} Each kink ({names}) bends downward, so f is "
                "strictly concave."
            )
        )
        return Convexity(smooth.verdict, text.format(reason=_lower(smooth.reason), names=names))
    if by_rules is not None:
        return by_rules
    if (
        smooth.verdict == "neither"
        or (smooth.verdict != "unknown" and not (up or down))
        or ("convex" in smooth.verdict and down)
        or ("concave" in smooth.verdict and up)
    ):
        return Convexity(
            "neither",
            _(
                "f bends upward in some places and downward in others "
                "(its Hessian and its kinks of {names})."
            ).format(names=names),
        )
    return Convexity("unknown", _("symgd could not decide the convexity of f with its kinks."))


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _by_rules(problem: Problem) -> Convexity | None:
    shape = curvature(problem.expr, problem.variables)
    if shape is None or shape.kind == "affine":
        return None
    rules = "; ".join(
        _(r) for r in sorted(shape.rules, key=lambda r: (not r.startswith("a sum"), r))
    )
    text = (
        _("f is convex by the composition rules: {rules}.")
        if shape.kind == "convex"
        else _("f is concave by the composition rules: {rules}.")
    )
    return Convexity(shape.kind, text.format(rules=rules))


def _judge_smooth(problem: Problem, hessian: sp.Matrix) -> Convexity:
    xs = problem.variables
    n = len(xs)
    if not (hessian.free_symbols & set(xs)):
        numeric = eigenvalues_numeric(hessian)
        values = _eigen_text(hessian, numeric)
        scale = max([1.0, *(abs(v) for v in numeric)])
        zero = [abs(v) <= ZERO_EIGENVALUE * scale for v in numeric]
        if all(v > 0 for v in numeric) and not any(zero):
            text = _("The Hessian is constant and positive definite, eigenvalues: {values}.")
            return Convexity("strictly convex", text.format(values=values))
        if all(v < 0 for v in numeric) and not any(zero):
            text = _("The Hessian is constant and negative definite, eigenvalues: {values}.")
            return Convexity("strictly concave", text.format(values=values))
        if all(v > 0 or z for v, z in zip(numeric, zero, strict=True)):
            text = _("The Hessian is constant and positive semidefinite, eigenvalues: {values}.")
            return Convexity("convex", text.format(values=values))
        if all(v < 0 or z for v, z in zip(numeric, zero, strict=True)):
            text = _("The Hessian is constant and negative semidefinite, eigenvalues: {values}.")
            return Convexity("concave", text.format(values=values))
        text = _("The Hessian is constant, eigenvalues of both signs: {values}.")
        return Convexity("neither", text.format(values=values))
    witness = _sign_witness(problem, hessian)
    if witness is not None:
        return witness
    proven = _prove_definite(hessian, n)
    if proven is not None:
        return proven
    by_rules = _by_rules(problem)
    if by_rules is not None:
        return by_rules
    gram = _gram(hessian, xs)
    if gram is not None:
        return gram
    return Convexity(
        "unknown",
        _(
            "The Hessian was positive semidefinite (or negative semidefinite) at every sampled "
            "point, but symgd could not prove it everywhere."
        ),
    )


def _gram(hessian: sp.Matrix, xs: Sequence[sp.Symbol]) -> Convexity | None:
    """H(x) = s(x)·M with s ≥ 0 everywhere and M a constant positive semidefinite matrix."""
    n = hessian.shape[0]
    for i in range(n):
        scale = hessian[i, i]
        if scale == 0 or not scale.free_symbols & set(xs):
            continue
        ratios = [
            [sp.cancel(sp.together(hessian[k, m] / scale)) for m in range(n)] for k in range(n)
        ]
        if any(r.free_symbols & set(xs) for row in ratios for r in row):
            return None
        if bounds(scale)[0] < 0 and not scale.is_nonnegative:
            return None
        matrix = sp.Matrix(ratios)
        values = eigenvalues_numeric(matrix)
        tolerance = ZERO_EIGENVALUE * max([1.0, *(abs(v) for v in values)])
        if min(values) < -tolerance:
            return None
        text = "[" + ", ".join("[" + ", ".join(str(e) for e in row) + "]" for row in ratios) + "]"
        return Convexity(
            "convex",
            _(
                "The Hessian is {scale} ≥ 0 times the constant positive semidefinite (Gram) "
                "matrix {matrix}, so it is positive semidefinite everywhere."
            ).format(scale=to_text(scale), matrix=text),
        )
    return None


def _eigen_text(hessian: sp.Matrix, numeric: Sequence[float]) -> str:
    if hessian.shape[0] <= 2:
        try:
            values = [v for v, m in hessian.eigenvals().items() for _m in range(m)]
            values.sort(key=lambda v: float(v.evalf()))
            return _join(str(v) for v in values)
        except (NotImplementedError, sp.MatrixError):
            pass
    return _join(f"{v:.6g}" for v in numeric)


def _join(items: Any) -> str:
    texts = [str(item) for item in items]
    if len(texts) == 1:
        return texts[0]
    return _("{names} and {last}").format(names=", ".join(texts[:-1]), last=texts[-1])


def _sign_witness(
    problem: Problem, hessian: sp.Matrix, *, off_kinks: bool = False
) -> Convexity | None:
    """Sample the Hessian; a point with mixed-sign eigenvalues, or curvature of both signs
    at two points, proves the function is neither convex nor concave. ``off_kinks``: only
    random points (almost surely off the kinks, where the Hessian means what it says)."""
    xs = problem.variables
    n = len(xs)
    hessian_at = hessian_function(xs, hessian)
    per_axis = 0 if off_kinks else {1: 9, 2: 5, 3: 5}.get(n, 3 if n <= 6 else 0)
    axis = np.arange(per_axis) - per_axis // 2 if per_axis else np.zeros(0)
    samples = [np.array(list(itertools.product(axis, repeat=n)), dtype=float)] if per_axis else []
    samples.append(np.random.default_rng(1).uniform(-3, 3, size=(300, n)))
    points = np.concatenate(samples).reshape(-1, n)
    with np.errstate(all="ignore"):
        h = hessian_at(points)
    finite = np.isfinite(h).all(axis=(1, 2))
    points, h = points[finite], h[finite]
    if len(points) == 0:
        return None
    eig = np.linalg.eigvalsh((h + np.swapaxes(h, 1, 2)) / 2)
    scale = np.maximum(1.0, np.abs(eig).max(axis=1))
    tol = 1e-9 * scale
    has_neg = (eig < -tol[:, None]).any(axis=1)
    has_pos = (eig > tol[:, None]).any(axis=1)
    mixed = np.flatnonzero(has_neg & has_pos)
    if mixed.size:
        where = _format_point(points[mixed[0]])
        return Convexity(
            "neither",
            _("The Hessian has eigenvalues of both signs at {point}.").format(point=where),
        )
    neg_at, pos_at = np.flatnonzero(has_neg), np.flatnonzero(has_pos)
    if neg_at.size and pos_at.size:
        return Convexity(
            "neither",
            _("The curvature is positive at {up} but negative at {down}.").format(
                up=_format_point(points[pos_at[0]]), down=_format_point(points[neg_at[0]])
            ),
        )
    return None


def _format_point(point: np.ndarray) -> str:
    values = ", ".join(f"{v:.4g}" for v in point)
    return f"({values})"


def _prove_definite(hessian: sp.Matrix, n: int) -> Convexity | None:
    """Sylvester-style checks with SymPy's sign assumptions (cheap, may say nothing)."""
    if n > 3:
        return None
    minors = [hessian[:k, :k].det() for k in range(1, n + 1)]
    principal = [
        hessian.extract(list(idx), list(idx)).det()
        for k in range(1, n + 1)
        for idx in itertools.combinations(range(n), k)
    ]
    if all(_sign(m, positive=True) for m in minors):
        return Convexity(
            "strictly convex", _("Every leading minor of the Hessian is positive everywhere.")
        )
    if all(_sign(((-1) ** (k + 1)) * m, positive=True) for k, m in enumerate(minors)):
        return Convexity(
            "strictly concave",
            _("The leading minors of the Hessian alternate in sign everywhere."),
        )
    if all(_sign(m, positive=False) for m in principal):
        return Convexity(
            "convex",
            _(
                "Every principal minor of the Hessian is nonnegative everywhere "
                "(positive semidefinite)."
            ),
        )
    signed = [
        ((-1) ** len(idx)) * hessian.extract(list(idx), list(idx)).det()
        for k in range(1, n + 1)
        for idx in itertools.combinations(range(n), k)
    ]
    if all(_sign(m, positive=False) for m in signed):
        return Convexity(
            "concave",
            _("The Hessian is negative semidefinite everywhere (signed principal minors)."),
        )
    return None


def _sign(expr: sp.Expr, *, positive: bool) -> bool:
    answer = expr.is_positive if positive else expr.is_nonnegative
    if answer is None and sp.count_ops(expr) < 200 and expanded_degree(expr) <= MAX_EXPAND_DEGREE:
        expr = sp.factor(sp.expand(expr))
        answer = expr.is_positive if positive else expr.is_nonnegative
    return bool(answer)
