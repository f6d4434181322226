"""Figures for the lesson's "Go deeper" calculus sections (matplotlib's object API, SVG text out).

Each figure function is listed in :data:`FIGURES`, which :data:`symgd.render.figures.DRAWABLE`
takes in, so a :class:`~symgd.render.figures.FigureJob` can name it.
"""

from __future__ import annotations

from collections.abc import Callable

#: the figure functions of this module, for :data:`symgd.render.figures.DRAWABLE`
FIGURES: tuple[Callable[..., str], ...] = ()
