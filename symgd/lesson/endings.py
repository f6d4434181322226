"""How each run ended, in words read from its outcome and the function's facts: the badge, the
run note, the short fate for comparisons, the minimum a run was heading for, and what made a
one- or two-step win lucky. Nothing here guesses: "converged" is said only of a run whose
outcome is a minimum (a maximum, for ascent)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgd.base.i18n import N_, _, n_
from symgd.lesson.methods import first_step_is_sign, label
from symgd.lesson.settings import TOLERANCE
from symgd.render.latex import floats_plain, number

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


#: the badge of each outcome that needs no more than its name (translated where shown)
BADGE_WORDS = {
    "minimum": (N_("stopped at a minimum"), "bad"),  # ascent
    "maximum": (N_("stopped at a maximum"), "bad"),
    "saddle": (N_("stopped at a saddle"), "warn"),
    "degenerate": (N_("degenerate point"), "warn"),
    "flat": (N_("flat: no critical point"), "warn"),
    "diverged": (N_("diverged"), "bad"),
    "unfinished": (N_("still moving"), "warn"),
    "domain": (N_("left the domain"), "bad"),
    "singular": (N_("stopped: singular"), "warn"),
}


def badge(run: Trajectory, facts: Facts | None = None) -> Badge:
    """The badge of a run: ``converged`` only for a minimum (a maximum, for ascent)."""
    outcome = outcome_of(run)
    if succeeded(run):
        return Badge(_("converged"), "good")
    if outcome == "cycle":
        period = run.cycle_period or 2
        if facts is not None and on_momentum_bound(facts, run):
            return Badge(_("oscillates ({period}-cycle)").format(period=period), "warn")
        return Badge(_("{period}-cycle: never settles").format(period=period), "warn")
    if outcome == "degenerate" and facts is not None and facts.kink_point_near(run.xs[-1]):
        return Badge(_("stopped on a kink"), "warn")
    if outcome == "unbounded":
        if not run.minimizes:
            return Badge(_("no upper bound"), "bad")
        if facts is not None and facts.bounded_below is False:
            return Badge(_("f unbounded below"), "bad")
        return Badge(_("no lower bound found"), "bad")
    if outcome == "unfinished" and facts is not None and on_momentum_bound(facts, run):
        return Badge(_("oscillates, never settles"), "warn")
    if outcome in BADGE_WORDS:
        text, tone = BADGE_WORDS[outcome]
        return Badge(_(text), tone)
    return Badge(outcome, "")


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


def kind_name(kind: str) -> str:
    """A kind of point (``minimum``, ``saddle``, ...) in words of the language in effect."""
    names = {
        "minimum": N_("minimum"),
        "maximum": N_("maximum"),
        "saddle": N_("saddle"),
        "inflection": N_("inflection"),
        "unknown": N_("unknown"),
        "degenerate": N_("degenerate"),
        "flat": N_("flat"),
    }
    return _(names[kind]) if kind in names else kind


def run_note(facts: Facts, run: Trajectory) -> str:
    """How a run ended, in one or two sentences read from its outcome and the facts."""
    outcome = outcome_of(run)
    end = run.xs[-1]
    if outcome in ("minimum", "maximum"):
        return _extremum_note(facts, run, outcome)
    if outcome == "saddle":
        return n_(
            "Stopped after {n} step at the saddle point {where}: ∇f = 0 there, but f falls "
            "away along the eigenvector of the Hessian's negative eigenvalue. Descent lands on "
            "a saddle only from a start on its stable line; the slightest nudge would carry it "
            "off.",
            "Stopped after {n} steps at the saddle point {where}: ∇f = 0 there, but f falls "
            "away along the eigenvector of the Hessian's negative eigenvalue. Descent lands on "
            "a saddle only from a start on its stable line; the slightest nudge would carry it "
            "off.",
            run.steps,
        ).format(n=run.steps, where=_at(end))
    if outcome == "degenerate":
        return _degenerate_note(facts, run)
    if outcome == "flat":
        return n_(
            "|∇f| fell below {tol} after {n} step at {where}, where f ≈ {value}, but no "
            "critical point is near: f is so flat there that the gradient all but vanishes. "
            "A vanishing gradient is not a minimum.",
            "|∇f| fell below {tol} after {n} steps at {where}, where f ≈ {value}, but no "
            "critical point is near: f is so flat there that the gradient all but vanishes. "
            "A vanishing gradient is not a minimum.",
            run.steps,
        ).format(
            tol=number(TOLERANCE),
            n=run.steps,
            where=_at(end),
            value=number(float(run.fs[-1]), 3),
        )
    if outcome == "cycle":
        return _cycle_note(facts, run)
    if outcome == "unbounded":
        return _unbounded_note(facts, run)
    if outcome == "diverged":
        step = run.diverged_at if run.diverged_at is not None else run.steps
        why = run.detail or _("the iterates grew without bound")
        text = _(
            "Ran away at step {step}: {why}. The steps grew instead of shrinking: η is too "
            "large for the curvature where the iterates were."
        ).format(step=step, why=why)
        return text + _momentum_remark(facts, run)
    if outcome == "domain":
        return _(
            "Left the domain of f at step {step}: {why}. The run cannot go on where f has no "
            "real value."
        ).format(step=run.domain_at, why=run.detail)
    if outcome == "singular":
        return _(
            "Stopped at step {step}: the Hessian at {where} is singular, so Newton's step "
            "H⁻¹∇f is undefined."
        ).format(step=run.steps, where=_at(end))
    text = n_(
        "Used all {n} step and was still moving; |∇f| is still {norm}.",
        "Used all {n} steps and was still moving; |∇f| is still {norm}.",
        run.steps,
    ).format(n=run.steps, norm=number(float(run.grad_norms[-1]), 3))
    return text + _heading_away(facts, run) + _momentum_remark(facts, run)


def _extremum_note(facts: Facts, run: Trajectory, kind: str) -> str:
    """A run that ended at a local minimum or maximum (what ascent or descent wanted, or not)."""
    target = facts.nearest_point(run.xs[-1])
    where = _at(target.as_floats() if target is not None else run.xs[-1])
    count = run.steps
    values = {
        "n": count,
        "where": where,
        "tol": number(TOLERANCE),
        "norm": number(float(run.grad_norms[-1]), 3),
    }
    converged = run.status.value == "converged"
    if converged and kind == "minimum":
        text = n_(
            "Reached |∇f| < {tol} after {n} step at the local minimum {where}: the Hessian "
            "there is positive definite.",
            "Reached |∇f| < {tol} after {n} steps at the local minimum {where}: the Hessian "
            "there is positive definite.",
            count,
        )
    elif converged:
        text = n_(
            "Reached |∇f| < {tol} after {n} step at the local maximum {where}: the Hessian "
            "there is negative definite.",
            "Reached |∇f| < {tol} after {n} steps at the local maximum {where}: the Hessian "
            "there is negative definite.",
            count,
        )
    elif kind == "minimum":
        text = n_(
            "Used all {n} step and sits at the local minimum {where} to six digits "
            "(|∇f| ≈ {norm}, still above the tolerance {tol}); the Hessian there is positive "
            "definite.",
            "Used all {n} steps and sits at the local minimum {where} to six digits "
            "(|∇f| ≈ {norm}, still above the tolerance {tol}); the Hessian there is positive "
            "definite.",
            count,
        )
    else:
        text = n_(
            "Used all {n} step and sits at the local maximum {where} to six digits "
            "(|∇f| ≈ {norm}, still above the tolerance {tol}); the Hessian there is negative "
            "definite.",
            "Used all {n} steps and sits at the local maximum {where} to six digits "
            "(|∇f| ≈ {norm}, still above the tolerance {tol}); the Hessian there is negative "
            "definite.",
            count,
        )
    text = text.format(**values)
    if not succeeded(run):
        text += " " + _("Gradient ascent looks for a maximum, so this is not what it wanted.")
    return text + lucky_reason(facts, run)


def _heading_away(facts: Facts, run: Trajectory) -> str:
    """For a run still moving down a function shown unbounded below, far from where it began."""
    import numpy as np

    start, end = np.asarray(run.xs[0], dtype=float), np.asarray(run.xs[-1], dtype=float)
    if facts.bounded_below is not False or not run.minimizes or facts.known is None:
        return ""
    far = float(np.abs(end - start).max()) > 10 * max(1.0, float(np.abs(start).max()))
    if not far or not float(run.fs[-1]) < float(run.fs[0]):
        return ""
    return " " + _(
        "It is heading down and away: f is unbounded below ({reason}), and this run is "
        "following f down."
    ).format(reason=facts.known.bounded_below_reason)


def _degenerate_note(facts: Facts, run: Trajectory) -> str:
    end = run.xs[-1]
    kink = facts.kink_point_near(end)
    if kink is not None:
        return n_(
            "Stopped after {n} step exactly on the kink {where}, where ∇f is undefined: "
            "symgd's formula for the derivative reads 0 there (the sign of 0), so the run "
            "stopped. What the point is: {kind} ({reason}).",
            "Stopped after {n} steps exactly on the kink {where}, where ∇f is undefined: "
            "symgd's formula for the derivative reads 0 there (the sign of 0), so the run "
            "stopped. What the point is: {kind} ({reason}).",
            run.steps,
        ).format(n=run.steps, where=_at(end), kind=kind_name(kink.kind), reason=kink.reason)
    nature = facts.nature_near(end)
    text = n_(
        "Stopped after {n} step at the critical point {where}, where the Hessian is "
        "singular, so the second-order test cannot classify it.",
        "Stopped after {n} steps at the critical point {where}, where the Hessian is "
        "singular, so the second-order test cannot classify it.",
        run.steps,
    ).format(n=run.steps, where=_at(end))
    if nature is not None and nature.kind != "unknown":
        text += " " + _("A test beyond the Hessian decides it: {kind} ({reason}).").format(
            kind=kind_name(nature.kind), reason=nature.reason
        )
    else:
        text += " " + _("symgd cannot tell whether it is a minimum.")
    return text


def _cycle_note(facts: Facts, run: Trajectory) -> str:
    period = run.cycle_period or 2
    text = n_(
        "Used all {n} step without settling: the iterates repeat every {period} steps "
        "(the last one is {where}), so the run will never converge at this η.",
        "Used all {n} steps without settling: the iterates repeat every {period} steps "
        "(the last one is {where}), so the run will never converge at this η.",
        run.steps,
    ).format(n=run.steps, period=period, where=_at(run.xs[-1]))
    bound = momentum_bound(facts, run)
    if bound is not None and run.lr >= bound[2] * (1 - 1e-6):
        return text + _momentum_remark(facts, run)
    if not facts.smooth:
        return (
            text
            + " "
            + _(
                "f has a kink there: its gradient jumps instead of shrinking near the "
                "minimum, so a constant η keeps stepping across the kink and back. A "
                "shrinking η (the subgradient method, ηₖ = η/√(k+1)) is the remedy."
            )
        )
    target = heading_for(facts, run)
    if target is not None and run.method == "gd":
        window = facts.window_at(list(target))
        stable = window.stable_below
        if stable is not None and run.lr > stable:
            text += " " + _(
                "At the minimum {where} λ_max ≈ {top}, so η = {eta} is above 2/λ_max ≈ "
                "{bound}: the minimum repels plain descent, and the iterates orbit it "
                "instead. A smaller η settles."
            ).format(
                where=_at(target),
                top=number(window.lambda_max or 0, 4),
                eta=number(run.lr),
                bound=number(stable, 4),
            )
    return text


def _unbounded_note(facts: Facts, run: Trajectory) -> str:
    step = run.diverged_at if run.diverged_at is not None else run.steps
    if not run.minimizes:
        return _("f rose past 10¹² by step {step}: the run found no upper bound on f.").format(
            step=step
        )
    text = _("f fell past −10¹² by step {step}: the run found no lower bound on f.").format(
        step=step
    )
    if facts.bounded_below is False:
        if facts.known is not None:
            text += " " + _("f is unbounded below ({reason}).").format(
                reason=facts.known.bounded_below_reason
            )
        else:
            text += " " + _("f is unbounded below.")
    elif facts.bounded_below is None:
        text += " " + _("symgd could not show whether f is bounded below.")
    return text + _momentum_remark(facts, run)


def _momentum_remark(facts: Facts, run: Trajectory) -> str:
    bound = momentum_bound(facts, run)
    if bound is None:
        return ""
    mu, top, limit = bound
    eta = run.lr
    if abs(eta - limit) <= 1e-6 * limit:
        return " " + _(
            "η = {eta} is exactly momentum's stability bound 2(1+μ)/λ_max = "
            "2·{factor}/{top} ≈ {bound} at the minimum: along the top eigenvector the "
            "iterates swing with a constant amplitude, an oscillation that never settles, "
            "however many steps it is given."
        ).format(eta=number(eta), factor=number(1 + mu), top=number(top, 4), bound=number(limit, 4))
    if eta > limit:
        return " " + _(
            "η = {eta} is above momentum's stability bound 2(1+μ)/λ_max ≈ {bound} at the "
            "minimum: the swings grow every step."
        ).format(eta=number(eta), bound=number(limit, 4))
    return ""


def fate(facts: Facts, run: Trajectory) -> str:
    """A few words for the comparison sentence: ``Adam converged in 12 steps at ...``."""
    outcome = outcome_of(run)
    end = run.xs[-1]
    step = run.diverged_at if run.diverged_at is not None else run.steps
    values = {
        "name": label(run.method),
        "where": _at(end),
        "n": run.steps,
        "step": step,
        "period": run.cycle_period or 2,
        "domain_step": run.domain_at,
        "norm": number(float(run.grad_norms[-1]), 2),
    }
    if succeeded(run):
        target = facts.nearest_point(end)
        values["where"] = _at(target.as_floats() if target is not None else end)
        if run.minimizes:
            text = n_(
                "{name} converged in {n} step at the minimum {where}",
                "{name} converged in {n} steps at the minimum {where}",
                run.steps,
            )
        else:
            text = n_(
                "{name} converged in {n} step at the maximum {where}",
                "{name} converged in {n} steps at the maximum {where}",
                run.steps,
            )
        return text.format(**values)
    fates = {
        "minimum": N_("{name} stopped at the minimum {where}"),
        "maximum": N_("{name} stopped at the maximum {where}"),
        "saddle": N_("{name} stopped at the saddle point {where}"),
        "degenerate": N_(
            "{name} stopped at {where}, a point the second-order test cannot classify"
        ),
        "flat": N_(
            "{name} met the tolerance on a flat stretch at {where}, not at a critical point"
        ),
        "cycle": N_("{name} fell into a {period}-cycle and never settles"),
        "unbounded": N_("{name} found no lower bound (f fell past −10¹² by step {step})"),
        "diverged": N_("{name} ran away at step {step}"),
        "domain": N_("{name} left the domain of f at step {domain_step}"),
        "singular": N_("{name} stopped where the Hessian is singular"),
    }
    if outcome in fates:
        return _(fates[outcome]).format(**values)
    return n_(
        "{name} was still moving after {n} step (|∇f| ≈ {norm})",
        "{name} was still moving after {n} steps (|∇f| ≈ {norm})",
        run.steps,
    ).format(**values)


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
    text = " " + _(
        "Of the runs that reached a minimum, {name} needed the fewest steps ({n})."
    ).format(name=label(fastest.method), n=fastest.steps)
    return text + lucky_reason(facts, fastest)


def lucky_reason(facts: Facts, run: Trajectory) -> str:
    """Why a run that reached its minimum in one or two steps did so (empty otherwise)."""
    import numpy as np

    if not succeeded(run) or run.steps > 2 or len(run.xs) < 2:
        return ""
    start = np.asarray(run.xs[0], dtype=float)
    end = np.asarray(run.xs[-1], dtype=float)
    if first_step_is_sign(run.method):
        offset = np.abs(end - start)
        exact = bool(np.allclose(offset, run.lr, rtol=1e-6, atol=1e-12)) or bool(
            np.allclose(offset[offset > 1e-12], run.lr, rtol=1e-6)
        )
        values = {"name": label(run.method), "start": _at(start), "eta": number(run.lr)}
        if exact:
            return " " + _(
                "That is luck, not speed: {name}'s first step moves every coordinate by ±η "
                "(its normalised gradient is the sign of ∇f at step 1), so from x₀ = {start} "
                "with η = {eta} the first step lands on the minimum at once."
            ).format(**values)
        return " " + _(
            "That is luck, not speed: {name}'s first step moves every coordinate by ±η "
            "(its normalised gradient is the sign of ∇f at step 1), so from x₀ = {start} "
            "with η = {eta} the first steps happen to land on the minimum."
        ).format(**values)
    if run.method == "newton":
        if facts.is_quadratic():
            return " " + _(
                "Newton's method minimises the quadratic model of f, and f is a quadratic "
                "(a polynomial of degree 2), so the model is exact: one step lands on the "
                "critical point."
            )
        return " " + _(
            "Newton's method steps to the critical point of the quadratic model of f; near "
            "this minimum the model is so close that it lands there at once."
        )
    if run.method == "gd" and facts.is_quadratic():
        window = facts.window_at(list(end))
        if window.eigenvalues and all(
            math.isclose(run.lr * lam, 1.0, rel_tol=1e-9) for lam in window.eigenvalues
        ):
            return " " + _(
                "That is the special case η = 1/λ for every eigenvalue λ of the Hessian: "
                "each step multiplies the error by 1 − ηλ = 0, so the first step lands exactly."
            )
    distance = float(np.abs(end - start).max())
    return " " + _(
        "That is a coincidence of this start and this η: step {step} happened to land on the "
        "minimum (a move of {distance}), which says more about x₀ and η than about the method."
    ).format(step=run.steps, distance=number(distance, 3))
