"""The bounds on what an expression may cost: nesting, exponents and the digits of its
numbers, checked on parsed text and on SymPy expressions handed over by a program, without
evaluating anything unbounded (numbers are evaluated from the leaves up)."""

from __future__ import annotations

import math

import sympy as sp

from symgd.base.errors import ExpressionError, InputError
from symgd.base.i18n import _
from symgd.expr.problem import to_text
from symgd.expr.vocabulary import ALLOWED_FUNCTIONS

MAX_DEPTH = 40
MAX_EXPONENT = 1000
MAX_DIGITS = 400
MAX_LITERAL_DIGITS = 40

#: bounds for a SymPy expression handed over by a program (text has the bounds above): enough
#: for sums of terms in :data:`~symgd.expr.problem.MAX_VARIABLES` variables (the walk is linear)
MAX_NODES = 200_000
MAX_TREE_DEPTH = 4 * MAX_DEPTH


def check_sympy(expr: sp.Basic) -> sp.Expr:
    """Hold a SymPy expression from a program to bounds like typed text's, evaluating nothing:
    at most :data:`MAX_NODES` parts nested :data:`MAX_TREE_DEPTH` deep, only the functions
    :func:`parse` builds, integers of at most :data:`MAX_DIGITS` digits, rational exponents of
    at most :data:`MAX_EXPONENT`."""
    if not isinstance(expr, sp.Expr):
        raise InputError(
            _("expected a SymPy expression, got {kind}").format(kind=type(expr).__name__)
        )
    count = 0
    stack: list[tuple[sp.Basic, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(
                _("the expression has more than {count} parts").format(count=MAX_NODES)
            )
        if depth > MAX_TREE_DEPTH:
            raise ExpressionError(
                _("the expression is nested more than {depth} levels deep").format(
                    depth=MAX_TREE_DEPTH
                )
            )
        if isinstance(node, sp.Atom):
            if isinstance(node, sp.Rational | sp.Float) and _digits(node) > MAX_DIGITS:
                raise ExpressionError(_number_too_long())
            continue
        if (
            isinstance(node, sp.Pow)
            and node.exp.is_Rational
            and (abs(node.exp.p) > MAX_EXPONENT or node.exp.q > MAX_EXPONENT)
        ):
            raise ExpressionError(_exponent_too_large())
        supported = isinstance(node, (sp.Add, sp.Mul, sp.Pow, *ALLOWED_FUNCTIONS))
        if not supported:
            name = getattr(type(node), "__name__", "this object")
            raise ExpressionError(
                _(
                    "{name} is not supported: symgd reads the functions in "
                    "symgd.expr.parser.FUNCTIONS"
                ).format(name=name)
            )
        stack.extend((arg, depth + 1) for arg in node.args)
    return expr


def check_result(expr: sp.Expr, source: str) -> None:
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError(_("the expression is undefined (a division by zero or log(0))"))
    if any(_digits(atom) > MAX_DIGITS for atom in expr.atoms(sp.Rational)):
        raise ExpressionError(_number_too_long())
    _check_numbers(expr)
    if expr.has(sp.I) or any(
        node.is_number and node.is_real is False for node in sp.preorder_traversal(expr)
    ):
        raise ExpressionError(_("the expression is not real (it involves a complex number)"))


def _check_numbers(expr: sp.Expr) -> None:
    """Refuse numbers with more than :data:`MAX_DIGITS` digits, evaluating from the leaves up
    (to 15 digits): the numbers inside a function or power first, then each largest numeric
    part, so ``exp(exp(10))`` is refused before ``exp(exp(exp(10)))`` is ever evaluated."""
    numeric: dict[sp.Basic, bool] = {}
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, visited = stack.pop()
        if node in numeric:  # a part shared by several branches is checked once
            continue
        if not visited:
            stack.append((node, True))
            stack.extend((arg, False) for arg in node.args)
            continue
        if isinstance(node, sp.Atom):
            is_number = bool(node.is_number)
        else:
            is_number = isinstance(node, sp.Expr) and all(numeric[a] for a in node.args)
            if is_number and isinstance(node, sp.Pow | sp.Function):
                for arg in node.args:
                    if not arg.is_Rational:
                        _refuse_oversized(arg)
            if isinstance(node, sp.Pow) and node.exp.is_number and not node.exp.is_Rational:
                _refuse_oversized(node.exp)
                _refuse_large_exponent(node.exp)
        numeric[node] = is_number
    _check_maximal(expr, numeric)


def _check_maximal(expr: sp.Expr, numeric: dict[sp.Basic, bool]) -> None:
    """Evaluate each largest numeric part of ``expr`` (its numeric children are bounded)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if numeric.get(node, False):
            if not node.is_Rational:
                _refuse_oversized(node)
            continue
        stack.extend(node.args)


def _refuse_oversized(value: sp.Basic) -> None:
    message = oversized(value)
    if message:
        raise ExpressionError(message)


def _refuse_large_exponent(exponent: sp.Basic) -> None:
    size = _size(exponent)
    if size is None or size < 3:
        return
    try:
        value = abs(complex(sp.sympify(exponent).evalf(15))) if size <= 300 else math.inf
    except (ArithmeticError, ValueError, TypeError):
        return
    if value > MAX_EXPONENT:
        raise ExpressionError(_exponent_too_large())


def oversized(value: sp.Basic) -> str | None:
    """A message when the number ``value`` has more than :data:`MAX_DIGITS` digits."""
    if value.is_Rational:
        if _digits(value) > MAX_DIGITS:
            return _number_too_long()
        return None
    size = _size(value)
    if size is None or size <= MAX_DIGITS:
        return None
    try:
        text = to_text(value)
    except (ArithmeticError, ValueError, TypeError, RecursionError):  # printing may evaluate
        text = ""
    if 0 < len(text) <= 60:
        return _("the number {value} has more than {digits} digits").format(
            value=text, digits=MAX_DIGITS
        )
    return _number_too_long()


def _number_too_long() -> str:
    return _("a number in the expression has more than {digits} digits").format(digits=MAX_DIGITS)


def _exponent_too_large() -> str:
    return _("an exponent is too large (at most {limit})").format(limit=MAX_EXPONENT)


def not_real(value: sp.Basic) -> bool:
    """Whether the number ``value`` (of bounded size) has an imaginary part, to 15 digits."""
    try:
        number = complex(sp.sympify(value).evalf(15))
    except (ArithmeticError, ValueError, TypeError, RecursionError, AttributeError):
        return False
    return abs(number.imag) > 1e-12 * max(1.0, abs(number.real))


def _size(value: sp.Basic) -> float | None:
    """log10 of the number ``value`` at its largest part, from a 15-digit evaluation (inf when
    even that overflows, None when it cannot be evaluated)."""
    try:
        approx = sp.sympify(value).evalf(15)
    except OverflowError:
        return math.inf
    except (ArithmeticError, ValueError, TypeError, RecursionError, AttributeError):
        return None
    largest = 0.0
    for number in approx.atoms(sp.Float):
        _sign, mantissa, exponent, bits = number._mpf_
        if mantissa and exponent + bits > 0:
            if exponent + bits > 1 << 40:  # beyond what a float holds
                return math.inf
            largest = max(largest, (exponent + bits) * _LOG10_2)
    return largest


_LOG10_2 = math.log10(2)


def _digits(number: sp.Rational | sp.Float) -> int:
    """Decimal digits of a rational's numerator or denominator (whichever is longer), or of a
    float's integer part, counted without converting to a string."""
    if isinstance(number, sp.Float):
        _sign, mantissa, exponent, bits = number._mpf_
        return int(min(abs(exponent + bits), 1 << 40) * _LOG10_2) + 1 if mantissa else 1
    bits = max(abs(number.p).bit_length(), number.q.bit_length())
    return int(bits * _LOG10_2) + 1


def log10_abs(number: int) -> float:
    return math.log10(abs(number)) if number else 0.0
