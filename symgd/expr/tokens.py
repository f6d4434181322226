"""Text → tokens: the typed characters mapped to ASCII and split into numbers, names and
operators, each with the column the user typed it at."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from symgd.base.errors import ExpressionError
from symgd.base.i18n import N_, _

MAX_LENGTH = 2000
MAX_TOKENS = 1000
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
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    column: int  # 1-based column in the text as the user typed it


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, mapping the Unicode spellings a person types to ASCII."""
    if not text.strip():
        raise ExpressionError(_("the expression is empty"), text=text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            _("the expression is longer than {count} characters").format(count=MAX_LENGTH)
        )
    ascii_chars: list[str] = []
    columns: list[int] = []
    for index, char in enumerate(text, start=1):
        replacement = _UNICODE.get(char, char)
        if not replacement.isascii() or (
            len(replacement) == 1 and not replacement.isprintable() and not replacement.isspace()
        ):
            raise ExpressionError(_describe_bad_char(char), column=index, text=text)
        ascii_chars.extend(replacement)
        columns.extend([index] * len(replacement))
    ascii_text = "".join(ascii_chars)
    tokens: list[Token] = []
    position = 0
    while position < len(ascii_text):
        match = _TOKEN.match(ascii_text, position)
        if match is None:
            char = ascii_text[position]
            raise ExpressionError(_describe_bad_char(char), column=columns[position], text=text)
        kind = match.lastgroup or ""
        if kind == "name" and keyword.iskeyword(match.group()):
            raise ExpressionError(
                _("{name} is a Python keyword, not a variable or function").format(
                    name=repr(match.group())
                ),
                column=columns[position],
                text=text,
            )
        if kind != "space":
            tokens.append(Token(kind, match.group(), columns[position]))
        position = match.end()
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError(
                _("the expression has more than {count} tokens").format(count=MAX_TOKENS)
            )
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _describe_bad_char(char: str) -> str:
    if char in _NAMED:
        return _(_NAMED[char])
    if not char.isascii():
        return _("character {char} ({code}) is not allowed; type plain ASCII").format(
            char=repr(char), code=f"U+{ord(char):04X}"
        )
    return _("character {char} is not allowed").format(char=repr(char))


#: why a character that is not part of an expression is refused
_NAMED = {
    ".": N_("attribute access ('.') is not allowed"),
    "[": N_("subscripts ('[') are not allowed"),
    "]": N_("subscripts (']') are not allowed"),
    "'": N_("strings are not allowed"),
    '"': N_("strings are not allowed"),
    ";": N_("only one expression is allowed (found ';')"),
    "#": N_("comments are not allowed"),
    "=": N_("'=' is not allowed: type an expression, not an equation or assignment"),
    "<": N_("comparisons are not allowed"),
    ">": N_("comparisons are not allowed"),
    "!": N_("'!' is not allowed"),
    ":": N_("':' is not allowed"),
    "@": N_("'@' is not allowed"),
    "{": N_("braces are not allowed"),
    "}": N_("braces are not allowed"),
}
