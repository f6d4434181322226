"""Section 8, what the learning rate does: the thresholds 1/λ_max and 2/λ_max (from
:mod:`symgd.calculus.curvature`) and three runs of plain descent around them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from symgd.base.i18n import _
from symgd.lesson.facts import Facts, shown_eigenvalues
from symgd.lesson.panel import (
    PANEL_OUTCOME_STEPS,
    PANEL_STEPS,
    PREDICTED,
    PanelRun,
    RatePanel,
    observed_words,
)
from symgd.lesson.runs import Runs
from symgd.lesson.view import OFF_PAGE, View
from symgd.lesson.words import regime_detail
from symgd.render.latex import eq_tex, floats_plain, num_tex, number, short_exact
from symgd.render.worker import Pending

#: the colours of the three panel runs
PANEL_COLOURS = ("#0072B2", "#E69F00", "#D55E00")
TONES = {
    "monotone": "good",
    "oscillating": "warn",
    "divergent": "bad",
    "growing": "bad",
    "left the domain": "bad",
}
#: the tolerance ε of the step-count estimate: the distance to the minimum shrinks 10⁶-fold
STEP_COUNT_EPSILON = 1e-6


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
    intro, bound_latex, text = _bounds(facts, panel, runs)
    regimes = tuple(_regime_row(panel, p) for p in panel.runs)
    if bound_latex and not panel.saddle:
        for predicted, p in zip(PREDICTED, panel.runs, strict=True):
            if p.observed != predicted:
                text.append(_unpredicted(facts, p, predicted))
    job, caption = _figure(facts, runs, panel)
    one_at_origin = facts.n == 1 and panel.reference == [0.0]
    signal_name = (
        "f(xₖ)"
        if panel.relative
        else f"{facts.names[0]}ₖ"
        if one_at_origin
        else f"{facts.names[0]}ₖ − {facts.names[0]}*"
        if facts.n == 1
        else _("xₖ − x* along v_max")
    )
    return RatesSection(
        intro,
        signal_name,
        bound_latex,
        tuple(text),
        regimes,
        Pending("rates"),
        caption,
        {"rates": job},
    )


def _unpredicted(facts: Facts, p: PanelRun, predicted: str) -> str:
    """A panel run that did not do what the quadratic model predicted, and why that can be."""
    values = {
        "eta": number(p.rate, 3),
        "predicted": observed_words(predicted),
        "observed": observed_words(p.observed),
    }
    if facts.smooth:
        return _(
            "With η = {eta} the run did not follow the quadratic prediction (predicted: "
            "{predicted}; observed: {observed}): the thresholds hold only where f is close to "
            "its quadratic model, and larger steps reach parts of f with different curvature."
        ).format(**values)
    return _(
        "With η = {eta} the run did not follow the quadratic prediction (predicted: "
        "{predicted}; observed: {observed}): the thresholds hold only where f is close to its "
        "quadratic model, and larger steps reach parts of f with different curvature or cross "
        "a kink, where the slope jumps."
    ).format(**values)


def _no_bound_intro(facts: Facts, panel: RatePanel) -> str | None:
    """The introduction when the curvature sets no upper limit on η (a kink, a flat-bottomed
    minimum, no minimum, no positive eigenvalue); None when it does."""
    kink_minimum = panel.at_minimum and facts.kink_point_near(panel.reference) is not None
    point = floats_plain(panel.reference)
    if kink_minimum:
        return _(
            "The learning rate sets how far each step goes. f is not smooth: its minimum "
            "{point} sits on a kink, where ∇f is undefined (only subgradients exist) and the "
            "Hessian says nothing. Away from the kinks the Hessian sets no upper limit on η; "
            "what stops descent from settling is the kink itself: near it |∇f| does not "
            "shrink, so a constant η keeps stepping across it and back, in a band about η "
            "wide. A shrinking η (ηₖ → 0 with Σηₖ = ∞, the subgradient method) is the remedy. "
            "Below, plain descent runs with half, once and twice this lesson's η."
        ).format(point=point)
    if not panel.bounded and not facts.smooth:
        return _(
            "The learning rate sets how far each step goes. f is not smooth: the curvature at "
            "its kinks is undefined. Away from the kinks the Hessian sets no upper limit on η; "
            "what stops descent from settling is the kink itself: near it |∇f| does not "
            "shrink, so a constant η keeps stepping across it and back, in a band about η "
            "wide. A shrinking η (ηₖ → 0 with Σηₖ = ∞, the subgradient method) is the remedy. "
            "Below, plain descent runs with half, once and twice this lesson's η."
        )
    if panel.at_minimum and not panel.bounded:
        return _(
            "The learning rate sets how far each step goes. At the minimum {point} the "
            "Hessian has no positive eigenvalue: the bowl is flat at the bottom, so the "
            "curvature there gives no upper limit on η. The limit comes from farther out, "
            "where f curves more: a step that is safe near the minimum can overshoot from far "
            "away. Below, plain descent runs with half, once and twice this lesson's η."
        ).format(point=point)
    if panel.bounded:
        return None
    if panel.relative and facts.critical_set == "complete":
        return _(
            "The learning rate sets how far each step goes. f has no minimum, so no curvature "
            "at a minimum sets a limit; the curvature at the start only describes the first "
            "steps. Below, plain descent runs with half, once and twice this lesson's η."
        )
    if panel.relative:
        return _(
            "The learning rate sets how far each step goes. symgd found no minimum of f, so "
            "no curvature at a minimum sets a limit; the curvature at the start only "
            "describes the first steps. Below, plain descent runs with half, once and twice "
            "this lesson's η."
        )
    return _(
        "The learning rate sets how far each step goes. Here the curvature gives no upper "
        "limit: the Hessian has no positive eigenvalue {where}, so a bigger η only moves "
        "faster."
    ).format(where=panel.where)


def _bounds(facts: Facts, panel: RatePanel, runs: Runs) -> tuple[str, str, list[str]]:
    """The introduction, the thresholds in LaTeX and the remarks on them."""
    window, where = panel.window, panel.where
    unbounded = _no_bound_intro(facts, panel)
    if unbounded is not None:
        return unbounded, "", []
    intro = _(
        "The learning rate sets how far each step goes. Near a point where the "
        "Hessian has largest eigenvalue λ_max, plain descent multiplies the error "
        "along that eigenvector by (1 − ηλ_max) every step. So it creeps "
        "monotonically when η < 1/λ_max, zig-zags but still converges when "
        "1/λ_max < η < 2/λ_max, and diverges when η > 2/λ_max."
    )
    lam = window.lambda_max or 0.0
    exact = shown_eigenvalues(facts.constant_window)
    exact_lam = short_exact(exact[-1]) if exact else None
    lam_tex = exact_lam if exact_lam is not None else num_tex(lam, 5)
    plain = exact_lam is None or exact_lam == num_tex(lam, 5)
    bound_latex = (
        rf"\lambda_{{\max}} = {lam_tex}"
        + ("" if plain else rf" \approx {num_tex(lam, 5)}")
        + rf",\qquad \frac{{1}}{{\lambda_{{\max}}}} {eq_tex(window.monotone_below or 0)}"
        rf",\qquad \frac{{2}}{{\lambda_{{\max}}}} {eq_tex(window.stable_below or 0)}"
    )
    if not facts.derivation.hessian_is_constant:
        text = [_("These numbers are {where}.").format(where=where)]
    elif facts.is_quadratic() and facts.smooth:
        text = [
            _(
                "f is a quadratic (a polynomial of degree 2), so these bounds hold everywhere, "
                "exactly."
            )
        ]
    else:
        text = [
            _(
                "The Hessian is the same wherever f is twice differentiable (away from its "
                "kinks), so these bounds hold there; at a kink the gradient jumps and they say "
                "nothing."
            )
        ]
    lowest = window.lambda_min
    if lowest is not None and lowest < 0:
        text.append(
            _(
                "But the Hessian also has a negative eigenvalue ({value}): along its "
                "eigenvector f curves down, and every step lengthens that component by the "
                "factor (1 + η|λ_min|) > 1, whatever η is. The bounds only govern the other "
                "directions; there is no learning rate at which descent settles here."
            ).format(value=number(lowest, 4))
        )
    text.extend(_condition_text(facts, window, panel))
    text.extend(_momentum_text(panel, runs))
    if panel.local:
        text.append(
            _(
                "So the runs below start close to it, at {point}, where f is nearly its "
                "quadratic model; from farther away the path first has to reach the minimum's "
                "neighbourhood."
            ).format(point=floats_plain(panel.start))
        )
    return intro, bound_latex, text


def _regime_row(panel: RatePanel, p: PanelRun) -> RegimeRow:
    if panel.saddle:
        detail = (
            _(
                "along v_max; along v_min the run escapes whatever η is (it ran away at step "
                "{step})"
            ).format(step=p.run.diverged_at)
            if p.run.status.value == "diverged"
            else _("along v_max; along v_min the run escapes whatever η is")
        )
    else:
        detail = regime_detail(p.run)
    return RegimeRow(
        eta_latex=rf"\eta = {num_tex(p.rate, 4)}",
        expected=p.expected,
        observed=observed_words(p.observed),
        tone=TONES.get(p.observed, "warn"),
        detail=detail,
        first_latex=r",\; ".join(num_tex(float(v), 4) for v in p.signal[:4])
        + (r",\; \dots" if len(p.signal) > 4 else ""),
    )


def _figure(facts: Facts, runs: Runs, panel: RatePanel) -> tuple[Any, str]:
    """The panel's figure job and caption."""
    from symgd.render import figure_data as data
    from symgd.render import figures as plots

    regimes = [
        data.Regime(
            title=f"η = {number(p.rate, 3)}: {observed_words(p.observed)}",
            path=data.PathData(
                f"η = {number(p.rate, 3)}",
                p.run.xs[p.shown],
                p.run.fs[p.shown],
                p.run.grad_norms[p.shown],
                colour=PANEL_COLOURS[i],
                diverged=p.run.status.value == "diverged" and len(p.run.xs) <= PANEL_STEPS + 1,
            ),
            series=p.signal,
        )
        for i, p in enumerate(panel.runs)
    ]
    if facts.n == 2:
        local = panel.local_region
        surface = (
            runs.surface
            if local is None
            else data.sample_surface(
                facts.compiled.f_batch, facts.compiled.grad_batch, local, resolution=90, arrows=0
            )
        )
        region = runs.region if local is None else local
        markers = [m for m in runs.markers if region.contains(m.point)]
        if local is not None:
            markers.append(data.Marker(tuple(panel.start), "start", ""))
        job = plots.FigureJob(
            "regimes_contour_figure",
            {
                "surface": surface,
                "regimes": regimes,
                "variables": (facts.names[0], facts.names[1]),
                "markers": markers,
                "name": "fig-rates",
            },
        )
        return job, _contour_caption(local is not None)
    label = (
        "f(xₖ)"
        if panel.relative
        else f"{facts.names[0]}ₖ − {facts.names[0]}*"
        if facts.n == 1
        else _("xₖ − x* along v_max")
    )
    job = plots.FigureJob(
        "regimes_figure", {"regimes": regimes, "ylabel": label, "name": "fig-rates"}
    )
    return job, _series_caption(facts, panel)


def _contour_caption(local: bool) -> str:
    """The caption of the panel's paths over the level curves (two variables)."""
    if local:
        caption = _(
            "Gradient descent from the same start with three learning rates, close to the "
            "minimum: the first {steps} steps of each run (the badges above say where it "
            "ended, after at most {most}). Paths that leave the frame are cut at its edge."
        )
    else:
        caption = _(
            "Gradient descent from the same start with three learning rates: the first "
            "{steps} steps of each run (the badges above say where it ended, after at most "
            "{most}). Paths that leave the frame are cut at its edge."
        )
    return caption.format(steps=PANEL_STEPS, most=PANEL_OUTCOME_STEPS)


def _series_caption(facts: Facts, panel: RatePanel) -> str:
    """The caption of the panel's series (f, or the distance to the reference point)."""
    if panel.relative:
        caption = _(
            "Gradient descent from the same start with three learning rates: f at each step, "
            "for the first {steps} steps (the badges above say where each run ended, after at "
            "most {most}). Values beyond the frame are cut off."
        )
    elif facts.n > 1:
        caption = _(
            "Gradient descent from the same start with three learning rates: the distance to "
            "the reference point along the eigenvector of λ_max, step by step, for the first "
            "{steps} steps (the badges above say where each run ended, after at most {most}). "
            "Values beyond the frame are cut off."
        )
    else:
        caption = _(
            "Gradient descent from the same start with three learning rates: the distance to "
            "the reference point, step by step, for the first {steps} steps (the badges above "
            "say where each run ended, after at most {most}). Values beyond the frame are cut "
            "off."
        )
    return caption.format(steps=PANEL_STEPS, most=PANEL_OUTCOME_STEPS)


def _condition_text(facts: Facts, window: Any, panel: RatePanel) -> list[str]:
    """κ = λ_max/λ_min at the minimum and what it does to the step count of plain descent."""
    import math

    values = window.eigenvalues
    if not panel.at_minimum or len(values) < 2 or not values[0] > 0:
        return []
    low, high = values[0], values[-1]
    kappa = high / low
    if kappa < 1 + 1e-9:
        if facts.is_quadratic():
            return [
                _(
                    "Here every eigenvalue is the same (κ = λ_max/λ_min = 1): the bowl is "
                    "round, and plain descent with η = 1/λ lands on the minimum in one step."
                )
            ]
        return [
            _(
                "Here every eigenvalue is the same (κ = λ_max/λ_min = 1): the bowl is round, "
                "and plain descent with η = 1/λ lands on the minimum of the quadratic model in "
                "one step."
            )
        ]
    q = (kappa - 1) / (kappa + 1)
    count = math.ceil(math.log(1 / STEP_COUNT_EPSILON) / math.log(1 / q))
    return [
        _(
            "The condition number κ = λ_max/λ_min = {high}/{low} ≈ {kappa} measures how "
            "stretched the bowl is. Even with the best fixed learning rate, η* = 2/(λ_max + "
            "λ_min), a step of plain descent multiplies the error along the eigenvectors of "
            "λ_max and λ_min by ∓(κ − 1)/(κ + 1) ≈ ∓{factor}, and no direction shrinks faster "
            "than that; so near the minimum shrinking the distance 10⁶-fold takes "
            "ln(10⁶)/ln((κ + 1)/(κ − 1)) ≈ {count} steps; for large κ that is about "
            "κ/2 · ln(10⁶) ≈ {estimate}: the step count grows in proportion to κ."
        ).format(
            high=number(high, 4),
            low=number(low, 4),
            kappa=number(kappa, 4),
            factor=number(q, 4),
            count=count,
            estimate=number(kappa / 2 * math.log(1 / STEP_COUNT_EPSILON), 3),
        )
    ]


def _momentum_text(panel: RatePanel, runs: Runs) -> list[str]:
    """Momentum's own stability bound 2(1 + μ)/λ_max at the minimum (when a momentum run is
    in the lesson)."""
    from symgd.lesson.endings import momentum_of

    top = panel.window.lambda_max
    mus = [m for m in (momentum_of(r) for r in runs.runs) if m is not None]
    if not mus or not panel.at_minimum or top is None or not top > 0 or panel.saddle:
        return []
    mu = mus[0]
    return [
        _(
            "Momentum has its own bound. With momentum μ (here {mu}), each step along an "
            "eigenvector with curvature λ follows eₖ₊₁ = (1 + μ − ηλ)eₖ − μeₖ₋₁, which settles "
            "iff 0 < ηλ < 2(1 + μ); so momentum is stable for η < 2(1 + μ)/λ_max ≈ {bound} "
            "here, {factor} times plain descent's bound. Exactly on that bound the iterates "
            "swing with a constant amplitude: an oscillation that never settles."
        ).format(mu=number(mu), bound=number(2 * (1 + mu) / top, 4), factor=number(1 + mu))
    ]
