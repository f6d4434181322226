"""Figures for `symgd backprop` and `symgd vanish` (matplotlib's object API, SVG text out).

Each figure function is listed in :data:`FIGURES`, which :data:`symgd.render.figures.DRAWABLE`
takes in, so a :class:`~symgd.render.figures.FigureJob` can name it. Inputs are plain numbers
in frozen records, so a job can be pickled and drawn in another process.

- :func:`slopes_figure`: each activation a(z) and its derivative a′(z), one panel each, with
  the factors a′(z_k) the chain met marked on the derivative.
- :func:`layer_gradients_figure`: log₁₀|∂p_N/∂w_k| against the layer k, one line per
  activation; a gradient that is exactly 0 (which no log axis can hold) is marked with a cross
  in a strip below the axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from symgd.base.i18n import _
from symgd.render.figure_output import new_figure, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class SlopePanel:
    """One activation: a(z) and a′(z) sampled at ``zs``, the chain's z_k and a′(z_k) (``zs_hit``,
    ``slopes_hit``), and the horizontal line of the bound on a′ (``None``: none drawn)."""

    title: str
    colour: str
    zs: tuple[float, ...]
    values: tuple[float, ...]
    slopes: tuple[float, ...]
    zs_hit: tuple[float, ...]
    slopes_hit: tuple[float, ...]
    bound: float | None
    bound_label: str
    y_range: tuple[float, float]


@dataclass(frozen=True)
class GradientLine:
    """One activation's log₁₀|∂p_N/∂w_k| for k = 1..N (``-inf`` where the gradient is 0)."""

    label: str
    colour: str
    log10: tuple[float, ...]
    dash: str = "-"
    width: float = 1.8
    marker: str = "o"


def slopes_figure(
    panels: Sequence[SlopePanel], *, narrow: bool = False, name: str = "fig-slopes"
) -> str:
    """Small multiples, two per row (one with ``narrow``, for a phone): a(z) (grey), a′(z) (in
    colour), the bound (dotted) and the factors a′(zₖ) of the chain (circles; a zₖ outside the
    window sits at its edge as ▸ or ◂)."""

    def draw() -> Figure:
        columns = 1 if len(panels) == 1 or narrow else 2
        rows = math.ceil(len(panels) / columns)
        width = 3.6 if narrow else 6.4
        top = 0.75 if narrow else 0.55
        fig = new_figure(
            width, top + 0.05 + 2.35 * rows, top=top, bottom=0.5, left=0.55, right=0.15
        )
        fig.subplots_adjust(hspace=0.62, wspace=0.22)
        axes = fig.subplots(rows, columns, squeeze=False)
        for index, ax in enumerate(axes.flat):
            if index < len(panels):
                _slope_panel(ax, panels[index])
            else:
                ax.set_visible(False)
        _slopes_legend(fig, narrow)
        return fig

    return styled(draw, name)


def _slopes_legend(fig: Figure, narrow: bool) -> None:
    """One legend for all panels, across the top."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color="#555555", lw=1.4, label="a(z)"),
        Line2D([], [], color="#000000", lw=2.0, label=_("a′(z), in the panel's colour")),
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=4.5,
            mfc="white",
            mec="#000000",
            label=_("a′(zₖ): this chain's factors"),
        ),
    ]
    fig.legend(
        handles=handles,
        loc="upper center",
        ncol=1 if narrow else 3,
        fontsize=8.0,
        bbox_to_anchor=(0.5, 1.0),
        borderaxespad=0.3,
    )


def _slope_panel(ax: Axes, panel: SlopePanel) -> None:
    lo, hi = panel.zs[0], panel.zs[-1]
    ax.axhline(0.0, color="#bbbbbb", lw=0.7, zorder=0)
    ax.axvline(0.0, color="#bbbbbb", lw=0.7, zorder=0)
    ax.plot(panel.zs, panel.values, color="#555555", lw=1.4)
    ax.plot(panel.zs, panel.slopes, color=panel.colour, lw=2.0)
    if panel.bound is not None:
        ax.axhline(panel.bound, color=panel.colour, lw=0.9, ls=":", zorder=1)
        ax.annotate(
            panel.bound_label,
            (hi, panel.bound),
            textcoords="offset points",
            xytext=(-2, 3),
            ha="right",
            va="bottom",
            fontsize=7.5,
            color=panel.colour,
        )
    inside = [(z, s) for z, s in zip(panel.zs_hit, panel.slopes_hit, strict=True) if lo <= z <= hi]
    if inside:
        ax.plot(
            [z for z, _ in inside],
            [s for _, s in inside],
            "o",
            ms=4.5,
            mfc="white",
            mec="#000000",
            mew=1.0,
            zorder=4,
        )
    for side, marker, edge in ((1, ">", hi), (-1, "<", lo)):
        beyond = [
            s for z, s in zip(panel.zs_hit, panel.slopes_hit, strict=True) if side * z > side * edge
        ]
        if beyond:
            ax.plot(
                [edge] * len(beyond), beyond, marker, ms=5, color="#000000", clip_on=False, zorder=4
            )
    ax.set_xlim(lo, hi)
    ax.set_ylim(*panel.y_range)
    ax.set_title(panel.title, loc="left")
    ax.set_xlabel("z")
    ax.grid(True)


def layer_gradients_figure(
    lines: Sequence[GradientLine],
    *,
    reference: tuple[float, str] | None = None,
    ylabel: str = "|∂p_N/∂wₖ|",
    narrow: bool = False,
    name: str = "fig-layer-gradients",
) -> str:
    """log₁₀|∂p_N/∂wₖ| against k with the axis labelled in powers of ten (so a size below
    float range is drawn where it is); exact zeros as crosses in a strip below a dashed line,
    one row per activation that has any. ``reference``: a dotted horizontal line (log₁₀ value,
    label). ``narrow``: a figure for a phone, with the legend below."""

    def draw() -> Figure:
        if narrow:
            fig = new_figure(3.8, 4.6, top=0.15, right=0.15, left=0.7, bottom=1.25)
        else:
            fig = new_figure(6.4, 3.9, top=0.2, right=1.7, left=0.7)
        ax = fig.subplots()
        depth = max(len(line.log10) for line in lines)
        finite = [v for line in lines for v in line.log10 if math.isfinite(v)]
        if reference is not None:
            finite.append(reference[0])
        bottom, top = (min(finite), max(finite)) if finite else (-1.0, 1.0)
        if top - bottom < 1.0:
            bottom, top = bottom - 1.0, top + 1.0
        span = top - bottom
        for line in lines:
            _gradient_line(ax, line, depth)
        floor = _zero_strip(ax, lines, bottom, span)
        if reference is not None:
            ax.axhline(reference[0], color="#444444", lw=0.9, ls=":")
            ax.text(
                0.99,
                reference[0],
                reference[1],
                ha="right",
                va="bottom",
                fontsize=7.5,
                color="#444444",
                transform=ax.get_yaxis_transform(),
            )
        ax.set_ylim(floor, top + 0.08 * span)
        _power_ticks(ax, bottom, top)
        ax.set_xlim(0.5, depth + 0.5)
        ax.set_xlabel(_("layer k"))
        ax.set_ylabel(_("{label}  (log scale)").format(label=ylabel))
        ax.grid(True, axis="y")
        if narrow:
            ax.legend(loc="upper center", bbox_to_anchor=(0.45, -0.16), ncol=2, borderaxespad=0.0)
        else:
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        return fig

    return styled(draw, name)


def _gradient_line(ax: Axes, line: GradientLine, depth: int) -> None:
    ks = list(range(1, len(line.log10) + 1))
    ys = [v if math.isfinite(v) else math.nan for v in line.log10]
    symbol = line.marker
    marker = symbol if depth <= 40 else None
    ax.plot(
        ks,
        ys,
        color=line.colour,
        lw=line.width,
        ls=line.dash,
        marker=marker,
        ms=3.8,
        label=line.label,
    )
    alone = [
        (k, y)
        for k, y in zip(ks, ys, strict=True)
        if not math.isnan(y)
        and (k == 1 or math.isnan(ys[k - 2]))
        and (k == len(ys) or math.isnan(ys[k]))
    ]
    if alone and marker is None:  # a point between zeros would vanish without a marker
        ax.plot([k for k, _ in alone], [y for _, y in alone], symbol, ms=3.8, color=line.colour)


def _zero_strip(ax: Axes, lines: Sequence[GradientLine], bottom: float, span: float) -> float:
    """Crosses for the exact zeros below a dashed line under the data; the axis' new floor."""
    zero_rows = [line for line in lines if any(v == -math.inf for v in line.log10)]
    if not zero_rows:
        return bottom - 0.08 * span
    strip_top = bottom - 0.12 * span
    row_gap = 0.08 * span
    for row, line in enumerate(zero_rows):
        y = strip_top - (row + 1.2) * row_gap
        ks = [k for k, v in enumerate(line.log10, 1) if v == -math.inf]
        ax.plot(ks, [y] * len(ks), "x", color=line.colour, ms=6, mew=1.6, clip_on=False)
    ax.axhline(strip_top, color="#888888", lw=0.8, ls="--")
    ax.text(
        0.01,
        strip_top,
        _("below: exactly 0 (×)"),
        ha="left",
        va="bottom",
        fontsize=7.5,
        color="#444444",
        transform=ax.get_yaxis_transform(),
    )
    return strip_top - (len(zero_rows) + 0.9) * row_gap


def _power_ticks(ax: Axes, bottom: float, top: float) -> None:
    """Ticks at whole powers of ten between ``bottom`` and ``top`` (log₁₀ units): every one, or
    every 2nd, 5th, 10th, 20th, ... power, at most 7 of them, at multiples of the stride."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    low, high = math.ceil(bottom - 1e-9), math.floor(top + 1e-9)
    if high < low:
        low = high = round((bottom + top) / 2)
    stride = next(
        step
        for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10**4, 10**5)
        if (high - low) // step + 1 <= 7
    )
    ticks = [t for t in range(low, high + 1) if t % stride == 0] or [low]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: power_of_ten(round(v))))
    ax.yaxis.set_minor_locator(NullLocator())


def power_of_ten(exponent: int) -> str:
    """``10⁻⁷``, or the plain number from 0.01 to 1000."""
    if -2 <= exponent <= 3:
        return f"{10.0**exponent:g}"
    return "10" + str(exponent).translate(_SUPERSCRIPT)


#: the figure functions of this module, for :data:`symgd.render.figures.DRAWABLE`
FIGURES: tuple[Callable[..., str], ...] = (slopes_figure, layer_gradients_figure)
