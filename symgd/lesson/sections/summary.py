"""Section 9, what happened and why: each run's fate in words, with the reason behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from symgd.lesson.panel import PREDICTED, RatePanel
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
            f"{label(main.method)} left the domain of f at step {main.domain_at}: "
            f"{main.detail}. There f or its gradient has no real value, so the run cannot "
            "continue. One step was long enough to carry the iterate across the edge of the "
            "region where f is defined; a smaller learning rate, or a start farther inside "
            "that region, keeps it there."
        )
        takeaways.append(
            "Where f is defined on part of the space only (√, log, asin, 1/x), "
            "a step that is too long can jump out of it: near the edge, take "
            "smaller steps."
        )
    elif outcome == "cycle":
        _cycle(facts, s, main, paragraphs, takeaways)
    elif outcome == "unfinished":
        _still_moving(facts, main, paragraphs, takeaways)
    else:
        paragraphs.append(f"{label(main.method)}: {run_note(facts, main)}")
        if outcome == "flat":
            takeaways.append("A small gradient does not mean a minimum: check that one exists.")
    if not facts.smooth and outcome != "cycle":
        paragraphs.append(_kink_paragraph(facts))
    others = [r for r in runs.runs if r is not main]
    if others:
        paragraphs.append(_comparison(facts, runs, others))
    if panel.runs:
        observed = "; ".join(f"η = {number(p.rate, 3)}: {p.observed}" for p in panel.runs)
        if [p.observed for p in panel.runs] == list(PREDICTED) and not panel.relative:
            paragraphs.append(
                "The learning-rate panel shows all three regimes of plain descent, "
                f"as the curvature predicts ({observed})."
            )
        else:
            paragraphs.append(f"In the learning-rate panel plain descent was {observed}.")
    if not takeaways:
        takeaways.append(
            "Step against the gradient: it is the direction in which f falls fastest (θ = 180°)."
        )
    if panel.bounded and panel.at_minimum and facts.smooth:
        takeaways.append(
            "The Hessian's largest eigenvalue at the minimum caps the learning "
            "rate (η < 2/λ_max); the condition number κ = λ_max/λ_min sets how "
            "many steps plain descent needs (in proportion to κ)."
        )
    if len(facts.all_minima()) > 1 or (facts.critical_set == "infinite" and facts.minima):
        takeaways.append("On a non-convex function the start point decides which minimum you get.")
    return SummarySection(tuple(paragraphs), tuple(takeaways))


def _eta_text(s: Settings, run: Trajectory) -> str:
    return s.lr.text if run.method != "newton" else "1"


def _converged(facts: Facts, s: Settings, main: Trajectory) -> str:
    name = label(main.method)
    kind = "minimum" if main.minimizes else "maximum"
    target = facts.nearest_point(main.xs[-1])
    point = list(target.as_floats()) if target is not None else [float(v) for v in main.xs[-1]]
    value = float(target.value) if target is not None else float(main.fs[-1])
    text = (
        f"{name} from {floats_plain(s.start.floats)} with η = {_eta_text(s, main)} "
        f"reached the {kind} {floats_plain(point)}, where f = {number(value, 6)}, in "
        f"{main.steps} steps."
    )
    if not main.minimizes:
        return text
    count = len(facts.all_minima())
    if count > 1 or facts.critical_set == "infinite":
        text += (
            f" {facts.count_of_minima(count)}; descent cannot climb, so it settles in the "
            "one whose basin holds the start."
        )
    elif facts.convexity == "strictly convex":
        text += (
            " Because f is strictly convex, that minimum is the global one, and with a "
            "small enough η any start would have led to it."
        )
    elif facts.convex:
        text += (
            " Because f is convex, that minimum is a global one: no start leads to a lower value."
        )
    rate = facts.window_at(point).contraction(s.lr.value) if facts.smooth else None
    if rate is not None and main.method == "gd" and rate < 1:
        text += (
            f" Near the minimum each step shrinks the error by a factor of about "
            f"{number(rate, 3)}, the largest |1 − ηλ| over the Hessian's eigenvalues λ "
            "there; that factor sets the pace."
        )
    return text + lucky_reason(facts, main)


def unbounded_direction(facts: Facts) -> tuple[str, str, str] | None:
    """For a quadratic with a negative eigenvalue: that eigenvalue, its unit eigenvector
    (signed the way the run escapes) and a remark; ``None`` when f is not of that kind."""
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
    return lam_text, floats_plain(v, 3), " (in both directions ±v)"


def _diverged(
    facts: Facts, s: Settings, main: Trajectory, paragraphs: list[str], takeaways: list[str]
) -> None:
    name = label(main.method)
    unbounded = unbounded_direction(facts) if facts.bounded_below is False else None
    target = heading_for(facts, main)
    window = facts.window_at(list(target)) if target is not None and facts.smooth else None
    stable = window.stable_below if window is not None else None
    reason = facts.known.bounded_below_reason if facts.known is not None else ""
    if unbounded is not None:
        lam_text, vector_text, exact_note = unbounded
        paragraphs.append(
            f"{name} ran away. This is not a bad learning rate: f is unbounded below. "
            f"Its Hessian has the negative eigenvalue λ = {lam_text}, and along that "
            f"eigenvector, v ≈ {vector_text}, f falls like −t² without limit{exact_note}. "
            "Every step of descent lengthens the component of x along v by the factor "
            "1 + η|λ|, so the iterates leave along v: |x| grows and f falls without bound; "
            f"symgd stopped the run at step {main.diverged_at} before the numbers "
            "overflowed."
        )
        takeaways.append(
            "Descent needs something to descend to: on a function that is "
            "unbounded below, no learning rate helps."
        )
    elif outcome_of(main) == "unbounded":
        text = (
            f"{name} found no lower bound: f fell past −10¹² by step {main.diverged_at}, "
            "when symgd stopped the run. "
        )
        if facts.bounded_below is False:
            text += (
                f"f is unbounded below ({reason}), so this is not a bad learning rate: "
                "there is nothing to descend to in that direction."
            )
            takeaways.append(
                "Descent needs something to descend to: on a function that is "
                "unbounded below, no learning rate helps."
            )
        else:
            text += (
                "symgd could not show whether f is bounded below."
                if facts.bounded_below is None
                else ""
            )
        paragraphs.append(text.strip())
    elif stable is not None and target is not None and main.lr >= stable:
        paragraphs.append(
            f"{name} diverged because the learning rate is too large: η = {_eta_text(s, main)} "
            f"is above 2/λ_max ≈ {number(stable, 4)} at the minimum {floats_plain(target)}, so "
            "each step overshoots by more than it started with, and the iterates swing wider "
            "every time."
        )
        takeaways.append("Keep η below 2/λ_max; below 1/λ_max the steps never overshoot.")
    else:
        paragraphs.append(
            f"{name} ran away at step {main.diverged_at}: the steps grew instead of shrinking. "
            "The learning rate is too large for the curvature the run met."
        )


def _cycle(
    facts: Facts, s: Settings, main: Trajectory, paragraphs: list[str], takeaways: list[str]
) -> None:
    name = label(main.method)
    period = main.cycle_period or 2
    text = (
        f"{name} never converged: after a while its iterates repeat every {period} steps, "
        f"and they would go on doing so for ever at η = {_eta_text(s, main)}. A cycle is not "
        "convergence, even when f stays small along it. "
    )
    if not facts.smooth:
        text += _kink_paragraph(facts, cycling=True)
        takeaways.append(
            "At a kink the gradient does not shrink near the minimum, so a "
            "constant η cannot settle there: shrink η as the steps go on."
        )
    else:
        target = heading_for(facts, main)
        window = facts.window_at(list(target)) if target is not None else None
        stable = window.stable_below if window is not None else None
        if target is not None and stable is not None and main.lr > stable:
            text += (
                f"At the minimum {floats_plain(target)} the Hessian's largest eigenvalue "
                f"is λ_max ≈ {number(window.lambda_max or 0, 4) if window else ''}, so "
                f"η = {_eta_text(s, main)} is above 2/λ_max ≈ {number(stable, 4)}: near "
                "the minimum each step overshoots it by more than it started with, yet "
                "farther out the curvature is smaller, and the iterates settle into an "
                "orbit around the minimum instead of reaching it. A smaller η (below "
                "2/λ_max) settles."
            )
            takeaways.append(
                "Keep η below 2/λ_max at the minimum you want to reach: above it, "
                "descent can neither settle nor always run away, but orbit."
            )
        else:
            text += "A smaller learning rate breaks the cycle."
    paragraphs.append(text.strip())


def _kink_paragraph(facts: Facts, cycling: bool = False) -> str:
    """What a kink does to descent, in subgradient words."""
    kinks = "; ".join(facts.known.kinks) if facts.known is not None else ""
    where = f" (where {kinks})" if kinks else ""
    text = (
        f"f is not differentiable at its kinks{where}: there ∇f is undefined and only "
        "subgradients exist (any vector between the one-sided slopes); symgd uses the "
        "derivative of the side a point lies on. "
    )
    minima = [k for k in facts.kink_points if k.kind == "minimum"]
    if not minima:
        return text + (
            "No minimum symgd found sits on a kink, so near a minimum descent "
            "behaves as on a smooth function; a run that crosses a kink sees the "
            "gradient jump there."
        )
    text += (
        f"The minimum {floats_plain([float(c) for c in minima[0].coordinates])} sits on a "
        "kink, and near it |∇f| does not shrink: a constant η keeps every step about "
        "η|∇f| long, so descent steps across the kink and back"
        + (" in a cycle" if cycling else "")
        + " instead of settling. The remedy is a "
        "shrinking learning rate (ηₖ → 0 with Σηₖ = ∞, for example ηₖ = η/√(k+1): the "
        "subgradient method), which converges, slowly."
    )
    return text


def _still_moving(
    facts: Facts, main: Trajectory, paragraphs: list[str], takeaways: list[str]
) -> None:
    name = label(main.method)
    gnorm = float(main.grad_norms[-1])
    head = (
        f"{name} used all {main.steps} steps and was still moving (|∇f| ≈ "
        f"{number(gnorm, 2)} at the end, f ≈ {number(float(main.fs[-1]), 6)}). "
    )
    if facts.all_minima() or any(p.kind == "degenerate" for p in facts.isolated):
        paragraphs.append(head + _slow_reason(facts, main))
        return
    reason = facts.known.bounded_below_reason if facts.known is not None else ""
    complete = facts.critical_set == "complete"
    text = head + (
        "f has no minimum, so there is none to reach. "
        if complete
        else "symgd found no minimum for it to approach (its list of critical points "
        "may be incomplete). "
    )
    fading = gnorm < 1e-2 * float(main.grad_norms[0])
    if facts.bounded_below is False:
        text += (
            f"f is unbounded below ({reason}): descent would go on forever, however "
            "many steps it is given."
        )
        takeaways.append(
            "Descent needs something to descend to: on a function that is "
            "unbounded below it never stops."
        )
    elif facts.bounded_below is True:
        text += f"f is bounded below ({reason}), " + (
            "but with no minimum it never attains its lowest value: descent keeps creeping "
            "toward a floor it never reaches."
            if complete
            else "but symgd found no minimum where it attains that bound."
        )
        if fading:
            text += (
                " The gradient fades on the way, so the steps become tiny. With "
                "saturating functions such as σ this is the vanishing-gradient problem."
            )
            takeaways.append("A small gradient does not mean a minimum: check that one exists.")
    else:
        text += "symgd cannot tell whether f is bounded below."
        if fading:
            text += (
                " The gradient fades on the way, so the steps become tiny (with "
                "saturating functions such as σ, the vanishing-gradient problem)."
            )
    paragraphs.append(text)


def _comparison(facts: Facts, runs: Runs, others: list[Trajectory]) -> str:
    parts = [fate(facts, r) for r in others]
    text = "For comparison: " + "; ".join(parts) + "."
    text += fewest_steps(facts, runs.runs)
    minima = bool(facts.all_minima())
    families = {family(r.method) for r in others}
    if "momentum" in families:
        text += (
            " Momentum carries part of each step into the next, which speeds travel "
            "along shallow valleys"
            + (
                " but can overshoot and circle a minimum."
                if minima
                else " and away from the start."
            )
        )
    if "adaptive" in families:
        text += (
            " Adam (like RMSProp and Adagrad) divides each coordinate's step by a "
            "running size of its gradient, so its steps are about η long whatever the "
            "gradient's size"
            + (
                ": robust far away, but it jitters near a minimum unless η shrinks."
                if minima
                else ", even where the gradient is tiny or huge."
            )
        )
    if "second-order" in families:
        text += (
            " Newton's method rescales the step by the inverse Hessian: on a quadratic "
            "with an invertible Hessian it lands on the critical point in one step, whether "
            "that point is a minimum, a maximum or a saddle: it seeks ∇f = 0, not low f."
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
            return f"It is heading for the minimum {floats_plain(kink)}, which sits on a kink of f."
        return (
            "No minimum was found for it to approach; the steps stayed small because the "
            "gradient did."
        )
    where = floats_plain(target.as_floats())
    if target.kind == "degenerate":
        return _degenerate_reason(facts, target, where)
    window = facts.window_at(list(target.as_floats()))
    if not window.eigenvalues:
        return "The curvature near the minimum is undefined, which slows the final approach."
    low, high = window.eigenvalues[0], window.eigenvalues[-1]
    if low <= 1e-9 * max(1.0, max(abs(low), abs(high))):
        return (
            f"It is heading for the minimum {where}, but the Hessian there has a zero "
            "eigenvalue: the bowl is flat at the bottom, the gradient shrinks faster than "
            "the distance, and the steps shrink with it (sublinear convergence)."
        )
    kappa = high / low
    rate = window.contraction(run.lr) if run.method == "gd" else None
    pace = (
        f" Each step shrinks the error only by the factor max|1 − ηλ| ≈ {number(rate, 4)}."
        if rate is not None and rate < 1
        else ""
    )
    if kappa < 10:
        return (
            f"It is heading for the minimum {where} and needed more steps than it was given." + pace
        )
    return (
        f"It is heading for the minimum {where} through a narrow valley: the Hessian there "
        f"has eigenvalues from {number(low, 3)} to {number(high, 3)} (condition number "
        f"κ = λ_max/λ_min ≈ {number(kappa, 3)}). η must stay below 2/λ_max to be "
        "stable, and then the steps along the flat direction cover only a sliver of the "
        "distance each time." + pace
    )


def _degenerate_reason(facts: Facts, target: CriticalPoint, where: str) -> str:
    nature = facts.nature_near(target.as_floats())
    kind = nature.kind if nature is not None else "unknown"
    head = (
        f"It is creeping toward the critical point {where}, where the Hessian is singular, "
        "so the second-derivative test cannot classify it. "
    )
    slow = (
        "With no curvature there, the gradient shrinks faster than the distance to the "
        "point, so the steps shrink with it and progress is sublinear: no learning rate "
        "makes it fast and stable at once."
    )
    if nature is None or kind == "unknown":
        return head + "symgd cannot tell what kind of point it is. " + slow
    if kind == "minimum":
        return head + f"It is a minimum, a flat-bottomed one ({nature.reason}). " + slow
    if kind == "inflection":
        text = head + (
            f"It is an inflection point, not a minimum ({nature.reason}): descent "
            "slows to a crawl as it nears it, because the slope vanishes there."
        )
        if facts.bounded_below is False and facts.known is not None:
            text += (
                f" Past it f falls without bound ({facts.known.bounded_below_reason}): "
                "a run that crosses (momentum, or a longer step) does not stop."
            )
        return text
    return head + f"It is a {kind} ({nature.reason}). " + slow
