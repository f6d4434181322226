"""Figures for fitting to data, drawn with matplotlib's object API and returned as SVG text.

- :func:`epoch_loss_figure`: the loss per epoch of each run in its own panel, side by side on a
  shared scale, with the spread of the per-update batch losses behind it;
- :func:`angle_figure`: the angle between each batch gradient and the gradient on all rows;
- :func:`path_contour_figure`: two parameters: the runs' paths on the contours of the mean loss.

No pyplot and no global state: each function builds a ``Figure`` and serialises it inside an
``rc_context``. The SVG is deterministic (``svg.hashsalt`` fixed, no date or creator metadata)
and every id carries the figure's name, so several figures can be pasted into one page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

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
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    if ids:
        names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        text = re.sub(rf'(\bid="|#)({names})(?=["\)])', rf"\g<1>{name}-\g<2>", text)
    return text


def _styled(draw: Callable[[], Figure], name: str) -> str:
    import matplotlib

    with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]
        return to_svg(draw(), name)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _log_y(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from symgd.render.figures import power_label

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=6))
    ax.yaxis.set_major_formatter(FuncFormatter(power_label))
    ax.yaxis.set_minor_formatter(NullFormatter())


def binned(values: np.ndarray, bins: int = MAX_POINTS
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


def thin_path(path: np.ndarray, most: int = 3 * MAX_POINTS) -> np.ndarray:
    """Every k-th point of ``path`` (first and last kept) so that at most ``most`` remain."""
    if len(path) <= most:
        return path
    keep = np.unique(np.linspace(0, len(path) - 1, most).astype(int))
    thinned: np.ndarray = path[keep]
    return thinned


# -- the figures ------------------------------------------------------------------------------

def epoch_loss_figure(runs: Sequence[FitResult], *, reference: float | None = None,
                      name: str = "fig-fit-loss") -> str:
    """One panel per run, shared y: loss on all rows per epoch, batch losses behind it.

    The y axis is logarithmic when the loss falls by more than a factor of 30, else linear.

    ``reference`` (the least-squares loss, when known) is drawn as a dashed line.
    """

    def draw() -> Figure:
        fig = _figure(2.55 * max(len(runs), 1) + 0.4, 2.9)
        axes = np.atleast_1d(fig.subplots(1, max(len(runs), 1), sharey=True))
        finite = [v for r in runs for v in (r.initial_loss, *r.loss_per_epoch)
                  if math.isfinite(v) and v > 0]
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
                centres, low, _, high = binned(run.batch_losses)
                epochs_at = (centres + 1.0) / per_epoch
                ax.fill_between(epochs_at, np.clip(low, bottom, top), np.clip(high, bottom, top),
                                color=colour, alpha=0.2, lw=0, label="batch losses (range)")
            curve = np.array([run.initial_loss, *run.loss_per_epoch])
            ax.plot(np.arange(len(curve)), curve, "-", color=colour, lw=1.8,
                    marker="o" if len(curve) <= 30 else None, ms=3, label="loss on all rows")
            if reference is not None:
                ax.axhline(reference, color="#333333", lw=0.9, ls="--",
                           label="least-squares loss")
            ax.set_title(run.label)
            ax.set_xlabel("epoch")
            ax.set_xlim(0, max(len(curve) - 1, 1))
            ax.grid(True)
        if logarithmic:
            _log_y(axes[0])
        axes[0].set_ylim(bottom, top)
        axes[0].set_ylabel("mean loss L")
        axes[-1].legend(loc="upper right")
        return fig

    return _styled(draw, name)


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
            ax.plot(steps, smooth, "-", color=colour, lw=1.7,
                    label=f"{run.label}: running median")
        ax.axhline(90.0, color="#777777", lw=0.9, ls="--")
        ax.text(0.99, 0.99, "above 90°: the batch step, taken alone, goes uphill on L",
                transform=ax.transAxes, ha="right", va="top", fontsize=7.5, color="#444444",
                bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "none", "alpha": 0.85})
        ax.axhline(0.0, color="#0072B2", lw=1.2, label="full batch: always 0°")
        ax.set_ylim(-4, 200)
        ax.set_yticks([0, 45, 90, 135, 180])
        ax.set_xlabel("update")
        ax.set_ylabel("angle to the full gradient (°)")
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
    resolution: int = 90,
    name: str = "fig-fit-contour",
) -> str:
    """Contours of the mean loss over two parameters with each run's path.

    ``loss_grid(points)`` gives the mean loss at each row of ``points`` (shape ``(G, 2)``);
    ``optimum`` (the least-squares answer) is starred.
    """

    def draw() -> Figure:
        fig = _figure(6.6, 4.6)
        ax = fig.subplots()
        lo, hi = _window(runs, optimum)
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                             np.linspace(lo[1], hi[1], resolution))
        z = loss_grid(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
        z = np.ma.masked_invalid(z)
        values = z.compressed()
        if values.size > 4 and float(values.max() - values.min()) > 0:
            levels = np.unique(np.quantile(values, np.linspace(0.0, 1.0, 19) ** 1.8))
            if len(levels) > 2:
                ax.contourf(gx, gy, z, levels=levels, cmap="Blues_r", alpha=0.8,
                            rasterized=True, zorder=0)
                ax.contour(gx, gy, z, levels=levels, colors="#1f3b57", linewidths=0.35,
                           alpha=0.5, zorder=1)
        for i, run in enumerate(runs):
            colour = COLOURS[i % len(COLOURS)]
            path = thin_path(run.path)
            full = run.batch_size >= run.rows
            sgd = run.batch_size == 1
            ax.plot(path[:, 0], path[:, 1], "-", color=colour,
                    lw=1.8 if full else (0.45 if sgd else 0.9),
                    alpha=1.0 if full else (0.55 if sgd else 0.85), label=run.label,
                    zorder=5 if full else (3 if sgd else 4))
            ax.plot(path[-1:, 0], path[-1:, 1], "s", color=colour, ms=5.5, mec="white",
                    mew=0.7, zorder=6)
        if runs:
            start = runs[0].path[0]
            ax.plot([start[0]], [start[1]], "o", color="#000000", ms=5.5, mec="white", mew=0.7,
                    zorder=6, label="start")
        if optimum is not None:
            ax.plot([optimum[0]], [optimum[1]], "*", color="#E69F00", ms=12, mec="#333333",
                    mew=0.6, zorder=7, label="least squares")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        return fig

    return _styled(draw, name)


def _window(runs: Sequence[FitResult], optimum: Sequence[float] | None
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


# -- the lesson section -----------------------------------------------------------------------

#: rows used to draw the loss contours (evenly spaced through the data when there are more)
CONTOUR_ROWS = 4000


def fit_lesson_context(results: FitResult | Sequence[FitResult]) -> dict[str, Any]:
    """Everything ``partials/fit.html.jinja2`` shows, from one fit or several of one problem.

    Pass the runs of :func:`symgd.numeric.fitting.compare_batches` (full batch, mini-batch, SGD)
    to get the side-by-side comparison. Figures are inline SVG (``Markup``); formulas are LaTeX
    for the ``math``/``dmath`` filters; numbers are floats for the ``number`` filter.
    """
    from markupsafe import Markup

    from symgd.numeric.fitting import FitResult

    runs = (results,) if isinstance(results, FitResult) else tuple(results)
    if not runs:
        raise ValueError("fit_lesson_context needs at least one FitResult")
    first = runs[0]
    model, data = first.model, first.data
    if model is None or data is None:
        raise ValueError("the FitResult carries no model or data (build it with symgd.fit)")
    ls = first.least_squares
    reference = ls.loss if ls is not None else None
    names = first.param_names
    columns = data.select(model.columns)
    figures: dict[str, Any] = {
        "losses": Markup(epoch_loss_figure(runs, reference=reference)),
        "angles": None,
        "contour": None,
    }
    noisy = [r for r in runs if r.batch_size < r.rows and len(r.angles)]
    if noisy:
        figures["angles"] = Markup(angle_figure(runs))
    contour_note = ""
    if len(names) == 2:
        sample = columns
        if data.n_rows > CONTOUR_ROWS:
            keep = np.linspace(0, data.n_rows - 1, CONTOUR_ROWS).astype(int)
            sample = tuple(c[keep] for c in columns)
            contour_note = (f" The contours are computed from {CONTOUR_ROWS:,} of the "
                            f"{data.n_rows:,} rows, evenly spaced through the file.")
        figures["contour"] = Markup(path_contour_figure(
            lambda points: model.mean_loss(points, sample), runs, (names[0], names[1]),
            optimum=None if ls is None else list(ls.vector)))
    return {
        "title": "Fitting to data: full batch, mini-batch and stochastic descent",
        "data_sentence": _data_sentence(first),
        **_formulas(first),
        "settings": _settings(first),
        "runs": [_run_row(r) for r in runs],
        "least_squares": _least_squares_block(first, columns) if ls is not None else None,
        "figures": figures,
        "captions": {
            "losses": (
                "Each panel is one run, all on the same scale. The line is the mean "
                "loss on all rows after each epoch (epoch 0 is the start); the shaded band is "
                "the range of the losses on the batches used for the updates, which is what "
                "each step actually sees."
                + (" The dashed line is the least-squares loss, the lowest possible."
                   if reference is not None else "")),
            "angles": (
                "For the first updates of each run, the angle between the gradient on the "
                "batch and the gradient on all rows at the same point. The full batch's angle "
                "is 0° by definition; the dots are single updates and the line a running "
                "median."),
            "contour": (
                f"The mean loss L({names[0]}, {names[1]}) as contours, darker is lower, with "
                "each run's path from the common start (the square marks where it ended)."
                + contour_note) if len(names) == 2 else "",
        },
        "noise": _noise_paragraphs(runs),
        "notes": _notes(runs),
    }


def _data_sentence(run: FitResult) -> str:
    used = ", ".join(run.columns)
    return (f"The data: {run.rows:,} rows from {run.data_source}; the loss reads the "
            f"column{'s' if len(run.columns) > 1 else ''} {used}. The parameters to fit are "
            f"{', '.join(run.param_names)}.")


def _tuple_tex(symbols: Sequence[Any]) -> str:
    import sympy as sp

    return ", ".join(sp.latex(s) for s in symbols)


def _formulas(run: FitResult) -> dict[str, Any]:
    import sympy as sp

    model = run.model
    assert model is not None
    theta = _tuple_tex(model.params)
    row = _tuple_tex(model.data_symbols)
    indexed = ", ".join(sp.latex(sp.Symbol(f"{d.name}_i")) for d in model.data_symbols)
    return {
        "loss_latex": rf"\ell({theta};\ {row}) = {sp.latex(model.problem.expr)}",
        "objective_latex": (rf"L({theta}) = \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} "
                            rf"\ell({theta};\ {indexed}), \qquad N = {run.rows}"),
        "partials_latex": [rf"\frac{{\partial \ell}}{{\partial {sp.latex(p)}}} = {sp.latex(g)}"
                           for p, g in zip(model.params, model.gradient, strict=True)],
        "mean_gradient_latex": (rf"\nabla L({theta}) = \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} "
                                rf"\nabla \ell({theta};\ {indexed})"),
        "batch_gradient_latex": (rf"g_B = \frac{{1}}{{|B|}} \sum_{{i \in B}} "
                                 rf"\nabla \ell({theta};\ {indexed}), \qquad "
                                 rf"\theta \leftarrow \theta - \eta\, g_B"),
    }


def _settings(run: FitResult) -> list[dict[str, str]]:
    from symgd.numeric.optimizers import OPTIMIZERS

    hyper = ", ".join(f"{k} = {v:g}" for k, v in run.hyperparameters.items())
    start = ", ".join(f"{k} = {v:g}" for k, v in run.start.items())
    return [
        {"name": "optimizer", "value": OPTIMIZERS[run.method].label
         + (f" ({hyper})" if hyper else "")},
        {"name": "learning rate η", "value": f"{run.lr:g}"},
        {"name": "start", "value": start},
        {"name": "shuffling", "value": f"a fresh random order of the rows every epoch, from "
                                       f"seed {run.seed}"},
        {"name": "stop", "value": f"after {run.max_epochs} epochs, or once |∇L| < "
                                  f"{run.tol:g} at the end of an epoch"},
    ]


_TONES = {"converged": "good", "diverged": "bad", "max_steps": ""}


def _run_row(run: FitResult) -> dict[str, Any]:
    params = ", ".join(f"{k} = {v:.6g}" for k, v in run.params.items())
    noisy = run.batch_size < run.rows and len(run.angles)
    angles = run.angles[np.isfinite(run.angles)] if noisy else np.zeros(0)
    return {
        "label": run.label,
        "mode": run.mode,
        "batch_size": run.batch_size,
        "updates_per_epoch": run.steps_per_epoch,
        "epochs": run.epochs,
        "updates": run.steps,
        "params": params,
        "loss": run.loss,
        "loss_after_one": float(run.loss_per_epoch[0]) if len(run.loss_per_epoch) else None,
        "status": run.status.value.replace("_", " "),
        "tone": _TONES.get(run.status.value, ""),
        "message": run.reason,
        "distance": run.distance_to_least_squares,
        "median_angle": float(np.median(angles)) if angles.size else None,
        "uphill_share": float(np.mean(angles > 90.0)) if angles.size else None,
        "angles_traced": int(angles.size),
    }


def _least_squares_block(run: FitResult, columns: Sequence[np.ndarray]) -> dict[str, Any]:
    import sympy as sp

    model, ls = run.model, run.least_squares
    assert model is not None and ls is not None
    form = ls.form
    k = form.factor
    n = len(model.params)

    def at(expr: sp.Expr, index: str) -> str:
        text: str = sp.latex(expr.xreplace({d: sp.Symbol(f"{d.name}_{index}")
                                            for d in model.data_symbols}))
        return text

    rows = [" & ".join(at(d, i) for d in form.design) for i in ("1", "2")]
    dots = " & ".join([r"\vdots"] * n)
    last = " & ".join(at(d, "N") for d in form.design)
    design = (rf"X = \begin{{pmatrix}} {rows[0]} \\ {rows[1]} \\ {dots} \\ {last} "
              rf"\end{{pmatrix}}, \quad t = \begin{{pmatrix}} {at(form.target, '1')} \\ "
              rf"{at(form.target, '2')} \\ \vdots \\ {at(form.target, 'N')} \end{{pmatrix}}, "
              rf"\quad \theta = \begin{{pmatrix}} "
              + r" \\ ".join(sp.latex(p) for p in model.params) + r" \end{pmatrix}")
    two_k = sp.latex(2 * k)
    # ∂ℓ/∂θⱼ = −2k (t − xᵀθ) xⱼ, checked symbolically against the gradient SymPy derived
    fitted = sum((d * p for d, p in zip(form.design, model.params, strict=True)), sp.Integer(0))
    symbolic_match = all(
        sp.expand(g + 2 * k * (form.target - fitted) * d_j) == 0
        for g, d_j in zip(model.gradient, form.design, strict=True))
    theta = ls.vector
    start = run.path[0]
    compiled = model.batch(start, columns)[1]
    gap = float(np.max(np.abs(ls.matrix_gradient(start) - compiled)))
    scale = float(np.max(np.abs(compiled), initial=0.0))
    xtx, xty = ls.X.T @ ls.X, ls.X.T @ ls.t

    def matrix(values: np.ndarray) -> str:
        if values.ndim == 1:
            return r"\begin{pmatrix} " + r" \\ ".join(_num(v) for v in values) + r" \end{pmatrix}"
        return (r"\begin{pmatrix} " + r" \\ ".join(" & ".join(_num(v) for v in row)
                                                  for row in values) + r" \end{pmatrix}")

    solution = ", ".join(f"{k_} = {v:.8g}" for k_, v in ls.solution.items())
    return {
        "design_latex": design,
        "loss_latex": (rf"L(\theta) = \frac{{{sp.latex(k)}}}{{N}} \lVert t - X\theta \rVert^{{2}}"
                       if k != 1 else r"L(\theta) = \frac{1}{N} \lVert t - X\theta \rVert^{2}"),
        "gradient_latex": rf"\nabla L(\theta) = -\frac{{{two_k}}}{{N}}\, X^{{\top}}(t - X\theta)",
        "normal_latex": r"X^{\top} X\, \theta = X^{\top} t",
        "numbers_latex": (rf"X^{{\top}} X = {matrix(xtx)}, \quad X^{{\top}} t = {matrix(xty)}"
                          if n <= 4 else ""),
        "solution": solution,
        "solution_latex": r"\theta^{*} = " + matrix(theta),
        "symbolic_match": bool(symbolic_match),
        "gradient_gap": gap,
        "gradient_scale": scale,
        "full_rank": ls.full_rank,
        "rank": ls.rank,
        "loss": ls.loss,
        "stable_lr": ls.stable_lr,
        "hessian_text": f"({2 * k}/N)XᵀX",
        "lambda_max": ls.eigenvalues[-1] if ls.eigenvalues else None,
        "distance": run.distance_to_least_squares,
    }


def _num(value: float) -> str:
    text = f"{float(value):.5g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def _noise_paragraphs(runs: Sequence[FitResult]) -> list[str]:
    full = next((r for r in runs if r.batch_size >= r.rows), None)
    noisy = [r for r in runs if r.batch_size < r.rows]
    sgd = next((r for r in noisy if r.batch_size == 1), None)
    paragraphs: list[str] = []
    first = runs[0]
    ls = first.least_squares
    traced = [r for r in noisy if len(r.angles)]
    p1 = ("A batch gradient is the average of ∇ℓ over a handful of rows picked at random. Taken "
          "over every possible pick it averages out to ∇L exactly, so the batch step points "
          "the right way on average; any one pick misses by a random amount that shrinks "
          "roughly like 1/√B as the batch grows.")
    if traced:
        parts = []
        for r in traced:
            angles = r.angles[np.isfinite(r.angles)]
            if angles.size:
                parts.append(f"{np.median(angles):.0f}° for the {r.label} "
                             f"({np.mean(angles > 90):.0%} of its traced updates beyond 90°)")
        if parts:
            p1 += (" Here the median angle between the batch gradient and ∇L was "
                   + "; ".join(parts) + ". A step more than 90° off would, on its own, "
                   "increase L.")
    paragraphs.append(p1)
    if full is not None and noisy:
        after = {r.label: r.loss_per_epoch[0] for r in runs if len(r.loss_per_epoch)}
        p2 = (f"What the noise buys first is progress per pass over the data. A full-batch "
              f"update reads all {full.rows:,} rows before it moves; in the same amount of "
              f"reading, B = {noisy[0].batch_size} makes {noisy[0].steps_per_epoch:,} updates"
              + (f" and SGD {sgd.steps_per_epoch:,}" if sgd is not None and sgd is not noisy[0]
                 else "") + ".")
        if after:
            p2 += (" After one epoch the loss on all rows was "
                   + "; ".join(f"{v:.4g} for the {k}" for k, v in after.items()) + ".")
        paragraphs.append(p2)
    if noisy:
        target = ls.loss if ls is not None else (
            min(float(r.loss) for r in runs if np.isfinite(r.loss)))
        what = "least-squares loss" if ls is not None else "lowest loss any of these runs found"
        gaps = "; ".join(f"{_gap(r.loss - target, target)} for the {r.label}" for r in runs
                         if np.isfinite(r.loss))
        paragraphs.append(
            "The price is that with a fixed learning rate the noisy runs never settle. Close to "
            "the minimum ∇L is small but the batch gradients are not, so the parameters keep "
            "jittering in a cloud around the answer, wider for a larger η and a smaller B. At "
            f"the end, the loss was above the {what} by {gaps}. Shrinking η over the epochs, "
            "or growing the batch, lets a noisy run close in.")
    single = ls is not None and ls.full_rank
    paragraphs.append(
        "On a loss with many minima the noise does something a full-batch run cannot. Each "
        "batch defines its own slightly different surface, so a shallow dip in L is seldom a "
        "resting point for all of them, and the jitter can carry the parameters out of it. "
        "Experiments on deep networks (Keskar et al., 2017) found that large batches tend to "
        "settle in sharp minima and small batches in wide, flat ones, which often do better "
        "on data the model has not seen."
        + (" This loss is a least-squares loss with a single minimum, so here the noise "
           "only costs precision." if single else ""))
    return paragraphs


def _gap(gap: float, target: float) -> str:
    """A loss excess in words: rounding-level differences read as 0."""
    if abs(gap) <= 1e-12 * max(1.0, abs(target)):
        return "0 (to rounding)"
    return f"{gap:.3g}"


def _notes(runs: Sequence[FitResult]) -> list[str]:
    notes = []
    longest = max(r.max_epochs for r in runs)
    for r in runs:
        if r.max_epochs < longest:
            notes.append(f"{r.label} ran {r.max_epochs} epoch{'s' if r.max_epochs > 1 else ''} "
                         f"instead of {longest}, to keep its number of updates "
                         f"({r.max_epochs * r.steps_per_epoch:,}) manageable.")
        if r.status.value == "diverged":
            notes.append(f"{r.label} diverged: {r.reason}. A smaller learning rate keeps it "
                         "stable" + (f"; for the full batch, any η below 2/λmax = "
                                     f"{r.least_squares.stable_lr:.4g} converges"
                                     if r.least_squares is not None
                                     and r.least_squares.stable_lr else "") + ".")
    return notes


def render_fit_page(results: FitResult | Sequence[FitResult],
                    templates_dir: str | None = None) -> str:
    """A standalone HTML page with the fitting section (``templates/fit_page.html.jinja2``)."""
    from symgd import __version__
    from symgd.render.templates import make_env

    context = fit_lesson_context(results)
    runs = (results,) if not isinstance(results, Sequence) else tuple(results)
    env = make_env(templates_dir)
    template = env.get_template("fit_page.html.jinja2")
    return str(template.render(
        language="en", generator=f"symgd {__version__}",
        title=f"Fitting {runs[0].expression} to data", fit=context))
