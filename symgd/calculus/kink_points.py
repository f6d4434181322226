"""Points on a kink where f may be smallest or largest: decided with the subdifferential when
f is a smooth part plus multiples of abs, relu, leaky_relu, max and min of affine expressions.

There f(x) = S(x) + Σ cᵢ φᵢ(aᵢ·x + bᵢ), each φᵢ linear on either side of its kink with slopes
loᵢ and hiᵢ. At a point x₀ the generalised gradients form the set
∇S(x₀) + Σ_{inactive} cᵢ φᵢ'(zᵢ) aᵢ + Σ_{active} cᵢ [loᵢ, hiᵢ] aᵢ. If 0 is not in it, x₀ is no
minimum nor maximum. If it is and every active kink bends upward (cᵢ(hiᵢ − loᵢ) > 0), x₀ is a
minimum when f is convex, and a strict local minimum when 0 lies inside the set (the active aᵢ
span every direction, and every way out climbs).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symgd.base.i18n import _
from symgd.expr.activations import Abs, leaky_relu, relu

#: at most this many intersections of kink hyperplanes are tried
MAX_CORNERS = 256


@dataclass(frozen=True)
class Hinge:
    """c·φ(a·x + b), φ linear with slope ``left`` below 0 and ``right`` above."""

    coefficient: float
    left: float
    right: float
    normal: tuple[sp.Expr, ...]
    offset: sp.Expr
    name: str

    @property
    def bends_up(self) -> bool:
        return self.coefficient * (self.right - self.left) > 0


@dataclass(frozen=True)
class KinkPoint:
    """A point on a kink of f where 0 is a generalised gradient: ``kind`` is minimum, maximum
    or unknown, with the reason."""

    coordinates: tuple[sp.Expr, ...]
    value: sp.Expr
    kind: str
    reason: str


@dataclass(frozen=True)
class PiecewiseForm:
    """f split into a smooth part and hinges (None when f is not of this form)."""

    smooth: sp.Expr
    hinges: tuple[Hinge, ...]


def piecewise_form(expr: sp.Expr, xs: Sequence[sp.Symbol]) -> PiecewiseForm | None:
    """Split ``expr`` into smooth + Σ hinges of affine arguments, or None."""
    smooth: list[sp.Expr] = []
    hinges: list[Hinge] = []
    for term in sp.Add.make_args(expr):
        coefficient, rest = term.as_coeff_Mul()
        made = _hinges(float(coefficient), rest, tuple(xs))
        if made is not None:
            smooth.append(made[0])
            hinges.extend(made[1])
        elif _has_kink(term):
            return None
        else:
            smooth.append(term)
    return PiecewiseForm(sp.Add(*smooth), tuple(hinges)) if hinges else None


def _has_kink(term: sp.Expr) -> bool:
    return bool(
        term.has(
            sp.Abs,
            Abs,
            relu,
            leaky_relu,
            sp.Max,
            sp.Min,
            sp.sign,
            sp.Heaviside,
            sp.floor,
            sp.ceiling,
        )
    )


def _affine(expr: sp.Expr, xs: tuple[sp.Symbol, ...]) -> tuple[tuple[sp.Expr, ...], sp.Expr] | None:
    if expr.free_symbols - set(xs) or not expr.is_polynomial(*xs):
        return None
    poly = sp.Poly(expr, *xs)
    if poly.total_degree() > 1:
        return None
    normal = tuple(sp.diff(expr, v) for v in xs)
    return normal, expr.subs(dict.fromkeys(xs, 0))


def _hinges(
    c: float,
    rest: sp.Expr,
    xs: tuple[sp.Symbol, ...],
) -> tuple[sp.Expr, list[Hinge]] | None:
    """(the smooth part, the hinges) of c·rest when rest is one piecewise-linear call."""
    if isinstance(rest, sp.Abs | Abs | relu | leaky_relu):
        affine = _affine(rest.args[0], xs)
        if affine is None:
            return None
        if isinstance(rest, sp.Abs | Abs):
            left, right, name = -1.0, 1.0, "abs"
        elif isinstance(rest, relu):
            left, right, name = 0.0, 1.0, "relu"
        else:
            if not rest.slope.is_number:
                return None
            left, right, name = float(rest.slope), 1.0, "leaky_relu"
        return sp.S.Zero, [Hinge(c, left, right, affine[0], affine[1], name)]
    if isinstance(rest, sp.Max | sp.Min) and len(rest.args) == 2:
        u, v = rest.args
        affine = _affine(u - v, xs)
        if affine is None or _affine(v, xs) is None:
            return None
        # max(u, v) = v + relu(u − v);  min(u, v) = u − relu(u − v)
        if isinstance(rest, sp.Max):
            return c * v, [Hinge(c, 0.0, 1.0, affine[0], affine[1], "max")]
        return c * u, [Hinge(-c, 0.0, 1.0, affine[0], affine[1], "min")]
    return None


def corner_points(form: PiecewiseForm, xs: Sequence[sp.Symbol]) -> list[tuple[sp.Expr, ...]]:
    """Exact points where as many independent kink hyperplanes meet as there are variables."""
    n = len(xs)
    planes: list[tuple[tuple[sp.Expr, ...], sp.Expr]] = []
    for h in form.hinges:
        if all(sp.Matrix([[*h.normal, h.offset], [*p[0], p[1]]]).rank() == 2 for p in planes):
            planes.append((h.normal, h.offset))
    corners: list[tuple[sp.Expr, ...]] = []
    for chosen in itertools.islice(itertools.combinations(planes, n), MAX_CORNERS):
        matrix = sp.Matrix([list(p[0]) for p in chosen])
        if matrix.rank() < n:
            continue
        solution = matrix.LUsolve(sp.Matrix([-p[1] for p in chosen]))
        point = tuple(sp.nsimplify(c) if isinstance(c, sp.Float) else c for c in solution)
        if point not in corners:
            corners.append(point)
    return corners


def classify_kink_point(
    form: PiecewiseForm,
    xs: Sequence[sp.Symbol],
    point: Sequence[sp.Expr],
    expr: sp.Expr,
    convexity: str,
) -> KinkPoint | None:
    """The kind of ``point`` by the subdifferential; None when 0 is not a generalised
    gradient there (or no kink is active: a smooth point)."""
    xs = tuple(xs)
    at = np.array([float(c) for c in point])
    scale = 1 + float(np.abs(at).max())
    active: list[Hinge] = []
    g0 = _smooth_gradient(form.smooth, xs, point)
    if g0 is None:
        return None
    for h in form.hinges:
        normal = np.array([float(c) for c in h.normal])
        z = float(normal @ at + float(h.offset))
        if abs(z) <= 1e-9 * scale * (1 + float(np.abs(normal).max())):
            active.append(h)
        else:
            g0 = g0 + h.coefficient * (h.right if z > 0 else h.left) * normal
    if not active:
        return None
    columns = np.array([[float(c) for c in h.normal] for h in active]).T
    boxes = [
        (
            min(h.coefficient * h.left, h.coefficient * h.right),
            max(h.coefficient * h.left, h.coefficient * h.right),
        )
        for h in active
    ]
    margin = _margin(columns, boxes, -g0)
    if margin is None:
        return None
    value = _value(expr, xs, point)
    kinks = ", ".join(sorted({h.name for h in active}))
    if all(h.bends_up for h in active):
        return _decide(
            point,
            value,
            kinks,
            margin,
            columns,
            convexity,
            "minimum",
            ("convex", "strictly convex"),
        )
    if not any(h.bends_up for h in active):
        return _decide(
            point,
            value,
            kinks,
            margin,
            columns,
            convexity,
            "maximum",
            ("concave", "strictly concave"),
        )
    return KinkPoint(
        tuple(point),
        value,
        "unknown",
        _(
            "∇f is undefined here (a kink of {kinks}); 0 is a generalised gradient, "
            "but the kinks bend both ways, so symgd cannot tell what it is"
        ).format(kinks=kinks),
    )


def _decide(
    point: Sequence[sp.Expr],
    value: sp.Expr,
    kinks: str,
    margin: float,
    columns: np.ndarray,
    convexity: str,
    kind: str,
    shapes: tuple[str, str],
) -> KinkPoint:
    minimum = kind == "minimum"
    if convexity in shapes:
        text = (
            _(
                "∇f is undefined here (a kink of {kinks}); 0 is a subgradient and f is convex, "
                "so it is a global minimum"
            )
            if minimum
            else _(
                "∇f is undefined here (a kink of {kinks}); 0 is a subgradient and f is "
                "concave, so it is a global maximum"
            )
        )
        return KinkPoint(tuple(point), value, kind, text.format(kinks=kinks))
    if margin > 1e-9 and np.linalg.matrix_rank(columns) == columns.shape[0]:
        text = (
            _(
                "∇f is undefined here (a kink of {kinks}); 0 lies inside the subdifferential, "
                "so f climbs in every direction out of it: a local minimum"
            )
            if minimum
            else _(
                "∇f is undefined here (a kink of {kinks}); 0 lies inside the subdifferential, "
                "so f falls in every direction out of it: a local maximum"
            )
        )
        return KinkPoint(tuple(point), value, kind, text.format(kinks=kinks))
    text = (
        _(
            "∇f is undefined here (a kink of {kinks}); 0 is a subgradient, but symgd cannot "
            "tell whether it is a minimum"
        )
        if minimum
        else _(
            "∇f is undefined here (a kink of {kinks}); 0 is a subgradient, but symgd cannot "
            "tell whether it is a maximum"
        )
    )
    return KinkPoint(tuple(point), value, "unknown", text.format(kinks=kinks))


def _smooth_gradient(
    smooth: sp.Expr, xs: tuple[sp.Symbol, ...], point: Sequence[sp.Expr]
) -> np.ndarray | None:
    mapping = dict(zip(xs, point, strict=True))
    try:
        values = [complex(sp.diff(smooth, v).xreplace(mapping).evalf(30)) for v in xs]
    except (TypeError, ValueError):
        return None
    if any(abs(v.imag) > 1e-12 or not np.isfinite(v.real) for v in values):
        return None
    return np.array([v.real for v in values])


def _value(expr: sp.Expr, xs: tuple[sp.Symbol, ...], point: Sequence[sp.Expr]) -> sp.Expr:
    value = expr.xreplace(dict(zip(xs, point, strict=True)))
    if all(isinstance(c, sp.Rational) for c in point):
        return sp.nsimplify(value) if isinstance(value, sp.Float) else value
    return sp.Float(float(value.evalf(20)), 12)


def _margin(
    columns: np.ndarray, boxes: Sequence[tuple[float, float]], target: np.ndarray
) -> float | None:
    """How far ``target`` lies inside the zonotope {columns·t : lo ≤ t ≤ hi} (> 0 inside,
    about 0 on its boundary), or None when it lies outside: 0 is then not a generalised
    gradient. A full-dimensional zonotope's facets are orthogonal to n − 1 independent
    generators, so those normals decide membership exactly."""
    n = columns.shape[0]
    centre = columns @ np.array([(lo + hi) / 2 for lo, hi in boxes])
    half = np.array([(hi - lo) / 2 for lo, hi in boxes])
    offset = target - centre
    scale = 1.0 + float(np.abs(columns).max()) * (1.0 + float(np.abs(half).max()))
    basis, singular, _vt = np.linalg.svd(columns, full_matrices=False)
    rank = int((singular > 1e-12 * max(1.0, float(singular.max(initial=0.0)))).sum())
    if rank == 0:
        return 0.0 if np.linalg.norm(offset) <= 1e-9 * scale else None
    basis = basis[:, :rank]
    if np.linalg.norm(offset - basis @ (basis.T @ offset)) > 1e-9 * scale:
        return None  # not even in the span of the generators
    reduced, offset = basis.T @ columns, basis.T @ offset
    normals = [
        _normal(reduced[:, list(chosen)])
        for chosen in itertools.islice(
            itertools.combinations(range(reduced.shape[1]), rank - 1), 2000
        )
    ]
    if rank == 1:
        normals = [np.ones(1)]
    margin = np.inf
    for d in normals:
        if d is None:
            continue
        support = float(half @ np.abs(d @ reduced))
        margin = min(margin, support - abs(float(d @ offset)))
    if margin < -1e-9 * scale:
        return None
    return float(margin) if rank == n else 0.0


def _normal(chosen: np.ndarray) -> np.ndarray | None:
    """The unit vector orthogonal to the columns of ``chosen`` (rank − 1 of them), if they are
    independent."""
    u, singular, _vt = np.linalg.svd(chosen, full_matrices=True)
    if chosen.shape[1] and singular.min() <= 1e-12 * max(1.0, float(singular.max())):
        return None
    d: np.ndarray = u[:, -1]
    return d
