"""A critical point (:class:`CriticalPoint`) and its kind, read from the Hessian's eigenvalues:
minimum, maximum, saddle or degenerate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from symgd.base.i18n import N_, _

KINDS = ("minimum", "maximum", "saddle", "degenerate")

#: the kinds of points (critical points, points on a kink, what a degenerate point turned out
#: to be) in a reader's words; the kinds themselves stay English (JSON, tones)
KIND_WORDS = {
    "minimum": N_("minimum"),
    "maximum": N_("maximum"),
    "saddle": N_("saddle"),
    "degenerate": N_("degenerate"),
    "inflection": N_("inflection"),
    "unknown": N_("unknown"),
}

#: a numeric eigenvalue this small (relative to the largest) counts as zero
ZERO_EIGENVALUE = 1e-9


@dataclass(frozen=True)
class CriticalPoint:
    """A point where ∇f = 0, with f's value, the Hessian's eigenvalues and its kind."""

    coordinates: tuple[sp.Expr, ...]
    value: sp.Expr
    eigenvalues: tuple[sp.Expr, ...]
    kind: str
    exact: bool
    free: tuple[sp.Symbol, ...] = ()

    def as_floats(self) -> tuple[float, ...]:
        """The coordinates as floats (only for isolated points)."""
        return tuple(float(c) for c in self.coordinates)


def kind_words(kind: str) -> str:
    """``kind`` in the reader's words, in the language in effect (an unknown kind as it is)."""
    words = KIND_WORDS.get(kind)
    return _(words) if words is not None else kind


def eigenvalues_numeric(matrix: sp.Matrix) -> list[float]:
    array = np.array(matrix.evalf(30).tolist(), dtype=float)
    return sorted(float(v) for v in np.linalg.eigvalsh((array + array.T) / 2))


def kind_of(eigenvalues: Sequence[float], singular: bool, *, exact: bool = False) -> str:
    """The kind the eigenvalues imply; with ``exact`` (``singular`` was decided exactly), a
    tiny eigenvalue of a nonsingular matrix (2e-6 next to 2e6) counts by its sign."""
    scale = max([1.0, *(abs(v) for v in eigenvalues)])
    tiny = (
        any(v == 0 for v in eigenvalues)
        if exact
        else any(abs(v) <= ZERO_EIGENVALUE * scale for v in eigenvalues)
    )
    if singular or tiny:
        return "degenerate"
    if all(v > 0 for v in eigenvalues):
        return "minimum"
    if all(v < 0 for v in eigenvalues):
        return "maximum"
    return "saddle"


def point_sort_key(point: CriticalPoint) -> tuple[Any, ...]:
    try:
        return (0, tuple(float(c) for c in point.coordinates))
    except (TypeError, ValueError):
        return (1, tuple(str(c) for c in point.coordinates))


def tidy(value: float) -> float:
    """Round away solver noise: 1e-17 → 0, 1.3095...e0 kept to 12 digits."""
    return 0.0 if abs(value) < 1e-11 else float(f"{value:.12g}")
