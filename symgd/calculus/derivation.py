"""Problem → :class:`Derivation`: gradient, total differential, Hessian, critical points.

Critical points come from an exact ``solve`` when the gradient is polynomial, run in a killable
child process under a time budget. Anything else (transcendental systems, a timeout, a solver
error) falls back to a numeric multi-start Newton search whose points are marked ``exact=False``;
``critical_points_complete`` is true only when an exact polynomial solve finished, because SymPy
silently drops whole branches of transcendental systems.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symgd.base.errors import InputError
from symgd.base.i18n import _
from symgd.base.limits import BudgetExceeded, ChildError, run_bounded
from symgd.calculus.convexity import MAX_EXPAND_DEGREE, Convexity, judge_convexity
from symgd.calculus.critical import MAX_SOLVE_VARIABLES, find_critical_points
from symgd.calculus.differentiate import (
    Differentiator,
    dense_matrix,
    drop_dirac,
    jacobian_entries,
    nonsmooth_notes,
    partial_derivatives,
)
from symgd.calculus.facts import Facts, compute_facts, facts_to_json, unknown_facts
from symgd.calculus.kinks import find_kinks
from symgd.calculus.newton import MAX_POINTS, SEARCH_ITERATIONS, SEARCH_RADIUS
from symgd.calculus.points import KINDS, ZERO_EIGENVALUE, CriticalPoint
from symgd.calculus.polynomial import MAX_EXACT_DEGREE, solve_polynomial_system
from symgd.expr.parser import parse
from symgd.expr.problem import Problem, to_text

__all__ = [
    "KINDS",
    "MAX_EXACT_DEGREE",
    "MAX_EXPAND_DEGREE",
    "MAX_POINTS",
    "MAX_SOLVE_VARIABLES",
    "MAX_TIMEOUT",
    "SEARCH_ITERATIONS",
    "SEARCH_RADIUS",
    "ZERO_EIGENVALUE",
    "Convexity",
    "CriticalPoint",
    "Derivation",
    "Facts",
    "derivation_to_json",
    "derive",
    "nonsmooth_notes",
    "partial_derivatives",
    "point_to_json",
    "solve_polynomial_system",
]


#: longest time budget the exact solver may be given (seconds; the command line allows the same)
MAX_TIMEOUT = 600.0


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
    #: facts about f for the prose of a lesson (None when not analysed)
    facts: Facts | None = None

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

    >>> d = derive("x**3 - 3*x")
    >>> d.gradient
    (3*x**2 - 3,)
    >>> [(p.coordinates, p.kind) for p in d.critical_points]
    [((-1,), 'maximum'), ((1,), 'minimum')]
    >>> d.convexity.verdict
    'neither'
    """
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise InputError(
            _(
                "the timeout must be a number of seconds above 0 and at most {most}, got {got}"
            ).format(most=f"{MAX_TIMEOUT:g}", got=repr(timeout))
        )
    problem = f if isinstance(f, Problem) else parse(f, variables)
    xs = problem.variables
    if not problem.expr.free_symbols & set(xs):
        raise InputError(_("the function is constant: it does not depend on any of its variables"))
    differentiator = Differentiator()
    gradient = partial_derivatives(problem.expr, xs, differentiator)
    hessian, dropped = _hessian(gradient, xs, differentiator)
    differentials = _differential_symbols(problem)
    total = sp.Add(*(g * d for g, d in zip(gradient, differentials, strict=True)))
    notes: list[str] = []
    jumps = nonsmooth_notes(problem.expr, xs)
    if dropped:
        notes.append(
            _(
                "The Hessian is shown away from the kinks and jumps (abs, relu, sign, "
                "Heaviside), where it is undefined."
            )
            if jumps
            else _("The Hessian is shown away from the kinks of relu/abs, where it is undefined.")
        )
    notes.extend(jumps)
    facts: Facts | None = None
    if analyse:
        points, complete, point_notes, convexity, facts = _analysed(
            problem, gradient, sp.Matrix(hessian), timeout, bool(jumps)
        )
        notes.extend(point_notes)
    else:
        points, complete = (), False
        convexity = Convexity("unknown", _("Not analysed."))
    return Derivation(
        problem=problem,
        gradient=gradient,
        differentials=differentials,
        total_differential=total,
        hessian=hessian,
        critical_points=points,
        critical_points_complete=complete,
        convexity=convexity,
        notes=tuple(notes),
        facts=facts,
    )


def _hessian(
    gradient: tuple[sp.Expr, ...], xs: tuple[sp.Symbol, ...], differentiator: Differentiator
) -> tuple[sp.ImmutableMatrix, bool]:
    """The Hessian, each entry differentiated once from its gradient entry's own terms, with
    DiracDelta terms (second derivatives of relu/abs at their kink) dropped; and whether any
    were."""
    entries: dict[tuple[int, int], sp.Expr] = {}
    dropped = False
    for i, row in enumerate(jacobian_entries(gradient, xs, differentiator)):
        for j, entry in row.items():
            kept = drop_dirac(entry)
            dropped = dropped or kept != entry
            entries[i, j] = kept
    return dense_matrix(len(xs), entries), dropped


def _analysed(
    problem: Problem,
    gradient: tuple[sp.Expr, ...],
    hessian: sp.Matrix,
    timeout: float,
    jumps: bool,
) -> tuple[tuple[CriticalPoint, ...], bool, list[str], Convexity, Facts]:
    """Critical points, convexity and the facts, found in a child process under a time
    budget; a run out of time or a failure is a note and ``unknown`` verdicts, not an error."""
    # away from the jumps of sign/Heaviside their derivative is 0: solve that gradient
    flat = tuple(drop_dirac(g) for g in gradient)
    budget = 2 * timeout + 2
    try:
        return run_bounded(
            _analyse, problem, flat, hessian, timeout, jumps, budget - 0.5, seconds=budget
        )
    except BudgetExceeded as exc:
        point_notes = [_("The search for critical points was stopped ({why}).").format(why=exc)]
        convexity = Convexity(
            "unknown",
            _("The analysis ran out of time ({seconds} s).").format(seconds=f"{budget:g}"),
        )
    except ChildError as exc:
        point_notes = [
            _("The search for critical points failed ({why}).").format(why=str(exc).splitlines()[0])
        ]
        convexity = Convexity("unknown", _("The analysis failed before reaching a verdict."))
    kinks = find_kinks(problem.expr, problem.variables)
    return (
        (),
        False,
        point_notes,
        convexity,
        unknown_facts(convexity, kinks, _("not decided: the analysis did not finish")),
    )


def _jumps_checked(convexity: Convexity, jumps: bool) -> Convexity:
    if jumps and convexity.verdict not in ("neither", "unknown"):
        return Convexity(
            "unknown",
            _(
                "f contains a function that jumps (see the notes); the Hessian does "
                "not see jumps, so it cannot tell whether f is convex."
            ),
        )
    return convexity


def _differential_symbols(problem: Problem) -> tuple[sp.Symbol, ...]:
    taken = {s.name for s in problem.expr.free_symbols} | {v.name for v in problem.variables}
    result = []
    for v in problem.variables:
        name = f"d{v.name}"
        while name in taken:
            name = f"d_{name}"
        result.append(sp.Symbol(name, real=True))
    return tuple(result)


def _analyse(
    problem: Problem,
    gradient: tuple[sp.Expr, ...],
    hessian: sp.Matrix,
    timeout: float,
    jumps: bool,
    seconds: float,
) -> tuple[tuple[CriticalPoint, ...], bool, list[str], Convexity, Facts]:
    """Runs in a child: critical points (exact solve bounded by ``timeout``), convexity, and
    the facts in what is left of ``seconds`` (``unknown`` facts when they do not finish)."""
    start = time.monotonic()
    kinks = find_kinks(problem.expr, problem.variables, gradient)
    points, complete, notes, capped = find_critical_points(problem, gradient, hessian, timeout)
    convexity = _jumps_checked(judge_convexity(problem, hessian, kinks), jumps)
    left = seconds - (time.monotonic() - start) - 0.25
    try:
        facts, points = run_bounded(
            compute_facts,
            problem,
            gradient,
            hessian,
            points,
            complete,
            capped,
            convexity,
            kinks,
            seconds=max(0.1, left),
        )
    except BudgetExceeded:
        facts = unknown_facts(convexity, kinks, _("not decided within the time budget"))
    except ChildError as exc:
        why = str(exc).splitlines()[0]
        facts = unknown_facts(convexity, kinks, _("not decided: {why}").format(why=why))
    return points, complete, notes, convexity, facts


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
        **({} if d.facts is None else {"facts": facts_to_json(d.facts, names)}),
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
