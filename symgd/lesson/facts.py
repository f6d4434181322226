"""The function's facts, worked out once: derivation, critical points, curvature, numeric
evaluation. Every later stage of the lesson reads them; nothing changes them."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from symgd.base.i18n import n_
from symgd.render.latex import elide, short_exact, tex

if TYPE_CHECKING:
    import numpy as np
    import sympy as sp

    from symgd.calculus.curvature import RateWindow
    from symgd.calculus.derivation import Derivation
    from symgd.calculus.facts import Facts as FunctionFacts
    from symgd.calculus.facts import PointNature
    from symgd.calculus.kink_points import KinkPoint
    from symgd.calculus.points import CriticalPoint
    from symgd.expr.batch import Compiled
    from symgd.expr.problem import Problem


@dataclass(frozen=True)
class Evaluated:
    """An exact value at a point; ``rounded`` when it had to be worked in decimals."""

    value: Any
    rounded: bool


@dataclass(frozen=True, eq=False)
class Facts:
    """What the lesson knows about f before any run."""

    derivation: Derivation
    problem: Problem
    variables: tuple[sp.Symbol, ...]
    names: tuple[str, ...]
    compiled: Compiled
    #: the critical points that are single points with finite coordinates
    isolated: tuple[CriticalPoint, ...]
    minima: tuple[CriticalPoint, ...]
    #: the exact, global curvature window when the Hessian is constant, else None
    constant_window: RateWindow | None
    #: ``x, y`` in LaTeX, as written inside f(...)
    args_tex: str
    hessian: Callable[..., Any] = field(repr=False)

    @property
    def n(self) -> int:
        """The number of variables."""
        return len(self.variables)

    def f_at(self, point: Sequence[float]) -> float:
        """f at ``point`` (NaN or ±∞ where it is undefined)."""
        import numpy as np

        with np.errstate(all="ignore"):
            return float(self.compiled.value_at(np.asarray([point], dtype=float))[0])

    def grad_at(self, point: Sequence[float]) -> np.ndarray:
        """∇f at ``point``."""
        import numpy as np

        with np.errstate(all="ignore"):
            gradient: np.ndarray = self.compiled.gradient_at(np.asarray([point], dtype=float))[0]
        return gradient

    def hess_at(self, point: Sequence[float]) -> np.ndarray:
        """The Hessian of the derivation (kinks of relu/abs left out) at ``point``."""
        import numpy as np

        if self.derivation.hessian_is_constant:
            return np.array(self.hessian(), dtype=float)
        with np.errstate(all="ignore"):
            values = self.hessian(*[float(v) for v in point])
            return np.array(
                [[float(np.asarray(v, dtype=float)) for v in row] for row in values], dtype=float
            ).reshape(self.n, self.n)

    def window_at(
        self, point: Sequence[float], label: str = "", vectors: bool = False
    ) -> RateWindow:
        """The curvature window (eigenvalues, thresholds) of the Hessian at ``point``."""
        from symgd.calculus.curvature import window_of_matrix

        return window_of_matrix(self.hess_at(point), label, point=point, vectors=vectors)

    def exact_at(self, expr: Any, point: Sequence[Any]) -> Evaluated:
        """``expr`` at ``point``, exactly while the numbers stay below
        :data:`symgd.calculus.exact.MAX_EXACT_DIGITS` digits, else in decimals (rounded)."""
        import sympy as sp

        from symgd.calculus.exact import TooLarge, decimal_at, exact_at
        from symgd.expr.activations import to_elementary

        mapping = dict(zip(self.variables, point, strict=True))
        try:
            value = exact_at(expr, mapping)
            if value.has(sp.DiracDelta, sp.Heaviside):
                value = exact_at(to_elementary(expr), mapping)
        except TooLarge:
            if expr.has(sp.DiracDelta, sp.Heaviside):
                expr = to_elementary(expr)
            return Evaluated(decimal_at(expr, mapping), True)
        return Evaluated(value, False)

    def nearest_point(self, x: Any, tolerance: float = 1e-3) -> CriticalPoint | None:
        """The isolated critical point within ``tolerance`` (relative) of ``x``, if any."""
        best = None
        best_distance = tolerance
        for p in self.isolated:
            coords = p.as_floats()
            distance = max(abs(a - b) for a, b in zip(coords, x, strict=True))
            scale = max(1.0, max(abs(c) for c in coords))
            if distance <= best_distance * scale:
                best, best_distance = p, distance / scale
        return best

    # -- the function's facts (symgd.calculus.facts), read from this one place ---------------

    @property
    def known(self) -> FunctionFacts | None:
        """The facts the derivation worked out (None when f was not analysed)."""
        return self.derivation.facts

    @property
    def smooth(self) -> bool:
        """True when f has no kink (abs, relu, leaky_relu, max, min)."""
        if self.known is not None:
            return self.known.smooth
        return not self.problem.expr.has(*_kink_functions())

    @property
    def bounded_below(self) -> bool | None:
        """True when shown bounded below, False when a direction of descent to −∞ was found,
        None when symgd cannot tell."""
        return None if self.known is None else self.known.bounded_below

    @property
    def critical_set(self) -> str:
        """``complete``, ``incomplete`` or ``infinite``."""
        if self.known is not None:
            return self.known.critical_set
        return "complete" if self.derivation.critical_points_complete else "incomplete"

    @property
    def convexity(self) -> str:
        """The convexity verdict (``convex``, ``strictly convex``, ..., ``unknown``)."""
        if self.known is not None:
            return self.known.convexity
        return self.derivation.convexity.verdict

    @property
    def convex(self) -> bool:
        """True when f was shown convex."""
        return self.convexity in ("convex", "strictly convex")

    @property
    def kink_points(self) -> tuple[KinkPoint, ...]:
        """Points on a kink where 0 is a generalised gradient."""
        return () if self.known is None else self.known.kink_points

    def all_minima(self) -> list[tuple[float, ...]]:
        """Every minimum known, as floats: those the Hessian shows, the degenerate critical
        points a higher-order test showed to be minima, and those on a kink."""
        points = [p.as_floats() for p in self.minima]
        for p in self.isolated:
            if p.kind == "degenerate":
                nature = self.nature_near(p.as_floats())
                if nature is not None and nature.kind == "minimum":
                    points.append(p.as_floats())
        for k in self.kink_points:
            if k.kind == "minimum":
                try:
                    points.append(tuple(float(c) for c in k.coordinates))
                except (TypeError, ValueError):
                    continue
        return points

    def kink_point_near(self, x: Any, tolerance: float = 1e-6) -> KinkPoint | None:
        """The kink point within ``tolerance`` (relative) of ``x``, if any."""
        return _near(self.kink_points, x, tolerance)

    def nature_near(self, x: Any, tolerance: float = 1e-3) -> PointNature | None:
        """What a degenerate critical point near ``x`` turned out to be, if it was decided."""
        if self.known is None:
            return None
        return _near(self.known.degenerate_points, x, tolerance)

    def count_of_minima(self, count: int, where: str = "") -> str:
        """``f has 4 minima`` only when the critical set is complete; otherwise what is known:
        ``f has infinitely many minima; 6 of them lie in the picture`` or ``6 minima lie in the
        search box``. ``where`` names the region counted in: ``"the picture"`` or (default)
        symgd's search box; the words are in the language in effect."""
        if self.critical_set == "complete":
            return n_("f has {n} minimum", "f has {n} minima", count).format(n=count)
        if where == "the picture":
            if self.critical_set == "infinite":
                return n_(
                    "f has infinitely many minima; {n} of them lies in the picture",
                    "f has infinitely many minima; {n} of them lie in the picture",
                    count,
                ).format(n=count)
            return n_(
                "{n} minimum lies in the picture (symgd's list of critical points may be "
                "incomplete, so there may be others)",
                "{n} minima lie in the picture (symgd's list of critical points may be "
                "incomplete, so there may be others)",
                count,
            ).format(n=count)
        if where and self.critical_set == "infinite":
            return n_(
                "f has infinitely many minima; {n} of them lies in {place}",
                "f has infinitely many minima; {n} of them lie in {place}",
                count,
            ).format(n=count, place=where)
        if where:
            return n_(
                "{n} minimum lies in {place} (symgd's list of critical points may be "
                "incomplete, so there may be others)",
                "{n} minima lie in {place} (symgd's list of critical points may be "
                "incomplete, so there may be others)",
                count,
            ).format(n=count, place=where)
        if self.critical_set == "infinite":
            return n_(
                "f has infinitely many minima; {n} of them lies in the box symgd searched",
                "f has infinitely many minima; {n} of them lie in the box symgd searched",
                count,
            ).format(n=count)
        return n_(
            "{n} minimum lies in the box symgd searched (symgd's list of critical points may "
            "be incomplete, so there may be others)",
            "{n} minima lie in the box symgd searched (symgd's list of critical points may "
            "be incomplete, so there may be others)",
            count,
        ).format(n=count)

    def is_quadratic(self) -> bool:
        """True when f is a polynomial of degree at most 2."""
        import sympy as sp

        expr = self.problem.expr
        if not expr.is_polynomial(*self.variables):
            return False
        return bool(sp.Poly(expr, *self.variables).total_degree() <= 2)


class _Located(Protocol):
    @property
    def coordinates(self) -> tuple[Any, ...]: ...


_Point = TypeVar("_Point", bound=_Located)


def _near(points: Sequence[_Point], x: Any, tolerance: float) -> _Point | None:
    """The first of ``points`` within ``tolerance`` (relative to its size) of ``x``, if any;
    points whose coordinates are not numbers are skipped."""
    for point in points:
        try:
            coords = [float(c) for c in point.coordinates]
        except (TypeError, ValueError):
            continue
        scale = max(1.0, max(abs(c) for c in coords))
        if max(abs(a - float(b)) for a, b in zip(coords, x, strict=True)) <= tolerance * scale:
            return point
    return None


def _kink_functions() -> tuple[Any, ...]:
    import sympy as sp

    from symgd.expr.activations import leaky_relu, relu

    return (sp.Abs, relu, leaky_relu, sp.Max, sp.Min)


def shown_eigenvalues(window: RateWindow | None) -> tuple[Any, ...] | None:
    """The exact eigenvalues of a constant Hessian when each is short enough to show."""
    if window is None or not window.exact_eigenvalues:
        return None
    values = window.exact_eigenvalues
    return values if all(short_exact(v) for v in values) else None


def work_out_facts(derivation: Derivation) -> Facts:
    """The facts of ``derivation``'s function (compiled f and ∇f, critical points, the exact
    curvature window of a constant Hessian)."""
    from symgd.numeric.codegen import compiled_for

    problem = derivation.problem
    variables = tuple(derivation.variables)
    isolated = tuple(_isolated_points(derivation))
    hessian = _hessian_function(derivation)
    window = None
    if derivation.hessian_is_constant:
        from symgd.calculus.curvature import exact_window

        window = exact_window(derivation.hessian, hessian())
    return Facts(
        derivation=derivation,
        problem=problem,
        variables=variables,
        names=tuple(v.name for v in variables),
        compiled=compiled_for(problem.expr, problem.variables),
        isolated=isolated,
        minima=tuple(p for p in isolated if p.kind == "minimum"),
        constant_window=window,
        args_tex=", ".join(elide([tex(v) for v in variables], r"\dots")),
        hessian=hessian,
    )


def _isolated_points(derivation: Derivation) -> list[CriticalPoint]:
    points = []
    for p in derivation.critical_points:
        if p.free:
            continue
        try:
            coords = p.as_floats()
        except (TypeError, ValueError):
            continue
        if all(math.isfinite(c) for c in coords):
            points.append(p)
    return points


def _hessian_function(derivation: Derivation) -> Callable[..., Any]:
    """The Hessian as a numeric function: one matrix for every point when it is constant (no
    code to generate: 10⁴ entries for 100 variables), else generated on first use."""
    import numpy as np

    n = len(derivation.variables)
    if derivation.hessian_is_constant:
        constant = np.array(derivation.hessian.evalf(), dtype=float).reshape(n, n)
        return lambda *point: constant
    generated: list[Callable[..., Any]] = []

    def hessian(*point: float) -> Any:
        if not generated:
            from symgd.expr.lambdify import lambdify_numpy

            rows = tuple(tuple(derivation.hessian[i, j] for j in range(n)) for i in range(n))
            generated.append(lambdify_numpy(derivation.variables, rows))
        return generated[0](*point)

    return hessian
