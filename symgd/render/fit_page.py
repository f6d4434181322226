"""The fitting lesson: the context of ``partials/fit.html.jinja2`` and the standalone fit page.

Figures and their captions come from :mod:`symgd.render.fit_figures`; this module turns fit
results into the words, tables and formulas around them, in the language in effect
(:mod:`symgd.base.i18n`; :func:`render_fit_page` writes in the runs' language unless told).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symgd.base.i18n import N_, _, current, language
from symgd.render.fit_figures import lesson_figures

if TYPE_CHECKING:
    from symgd.numeric.fit_model import ReferenceOptimum
    from symgd.numeric.fitting import FitResult


def fit_lesson_context(results: FitResult | Sequence[FitResult]) -> dict[str, Any]:
    """Everything ``partials/fit.html.jinja2`` shows, from one fit or several of one problem,
    in the language in effect.

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
    figures, captions = lesson_figures(runs, columns, reference, optimum)
    return {
        "title": _("Fitting to data: full batch, mini-batch and stochastic descent"),
        "data_sentence": _data_sentence(first),
        **_formulas(first),
        "settings": _settings(first),
        "runs": [_run_row(r) for r in runs],
        "least_squares": _least_squares_block(first, columns) if ls is not None else None,
        "reference": _reference_block(runs, newton) if newton is not None else None,
        "figures": figures,
        "captions": captions,
        "noise": _noise_paragraphs(runs, newton),
        "notes": _notes(runs),
    }


def _data_sentence(run: FitResult) -> str:
    message = (
        _(
            "The data: {rows} rows from {source}; the loss reads the columns {columns}. "
            "The parameters to fit are {params}."
        )
        if len(run.columns) > 1
        else _(
            "The data: {rows} rows from {source}; the loss reads the column {columns}. "
            "The parameters to fit are {params}."
        )
    )
    return message.format(
        rows=f"{run.rows:,}",
        source=run.data_source,
        columns=", ".join(run.columns),
        params=", ".join(run.param_names),
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
            "name": _("optimizer"),
            "value": _(OPTIMIZERS[run.method].label) + (f" ({hyper})" if hyper else ""),
        },
        {"name": _("learning rate η"), "value": f"{run.lr:g}"},
        {"name": _("start"), "value": start},
        {
            "name": _("shuffling"),
            "value": _("a fresh random order of the rows every epoch, from seed {seed}").format(
                seed=run.seed
            ),
        },
        {
            "name": _("stop"),
            "value": _("after {epochs} epochs, or once |∇L| < {tol} at the end of an epoch").format(
                epochs=run.max_epochs, tol=f"{run.tol:g}"
            ),
        },
    ]


_TONES = {"converged": "good", "diverged": "bad", "max_steps": ""}
#: a run's status and mode as the page shows them (the JSON keeps the English values)
STATUS_WORDS = {
    "converged": N_("converged"),
    "max_steps": N_("max steps"),
    "diverged": N_("diverged"),
    "domain": N_("domain"),
    "singular": N_("singular"),
}
MODE_WORDS = {
    "full batch": N_("full batch"),
    "mini-batch": N_("mini-batch"),
    "stochastic": N_("stochastic"),
}


def _run_row(run: FitResult) -> dict[str, Any]:
    params = ", ".join(f"{k} = {v:.6g}" for k, v in run.params.items())
    noisy = run.batch_size < run.rows and len(run.angles)
    angles = run.angles[np.isfinite(run.angles)] if noisy else np.zeros(0)
    status = run.status.value
    return {
        "label": run.label,
        "mode": _(MODE_WORDS[run.mode]),
        "batch_size": run.batch_size,
        "updates_per_epoch": run.steps_per_epoch,
        "epochs": run.epochs,
        "updates": run.steps,
        "params": params,
        "loss": run.loss,
        "loss_after_one": float(run.loss_per_epoch[0]) if len(run.loss_per_epoch) else None,
        "status": _(STATUS_WORDS[status]) if status in STATUS_WORDS else status,
        "tone": _TONES.get(status, ""),
        "message": run.reason_text(),
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
        _("{value} for the {run}").format(value=f"{_distance(r, newton):.3g}", run=r.label)
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


def _distance(run: FitResult, newton: ReferenceOptimum) -> float:
    """|θ − θ*| from the run's end to the reference optimum."""
    return float(np.linalg.norm([run.params[n] - newton.solution[n] for n in run.param_names]))


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
    minima = _(
        "On a loss with many minima the noise does something a full-batch run cannot. Each "
        "batch defines its own slightly different surface, so a shallow dip in L is seldom a "
        "resting point for all of them, and the jitter can carry the parameters out of it. "
        "Experiments on deep networks (Keskar et al., 2017) found that large batches tend to "
        "settle in sharp minima and small batches in wide, flat ones, which often do better "
        "on data the model has not seen."
    )
    if ls is not None and ls.full_rank:
        minima += " " + _(
            "This loss is a least-squares loss with a single minimum, so here the noise "
            "only costs precision."
        )
    paragraphs.append(minima)
    return paragraphs


def _angle_paragraph(noisy: Sequence[FitResult]) -> str:
    """Why a batch gradient points the right way on average, with the measured angles."""
    paragraph = _(
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
                _("{angle}° for the {run} ({share} of its traced updates beyond 90°)").format(
                    angle=f"{np.median(angles):.0f}",
                    run=r.label,
                    share=f"{np.mean(angles > 90):.0%}",
                )
            )
    if parts:
        paragraph += " " + _(
            "Here the median angle between the batch gradient and ∇L was {angles}. A step "
            "more than 90° off would, on its own, increase L."
        ).format(angles="; ".join(parts))
    return paragraph


def _progress_paragraph(
    runs: Sequence[FitResult], full: FitResult, noisy: Sequence[FitResult]
) -> str:
    """More updates per pass over the data, and the loss after one epoch of each run."""
    sgd = next((r for r in noisy if r.batch_size == 1), None)
    after = [(r.label, r.loss_per_epoch[0]) for r in runs if len(r.loss_per_epoch)]
    values = {
        "rows": f"{full.rows:,}",
        "size": noisy[0].batch_size,
        "updates": f"{noisy[0].steps_per_epoch:,}",
    }
    if sgd is not None and sgd is not noisy[0]:
        paragraph = _(
            "What the noise buys first is progress per pass over the data. A full-batch "
            "update reads all {rows} rows before it moves; in the same amount of reading, "
            "B = {size} makes {updates} updates and SGD {sgd}."
        ).format(**values, sgd=f"{sgd.steps_per_epoch:,}")
    else:
        paragraph = _(
            "What the noise buys first is progress per pass over the data. A full-batch "
            "update reads all {rows} rows before it moves; in the same amount of reading, "
            "B = {size} makes {updates} updates."
        ).format(**values)
    if after:
        paragraph += " " + _("After one epoch the loss on all rows was {values}.").format(
            values="; ".join(
                _("{value} for the {run}").format(value=f"{v:.4g}", run=k) for k, v in after
            )
        )
    return paragraph


def _settling_paragraph(runs: Sequence[FitResult], newton: ReferenceOptimum | None) -> str:
    """Why noisy runs never settle with a fixed η, and how far above the best loss each ended."""
    ls = runs[0].least_squares
    if ls is not None:
        target = ls.loss
        ending = _("At the end, the loss was above the least-squares loss by {gaps}.")
    elif newton is not None:
        target = newton.loss
        ending = _("At the end, the loss was above the loss at the reference optimum by {gaps}.")
    else:
        target = min(float(r.loss) for r in runs if np.isfinite(r.loss))
        ending = _(
            "At the end, the loss was above the lowest loss any of these runs found by {gaps}."
        )
    gaps = "; ".join(
        _("{value} for the {run}").format(value=_gap(r.loss - target, target), run=r.label)
        for r in runs
        if np.isfinite(r.loss)
    )
    return " ".join(
        (
            _(
                "The price is that with a fixed learning rate the noisy runs never settle. "
                "Close to the minimum ∇L is small but the batch gradients are not, so the "
                "parameters keep jittering in a cloud around the answer, wider for a larger η "
                "and a smaller B."
            ),
            ending.format(gaps=gaps),
            _("Shrinking η over the epochs, or growing the batch, lets a noisy run close in."),
        )
    )


def _gap(gap: float, target: float) -> str:
    """A loss excess in words: rounding-level differences read as 0."""
    if abs(gap) <= 1e-12 * max(1.0, abs(target)):
        return _("0 (to rounding)")
    return f"{gap:.3g}"


def _notes(runs: Sequence[FitResult]) -> list[str]:
    notes = [_fast_note(runs)] if any(r.fast_epochs for r in runs) else []
    longest = max(r.max_epochs for r in runs)
    for r in runs:
        if r.max_epochs < longest:
            notes.append(
                (
                    _(
                        "{run} ran {epochs} epochs instead of {longest}, to keep its number of "
                        "updates ({updates}) manageable."
                    )
                    if r.max_epochs > 1
                    else _(
                        "{run} ran {epochs} epoch instead of {longest}, to keep its number of "
                        "updates ({updates}) manageable."
                    )
                ).format(
                    run=r.label,
                    epochs=r.max_epochs,
                    longest=longest,
                    updates=f"{r.max_epochs * r.steps_per_epoch:,}",
                )
            )
        if r.status.value == "diverged":
            notes.append(_diverged_note(r))
    return notes


def _diverged_note(run: FitResult) -> str:
    ls = run.least_squares
    if ls is not None and ls.stable_lr:
        return _(
            "{run} diverged: {reason}. A smaller learning rate keeps it stable; for the full "
            "batch, any η below 2/λmax = {lr} converges."
        ).format(run=run.label, reason=run.reason_text(), lr=f"{ls.stable_lr:.4g}")
    return _("{run} diverged: {reason}. A smaller learning rate keeps it stable.").format(
        run=run.label, reason=run.reason_text()
    )


def _fast_note(runs: Sequence[FitResult]) -> str:
    """How the noisy runs were computed when they took the whole-epoch path."""
    from symgd.numeric.fit_runs import AGREEMENT

    fast = [r for r in runs if r.fast_epochs]
    which = "; ".join(
        (
            _("{fast} of the {epochs} epochs of the {run}")
            if r.epochs > 1
            else _("{fast} of the {epochs} epoch of the {run}")
        ).format(fast=r.fast_epochs, epochs=r.epochs, run=r.label)
        for r in fast
    )
    note = _(
        "Each partial derivative of this loss is a polynomial in the parameters whose "
        "coefficients depend only on the data, so the mean gradient of a batch needs only "
        "the means of those coefficients over the batch. Whole epochs were run that way "
        "({which}): the coefficient means of every batch computed at once, then the "
        "updates one after another. After each epoch, every batch's loss and gradient were "
        "evaluated again row by row at the parameters that update started from. The "
        "gradients agreed to within {agreement} of the size of their terms (an epoch where "
        "they did not would have been run again batch by batch), and the batch losses in the "
        "first figure are the row-by-row ones."
    ).format(which=which, agreement=f"{AGREEMENT:g}")
    if any(len(r.angles) for r in fast):
        note += " " + _(
            "In those epochs, the gradients on all rows that the angles are measured "
            "against come from the coefficient means over all rows."
        )
    return note


def render_fit_page(
    results: FitResult | Sequence[FitResult],
    templates_dir: str | None = None,
    *,
    lang: str | None = None,
) -> str:
    """A standalone HTML page with the fitting section (``templates/fit_page.html.jinja2``),
    written in ``lang`` (``"en"``, ``"ko"``; default: the language of the first run)."""
    from symgd import __version__
    from symgd.numeric.fitting import FitResult
    from symgd.render.templates import make_env

    runs = (results,) if isinstance(results, FitResult) else tuple(results)
    code = lang if lang is not None else (runs[0].lang if runs else None)
    env = make_env(templates_dir)
    template = env.get_template("fit_page.html.jinja2")
    with language(code):
        context = fit_lesson_context(runs)
        return str(
            template.render(
                language=current(),
                generator=f"symgd {__version__}",
                title=_("Fitting {expression} to data").format(expression=runs[0].expression),
                fit=context,
            )
        )
