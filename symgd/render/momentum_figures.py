"""Figures for the lesson's momentum map (matplotlib's object API, SVG text out).

Each figure function is listed in :data:`FIGURES`, which :data:`symgd.render.figures.DRAWABLE`
takes in, so a :class:`~symgd.render.figures.FigureJob` can name it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symgd.base.i18n import _
from symgd.numeric.momentum_map import CONVERGED, DIVERGED, UNFINISHED, momentum_bound
from symgd.render.figure_output import new_figure, power_label, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: the colours of the cells that did not converge
UNFINISHED_COLOUR = "#d4d4d4"
DIVERGED_COLOUR = "#b2182b"


def momentum_map_figure(
    lrs: Sequence[float],
    momenta: Sequence[float],
    steps: Any,
    codes: Any,
    *,
    budget: int,
    tol_text: str,
    stable_below: float | None,
    optimal: tuple[float, float] | None = None,
    fastest: tuple[float, float] | None = None,
    plain_best: float | None = None,
    model: str = "",
    name: str = "fig-momentum-map",
) -> str:
    """A heat map over (η, μ) of the steps heavy-ball momentum needs (rows: ``momenta``,
    columns: ``lrs``, on a log axis), unfinished and diverged cells in their own colours;
    the bound 2(1 + μ)/λ_max as a curve from plain descent's ``stable_below`` = 2/λ_max at
    μ = 0, the optimal pair, the fastest cell and plain descent's fastest cell as markers.
    ``model`` names where the bounds come from when they are only a guide (translated when
    drawn: mark it with ``N_``)."""

    def draw() -> Figure:
        fig = new_figure(6.8, 4.9, left=0.62, right=0.75, bottom=1.45, top=0.12)
        ax, bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": (30, 1), "wspace": 0.06})
        # the learning rates are evenly spaced in log10 η: the map is one image in those units
        log_eta = np.log10(np.asarray(lrs, dtype=float))
        mu = np.asarray(momenta, dtype=float)
        x_edges, y_edges = _edges(log_eta), _edges(mu)
        extent = (x_edges[0], x_edges[-1], y_edges[0], y_edges[-1])
        done = np.asarray(codes) == CONVERGED
        count = np.asarray(steps, dtype=float)
        low = float(count[done].min()) if done.any() else 1.0
        top = max(float(budget), 2.0 * low)
        ax.imshow(
            _colours(count, np.asarray(codes), low, top),
            origin="lower",
            extent=extent,
            aspect="auto",
            interpolation="none",
        )
        _scale(bar, low, top, tol_text)
        handles = _marks(ax, mu, stable_below, optimal, fastest, plain_best, model)
        _log_ticks(ax, x_edges)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xlabel(_("learning rate η (log scale)"))
        ax.set_ylabel(_("momentum μ"))
        from matplotlib.patches import Patch

        handles += [
            Patch(
                color=UNFINISHED_COLOUR,
                label=_("not below {tol} within {budget} steps").format(
                    tol=tol_text, budget=budget
                ),
            ),
            Patch(color=DIVERGED_COLOUR, label=_("ran away (diverged)")),
        ]
        fig.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0.02, 0.0),
            ncols=2,
            columnspacing=1.2,
            handlelength=1.6,
        )
        return fig

    return styled(draw, name)


def _edges(centres: np.ndarray) -> np.ndarray:
    """The cell edges around evenly spaced ``centres``."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    middle = (centres[1:] + centres[:-1]) / 2
    return np.concatenate(([2 * centres[0] - middle[0]], middle, [2 * centres[-1] - middle[-1]]))


def _colours(count: np.ndarray, codes: np.ndarray, low: float, top: float) -> np.ndarray:
    """RGBA per cell: a converged cell by its step count on a log scale from ``low`` to
    ``top``, the others in their own colours."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, to_rgba

    shade = colormaps["viridis"](LogNorm(vmin=low, vmax=top, clip=True)(np.maximum(count, low)))
    image = np.asarray(shade, dtype=float)
    image[codes == UNFINISHED] = to_rgba(UNFINISHED_COLOUR)
    image[codes == DIVERGED] = to_rgba(DIVERGED_COLOUR)
    return image


def _scale(bar: Axes, low: float, top: float, tol_text: str) -> None:
    """The colour scale of the step counts, as a thin image beside the map."""
    from matplotlib import colormaps

    ramp = np.linspace(0.0, 1.0, 256)[:, None]
    bar.imshow(
        ramp,
        cmap=colormaps["viridis"],
        origin="lower",
        extent=(0.0, 1.0, np.log10(low), np.log10(top)),
        aspect="auto",
        interpolation="none",
    )
    bar.set_xticks([])
    bar.yaxis.tick_right()
    bar.yaxis.set_label_position("right")
    bar.spines["right"].set_visible(True)
    bar.spines["top"].set_visible(True)
    _log_ticks(bar, np.log10([low, top]), axis="y", steps=True)
    bar.set_ylabel(_("steps until |∇f| < {tol}").format(tol=tol_text))


def _marks(
    ax: Axes,
    mu: np.ndarray,
    stable_below: float | None,
    optimal: tuple[float, float] | None,
    fastest: tuple[float, float] | None,
    plain_best: float | None,
    model: str,
) -> list[Any]:
    """The bounds and the marked cells; their legend handles."""
    handles = []
    guide = _(model) if model else ""
    if stable_below is not None:
        curve = np.linspace(0.0, float(mu[-1]) + 0.02, 100)
        (line,) = ax.plot(
            np.log10(momentum_bound(stable_below, curve)),
            curve,
            color="black",
            lw=1.4,
            ls="--",
            label=_("η = 2(1 + μ)/λ_max: momentum's bound ({model})").format(model=guide)
            if model
            else _("η = 2(1 + μ)/λ_max: momentum's bound"),
        )
        (tip,) = ax.plot(
            [math.log10(stable_below)],
            [0.0],
            "v",
            color="black",
            ms=8,
            clip_on=False,
            zorder=5,
            label=_("η = 2/λ_max: plain descent's bound (μ = 0) ({model})").format(model=guide)
            if model
            else _("η = 2/λ_max: plain descent's bound (μ = 0)"),
        )
        handles += [line, tip]
    points = (
        (optimal, "*", 16, "#ffb000", _optimal_label(guide)),
        (fastest, "o", 9, "white", _("the fastest cell")),
        (
            None if plain_best is None else (plain_best, 0.0),
            "s",
            8,
            "white",
            _("fastest with μ = 0"),
        ),
    )
    for point, shape, size, face, label in points:
        if point is None:
            continue
        (mark,) = ax.plot(
            [math.log10(point[0])],
            [point[1]],
            shape,
            ms=size,
            mfc=face,
            mec="black",
            mew=1.3,
            clip_on=False,
            zorder=6,
            label=label,
            ls="none",
        )
        handles.append(mark)
    return handles


def _optimal_label(guide: str) -> str:
    if guide:
        return _("(η*, μ*): the optimal pair ({model})").format(model=guide)
    return _("(η*, μ*): the optimal pair")


def _log_ticks(ax: Axes, span: np.ndarray, axis: str = "x", steps: bool = False) -> None:
    """Ticks at the powers of ten inside ``span`` (log10 units), labelled as numbers (step
    counts: also 2× and 5×, when fewer than three powers fit)."""
    low, high = float(np.min(span)), float(np.max(span))
    marks = [float(k) for k in range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1)]
    if steps and len(marks) < 3:
        more = [k + math.log10(m) for k in range(math.floor(low), math.ceil(high)) for m in (2, 5)]
        marks = sorted(marks + [t for t in more if low - 1e-9 <= t <= high + 1e-9])
    labels = [power_label(10.0**t) or f"{10.0**t:g}" for t in marks]
    if axis == "x":
        ax.set_xticks(marks, labels)
    else:
        ax.set_yticks(marks, labels)


#: the figure functions of this module, for :data:`symgd.render.figures.DRAWABLE`
FIGURES: tuple[Callable[..., str], ...] = (momentum_map_figure,)
