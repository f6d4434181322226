"""Figures of a run against the step number: the loss and |∇f| per step (:func:`progress_figure`),
each coordinate of one run (:func:`traces_figure`) and one signal per learning rate
(:func:`regimes_figure`); with the log-axis windows they share (:func:`log_window`,
:func:`clip_below`).

Inputs are plain numbers and arrays (:class:`~symgd.render.figure_data.PathData`, ...); each
function returns SVG text (see :mod:`symgd.render.figure_output`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symgd.base.i18n import _
from symgd.render.figure_data import PALETTE, PathData, Regime
from symgd.render.figure_output import log_axis, new_figure, power_label, styled

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


#: most powers of ten a log axis spans: below that a value says nothing a reader can use
MAX_DECADES = 20
#: relative size under which a gap f − f* is rounding noise of the subtraction
GAP_NOISE = 4 * 2.220446049250313e-16


def log_window(values: Sequence[Any], floor: float = 0.0) -> tuple[float, float]:
    """``(bottom, top)`` for a log axis over ``values``: positive, finite values above
    ``floor``, spanning at most :data:`MAX_DECADES` powers of ten down from the largest."""
    data = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values] or [np.ones(1)])
    data = data[np.isfinite(data) & (data > max(floor, 1e-300))]
    if data.size == 0:
        return 1e-16, 1.0
    top = float(data.max())
    bottom = max(float(data.min()), top * 10.0**-MAX_DECADES, floor, 1e-300)
    return bottom, top


def clip_below(values: Any, bottom: float) -> np.ndarray:
    """``values`` with everything below ``bottom`` (and every non-positive value) left out."""
    out = np.array(values, dtype=float)
    out[~(out >= bottom)] = np.nan
    return out


def clip_note(dropped: bool, bottom: float) -> str:
    """The panel note when values below ``bottom`` were left out (``""`` when none were)."""
    if not dropped:
        return ""
    power = power_label(10.0 ** math.floor(math.log10(bottom)))
    return _("values below {power} not drawn").format(power=power)


def progress_figure(
    paths: Sequence[PathData], *, f_star: float | None = None, name: str = "fig-progress"
) -> str:
    """Loss and |∇f| per step, side by side, on log scales (symlog when f goes negative).

    With ``f_star`` the left panel is the gap f − f*, always on a log scale: a gap at or below
    the rounding noise of f* (or more than :data:`MAX_DECADES` powers of ten under the largest)
    is left out, and the panel says so. The legend sits above the panels, off the data."""

    def draw() -> Figure:
        fig = new_figure(7.2, 3.3, left=0.75, top=0.5, wspace=0.38)
        left, right = fig.subplots(1, 2)
        grads = [np.asarray(p.grad_norms, dtype=float) for p in paths]
        g_bottom, g_top = log_window(grads)
        gaps: list[np.ndarray] = []
        f_bottom, f_top = 1.0, 1.0
        if f_star is not None:
            gaps = [np.asarray(p.fs, dtype=float) - f_star for p in paths]
            f_bottom, f_top = log_window(gaps, floor=GAP_NOISE * abs(f_star))
        for k, (path, grad) in enumerate(zip(paths, grads, strict=True)):
            steps = steps_of(path)
            shown = clip_below(gaps[k], f_bottom) if gaps else path.fs
            left.plot(steps, shown, color=path.colour, lw=1.5, label=path.label)
            right.plot(steps, clip_below(grad, g_bottom), color=path.colour, lw=1.5)
            if path.diverged and len(steps):
                right.plot(steps[-1:], grad[-1:], ">", color=path.colour, ms=5)
        notes = []
        if f_star is not None:
            log_axis(left)
            left.set_ylim(f_bottom / 2, f_top * 2)
            left.set_ylabel("f(xₖ) − f*")
            notes.append((left, clip_note(_dropped(gaps, f_bottom), f_bottom)))
        else:
            _scale_values_axis(left, paths)
            left.set_ylabel("f(xₖ)")
        log_axis(right)
        right.set_ylim(g_bottom / 2, g_top * 2)
        right.set_ylabel("|∇f(xₖ)|")
        notes.append((right, clip_note(_dropped(grads, g_bottom), g_bottom)))
        for ax, note in notes:
            if note:
                ax.set_title(note, loc="right", fontsize=7.5, color="#5b6570")
        for ax in (left, right):
            ax.set_xlabel(_("step k"))
            ax.grid(True, which="major")
        fig.legend(
            *left.get_legend_handles_labels(),
            loc="upper left",
            bbox_to_anchor=(0.75 / 7.2, 1.0),
            ncol=max(1, len(paths)),
            borderaxespad=0.3,
        )
        return fig

    return styled(draw, name)


def _scale_values_axis(ax: Axes, paths: Sequence[PathData]) -> None:
    """Log scale for f values that are positive and span over a factor of 100, symlog for
    values that reach over 100 times the first one in size, else leave the axis linear."""
    values = np.concatenate([p.fs[np.isfinite(p.fs)] for p in paths] or [np.zeros(1)])
    first = max(float(np.abs(values[:1]).max(initial=1.0)), 1.0)
    if values.size and float(values.min()) > 0 and float(values.max()) > 100 * float(values.min()):
        log_axis(ax)
    elif float(np.abs(values).max(initial=0.0)) > 100 * first:
        log_axis(ax, symlog=first, values=values)


def _dropped(series: Sequence[np.ndarray], bottom: float) -> bool:
    """True when some finite value of ``series`` lies below ``bottom`` (so is not drawn)."""
    return any(bool(np.any(np.isfinite(v) & (v < bottom))) for v in series)


def steps_of(path: PathData) -> np.ndarray:
    """The step number of each point of ``path`` (0, 1, … unless it records its own)."""
    return np.asarray(path.steps) if path.steps is not None else np.arange(len(path.fs))


def traces_figure(path: PathData, variables: Sequence[str], *, name: str = "fig-traces") -> str:
    """Each coordinate of one run against the step number (for three or more variables)."""

    def draw() -> Figure:
        fig = new_figure(6.8, 3.0, right=1.1, top=0.35)
        ax = fig.subplots()
        steps = steps_of(path)
        shown = list(variables[:8])
        for i, variable in enumerate(shown):
            ax.plot(steps, path.xs[:, i], lw=1.5, color=PALETTE[i % len(PALETTE)], label=variable)
        ax.set_xlabel(_("step k"))
        ax.set_ylabel(_("coordinate value"))
        title = (
            _("coordinates along the {method} run")
            if len(variables) <= 8
            else _("coordinates along the {method} run (first 8)")
        )
        ax.set_title(title.format(method=path.label.lower()))
        ax.grid(True)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        return fig

    return styled(draw, name)


def regimes_figure(
    regimes: Sequence[Regime],
    *,
    ylabel: str,
    name: str = "fig-rates",
) -> str:
    """Small multiples: one signal per step for each learning rate (monotone, zig-zag, …)."""

    def draw() -> Figure:
        fig = new_figure(7.2, 2.6, wspace=0.35, top=0.35)
        axes = np.atleast_1d(fig.subplots(1, len(regimes)))
        for ax, regime in zip(axes, regimes, strict=True):
            series = np.asarray(regime.series, dtype=float)
            first = float(np.abs(series[:1]).max(initial=1.0)) if len(series) else 1.0
            limit = max(first, 1e-12) * 1.6
            outside = np.flatnonzero(~(np.abs(series) <= 3 * limit))
            if outside.size:  # a divergent run: stop drawing once it has left the frame
                series = series[: outside[0] + 1]
            steps = np.arange(len(series))
            ax.axhline(0.0, color="#999999", lw=0.8)
            ax.plot(steps, series, "-o", color=regime.path.colour, lw=1.1, ms=3, clip_on=True)
            ax.set_ylim(-limit, limit)
            ax.set_title(regime.title)
            ax.set_xlabel(_("step k"))
            ax.grid(True)
        axes[0].set_ylabel(ylabel)
        return fig

    return styled(draw, name)
