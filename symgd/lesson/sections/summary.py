"""Section 9, what happened and why: each run's fate in words, with the reason behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from symgd.base.i18n import N_, _
from symgd.lesson.endings import (
    fate,
    fewest_steps,
    heading_for,
    lucky_reason,
    outcome_of,
    run_note,
    succeeded,
)
from symgd.lesson.facts import Facts, shown_eigenvalues
from symgd.lesson.methods import family, label
from symgd.lesson.panel import PREDICTED, RatePanel, observed_words
from symgd.lesson.runs import Runs
from symgd.lesson.settings import Settings
from symgd.lesson.view import View
from symgd.render.latex import floats_plain, number, plain_math

if TYPE_CHECKING:
    from symgd.calculus.points import CriticalPoint
    from symgd.numeric.results import Trajectory


@dataclass(frozen=True)
class SummarySection(View):
    """Section 9."""

    paragraphs: tuple[str, ...]
    takeaways: tuple[str, ...]


def summary_section(facts: Facts, s: Settings, runs: Runs, panel: RatePanel) -> SummarySection:
    """The plain-words account: what each run did and the reason behind it, every claim read
    from the facts of f and the runs' outcomes."""
    paragraphs: list[str] = []
    takeaways: list[str] = []
    main = runs.main
    outcome = outcome_of(main)
    if succeeded(main):
        paragraphs.append(_converged(facts, s, main))
    elif outcome in ("diverged", "unbounded"):
        _diverged(facts, s, main, paragraphs, takeaways)
    elif outcome == "domain":
        paragraphs.append(
            _("{name} left the domain of f at step {step}: {detail}.").format(
                name=label(main.method), step=main.domain_at, detail=main.detail
            )
            + " "
            + _(
                "There f or its gradient has no real value, so the run cannot continue. One "
                "step was long enough to carry the iterate across the edge of the region "
                "where f is defined; a smaller learning rate, or a start farther inside that "
                "region, keeps it there."
            )
        )
        takeaways.append(
            _(
                "Where f is defined on part of the space only (√, log, asin, 1/x), a step "
                "that is too long can jump out of it: near the edge, take smaller steps."
            )
        )
    elif outcome == "cycle":
        _cycle(facts, s, main, paragraphs, takeaways)
    elif outcome == "unfinished":
        _still_moving(facts, main, paragraphs, takeaways)
    else:
        paragraphs.append(
            _("{name}: {note}").format(name=label(main.method), note=run_note(facts, main))
        )
        if outcome == "flat":
            takeaways.append(_("A small gradient does not mean a minimum: check that one exists."))
    if not facts.smooth and outcome != "cycle":
        paragraphs.append(_kink_paragraph(facts))
    others = [r for r in runs.runs if r is not main]
    if others:
        paragraphs.append(_comparison(facts, runs, others))
    if panel.runs:
        observed = "; ".join(
            f"η = {number(p.rate, 3)}: {observed_words(p.observed)}" for p in panel.runs
        )
        if [p.observed for p in panel.runs] == list(PREDICTED) and not panel.relative:
            paragraphs.append(
                _(
                    "The learning-rate panel shows all three regimes of plain descent, as the "
                    "curvature predicts ({observed})."
                ).format(observed=observed)
            )
        else:
            paragraphs.append(
                _("In the learning-rate panel plain descent was {observed}.").format(
                    observed=observed
                )
            )
    if not takeaways:
        takeaways.append(
            _("Step against the gradient: it is the direction in which f falls fastest (θ = 180°).")
        )
    if panel.bounded and panel.at_minimum and facts.smooth:
        takeaways.append(
            _(
                "The Hessian's largest eigenvalue at the minimum caps the learning rate "
                "(η < 2/λ_max); the condition number κ = λ_max/λ_min sets how many steps plain "
                "descent needs (in proportion to κ)."
            )
        )
    if len(facts.all_minima()) > 1 or (facts.critical_set == "infinite" and facts.minima):
        takeaways.append(
            _("On a non-convex function the start point decides which minimum you get.")
        )
    return SummarySection(tuple(paragraphs), tuple(takeaways))


def _eta_text(s: Settings, run: Trajectory) -> str:
    return s.lr.text if run.method != "newton" else "1"


def _converged(facts: Facts, s: Settings, main: Trajectory) -> str:
    target = facts.nearest_point(main.xs[-1])
    point = list(target.as_floats()) if target is not None else [float(v) for v in main.xs[-1]]
    value = float(target.value) if target is not None else float(main.fs[-1])
    reached = (
        _(
            "{name} from {start} with η = {eta} reached the minimum {point}, where f = "
            "{value}, in {steps} steps."
        )
        if main.minimizes
        else _(
            "{name} from {start} with η = {eta} reached the maximum {point}, where f = "
            "{value}, in {steps} steps."
        )
    )
    text = reached.format(
        name=label(main.method),
        start=floats_plain(s.start.floats),
        eta=_eta_text(s, main),
        point=floats_plain(point),
        value=number(value, 6),
        steps=main.steps,
    )
    if not main.minimizes:
        return text
    count = len(facts.all_minima())
    if count > 1 or facts.critical_set == "infinite":
        text += " " + _(
            "{counted}; descent cannot climb, so it settles in the one whose basin holds the start."
        ).format(counted=facts.count_of_minima(count))
    elif facts.convexity == "strictly convex":
        text += " " + _(
            "Because f is strictly convex, that minimum is the global one, and with a small "
            "enough η any start would have led to it."
        )
    elif facts.convex:
        text += " " + _(
            "Because f is convex, that minimum is a global one: no start leads to a lower value."
        )
    rate = facts.window_at(point).contraction(s.lr.value) if facts.smooth else None
    if rate is not None and main.method == "gd" and rate < 1:
        text += " " + _(
            "Near the minimum each step shrinks the error by a factor of about {rate}, the "
            "largest |1 − ηλ| over the Hessian's eigenvalues λ there; that factor sets the pace."
        ).format(rate=number(rate, 3))
    return text + lucky_reason(facts, main)


def unbounded_direction(facts: Facts) -> tuple[str, str] | None:
    """For a quadratic with a negative eigenvalue: that eigenvalue and its unit eigenvector
    (signed the way the run escapes); ``None`` when f is not of that kind."""
    window = facts.constant_window
    if window is None or not window.vectors or not facts.is_quadratic():
        return None
    if window.eigenvalues[0] >= -1e-12:
        return None
    v = list(window.vectors[0])
    if v[max(range(len(v)), key=lambda i: abs(v[i]))] < 0:
        v = [-c for c in v]
    exact = shown_eigenvalues(window)
    lam_text = plain_math(str(exact[0])) if exact else number(window.eigenvalues[0], 4)
    return lam_text, floats_plain(v, 3)


def _diverged(
    facts: Facts, s: Settings, main: Trajectory, paragraphs: list[str], takeaways: list[str]
) -> None:
    name = label(main.method)
    unbounded = unbounded_direction(facts) if facts.bounded_below is False else None
    target = heading_for(facts, main)
    window = facts.window_at(list(target)) if target is not None and facts.smooth else None
    stable = window.stable_below if window is not None else None
    reason = facts.known.bounded_below_reason if facts.known is not None else ""
    nothing_below = _(
        "Descent needs something to descend to: on a function that is unbounded below, no "
        "learning rate helps."
    )
    if unbounded is not None:
        lam_text, vector_text = unbounded
        paragraphs.append(
            _(
                "{name} ran away. This is not a bad learning rate: f is unbounded below. Its "
                "Hessian has the negative eigenvalue λ = {lam}, and along that eigenvector, "
                "v ≈ {vector}, f falls like −t² without limit (in both directions ±v). Every "
                "step of descent lengthens the component of x along v by the factor 1 + η|λ|, "
                "so the iterates leave along v: |x| grows and f falls without bound; symgd "
                "stopped the run at step {step} before the numbers overflowed."
            ).format(name=name, lam=lam_text, vector=vector_text, step=main.diverged_at)
        )
        takeaways.append(nothing_below)
    elif outcome_of(main) == "unbounded":
        text = _(
            "{name} found no lower bound: f fell past −10¹² by step {step}, when symgd "
            "stopped the run."
        ).format(name=name, step=main.diverged_at)
        if facts.bounded_below is False:
            text += " " + _(
                "f is unbounded below ({reason}), so this is not a bad learning rate: there is "
                "nothing to descend to in that direction."
            ).format(reason=reason)
            takeaways.append(nothing_below)
        elif facts.bounded_below is None:
            text += " " + _("symgd could not show whether f is bounded below.")
        paragraphs.append(text)
    elif stable is not None and target is not None and main.lr >= stable:
        paragraphs.append(
            _(
                "{name} diverged because the learning rate is too large: η = {eta} is above "
                "2/λ_max ≈ {stable} at the minimum {point}, so each step overshoots by more "
                "than it started with, and the iterates swing wider every time."
            ).format(
                name=name,
                eta=_eta_text(s, main),
                stable=number(stable, 4),
                point=floats_plain(target),
            )
        )
        takeaways.append(_("Keep η below 2/λ_max; below 1/λ_max the steps never overshoot."))
    else:
        paragraphs.append(
            _(
                "{name} ran away at step {step}: the steps grew instead of shrinking. The "
                "learning rate is too large for the curvature the run met."
            ).format(name=name, step=main.diverged_at)
        )


def _cycle(
    facts: Facts, s: Settings, main: Trajectory, paragraphs: list[str], takeaways: list[str]
) -> None:
    text = _(
        "{name} never converged: after a while its iterates repeat every {period} steps, and "
        "they would go on doing so for ever at η = {eta}. A cycle is not convergence, even "
        "when f stays small along it."
    ).format(name=label(main.method), period=main.cycle_period or 2, eta=_eta_text(s, main))
    if not facts.smooth:
        text += " " + _kink_paragraph(facts, cycling=True)
        takeaways.append(
            _(
                "At a kink the gradient does not shrink near the minimum, so a constant η "
                "cannot settle there: shrink η as the steps go on."
            )
        )
        paragraphs.append(text)
        return
    target = heading_for(facts, main)
    window = facts.window_at(list(target)) if target is not None else None
    stable = window.stable_below if window is not None else None
    if target is not None and window is not None and stable is not None and main.lr > stable:
        text += " " + _(
            "At the minimum {point} the Hessian's largest eigenvalue is λ_max ≈ {lam}, so "
            "η = {eta} is above 2/λ_max ≈ {stable}: near the minimum each step overshoots it "
            "by more than it started with, yet farther out the curvature is smaller, and the "
            "iterates settle into an orbit around the minimum instead of reaching it. A "
            "smaller η (below 2/λ_max) settles."
        ).format(
            point=floats_plain(target),
            lam=number(window.lambda_max or 0, 4),
            eta=_eta_text(s, main),
            stable=number(stable, 4),
        )
        takeaways.append(
            _(
                "Keep η below 2/λ_max at the minimum you want to reach: above it, descent can "
                "neither settle nor always run away, but orbit."
            )
        )
    else:
        text += " " + _("A smaller learning rate breaks the cycle.")
    paragraphs.append(text)


def _kink_paragraph(facts: Facts, cycling: bool = False) -> str:
    """What a kink does to descent, in subgradient words."""
    kinks = "; ".join(facts.known.kinks) if facts.known is not None else ""
    head = (
        _(
            "f is not differentiable at its kinks (where {kinks}): there ∇f is undefined and "
            "only subgradients exist (any vector between the one-sided slopes); symgd uses the "
            "derivative of the side a point lies on."
        ).format(kinks=kinks)
        if kinks
        else _(
            "f is not differentiable at its kinks: there ∇f is undefined and only subgradients "
            "exist (any vector between the one-sided slopes); symgd uses the derivative of the "
            "side a point lies on."
        )
    )
    minima = [k for k in facts.kink_points if k.kind == "minimum"]
    if not minima:
        return (
            head
            + " "
            + _(
                "No minimum symgd found sits on a kink, so near a minimum descent behaves as "
                "on a smooth function; a run that crosses a kink sees the gradient jump there."
            )
        )
    point = floats_plain([float(c) for c in minima[0].coordinates])
    on_kink = (
        _(
            "The minimum {point} sits on a kink, and near it |∇f| does not shrink: a constant "
            "η keeps every step about η|∇f| long, so descent steps across the kink and back in "
            "a cycle instead of settling."
        )
        if cycling
        else _(
            "The minimum {point} sits on a kink, and near it |∇f| does not shrink: a constant "
            "η keeps every step about η|∇f| long, so descent steps across the kink and back "
            "instead of settling."
        )
    )
    remedy = _(
        "The remedy is a shrinking learning rate (ηₖ → 0 with Σηₖ = ∞, for example "
        "ηₖ = η/√(k+1): the subgradient method), which converges, slowly."
    )
    return head + " " + on_kink.format(point=point) + " " + remedy


def _still_moving(
    facts: Facts, main: Trajectory, paragraphs: list[str], takeaways: list[str]
) -> None:
    gnorm = float(main.grad_norms[-1])
    head = _(
        "{name} used all {steps} steps and was still moving (|∇f| ≈ {grad} at the end, "
        "f ≈ {value})."
    ).format(
        name=label(main.method),
        steps=main.steps,
        grad=number(gnorm, 2),
        value=number(float(main.fs[-1]), 6),
    )
    if facts.all_minima() or any(p.kind == "degenerate" for p in facts.isolated):
        paragraphs.append(head + " " + _slow_reason(facts, main))
        return
    reason = facts.known.bounded_below_reason if facts.known is not None else ""
    complete = facts.critical_set == "complete"
    text = (
        head
        + " "
        + (
            _("f has no minimum, so there is none to reach.")
            if complete
            else _(
                "symgd found no minimum for it to approach (its list of critical points may "
                "be incomplete)."
            )
        )
    )
    fading = gnorm < 1e-2 * float(main.grad_norms[0])
    if facts.bounded_below is False:
        text += " " + _(
            "f is unbounded below ({reason}): descent would go on forever, however many steps "
            "it is given."
        ).format(reason=reason)
        takeaways.append(
            _(
                "Descent needs something to descend to: on a function that is unbounded below "
                "it never stops."
            )
        )
    elif facts.bounded_below is True:
        bounded = (
            _(
                "f is bounded below ({reason}), but with no minimum it never attains its "
                "lowest value: descent keeps creeping toward a floor it never reaches."
            )
            if complete
            else _(
                "f is bounded below ({reason}), but symgd found no minimum where it attains "
                "that bound."
            )
        )
        text += " " + bounded.format(reason=reason)
        if fading:
            text += " " + _(
                "The gradient fades on the way, so the steps become tiny. With saturating "
                "functions such as σ this is the vanishing-gradient problem."
            )
            takeaways.append(_("A small gradient does not mean a minimum: check that one exists."))
    else:
        text += " " + _("symgd cannot tell whether f is bounded below.")
        if fading:
            text += " " + _(
                "The gradient fades on the way, so the steps become tiny (with saturating "
                "functions such as σ, the vanishing-gradient problem)."
            )
    paragraphs.append(text)


def _comparison(facts: Facts, runs: Runs, others: list[Trajectory]) -> str:
    parts = [fate(facts, r) for r in others]
    text = _("For comparison: {fates}.").format(fates="; ".join(parts))
    text += fewest_steps(facts, runs.runs)
    minima = bool(facts.all_minima())
    families = {family(r.method) for r in others}
    if "momentum" in families:
        text += " " + (
            _(
                "Momentum carries part of each step into the next, which speeds travel along "
                "shallow valleys but can overshoot and circle a minimum."
            )
            if minima
            else _(
                "Momentum carries part of each step into the next, which speeds travel along "
                "shallow valleys and away from the start."
            )
        )
    if "adaptive" in families:
        text += " " + (
            _(
                "Adam (like RMSProp and Adagrad) divides each coordinate's step by a running "
                "size of its gradient, so its steps are about η long whatever the gradient's "
                "size: robust far away, but it jitters near a minimum unless η shrinks."
            )
            if minima
            else _(
                "Adam (like RMSProp and Adagrad) divides each coordinate's step by a running "
                "size of its gradient, so its steps are about η long whatever the gradient's "
                "size, even where the gradient is tiny or huge."
            )
        )
    if "second-order" in families:
        text += " " + _(
            "Newton's method rescales the step by the inverse Hessian: on a quadratic with an "
            "invertible Hessian it lands on the critical point in one step, whether that point "
            "is a minimum, a maximum or a saddle: it seeks ∇f = 0, not low f."
        )
    return text


def _slow_reason(facts: Facts, run: Trajectory) -> str:
    import numpy as np

    end = np.asarray(run.xs[-1], dtype=float)
    candidates = [p for p in facts.isolated if p.kind in ("minimum", "degenerate")]
    target: CriticalPoint | None = None
    if candidates:
        target = min(candidates, key=lambda p: float(np.abs(np.asarray(p.as_floats()) - end).max()))
    if target is None:
        kink = heading_for(facts, run)
        if kink is not None:
            return _("It is heading for the minimum {point}, which sits on a kink of f.").format(
                point=floats_plain(kink)
            )
        return _(
            "No minimum was found for it to approach; the steps stayed small because the "
            "gradient did."
        )
    where = floats_plain(target.as_floats())
    if target.kind == "degenerate":
        return _degenerate_reason(facts, target, where)
    window = facts.window_at(list(target.as_floats()))
    if not window.eigenvalues:
        return _("The curvature near the minimum is undefined, which slows the final approach.")
    low, high = window.eigenvalues[0], window.eigenvalues[-1]
    if low <= 1e-9 * max(1.0, max(abs(low), abs(high))):
        return _(
            "It is heading for the minimum {point}, but the Hessian there has a zero "
            "eigenvalue: the bowl is flat at the bottom, the gradient shrinks faster than the "
            "distance, and the steps shrink with it (sublinear convergence)."
        ).format(point=where)
    kappa = high / low
    rate = window.contraction(run.lr) if run.method == "gd" else None
    pace = (
        " "
        + _("Each step shrinks the error only by the factor max|1 − ηλ| ≈ {rate}.").format(
            rate=number(rate, 4)
        )
        if rate is not None and rate < 1
        else ""
    )
    if kappa < 10:
        return (
            _(
                "It is heading for the minimum {point} and needed more steps than it was given."
            ).format(point=where)
            + pace
        )
    return (
        _(
            "It is heading for the minimum {point} through a narrow valley: the Hessian there "
            "has eigenvalues from {low} to {high} (condition number κ = λ_max/λ_min ≈ "
            "{kappa}). η must stay below 2/λ_max to be stable, and then the steps along the "
            "flat direction cover only a sliver of the distance each time."
        ).format(point=where, low=number(low, 3), high=number(high, 3), kappa=number(kappa, 3))
        + pace
    )


#: what a degenerate critical point turned out to be, in a sentence (``{reason}``: why)
DEGENERATE_KINDS = {
    "minimum": N_("It is a minimum, a flat-bottomed one ({reason})."),
    "maximum": N_("It is a maximum ({reason})."),
    "saddle": N_("It is a saddle ({reason})."),
}


def _degenerate_reason(facts: Facts, target: CriticalPoint, where: str) -> str:
    nature = facts.nature_near(target.as_floats())
    kind = nature.kind if nature is not None else "unknown"
    head = _(
        "It is creeping toward the critical point {point}, where the Hessian is singular, so "
        "the second-derivative test cannot classify it."
    ).format(point=where)
    slow = _(
        "With no curvature there, the gradient shrinks faster than the distance to the point, "
        "so the steps shrink with it and progress is sublinear: no learning rate makes it fast "
        "and stable at once."
    )
    if nature is None or kind == "unknown":
        return head + " " + _("symgd cannot tell what kind of point it is.") + " " + slow
    if kind == "inflection":
        text = (
            head
            + " "
            + _(
                "It is an inflection point, not a minimum ({reason}): descent slows to a crawl "
                "as it nears it, because the slope vanishes there."
            ).format(reason=nature.reason)
        )
        if facts.bounded_below is False and facts.known is not None:
            text += " " + _(
                "Past it f falls without bound ({reason}): a run that crosses (momentum, or a "
                "longer step) does not stop."
            ).format(reason=facts.known.bounded_below_reason)
        return text
    words = DEGENERATE_KINDS.get(kind)
    said = (
        _(words).format(reason=nature.reason)
        if words is not None
        else _("It is a {kind} ({reason}).").format(kind=kind, reason=nature.reason)
    )
    return head + " " + said + " " + slow
