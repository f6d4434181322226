"""Critical points: an exact solve when the gradient is polynomial (bounded in time), a numeric
multi-start Newton search otherwise, each point classified by the Hessian's eigenvalues."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symgd.base.i18n import _
from symgd.base.limits import BudgetExceeded, ChildError, run_bounded
from symgd.calculus.newton import numeric_search
from symgd.calculus.points import CriticalPoint, eigenvalues_numeric, kind_of, point_sort_key, tidy
from symgd.calculus.polynomial import (
    MAX_EXACT_DEGREE,
    polynomial_degree,
    solve_linear,
    solve_polynomial_system,
    zero_set_form,
)
from symgd.expr.activations import to_elementary
from symgd.expr.problem import Problem

#: nor on one that is not linear, in more variables than this
MAX_SOLVE_VARIABLES = 10


def is_polynomial_system(problem: Problem, gradient: Sequence[sp.Expr]) -> bool:
    return all(g.is_polynomial(*problem.variables) for g in gradient) and not problem.parameters


def find_critical_points(
    problem: Problem, gradient: tuple[sp.Expr, ...], hessian: sp.Matrix, timeout: float
) -> tuple[tuple[CriticalPoint, ...], bool, list[str], bool]:
    """(the points, whether they are all of them, notes, whether a cap cut the list)."""
    notes: list[str] = []
    exact: list[CriticalPoint] = []
    polynomial = is_polynomial_system(problem, gradient)
    solved = False
    degree = (
        max(polynomial_degree(zero_set_form(g), set(problem.variables)) for g in gradient)
        if polynomial
        else MAX_EXACT_DEGREE + 1
    )
    try:
        if polynomial and degree > MAX_EXACT_DEGREE:
            notes.append(
                _(
                    "The gradient has degree {degree}, more than the exact solver takes on "
                    "({most}); a numeric search was used."
                ).format(degree=degree, most=MAX_EXACT_DEGREE)
            )
        elif degree > 1 and len(problem.variables) > MAX_SOLVE_VARIABLES:
            notes.append(
                _(
                    "The exact solver is not tried on a gradient that is not linear in "
                    "more than {most} variables; a numeric search was used."
                ).format(most=MAX_SOLVE_VARIABLES)
            )
        else:
            exact = run_bounded(
                _exact_points, problem, gradient, hessian, polynomial, seconds=timeout
            )
            solved = True
    except BudgetExceeded:
        notes.append(
            _("The exact solver gave up after {seconds} s; a numeric search was used.").format(
                seconds=f"{timeout:g}"
            )
        )
    except ChildError as exc:
        if polynomial:
            first_line = str(exc).splitlines()[0]
            notes.append(
                _("The exact solver failed ({why}); a numeric search was used.").format(
                    why=first_line
                )
            )
    if problem.parameters:
        notes.append(_("The function has parameters; its critical points depend on them."))
        return tuple(exact), solved and polynomial, notes, False
    if solved and polynomial:
        return tuple(exact), True, notes, False
    if not polynomial:
        notes.append(
            _(
                "The gradient is not polynomial, so no exact method is sure to find every "
                "critical point; a numeric multi-start search over the box [-5, 5] looked for "
                "more."
            )
        )
    search = numeric_search(problem, gradient, hessian, exact)
    if search.capped:
        notes.append(
            _(
                "The numeric search found {found} critical points; the {listed} that matter "
                "most are listed (minima first, lowest f first, then saddles, then maxima)."
            ).format(found=search.found, listed=len(search.points))
        )
    return tuple(exact) + search.points, False, notes, search.capped


def _exact_points(
    problem: Problem, gradient: tuple[sp.Expr, ...], hessian: sp.Matrix, polynomial: bool
) -> list[CriticalPoint]:
    """Runs in the child: solve ∇f = 0 exactly, tidy the solutions and classify them."""
    xs = problem.variables
    solutions: list[dict[sp.Symbol, sp.Expr]] | None = None
    if polynomial:
        reduced = [zero_set_form(g) for g in gradient]
        if all(polynomial_degree(g, set(xs)) <= 1 for g in reduced):
            solutions = solve_linear(reduced, xs)
        else:
            solutions = solve_polynomial_system(reduced, xs)
    if solutions is None:
        system = [to_elementary(g) for g in gradient]
        solutions = sp.solve(system, list(xs), dict=True)
    points: list[CriticalPoint] = []
    seen: set[tuple[sp.Expr, ...]] = set()
    for solution in solutions:
        raw = tuple(solution.get(v, v) for v in xs)
        tidied = tuple(_tidy_coordinate(c) for c in raw)
        if any(c is None for c in tidied):
            continue
        coords = tuple(c for c in tidied if c is not None)
        if coords in seen:
            continue
        seen.add(coords)
        free = tuple(sorted((v for v in xs if v not in solution), key=lambda s: s.name))
        exact_mapping = dict(zip(xs, raw, strict=True))
        if not free and not _gradient_vanishes(gradient, exact_mapping):
            continue
        numeric = any(isinstance(c, sp.Float) for c in coords)
        if numeric:
            high = {v: sp.Float(sp.re(c.evalf(40)), 40) for v, c in exact_mapping.items()}
            value: sp.Expr = sp.Float(tidy(float(problem.expr.xreplace(high).evalf(30))), 12)
            eigenvalues = eigenvalues_numeric(sp.Matrix(hessian.xreplace(high)))
            values = tuple(sp.Float(tidy(v), 12) for v in eigenvalues)
            kind = kind_of(eigenvalues, singular=False)
        else:
            mapping = dict(zip(xs, coords, strict=True))
            value = problem.expr.xreplace(mapping)
            if _small(value):
                value = sp.simplify(value)
            values, kind = _classify_exact(sp.Matrix(hessian.xreplace(mapping)), free)
        points.append(CriticalPoint(coords, value, values, kind, True, free))
    points.sort(key=point_sort_key)
    return points


def _tidy_coordinate(value: sp.Expr) -> sp.Expr | None:
    """Keep short closed forms; turn unwieldy radicals into 15-digit decimals; drop complex."""
    if value.free_symbols - {s for s in value.free_symbols if s.is_real}:
        return None
    if value.free_symbols:
        return value
    if not value.has(sp.I) and not value.has(sp.CRootOf) and len(str(value)) <= 60:
        return value if _is_real(value) else None
    number = complex(value.evalf(40))
    if abs(number.imag) > 1e-25 * max(1.0, abs(number.real)):
        return None
    return sp.Float(0 if abs(number.real) < 1e-14 else number.real, 15)


def _is_real(value: sp.Expr) -> bool:
    if value.is_real is not None:
        return bool(value.is_real)
    if value.free_symbols:
        return True
    try:
        number = complex(value.evalf(30))
    except (TypeError, ValueError):
        return False
    return abs(number.imag) <= 1e-20 * max(1.0, abs(number.real))


def _gradient_vanishes(gradient: Sequence[sp.Expr], mapping: dict[sp.Symbol, sp.Expr]) -> bool:
    for g in gradient:
        try:
            value = complex(to_elementary(g).xreplace(mapping).evalf(30))
        except (TypeError, ValueError):
            return False
        if abs(value) > 1e-12:
            return False
    return True


def _small(expr: sp.Expr) -> bool:
    return bool(sp.count_ops(expr) < 60)


def _classify_exact(
    matrix: sp.Matrix, free: tuple[sp.Symbol, ...]
) -> tuple[tuple[sp.Expr, ...], str]:
    """Eigenvalues (exact when cheap, else 15-digit floats) and the kind they imply."""
    n = matrix.shape[0]
    if matrix.free_symbols:
        numeric = eigenvalues_numeric(matrix.subs(dict.fromkeys(matrix.free_symbols, 0)))
        values: tuple[sp.Expr, ...] = tuple(sp.Float(v, 12) for v in numeric)
        return values, "degenerate" if free else kind_of(numeric, singular=False)
    singular = _is_singular(matrix)
    if n <= 2 or matrix.is_diagonal():
        try:
            exact = [ev for ev, count in matrix.eigenvals().items() for _copy in range(count)]
            exact.sort(key=lambda v: float(sp.re(v.evalf(30))))
            values = tuple(sp.nsimplify(v) if v.is_Rational else sp.radsimp(v) for v in exact)
            numeric = [float(sp.re(v.evalf(30))) for v in exact]
            return values, "degenerate" if free else kind_of(numeric, singular, exact=True)
        except (NotImplementedError, sp.MatrixError):
            pass
    numeric = eigenvalues_numeric(matrix)
    rational = all(entry.is_Rational for entry in matrix)
    return tuple(sp.Float(v, 12) for v in numeric), "degenerate" if free else kind_of(
        numeric, singular, exact=rational and not singular
    )


def _is_singular(matrix: sp.Matrix) -> bool:
    """Whether a constant matrix is singular: exactly by rank over the rationals, by the
    determinant when small, else left to the numeric eigenvalues (False here)."""
    n = matrix.shape[0]
    if all(entry.is_Rational for entry in matrix):
        from sympy.polys.matrices import DomainMatrix

        return bool(int(DomainMatrix.from_Matrix(matrix).convert_to(sp.QQ).rank()) < n)
    return bool(n <= 6 and matrix.det() == 0)
