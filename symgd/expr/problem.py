"""The parsed function (:class:`Problem`) and its text form: which names are variables and
which are parameters, in what order, and how an expression prints back to text that
:func:`symgd.parse` reads."""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from symgd.base.errors import ExpressionError, InputError
from symgd.base.i18n import _, n_

#: most variables of a function in the library (derive, compile): sums of terms derive in
#: time about linear in n, so 5,000 is a bound on memory and patience, not on correctness
MAX_VARIABLES = 5000
#: most variables on the command line, whose commands show every entry of ∇f and H
CLI_MAX_VARIABLES = 100


@dataclass(frozen=True)
class Problem:
    """A parsed function: the SymPy expression, its variables in order, and the text typed."""

    expr: sp.Expr
    variables: tuple[sp.Symbol, ...]
    source: str
    parameters: tuple[sp.Symbol, ...] = field(default=())

    @property
    def names(self) -> tuple[str, ...]:
        """The variable names, in order."""
        return tuple(v.name for v in self.variables)

    def _repr_latex_(self) -> str:
        return (
            f"$\\displaystyle f({', '.join(sp.latex(v) for v in self.variables)}) = "
            f"{sp.latex(self.expr)}$"
        )


class _TextPrinter(StrPrinter):  # type: ignore[misc]  # SymPy is untyped
    """SymPy's ``str`` form, except that Euler's number prints as ``e`` (``E`` is a variable)."""

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "e"


#: above this many nodes, :func:`to_text` keeps SymPy's stored order of terms and factors
#: (sorting them for display took ~75% of ``parse`` of a SymPy expression at n = 1000)
SORT_NODES = 2000


def to_text(expr: sp.Expr) -> str:
    """The text form of ``expr`` that :func:`parse` reads back to the same expression (terms in
    display order, or in SymPy's stored order above :data:`SORT_NODES` nodes)."""
    large = any(k > SORT_NODES for k, _ in enumerate(sp.preorder_traversal(expr)))
    printer = _TextPrinter({"order": "none"}) if large else _TextPrinter()
    return str(printer.doprint(expr))


def absent_variables(problem: Problem) -> str | None:
    """Why some named variables of ``problem`` are not in its expression, or ``None``.

    Naming a variable the expression lacks is fine for the API (a gradient component such as
    ``2*x`` read back in the variables x, y); the command line refuses it for ``--vars``.
    """
    present = problem.expr.free_symbols
    absent = [v.name for v in problem.variables if v not in present]
    if not absent:
        return None
    one = len(absent) == 1
    typed = {match.group() for match in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", problem.source)}
    why = (
        f"; SymPy simplifies the expression to {short_text(problem.expr)}"
        if typed & set(absent)
        else ""
    )
    return (
        f"--vars names {', '.join(absent)}, which {'is' if one else 'are'} not in the "
        f"expression{why}; remove {'it' if one else 'them'} from --vars"
    )


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that puts ``x2`` before ``x10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def make_problem(
    expr: sp.Expr,
    source: str,
    variables: Sequence[str] | None,
    allow_parameters: bool,
    typed: frozenset[str] = frozenset(),
    max_variables: int = MAX_VARIABLES,
) -> Problem:
    """The :class:`Problem`; ``typed`` holds the names the text used, so that a name SymPy
    cancelled out (``exp(x)*exp(-x)`` is 1) is reported as such. More than ``max_variables``
    variables are refused."""
    symbols = {s.name: s for s in expr.free_symbols if isinstance(s, sp.Symbol)}
    if not symbols and not variables:
        if typed:
            names = ", ".join(sorted(typed, key=natural_key))
            raise ExpressionError(
                n_(
                    "the expression simplifies to the constant {value} ({names} cancels out); "
                    "there is nothing to differentiate",
                    "the expression simplifies to the constant {value} ({names} cancel out); "
                    "there is nothing to differentiate",
                    len(typed),
                ).format(value=short_text(expr), names=names)
            )
        raise ExpressionError(
            _(
                "the expression is the constant {value}: it has no variables, so there is "
                "nothing to differentiate"
            ).format(value=short_text(expr))
        )
    if variables is None:
        order = sorted(symbols, key=natural_key)
    else:
        order = list(variables)
        for name in order:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or keyword.iskeyword(name):
                raise InputError(_("{name} is not a valid variable name").format(name=repr(name)))
        if len(set(order)) != len(order):
            raise InputError(_("a variable is named twice in --vars"))
    if len(order) > max_variables:
        raise ExpressionError(too_many_variables(len(order), max_variables))
    chosen = tuple(symbols.get(name, sp.Symbol(name, real=True)) for name in order)
    rest = tuple(
        sorted((s for n, s in symbols.items() if n not in order), key=lambda s: natural_key(s.name))
    )
    if rest and not allow_parameters:
        names = ", ".join(s.name for s in rest)
        raise InputError(
            n_(
                "the expression uses {names}, which is not among the variables ({variables}); "
                "add it to --vars",
                "the expression uses {names}, which are not among the variables ({variables}); "
                "add them to --vars",
                len(rest),
            ).format(names=names, variables=", ".join(order))
        )
    return Problem(expr=expr, variables=chosen, source=source, parameters=rest)


def too_many_variables(count: int, limit: int) -> str:
    """Why ``count`` variables are refused under the bound ``limit``."""
    if limit < MAX_VARIABLES:  # the command line's bound, or a caller's
        return _(
            "too many variables ({count}; at most {limit} here: symgd.parse and symgd.derive "
            "in Python take up to {library})"
        ).format(count=count, limit=limit, library=MAX_VARIABLES)
    return _("too many variables ({count}; at most {limit})").format(count=count, limit=limit)


def short_text(expr: sp.Expr) -> str:
    text = to_text(expr)
    return text if len(text) <= 60 else text[:57] + "..."
