"""What every lesson figure shares: the style, the figure factory, SVG and PNG output, and the
axis helpers (log and symlog axes with plain-Unicode tick labels, a padded value window).

Nothing here touches pyplot or its global state. The SVG is deterministic (``svg.hashsalt``
fixed, no date metadata) and its ids carry a per-figure prefix, so several figures can live
inline in one HTML page without their clip paths and glyph definitions colliding. matplotlib
is imported only when a figure is drawn.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


#: matplotlib settings every lesson figure is drawn under
STYLE: dict[str, Any] = {
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

#: resolution of the raster layers inside SVG figures (and of PNG figures)
RASTER_DPI = 150


def new_figure(
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


def styled(draw: Callable[[], Figure], name: str) -> str:
    """The SVG of the figure ``draw()`` builds under :data:`STYLE`, its ids prefixed ``name``
    (outside English with symgd's Hangul font, see :func:`language_style`)."""
    import matplotlib

    style = language_style()
    with matplotlib.rc_context(style):  # type: ignore[arg-type]
        fig = draw()
        svg = to_svg(fig, name)
    if style is STYLE:
        return svg
    # WeasyPrint's SVG text reads a family after ", " with its quote left on: no spaces
    return re.sub(r"font-family: ([^;\"]*)", lambda m: m.group(0).replace(", ", ","), svg)


def language_style() -> dict[str, Any]:
    """:data:`STYLE` for the language in effect: English as it is; otherwise symgd's shipped
    Hangul font registered with matplotlib and named first. It holds Hangul only, so every
    other glyph (digits, −, ∂, Greek) falls back to DejaVu Sans."""
    from symgd.base.i18n import current

    if current() == "en":
        return STYLE
    return {**STYLE, "font.family": [register_hangul_font(), "DejaVu Sans", "sans-serif"]}


@functools.cache
def register_hangul_font() -> str:
    """Add the shipped Hangul font to matplotlib's font manager (once); its family name."""
    from matplotlib import font_manager

    from symgd.base.i18n import HANGUL_FAMILY, hangul_font_path

    font_manager.fontManager.addfont(str(hangul_font_path()))
    return HANGUL_FAMILY


# -- axes -------------------------------------------------------------------------------------


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


def log_axis(ax: Axes, axis: str = "y", *, symlog: float | None = None, values: Any = None) -> None:
    """Make ``axis`` of ``ax`` logarithmic (symlog with ``symlog`` as its linear threshold,
    ticked at :func:`symlog_ticks` of ``values``), labelled by :func:`power_label`."""
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


def value_window(values: np.ndarray) -> tuple[float, float]:
    """``(bottom, top)`` around the finite ``values`` with 8% padding (±1 when they are flat)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    bottom, top = float(finite.min()), float(finite.max())
    if top - bottom < 1e-12:
        bottom, top = bottom - 1.0, top + 1.0
    pad = 0.08 * (top - bottom)
    return bottom - pad, top + pad
