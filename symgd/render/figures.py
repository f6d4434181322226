"""Figures for the lesson, drawn with matplotlib's object API and returned as SVG text.

Nothing here touches pyplot or its global state: each function builds a ``Figure``, draws on it
and serialises it (:mod:`symgd.render.figure_output` holds the style, the SVG output and the
axis helpers; :mod:`symgd.render.progress_figures` the figures against the step number).

Inputs are plain numbers and arrays (``PathData``, ``Surface``, ...): this module knows nothing
of SymPy, and of the optimizers only their colours (from their registry,
:data:`symgd.numeric.optimizers.OPTIMIZERS`); a :class:`FigureJob` can be pickled and drawn in
another process. matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from symgd.base.i18n import _, current, language, pgettext
from symgd.render import calculus_figures, momentum_figures, network_figures
from symgd.render.figure_data import (
    KIND_MARKERS,
    METHOD_COLOURS,
    PALETTE,
    Curve,
    Marker,
    PathData,
    Regime,
    Region,
    Surface,
)
from symgd.render.figure_output import language_style, new_figure, styled, value_window
from symgd.render.progress_figures import progress_figure, regimes_figure, traces_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class FigureJob:
    """A figure to draw: the name of a figure function (a key of :data:`DRAWABLE`), its
    keyword arguments, and the language its words are written in (by default the one in
    effect where the job is made).

    Jobs hold only data, so they can be drawn in another process, one that may have been
    started before the language was chosen: :meth:`draw` draws in ``lang`` wherever it runs.
    """

    function: str
    kwargs: dict[str, Any]
    lang: str = field(default_factory=current)

    def draw(self) -> str:
        with language(self.lang):
            return DRAWABLE[self.function](**self.kwargs)


#: what a marker without a label of its own is called, by kind (its kind, in English)
MARKER_WORDS: dict[str, Callable[[], str]] = {
    "start": lambda: pgettext("figure marker", "start"),
    "minimum": lambda: pgettext("figure marker", "minimum"),
    "maximum": lambda: pgettext("figure marker", "maximum"),
    "saddle": lambda: pgettext("figure marker", "saddle"),
    "degenerate": lambda: pgettext("figure marker", "degenerate"),
}


# -- the figures -----------------------------------------------------------------------------


def directional_figure(grad_norm: float, *, name: str = "fig-dir") -> str:
    """D(θ) = |∇f| cos θ for θ in [0°, 360°], with 0°, 90° and 180° marked."""

    def draw() -> Figure:
        fig = new_figure(6.0, 2.7, top=0.15)
        ax = fig.subplots()
        theta = np.linspace(0.0, 360.0, 361)
        scale = grad_norm if grad_norm > 0 else 1.0
        ax.plot(theta, grad_norm * np.cos(np.radians(theta)), color=PALETTE[0], lw=1.8)
        ax.axhline(0.0, color="#999999", lw=0.8)
        notes = (
            (0, PALETTE[1], _("uphill fastest (θ = {angle}°)"), (8, -2), "left", "top"),
            (90, "#666666", _("no change (θ = {angle}°)"), (6, 6), "left", "bottom"),
            (180, PALETTE[2], _("downhill fastest (θ = {angle}°)"), (0, -10), "center", "top"),
        )
        for angle, colour, text, offset, ha, va in notes:
            value = grad_norm * math.cos(math.radians(angle))
            ax.plot([angle], [value], "o", color=colour, ms=6, zorder=3, clip_on=False)
            ax.annotate(
                text.format(angle=angle),
                (angle, value),
                textcoords="offset points",
                xytext=offset,
                fontsize=8,
                color=colour,
                ha=ha,
                va=va,
            )
        ax.set_xticks(range(0, 361, 45))
        ax.set_xlim(0, 360)
        ax.set_ylim(-1.55 * scale, 1.3 * scale)
        ax.set_xlabel(_("angle θ between the step and ∇f (degrees)"))
        ax.set_ylabel(_("change of f per unit step"))
        ax.grid(True)
        return fig

    return styled(draw, name)


def curve_figure(
    curve: Curve,
    paths: Sequence[PathData],
    *,
    variable: str = "x",
    markers: Sequence[Marker] = (),
    name: str = "fig-curve",
) -> str:
    """One variable: the curve, tangent lines at the first iterates, and each path on it."""

    def draw() -> Figure:
        fig = new_figure(6.4, 3.7, top=0.15, right=1.6)
        ax = fig.subplots()
        lo, hi = curve.region.lo[0], curve.region.hi[0]
        bottom, top = value_window(curve.fs)
        ax.plot(curve.xs, curve.fs, color="#333333", lw=1.6, label=f"f({variable})", zorder=2)
        half = 0.1 * (hi - lo)
        for k, (x0, y0, slope) in enumerate(curve.tangents):
            xs = np.array([x0 - half, x0 + half])
            ax.plot(
                xs,
                y0 + slope * (xs - x0),
                color=PALETTE[4],
                lw=1.2,
                label=_("tangent lines") if k == 0 else None,
                zorder=3,
            )
        for path in paths:
            xs, fs = path.xs[:, 0], path.fs
            keep = (xs >= lo) & (xs <= hi) & np.isfinite(fs)
            ax.plot(
                xs[keep],
                fs[keep],
                "-o",
                color=path.colour,
                lw=0.9,
                ms=3.5,
                alpha=0.9,
                label=path.label,
                zorder=4,
            )
        _draw_markers(ax, markers)
        ax.set_xlim(lo, hi)
        ax.set_ylim(bottom, top)
        ax.set_xlabel(variable)
        ax.set_ylabel(f"f({variable})")
        ax.grid(True)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        return fig

    return styled(draw, name)


def contour_figure(
    surface: Surface,
    paths: Sequence[PathData],
    *,
    variables: tuple[str, str] = ("x", "y"),
    markers: Sequence[Marker] = (),
    legend: bool = True,
    lines: bool = True,
    name: str = "fig-contour",
) -> str:
    """Two variables: filled level sets, −∇f arrows, critical points and the paths;
    ``lines=False`` leaves out the level lines and the arrows (a lighter picture)."""

    def draw() -> Figure:
        width, left, right, bottom, top = 7.0, 0.6, 1.9 if legend else 0.15, 0.48, 0.15
        (x0, y0), (x1, y1) = surface.region.lo, surface.region.hi
        axes_width = width - left - right
        axes_height = min(
            max(axes_width * (y1 - y0) / (x1 - x0), 0.55 * axes_width), 1.25 * axes_width
        )
        fig = new_figure(
            width, axes_height + bottom + top, left=left, right=right, bottom=bottom, top=top
        )
        ax = fig.subplots()
        draw_contour(
            ax,
            surface,
            paths,
            markers=markers,
            variables=variables,
            legend=legend,
            arrows=lines,
            lines=lines,
        )
        return fig

    return styled(draw, name)


def _colormap() -> Any:
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    bone = colormaps["bone"]
    return ListedColormap(bone(np.linspace(0.42, 0.99, 64)))


def draw_contour(
    ax: Axes,
    surface: Surface,
    paths: Sequence[PathData],
    *,
    markers: Sequence[Marker] = (),
    variables: tuple[str, str] = ("x", "y"),
    legend: bool = True,
    arrows: bool = True,
    dots: bool = True,
    lines: bool = True,
) -> None:
    """Draw the contour picture on ``ax`` (shared by the main figure and the panel)."""
    (x0, y0), (x1, y1) = surface.region.lo, surface.region.hi
    _draw_level_sets(ax, surface, lines=lines)
    if arrows:
        _draw_descent_arrows(ax, surface)
    for path in paths:
        _draw_contour_path(ax, path, surface.region, dots=dots)
    _draw_markers(ax, markers)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("auto")
    ax.set_xlabel(variables[0])
    ax.set_ylabel(variables[1])
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def _draw_level_sets(ax: Axes, surface: Surface, *, lines: bool = True) -> None:
    """Filled level sets of f (rasterised) with thin contour lines at the same levels (unless
    ``lines`` is false)."""
    z = np.ma.masked_invalid(surface.zs)
    levels = contour_levels(z.compressed())
    if levels is None:
        return
    from matplotlib.colors import BoundaryNorm

    cmap = _colormap()
    ax.contourf(
        surface.xs,
        surface.ys,
        z,
        levels=levels,
        cmap=cmap,
        norm=BoundaryNorm(levels, cmap.N, extend="both"),
        extend="both",
        rasterized=True,
        zorder=0,
    )
    if not lines:
        return
    ax.contour(
        surface.xs,
        surface.ys,
        z,
        levels=levels,
        colors="#2b3a4a",
        linewidths=0.35,
        alpha=0.45,
        zorder=1,
    )


def _draw_descent_arrows(ax: Axes, surface: Surface) -> None:
    """The field of −∇f directions on the surface's coarse grid (when it has one)."""
    if surface.arrows is None or not len(surface.arrows[0]):
        return
    (x0, y0), (x1, y1) = surface.region.lo, surface.region.hi
    ax_, ay_, u, v = surface.arrows
    count = max(math.sqrt(len(ax_)), 1.0)
    length = 0.45 * min(x1 - x0, y1 - y0) / (count + 1)
    ax.quiver(
        ax_,
        ay_,
        u * length,
        v * length,
        angles="xy",
        scale_units="xy",
        scale=1,
        color="#3d4650",
        alpha=0.5,
        width=0.0032,
        headwidth=3.5,
        headlength=4,
        zorder=2,
        label=_("direction of −∇f"),
    )


def _draw_contour_path(ax: Axes, path: PathData, region: Region, *, dots: bool) -> None:
    """One run's path: the line, dots on its first iterates, a square where it ended (when
    that lies inside ``region``)."""
    xs = path.xs
    ax.plot(
        xs[:, 0],
        xs[:, 1],
        "-",
        color=path.colour,
        lw=1.7,
        zorder=4,
        label=path.label,
        solid_capstyle="round",
    )
    if dots:
        head = xs[: min(len(xs), 40)]
        ax.plot(head[:, 0], head[:, 1], "o", color=path.colour, ms=2.6, zorder=4)
    if len(xs) > 1 and region.contains(xs[-1]):
        ax.plot(
            xs[-1:, 0],
            xs[-1:, 1],
            "s",
            color=path.colour,
            ms=5,
            zorder=5,
            markeredgecolor="white",
            markeredgewidth=0.6,
        )


def contour_levels(values: np.ndarray, count: int = 18) -> np.ndarray | None:
    """Levels at quantiles of the sampled values: even spacing on the picture, whatever the
    dynamic range (Rosenbrock's 0 … 10⁵ and a plain bowl look equally readable)."""
    finite = values[np.isfinite(values)]
    if finite.size < 4 or float(finite.max() - finite.min()) <= 0:
        return None
    fractions = np.concatenate([[0.004, 0.015], np.linspace(0.0, 1.0, count + 1)])
    levels = np.unique(np.quantile(finite, np.sort(fractions)))
    return levels if len(levels) >= 3 else None


def _draw_markers(ax: Axes, markers: Sequence[Marker]) -> None:
    seen: set[str] = set()
    for marker in markers:
        if marker.kind == "start":
            symbol, colour, size = "*", "#000000", 11
        else:
            symbol, colour = KIND_MARKERS.get(marker.kind, ("D", "#777777"))
            size = 8
        label = marker.label or _marker_word(marker.kind)
        ax.plot(
            [marker.point[0]],
            [marker.point[1]],
            symbol,
            color=colour,
            ms=size,
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=6,
            label=None if label in seen else label,
        )
        seen.add(label)


def _marker_word(kind: str) -> str:
    """The legend's word for a marker of ``kind`` that has no label of its own (the kind
    itself in English)."""
    word = MARKER_WORDS.get(kind)
    return kind if word is None else word()


def regimes_contour_figure(
    surface: Surface,
    regimes: Sequence[Regime],
    *,
    variables: tuple[str, str] = ("x", "y"),
    markers: Sequence[Marker] = (),
    name: str = "fig-rates",
) -> str:
    """Small multiples of the contour picture, one gradient-descent path per learning rate."""

    def draw() -> Figure:
        fig = new_figure(7.2, 2.9, left=0.5, wspace=0.28, top=0.35)
        axes = np.atleast_1d(fig.subplots(1, len(regimes), sharey=True))
        coarse = Surface(
            surface.region, surface.xs[::2], surface.ys[::2], surface.zs[::2, ::2], None
        )
        for ax, regime in zip(axes, regimes, strict=True):
            draw_contour(
                ax,
                coarse,
                [regime.path],
                markers=markers,
                variables=variables,
                legend=False,
                arrows=False,
            )
            ax.set_title(regime.title)
        for ax in axes[1:]:
            ax.set_ylabel("")
        return fig

    return styled(draw, name)


def basins_figure(
    region: Region,
    labels: np.ndarray,
    colours: Sequence[str],
    names: Sequence[str],
    *,
    markers: Sequence[Marker] = (),
    variables: tuple[str, str] = ("x", "y"),
    name: str = "fig-basins",
) -> str:
    """Which minimum descent reaches from each start on a grid (``labels``: index or −1)."""

    def draw() -> Figure:
        from matplotlib.colors import ListedColormap
        from matplotlib.patches import Patch

        fig = new_figure(6.4, 4.3, right=2.3, top=0.15)
        ax = fig.subplots()
        (x0, y0), (x1, y1) = region.lo, region.hi
        cmap = ListedColormap(["#eeeeee", *colours])
        ax.imshow(
            labels + 1,
            origin="lower",
            extent=(x0, x1, y0, y1),
            cmap=cmap,
            vmin=0,
            vmax=len(colours),
            interpolation="nearest",
            alpha=0.5,
            aspect="auto",
            zorder=0,
        )
        _draw_markers(ax, markers)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel(variables[0])
        ax.set_ylabel(variables[1])
        handles = [Patch(color=c, alpha=0.5, label=n) for c, n in zip(colours, names, strict=True)]
        if (labels < 0).any():
            handles.append(Patch(color="#eeeeee", label=_("no minimum reached")))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        return fig

    return styled(draw, name)


_LESSON_FIGURES: tuple[Callable[..., str], ...] = (
    directional_figure,
    curve_figure,
    contour_figure,
    progress_figure,
    traces_figure,
    regimes_figure,
    regimes_contour_figure,
    basins_figure,
)

#: the figures a :class:`FigureJob` can name, by function name
DRAWABLE: dict[str, Callable[..., str]] = {
    function.__name__: function
    for function in (
        *_LESSON_FIGURES,
        *calculus_figures.FIGURES,
        *momentum_figures.FIGURES,
        *network_figures.FIGURES,
    )
}


def warm_up() -> None:
    """Import matplotlib and draw a tiny figure once, so that fonts and caches are loaded (the
    Hangul font too when the language in effect is not English)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(language_style()):  # type: ignore[arg-type]
        fig = Figure(figsize=(1.0, 1.0))
        ax = fig.subplots()
        ax.plot([0.0, 1.0], [0.0, 1.0])
        ax.set_xlabel("x")
        fig.savefig(io.StringIO(), format="svg")


def colour_for(method: str, index: int) -> str:
    """The colour a method's path gets in every figure."""
    return METHOD_COLOURS.get(method, PALETTE[index % len(PALETTE)])
