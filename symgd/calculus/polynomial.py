"""Polynomial systems: the degree of a gradient read from its structure, and all real
solutions of ∇f = 0 when the gradient is polynomial (linear systems by ``linsolve``, others by
a lex Gröbner basis and real roots)."""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

#: the exact solver is not tried on a gradient of higher degree (it would not finish in time)
MAX_EXACT_DEGREE = 40


def zero_set_form(polynomial: sp.Expr) -> sp.Expr:
    """A polynomial with the same zeros and no repeated factors where they show: the constant
    factor dropped and each power of a factor replaced by the factor (``1000·(x+1)**999`` →
    ``x + 1``), so that nothing is expanded in vain."""
    factors = sp.Mul.make_args(polynomial)
    kept = [
        f.base if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp > 0 else f
        for f in factors
        if not f.is_number
    ]
    if not kept:
        return polynomial
    return sp.Mul(*kept)


def polynomial_degree(expr: sp.Expr, variables: set[sp.Symbol]) -> int:
    """The total degree of a polynomial in ``variables``, read from its structure (no
    expansion): sums take the largest, products add, powers multiply."""
    if not expr.free_symbols & variables:
        return 0
    if expr.is_Symbol:
        return 1
    if isinstance(expr, sp.Add):
        return max(polynomial_degree(a, variables) for a in expr.args)
    if isinstance(expr, sp.Mul):
        return sum(polynomial_degree(a, variables) for a in expr.args)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return polynomial_degree(expr.base, variables) * int(expr.exp)
    return MAX_EXACT_DEGREE + 1  # not a polynomial


def expanded_degree(expr: sp.Expr) -> int:
    """The degree ``expr`` would have once expanded, each function call or fractional power
    counted as one more variable (``(x + exp(y))**30`` → 30): what expanding it costs."""
    if not expr.free_symbols:
        return 0
    if isinstance(expr, sp.Add):
        return max(expanded_degree(a) for a in expr.args)
    if isinstance(expr, sp.Mul):
        return sum(expanded_degree(a) for a in expr.args)
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return expanded_degree(expr.base) * int(expr.exp)
    return 1


def solve_linear(
    polynomials: Sequence[sp.Expr], variables: Sequence[sp.Symbol]
) -> list[dict[sp.Symbol, sp.Expr]]:
    """The solutions of a linear system (none, one, or a family with free variables)."""
    found = sp.linsolve(list(polynomials), list(variables))
    if not isinstance(found, sp.FiniteSet) or not found.args:
        return []
    (values,) = found.args
    return [{v: value for v, value in zip(variables, values, strict=True) if value != v}]


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
                g
                for g in basis.exprs
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
        if all(
            abs(p.eval(value)) < 1e-15 * max(1.0, float(max(abs(c) for c in p.coeffs())))
            for p in numeric[1:]
        ):
            roots.append(value)
    return roots
