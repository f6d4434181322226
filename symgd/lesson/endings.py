"""How each run ended, in words read from its outcome and the function's facts: the badge, the
run note, the short fate for comparisons, the minimum a run was heading for, and what made a
one- or two-step win lucky. Nothing here guesses: "converged" is said only of a run whose
outcome is a minimum (a maximum, for ascent)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgd.lesson.methods import first_step_is_sign, label
from symgd.lesson.settings import TOLERANCE
from symgd.render.latex import count_of, floats_plain, number

if TYPE_CHECKING:
    from symgd.lesson.facts import Facts
    from symgd.numeric.results import Trajectory

#: momentum-like methods whose stability bound along an eigen-direction is 2(1+μ)/λ
HEAVY_BALL = ("momentum",)
#: methods whose first step moves every coordinate by ±η


@dataclass(frozen=True)
class Badge:
    """The outcome as the runs table shows it."""

    text: str
    tone: str


def outcome_of(run: Trajectory) -> str:
    """The run's outcome value (``minimum``, ``cycle``, ...); from its status when unknown."""
    if run.outcome is not None:
        return str(run.outcome.value)
    return {"diverged": "diverged", "domain": "domain", "singular": "singular"}.get(
        run.status.value, "unfinished"
    )


def succeeded(run: Trajectory) -> bool:
    """True when the run reached what it looked for: a minimum (a maximum, for ascent)."""
    return outcome_of(run) == ("minimum" if run.minimizes else "maximum")


def badge(run: Trajectory, facts: Facts | None = None) -> Badge:
    """The badge of a run: ``converged`` only for a minimum (a maximum, for ascent)."""
    outcome = outcome_of(run)
    if succeeded(run):
        return Badge("converged", "good")
    if outcome == "cycle":
        period = run.cycle_period or 2
        if facts is not None and on_momentum_bound(facts, run):
            return Badge(f"oscillates ({period}-cycle)", "warn")
        return Badge(f"{period}-cycle: never settles", "warn")
    if outcome == "degenerate" and facts is not None and facts.kink_point_near(run.xs[-1]):
        return Badge("stopped on a kink", "warn")
    if outcome == "unbounded" and run.minimizes:
        known = facts is not None and facts.bounded_below is False
        return Badge("f unbounded below" if known else "no lower bound found", "bad")
    if outcome == "unfinished" and facts is not None and on_momentum_bound(facts, run):
        return Badge("oscillates, never settles", "warn")
    words = {
        "minimum": ("stopped at a minimum", "bad"),  # ascent
        "maximum": ("stopped at a maximum", "bad"),
        "saddle": ("stopped at a saddle", "warn"),
        "degenerate": ("degenerate point", "warn"),
        "flat": ("flat: no critical point", "warn"),
        "unbounded": ("no lower bound" if run.minimizes else "no upper bound", "bad"),
        "diverged": ("diverged", "bad"),
        "unfinished": ("still moving", "warn"),
        "domain": ("left the domain", "bad"),
        "singular": ("stopped: singular", "warn"),
    }
    text, tone = words.get(outcome, (outcome, ""))
    return Badge(text, tone)


def heading_for(facts: Facts, run: Trajectory) -> tuple[float, ...] | None:
    """The minimum the run reached or was heading for: the known minimum nearest its last
    finite iterate (nearest its start when it ran away); None when f has no known minimum."""
    import numpy as np

    minima = facts.all_minima()
    if not minima:
        return None
    finite = [x for x in run.xs if np.isfinite(x).all()]
    ran_off = outcome_of(run) in ("diverged", "unbounded", "domain")
    anchor = np.asarray(run.xs[0] if ran_off or not finite else finite[-1], dtype=float)
    return min(minima, key=lambda m: float(np.abs(np.asarray(m) - anchor).max()))


def momentum_of(run: Trajectory) -> float | None:
    """μ of a heavy-ball momentum run (None for other methods)."""
    if run.method not in HEAVY_BALL:
        return None
    mu = run.hyperparameters.get("momentum", run.hyperparameters.get("mu"))
    return None if mu is None else float(mu)


def momentum_bound(facts: Facts, run: Trajectory) -> tuple[float, float, float] | None:
    """(μ, λ_max, 2(1+μ)/λ_max) at the minimum the momentum run is heading for."""
    mu = momentum_of(run)
    target = heading_for(facts, run)
    if mu is None or target is None or not facts.smooth:
        return None
    top = facts.window_at(list(target)).lambda_max
    if top is None or not top > 0:
        return None
    return mu, top, 2 * (1 + mu) / top


def on_momentum_bound(facts: Facts, run: Trajectory) -> bool:
    """True when η sits on momentum's stability bound 2(1+μ)/λ_max (to 1e-6, relative)."""
    bound = momentum_bound(facts, run)
    return bound is not None and abs(run.lr - bound[2]) <= 1e-6 * bound[2]


def _at(point: Any) -> str:
    return floats_plain([float(v) for v in point])


def run_note(facts: Facts, run: Trajectory) -> str:
    """How a run ended, in one or two sentences read from its outcome and the facts."""
    outcome = outcome_of(run)
    end = run.xs[-1]
    if outcome in ("minimum", "maximum"):
        kind = outcome
        target = facts.nearest_point(end)
        where = _at(target.as_floats() if target is not None else end)
        curve = "positive" if kind == "minimum" else "negative"
        if run.status.value == "converged":
            text = (
                f"Reached |∇f| < {number(TOLERANCE)} after {count_of(run.steps, 'step')} at "
                "the local "
                f"{kind} {where}: the Hessian there is {curve} definite."
            )
        else:
            text = (
                f"Used all {count_of(run.steps, 'step')} and sits at the local {kind} "
                f"{where} to six digits "
                f"(|∇f| ≈ {number(float(run.grad_norms[-1]), 3)}, still above the tolerance "
                f"{number(TOLERANCE)}); the Hessian there is {curve} definite."
            )
        if not succeeded(run):
            text += " Gradient ascent looks for a maximum, so this is not what it wanted."
        return text + lucky_reason(facts, run)
    if outcome == "saddle":
        return (
            f"Stopped after {count_of(run.steps, 'step')} at the saddle point "
            f"{_at(end)}: ∇f = 0 there, but "
            "f falls away along the eigenvector of the Hessian's negative eigenvalue. Descent "
            "lands on a saddle only from a start on its stable line; the slightest nudge "
            "would carry it off."
        )
    if outcome == "degenerate":
        return _degenerate_note(facts, run)
    if outcome == "flat":
        return (
            f"|∇f| fell below {number(TOLERANCE)} after {count_of(run.steps, 'step')} at "
            f"{_at(end)}, where "
            f"f ≈ {number(float(run.fs[-1]), 3)}, but no critical point is near: f is so flat "
            "there that the gradient all but vanishes. A vanishing gradient is not a minimum."
        )
    if outcome == "cycle":
        return _cycle_note(facts, run)
    if outcome == "unbounded":
        return _unbounded_note(facts, run)
    if outcome == "diverged":
        step = run.diverged_at if run.diverged_at is not None else run.steps
        why = run.detail or "the iterates grew without bound"
        return (
            f"Ran away at step {step}: {why}. The steps grew instead of shrinking: η is too "
            "large for the curvature where the iterates were." + _momentum_remark(facts, run)
        )
    if outcome == "domain":
        return (
            f"Left the domain of f at step {run.domain_at}: {run.detail}. The run cannot go on "
            "where f has no real value."
        )
    if outcome == "singular":
        return (
            f"Stopped at step {run.steps}: the Hessian at {_at(end)} is singular, so Newton's "
            "step H⁻¹∇f is undefined."
        )
    still = number(float(run.grad_norms[-1]), 3)
    text = f"Used all {count_of(run.steps, 'step')} and was still moving; |∇f| is still {still}."
    return text + _heading_away(facts, run) + _momentum_remark(facts, run)


def _heading_away(facts: Facts, run: Trajectory) -> str:
    """For a run still moving down a function shown unbounded below, far from where it began."""
    import numpy as np

    start, end = np.asarray(run.xs[0], dtype=float), np.asarray(run.xs[-1], dtype=float)
    if facts.bounded_below is not False or not run.minimizes or facts.known is None:
        return ""
    far = float(np.abs(end - start).max()) > 10 * max(1.0, float(np.abs(start).max()))
    if not far or not float(run.fs[-1]) < float(run.fs[0]):
        return ""
    return (
        f" It is heading down and away: f is unbounded below ({facts.known.bounded_below_reason}), "
        "and this run is following f down."
    )


def _degenerate_note(facts: Facts, run: Trajectory) -> str:
    end = run.xs[-1]
    kink = facts.kink_point_near(end)
    if kink is not None:
        return (
            f"Stopped after {count_of(run.steps, 'step')} exactly on the kink "
            f"{_at(end)}, where ∇f is "
            "undefined: symgd's formula for the derivative reads 0 there (the sign of 0), so "
            f"the run stopped. What the point is: {kink.kind} ({kink.reason})."
        )
    nature = facts.nature_near(end)
    text = (
        f"Stopped after {count_of(run.steps, 'step')} at the critical point "
        f"{_at(end)}, where the Hessian "
        "is singular, so the second-order test cannot classify it."
    )
    if nature is not None and nature.kind != "unknown":
        text += f" A test beyond the Hessian decides it: {nature.kind} ({nature.reason})."
    else:
        text += " symgd cannot tell whether it is a minimum."
    return text


def _cycle_note(facts: Facts, run: Trajectory) -> str:
    period = run.cycle_period or 2
    text = (
        f"Used all {count_of(run.steps, 'step')} without settling: the iterates "
        f"repeat every {period} steps "
        f"(the last one is {_at(run.xs[-1])}), so the run will never converge at this η."
    )
    bound = momentum_bound(facts, run)
    if bound is not None and run.lr >= bound[2] * (1 - 1e-6):
        return text + _momentum_remark(facts, run)
    if not facts.smooth:
        return text + (
            " f has a kink there: its gradient jumps instead of shrinking near the minimum, so "
            "a constant η keeps stepping across the kink and back. A shrinking η "
            "(the subgradient method, ηₖ = η/√(k+1)) is the remedy."
        )
    target = heading_for(facts, run)
    if target is not None and run.method == "gd":
        window = facts.window_at(list(target))
        stable = window.stable_below
        if stable is not None and run.lr > stable:
            text += (
                f" At the minimum {_at(target)} λ_max ≈ {number(window.lambda_max or 0, 4)}, so "
                f"η = {number(run.lr)} is above 2/λ_max ≈ {number(stable, 4)}: the minimum "
                "repels plain descent, and the iterates orbit it instead. A smaller η settles."
            )
    return text


def _unbounded_note(facts: Facts, run: Trajectory) -> str:
    step = run.diverged_at if run.diverged_at is not None else run.steps
    text = f"f fell past −10¹² by step {step}: the run found no lower bound on f."
    if not run.minimizes:
        return f"f rose past 10¹² by step {step}: the run found no upper bound on f."
    if facts.bounded_below is False:
        text += (
            f" f is unbounded below ({facts.known.bounded_below_reason})."
            if (facts.known is not None)
            else " f is unbounded below."
        )
    elif facts.bounded_below is None:
        text += " symgd could not show whether f is bounded below."
    return text + _momentum_remark(facts, run)


def _momentum_remark(facts: Facts, run: Trajectory) -> str:
    bound = momentum_bound(facts, run)
    if bound is None:
        return ""
    mu, top, limit = bound
    eta = run.lr
    if abs(eta - limit) <= 1e-6 * limit:
        return (
            f" η = {number(eta)} is exactly momentum's stability bound 2(1+μ)/λ_max = "
            f"2·{number(1 + mu)}/{number(top, 4)} ≈ {number(limit, 4)} at the minimum: along the "
            "top eigenvector the iterates swing with a constant amplitude, an oscillation "
            "that never settles, however many steps it is given."
        )
    if eta > limit:
        return (
            f" η = {number(eta)} is above momentum's stability bound 2(1+μ)/λ_max ≈ "
            f"{number(limit, 4)} at the minimum: the swings grow every step."
        )
    return ""


def fate(facts: Facts, run: Trajectory) -> str:
    """A few words for the comparison sentence: ``Adam converged in 12 steps at ...``."""
    name = label(run.method)
    outcome = outcome_of(run)
    end = run.xs[-1]
    if succeeded(run):
        target = facts.nearest_point(end)
        where = _at(target.as_floats() if target is not None else end)
        kind = "minimum" if run.minimizes else "maximum"
        return f"{name} converged in {count_of(run.steps, 'step')} at the {kind} {where}"
    return {
        "minimum": f"{name} stopped at the minimum {_at(end)}",
        "maximum": f"{name} stopped at the maximum {_at(end)}",
        "saddle": f"{name} stopped at the saddle point {_at(end)}",
        "degenerate": f"{name} stopped at {_at(end)}, a point the second-order test cannot "
        "classify",
        "flat": f"{name} met the tolerance on a flat stretch at {_at(end)}, not at a critical "
        "point",
        "cycle": f"{name} fell into a {run.cycle_period or 2}-cycle and never settles",
        "unbounded": f"{name} found no lower bound (f fell past −10¹² by step "
        f"{run.diverged_at if run.diverged_at is not None else run.steps})",
        "diverged": f"{name} ran away at step "
        f"{run.diverged_at if run.diverged_at is not None else run.steps}",
        "domain": f"{name} left the domain of f at step {run.domain_at}",
        "singular": f"{name} stopped where the Hessian is singular",
    }.get(
        outcome,
        f"{name} was still moving after {count_of(run.steps, 'step')} "
        f"(|∇f| ≈ {number(float(run.grad_norms[-1]), 2)})",
    )


def fewest_steps(facts: Facts, runs: Sequence[Trajectory]) -> str:
    """Which run reached a minimum in the fewest steps (only runs that reached one count),
    and why a one- or two-step win was luck."""
    reached = [r for r in runs if succeeded(r)]
    if len(reached) < 2:
        return ""
    fastest = min(reached, key=lambda r: r.steps)
    ties = [r for r in reached if r.steps == fastest.steps]
    if len(ties) > 1:
        return ""
    text = (
        f" Of the runs that reached a minimum, {label(fastest.method)} needed the fewest steps "
        f"({fastest.steps})."
    )
    return text + lucky_reason(facts, fastest)


def lucky_reason(facts: Facts, run: Trajectory) -> str:
    """Why a run that reached its minimum in one or two steps did so (empty otherwise)."""
    import numpy as np

    if not succeeded(run) or run.steps > 2 or len(run.xs) < 2:
        return ""
    start = np.asarray(run.xs[0], dtype=float)
    end = np.asarray(run.xs[-1], dtype=float)
    if first_step_is_sign(run.method):
        name = label(run.method)
        offset = np.abs(end - start)
        exact = bool(np.allclose(offset, run.lr, rtol=1e-6, atol=1e-12)) or bool(
            np.allclose(offset[offset > 1e-12], run.lr, rtol=1e-6)
        )
        text = (
            f" That is luck, not speed: {name}'s first step moves every coordinate by ±η "
            f"(its normalised gradient is the sign of ∇f at step 1), so from x₀ = "
            f"{_at(start)} with η = {number(run.lr)} "
        )
        if exact:
            return text + "the first step lands on the minimum at once."
        return text + "the first steps happen to land on the minimum."
    if run.method == "newton":
        if facts.is_quadratic():
            return (
                " Newton's method minimises the quadratic model of f, and f is a quadratic "
                "(a polynomial of degree 2), so the model is exact: one step lands on the "
                "critical point."
            )
        return (
            " Newton's method steps to the critical point of the quadratic model of f; near "
            "this minimum the model is so close that it lands there at once."
        )
    if run.method == "gd" and facts.is_quadratic():
        window = facts.window_at(list(end))
        if window.eigenvalues and all(
            math.isclose(run.lr * lam, 1.0, rel_tol=1e-9) for lam in window.eigenvalues
        ):
            return (
                " That is the special case η = 1/λ for every eigenvalue λ of the Hessian: "
                "each step multiplies the error by 1 − ηλ = 0, so the first step lands exactly."
            )
    distance = float(np.abs(end - start).max())
    return (
        f" That is a coincidence of this start and this η: step {run.steps} happened to land on "
        f"the minimum (a move of {number(distance, 3)}), which says more about x₀ and η than "
        "about the method."
    )
