"""Section 9, what happened and why: each run's fate in words, with the reason behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from symgd.lesson.facts import Facts, shown_eigenvalues
from symgd.lesson.methods import label
from symgd.lesson.panel import RatePanel
from symgd.lesson.runs import Runs
from symgd.lesson.settings import TOLERANCE, Settings
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
    """The plain-words account: what each run did and the reason behind it."""
    paragraphs: list[str] = []
    takeaways: list[str] = []
    main = runs.main
    status = main.status.value
    if status == "converged":
        paragraphs.append(_converged(facts, s, main))
    elif status == "diverged":
        _diverged(facts, s, main, paragraphs, takeaways)
    elif status == "domain":
        paragraphs.append(
            f"{label(main.method)} left the domain of f at step {main.domain_at}: "
            f"{main.detail}. There f or its gradient has no real value, so the run cannot "
            "continue. One step was long enough to carry the iterate across the edge of the "
            "region where f is defined; a smaller learning rate, or a start farther inside "
            "that region, keeps it there.")
        takeaways.append("Where f is defined on part of the space only (√, log, asin, 1/x), "
                         "a step that is too long can jump out of it: near the edge, take "
                         "smaller steps.")
    else:
        _still_moving(facts, main, paragraphs, takeaways)
    others = [r for r in runs.runs if r is not main]
    if others:
        paragraphs.append(_comparison(facts, runs, others))
    if panel.runs:
        observed = "; ".join(f"η = {number(p.rate, 3)}: {p.observed}" for p in panel.runs)
        if [p.observed for p in panel.runs] == ["monotone", "oscillating", "divergent"]:
            paragraphs.append("The learning-rate panel shows all three regimes of plain descent, "
                              f"as the curvature predicts ({observed}).")
        else:
            paragraphs.append(f"In the learning-rate panel plain descent was {observed}.")
    if not takeaways:
        takeaways.append("Step against the gradient: it is the direction in which f falls "
                         "fastest (θ = 180°).")
    takeaways.append("The Hessian's largest eigenvalue caps the learning rate (η < 2/λ_max); "
                     "its smallest positive one sets how slowly the last stretch goes.")
    if len(facts.minima) > 1:
        takeaways.append("On a non-convex function the start point decides which minimum you "
                         "get.")
    return SummarySection(tuple(paragraphs), tuple(takeaways))


def _eta_text(s: Settings, run: Trajectory) -> str:
    return s.lr.text if run.method != "newton" else "1"


def _converged(facts: Facts, s: Settings, main: Trajectory) -> str:
    name = label(main.method)
    target = facts.nearest_point(main.xs[-1])
    if target is not None and target.kind == "minimum":
        text = (f"{name} from {floats_plain(s.start.floats)} with η = {_eta_text(s, main)} "
                f"reached the minimum {floats_plain(target.as_floats())}, where f = "
                f"{number(float(target.value), 6)}, in {main.steps} steps.")
        if len(facts.minima) > 1:
            text += (f" f has {len(facts.minima)} minima; descent cannot climb, so it settles "
                     "in the one whose basin holds the start (see the basin picture).")
        elif facts.derivation.convexity.verdict in ("strictly convex", "convex"):
            text += (" Because f is convex, that minimum is the global one, and any start "
                     "would have led to it.")
        rate = facts.window_at(list(target.as_floats())).contraction(s.lr.value)
        if rate is not None and main.method == "gd":
            text += (f" Near the minimum each step shrinks the error by a factor of about "
                     f"{number(rate, 3)}, the largest |1 − ηλ| over the Hessian's eigenvalues λ "
                     "there; that factor sets the pace.")
        return text
    if target is not None:
        return (f"{name} stopped at the {target.kind} {floats_plain(target.as_floats())}: the "
                "gradient vanishes there too, and a method that only looks for ∇f = 0 cannot "
                "tell a saddle or maximum from a minimum.")
    if not facts.derivation.critical_points:
        return (f"{name} stopped after {main.steps} steps because |∇f| fell below "
                f"{number(TOLERANCE)}, but f has no critical point: the run reached a region so "
                f"flat that the gradient all but vanishes (f ≈ {number(float(main.fs[-1]), 3)}). "
                "A small gradient does not prove a minimum; with saturating functions such as "
                "σ it is the vanishing-gradient problem.")
    return f"{name} converged to {floats_plain(main.xs[-1])} in {main.steps} steps."


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


def _diverged(facts: Facts, s: Settings, main: Trajectory, paragraphs: list[str],
              takeaways: list[str]) -> None:
    import numpy as np

    name = label(main.method)
    unbounded = unbounded_direction(facts)
    window = facts.constant_window
    stable = window.stable_below if window is not None else None
    if unbounded is not None:
        lam_text, vector_text, exact_note = unbounded
        paragraphs.append(
            f"{name} ran away. This is not a bad learning rate: f is unbounded below. "
            f"Its Hessian has the negative eigenvalue λ = {lam_text}, and along that "
            f"eigenvector, v ≈ {vector_text}, f falls like −t² without limit{exact_note}. "
            "Every step of descent lengthens the component of x along v by the factor "
            "1 + η|λ|, so the iterates leave along v: |x| grows and f falls without bound; "
            f"symgd stopped the run at step {main.diverged_at} before the numbers "
            "overflowed.")
        takeaways.append("Descent needs something to descend to: on a function that is "
                         "unbounded below, no learning rate helps.")
    elif stable is not None and s.lr.value >= stable:
        paragraphs.append(
            f"{name} diverged because the learning rate is too large: η = {_eta_text(s, main)} "
            f"is above 2/λ_max ≈ {number(stable, 4)}, so each step overshoots the minimum by "
            "more than it started with, and the iterates swing wider every time.")
        takeaways.append("Keep η below 2/λ_max; below 1/λ_max the steps never overshoot.")
    else:
        finite = main.fs[np.isfinite(main.fs)]
        low = float(finite.min()) if finite.size else float("nan")
        paragraphs.append(
            f"{name} ran away at step {main.diverged_at}. "
            + (f"f fell to {number(low, 3)} along the way, which suggests f is unbounded below "
               "in the direction the iterates took." if low < -1e6 else
               "The steps grew instead of shrinking: the learning rate is too large for "
               "the curvature the run met."))


def _still_moving(facts: Facts, main: Trajectory, paragraphs: list[str],
                  takeaways: list[str]) -> None:
    name = label(main.method)
    gnorm = float(main.grad_norms[-1])
    if facts.derivation.critical_points:
        paragraphs.append(
            f"{name} used all {main.steps} steps without meeting the tolerance "
            f"(|∇f| ≈ {number(gnorm, 2)} at the end, f ≈ {number(float(main.fs[-1]), 6)}). "
            f"{_slow_reason(facts, main)}")
        return
    fading = gnorm < 1e-2 * float(main.grad_norms[0])
    text = (f"{name} used all {main.steps} steps and was still moving (|∇f| ≈ "
            f"{number(gnorm, 2)}, f ≈ {number(float(main.fs[-1]), 4)}). f has no critical "
            "point, so there is no minimum to reach. ")
    if fading:
        text += ("f keeps decreasing toward a floor it never attains, and the gradient "
                 "fades on the way, so the steps become tiny. With saturating functions "
                 "such as σ this is the vanishing-gradient problem.")
        takeaways.append("A small gradient does not mean a minimum: check that one exists.")
    else:
        text += ("The gradient does not fade, so f falls without bound: descent would "
                 "go on forever, however many steps it is given.")
        takeaways.append("Descent needs something to descend to: on a function that is "
                         "unbounded below it never stops.")
    paragraphs.append(text)


def _comparison(facts: Facts, runs: Runs, others: list[Trajectory]) -> str:
    parts = [_fate(facts, r) for r in others]
    text = "For comparison: " + "; ".join(parts) + "."
    converged = [r for r in runs.runs if r.status.value == "converged"
                 and facts.nearest_point(r.xs[-1]) is not None]
    if len(converged) >= 2:
        fastest = min(converged, key=lambda r: r.steps)
        text += f" {label(fastest.method)} needed the fewest steps here."
    minima = bool(facts.minima)
    if any(r.method in ("momentum", "nesterov") for r in others):
        text += (" Momentum carries part of each step into the next, which speeds travel "
                 "along shallow valleys" + (" but can overshoot and circle a minimum."
                                            if minima else " and away from the start."))
    if any(r.method in ("adam", "rmsprop", "adagrad") for r in others):
        text += (" Adam (like RMSProp and Adagrad) divides each coordinate's step by a "
                 "running size of its gradient, so its steps are about η long whatever the "
                 "gradient's size" + (": robust far away, but it jitters near a minimum "
                                      "unless η shrinks." if minima else
                                      ", even where the gradient is tiny or huge."))
    if any(r.method == "newton" for r in others):
        text += (" Newton's method rescales the step by the inverse Hessian: on a quadratic "
                 "it lands on the critical point in one step, whether that point is a "
                 "minimum or a saddle.")
    return text


def _fate(facts: Facts, r: Trajectory) -> str:
    name = label(r.method)
    st = r.status.value
    if st == "converged":
        target = facts.nearest_point(r.xs[-1])
        if target is None and not facts.derivation.critical_points:
            return (f"{name} met the tolerance after {r.steps} steps on a flat stretch, not "
                    "at a critical point")
        where = f" at the {target.kind} {floats_plain(target.as_floats())}" \
            if target is not None else ""
        return f"{name} converged in {r.steps} steps{where}"
    if st == "diverged":
        return f"{name} ran away at step {r.diverged_at}"
    if st == "domain":
        return f"{name} left the domain of f at step {r.domain_at}"
    if st == "singular":
        return f"{name} stopped where the Hessian is singular"
    return (f"{name} was still moving after {r.steps} steps "
            f"(|∇f| ≈ {number(float(r.grad_norms[-1]), 2)})")


def _slow_reason(facts: Facts, run: Trajectory) -> str:
    import numpy as np

    target: CriticalPoint | None = None
    for p in (p for p in facts.isolated if p.kind in ("minimum", "degenerate")):
        if target is None or np.abs(np.asarray(p.as_floats()) - run.xs[-1]).max() < np.abs(
                np.asarray(target.as_floats()) - run.xs[-1]).max():
            target = p
    if target is None:
        return ("No minimum was found for it to approach; the steps stayed small because the "
                "gradient did.")
    where = floats_plain(target.as_floats())
    if target.kind == "degenerate":
        convex = facts.derivation.convexity.verdict in ("convex", "strictly convex")
        return (f"It is creeping toward the critical point {where}. The Hessian is zero there, "
                "so the second-derivative test cannot classify it, but f "
                + ("is convex, so this is its global minimum: a flat-bottomed one. "
                   if convex else "was lowest there along the whole run: it behaves like a "
                   "flat-bottomed minimum. ")
                + "With no curvature at the bottom, the gradient shrinks faster than the "
                "distance to it (for x⁴ the slope is 4x³), so every step is shorter than the "
                "last and progress is sublinear: no learning rate makes it fast and stable "
                "at once.")
    window = facts.window_at(list(target.as_floats()))
    if not window.eigenvalues:
        return "The curvature near the minimum is undefined, which slows the final approach."
    low, high = window.eigenvalues[0], window.eigenvalues[-1]
    if low <= 1e-9 * max(1.0, max(abs(low), abs(high))):
        return (f"It is heading for the minimum {where}, but the Hessian there has a zero "
                "eigenvalue: the bowl is flat at the bottom, the gradient shrinks faster than "
                "the distance, and the steps get ever shorter (sublinear convergence).")
    return (f"It is heading for the minimum {where} through a narrow valley: the Hessian there "
            f"has eigenvalues from {number(low, 3)} to {number(high, 3)} (condition number "
            f"≈ {number(window.condition_number or 0.0, 3)}). η must stay below 2/λ_max to be "
            "stable, and then the steps along the flat direction cover only a sliver of the "
            "distance each time.")
