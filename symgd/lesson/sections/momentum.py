"""Go deeper: momentum's map. Heavy-ball momentum from the lesson's start for a grid of
learning rates η and momenta μ (:mod:`symgd.numeric.momentum_map`), the steps each pair needs
to bring |∇f| below the lesson's tolerance, and what the quadratic model says about the grid:
the bound η < 2(1 + μ)/λ_max and, on a quadratic, the optimal pair (η*, μ*).

The curvature comes from the minimum the map's runs head for: on a quadratic the one Hessian
(exact); otherwise the Hessian at the minimum where most of the map's converged cells ended,
and the bounds are then only the quadratic model's, drawn as a guide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symgd.base.i18n import N_, _, n_
from symgd.lesson.facts import Facts
from symgd.lesson.settings import TOLERANCE, Settings
from symgd.lesson.view import OFF_PAGE, View
from symgd.render.latex import floats_plain, num_tex, number
from symgd.render.worker import Pending

if TYPE_CHECKING:
    from symgd.calculus.curvature import RateWindow
    from symgd.calculus.points import CriticalPoint
    from symgd.numeric.momentum_map import MomentumMap

#: the most steps a cell of the map may take
MAP_BUDGET = 1000
RULE_LATEX = (
    r"\mathbf{v}_{k+1} = \mu\,\mathbf{v}_k + \nabla f(x_k),\qquad "
    r"x_{k+1} = x_k - \eta\,\mathbf{v}_{k+1},\qquad \mathbf{v}_0 = \mathbf{0}"
)


@dataclass(frozen=True)
class MomentumSection(View):
    """Momentum's map: the words, the bounds and the figure."""

    intro: str
    rule_latex: str
    bounds_intro: str
    bounds_latex: tuple[str, ...]
    text: tuple[str, ...]
    figure: Pending
    caption: str
    figures: dict[str, Any] = field(default_factory=dict, metadata=OFF_PAGE)
    #: the computed map (for the JSON)
    grid: Any = field(default=None, metadata=OFF_PAGE)


@dataclass(frozen=True)
class _Reference:
    """The minimum whose curvature sets the grid and the bounds, and how it was chosen."""

    point: CriticalPoint
    window: RateWindow
    quadratic: bool
    #: (how many of the map's converged runs ended at it, how many converged); None: the
    #: minimum nearest the start
    ended: tuple[int, int] | None


def momentum_section(facts: Facts, s: Settings) -> MomentumSection | None:
    """The map for two variables with a minimum (None otherwise, or when the start is
    already a minimum to the tolerance, or the minimum's Hessian has no positive
    eigenvalue)."""
    import numpy as np

    start = s.start.floats
    if facts.n != 2 or not facts.minima or not np.linalg.norm(facts.grad_at(start)) >= TOLERANCE:
        return None
    reference = _nearest(facts, start)
    if reference is None:
        return None
    grid = _run(facts, start, reference.window)
    headed = None if reference.quadratic else _headed_for(facts, grid)
    if headed is not None and headed[0] is not reference.point:
        moved = _reference_at(facts, headed[0], headed[1])
        if moved is not None:
            reference, grid = moved, _run(facts, start, moved.window)
    elif headed is not None:
        reference = _reference_at(facts, reference.point, headed[1]) or reference
    return _section(facts, s, reference, grid)


def momentum_json(section: MomentumSection | None) -> dict[str, Any]:
    """``{"momentum_map": {"lr": [...], "momentum": [...], "steps": [[...]]}}`` when the map
    was drawn, else ``{}``. ``steps`` has one row per momentum (``steps[i][j]`` is μ =
    ``momentum[i]``, η = ``lr[j]``); a cell that ran away or did not reach the tolerance within
    the budget is null."""
    if section is None or section.grid is None:
        return {}
    grid: MomentumMap = section.grid
    return {
        "momentum_map": {
            "lr": [float(v) for v in grid.lrs],
            "momentum": [float(v) for v in grid.momenta],
            "steps": grid.steps_or_none(),
            "budget": grid.budget,
            "tolerance": grid.tol,
        }
    }


# -- which minimum ------------------------------------------------------------------------------


def _nearest(facts: Facts, start: tuple[float, ...]) -> _Reference | None:
    """The minimum nearest the start (on a quadratic, its only one, with the exact window)."""
    point = min(facts.minima, key=lambda p: math.dist(p.as_floats(), start))
    quadratic = facts.is_quadratic() and facts.smooth and facts.constant_window is not None
    if quadratic:
        window = facts.constant_window
        assert window is not None
        if window.stable_below is None:
            return None
        return _Reference(point, window, True, None)
    return _reference_at(facts, point, None)


def _reference_at(
    facts: Facts, point: CriticalPoint, ended: tuple[int, int] | None
) -> _Reference | None:
    window = facts.window_at(point.as_floats(), "at the minimum")
    if window.stable_below is None:
        return None
    return _Reference(point, window, False, ended)


def _headed_for(facts: Facts, grid: MomentumMap) -> tuple[CriticalPoint, tuple[int, int]] | None:
    """The minimum where most of the map's converged cells ended, and how many did."""
    import numpy as np

    from symgd.numeric.momentum_map import CONVERGED

    ends = grid.finals[grid.codes == CONVERGED]
    if len(ends) == 0:
        return None
    minima = np.array([p.as_floats() for p in facts.minima])
    distance = np.linalg.norm(ends[:, None, :] - minima[None, :, :], axis=2)
    nearest = distance.argmin(axis=1)
    # a run counts for a minimum only when it ended at it (not at a saddle near it)
    close = distance.min(axis=1) <= 1e-3 * np.maximum(1.0, np.abs(minima[nearest]).max(axis=1))
    counts = np.bincount(nearest[close], minlength=len(minima))
    if counts.max() == 0:
        return None
    best = int(counts.argmax())
    return facts.minima[best], (int(counts[best]), len(ends))


def _run(facts: Facts, start: tuple[float, ...], window: RateWindow) -> MomentumMap:
    from symgd.numeric.momentum_map import lr_grid, momentum_grid, momentum_map

    stable = window.stable_below
    assert stable is not None
    return momentum_map(
        _gradient_only(facts),
        facts.compiled.f_batch,
        start,
        lr_grid(stable),
        momentum_grid(),
        tol=TOLERANCE,
        budget=MAP_BUDGET,
    )


def _gradient_only(facts: Facts) -> Any:
    """∇f alone over arrays (the compiled batch function also computes f at every call, which
    the map needs only every few steps); built once per function."""
    from symgd.expr.lambdify import lambdify_numpy_shared

    found = _GRADIENTS.get(facts.problem.expr)
    if found is None:
        found = lambdify_numpy_shared(facts.variables, tuple(facts.derivation.gradient))
        _GRADIENTS.clear()
        _GRADIENTS[facts.problem.expr] = found
    return found


_GRADIENTS: dict[Any, Any] = {}


# -- the words -------------------------------------------------------------------------------


def _section(
    facts: Facts, s: Settings, reference: _Reference, grid: MomentumMap
) -> MomentumSection:
    from symgd.numeric.momentum_map import optimal_pair
    from symgd.render import figures as plots

    window = reference.window
    stable = window.stable_below
    assert stable is not None and window.lambda_max is not None
    low = window.lambda_min
    optimal = optimal_pair(low, window.lambda_max) if low is not None else None
    fastest = grid.fastest()
    plain = grid.fastest_in_row(0)
    tol = _tol_text()
    intro = _(
        "Momentum keeps a running sum of past gradients and steps along it; μ = 0 is plain "
        "descent. Below, heavy-ball momentum runs from x₀ = {start} "
        "for each of {columns} × {rows} pairs: η on a log scale from "
        "{low} to {high}, μ from 0 to {top}. Each cell counts the steps until "
        "|∇f| < {tol}, up to {budget}."
    ).format(
        start=floats_plain(s.start.floats),
        columns=len(grid.lrs),
        rows=len(grid.momenta),
        low=number(float(grid.lrs[0]), 3),
        high=number(float(grid.lrs[-1]), 3),
        top=number(float(grid.momenta[-1]), 2),
        tol=tol,
        budget=grid.budget,
    )
    bounds_intro, bounds_latex = _bounds(facts, reference, optimal)
    text = [_counts(grid, tol), *_fastest_text(grid, fastest, plain, reference, optimal)]
    text.extend(_runaways(grid, stable, reference.quadratic))
    model = "" if reference.quadratic else N_("quadratic model")
    job = plots.FigureJob(
        "momentum_map_figure",
        {
            "lrs": grid.lrs,
            "momenta": grid.momenta,
            "steps": grid.steps,
            "codes": grid.codes,
            "budget": grid.budget,
            "tol_text": tol,
            "stable_below": stable,
            "optimal": optimal,
            "fastest": None
            if fastest is None
            else (float(grid.lrs[fastest[1]]), float(grid.momenta[fastest[0]])),
            "plain_best": None if plain is None else float(grid.lrs[plain]),
            "model": model,
            "name": "fig-momentum-map",
        },
    )
    caption = _caption(reference.quadratic).format(tol=tol, budget=grid.budget)
    return MomentumSection(
        intro=intro,
        rule_latex=RULE_LATEX,
        bounds_intro=bounds_intro,
        bounds_latex=bounds_latex,
        text=tuple(text),
        figure=Pending("momentum-map"),
        caption=caption,
        figures={"momentum-map": job},
        grid=grid,
    )


def _caption(quadratic: bool) -> str:
    """The map's caption (placeholders: tol, budget)."""
    if quadratic:
        return _(
            "Steps heavy-ball momentum needs from x₀ until |∇f| < {tol}, for each learning "
            "rate η (across, log scale) and momentum μ (up): fewer steps are darker. Grey cells "
            "did not get there within {budget} steps; red cells ran away. The dashed curve "
            "is the bound η = 2(1 + μ)/λ_max; the triangle on the bottom edge is plain "
            "descent's bound 2/λ_max."
        )
    return _(
        "Steps heavy-ball momentum needs from x₀ until |∇f| < {tol}, for each learning "
        "rate η (across, log scale) and momentum μ (up): fewer steps are darker. Grey cells "
        "did not get there within {budget} steps; red cells ran away. The dashed curve "
        "is the bound η = 2(1 + μ)/λ_max of the quadratic model at the minimum; the "
        "triangle on the bottom edge is plain descent's bound 2/λ_max."
    )


def _tol_text() -> str:
    from symgd.render.figure_output import power_label

    return power_label(TOLERANCE) or number(TOLERANCE)


def _bounds(
    facts: Facts, reference: _Reference, optimal: tuple[float, float] | None
) -> tuple[str, tuple[str, ...]]:
    """The sentence on where the curvature comes from, and the bounds in LaTeX."""
    window = reference.window
    high, low = window.lambda_max or 0.0, window.lambda_min or 0.0
    where = floats_plain(reference.point.as_floats())
    kappa = window.condition_number
    numbers = f"λ_max ≈ {number(high, 5)}, λ_min ≈ {number(low, 5)}" + (
        f", κ = λ_max/λ_min ≈ {number(kappa, 4)}" if kappa is not None else ""
    )
    if reference.quadratic:
        words = _(
            "f is a quadratic, so its Hessian is the same everywhere ({numbers}) and these "
            "bounds hold exactly. Along an eigenvector with curvature λ the error follows "
            "eₖ₊₁ = (1 + μ − ηλ)eₖ − μeₖ₋₁, which settles for every start iff "
            "0 < ηλ < 2(1 + μ)."
        ).format(numbers=numbers)
    else:
        words = _guide_words(reference.ended).format(
            where=where, numbers=numbers, **_ended(reference.ended)
        )
    lines = [
        rf"\frac{{2}}{{\lambda_{{\max}}}} \approx {num_tex(2 / high, 5)},\qquad "
        r"\eta < \frac{2(1+\mu)}{\lambda_{\max}}"
    ]
    if optimal is not None:
        lines.append(
            rf"\eta^* = \frac{{4}}{{(\sqrt{{\lambda_{{\max}}}} + \sqrt{{\lambda_{{\min}}}})^2}}"
            rf" \approx {num_tex(optimal[0], 4)}"
        )
        lines.append(
            rf"\mu^* = \left(\frac{{\sqrt{{\kappa}} - 1}}{{\sqrt{{\kappa}} + 1}}\right)^2"
            rf" \approx {num_tex(optimal[1], 4)}"
        )
    return words, tuple(lines)


def _ended(ended: tuple[int, int] | None) -> dict[str, int]:
    count, total = ended or (0, 0)
    return {"count": count, "total": total}


def _guide_words(ended: tuple[int, int] | None) -> str:
    """The words on a map of an f that is not a quadratic (placeholders: where, numbers,
    count, total)."""
    if ended is None:
        return _(
            "f is not a quadratic, so no single bound holds everywhere. The curvature at the "
            "minimum {where} (the one nearest the start) gives {numbers}. The lines and marks "
            "on the map are the bounds of the quadratic model there, drawn as a guide: near "
            "the minimum f is close to that model, but on the way from x₀ the curvature is "
            "different."
        )
    if ended[0] == ended[1]:
        return _(
            "f is not a quadratic, so no single bound holds everywhere. The curvature at the "
            "minimum {where} (where all of the map's {total} converged runs ended) gives "
            "{numbers}. The lines and marks on the map are the bounds of the quadratic model "
            "there, drawn as a guide: near the minimum f is close to that model, but on the "
            "way from x₀ the curvature is different."
        )
    return _(
        "f is not a quadratic, so no single bound holds everywhere. The curvature at the "
        "minimum {where} (where {count} of the map's {total} converged runs ended) gives "
        "{numbers}. The lines and marks on the map are the bounds of the quadratic model "
        "there, drawn as a guide: near the minimum f is close to that model, but on the "
        "way from x₀ the curvature is different."
    )


def _counts(grid: MomentumMap, tol: str) -> str:
    from symgd.numeric.momentum_map import CONVERGED, DIVERGED, UNFINISHED

    total = grid.codes.size
    done, away, slow = (int((grid.codes == c).sum()) for c in (CONVERGED, DIVERGED, UNFINISHED))
    return _(
        "Of the {total} cells, {done} brought |∇f| below {tol}, {away} ran away (f or a "
        "coordinate passed 10¹² in size), and {slow} were still short of the tolerance "
        "after {budget} steps."
    ).format(total=total, done=done, tol=tol, away=away, slow=slow, budget=grid.budget)


def _fastest_text(
    grid: MomentumMap,
    fastest: tuple[int, int] | None,
    plain: int | None,
    reference: _Reference,
    optimal: tuple[float, float] | None,
) -> list[str]:
    """Where the fastest cells are, against plain descent's best and the optimal pair."""
    if fastest is None:
        return [
            _("No cell reached the tolerance within {budget} steps.").format(budget=grid.budget)
        ]
    row, column = fastest
    best = int(grid.steps[row, column])
    eta, mu = float(grid.lrs[column]), float(grid.momenta[row])
    ties = grid.ties()
    first = (
        _("The fastest cell is η ≈ {eta}, μ ≈ {mu}: {best} steps.")
        if ties < 2
        else n_(
            "The fastest cell is η ≈ {eta}, μ ≈ {mu}: {best} steps ({others} other cell ties "
            "with it).",
            "The fastest cell is η ≈ {eta}, μ ≈ {mu}: {best} steps ({others} other cells tie "
            "with it).",
            ties - 1,
        )
    ).format(eta=number(eta, 4), mu=number(mu, 3), best=best, others=ties - 1)
    if plain is None:
        second = _(
            "Without momentum (the bottom row, μ = 0) no learning rate of the grid got "
            "there within {budget} steps."
        ).format(budget=grid.budget)
    else:
        plain_steps = int(grid.steps[0, plain])
        second = (
            _(
                "Without momentum (the bottom row, μ = 0) the best is η ≈ {eta} with {steps} "
                "steps: momentum needs {ratio} times fewer."
            )
            if best < plain_steps
            else _(
                "Without momentum (the bottom row, μ = 0) the best is η ≈ {eta} with {steps} steps."
            )
        ).format(
            eta=number(float(grid.lrs[plain]), 4),
            steps=plain_steps,
            ratio=number(plain_steps / best, 3),
        )
    out = [f"{first} {second}"]
    if optimal is not None and reference.quadratic:
        out.append(_closeness(grid, eta, mu, optimal))
    return out


def _closeness(grid: MomentumMap, eta: float, mu: float, optimal: tuple[float, float]) -> str:
    """How far the fastest cell is from (η*, μ*), in grid cells."""
    across = math.log(float(grid.lrs[1] / grid.lrs[0]))
    up = float(grid.momenta[1] - grid.momenta[0])
    columns = abs(math.log(eta / optimal[0])) / across
    rows = abs(mu - optimal[1]) / up
    return _(
        "The optimal pair of the quadratic is η* ≈ {eta}, μ* ≈ {mu} (the star): the fastest "
        "cell is {columns} columns and {rows} rows away from it (a column is a factor "
        "{factor} in η, a row {row} in μ). The pair makes the slowest direction shrink "
        "fastest in the long run; from a particular start the first steps count too, so the "
        "fastest cell need not sit exactly on it."
    ).format(
        eta=number(optimal[0], 4),
        mu=number(optimal[1], 3),
        columns=number(columns, 2),
        rows=number(rows, 2),
        factor=number(math.exp(across), 3),
        row=number(up, 2),
    )


def _runaways(grid: MomentumMap, stable: float, quadratic: bool) -> list[str]:
    """Where the cells that ran away lie against the bound 2(1 + μ)/λ_max."""
    from symgd.numeric.momentum_map import CONVERGED, DIVERGED, momentum_bound

    bound = momentum_bound(stable, grid.momenta)[:, None]
    beyond = grid.lrs[None, :] >= bound
    away = grid.codes == DIVERGED
    if not away.any():
        return []
    inside = int((away & ~beyond).sum())
    calm = int(((grid.codes == CONVERGED) & beyond).sum())
    if inside == 0:
        text = (
            _(
                "Every cell that ran away lies on or beyond the dashed curve "
                "η = 2(1 + μ)/λ_max, as the quadratic model says."
            )
            if quadratic
            else _(
                "Every cell that ran away lies on or beyond the dashed curve η = 2(1 + μ)/λ_max."
            )
        )
    else:
        text = (
            _(
                "{inside} of the {total} cells that ran away lie inside the dashed curve: the "
                "quadratic's bound says none should."
            )
            if quadratic
            else _(
                "{inside} of the {total} cells that ran away lie inside the dashed curve: the "
                "model's bound describes f near the minimum, and these runs met other curvature "
                "on the way from x₀."
            )
        ).format(inside=inside, total=int(away.sum()))
    if calm and not quadratic:
        text += " " + _(
            "And {calm} cells beyond the curve converged all the same: the bound is the "
            "model's, not f's."
        ).format(calm=calm)
    return [text]
