"""Problem → :class:`Derivation`: gradient, total differential, Hessian, critical points.

Critical points come from an exact ``solve`` when the gradient is polynomial, run in a killable
child process under a time budget. Anything else (transcendental systems, a timeout, a solver
error) falls back to a numeric multi-start Newton search whose points are marked ``exact=False``;
``critical_points_complete`` is true only when an exact polynomial solve finished, because SymPy
silently drops whole branches of transcendental systems.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.errors import ExpressionError, InputError
from symgd.expr.activations import ceiling, floor, to_elementary
from symgd.base.limits import BudgetExceeded, ChildError, run_bounded
from symgd.expr.parser import Problem, parse, to_text

KINDS = ("minimum", "maximum", "saddle", "degenerate")
#: a numeric eigenvalue this small (relative to the largest) counts as zero
ZERO_EIGENVALUE = 1e-9
#: numeric search: box half-width, Newton iterations, point budget
SEARCH_RADIUS = 5.0
SEARCH_ITERATIONS = 60
MAX_POINTS = 24
#: the exact solver is not tried on a gradient of higher degree (it would not finish in time)
MAX_EXACT_DEGREE = 40
#: nor on one that is not linear, in more variables than this
MAX_SOLVE_VARIABLES = 10
#: a minor is not expanded to decide its sign above this degree
MAX_EXPAND_DEGREE = 24
#: longest time budget the exact solver may be given (seconds; the command line allows the same)
MAX_TIMEOUT = 600.0


@dataclass(frozen=True)
class CriticalPoint:
    """A point where ∇f = 0, with f's value, the Hessian's eigenvalues and its kind."""

    coordinates: tuple[sp.Expr, ...]
    value: sp.Expr
    eigenvalues: tuple[sp.Expr, ...]
    kind: str
    exact: bool
    free: tuple[sp.Symbol, ...] = ()

    def as_floats(self) -> tuple[float, ...]:
        """The coordinates as floats (only for isolated points)."""
        return tuple(float(c) for c in self.coordinates)


@dataclass(frozen=True)
class Convexity:
    """A verdict on convexity with the one-line reason behind it."""

    verdict: str
    reason: str


@dataclass(frozen=True)
class Derivation:
    """Everything symbolic a lesson needs about f."""

    problem: Problem
    gradient: tuple[sp.Expr, ...]
    differentials: tuple[sp.Symbol, ...]
    total_differential: sp.Expr
    hessian: sp.ImmutableMatrix
    critical_points: tuple[CriticalPoint, ...]
    critical_points_complete: bool
    convexity: Convexity
    notes: tuple[str, ...] = ()

    @property
    def variables(self) -> tuple[sp.Symbol, ...]:
        return self.problem.variables

    @property
    def expr(self) -> sp.Expr:
        return self.problem.expr

    @property
    def hessian_is_constant(self) -> bool:
        return not (self.hessian.free_symbols & set(self.variables))

    def _repr_latex_(self) -> str:
        grad = r"\\".join(sp.latex(g) for g in self.gradient)
        return (
            rf"$\displaystyle \nabla f = \begin{{pmatrix}}{grad}\end{{pmatrix}},\quad "
            rf"H = {sp.latex(self.hessian)}$"
        )


def derive(
    f: str | sp.Expr | Problem,
    variables: Sequence[str] | None = None,
    *,
    timeout: float = 5.0,
    analyse: bool = True,
) -> Derivation:
    """Differentiate ``f`` exactly and find and classify its critical points.

    ``timeout`` bounds the exact solver (seconds); ``analyse=False`` skips critical points and
    convexity (just the derivatives, e.g. for large n).
    """
    if (isinstance(timeout, bool) or not isinstance(timeout, int | float)
            or not 0 < timeout <= MAX_TIMEOUT):
        raise InputError(f"the timeout must be a number of seconds above 0 and at most "
                         f"{MAX_TIMEOUT:g}, got {timeout!r}")
    problem = f if isinstance(f, Problem) else parse(f, variables)
    xs = problem.variables
    if not problem.expr.free_symbols & set(xs):
        raise InputError("the function is constant: it does not depend on any of its variables")
    gradient = partial_derivatives(problem.expr, xs)
    raw_hessian = sp.Matrix([partial_derivatives(g, xs) for g in gradient])
    hessian = _without_dirac(raw_hessian)
    differentials = _differential_symbols(problem)
    total = sp.Add(*(g * d for g, d in zip(gradient, differentials, strict=True)))
    notes: list[str] = []
    jumps = nonsmooth_notes(problem.expr, xs)
    if hessian != raw_hessian:
        notes.append("The Hessian is shown away from the kinks and jumps (abs, relu, sign, "
                     "Heaviside), where it is undefined." if jumps else
                     "The Hessian is shown away from the kinks of relu/abs, where it is "
                     "undefined.")
    notes.extend(jumps)
    if analyse:
        # away from the jumps of sign/Heaviside their derivative is 0: solve that gradient
        flat = tuple(_drop_dirac(g) for g in gradient)
        budget = 2 * timeout + 2
        try:
            points, complete, point_notes, convexity = run_bounded(
                _analyse, problem, flat, hessian, timeout, seconds=budget
            )
        except BudgetExceeded as exc:
            points, complete = (), False
            point_notes = [f"The search for critical points was stopped ({exc})."]
            convexity = Convexity("unknown", f"The analysis ran out of time ({budget:g} s).")
        except ChildError as exc:
            points, complete = (), False
            point_notes = ["The search for critical points failed "
                           f"({str(exc).splitlines()[0]})."]
            convexity = Convexity("unknown", "The analysis failed before reaching a verdict.")
        notes.extend(point_notes)
        if jumps and convexity.verdict not in ("neither", "unknown"):
            convexity = Convexity(
                "unknown", "f contains a function that jumps (see the notes); the Hessian does "
                           "not see jumps, so it cannot tell whether f is convex.")
    else:
        points, complete = (), False
        convexity = Convexity("unknown", "Not analysed.")
    return Derivation(
        problem=problem,
        gradient=gradient,
        differentials=differentials,
        total_differential=total,
        hessian=sp.ImmutableMatrix(hessian),
        critical_points=points,
        critical_points_complete=complete,
        convexity=convexity,
        notes=tuple(notes),
    )


# -- pieces -----------------------------------------------------------------------------------


def _differential_symbols(problem: Problem) -> tuple[sp.Symbol, ...]:
    taken = {s.name for s in problem.expr.free_symbols} | {v.name for v in problem.variables}
    result = []
    for v in problem.variables:
        name = f"d{v.name}"
        while name in taken:
            name = f"d_{name}"
        result.append(sp.Symbol(name, real=True))
    return tuple(result)


def partial_derivatives(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> tuple[sp.Expr, ...]:
    """``sp.diff(expr, v)`` for each v, the same expressions, but a long sum is split once by
    the variables its terms contain instead of being walked once per variable (a sum over 100
    variables: 10,000 walks become 100)."""
    if not isinstance(expr, sp.Add):
        present = expr.free_symbols
        result = tuple(sp.diff(expr, v) if v in present else sp.S.Zero for v in variables)
    else:
        by_variable: dict[sp.Symbol, list[sp.Expr]] = {v: [] for v in variables}
        for term in expr.args:
            for symbol in term.free_symbols:
                if symbol in by_variable:
                    by_variable[symbol].append(term)
        result = tuple(sp.diff(sp.Add(*by_variable[v]), v) if by_variable[v] else sp.S.Zero
                       for v in variables)
    for v, derivative in zip(variables, result, strict=True):
        if derivative.has(sp.Derivative):
            left = next(iter(derivative.atoms(sp.Derivative)))
            raise ExpressionError(f"SymPy cannot differentiate {_short(to_text(left.expr))} "
                                  f"with respect to {v.name}")
    return result


#: functions that jump; their derivative is 0 away from the jumps
_JUMPS: dict[type, str] = {floor: "an integer", ceiling: "an integer", sp.sign: "0",
                           sp.Heaviside: "0"}


def nonsmooth_notes(expr: sp.Expr, variables: Sequence[sp.Symbol] = ()) -> tuple[str, ...]:
    """Plain notes on the parts of ``expr`` that jump (``floor``, ``ceil``, ``sign``,
    ``Heaviside``), for a lesson to show: flat between jumps, so their derivative is 0 there
    and does not exist at a jump, and gradient descent feels no pull from them. Parts that
    do not involve ``variables`` (all of the expression's names when empty) are left out."""
    wanted = set(variables) or expr.free_symbols
    notes: list[str] = []
    for node in sp.preorder_traversal(expr):
        where = next((w for cls, w in _JUMPS.items() if isinstance(node, cls)), None)
        if where is None or not node.args[0].free_symbols & wanted:
            continue
        call = _short(to_text(node))
        argument = _short(to_text(node.args[0]))
        note = (f"{call} jumps where {argument} crosses {where} and is flat elsewhere: its "
                f"derivative is 0 away from the jumps and does not exist at them, so gradient "
                f"descent feels no pull from it.")
        if note not in notes:
            notes.append(note)
        if len(notes) >= 4:
            break
    return tuple(notes)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _drop_dirac(expr: sp.Expr) -> sp.Expr:
    """``expr`` with DiracDelta terms (derivatives of steps, at their jumps) taken as 0."""
    if not expr.has(sp.DiracDelta):
        return expr
    return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def _without_dirac(matrix: sp.Matrix) -> sp.Matrix:
    """Drop DiracDelta terms (second derivatives of relu/abs at their kink)."""
    if not matrix.has(sp.DiracDelta):
        return matrix
    return matrix.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def _is_polynomial_system(problem: Problem, gradient: Sequence[sp.Expr]) -> bool:
    return all(g.is_polynomial(*problem.variables) for g in gradient) and not problem.parameters


def _analyse(
    problem: Problem, gradient: tuple[sp.Expr, ...], hessian: sp.Matrix, timeout: float
) -> tuple[tuple[CriticalPoint, ...], bool, list[str], Convexity]:
    """Runs in a child: critical points (exact solve bounded by ``timeout``) and convexity."""
    points, complete, notes = _critical_points(problem, gradient, hessian, timeout)
    return points, complete, notes, _convexity(problem, hessian)


def _critical_points(
    problem: Problem, gradient: tuple[sp.Expr, ...], hessian: sp.Matrix, timeout: float
) -> tuple[tuple[CriticalPoint, ...], bool, list[str]]:
    notes: list[str] = []
    exact: list[CriticalPoint] = []
    polynomial = _is_polynomial_system(problem, gradient)
    solved = False
    degree = max(_degree(_zero_set_form(g), set(problem.variables)) for g in gradient) \
        if polynomial else MAX_EXACT_DEGREE + 1
    try:
        if polynomial and degree > MAX_EXACT_DEGREE:
            notes.append(f"The gradient has degree {degree}, more than the exact solver takes on "
                         f"({MAX_EXACT_DEGREE}); a numeric search was used.")
        elif degree > 1 and len(problem.variables) > MAX_SOLVE_VARIABLES:
            notes.append(f"The exact solver is not tried on a gradient that is not linear in "
                         f"more than {MAX_SOLVE_VARIABLES} variables; a numeric search was used.")
        else:
            exact = run_bounded(
                _exact_points, problem, gradient, hessian, polynomial, seconds=timeout
            )
            solved = True
    except BudgetExceeded:
        notes.append(f"The exact solver gave up after {timeout:g} s; a numeric search was used.")
    except ChildError as exc:
        if polynomial:
            first_line = str(exc).splitlines()[0]
            notes.append(f"The exact solver failed ({first_line}); a numeric search was used.")
    if problem.parameters:
        notes.append("The function has parameters; its critical points depend on them.")
        return tuple(exact), solved and polynomial, notes
    if solved and polynomial:
        return tuple(exact), True, notes
    if not polynomial:
        notes.append(
            "The gradient is not polynomial, so no exact method is sure to find every critical "
            "point; a numeric multi-start search over the box [-5, 5] looked for more."
        )
    numeric = _numeric_points(problem, gradient, hessian, exact)
    return tuple(exact) + numeric, False, notes


def _exact_points(
    problem: Problem, gradient: tuple[sp.Expr, ...], hessian: sp.Matrix, polynomial: bool
) -> list[CriticalPoint]:
    """Runs in the child: solve ∇f = 0 exactly, tidy the solutions and classify them."""
    xs = problem.variables
    solutions: list[dict[sp.Symbol, sp.Expr]] | None = None
    if polynomial:
        reduced = [_zero_set_form(g) for g in gradient]
        if all(_degree(g, set(xs)) <= 1 for g in reduced):
            solutions = _solve_linear(reduced, xs)
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
            value: sp.Expr = sp.Float(_tidy(float(problem.expr.xreplace(high).evalf(30))), 12)
            eigenvalues = _eigenvalues_numeric(sp.Matrix(hessian.xreplace(high)))
            values = tuple(sp.Float(_tidy(v), 12) for v in eigenvalues)
            kind = _kind(eigenvalues, singular=False)
        else:
            mapping = dict(zip(xs, coords, strict=True))
            value = problem.expr.xreplace(mapping)
            if _small(value):
                value = sp.simplify(value)
            values, kind = _classify_exact(sp.Matrix(hessian.xreplace(mapping)), free)
        points.append(CriticalPoint(coords, value, values, kind, True, free))
    points.sort(key=_point_sort_key)
    return points


def _zero_set_form(polynomial: sp.Expr) -> sp.Expr:
    """A polynomial with the same zeros and no repeated factors where they show: the constant
    factor dropped and each power of a factor replaced by the factor (``1000·(x+1)**999`` →
    ``x + 1``), so that nothing is expanded in vain."""
    factors = sp.Mul.make_args(polynomial)
    kept = [f.base if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp > 0 else f
            for f in factors if not f.is_number]
    if not kept:
        return polynomial
    return sp.Mul(*kept)


def _degree(expr: sp.Expr, variables: set[sp.Symbol]) -> int:
    """The total degree of a polynomial in ``variables``, read from its structure (no
    expansion): sums take the largest, products add, powers multiply."""
    if not expr.free_symbols & variables:
        return 0
    if expr.is_Symbol:
        return 1
    if isinstance(expr, sp.Add):
        return max(_degree(a, variables) for a in expr.args)
    if isinstance(expr, sp.Mul):
        return sum(_degree(a, variables) for a in expr.args)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return _degree(expr.base, variables) * int(expr.exp)
    return MAX_EXACT_DEGREE + 1  # not a polynomial


def _expanded_degree(expr: sp.Expr) -> int:
    """The degree ``expr`` would have once expanded, each function call or fractional power
    counted as one more variable (``(x + exp(y))**30`` → 30): what expanding it costs."""
    if not expr.free_symbols:
        return 0
    if isinstance(expr, sp.Add):
        return max(_expanded_degree(a) for a in expr.args)
    if isinstance(expr, sp.Mul):
        return sum(_expanded_degree(a) for a in expr.args)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return _expanded_degree(expr.base) * int(expr.exp)
    return 1


def _solve_linear(
    polynomials: Sequence[sp.Expr], variables: Sequence[sp.Symbol]
) -> list[dict[sp.Symbol, sp.Expr]]:
    """The solutions of a linear system (none, one, or a family with free variables)."""
    found = sp.linsolve(list(polynomials), list(variables))
    if not isinstance(found, sp.FiniteSet) or not found.args:
        return []
    (values,) = found.args
    return [{v: value for v, value in zip(variables, values, strict=True) if value != v}]


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


def solve_polynomial_system(
    polynomials: Sequence[sp.Expr], variables: Sequence[sp.Symbol]
) -> list[dict[sp.Symbol, sp.Expr]] | None:
    """All real solutions of a zero-dimensional polynomial system, or ``None`` otherwise.

    A lex Gröbner basis triangularises the system; the last variable's real roots come from
    ``real_roots`` (complete, exact), and the other coordinates by back-substitution, exactly
    when the root is rational and to 30 digits otherwise. ``sympy.solve`` is not used here
    because it silently drops roots it cannot write in radicals (Himmelblau's saddles).
    """
    xs = list(variables)
    basis = sp.groebner([sp.expand(p) for p in polynomials], *xs, order="lex")
    if list(basis.exprs) == [1]:
        return []
    if not basis.is_zero_dimensional:
        return None
    partial: list[dict[sp.Symbol, sp.Expr]] = [{}]
    for index in range(len(xs) - 1, -1, -1):
        variable = xs[index]
        later = set(xs[index + 1 :])
        grown: list[dict[sp.Symbol, sp.Expr]] = []
        for known in partial:
            relevant = [
                g for g in basis.exprs
                if variable in g.free_symbols and g.free_symbols <= later | {variable}
            ]
            for root in _real_roots_after(relevant, variable, known):
                grown.append({**known, variable: root})
        partial = grown
    return partial


def _real_roots_after(
    polynomials: Sequence[sp.Expr], variable: sp.Symbol, known: dict[sp.Symbol, sp.Expr]
) -> list[sp.Expr]:
    substituted = [sp.expand(p.subs(known)) for p in polynomials]
    substituted = [p for p in substituted if p != 0]
    if not substituted:
        return []
    if all(isinstance(v, sp.Rational) for v in known.values()):
        common = substituted[0]
        for p in substituted[1:]:
            common = sp.gcd(common, p)
        poly = sp.Poly(common, variable)
        if poly.degree() <= 0:
            return []
        roots: list[sp.Expr] = []
        for factor, _ in sp.factor_list(poly)[1]:
            if factor.degree() <= 2:
                roots.extend(r for r in sp.roots(factor, filter="R"))
            else:
                roots.extend(factor.real_roots())
        return sorted(set(roots), key=lambda r: float(r.evalf(30)))
    return _numeric_roots(substituted, variable)


def _numeric_roots(polynomials: Sequence[sp.Expr], variable: sp.Symbol) -> list[sp.Expr]:
    """Real roots of the lowest-degree polynomial that make every polynomial vanish."""
    import mpmath

    numeric = [sp.Poly(sp.N(p, 40), variable) for p in polynomials]
    numeric = [p for p in numeric if p.degree() > 0]
    if not numeric:
        return []
    numeric.sort(key=lambda p: p.degree())
    coefficients = [mpmath.mpf(str(c)) for c in numeric[0].all_coeffs()]
    with mpmath.workdps(40):
        candidates = mpmath.polyroots(coefficients, maxsteps=200, extraprec=200)
    roots = []
    for candidate in candidates:
        if abs(mpmath.im(candidate)) > mpmath.mpf(10) ** -20 * max(1, abs(candidate)):
            continue
        value = sp.Float(str(mpmath.re(candidate)), 40)
        if all(abs(p.eval(value)) < 1e-15 * max(1.0, float(max(abs(c) for c in p.coeffs())))
               for p in numeric[1:]):
            roots.append(value)
    return roots


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
    return sp.count_ops(expr) < 60


def _classify_exact(
    matrix: sp.Matrix, free: tuple[sp.Symbol, ...]
) -> tuple[tuple[sp.Expr, ...], str]:
    """Eigenvalues (exact when cheap, else 15-digit floats) and the kind they imply."""
    n = matrix.shape[0]
    if matrix.free_symbols:
        numeric = _eigenvalues_numeric(matrix.subs(dict.fromkeys(matrix.free_symbols, 0)))
        values: tuple[sp.Expr, ...] = tuple(sp.Float(v, 12) for v in numeric)
        return values, "degenerate" if free else _kind(numeric, singular=False)
    singular = _is_singular(matrix)
    if n <= 2 or matrix.is_diagonal():
        try:
            exact = [
                ev for ev, multiplicity in matrix.eigenvals().items() for _ in range(multiplicity)
            ]
            exact.sort(key=lambda v: float(sp.re(v.evalf(30))))
            values = tuple(sp.nsimplify(v) if v.is_Rational else sp.radsimp(v) for v in exact)
            numeric = [float(sp.re(v.evalf(30))) for v in exact]
            return values, "degenerate" if free else _kind(numeric, singular)
        except (NotImplementedError, sp.MatrixError):
            pass
    numeric = _eigenvalues_numeric(matrix)
    return tuple(sp.Float(v, 12) for v in numeric), "degenerate" if free else _kind(
        numeric, singular
    )


def _is_singular(matrix: sp.Matrix) -> bool:
    """Whether a constant matrix is singular: exactly by rank over the rationals, by the
    determinant when small, else left to the numeric eigenvalues (False here)."""
    n = matrix.shape[0]
    if all(entry.is_Rational for entry in matrix):
        from sympy.polys.matrices import DomainMatrix

        return int(DomainMatrix.from_Matrix(matrix).convert_to(sp.QQ).rank()) < n
    return n <= 6 and matrix.det() == 0


def _eigenvalues_numeric(matrix: sp.Matrix) -> list[float]:
    array = np.array(matrix.evalf(30).tolist(), dtype=float)
    return sorted(float(v) for v in np.linalg.eigvalsh((array + array.T) / 2))


def _kind(eigenvalues: Sequence[float], singular: bool) -> str:
    scale = max([1.0, *(abs(v) for v in eigenvalues)])
    if singular or any(abs(v) <= ZERO_EIGENVALUE * scale for v in eigenvalues):
        return "degenerate"
    if all(v > 0 for v in eigenvalues):
        return "minimum"
    if all(v < 0 for v in eigenvalues):
        return "maximum"
    return "saddle"


def _point_sort_key(point: CriticalPoint) -> tuple[Any, ...]:
    try:
        return (0, tuple(float(c) for c in point.coordinates))
    except (TypeError, ValueError):
        return (1, tuple(str(c) for c in point.coordinates))


def _numeric_points(
    problem: Problem,
    gradient: tuple[sp.Expr, ...],
    hessian: sp.Matrix,
    known: Sequence[CriticalPoint],
) -> tuple[CriticalPoint, ...]:
    """Multi-start damped Newton on ∇f = 0 over a box, deduplicated against ``known``."""
    from symgd.numeric.codegen import compile_functions

    n = len(problem.variables)
    compiled = compile_functions(problem.expr, problem.variables, gradient, hessian)
    hessian_at = _hessian_function(problem.variables, hessian)
    starts = _search_starts(n)
    found = _newton_batch(compiled, starts, hessian_at)
    known_coordinates = [
        np.array(p.as_floats()) for p in known if not p.free
    ]
    points: list[CriticalPoint] = []
    for x in found:
        if any(np.allclose(x, k, atol=1e-6) for k in known_coordinates):
            continue
        known_coordinates.append(x)
        h = hessian_at(x[None, :])[0]
        eigenvalues = sorted(float(v) for v in np.linalg.eigvalsh((h + h.T) / 2))
        value = float(compiled.value_at(x[None, :])[0])
        points.append(
            CriticalPoint(
                coordinates=tuple(sp.Float(_tidy(c), 12) for c in x),
                value=sp.Float(_tidy(value), 12),
                eigenvalues=tuple(sp.Float(_tidy(v), 12) for v in eigenvalues),
                kind=_kind(eigenvalues, singular=False),
                exact=False,
            )
        )
        if len(points) >= MAX_POINTS:
            break
    points.sort(key=_point_sort_key)
    return tuple(points)


def _tidy(value: float) -> float:
    """Round away solver noise: 1e-17 → 0, 1.3095...e0 kept to 12 digits."""
    return 0.0 if abs(value) < 1e-11 else float(f"{value:.12g}")


def _search_starts(n: int) -> np.ndarray:
    """A grid over the box for few variables, plus seeded random points."""
    rng = np.random.default_rng(0)
    per_axis = {1: 41, 2: 17, 3: 7, 4: 5}.get(n, 0)
    grids = []
    if per_axis:
        axis = np.linspace(-SEARCH_RADIUS, SEARCH_RADIUS, per_axis)
        grids.append(np.array(list(itertools.product(axis, repeat=n)), dtype=float))
    count = 200 if n <= 4 else max(50, 2000 // n)
    grids.append(rng.uniform(-SEARCH_RADIUS, SEARCH_RADIUS, size=(count, n)))
    return np.concatenate(grids)


def _hessian_function(
    variables: Sequence[sp.Symbol], hessian: sp.Matrix
) -> Callable[[np.ndarray], np.ndarray]:
    """Points ``(N, n)`` → Hessians ``(N, n, n)``: the constant entries are set once and the
    others come from one numpy function, written into the array in one assignment."""
    from symgd.numeric.codegen import lambdify_numpy

    n = len(variables)
    template = np.zeros((n, n))
    varying: list[tuple[int, int]] = []
    for i in range(n):
        for j in range(n):
            if hessian[i, j].free_symbols:
                varying.append((i, j))
            else:
                template[i, j] = float(hessian[i, j])
    rows = np.array([i for i, _ in varying], dtype=int)
    cols = np.array([j for _, j in varying], dtype=int)
    values = lambdify_numpy(variables, tuple(hessian[i, j] for i, j in varying)) \
        if varying else None

    def evaluate(points: np.ndarray) -> np.ndarray:
        count = points.shape[0]
        out = np.repeat(template[None, :, :], count, axis=0)
        if values is not None:
            computed = values(*points.T)
            out[:, rows, cols] = np.stack(
                [np.broadcast_to(np.asarray(v, dtype=float), (count,)) for v in computed],
                axis=-1)
        return out

    return evaluate


def _newton_steps(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The Newton steps H⁻¹g for a batch: a pseudo-inverse for few variables (robust when H is
    singular); a batched solve for many (a 100×100 pseudo-inverse per start costs seconds),
    with the pseudo-inverse only when some H is singular."""
    if h.shape[1] <= 10:
        return np.einsum("nij,nj->ni", np.linalg.pinv(h, rcond=1e-12), g)
    try:
        return np.linalg.solve(h, g[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return np.einsum("nij,nj->ni", np.linalg.pinv(h, rcond=1e-12), g)


def _newton_batch(
    compiled: Any, starts: np.ndarray, hessian_at: Callable[[np.ndarray], np.ndarray]
) -> list[np.ndarray]:
    """Damped Newton on all starts at once; returns the genuine critical points in the box."""
    x = starts.copy()
    n = x.shape[1]
    active = np.ones(len(x), dtype=bool)  # starts still moving
    with np.errstate(all="ignore"):
        for _ in range(SEARCH_ITERATIONS):
            if not active.any():
                break
            here = x[active]
            g = compiled.gradient_at(here)
            h = hessian_at(here)
            h[~np.isfinite(h).all(axis=(1, 2))] = np.eye(n)
            step = _newton_steps(h, g)
            step[~np.isfinite(step).all(axis=1)] = 0.0
            norm = np.linalg.norm(step, axis=1, keepdims=True)
            moved = here - step * np.minimum(1.0, SEARCH_RADIUS / np.maximum(norm, 1e-300))
            moved[~np.isfinite(moved).all(axis=1)] = np.nan
            x[active] = moved
            # a start whose step no longer changes it (or that left the reals) is done
            settled = (moved == here).all(axis=1) | np.isnan(moved).any(axis=1)
            active[np.flatnonzero(active)[settled]] = False
        g_norm = np.linalg.norm(compiled.gradient_at(x), axis=1)
        ok = np.isfinite(x).all(axis=1) & (g_norm < 1e-9)
        ok &= (np.abs(x) <= SEARCH_RADIUS + 1e-9).all(axis=1)
        x, g_norm = x[ok], g_norm[ok]
        # A plateau (a saturated sigmoid, say) has a tiny gradient everywhere nearby; a real
        # critical point has a gradient that grows as soon as one steps away from it.
        delta = 1e-4 * (1.0 + np.abs(x))
        nearby = np.zeros_like(g_norm)
        for axis in range(n):
            shifted = x.copy()
            shifted[:, axis] += delta[:, axis]
            nearby = np.maximum(nearby, np.linalg.norm(compiled.gradient_at(shifted), axis=1))
        genuine = nearby > 100 * g_norm + 1e-13
    return list(x[genuine])


def _convexity(problem: Problem, hessian: sp.Matrix) -> Convexity:
    xs = problem.variables
    n = len(xs)
    if problem.parameters:
        return Convexity("unknown", "The function has parameters; convexity depends on them.")
    if not (hessian.free_symbols & set(xs)):
        numeric = _eigenvalues_numeric(hessian)
        text = _eigen_text(hessian, numeric)
        scale = max([1.0, *(abs(v) for v in numeric)])
        zero = [abs(v) <= ZERO_EIGENVALUE * scale for v in numeric]
        def constant(kind: str) -> str:
            return f"The Hessian is constant and {kind}, eigenvalues{text}."

        if all(v > 0 for v in numeric) and not any(zero):
            return Convexity("strictly convex", constant("positive definite"))
        if all(v < 0 for v in numeric) and not any(zero):
            return Convexity("strictly concave", constant("negative definite"))
        if all(v > 0 or z for v, z in zip(numeric, zero, strict=True)):
            return Convexity("convex", constant("positive semidefinite"))
        if all(v < 0 or z for v, z in zip(numeric, zero, strict=True)):
            return Convexity("concave", constant("negative semidefinite"))
        return Convexity("neither", f"The Hessian is constant, eigenvalues of both signs{text}.")
    witness = _sign_witness(problem, hessian)
    if witness is not None:
        return witness
    proven = _prove_definite(hessian, n)
    if proven is not None:
        return proven
    return Convexity(
        "unknown",
        "The Hessian was positive semidefinite (or negative semidefinite) at every sampled point, "
        "but symgd could not prove it everywhere.",
    )


def _eigen_text(hessian: sp.Matrix, numeric: Sequence[float]) -> str:
    if hessian.shape[0] <= 2:
        try:
            values = [v for v, m in hessian.eigenvals().items() for _ in range(m)]
            values.sort(key=lambda v: float(v.evalf()))
            return ": " + _join(str(v) for v in values)
        except (NotImplementedError, sp.MatrixError):
            pass
    return ": " + _join(f"{v:.6g}" for v in numeric)


def _join(items: Any) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sign_witness(problem: Problem, hessian: sp.Matrix) -> Convexity | None:
    """Sample the Hessian; a point with mixed-sign eigenvalues, or curvature of both signs
    at two points, proves the function is neither convex nor concave."""
    from symgd.numeric.codegen import compile_functions

    xs = problem.variables
    n = len(xs)
    compiled = compile_functions(problem.expr, xs, None, hessian)
    per_axis = {1: 9, 2: 5, 3: 5}.get(n, 3 if n <= 6 else 0)
    axis = np.arange(per_axis) - per_axis // 2 if per_axis else np.zeros(0)
    samples = [np.array(list(itertools.product(axis, repeat=n)), dtype=float)] if per_axis else []
    samples.append(np.random.default_rng(1).uniform(-3, 3, size=(300, n)))
    points = np.concatenate(samples).reshape(-1, n)
    with np.errstate(all="ignore"):
        h = compiled.hessian_at(points)
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
        return Convexity("neither", f"The Hessian has eigenvalues of both signs at {where}.")
    neg_at, pos_at = np.flatnonzero(has_neg), np.flatnonzero(has_pos)
    if neg_at.size and pos_at.size:
        return Convexity(
            "neither",
            f"The curvature is positive at {_format_point(points[pos_at[0]])} "
            f"but negative at {_format_point(points[neg_at[0]])}.",
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
            "strictly convex", "Every leading minor of the Hessian is positive everywhere."
        )
    if all(_sign(((-1) ** (k + 1)) * m, positive=True) for k, m in enumerate(minors)):
        return Convexity(
            "strictly concave", "The leading minors of the Hessian alternate in sign everywhere."
        )
    if all(_sign(m, positive=False) for m in principal):
        return Convexity(
            "convex", "Every principal minor of the Hessian is nonnegative everywhere "
            "(positive semidefinite)."
        )
    signed = [
        ((-1) ** len(idx)) * hessian.extract(list(idx), list(idx)).det()
        for k in range(1, n + 1)
        for idx in itertools.combinations(range(n), k)
    ]
    if all(_sign(m, positive=False) for m in signed):
        return Convexity(
            "concave", "The Hessian is negative semidefinite everywhere (signed principal minors)."
        )
    return None


def _sign(expr: sp.Expr, *, positive: bool) -> bool:
    answer = expr.is_positive if positive else expr.is_nonnegative
    if answer is None and sp.count_ops(expr) < 200 and _expanded_degree(
            expr) <= MAX_EXPAND_DEGREE:
        expr = sp.factor(sp.expand(expr))
        answer = expr.is_positive if positive else expr.is_nonnegative
    return bool(answer)


# -- JSON --------------------------------------------------------------------------------------


def derivation_to_json(d: Derivation) -> dict[str, Any]:
    """The ``symgd derive --json`` shape: expressions as SymPy ``str`` strings."""
    names = [v.name for v in d.variables]
    n = len(names)
    return {
        "input": d.problem.source,
        "expression": to_text(d.expr),
        "latex": sp.latex(d.expr),
        "variables": names,
        "gradient": [to_text(g) for g in d.gradient],
        "total_differential": to_text(d.total_differential),
        "hessian": [[to_text(d.hessian[i, j]) for j in range(n)] for i in range(n)],
        "critical_points": [point_to_json(p, names) for p in d.critical_points],
        "critical_points_complete": d.critical_points_complete,
        "convexity": {"verdict": d.convexity.verdict, "reason": d.convexity.reason},
        "notes": list(d.notes),
    }


def point_to_json(point: CriticalPoint, names: Sequence[str]) -> dict[str, Any]:
    """One critical point in the ``--json`` shape (exact text, or 10-digit decimals)."""
    result: dict[str, Any] = {
        "point": {n: _expr_text(c) for n, c in zip(names, point.coordinates, strict=True)},
        "value": _expr_text(point.value),
        "kind": point.kind,
        "exact": point.exact,
        "eigenvalues": [_expr_text(v) for v in point.eigenvalues],
    }
    if point.free:
        result["free"] = [s.name for s in point.free]
    return result


def _expr_text(expr: sp.Expr) -> str:
    if isinstance(expr, sp.Float):
        return f"{float(expr):.10g}"
    return to_text(expr)
