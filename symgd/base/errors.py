"""Errors a user can cause. Everything here means "bad input": the CLI exits with code 2."""

from __future__ import annotations

from typing import Any


class InputError(ValueError):
    """Bad input from the user: an expression, a start point, a data file, an option."""


class ExpressionError(InputError):
    """The text is not an expression symgd accepts.

    ``column`` is 1-based and points at the offending character when one can be named.
    """

    def __init__(self, message: str, column: int | None = None, text: str | None = None) -> None:
        self.message = message
        self.column = column
        self.text = text
        super().__init__(message if column is None else _with_column(message, column))

    def pointer(self) -> str:
        """The text with a caret under the offending column, for terminal messages."""
        if self.text is None or self.column is None or len(self.text) > 200:
            return ""
        return f"  {self.text}\n  {' ' * (self.column - 1)}^"


def _with_column(message: str, column: int) -> str:
    """``message (column 7)``, in the language in effect."""
    from symgd.base.i18n import _

    return _("{message} (column {column})").format(message=message, column=column)


class MissingDependencyError(RuntimeError):
    """An optional dependency needed for the requested output is not importable."""


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to a readable length, for messages (an API value may be huge)."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python will print
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= 80 else text[:77] + "..."
