"""Typed section results → the plain dicts and lists the templates read.

A section returns a frozen dataclass that derives from :class:`View`; its fields are the names
its template partial uses. :func:`as_context` turns it (and the views, tuples and mappings
inside it) into dicts and lists; a field marked ``field(metadata=OFF_PAGE)`` (such as the
figures to draw) stays out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

#: ``field(metadata=OFF_PAGE)``: a field the page does not show
OFF_PAGE: Mapping[str, bool] = {"page": False}


class View:
    """A section's typed context (a frozen dataclass deriving from this class)."""


def as_context(value: Any) -> Any:
    """``value`` with every :class:`View` turned into a dict and every tuple into a list.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Point(View):
    ...     x: int
    ...     tags: tuple[str, ...]
    >>> as_context(Point(1, ("a",)))
    {'x': 1, 'tags': ['a']}
    """
    if isinstance(value, View):
        return {
            f.name: as_context(getattr(value, f.name))
            for f in fields(value)  # type: ignore[arg-type]
            if f.metadata.get("page", True)
        }
    if isinstance(value, Mapping):
        return {k: as_context(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_context(v) for v in value]
    return value
