"""Section 8, what the learning rate does: the thresholds 1/λ_max and 2/λ_max (from
:mod:`symgd.calculus.curvature`) and three runs of plain descent around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from symgd.lesson.facts import Facts, shown_eigenvalues
from symgd.lesson.panel import PREDICTED, PanelRun, RatePanel
from symgd.lesson.runs import Runs
from symgd.lesson.view import OFF_PAGE, View
from symgd.lesson.words import regime_detail
from symgd.render.latex import eq_tex, num_tex, number, short_exact
from symgd.render.worker import Pending

#: the colours of the three panel runs
PANEL_COLOURS = ("#0072B2", "#E69F00", "#D55E00")
TONES = {"monotone": "good", "oscillating": "warn", "divergent": "bad"}


@dataclass(frozen=True)
class RegimeRow(View):
    """One run of the panel as the table shows it."""

    eta_latex: str
    expected: str
    observed: str
    tone: str
    detail: str
    first_latex: str


@dataclass(frozen=True)
class RatesSection(View):
    """Section 8."""

    intro: str
    signal_name: str
    bound_latex: str
    text: tuple[str, ...]
    regimes: tuple[RegimeRow, ...]
    figure: Pending
    caption: str
    figures: dict[str, Any] = field(default_factory=dict, metadata=OFF_PAGE)


def rates_section(facts: Facts, runs: Runs, panel: RatePanel) -> RatesSection:
    """Section 8."""
    intro, bound_latex, text = _bounds(facts, panel)
    regimes = tuple(_regime_row(panel, p) for p in panel.runs)
    if bound_latex and not panel.saddle:
        for predicted, p in zip(PREDICTED, panel.runs, strict=True):
            if p.observed != predicted:
                text.append(
                    f"With η = {number(p.rate, 3)} the run did not follow the quadratic "
                    f"prediction ({predicted}; it was {p.observed}): the thresholds hold only "
                    "where f is close to its quadratic model, and larger steps reach parts "
                    "of f with different curvature.")
    job, caption = _figure(facts, runs, panel)
    one_at_origin = facts.n == 1 and panel.reference == [0.0]
    signal_name = ("f(xₖ)" if panel.relative
                   else f"{facts.names[0]}ₖ" if one_at_origin
                   else f"{facts.names[0]}ₖ − {facts.names[0]}*" if facts.n == 1
                   else "xₖ − x* along v_max")
    return RatesSection(intro, signal_name, bound_latex, tuple(text), regimes,
                        Pending("rates"), caption, {"rates": job})


def _bounds(facts: Facts, panel: RatePanel) -> tuple[str, str, list[str]]:
    """The introduction, the thresholds in LaTeX and the remarks on them."""
    window, where = panel.window, panel.where
    if not panel.bounded:
        if panel.relative:
            intro = ("The learning rate sets how far each step goes. f has no minimum, so "
                     "no curvature at a minimum sets a limit; the curvature at the start "
                     "only describes the first steps. Below, plain descent runs with half, "
                     "once and twice this lesson's η.")
        else:
            intro = ("The learning rate sets how far each step goes. Here the curvature "
                     "gives no upper limit: the Hessian has no positive eigenvalue "
                     f"{where}, so a bigger η only moves faster.")
        return intro, "", []
    intro = ("The learning rate sets how far each step goes. Near a point where the "
             "Hessian has largest eigenvalue λ_max, plain descent multiplies the error "
             "along that eigenvector by (1 − ηλ_max) every step. So it creeps "
             "monotonically when η < 1/λ_max, zig-zags but still converges when "
             "1/λ_max < η < 2/λ_max, and diverges when η > 2/λ_max.")
    lam = window.lambda_max or 0.0
    exact = shown_eigenvalues(facts.constant_window)
    exact_lam = short_exact(exact[-1]) if exact else None
    lam_tex = exact_lam if exact_lam is not None else num_tex(lam, 5)
    plain = exact_lam is None or exact_lam == num_tex(lam, 5)
    bound_latex = (rf"\lambda_{{\max}} = {lam_tex}" +
                   ("" if plain else rf" \approx {num_tex(lam, 5)}") +
                   rf",\qquad \frac{{1}}{{\lambda_{{\max}}}} {eq_tex(window.monotone_below or 0)}"
                   rf",\qquad \frac{{2}}{{\lambda_{{\max}}}} {eq_tex(window.stable_below or 0)}")
    text = [f"These numbers are {where}." if not facts.derivation.hessian_is_constant else
            "f is quadratic, so these bounds hold everywhere, exactly."]
    lowest = window.lambda_min
    if lowest is not None and lowest < 0:
        text.append("But the Hessian also has a negative eigenvalue "
                    f"({number(lowest, 4)}): along its "
                    "eigenvector f curves down, and every step lengthens that component "
                    "by the factor (1 + η|λ_min|) > 1, whatever η is. The bounds only "
                    "govern the other directions; there is no learning rate at which "
                    "descent settles here.")
    if panel.local:
        from symgd.render.latex import floats_plain

        text.append(f"So the runs below start close to it, at {floats_plain(panel.start)}, "
                    "where f is nearly its quadratic model; from farther away the path "
                    "first has to reach the minimum's neighbourhood.")
    return intro, bound_latex, text


def _regime_row(panel: RatePanel, p: PanelRun) -> RegimeRow:
    if panel.saddle:
        detail = ("along v_max; along v_min the run escapes whatever η is"
                  + (f" (it ran away at step {p.run.diverged_at})"
                     if p.run.status.value == "diverged" else ""))
    else:
        detail = regime_detail(p.run)
    return RegimeRow(
        eta_latex=rf"\eta = {num_tex(p.rate, 4)}",
        expected=p.expected,
        observed=p.observed,
        tone=TONES.get(p.observed, ""),
        detail=detail,
        first_latex=r",\; ".join(num_tex(float(v), 4) for v in p.signal[:4])
        + (r",\; \dots" if len(p.signal) > 4 else ""),
    )


def _figure(facts: Facts, runs: Runs, panel: RatePanel) -> tuple[Any, str]:
    """The panel's figure job and caption."""
    from symgd.render import figure_data as data
    from symgd.render import figures as plots

    regimes = [data.Regime(
        title=f"η = {number(p.rate, 3)}: {p.observed}",
        path=data.PathData(f"η = {number(p.rate, 3)}", p.run.xs, p.run.fs, p.run.grad_norms,
                            colour=PANEL_COLOURS[i],
                            diverged=p.run.status.value == "diverged"),
        series=p.signal) for i, p in enumerate(panel.runs)]
    if facts.n == 2:
        local = panel.local_region
        surface = runs.surface if local is None else data.sample_surface(
            facts.compiled.f_batch, facts.compiled.grad_batch, local, resolution=90, arrows=0)
        region = runs.region if local is None else local
        markers = [m for m in runs.markers if region.contains(m.point)]
        if local is not None:
            markers.append(data.Marker(tuple(panel.start), "start", "start"))
        job = plots.FigureJob("regimes_contour_figure", {
            "surface": surface, "regimes": regimes,
            "variables": (facts.names[0], facts.names[1]), "markers": markers,
            "name": "fig-rates"})
        return job, ("Gradient descent from the same start with three learning rates"
                     + (", close to the minimum" if local is not None else "")
                     + ". Paths that leave the frame are cut at its edge.")
    label = ("f(xₖ)" if panel.relative else f"{facts.names[0]}ₖ − {facts.names[0]}*"
             if facts.n == 1 else "xₖ − x* along v_max")
    job = plots.FigureJob("regimes_figure", {"regimes": regimes, "ylabel": label,
                                             "name": "fig-rates"})
    return job, ("Gradient descent from the same start with three learning rates: "
                 + ("f at each step" if panel.relative else "the distance to the reference "
                    "point" + (" along the eigenvector of λ_max" if facts.n > 1 else "")
                    + ", step by step") + ". Values beyond the frame are cut off.")
