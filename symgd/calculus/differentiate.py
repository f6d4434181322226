"""Differentiation: the gradient and the Hessian of an expression, and plain notes on what
the derivatives cannot see (the jumps of floor, sign and Heaviside, whose derivatives are Dirac
deltas taken as 0 away from the jumps).

:func:`partial_derivatives` and :func:`jacobian_entries` are what :func:`symgd.derive` shows
(SymPy's own expressions, found by :class:`Differentiator` term by term, so that a sum of n
terms in n variables costs about linear time); :func:`gradient_of` and
:func:`hessian_of` are what the numeric stage compiles (a polynomial in many variables is
differentiated in a sparse ring there, its derivatives expanded).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from symgd.base.errors import ExpressionError
from symgd.base.i18n import N_, _
from symgd.expr.activations import ceiling, floor
from symgd.expr.problem import to_text


def partial_derivatives(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    differentiator: Differentiator | None = None,
) -> tuple[sp.Expr, ...]:
    """``sp.diff(expr, v)`` for each v, the same expressions: a sum is split once by the
    variables its terms contain and each term is differentiated only by those
    (:class:`Differentiator`), so a sum over n variables costs about n term derivatives
    instead of n walks of the whole sum."""
    rows = jacobian_entries([expr], variables, differentiator)
    return tuple(rows[0].get(j, sp.S.Zero) for j in range(len(variables)))


def jacobian_entries(
    exprs: Sequence[sp.Expr],
    variables: Sequence[sp.Symbol],
    differentiator: Differentiator | None = None,
) -> list[dict[int, sp.Expr]]:
    """For each expression, its non-zero ``sp.diff(e, v)`` by the index of v (a sparse row
    of the Jacobian); raises :class:`ExpressionError` where SymPy cannot differentiate."""
    d = differentiator or Differentiator()
    index = {v: j for j, v in enumerate(variables)}
    rows: list[dict[int, sp.Expr]] = []
    for expr in exprs:
        terms = expr.args if type(expr) is sp.Add else (expr,)
        by_variable: dict[int, list[sp.Expr]] = {}
        for term in terms:
            for symbol in d.free(term):
                j = index.get(symbol)
                if j is not None:
                    by_variable.setdefault(j, []).append(term)
        row: dict[int, sp.Expr] = {}
        for j in sorted(by_variable):
            v = variables[j]
            derivative = sp.Add(*(d.diff(term, v) for term in by_variable[j]))
            if derivative.has(sp.Derivative):
                left = next(iter(derivative.atoms(sp.Derivative)))
                raise ExpressionError(
                    _("SymPy cannot differentiate {expr} with respect to {name}").format(
                        expr=short(to_text(left.expr)), name=v.name
                    )
                )
            if derivative is not sp.S.Zero:
                row[j] = derivative
        rows.append(row)
    return rows


class Differentiator:
    """``sp.diff(e, s)`` with the same result, faster for many small derivatives.

    Sums, products and powers with an exponent free of ``s`` follow SymPy's own rules
    (``Add._eval_derivative``, the Leibniz rule of ``Mul._eval_derivative_n_times`` for one
    derivative, ``Pow._eval_derivative``) without what ``sp.diff`` adds around every node:
    a fresh walk of its free symbols, a ``replace`` over the result, and, for a power, the
    ``log`` of its base built only to be multiplied by 0. Free symbols and derivatives are
    remembered per sub-expression; anything else (functions) is left to ``sp.diff``.
    """

    def __init__(self) -> None:
        self._free: dict[sp.Basic, frozenset[sp.Basic]] = {}
        self._derivatives: dict[tuple[sp.Basic, sp.Basic], sp.Expr] = {}

    def free(self, expr: sp.Basic) -> frozenset[sp.Basic]:
        """``expr.free_symbols``, remembered for every sum, product and power inside."""
        known = self._free.get(expr)
        if known is not None:
            return known
        if type(expr) in (sp.Add, sp.Mul, sp.Pow):
            result = frozenset().union(*(self.free(a) for a in expr.args))
        else:
            result = frozenset(expr.free_symbols)
        self._free[expr] = result
        return result

    def diff(self, expr: sp.Expr, s: sp.Symbol) -> sp.Expr:
        """``sp.diff(expr, s)``."""
        if s not in self.free(expr):
            return sp.S.Zero
        if expr is s:
            return sp.S.One
        key = (expr, s)
        known = self._derivatives.get(key)
        if known is not None:
            return known
        kind = type(expr)
        result: sp.Expr
        if kind is sp.Add:
            result = sp.Add(*(self.diff(a, s) for a in expr.args))
        elif kind is sp.Mul:
            args = expr.args
            terms = []
            for i, arg in enumerate(args):
                d = self.diff(arg, s)
                if d is not sp.S.Zero:
                    terms.append(sp.Mul(*args[:i], d, *args[i + 1 :]))
            result = sp.Add(*terms)
        elif kind is sp.Pow and s not in self.free(expr.exp):
            base, exponent = expr.args
            result = expr * (sp.S.Zero + self.diff(base, s) * exponent / base)
        else:
            result = sp.diff(expr, s)
        self._derivatives[key] = result
        return result


#: functions that jump; their derivative is 0 away from the jumps
_JUMPS: dict[type, str] = {
    floor: "an integer",
    ceiling: "an integer",
    sp.sign: "0",
    sp.Heaviside: "0",
}
#: the note on a part that jumps, by where it jumps
_JUMP_NOTES = {
    "an integer": N_(
        "{call} jumps where {argument} crosses an integer and is flat elsewhere: its "
        "derivative is 0 away from the jumps and does not exist at them, so gradient "
        "descent feels no pull from it."
    ),
    "0": N_(
        "{call} jumps where {argument} crosses 0 and is flat elsewhere: its "
        "derivative is 0 away from the jumps and does not exist at them, so gradient "
        "descent feels no pull from it."
    ),
}


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
        call = short(to_text(node))
        argument = short(to_text(node.args[0]))
        note = _(_JUMP_NOTES[where]).format(call=call, argument=argument)
        if note not in notes:
            notes.append(note)
        if len(notes) >= 4:
            break
    return tuple(notes)


def short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def drop_dirac(expr: sp.Expr) -> sp.Expr:
    """``expr`` with DiracDelta terms (derivatives of steps, at their jumps) taken as 0."""
    if not expr.has(sp.DiracDelta):
        return expr
    return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def without_dirac(matrix: sp.Matrix) -> sp.Matrix:
    """Drop DiracDelta terms (second derivatives of relu/abs at their kink)."""
    if not matrix.has(sp.DiracDelta):
        return matrix
    return matrix.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def dense_matrix(n: int, entries: dict[tuple[int, int], sp.Expr]) -> sp.ImmutableMatrix:
    """The n × n matrix with these entries and zeros elsewhere, built in O(entries): SymPy
    keeps a matrix of expressions in a sparse form anyway, but filling it from a list of n²
    entries takes seconds at n = 1000."""
    sparse = sp.SparseMatrix(n, n, entries)
    from_rep = getattr(sp.ImmutableMatrix, "_fromrep", None)  # SymPy ≥ 1.9
    if from_rep is not None:
        matrix = from_rep(sparse._rep)
        if isinstance(matrix, sp.ImmutableMatrix):
            return matrix
    return sp.ImmutableMatrix(sparse)  # pragma: no cover - older SymPy


#: polynomials in at least this many variables are differentiated in a sparse polynomial ring
RING_VARIABLES = 12


def gradient_of(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> tuple[sp.Expr, ...]:
    """∂f/∂v for each v, differentiating only the terms of a sum that contain v.

    The same result as ``sp.diff`` term by term, without walking a long sum once per variable
    (n-dimensional Rosenbrock: n terms × n variables becomes about 2n). A polynomial in many
    variables is differentiated in a sparse polynomial ring instead, which skips SymPy's
    assumption queries (about 5× faster at n = 100); its derivatives come out expanded.
    """
    if len(variables) >= RING_VARIABLES:
        derivatives = _ring_gradient(expr, variables)
        if derivatives is not None:
            return derivatives
    if not isinstance(expr, sp.Add):
        present = expr.free_symbols
        return tuple(sp.diff(expr, v) if v in present else sp.Integer(0) for v in variables)
    by_variable: dict[sp.Symbol, list[sp.Expr]] = {v: [] for v in variables}
    for term in expr.args:
        for symbol in term.free_symbols:
            if symbol in by_variable:
                by_variable[symbol].append(term)
    return tuple(sp.diff(sp.Add(*by_variable[v]), v) for v in variables)


def hessian_of(gradient: Sequence[sp.Expr], variables: Sequence[sp.Symbol]) -> sp.ImmutableMatrix:
    """The Hessian as the Jacobian of the gradient (zero where a variable is absent)."""
    if len(variables) >= RING_VARIABLES:
        rows = _ring_jacobian(gradient, variables)
        if rows is not None:
            return sp.ImmutableMatrix(rows)
    return sp.ImmutableMatrix([gradient_of(g, variables) for g in gradient])


def _ring_gradient(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
) -> tuple[sp.Expr, ...] | None:
    """The gradient of a polynomial with rational coefficients, or None for anything else."""
    rows = _ring_jacobian([expr], variables)
    return None if rows is None else rows[0]


def _ring_jacobian(
    exprs: Sequence[sp.Expr],
    variables: Sequence[sp.Symbol],
) -> list[tuple[sp.Expr, ...]] | None:
    """∂e/∂v for polynomials with rational coefficients, in one sparse ring; else None."""
    from sympy.polys.domains import QQ
    from sympy.polys.polyerrors import CoercionFailed, PolynomialError
    from sympy.polys.rings import ring

    allowed = set(variables)
    for e in exprs:
        e = sp.sympify(e)
        if e.free_symbols - allowed or not e.is_polynomial(*variables):
            return None
    try:
        _, *gens = ring(list(variables), QQ)
        polys = [gens[0].ring(sp.sympify(e)) for e in exprs]
    except (PolynomialError, CoercionFailed, ValueError, TypeError, NotImplementedError):
        return None
    zero = sp.Integer(0)
    rows = []
    for poly in polys:
        present = {i for monomial in poly.itermonoms() for i, power in enumerate(monomial) if power}
        rows.append(
            tuple(poly.diff(g).as_expr() if i in present else zero for i, g in enumerate(gens))
        )
    return rows
