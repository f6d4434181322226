"""The fitting lesson: the context of ``partials/fit.html.jinja2`` and the standalone fit page.

Figures come from :mod:`symgd.render.fit_figures`; this module turns fit results into the words,
tables and formulas around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symgd.render.fit_figures import (
    angle_figure,
    epoch_loss_figure,
    path_contour_figure,
)

if TYPE_CHECKING:
    from symgd.numeric.fit_model import ReferenceOptimum
    from symgd.numeric.fitting import FitResult


#: rows used to draw the loss contours (evenly spaced through the data when there are more)
CONTOUR_ROWS = 4000


def fit_lesson_context(results: FitResult | Sequence[FitResult]) -> dict[str, Any]:
    """Everything ``partials/fit.html.jinja2`` shows, from one fit or several of one problem.

    Pass the runs of :func:`symgd.numeric.fitting.compare_batches` (full batch, mini-batch, SGD)
    to get the side-by-side comparison. Figures are inline SVG (``Markup``); formulas are LaTeX
    for the ``math``/``dmath`` filters; numbers are floats for the ``number`` filter.
    """
    from symgd.numeric.fitting import FitResult

    runs = (results,) if isinstance(results, FitResult) else tuple(results)
    if not runs:
        raise ValueError("fit_lesson_context needs at least one FitResult")
    first = runs[0]
    model, data = first.model, first.data
    if model is None or data is None:
        raise ValueError("the FitResult carries no model or data (build it with symgd.fit)")
    ls = first.least_squares
    columns = data.select(model.columns)
    newton = None if ls is not None else _newton_reference(runs, columns)
    reference = ls.loss if ls is not None else (newton.loss if newton is not None else None)
    optimum = ls.vector if ls is not None else (newton.vector if newton is not None else None)
    figures, contour_note = _figures(runs, columns, reference, optimum)
    return {
        "title": "Fitting to data: full batch, mini-batch and stochastic descent",
        "data_sentence": _data_sentence(first),
        **_formulas(first),
        "settings": _settings(first),
        "runs": [_run_row(r) for r in runs],
        "least_squares": _least_squares_block(first, columns) if ls is not None else None,
        "reference": _reference_block(runs, newton) if newton is not None else None,
        "figures": figures,
        "captions": _captions(first, reference, contour_note),
        "noise": _noise_paragraphs(runs, newton),
        "notes": _notes(runs),
    }


def _figures(
    runs: Sequence[FitResult],
    columns: Sequence[np.ndarray],
    reference: float | None,
    optimum: np.ndarray | None,
) -> tuple[dict[str, Any], str]:
    """The page's figures (inline SVG, ``None`` when not drawn) and the note on the rows the
    contours were computed from (``""`` when from all of them). ``reference`` is the lowest
    loss known and ``optimum`` where it lies (least squares, else Newton's method)."""
    from markupsafe import Markup

    first = runs[0]
    model, data, ls = first.model, first.data, first.least_squares
    assert model is not None and data is not None
    names = first.param_names
    label = "least-squares loss" if ls is not None else "loss at the reference optimum"
    figures: dict[str, Any] = {
        "losses": Markup(epoch_loss_figure(runs, reference=reference, reference_label=label)),
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
            contour_note = (
                f" The contours are computed from {CONTOUR_ROWS:,} of the "
                f"{data.n_rows:,} rows, evenly spaced through the file."
            )
        figures["contour"] = Markup(
            path_contour_figure(
                lambda points: model.mean_loss(points, sample),
                runs,
                (names[0], names[1]),
                optimum=None if optimum is None else list(optimum),
                optimum_label="least squares" if ls is not None else "reference optimum",
            )
        )
    return figures, contour_note


def _captions(first: FitResult, reference: float | None, contour_note: str) -> dict[str, str]:
    """The words under each figure."""
    names = first.param_names
    ls = first.least_squares
    return {
        "losses": (
            "Each panel is one run, all on the same scale. The line is the mean "
            "loss on all rows after each epoch (epoch 0 is the start); the shaded band holds "
            "the middle half (25th to 75th percentile) of the losses on the batches used "
            "for the updates, which is what each step actually sees."
            + (
                " The dashed line is the least-squares loss, the lowest possible."
                if ls is not None
                else " The dashed line is the loss at the reference optimum (below)."
                if reference is not None
                else ""
            )
        ),
        "angles": (
            "For the first updates of each run, the angle between the gradient on the "
            "batch and the gradient on all rows at the same point. The full batch's angle "
            "is 0° by definition; the dots are single updates and the line a running "
            "median."
        ),
        "contour": (
            f"The mean loss L({names[0]}, {names[1]}) as contours, darker is lower, with "
            "each run's path from the common start (the square marks where it ended)."
            + contour_note
        )
        if len(names) == 2
        else "",
    }


def _data_sentence(run: FitResult) -> str:
    used = ", ".join(run.columns)
    return (
        f"The data: {run.rows:,} rows from {run.data_source}; the loss reads the "
        f"column{'s' if len(run.columns) > 1 else ''} {used}. The parameters to fit are "
        f"{', '.join(run.param_names)}."
    )


def _tuple_tex(symbols: Sequence[Any]) -> str:
    import sympy as sp

    return ", ".join(sp.latex(s) for s in symbols)


def _formulas(run: FitResult) -> dict[str, Any]:
    import sympy as sp

    from symgd.render.latex import simplest_tex

    model = run.model
    assert model is not None
    theta = _tuple_tex(model.params)
    row = _tuple_tex(model.data_symbols)
    indexed = ", ".join(sp.latex(sp.Symbol(f"{d.name}_i")) for d in model.data_symbols)
    return {
        "loss_latex": rf"\ell({theta};\ {row}) = {sp.latex(model.problem.expr)}",
        "objective_latex": (
            rf"L({theta}) = \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} "
            rf"\ell({theta};\ {indexed}), \qquad N = {run.rows}"
        ),
        "partials_latex": [
            rf"\frac{{\partial \ell}}{{\partial {sp.latex(p)}}} = {simplest_tex(g)}"
            for p, g in zip(model.params, model.gradient, strict=True)
        ],
        "mean_gradient_latex": (
            rf"\nabla L({theta}) = \frac{{1}}{{N}} \sum_{{i=1}}^{{N}} "
            rf"\nabla \ell({theta};\ {indexed})"
        ),
        "batch_gradient_latex": (
            rf"g_B = \frac{{1}}{{|B|}} \sum_{{i \in B}} "
            rf"\nabla \ell({theta};\ {indexed}), \qquad "
            rf"\theta \leftarrow \theta - \eta\, g_B"
        ),
    }


def _settings(run: FitResult) -> list[dict[str, str]]:
    from symgd.numeric.optimizers import OPTIMIZERS

    hyper = ", ".join(f"{k} = {v:g}" for k, v in run.hyperparameters.items())
    start = ", ".join(f"{k} = {v:g}" for k, v in run.start.items())
    return [
        {
            "name": "optimizer",
            "value": OPTIMIZERS[run.method].label + (f" ({hyper})" if hyper else ""),
        },
        {"name": "learning rate η", "value": f"{run.lr:g}"},
        {"name": "start", "value": start},
        {
            "name": "shuffling",
            "value": f"a fresh random order of the rows every epoch, from seed {run.seed}",
        },
        {
            "name": "stop",
            "value": f"after {run.max_epochs} epochs, or once |∇L| < "
            f"{run.tol:g} at the end of an epoch",
        },
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
        text: str = sp.latex(
            expr.xreplace({d: sp.Symbol(f"{d.name}_{index}") for d in model.data_symbols})
        )
        return text

    rows = [" & ".join(at(d, i) for d in form.design) for i in ("1", "2")]
    dots = " & ".join([r"\vdots"] * n)
    last = " & ".join(at(d, "N") for d in form.design)
    design = (
        rf"X = \begin{{pmatrix}} {rows[0]} \\ {rows[1]} \\ {dots} \\ {last} "
        rf"\end{{pmatrix}}, \quad t = \begin{{pmatrix}} {at(form.target, '1')} \\ "
        rf"{at(form.target, '2')} \\ \vdots \\ {at(form.target, 'N')} \end{{pmatrix}}, "
        rf"\quad \theta = \begin{{pmatrix}} "
        + r" \\ ".join(sp.latex(p) for p in model.params)
        + r" \end{pmatrix}"
    )
    two_k = sp.latex(2 * k)
    # ∂ℓ/∂θⱼ = −2k (t − xᵀθ) xⱼ, checked symbolically against the gradient SymPy derived
    fitted = sum((d * p for d, p in zip(form.design, model.params, strict=True)), sp.Integer(0))
    symbolic_match = all(
        sp.expand(g + 2 * k * (form.target - fitted) * d_j) == 0
        for g, d_j in zip(model.gradient, form.design, strict=True)
    )
    theta = ls.vector
    start = run.path[0]
    compiled = model.batch(start, columns)[1]
    gap = float(np.max(np.abs(ls.matrix_gradient(start) - compiled)))
    scale = float(np.max(np.abs(compiled), initial=0.0))
    xtx, xty = ls.X.T @ ls.X, ls.X.T @ ls.t

    def matrix(values: np.ndarray) -> str:
        if values.ndim == 1:
            return r"\begin{pmatrix} " + r" \\ ".join(_num(v) for v in values) + r" \end{pmatrix}"
        return (
            r"\begin{pmatrix} "
            + r" \\ ".join(" & ".join(_num(v) for v in row) for row in values)
            + r" \end{pmatrix}"
        )

    solution = ", ".join(f"{k_} = {v:.8g}" for k_, v in ls.solution.items())
    return {
        "design_latex": design,
        "loss_latex": (
            rf"L(\theta) = \frac{{{sp.latex(k)}}}{{N}} \lVert t - X\theta \rVert^{{2}}"
            if k != 1
            else r"L(\theta) = \frac{1}{N} \lVert t - X\theta \rVert^{2}"
        ),
        "gradient_latex": rf"\nabla L(\theta) = -\frac{{{two_k}}}{{N}}\, X^{{\top}}(t - X\theta)",
        "normal_latex": r"X^{\top} X\, \theta = X^{\top} t",
        "numbers_latex": (
            rf"X^{{\top}} X = {matrix(xtx)}, \quad X^{{\top}} t = {matrix(xty)}" if n <= 4 else ""
        ),
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


def _newton_reference(
    runs: Sequence[FitResult], columns: Sequence[np.ndarray]
) -> ReferenceOptimum | None:
    """The reference optimum by Newton's method on all rows, started from the run that ended
    lowest (``None`` when Newton does not converge there)."""
    from symgd.numeric.fit_model import newton_optimum

    finite = [r for r in runs if np.isfinite(r.loss)]
    if not finite or runs[0].model is None:
        return None
    best = min(finite, key=lambda r: float(r.loss))
    start = [best.params[n] for n in best.param_names]
    return newton_optimum(runs[0].model, columns, start)


def _reference_block(runs: Sequence[FitResult], newton: ReferenceOptimum) -> dict[str, Any]:
    """What the page says about the reference optimum and how far each run ended from it."""
    values = ", ".join(f"{n} = {newton.solution[n]:.6g}" for n in newton.param_names)
    distances = "; ".join(
        f"{float(np.linalg.norm([r.params[n] - newton.solution[n] for n in r.param_names])):.3g}"
        f" for the {r.label}"
        for r in runs
        if all(np.isfinite(r.params[n]) for n in r.param_names)
    )
    return {
        "solution": values,
        "loss": newton.loss,
        "grad_norm": newton.grad_norm,
        "iterations": newton.iterations,
        "rows": runs[0].rows,
        "distances": distances,
    }


def _noise_paragraphs(
    runs: Sequence[FitResult], newton: ReferenceOptimum | None = None
) -> list[str]:
    """What the noise of batch gradients does, in four paragraphs (fewer without noisy runs):
    how far a batch gradient points off, what it buys, what it costs, and minima."""
    full = next((r for r in runs if r.batch_size >= r.rows), None)
    noisy = [r for r in runs if r.batch_size < r.rows]
    ls = runs[0].least_squares
    paragraphs = [_angle_paragraph(noisy)]
    if full is not None and noisy:
        paragraphs.append(_progress_paragraph(runs, full, noisy))
    if noisy:
        paragraphs.append(_settling_paragraph(runs, newton))
    single = ls is not None and ls.full_rank
    paragraphs.append(
        "On a loss with many minima the noise does something a full-batch run cannot. Each "
        "batch defines its own slightly different surface, so a shallow dip in L is seldom a "
        "resting point for all of them, and the jitter can carry the parameters out of it. "
        "Experiments on deep networks (Keskar et al., 2017) found that large batches tend to "
        "settle in sharp minima and small batches in wide, flat ones, which often do better "
        "on data the model has not seen."
        + (
            " This loss is a least-squares loss with a single minimum, so here the noise "
            "only costs precision."
            if single
            else ""
        )
    )
    return paragraphs


def _angle_paragraph(noisy: Sequence[FitResult]) -> str:
    """Why a batch gradient points the right way on average, with the measured angles."""
    paragraph = (
        "A batch gradient is the average of ∇ℓ over a handful of rows picked at random. Taken "
        "over every possible pick it averages out to ∇L exactly, so the batch step points "
        "the right way on average; any one pick misses by a random amount that shrinks "
        "roughly like 1/√B as the batch grows."
    )
    parts = []
    for r in (r for r in noisy if len(r.angles)):
        angles = r.angles[np.isfinite(r.angles)]
        if angles.size:
            parts.append(
                f"{np.median(angles):.0f}° for the {r.label} "
                f"({np.mean(angles > 90):.0%} of its traced updates beyond 90°)"
            )
    if parts:
        paragraph += (
            " Here the median angle between the batch gradient and ∇L was "
            + "; ".join(parts)
            + ". A step more than 90° off would, on its own, "
            "increase L."
        )
    return paragraph


def _progress_paragraph(
    runs: Sequence[FitResult], full: FitResult, noisy: Sequence[FitResult]
) -> str:
    """More updates per pass over the data, and the loss after one epoch of each run."""
    sgd = next((r for r in noisy if r.batch_size == 1), None)
    after = {r.label: r.loss_per_epoch[0] for r in runs if len(r.loss_per_epoch)}
    paragraph = (
        f"What the noise buys first is progress per pass over the data. A full-batch "
        f"update reads all {full.rows:,} rows before it moves; in the same amount of "
        f"reading, B = {noisy[0].batch_size} makes {noisy[0].steps_per_epoch:,} updates"
        + (f" and SGD {sgd.steps_per_epoch:,}" if sgd is not None and sgd is not noisy[0] else "")
        + "."
    )
    if after:
        paragraph += (
            " After one epoch the loss on all rows was "
            + "; ".join(f"{v:.4g} for the {k}" for k, v in after.items())
            + "."
        )
    return paragraph


def _settling_paragraph(runs: Sequence[FitResult], newton: ReferenceOptimum | None) -> str:
    """Why noisy runs never settle with a fixed η, and how far above the best loss each ended."""
    ls = runs[0].least_squares
    target = (
        ls.loss
        if ls is not None
        else newton.loss
        if newton is not None
        else (min(float(r.loss) for r in runs if np.isfinite(r.loss)))
    )
    what = (
        "least-squares loss"
        if ls is not None
        else "loss at the reference optimum"
        if newton is not None
        else "lowest loss any of these runs found"
    )
    gaps = "; ".join(
        f"{_gap(r.loss - target, target)} for the {r.label}" for r in runs if np.isfinite(r.loss)
    )
    return (
        "The price is that with a fixed learning rate the noisy runs never settle. Close to "
        "the minimum ∇L is small but the batch gradients are not, so the parameters keep "
        "jittering in a cloud around the answer, wider for a larger η and a smaller B. At "
        f"the end, the loss was above the {what} by {gaps}. Shrinking η over the epochs, "
        "or growing the batch, lets a noisy run close in."
    )


def _gap(gap: float, target: float) -> str:
    """A loss excess in words: rounding-level differences read as 0."""
    if abs(gap) <= 1e-12 * max(1.0, abs(target)):
        return "0 (to rounding)"
    return f"{gap:.3g}"


def _notes(runs: Sequence[FitResult]) -> list[str]:
    notes = [_fast_note(runs)] if any(r.fast_epochs for r in runs) else []
    longest = max(r.max_epochs for r in runs)
    for r in runs:
        if r.max_epochs < longest:
            notes.append(
                f"{r.label} ran {r.max_epochs} epoch{'s' if r.max_epochs > 1 else ''} "
                f"instead of {longest}, to keep its number of updates "
                f"({r.max_epochs * r.steps_per_epoch:,}) manageable."
            )
        if r.status.value == "diverged":
            notes.append(
                f"{r.label} diverged: {r.reason}. A smaller learning rate keeps it "
                "stable"
                + (
                    f"; for the full batch, any η below 2/λmax = "
                    f"{r.least_squares.stable_lr:.4g} converges"
                    if r.least_squares is not None and r.least_squares.stable_lr
                    else ""
                )
                + "."
            )
    return notes


def _fast_note(runs: Sequence[FitResult]) -> str:
    """How the noisy runs were computed when they took the whole-epoch path."""
    from symgd.numeric.fit_runs import AGREEMENT

    fast = [r for r in runs if r.fast_epochs]
    which = "; ".join(
        f"{r.fast_epochs} of the {r.epochs} epoch{'s' if r.epochs > 1 else ''} of the {r.label}"
        for r in fast
    )
    return (
        "Each partial derivative of this loss is a polynomial in the parameters whose "
        "coefficients depend only on the data, so the mean gradient of a batch needs only "
        "the means of those coefficients over the batch. Whole epochs were run that way "
        f"({which}): the coefficient means of every batch computed at once, then the "
        "updates one after another. After each epoch, every batch's loss and gradient were "
        "evaluated again row by row at the parameters that update started from. The "
        f"gradients agreed to within {AGREEMENT:g} of the size of their terms (an epoch where they "
        "did not would have been run again batch by batch), and the batch losses in the "
        "first figure are the row-by-row ones."
        + (
            " In those epochs, the gradients on all rows that the angles are measured "
            "against come from the coefficient means over all rows."
            if any(len(r.angles) for r in fast)
            else ""
        )
    )


def render_fit_page(
    results: FitResult | Sequence[FitResult], templates_dir: str | None = None
) -> str:
    """A standalone HTML page with the fitting section (``templates/fit_page.html.jinja2``)."""
    from symgd import __version__
    from symgd.render.templates import make_env

    context = fit_lesson_context(results)
    runs = (results,) if not isinstance(results, Sequence) else tuple(results)
    env = make_env(templates_dir)
    template = env.get_template("fit_page.html.jinja2")
    return str(
        template.render(
            language="en",
            generator=f"symgd {__version__}",
            title=f"Fitting {runs[0].expression} to data",
            fit=context,
        )
    )
