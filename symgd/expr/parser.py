"""Text → :class:`Problem`, without ever executing what the user typed.

The text is tokenized by hand and parsed by a small recursive-descent parser whose only
actions build SymPy objects from a whitelist: numbers, names, ``+ - * / **`` (``^`` too),
unary signs, implicit products (``2x``, ``3(x+1)``, ``(x+1)(x-1)``), absolute-value bars
(``|x - |y||``), powers of a function's value (``sin^2(x)``) and calls to the functions in
:data:`FUNCTIONS` (see :class:`_Parser` for how bars pair up and which powers are read).
``eval``, ``sympify`` and ``parse_expr`` are never called on user text. Every expensive thing
has a bound: length, tokens, nesting, exponents, digits (numbers are evaluated from the leaves
up, so ``exp(exp(exp(10)))`` is refused at ``exp(exp(10))``); SymPy expressions from a program
meet the same bounds without being evaluated.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

import sympy as sp

from symgd.base.errors import ExpressionError, InputError
from symgd.base.i18n import _
from symgd.expr.activations import as_symgd_functions, real_abs
from symgd.expr.bounds import (
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_EXPONENT,
    MAX_LITERAL_DIGITS,
    check_result,
    check_sympy,
    log10_abs,
    not_real,
    oversized,
)
from symgd.expr.problem import (
    MAX_VARIABLES,
    Problem,
    make_problem,
    short_text,
    to_text,
)
from symgd.expr.tokens import Token, tokenize
from symgd.expr.vocabulary import CONSTANTS, FUNCTIONS, INVERSES

__all__ = [
    "parse",
]


def parse(
    text: str | sp.Expr,
    variables: Sequence[str] | None = None,
    *,
    allow_parameters: bool = False,
    max_variables: int = MAX_VARIABLES,
) -> Problem:
    """Parse ``text`` (or accept a SymPy expression) into a :class:`Problem`.

    ``variables`` fixes the variables and their order; by default they are the names in the
    expression in natural order (``x2`` before ``x10``). Names that are not variables are
    parameters, allowed only with ``allow_parameters``. Every name in ``variables`` must occur
    in the expression (as SymPy writes it) unless ``allow_parameters`` is set. More than
    ``max_variables`` variables (:data:`~symgd.expr.problem.MAX_VARIABLES`, 5,000, unless
    given; the command line passes 100) are refused with an :class:`ExpressionError`.

    >>> problem = parse("x^2 + 3x*y")
    >>> problem.expr
    x**2 + 3*x*y
    >>> problem.names
    ('x', 'y')
    >>> parse("sin^2(t) + |t - 1|").expr
    sin(t)**2 + Abs(t - 1)
    """
    typed: frozenset[str] = frozenset()
    if isinstance(text, sp.Basic):
        expr = check_sympy(text)
        check_result(expr, "")
        expr = as_symgd_functions(expr)
        source = to_text(expr)
    elif isinstance(text, str):
        parser = _Parser(text)
        expr = parser.parse()
        check_result(expr, text)
        expr = as_symgd_functions(expr)
        typed = frozenset(parser.symbols)
        source = text
    else:
        raise InputError(
            _("expected a string or a SymPy expression, got {kind}").format(
                kind=type(text).__name__
            )
        )
    return make_problem(expr, source, variables, allow_parameters, typed, max_variables)


class _Parser:
    """Recursive descent over the token list; each rule returns a SymPy expression.

    Absolute-value bars: a ``|`` where an operand is expected opens ``|…|``; inside bars, a
    ``|`` after an operand closes the innermost open bar; outside bars it opens a new one (an
    implicit product). So ``|x - |y||`` nests, ``|x||y|`` is ``|x|·|y|`` and ``2|x|`` is
    ``2·|x|``. Bars never close across a parenthesis or a function call: ``|(x|y|)|`` is
    ``|x·|y||``. A bar without a partner is an error; ``abs(...)`` is never ambiguous.

    A power written between a function's name and its argument is the power of the value:
    ``sin^2(x)`` and ``sin**2(x)`` (and ``sin²(x)``) are ``sin(x)**2``. Only positive whole
    powers are read this way; ``sin^-1(x)`` is refused, since it means ``asin(x)`` to some
    readers and ``1/sin(x)`` to others, with a message that names both spellings.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.bars = 0  # absolute-value bars open at the current parenthesis level
        self.symbols: dict[str, sp.Symbol] = {}

    # -- helpers -------------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def close(self, expected: str) -> None:
        """Leave a bracket: the nesting depth goes down and a ``)`` must come next."""
        self.depth -= 1
        if self.current.text != ")":
            raise self.error(
                _("missing ')'")
                if self.current.kind == "end"
                else _("expected {expected} but found {found}").format(
                    expected=expected, found=repr(self.current.text)
                )
            )
        self.advance()

    def error(self, message: str, token: Token | None = None) -> ExpressionError:
        where = token or self.current
        return ExpressionError(message, column=where.column, text=self.text)

    def expect(self, text: str) -> Token:
        if self.current.text != text:
            found = _("the end") if self.current.kind == "end" else repr(self.current.text)
            raise self.error(
                _("expected {expected} but found {found}").format(expected=repr(text), found=found)
            )
        return self.advance()

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                _("the expression is nested more than {depth} levels deep").format(depth=MAX_DEPTH),
                token,
            )

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> sp.Expr:
        expr = self.sum()
        if self.current.kind != "end":
            token = self.current
            if token.text == ")":
                raise self.error(_("unmatched ')'"))
            if token.text == ",":
                raise self.error(_("',' outside a function call"))
            raise self.error(_("unexpected {token}").format(token=repr(token.text)))
        return expr

    def sum(self) -> sp.Expr:
        # one Add at the end: adding term by term re-sorts the sum each time (quadratic)
        terms = [self.product()]
        while self.current.text in ("+", "-"):
            op = self.advance()
            right = self.product()
            terms.append(right if op.text == "+" else -right)
        return terms[0] if len(terms) == 1 else sp.Add(*terms)

    def product(self) -> sp.Expr:
        factors = [self.unary()]
        while True:
            token = self.current
            if token.text in ("*", "/"):
                self.advance()
                right = self.unary()
                if token.text == "*":
                    factors.append(right)
                else:
                    if right.is_zero:
                        raise self.error(_("division by zero"), token)
                    factors.append(1 / right)
            elif (
                token.kind in ("number", "name")
                or token.text == "("
                or (token.text == "|" and self.bars == 0)
            ):
                previous = self.tokens[self.index - 1]
                if previous.kind == "name" and token.kind in ("name", "number"):
                    raise self.error(_missing_operator(previous, token), token)
                if previous.kind == "number" and token.kind == "number":
                    raise self.error(_missing_operator(previous, token), token)
                factors.append(self.power())
            else:
                return factors[0] if len(factors) == 1 else sp.Mul(*factors)

    def unary(self) -> sp.Expr:
        token = self.current
        if token.text in ("+", "-"):
            self.advance()
            self.enter(token)
            operand = self.unary()
            self.depth -= 1
            return -operand if token.text == "-" else operand
        return self.power()

    def power(self) -> sp.Expr:
        base = self.atom()
        if self.current.text in ("**", "^"):
            op = self.advance()
            self.enter(op)
            exponent = self.unary()
            self.depth -= 1
            return self.build_power(base, exponent, op)
        return base

    def build_power(self, base: sp.Expr, exponent: sp.Expr, op: Token) -> sp.Expr:
        if exponent.is_number:
            if not exponent.is_real:
                raise self.error(_("the exponent is not a real number"), op)
            if exponent.is_Rational:
                if abs(exponent.p) > MAX_EXPONENT or exponent.q > MAX_EXPONENT:
                    raise self.error(_exponent_too_large(), op)
            elif abs(float(exponent.evalf(15))) > MAX_EXPONENT:
                raise self.error(_exponent_too_large(), op)
            if base.is_Rational and exponent.is_Rational:
                size = abs(float(exponent)) * max(log10_abs(base.p), log10_abs(base.q))
                if size > MAX_DIGITS:
                    raise self.error(
                        _("the power has more than {digits} digits").format(digits=MAX_DIGITS), op
                    )
            elif base.is_number:
                self.check_number(base, op)
            if base.is_zero and exponent.is_negative:
                raise self.error(_("division by zero (0 to a negative power)"), op)
        result = sp.Pow(base, exponent)
        if result.is_number:
            self.check_number(result, op)
        return result

    def check_number(self, value: sp.Expr, token: Token) -> None:
        """Refuse a number with more than :data:`MAX_DIGITS` digits (``exp(exp(10))``) or one
        that is not real (``asin(3)``), before it becomes part of anything larger."""
        message = oversized(value)
        if message:
            raise self.error(message, token)
        if not_real(value):
            raise self.error(
                _("the expression is not real: {value} is a complex number").format(
                    value=short_text(value)
                ),
                token,
            )

    def atom(self) -> sp.Expr:
        token = self.current
        if token.kind == "number":
            self.advance()
            return self.number(token)
        if token.kind == "name":
            self.advance()
            if self.current.text == "(":
                return self.call(token)
            if token.text in FUNCTIONS and self.current.text in ("**", "^"):
                return self.function_power(token)
            return self.name(token)
        if token.text == "|":
            return self.bars_group(token)
        if token.text == "(":
            self.advance()
            self.enter(token)
            bars, self.bars = self.bars, 0
            inner = self.sum()
            self.bars = bars
            self.close("')'")
            return inner
        if token.kind == "end":
            raise self.error(_("the expression ends too early"))
        raise self.error(_("unexpected {token}").format(token=repr(token.text)))

    def bars_group(self, token: Token) -> sp.Expr:
        """``|…|``: the absolute value (see the class docstring for how bars pair up)."""
        unpaired = _("this '|' has no matching '|' (or write abs(...))")
        self.advance()
        self.enter(token)
        if self.current.kind == "end" or self.current.text in (")", ","):
            raise self.error(unpaired, token)
        if self.current.text == "|" and self.tokens[self.index + 1].kind == "end":
            raise self.error(_("'||' has nothing between the bars"), token)
        self.bars += 1
        inner = self.sum()
        self.bars -= 1
        self.depth -= 1
        if self.current.text != "|":
            if self.current.kind == "end" or self.current.text in (")", ","):
                raise self.error(unpaired, token)
            raise self.error(
                _("expected a closing '|' but found {found}").format(found=repr(self.current.text))
            )
        self.advance()
        return real_abs(inner)

    def function_power(self, token: Token) -> sp.Expr:
        """``sin^2(x)``: the power of the function's value, ``sin(x)**2``."""
        name = token.text
        op = self.advance()
        negative = self.current.text == "-"
        if self.current.text in ("+", "-"):
            self.advance()
        if self.current.kind != "number":
            raise self.error(
                _("write a power of {name} as {name}^2(x) or ({name}(x))^a").format(name=name), op
            )
        exponent = self.number(self.advance())
        if negative:
            power = self.tokens[self.index - 1].text
            spelled = f"{name}^-{power}(x)"
            reciprocal = f"1/{name}(x)" if exponent == 1 else f"1/{name}(x)^{power}"
            inverse = INVERSES.get(name) if exponent == 1 else None
            if inverse is not None:
                raise self.error(
                    _(
                        "{spelled} is ambiguous: write {inverse}(x) for the inverse function or "
                        "{reciprocal} for the reciprocal"
                    ).format(spelled=spelled, inverse=inverse, reciprocal=reciprocal),
                    op,
                )
            raise self.error(
                _("{spelled} is ambiguous: write {reciprocal} for the reciprocal").format(
                    spelled=spelled, reciprocal=reciprocal
                ),
                op,
            )
        if not exponent.is_Integer or exponent < 1:
            raise self.error(
                _(
                    "only whole powers go between a function and its argument, as in "
                    "{name}^2(x); write ({name}(x))^a otherwise"
                ).format(name=name),
                op,
            )
        if self.current.text != "(":
            found = _("the end") if self.current.kind == "end" else repr(self.current.text)
            raise self.error(
                _("expected '(' after {power} but found {found}").format(
                    power=f"{name}^{exponent}", found=found
                )
            )
        return self.build_power(self.call(token), exponent, op)

    def number(self, token: Token) -> sp.Expr:
        mantissa = re.split(r"[eE]", token.text)[0]
        if sum(c.isdigit() for c in mantissa) > MAX_LITERAL_DIGITS:
            raise self.error(_too_many_digits(MAX_LITERAL_DIGITS), token)
        if "e" in token.text.lower():
            power = int(re.split(r"[eE]", token.text)[1])
            if abs(power) > MAX_DIGITS:
                raise self.error(_too_many_digits(MAX_DIGITS), token)
        return sp.Rational(token.text)

    def name(self, token: Token) -> sp.Expr:
        text = token.text
        if keyword.iskeyword(text) or (keyword.issoftkeyword(text) and text != "_"):
            raise self.error(
                _("{name} is a Python keyword, not a variable or function").format(name=repr(text)),
                token,
            )
        if text.startswith("__"):
            raise self.error(_("names may not start with '__'"), token)
        if text in CONSTANTS:
            return CONSTANTS[text]
        if text in FUNCTIONS:
            raise self.error(
                _("{name} is a function; call it as {call}").format(
                    name=repr(text), call=f"{text}(...)"
                ),
                token,
            )
        if len(text) > 40:
            raise self.error(
                _("the name is longer than {count} characters").format(count=40), token
            )
        if text not in self.symbols:
            self.symbols[text] = sp.Symbol(text, real=True)
        return self.symbols[text]

    def call(self, token: Token) -> sp.Expr:
        name = token.text
        if name not in FUNCTIONS:
            if keyword.iskeyword(name):
                raise self.error(
                    _("{name} is a Python keyword, not a function").format(name=repr(name)), token
                )
            known = ", ".join(sorted(FUNCTIONS))
            raise self.error(
                _("unknown function {name}; known functions: {known}").format(
                    name=repr(name), known=known
                ),
                token,
            )
        arities, builder = FUNCTIONS[name]
        open_paren = self.expect("(")
        self.enter(open_paren)
        bars, self.bars = self.bars, 0
        args: list[sp.Expr] = []
        if self.current.text != ")":
            args.append(self.sum())
            while self.current.text == ",":
                self.advance()
                args.append(self.sum())
        self.bars = bars
        self.close("',' or ')'")
        if len(args) not in arities:
            want = _(" or ").join(str(a) for a in arities)
            raise self.error(
                _("{call} takes {want} argument(s), got {count}").format(
                    call=f"{name}()", want=want, count=len(args)
                ),
                token,
            )
        for arg in args:
            if arg.is_number:
                self.check_number(arg, token)
        if name in ("log", "ln", "log2", "log10") and args[0].is_zero:
            raise self.error(_("log(0) is undefined"), token)
        try:
            result = builder(*args)
        except (ValueError, TypeError, ArithmeticError) as exc:  # SymPy refusing the arguments
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if any(a.is_number and a.is_real is False for a in args):
                detail = _("an argument is not a real number")
            raise self.error(
                _("{call} cannot take these arguments: {detail}").format(
                    call=f"{name}()", detail=detail
                ),
                token,
            ) from None
        if result.is_number:
            self.check_number(result, token)
        return result


def _missing_operator(previous: Token, token: Token) -> str:
    """``missing operator between '2' and 'x'``, in the language in effect."""
    return _("missing operator between {left} and {right}").format(
        left=repr(previous.text), right=repr(token.text)
    )


def _exponent_too_large() -> str:
    return _("the exponent is too large (at most {limit})").format(limit=MAX_EXPONENT)


def _too_many_digits(limit: int) -> str:
    return _("the number has more than {digits} digits").format(digits=limit)
