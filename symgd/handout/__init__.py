"""Printable exercise handouts with an answer key.

The stages, each a module, read in order: :mod:`~symgd.handout.build` (settings, derivations,
sheets), :mod:`~symgd.handout.descent_exercise` and :mod:`~symgd.handout.rate_exercise` (the
exercise kinds drawn at random), :mod:`~symgd.handout.model` (the frozen data),
:mod:`~symgd.handout.answer_key` (JSON), :mod:`~symgd.handout.solutions` (worked solutions)
and :mod:`~symgd.handout.page` (HTML and PDF). The entry points below are loaded on first use,
so ``import symgd.handout`` stays light (no SymPy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from symgd.handout.answer_key import handout_to_json
    from symgd.handout.build import DEFAULT_TITLE, build_handout
    from symgd.handout.model import Handout
    from symgd.handout.page import handout_context, render_handout_html, render_handout_pdf

#: each public name and the module that defines it
_HOMES = {
    "build_handout": "build",
    "DEFAULT_TITLE": "build",
    "Handout": "model",
    "handout_to_json": "answer_key",
    "handout_context": "page",
    "render_handout_html": "page",
    "render_handout_pdf": "page",
}

__all__ = [
    "DEFAULT_TITLE",
    "Handout",
    "build_handout",
    "handout_context",
    "handout_to_json",
    "render_handout_html",
    "render_handout_pdf",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
