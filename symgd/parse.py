"""Text → :class:`Problem`, without ever executing what the user typed.

The text is tokenized by hand and parsed by a small recursive-descent parser whose only
actions build SymPy objects from a whitelist: numbers, names, ``+ - * / **`` (``^`` too),
unary signs, implicit products (``2x``, ``3(x+1)``, ``(x+1)(x-1)``) and calls to the functions
in :data:`FUNCTIONS`. ``eval``, ``sympify`` and ``parse_expr`` are never called on user text.
Every expensive thing has a bound: length, tokens, nesting, exponents, digits.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from symgd.errors import ExpressionError, InputError
from symgd.functions import leaky_relu, relu, sigmoid, softplus

MAX_LENGTH = 2000
MAX_TOKENS = 1000
MAX_DEPTH = 40
MAX_EXPONENT = 1000
MAX_DIGITS = 400
MAX_LITERAL_DIGITS = 40
MAX_VARIABLES = 100

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
    "sinh": ((1,), sp.sinh),
    "cosh": ((1,), sp.cosh),
    "tanh": ((1,), sp.tanh),
    "exp": ((1,), sp.exp),
    "log": ((1, 2), lambda x, base=None: sp.log(x) if base is None else sp.log(x, base)),
    "ln": ((1,), sp.log),
    "sqrt": ((1,), sp.sqrt),
    "cbrt": ((1,), sp.cbrt),
    "abs": ((1,), sp.Abs),
    "Abs": ((1,), sp.Abs),
    "sigmoid": ((1,), sigmoid),
    "relu": ((1,), relu),
    "leaky_relu": ((1, 2), leaky_relu),
    "softplus": ((1,), softplus),
    "max": ((2,), sp.Max),
    "min": ((2,), sp.Min),
    "Max": ((2,), sp.Max),
    "Min": ((2,), sp.Min),
    "sign": ((1,), sp.sign),
    "Heaviside": ((1, 2), sp.Heaviside),
}

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
  | (?P<op>\*\*|[-+*/^(),])
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
    parameters, allowed only with ``allow_parameters``.
    """
    if isinstance(text, sp.Basic):
        expr = _check_sympy(text)
        source = to_text(expr)
    elif isinstance(text, str):
        expr = _Parser(text).parse()
        source = text
    else:
        raise InputError(f"expected a string or a SymPy expression, got {type(text).__name__}")
    _check_result(expr, source)
    return _make_problem(expr, source, variables, allow_parameters)


class _TextPrinter(StrPrinter):
    """SymPy's ``str`` form, except that Euler's number prints as ``e`` (``E`` is a variable)."""

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "e"


def to_text(expr: sp.Expr) -> str:
    """The text form of ``expr`` that :func:`parse` reads back to the same expression."""
    return str(_TextPrinter().doprint(expr))


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort key that puts ``x2`` before ``x10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def _make_problem(
    expr: sp.Expr, source: str, variables: Sequence[str] | None, allow_parameters: bool
) -> Problem:
    symbols = {s.name: s for s in expr.free_symbols if isinstance(s, sp.Symbol)}
    if not symbols and not variables:
        raise ExpressionError("the expression has no variables; nothing to differentiate")
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


def _check_sympy(expr: sp.Basic) -> sp.Expr:
    if not isinstance(expr, sp.Expr):
        raise InputError(f"expected a SymPy expression, got {type(expr).__name__}")
    return expr


def _check_result(expr: sp.Expr, source: str) -> None:
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("the expression is undefined (a division by zero or log(0))")
    if any(_digits(atom) > MAX_DIGITS for atom in expr.atoms(sp.Rational)):
        raise ExpressionError(f"a number in the expression has more than {MAX_DIGITS} digits")
    if expr.has(sp.I) or any(
        node.is_number and node.is_real is False for node in sp.preorder_traversal(expr)
    ):
        raise ExpressionError("the expression is not real (it involves a complex number)")


def _digits(number: sp.Rational) -> int:
    return max(len(str(abs(number.p))), len(str(number.q)))


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
    """Recursive descent over the token list; each rule returns a SymPy expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
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
        result = self.product()
        while self.current.text in ("+", "-"):
            op = self.advance()
            right = self.product()
            result = result + right if op.text == "+" else result - right
        return result

    def product(self) -> sp.Expr:
        result = self.unary()
        while True:
            token = self.current
            if token.text in ("*", "/"):
                self.advance()
                right = self.unary()
                if token.text == "*":
                    result = result * right
                else:
                    if right.is_zero:
                        raise self.error("division by zero", token)
                    result = result / right
            elif token.kind in ("number", "name") or token.text == "(":
                previous = self.tokens[self.index - 1]
                if previous.kind == "name" and token.kind in ("name", "number"):
                    raise self.error(
                        f"missing operator between {previous.text!r} and {token.text!r}", token
                    )
                if previous.kind == "number" and token.kind == "number":
                    raise self.error(
                        f"missing operator between {previous.text!r} and {token.text!r}", token
                    )
                result = result * self.power()
            else:
                return result

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
                size = abs(float(exponent)) * max(_digits(base), 1)
                if size > MAX_DIGITS:
                    raise self.error(f"the power has more than {MAX_DIGITS} digits", op)
            if base.is_zero and exponent.is_negative:
                raise self.error("division by zero (0 to a negative power)", op)
        return sp.Pow(base, exponent)

    def atom(self) -> sp.Expr:
        token = self.current
        if token.kind == "number":
            self.advance()
            return self.number(token)
        if token.kind == "name":
            self.advance()
            if self.current.text == "(":
                return self.call(token)
            return self.name(token)
        if token.text == "(":
            self.advance()
            self.enter(token)
            inner = self.sum()
            self.depth -= 1
            if self.current.text != ")":
                raise self.error("missing ')'" if self.current.kind == "end" else
                                 f"expected ')' but found {self.current.text!r}")
            self.advance()
            return inner
        if token.kind == "end":
            raise self.error("the expression ends too early")
        raise self.error(f"unexpected {token.text!r}")

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
        args: list[sp.Expr] = []
        if self.current.text != ")":
            args.append(self.sum())
            while self.current.text == ",":
                self.advance()
                args.append(self.sum())
        self.depth -= 1
        if self.current.text != ")":
            raise self.error("missing ')'" if self.current.kind == "end" else
                             f"expected ',' or ')' but found {self.current.text!r}")
        self.advance()
        if len(args) not in arities:
            want = " or ".join(str(a) for a in arities)
            raise self.error(f"{name}() takes {want} argument(s), got {len(args)}", token)
        result = builder(*args)
        if name in ("log", "ln") and args[0].is_zero:
            raise self.error("log(0) is undefined", token)
        return result
