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
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from symgd.base.errors import ExpressionError, InputError
from symgd.expr.activations import (
    as_symgd_functions,
    ceiling,
    floor,
    leaky_relu,
    real_abs,
    real_sign,
    relu,
    sigmoid,
    softplus,
)

MAX_LENGTH = 2000
MAX_TOKENS = 1000
MAX_DEPTH = 40
MAX_EXPONENT = 1000
MAX_DIGITS = 400
MAX_LITERAL_DIGITS = 40
MAX_VARIABLES = 100
#: bounds for a SymPy expression handed over by a program (text has the bounds above)
MAX_NODES = 5000
MAX_TREE_DEPTH = 4 * MAX_DEPTH

#: name -> (allowed argument counts, builder)
FUNCTIONS: dict[str, tuple[tuple[int, ...], Callable[..., sp.Expr]]] = {
    "sin": ((1,), sp.sin),
    "cos": ((1,), sp.cos),
    "tan": ((1,), sp.tan),
    "cot": ((1,), sp.cot),
    "sec": ((1,), sp.sec),
    "csc": ((1,), sp.csc),
    "asin": ((1,), sp.asin),
    "acos": ((1,), sp.acos),
    "atan": ((1,), sp.atan),
    "arcsin": ((1,), sp.asin),
    "arccos": ((1,), sp.acos),
    "arctan": ((1,), sp.atan),
    "acot": ((1,), sp.acot),
    "asec": ((1,), sp.asec),
    "acsc": ((1,), sp.acsc),
    "arccot": ((1,), sp.acot),
    "arcsec": ((1,), sp.asec),
    "arccsc": ((1,), sp.acsc),
    "atan2": ((2,), sp.atan2),
    "arctan2": ((2,), sp.atan2),
    "sinh": ((1,), sp.sinh),
    "cosh": ((1,), sp.cosh),
    "tanh": ((1,), sp.tanh),
    "coth": ((1,), sp.coth),
    "sech": ((1,), sp.sech),
    "csch": ((1,), sp.csch),
    "asinh": ((1,), sp.asinh),
    "acosh": ((1,), sp.acosh),
    "atanh": ((1,), sp.atanh),
    "acoth": ((1,), sp.acoth),
    "arsinh": ((1,), sp.asinh),
    "arcosh": ((1,), sp.acosh),
    "artanh": ((1,), sp.atanh),
    "arcsinh": ((1,), sp.asinh),
    "arccosh": ((1,), sp.acosh),
    "arctanh": ((1,), sp.atanh),
    "exp": ((1,), sp.exp),
    "log": ((1, 2), lambda x, base=None: sp.log(x) if base is None else sp.log(x, base)),
    "ln": ((1,), sp.log),
    "log2": ((1,), lambda x: sp.log(x, 2)),
    "log10": ((1,), lambda x: sp.log(x, 10)),
    "sqrt": ((1,), sp.sqrt),
    "cbrt": ((1,), sp.cbrt),
    "abs": ((1,), real_abs),
    "Abs": ((1,), real_abs),
    "sigmoid": ((1,), sigmoid),
    "relu": ((1,), relu),
    "leaky_relu": ((1, 2), leaky_relu),
    "softplus": ((1,), softplus),
    "max": ((2,), sp.Max),
    "min": ((2,), sp.Min),
    "Max": ((2,), sp.Max),
    "Min": ((2,), sp.Min),
    "sign": ((1,), real_sign),
    "Heaviside": ((1, 2), sp.Heaviside),
    "floor": ((1,), floor),
    "ceil": ((1,), ceiling),
    "ceiling": ((1,), ceiling),
}

#: f^-1(x) is refused; the message names the inverse function when there is one
INVERSES = {
    "sin": "asin", "cos": "acos", "tan": "atan", "cot": "acot", "sec": "asec", "csc": "acsc",
    "sinh": "asinh", "cosh": "acosh", "tanh": "atanh", "coth": "acoth", "exp": "log",
    "log": "exp", "ln": "exp",
}

#: the classes a SymPy expression may be built from (what the functions above produce, and
#: what differentiating them gives)
ALLOWED_FUNCTIONS: tuple[type, ...] = (
    sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc, sp.asin, sp.acos, sp.atan, sp.acot,
    sp.asec, sp.acsc, sp.atan2, sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech, sp.csch, sp.asinh,
    sp.acosh, sp.atanh, sp.acoth, sp.exp, sp.log, sp.Abs, sp.Max, sp.Min, sp.sign,
    sp.Heaviside, sp.DiracDelta, sp.floor, sp.ceiling, sigmoid, relu, leaky_relu, softplus,
)

CONSTANTS: dict[str, sp.Expr] = {"e": sp.E, "pi": sp.pi}

_UNICODE = {
    "\u2212": "-",  # minus sign
    "\u2013": "-",  # en dash
    "\u00d7": "*",  # multiplication sign
    "\u00b7": "*",  # middle dot
    "\u22c5": "*",  # dot operator
    "\u2219": "*",  # bullet operator
    "\u00f7": "/",
    "\u2215": "/",
    "\u00b2": "**2",
    "\u00b3": "**3",
    "\u2074": "**4",
    "\u03c0": "pi",
}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/^(),|])
    """,
    re.VERBOSE,
)


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
        return f"$\\displaystyle f({', '.join(sp.latex(v) for v in self.variables)}) = " \
               f"{sp.latex(self.expr)}$"


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    column: int  # 1-based column in the text as the user typed it


def parse(
    text: str | sp.Expr,
    variables: Sequence[str] | None = None,
    *,
    allow_parameters: bool = False,
) -> Problem:
    """Parse ``text`` (or accept a SymPy expression) into a :class:`Problem`.

    ``variables`` fixes the variables and their order; by default they are the names in the
    expression in natural order (``x2`` before ``x10``). Names that are not variables are
    parameters, allowed only with ``allow_parameters``. Every name in ``variables`` must occur
    in the expression (as SymPy writes it) unless ``allow_parameters`` is set.
    """
    typed: frozenset[str] = frozenset()
    if isinstance(text, sp.Basic):
        expr = _check_sympy(text)
        _check_result(expr, "")
        expr = as_symgd_functions(expr)
        source = to_text(expr)
    elif isinstance(text, str):
        parser = _Parser(text)
        expr = parser.parse()
        _check_result(expr, text)
        expr = as_symgd_functions(expr)
        typed = frozenset(parser.symbols)
        source = text
    else:
        raise InputError(f"expected a string or a SymPy expression, got {type(text).__name__}")
    return _make_problem(expr, source, variables, allow_parameters, typed)


class _TextPrinter(StrPrinter):
    """SymPy's ``str`` form, except that Euler's number prints as ``e`` (``E`` is a variable)."""

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "e"


def to_text(expr: sp.Expr) -> str:
    """The text form of ``expr`` that :func:`parse` reads back to the same expression."""
    return str(_TextPrinter().doprint(expr))


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
    why = (f"; SymPy simplifies the expression to {_short_text(problem.expr)}"
           if typed & set(absent) else "")
    return (f"--vars names {', '.join(absent)}, which {'is' if one else 'are'} not in the "
            f"expression{why}; remove {'it' if one else 'them'} from --vars")


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that puts ``x2`` before ``x10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def _make_problem(
    expr: sp.Expr, source: str, variables: Sequence[str] | None, allow_parameters: bool,
    typed: frozenset[str] = frozenset(),
) -> Problem:
    """The :class:`Problem`; ``typed`` holds the names the text used, so that a name SymPy
    cancelled out (``exp(x)*exp(-x)`` is 1) is reported as such."""
    symbols = {s.name: s for s in expr.free_symbols if isinstance(s, sp.Symbol)}
    if not symbols and not variables:
        if typed:
            names = ", ".join(sorted(typed, key=natural_key))
            raise ExpressionError(
                f"the expression simplifies to the constant {_short_text(expr)} ({names} "
                f"cancel{'s' if len(typed) == 1 else ''} out); there is nothing to differentiate")
        raise ExpressionError(f"the expression is the constant {_short_text(expr)}: it has no "
                              "variables, so there is nothing to differentiate")
    if variables is None:
        order = sorted(symbols, key=natural_key)
    else:
        order = list(variables)
        for name in order:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or keyword.iskeyword(name):
                raise InputError(f"{name!r} is not a valid variable name")
        if len(set(order)) != len(order):
            raise InputError("a variable is named twice in --vars")
    if len(order) > MAX_VARIABLES:
        raise ExpressionError(f"too many variables ({len(order)}; at most {MAX_VARIABLES})")
    chosen = tuple(symbols.get(name, sp.Symbol(name, real=True)) for name in order)
    rest = tuple(
        sorted((s for n, s in symbols.items() if n not in order), key=lambda s: natural_key(s.name))
    )
    if rest and not allow_parameters:
        names = ", ".join(s.name for s in rest)
        one = len(rest) == 1
        raise InputError(
            f"the expression uses {names}, which {'is' if one else 'are'} not among "
            f"the variables ({', '.join(order)}); add {'it' if one else 'them'} to --vars"
        )
    return Problem(expr=expr, variables=chosen, source=source, parameters=rest)


def _short_text(expr: sp.Expr) -> str:
    text = to_text(expr)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_sympy(expr: sp.Basic) -> sp.Expr:
    """Hold a SymPy expression from a program to bounds like typed text's, evaluating nothing:
    at most :data:`MAX_NODES` parts nested :data:`MAX_TREE_DEPTH` deep, only the functions
    :func:`parse` builds, integers of at most :data:`MAX_DIGITS` digits, rational exponents of
    at most :data:`MAX_EXPONENT`."""
    if not isinstance(expr, sp.Expr):
        raise InputError(f"expected a SymPy expression, got {type(expr).__name__}")
    count = 0
    stack: list[tuple[sp.Basic, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the expression has more than {MAX_NODES} parts")
        if depth > MAX_TREE_DEPTH:
            raise ExpressionError(
                f"the expression is nested more than {MAX_TREE_DEPTH} levels deep")
        if isinstance(node, sp.Atom):
            if isinstance(node, sp.Rational | sp.Float) and _digits(node) > MAX_DIGITS:
                raise ExpressionError(
                    f"a number in the expression has more than {MAX_DIGITS} digits")
            continue
        if isinstance(node, sp.Pow) and node.exp.is_Rational and (
                abs(node.exp.p) > MAX_EXPONENT or node.exp.q > MAX_EXPONENT):
            raise ExpressionError(f"an exponent is too large (at most {MAX_EXPONENT})")
        supported = isinstance(node, (sp.Add, sp.Mul, sp.Pow, *ALLOWED_FUNCTIONS))
        if not supported:
            name = getattr(type(node), "__name__", "this object")
            raise ExpressionError(f"{name} is not supported: symgd reads the functions in "
                                  "symgd.expr.parser.FUNCTIONS")
        stack.extend((arg, depth + 1) for arg in node.args)
    return expr


def _check_result(expr: sp.Expr, source: str) -> None:
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("the expression is undefined (a division by zero or log(0))")
    if any(_digits(atom) > MAX_DIGITS for atom in expr.atoms(sp.Rational)):
        raise ExpressionError(f"a number in the expression has more than {MAX_DIGITS} digits")
    _check_numbers(expr)
    if expr.has(sp.I) or any(
        node.is_number and node.is_real is False for node in sp.preorder_traversal(expr)
    ):
        raise ExpressionError("the expression is not real (it involves a complex number)")


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
    message = _oversized(value)
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
        raise ExpressionError(f"an exponent is too large (at most {MAX_EXPONENT})")


def _oversized(value: sp.Basic) -> str | None:
    """A message when the number ``value`` has more than :data:`MAX_DIGITS` digits."""
    if value.is_Rational:
        if _digits(value) > MAX_DIGITS:
            return f"a number in the expression has more than {MAX_DIGITS} digits"
        return None
    size = _size(value)
    if size is None or size <= MAX_DIGITS:
        return None
    try:
        text = to_text(value)
    except (ArithmeticError, ValueError, TypeError, RecursionError):  # printing may evaluate
        text = ""
    named = f"the number {text}" if 0 < len(text) <= 60 else "a number in the expression"
    return f"{named} has more than {MAX_DIGITS} digits"


def _not_real(value: sp.Basic) -> bool:
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


def _log10(number: int) -> float:
    return math.log10(abs(number)) if number else 0.0


def _tokenize(text: str) -> list[_Token]:
    """Split ``text`` into tokens, mapping the Unicode spellings a person types to ASCII."""
    if not text.strip():
        raise ExpressionError("the expression is empty", text=text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    ascii_chars: list[str] = []
    columns: list[int] = []
    for index, char in enumerate(text, start=1):
        replacement = _UNICODE.get(char, char)
        if not replacement.isascii() or (len(replacement) == 1 and not replacement.isprintable()
                                         and not replacement.isspace()):
            raise ExpressionError(_describe_bad_char(char), column=index, text=text)
        ascii_chars.extend(replacement)
        columns.extend([index] * len(replacement))
    ascii_text = "".join(ascii_chars)
    tokens: list[_Token] = []
    position = 0
    while position < len(ascii_text):
        match = _TOKEN.match(ascii_text, position)
        if match is None:
            char = ascii_text[position]
            raise ExpressionError(_describe_bad_char(char), column=columns[position], text=text)
        kind = match.lastgroup or ""
        if kind == "name" and keyword.iskeyword(match.group()):
            raise ExpressionError(
                f"{match.group()!r} is a Python keyword, not a variable or function",
                column=columns[position], text=text)
        if kind != "space":
            tokens.append(_Token(kind, match.group(), columns[position]))
        position = match.end()
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError(f"the expression has more than {MAX_TOKENS} tokens")
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _describe_bad_char(char: str) -> str:
    named = {
        ".": "attribute access ('.') is not allowed",
        "[": "subscripts ('[') are not allowed",
        "]": "subscripts (']') are not allowed",
        "'": "strings are not allowed",
        '"': "strings are not allowed",
        ";": "only one expression is allowed (found ';')",
        "#": "comments are not allowed",
        "=": "'=' is not allowed: type an expression, not an equation or assignment",
        "<": "comparisons are not allowed",
        ">": "comparisons are not allowed",
        "!": "'!' is not allowed",
        ":": "':' is not allowed",
        "@": "'@' is not allowed",
        "{": "braces are not allowed",
        "}": "braces are not allowed",
    }
    if char in named:
        return named[char]
    if not char.isascii():
        return f"character {char!r} (U+{ord(char):04X}) is not allowed; type plain ASCII"
    return f"character {char!r} is not allowed"


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
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.bars = 0  # absolute-value bars open at the current parenthesis level
        self.symbols: dict[str, sp.Symbol] = {}

    # -- helpers -------------------------------------------------------------------------
    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> ExpressionError:
        where = token or self.current
        return ExpressionError(message, column=where.column, text=self.text)

    def expect(self, text: str) -> _Token:
        if self.current.text != text:
            found = "the end" if self.current.kind == "end" else repr(self.current.text)
            raise self.error(f"expected {text!r} but found {found}")
        return self.advance()

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the expression is nested more than {MAX_DEPTH} levels deep", token)

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> sp.Expr:
        expr = self.sum()
        if self.current.kind != "end":
            token = self.current
            if token.text == ")":
                raise self.error("unmatched ')'")
            if token.text == ",":
                raise self.error("',' outside a function call")
            raise self.error(f"unexpected {token.text!r}")
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
                        raise self.error("division by zero", token)
                    factors.append(1 / right)
            elif token.kind in ("number", "name") or token.text == "(" or (
                    token.text == "|" and self.bars == 0):
                previous = self.tokens[self.index - 1]
                if previous.kind == "name" and token.kind in ("name", "number"):
                    raise self.error(
                        f"missing operator between {previous.text!r} and {token.text!r}", token
                    )
                if previous.kind == "number" and token.kind == "number":
                    raise self.error(
                        f"missing operator between {previous.text!r} and {token.text!r}", token
                    )
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

    def build_power(self, base: sp.Expr, exponent: sp.Expr, op: _Token) -> sp.Expr:
        if exponent.is_number:
            if not exponent.is_real:
                raise self.error("the exponent is not a real number", op)
            if exponent.is_Rational:
                if abs(exponent.p) > MAX_EXPONENT or exponent.q > MAX_EXPONENT:
                    raise self.error(f"the exponent is too large (at most {MAX_EXPONENT})", op)
            elif abs(float(exponent.evalf(15))) > MAX_EXPONENT:
                raise self.error(f"the exponent is too large (at most {MAX_EXPONENT})", op)
            if base.is_Rational and exponent.is_Rational:
                size = abs(float(exponent)) * max(_log10(base.p), _log10(base.q))
                if size > MAX_DIGITS:
                    raise self.error(f"the power has more than {MAX_DIGITS} digits", op)
            elif base.is_number:
                self.check_number(base, op)
            if base.is_zero and exponent.is_negative:
                raise self.error("division by zero (0 to a negative power)", op)
        result = sp.Pow(base, exponent)
        if result.is_number:
            self.check_number(result, op)
        return result

    def check_number(self, value: sp.Expr, token: _Token) -> None:
        """Refuse a number with more than :data:`MAX_DIGITS` digits (``exp(exp(10))``) or one
        that is not real (``asin(3)``), before it becomes part of anything larger."""
        message = _oversized(value)
        if message:
            raise self.error(message, token)
        if _not_real(value):
            raise self.error(f"the expression is not real: {_short_text(value)} is a complex "
                             "number", token)

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
            self.depth -= 1
            if self.current.text != ")":
                raise self.error("missing ')'" if self.current.kind == "end" else
                                 f"expected ')' but found {self.current.text!r}")
            self.advance()
            return inner
        if token.kind == "end":
            raise self.error("the expression ends too early")
        raise self.error(f"unexpected {token.text!r}")

    def bars_group(self, token: _Token) -> sp.Expr:
        """``|…|``: the absolute value (see the class docstring for how bars pair up)."""
        unpaired = "this '|' has no matching '|' (or write abs(...))"
        self.advance()
        self.enter(token)
        if self.current.kind == "end" or self.current.text in (")", ","):
            raise self.error(unpaired, token)
        if self.current.text == "|" and self.tokens[self.index + 1].kind == "end":
            raise self.error("'||' has nothing between the bars", token)
        self.bars += 1
        inner = self.sum()
        self.bars -= 1
        self.depth -= 1
        if self.current.text != "|":
            if self.current.kind == "end" or self.current.text in (")", ","):
                raise self.error(unpaired, token)
            raise self.error(f"expected a closing '|' but found {self.current.text!r}")
        self.advance()
        return real_abs(inner)

    def function_power(self, token: _Token) -> sp.Expr:
        """``sin^2(x)``: the power of the function's value, ``sin(x)**2``."""
        name = token.text
        op = self.advance()
        negative = self.current.text == "-"
        if self.current.text in ("+", "-"):
            self.advance()
        if self.current.kind != "number":
            raise self.error(f"write a power of {name} as {name}^2(x) or ({name}(x))^a", op)
        exponent = self.number(self.advance())
        if negative:
            power = self.tokens[self.index - 1].text
            spelled = f"{name}^-{power}(x)"
            reciprocal = f"1/{name}(x)" if exponent == 1 else f"1/{name}(x)^{power}"
            inverse = INVERSES.get(name) if exponent == 1 else None
            if inverse is not None:
                raise self.error(f"{spelled} is ambiguous: write {inverse}(x) for the inverse "
                                 f"function or {reciprocal} for the reciprocal", op)
            raise self.error(f"{spelled} is ambiguous: write {reciprocal} for the reciprocal", op)
        if not exponent.is_Integer or exponent < 1:
            raise self.error(f"only whole powers go between a function and its argument, as in "
                             f"{name}^2(x); write ({name}(x))^a otherwise", op)
        if self.current.text != "(":
            found = "the end" if self.current.kind == "end" else repr(self.current.text)
            raise self.error(f"expected '(' after {name}^{exponent} but found {found}")
        return self.build_power(self.call(token), exponent, op)

    def number(self, token: _Token) -> sp.Expr:
        mantissa = re.split(r"[eE]", token.text)[0]
        if sum(c.isdigit() for c in mantissa) > MAX_LITERAL_DIGITS:
            raise self.error(f"the number has more than {MAX_LITERAL_DIGITS} digits", token)
        if "e" in token.text.lower():
            power = int(re.split(r"[eE]", token.text)[1])
            if abs(power) > MAX_DIGITS:
                raise self.error(f"the number has more than {MAX_DIGITS} digits", token)
        return sp.Rational(token.text)

    def name(self, token: _Token) -> sp.Expr:
        text = token.text
        if keyword.iskeyword(text) or (keyword.issoftkeyword(text) and text != "_"):
            raise self.error(f"{text!r} is a Python keyword, not a variable or function", token)
        if text.startswith("__"):
            raise self.error("names may not start with '__'", token)
        if text in CONSTANTS:
            return CONSTANTS[text]
        if text in FUNCTIONS:
            raise self.error(f"{text!r} is a function; call it as {text}(...)", token)
        if len(text) > 40:
            raise self.error("the name is longer than 40 characters", token)
        if text not in self.symbols:
            self.symbols[text] = sp.Symbol(text, real=True)
        return self.symbols[text]

    def call(self, token: _Token) -> sp.Expr:
        name = token.text
        if name not in FUNCTIONS:
            if keyword.iskeyword(name):
                raise self.error(f"{name!r} is a Python keyword, not a function", token)
            known = ", ".join(sorted(FUNCTIONS))
            raise self.error(f"unknown function {name!r}; known functions: {known}", token)
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
        self.depth -= 1
        if self.current.text != ")":
            raise self.error("missing ')'" if self.current.kind == "end" else
                             f"expected ',' or ')' but found {self.current.text!r}")
        self.advance()
        if len(args) not in arities:
            want = " or ".join(str(a) for a in arities)
            raise self.error(f"{name}() takes {want} argument(s), got {len(args)}", token)
        for arg in args:
            if arg.is_number:
                self.check_number(arg, token)
        if name in ("log", "ln", "log2", "log10") and args[0].is_zero:
            raise self.error("log(0) is undefined", token)
        try:
            result = builder(*args)
        except (ValueError, TypeError, ArithmeticError) as exc:  # SymPy refusing the arguments
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if any(a.is_number and a.is_real is False for a in args):
                detail = "an argument is not a real number"
            raise self.error(f"{name}() cannot take these arguments: {detail}", token) from None
        if result.is_number:
            self.check_number(result, token)
        return result
