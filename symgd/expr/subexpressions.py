"""Common subexpressions of a tuple of expressions (f and ∇f, say), chosen so that the code
generated from them does as few operations as it can: plain or factored form, whichever is
cheaper, and each compound base of a small power named so that it prints as ``w*w``."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import sympy as sp

#: above this many operations, f and ∇f are not tried in factored form
FACTOR_OPS = 400
#: above this many nodes in all, only repeated subtrees are shared (SymPy's search for common
#: parts of sums and products, which takes most of ``sp.cse``'s time, is skipped)
LARGE_NODES = 2000

Pairs = list[tuple[sp.Symbol, sp.Expr]]


def node_count(exprs: Sequence[sp.Basic], limit: int) -> int:
    """The number of nodes of ``exprs`` in all, counted up to just past ``limit``."""
    total = 0
    for expr in exprs:
        for _ in sp.preorder_traversal(expr):
            total += 1
            if total > limit:
                return total
    return total


def repeated_subtrees(
    exprs: Sequence[sp.Expr], symbols: Iterator[sp.Symbol] | None = None
) -> tuple[Pairs, list[sp.Expr]]:
    """Common subexpressions as whole repeated subtrees only: the tree pass of ``sp.cse``
    without its search for common parts of sums and products (linear in the size)."""
    from sympy.simplify.cse_main import tree_cse

    names = sp.numbered_symbols("_w") if symbols is None else symbols
    pairs, reduced = tree_cse(list(exprs), names, {}, "none", ())
    return list(pairs), list(reduced)


def subexpressions_for(exprs: Any) -> tuple[Pairs, Any]:
    """``cse`` for :func:`sp.lambdify`: SymPy's ``sp.cse`` on small input, and
    :func:`repeated_subtrees` above :data:`LARGE_NODES` nodes."""
    items = list(exprs) if isinstance(exprs, (tuple, list)) else [exprs]
    if node_count(items, LARGE_NODES) <= LARGE_NODES:
        pairs, reduced = sp.cse(exprs, list=False)
        return list(pairs), reduced
    pairs, found = repeated_subtrees(items)
    if isinstance(exprs, (tuple, list)):
        return pairs, type(exprs)(found)
    return pairs, found[0]


@functools.lru_cache(maxsize=64)
def shared_subexpressions(
    exprs: tuple[sp.Expr, ...],
) -> tuple[tuple[tuple[sp.Symbol, sp.Expr], ...], tuple[sp.Expr, ...]]:
    """Cached :func:`_shared_subexpressions`: f and ∇f are shared by several builders."""
    pairs, reduced = _shared_subexpressions(exprs)
    return tuple(pairs), tuple(reduced)


def _shared_subexpressions(
    exprs: Sequence[sp.Expr],
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Common subexpressions of the gradient, from its plain or factored form (fewer ops wins).

    Pulling common factors out (``-200 x² + 200 y`` → ``200 (y - x²)``) often exposes a shared
    term; the rounding of ∇f changes by an ulp at most, the update rule's rounding not at all.
    """

    def count(result: tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]) -> int:
        pairs, reduced = result
        return int(sum(sp.count_ops(v) for _, v in pairs) + sum(sp.count_ops(v) for v in reduced))

    def run(items: Sequence[sp.Expr]) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
        pairs, reduced = sp.cse(list(items), symbols=sp.numbered_symbols("_w"), order="none")
        return list(pairs), list(reduced)

    if node_count(exprs, LARGE_NODES) > LARGE_NODES:
        return _name_power_bases(*repeated_subtrees(exprs))
    plain = run(exprs)
    if count(plain) > FACTOR_OPS:  # large: factoring costs more time than it saves
        return _name_power_bases(*plain)
    factored = run([sp.factor_terms(e) for e in exprs])
    return _name_power_bases(*(factored if count(factored) < count(plain) else plain))


def _name_power_bases(
    pairs: list[tuple[sp.Symbol, sp.Expr]],
    reduced: list[sp.Expr],
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Give the compound base of each small integer power a name, so it prints as ``w*w``."""
    names = sp.numbered_symbols("_p")
    bases: dict[sp.Expr, sp.Symbol] = {}
    out_pairs: list[tuple[sp.Symbol, sp.Expr]] = []

    def target(node: sp.Basic) -> bool:
        return (
            isinstance(node, sp.Pow)
            and not node.base.is_Symbol
            and not node.base.is_Number
            and node.exp.is_Integer
            and 2 <= int(node.exp) <= 4
        )

    def name_of(base: sp.Expr) -> sp.Symbol:
        if base not in bases:
            value = rename(base)
            bases[base] = next(names)
            out_pairs.append((bases[base], value))
        return bases[base]

    def rename(expr: sp.Expr) -> sp.Expr:
        found = {node for node in sp.preorder_traversal(expr) if target(node)}
        if not found:
            return expr
        return expr.xreplace({node: sp.Pow(name_of(node.base), node.exp) for node in found})

    for name, value in pairs:
        renamed = rename(value)
        out_pairs.append((name, renamed))
    return out_pairs, [rename(e) for e in reduced]
