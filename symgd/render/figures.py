"""Figures for the lesson, drawn with matplotlib's object API and returned as SVG text.

Nothing here touches pyplot or its global state: each function builds a ``Figure``, draws on it
and serialises it. The SVG is deterministic (``svg.hashsalt`` fixed, no date metadata) and its
ids carry a per-figure prefix, so several figures can live inline in one HTML page without
their clip paths and glyph definitions colliding.

Inputs are plain numbers and arrays (``PathData``, ``Surface``, ...): this module knows nothing
of SymPy, and of the optimizers only their colours (from their registry,
:data:`symgd.numeric.optimizers.OPTIMIZERS`); a :class:`FigureJob` can be pickled and drawn in
another process. matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

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

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


_STYLE: dict[str, Any] = {
    "svg.hashsalt": "symgd",
    "svg.fonttype": "none",  # text stays text: smaller, faster, selectable
    "font.family": ["DejaVu Sans", "sans-serif"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8.0,
    "figure.dpi": 100.0,
    "path.simplify": True,
    "axes.unicode_minus": True,
    "mathtext.fontset": "dejavusans",
    "axes.formatter.use_mathtext": False,
    "text.parse_math": False,
}
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class FigureJob:
    """A figure to draw: the name of a function in this module and its keyword arguments.

    Jobs hold only data, so they can be drawn in another process.
    """

    function: str
    kwargs: dict[str, Any]

    def draw(self) -> str:
        return str(globals()[self.function](**self.kwargs))


# -- output ----------------------------------------------------------------------------------


#: resolution of the raster layers inside SVG figures (and of PNG figures)
RASTER_DPI = 150


def _figure(
    width: float,
    height: float,
    *,
    left: float = 0.62,
    right: float = 0.15,
    bottom: float = 0.48,
    top: float = 0.3,
    wspace: float | None = None,
) -> Figure:
    """A figure with fixed margins (inches): one layout pass, no tight-bbox redraws."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace,
    )
    return fig


def to_svg(fig: Figure, name: str) -> str:
    """Serialise ``fig`` as deterministic SVG for inlining in HTML: ids all start with
    ``name``, no date, no comments, no namespace declarations."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "symgd"}):
        # dpi only sets the resolution of rasterised layers (filled contours, basins): 150 dpi
        # keeps them sharp in print; lines and text stay vector
        fig.savefig(buffer, format="svg", dpi=RASTER_DPI, metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    # Inline SVG in HTML needs no namespace declarations, and leaving them out keeps the
    # page free of anything that looks like an external URL.
    text = re.sub(r'\s+xmlns(?::xlink)?="[^"]*"', "", text)
    return prefix_ids(text, name)


def to_png(fig: Figure, dpi: int = 150) -> bytes:
    """Serialise ``fig`` as PNG bytes (no timestamp metadata)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def prefix_ids(svg: str, name: str) -> str:
    """Rename every ``id`` in ``svg`` (and each reference to it) to ``<name>-<id>``."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if not ids:
        return svg
    names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    return re.sub(rf'(\bid="|#)({names})(?=["\)])', rf"\g<1>{name}-\g<2>", svg)


def _styled(draw: Callable[[], Figure], name: str) -> str:
    import matplotlib

    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]
        fig = draw()
        return to_svg(fig, name)


# -- the figures -----------------------------------------------------------------------------


def directional_figure(grad_norm: float, *, name: str = "fig-dir") -> str:
    """D(θ) = |∇f| cos θ for θ in [0°, 360°], with 0°, 90° and 180° marked."""

    def draw() -> Figure:
        fig = _figure(6.0, 2.7, top=0.15)
        ax = fig.subplots()
        theta = np.linspace(0.0, 360.0, 361)
        scale = grad_norm if grad_norm > 0 else 1.0
        ax.plot(theta, grad_norm * np.cos(np.radians(theta)), color=PALETTE[0], lw=1.8)
        ax.axhline(0.0, color="#999999", lw=0.8)
        notes = (
            (0, PALETTE[1], "uphill fastest", (8, -2), "left", "top"),
            (90, "#666666", "no change", (6, 6), "left", "bottom"),
            (180, PALETTE[2], "downhill fastest", (0, -10), "center", "top"),
        )
        for angle, colour, text, offset, ha, va in notes:
            value = grad_norm * math.cos(math.radians(angle))
            ax.plot([angle], [value], "o", color=colour, ms=6, zorder=3, clip_on=False)
            ax.annotate(
                f"{text} (θ = {angle}°)",
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
        ax.set_xlabel("angle θ between the step and ∇f (degrees)")
        ax.set_ylabel("change of f per unit step")
        ax.grid(True)
        return fig

    return _styled(draw, name)


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
        fig = _figure(6.4, 3.7, top=0.15, right=1.6)
        ax = fig.subplots()
        lo, hi = curve.region.lo[0], curve.region.hi[0]
        bottom, top = _value_window(curve.fs)
        ax.plot(curve.xs, curve.fs, color="#333333", lw=1.6, label=f"f({variable})", zorder=2)
        half = 0.1 * (hi - lo)
        for k, (x0, y0, slope) in enumerate(curve.tangents):
            xs = np.array([x0 - half, x0 + half])
            ax.plot(
                xs,
                y0 + slope * (xs - x0),
                color=PALETTE[4],
                lw=1.2,
                label="tangent lines" if k == 0 else None,
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

    return _styled(draw, name)


def power_label(value: float, _position: object = None) -> str:
    """Tick label for log axes in plain Unicode (``10⁻³``): no mathtext, which is slow."""
    if value == 0 or not math.isfinite(value):
        return "0"
    sign = "−" if value < 0 else ""
    exponent = math.log10(abs(value))
    rounded = round(exponent)
    if abs(exponent - rounded) > 1e-9:
        return ""
    if -2 <= rounded <= 3:
        return f"{sign}{10.0**rounded:g}"
    return f"{sign}10{str(rounded).translate(_SUPERSCRIPT)}"


def _log_axis(
    ax: Axes, axis: str = "y", *, symlog: float | None = None, values: Any = None
) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    if symlog is None:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
        target.set_major_locator(LogLocator(base=10.0, numticks=6))
    else:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("symlog", linthresh=symlog)
        target.set_major_locator(FixedLocator(symlog_ticks(values, symlog)))
    target.set_major_formatter(FuncFormatter(power_label))
    target.set_minor_locator(NullLocator())


def symlog_ticks(values: Any, linthresh: float, most: int = 4) -> list[float]:
    """0 and a few powers of ten on each side that the data reach (at most ``most`` each)."""
    data = np.asarray(values if values is not None else [], dtype=float)
    data = data[np.isfinite(data)]
    ticks = [0.0]
    low = math.ceil(math.log10(linthresh))
    for sign in (1.0, -1.0):
        side = data[data * sign > linthresh] * sign
        if side.size == 0:
            continue
        high = math.floor(math.log10(float(side.max())))
        stride = max(1, math.ceil((high - low + 1) / most))
        ticks += [sign * 10.0**k for k in range(high, low - 1, -stride)]
    return sorted(ticks)


def _value_window(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    bottom, top = float(finite.min()), float(finite.max())
    if top - bottom < 1e-12:
        bottom, top = bottom - 1.0, top + 1.0
    pad = 0.08 * (top - bottom)
    return bottom - pad, top + pad


def contour_figure(
    surface: Surface,
    paths: Sequence[PathData],
    *,
    variables: tuple[str, str] = ("x", "y"),
    markers: Sequence[Marker] = (),
    legend: bool = True,
    name: str = "fig-contour",
) -> str:
    """Two variables: filled level sets, −∇f arrows, critical points and the paths."""

    def draw() -> Figure:
        width, left, right, bottom, top = 7.0, 0.6, 1.9 if legend else 0.15, 0.48, 0.15
        (x0, y0), (x1, y1) = surface.region.lo, surface.region.hi
        axes_width = width - left - right
        axes_height = min(
            max(axes_width * (y1 - y0) / (x1 - x0), 0.55 * axes_width), 1.25 * axes_width
        )
        fig = _figure(
            width, axes_height + bottom + top, left=left, right=right, bottom=bottom, top=top
        )
        ax = fig.subplots()
        draw_contour(ax, surface, paths, markers=markers, variables=variables, legend=legend)
        return fig

    return _styled(draw, name)


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
) -> None:
    """Draw the contour picture on ``ax`` (shared by the main figure and the panel)."""
    (x0, y0), (x1, y1) = surface.region.lo, surface.region.hi
    z = np.ma.masked_invalid(surface.zs)
    levels = contour_levels(z.compressed())
    if levels is not None:
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
    if arrows and surface.arrows is not None and len(surface.arrows[0]):
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
            label="direction of −∇f",
        )
    for path in paths:
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
        if len(xs) > 1 and surface.region.contains(xs[-1]):
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
    _draw_markers(ax, markers)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("auto")
    ax.set_xlabel(variables[0])
    ax.set_ylabel(variables[1])
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


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
        label = marker.label or marker.kind
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


def _clip_note(dropped: bool, bottom: float) -> str:
    return (
        f"values below {power_label(10.0 ** math.floor(math.log10(bottom)))} not drawn"
        if (dropped)
        else ""
    )


def progress_figure(
    paths: Sequence[PathData], *, f_star: float | None = None, name: str = "fig-progress"
) -> str:
    """Loss and |∇f| per step, side by side, on log scales (symlog when f goes negative).

    With ``f_star`` the left panel is the gap f − f*, always on a log scale: a gap at or below
    the rounding noise of f* (or more than :data:`MAX_DECADES` powers of ten under the largest)
    is left out, and the panel says so. The legend sits above the panels, off the data."""

    def draw() -> Figure:
        fig = _figure(7.2, 3.3, left=0.75, top=0.5, wspace=0.38)
        left, right = fig.subplots(1, 2)
        grads = [np.asarray(p.grad_norms, dtype=float) for p in paths]
        g_bottom, g_top = log_window(grads)
        gaps: list[np.ndarray] = []
        f_bottom, f_top = 1.0, 1.0
        if f_star is not None:
            gaps = [np.asarray(p.fs, dtype=float) - f_star for p in paths]
            f_bottom, f_top = log_window(gaps, floor=GAP_NOISE * abs(f_star))
        for k, (path, grad) in enumerate(zip(paths, grads, strict=True)):
            steps = _steps_of(path)
            shown = clip_below(gaps[k], f_bottom) if gaps else path.fs
            left.plot(steps, shown, color=path.colour, lw=1.5, label=path.label)
            right.plot(steps, clip_below(grad, g_bottom), color=path.colour, lw=1.5)
            if path.diverged and len(steps):
                right.plot(steps[-1:], grad[-1:], ">", color=path.colour, ms=5)
        notes = []
        if f_star is not None:
            _log_axis(left)
            left.set_ylim(f_bottom / 2, f_top * 2)
            left.set_ylabel("f(xₖ) − f*")
            notes.append((left, _clip_note(_dropped(gaps, f_bottom), f_bottom)))
        else:
            values = np.concatenate([p.fs[np.isfinite(p.fs)] for p in paths] or [np.zeros(1)])
            first = max(float(np.abs(values[:1]).max(initial=1.0)), 1.0)
            if (
                values.size
                and float(values.min()) > 0
                and float(values.max()) > 100 * float(values.min())
            ):
                _log_axis(left)
            elif float(np.abs(values).max(initial=0.0)) > 100 * first:
                _log_axis(left, symlog=first, values=values)
            left.set_ylabel("f(xₖ)")
        _log_axis(right)
        right.set_ylim(g_bottom / 2, g_top * 2)
        right.set_ylabel("|∇f(xₖ)|")
        notes.append((right, _clip_note(_dropped(grads, g_bottom), g_bottom)))
        for ax, note in notes:
            if note:
                ax.set_title(note, loc="right", fontsize=7.5, color="#5b6570")
        for ax in (left, right):
            ax.set_xlabel("step k")
            ax.grid(True, which="major")
        fig.legend(
            *left.get_legend_handles_labels(),
            loc="upper left",
            bbox_to_anchor=(0.75 / 7.2, 1.0),
            ncol=max(1, len(paths)),
            borderaxespad=0.3,
        )
        return fig

    return _styled(draw, name)


def _dropped(series: Sequence[np.ndarray], bottom: float) -> bool:
    """True when some finite value of ``series`` lies below ``bottom`` (so is not drawn)."""
    return any(bool(np.any(np.isfinite(v) & (v < bottom))) for v in series)


def _steps_of(path: PathData) -> np.ndarray:
    return np.asarray(path.steps) if path.steps is not None else np.arange(len(path.fs))


def traces_figure(path: PathData, variables: Sequence[str], *, name: str = "fig-traces") -> str:
    """Each coordinate of one run against the step number (for three or more variables)."""

    def draw() -> Figure:
        fig = _figure(6.8, 3.0, right=1.1, top=0.35)
        ax = fig.subplots()
        steps = _steps_of(path)
        shown = list(variables[:8])
        for i, variable in enumerate(shown):
            ax.plot(steps, path.xs[:, i], lw=1.5, color=PALETTE[i % len(PALETTE)], label=variable)
        ax.set_xlabel("step k")
        ax.set_ylabel("coordinate value")
        ax.set_title(
            f"coordinates along the {path.label.lower()} run"
            + ("" if len(variables) <= 8 else " (first 8)")
        )
        ax.grid(True)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        return fig

    return _styled(draw, name)


def regimes_figure(
    regimes: Sequence[Regime],
    *,
    ylabel: str,
    name: str = "fig-rates",
) -> str:
    """Small multiples: one signal per step for each learning rate (monotone, zig-zag, …)."""

    def draw() -> Figure:
        fig = _figure(7.2, 2.6, wspace=0.35, top=0.35)
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
            ax.set_xlabel("step k")
            ax.grid(True)
        axes[0].set_ylabel(ylabel)
        return fig

    return _styled(draw, name)


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
        fig = _figure(7.2, 2.9, left=0.5, wspace=0.28, top=0.35)
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

    return _styled(draw, name)


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

        fig = _figure(6.4, 4.3, right=2.3, top=0.15)
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
            handles.append(Patch(color="#eeeeee", label="no minimum reached"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
        return fig

    return _styled(draw, name)


def warm_up() -> None:
    """Import matplotlib and draw a tiny figure once, so that fonts and caches are loaded."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]
        fig = Figure(figsize=(1.0, 1.0))
        ax = fig.subplots()
        ax.plot([0.0, 1.0], [0.0, 1.0])
        ax.set_xlabel("x")
        fig.savefig(io.StringIO(), format="svg")


def colour_for(method: str, index: int) -> str:
    """The colour a method's path gets in every figure."""
    return METHOD_COLOURS.get(method, PALETTE[index % len(PALETTE)])
