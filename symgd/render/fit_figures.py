"""Figures for fitting to data, drawn with matplotlib's object API and returned as SVG text.

- :func:`epoch_loss_figure`: the loss per epoch of each run in its own panel, side by side on a
  shared scale, with the spread of the per-update batch losses behind it;
- :func:`angle_figure`: the angle between each batch gradient and the gradient on all rows;
- :func:`path_contour_figure`: two parameters: the runs' paths on the contours of the mean loss.

No pyplot and no global state: each function builds a ``Figure`` and serialises it inside an
``rc_context``. The SVG is deterministic (``svg.hashsalt`` fixed, no date or creator metadata)
and every id carries the figure's name, so several figures can be pasted into one page. Titles,
labels and legends are written in the language in effect (outside English with symgd's Hangul
font); :func:`lesson_figures` draws the page's figures with their captions.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symgd.base.i18n import _, current

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from symgd.numeric.fitting import FitResult

#: Okabe–Ito colours for full batch, mini-batch, SGD (distinguishable with colour-vision
#: deficiencies), then spares
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
_STYLE: dict[str, Any] = {
    "svg.hashsalt": "symgd-fit",
    "svg.fonttype": "path",
    "font.size": 9.0,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8.0,
    "figure.dpi": 100.0,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
    "axes.unicode_minus": True,
    "text.parse_math": False,
}
#: most points drawn per series (longer series are binned)
MAX_POINTS = 1200


# -- output -----------------------------------------------------------------------------------


def to_svg(fig: Figure, name: str) -> str:
    """``fig`` as deterministic SVG whose ids all start with ``name``."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    if ids:
        names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        text = re.sub(rf'(\bid="|#)({names})(?=["\)])', rf"\g<1>{name}-\g<2>", text)
    return text


def _styled(draw: Callable[[], Figure], name: str) -> str:
    import matplotlib

    style = _STYLE
    if current() != "en":
        from symgd.render.figure_output import register_hangul_font

        family = [register_hangul_font(), "DejaVu Sans", "sans-serif"]
        style = {**_STYLE, "font.family": family}
    with matplotlib.rc_context(style):  # type: ignore[arg-type]
        return to_svg(draw(), name)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _log_y(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from symgd.render.figure_output import power_label

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=6))
    ax.yaxis.set_major_formatter(FuncFormatter(power_label))
    ax.yaxis.set_minor_formatter(NullFormatter())


def binned(
    values: np.ndarray, bins: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(centres, low, mean, high)`` of ``values`` cut into at most ``bins`` equal bins."""
    values = np.asarray(values, dtype=float)
    count = len(values)
    if count <= bins:
        index = np.arange(count, dtype=float)
        return index, values, values, values
    edges = np.linspace(0, count, bins + 1).astype(int)
    low = np.minimum.reduceat(values, edges[:-1])
    high = np.maximum.reduceat(values, edges[:-1])
    sums = np.add.reduceat(values, edges[:-1])
    mean = sums / np.diff(edges)
    centres = (edges[:-1] + edges[1:] - 1) / 2.0
    return centres, low, mean, high


#: the band behind a noisy run's loss: the middle of the batch losses, between these quantiles
BAND_QUANTILES = (0.25, 0.75)


def quantile_band(
    values: np.ndarray, bins: int = MAX_POINTS, quantiles: tuple[float, float] = BAND_QUANTILES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(centres, low, high)``: the ``quantiles`` of ``values`` in at most ``bins`` equal
    bins (of at least a few values each, so that a quantile means something)."""
    values = np.asarray(values, dtype=float)
    count = len(values)
    bins = max(1, min(bins, count // 8 or 1))
    edges = np.linspace(0, count, bins + 1).astype(int)
    low = np.empty(bins)
    high = np.empty(bins)
    for k in range(bins):
        chunk = values[edges[k] : edges[k + 1]]
        chunk = chunk[np.isfinite(chunk)]
        low[k], high[k] = np.quantile(chunk, quantiles) if chunk.size else (np.nan, np.nan)
    centres = (edges[:-1] + edges[1:] - 1) / 2.0
    return centres, low, high


def thin_path(path: np.ndarray, most: int = 3 * MAX_POINTS) -> np.ndarray:
    """Every k-th point of ``path`` (first and last kept) so that at most ``most`` remain."""
    if len(path) <= most:
        return path
    keep = np.unique(np.linspace(0, len(path) - 1, most).astype(int))
    thinned: np.ndarray = path[keep]
    return thinned


# -- the figures ------------------------------------------------------------------------------


def epoch_loss_figure(
    runs: Sequence[FitResult],
    *,
    reference: float | None = None,
    reference_label: str | None = None,
    name: str = "fig-fit-loss",
) -> str:
    """One panel per run, shared y: loss on all rows per epoch, batch losses behind it.

    The y axis is logarithmic when the loss falls by more than a factor of 30, else linear.

    ``reference`` (the least-squares loss, when known) is drawn as a dashed line, named
    ``reference_label`` (default: least-squares loss, in the language in effect).
    """

    def draw() -> Figure:
        fig = _figure(2.55 * max(len(runs), 1) + 1.7, 2.9)
        axes = np.atleast_1d(fig.subplots(1, max(len(runs), 1), sharey=True))
        finite = [
            v
            for r in runs
            for v in (r.initial_loss, *r.loss_per_epoch)
            if math.isfinite(v) and v > 0
        ]
        if reference is not None and reference > 0:
            finite.append(reference)
        # a log scale when the loss falls by orders of magnitude, else a plain one from 0
        logarithmic = max(finite, default=1.0) > 30 * min(finite, default=1.0)
        top = max(finite, default=1.0) * (1.6 if logarithmic else 1.12)
        bottom = min(finite, default=1.0) * 0.45 if logarithmic else 0.0
        for i, (ax, run) in enumerate(zip(axes, runs, strict=False)):
            colour = COLOURS[i % len(COLOURS)]
            per_epoch = run.steps_per_epoch
            if len(run.batch_losses) and run.batch_size < run.rows:
                centres, low, high = quantile_band(run.batch_losses)
                epochs_at = (centres + 1.0) / per_epoch
                ax.fill_between(
                    epochs_at,
                    np.clip(low, bottom, top),
                    np.clip(high, bottom, top),
                    color=colour,
                    alpha=0.16,
                    lw=0,
                    label=_("batch losses (middle half)"),
                    zorder=1,
                )
            curve = np.array([run.initial_loss, *run.loss_per_epoch])
            ax.plot(
                np.arange(len(curve)),
                curve,
                "-",
                color=colour,
                lw=1.8,
                marker="o" if len(curve) <= 30 else None,
                ms=3,
                label=_("loss on all rows"),
            )
            if reference is not None:
                text = reference_label if reference_label is not None else _("least-squares loss")
                ax.axhline(reference, color="#333333", lw=0.9, ls="--", label=text)
            ax.set_title(run.label)
            ax.set_xlabel(_("epoch"))
            ax.set_xlim(0, max(len(curve) - 1, 1))
            ax.grid(True)
        if logarithmic:
            _log_y(axes[0])
        axes[0].set_ylim(bottom, top)
        axes[0].set_ylabel(_("mean loss L"))
        _shared_legend(list(axes))
        return fig

    return _styled(draw, name)


def _shared_legend(axes: Sequence[Axes]) -> None:
    """One legend beside the last panel, each label once."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(text, handle)
    axes[-1].legend(
        list(handles.values()),
        list(handles.keys()),
        loc="upper left",
        bbox_to_anchor=(1.03, 1.0),
        borderaxespad=0.0,
    )


def angle_figure(runs: Sequence[FitResult], *, name: str = "fig-fit-angles") -> str:
    """Angle (degrees) between each batch gradient and the full gradient, per update."""

    def draw() -> Figure:
        fig = _figure(6.8, 2.9)
        ax = fig.subplots()
        for i, run in enumerate(runs):
            if not len(run.angles) or run.batch_size >= run.rows:
                continue
            colour = COLOURS[i % len(COLOURS)]
            steps = np.arange(1, len(run.angles) + 1)
            ax.plot(steps, run.angles, "o", ms=2.2, color=colour, alpha=0.55, mec="none")
            window = max(5, len(run.angles) // 25)
            smooth = _rolling_median(run.angles, window)
            label = _("{run}: running median").format(run=run.label)
            ax.plot(steps, smooth, "-", color=colour, lw=1.7, label=label)
        ax.axhline(90.0, color="#777777", lw=0.9, ls="--")
        ax.set_title(
            _("above the dashed 90° line the batch step, taken alone, goes uphill on L"),
            loc="left",
            fontsize=7.5,
            color="#444444",
        )
        ax.axhline(0.0, color="#0072B2", lw=1.2, label=_("full batch: always 0°"))
        ax.set_ylim(-4, 200)
        ax.set_yticks([0, 45, 90, 135, 180])
        ax.set_xlabel(_("update"))
        ax.set_ylabel(_("angle to the full gradient (°)"))
        ax.grid(True)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        return fig

    return _styled(draw, name)


def _rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if len(values) < window:
        return np.full(len(values), float(np.nanmedian(values)) if len(values) else np.nan)
    from numpy.lib.stride_tricks import sliding_window_view

    half = window // 2
    padded = np.pad(values, (half, window - 1 - half), mode="edge")
    return np.asarray(np.nanmedian(sliding_window_view(padded, window), axis=1))


def path_contour_figure(
    loss_grid: Callable[[np.ndarray], np.ndarray],
    runs: Sequence[FitResult],
    names: tuple[str, str],
    *,
    optimum: Sequence[float] | None = None,
    optimum_label: str | None = None,
    resolution: int = 90,
    name: str = "fig-fit-contour",
) -> str:
    """Contours of the mean loss over two parameters with each run's path.

    ``loss_grid(points)`` gives the mean loss at each row of ``points`` (shape ``(G, 2)``);
    ``optimum`` (the least-squares answer) is starred and named ``optimum_label`` (default:
    least squares, in the language in effect).
    """

    def draw() -> Figure:
        fig = _figure(6.6, 4.6)
        ax = fig.subplots()
        lo, hi = _window(runs, optimum)
        _draw_loss_contours(ax, loss_grid, lo, hi, resolution)
        for i, run in enumerate(runs):
            _draw_run_path(ax, run, COLOURS[i % len(COLOURS)])
        if runs:
            start = runs[0].path[0]
            ax.plot(
                [start[0]],
                [start[1]],
                "o",
                color="#000000",
                ms=5.5,
                mec="white",
                mew=0.7,
                zorder=6,
                label=_("start"),
            )
        if optimum is not None:
            ax.plot(
                [optimum[0]],
                [optimum[1]],
                "*",
                color="#E69F00",
                ms=12,
                mec="#333333",
                mew=0.6,
                zorder=7,
                label=optimum_label if optimum_label is not None else _("least squares"),
            )
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        return fig

    return _styled(draw, name)


def _draw_loss_contours(
    ax: Axes,
    loss_grid: Callable[[np.ndarray], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    resolution: int,
) -> None:
    """Filled contours of the mean loss on a ``resolution``² grid over the box ``lo``–``hi``,
    at levels packed towards the low end (nothing when the loss is flat there)."""
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    z = loss_grid(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    z = np.ma.masked_invalid(z)
    values = z.compressed()
    if not (values.size > 4 and float(values.max() - values.min()) > 0):
        return
    levels = np.unique(np.quantile(values, np.linspace(0.0, 1.0, 19) ** 1.8))
    if len(levels) <= 2:
        return
    ax.contourf(gx, gy, z, levels=levels, cmap="Blues_r", alpha=0.8, rasterized=True, zorder=0)
    ax.contour(gx, gy, z, levels=levels, colors="#1f3b57", linewidths=0.35, alpha=0.5, zorder=1)


def _draw_run_path(ax: Axes, run: FitResult, colour: str) -> None:
    """One run's (thinned) path, bold for the full batch and faint for SGD, and a square where
    it ended."""
    path = thin_path(run.path)
    full = run.batch_size >= run.rows
    sgd = run.batch_size == 1
    ax.plot(
        path[:, 0],
        path[:, 1],
        "-",
        color=colour,
        lw=1.8 if full else (0.45 if sgd else 0.9),
        alpha=1.0 if full else (0.55 if sgd else 0.85),
        label=run.label,
        zorder=5 if full else (3 if sgd else 4),
    )
    ax.plot(
        path[-1:, 0],
        path[-1:, 1],
        "s",
        color=colour,
        ms=5.5,
        mec="white",
        mew=0.7,
        zorder=6,
    )


def _window(
    runs: Sequence[FitResult], optimum: Sequence[float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """A box around the start, the ends, the optimum and the bulk of every path."""
    anchors = [run.path[0] for run in runs] + [run.path[-1] for run in runs]
    if optimum is not None:
        anchors.append(np.asarray(optimum, dtype=float))
    for run in runs:
        finite = run.path[np.isfinite(run.path).all(axis=1)]
        if len(finite):
            anchors += [np.percentile(finite, 1, axis=0), np.percentile(finite, 99, axis=0)]
    points = np.array([a for a in anchors if np.isfinite(a).all()] or [np.zeros(2)])
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, 1e-3 * np.maximum(1.0, np.abs(hi)))
    return lo - 0.12 * span, hi + 0.12 * span


# -- the lesson's figures and their captions --------------------------------------------------

#: rows used to draw the loss contours (evenly spaced through the data when there are more)
CONTOUR_ROWS = 4000


def lesson_figures(
    runs: Sequence[FitResult],
    columns: Sequence[np.ndarray],
    reference: float | None,
    optimum: np.ndarray | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The fit page's figures (inline SVG ``Markup``, ``None`` when not drawn) and their
    captions, in the language in effect. ``reference`` is the lowest loss known and
    ``optimum`` where it lies (least squares, else Newton's method)."""
    from markupsafe import Markup

    first = runs[0]
    model, data, ls = first.model, first.data, first.least_squares
    assert model is not None and data is not None
    names = first.param_names
    label = _("least-squares loss") if ls is not None else _("loss at the reference optimum")
    figures: dict[str, Any] = {
        "losses": Markup(epoch_loss_figure(runs, reference=reference, reference_label=label)),
        "angles": None,
        "contour": None,
    }
    if [r for r in runs if r.batch_size < r.rows and len(r.angles)]:
        figures["angles"] = Markup(angle_figure(runs))
    contour_note = ""
    if len(names) == 2:
        sample = columns
        if data.n_rows > CONTOUR_ROWS:
            keep = np.linspace(0, data.n_rows - 1, CONTOUR_ROWS).astype(int)
            sample = tuple(c[keep] for c in columns)
            contour_note = " " + _(
                "The contours are computed from {used} of the {rows} rows, evenly spaced "
                "through the file."
            ).format(used=f"{CONTOUR_ROWS:,}", rows=f"{data.n_rows:,}")
        figures["contour"] = Markup(
            path_contour_figure(
                lambda points: model.mean_loss(points, sample),
                runs,
                (names[0], names[1]),
                optimum=None if optimum is None else list(optimum),
                optimum_label=_("least squares") if ls is not None else _("reference optimum"),
            )
        )
    return figures, _captions(first, reference, contour_note)


def _captions(first: FitResult, reference: float | None, contour_note: str) -> dict[str, str]:
    """The words under each figure."""
    names = first.param_names
    losses = _(
        "Each panel is one run, all on the same scale. The line is the mean loss on all rows "
        "after each epoch (epoch 0 is the start); the shaded band holds the middle half (25th "
        "to 75th percentile) of the losses on the batches used for the updates, which is what "
        "each step actually sees."
    )
    if first.least_squares is not None:
        losses += " " + _("The dashed line is the least-squares loss, the lowest possible.")
    elif reference is not None:
        losses += " " + _("The dashed line is the loss at the reference optimum (below).")
    contour = ""
    if len(names) == 2:
        contour = (
            _(
                "The mean loss L({first}, {second}) as contours, darker is lower, with each "
                "run's path from the common start (the square marks where it ended)."
            ).format(first=names[0], second=names[1])
            + contour_note
        )
    return {
        "losses": losses,
        "angles": _(
            "For the first updates of each run, the angle between the gradient on the batch "
            "and the gradient on all rows at the same point. The full batch's angle is 0° by "
            "definition; the dots are single updates and the line a running median."
        ),
        "contour": contour,
    }
