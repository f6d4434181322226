"""The runs of the lesson, done once: each chosen optimizer from x₀, the region the figures
show, and (for two variables and several minima) the basin grid. The learning-rate panel's
runs are in :mod:`symgd.lesson.panel`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symgd.base.i18n import N_, _
from symgd.lesson.methods import fixed_rate, label
from symgd.lesson.settings import TOLERANCE, Chosen, Settings
from symgd.render.latex import floats_plain

if TYPE_CHECKING:
    import numpy as np

    from symgd.lesson.facts import Facts
    from symgd.numeric.results import Trajectory

#: runs up to this many steps use numpy directly instead of compiling a fused step
SHORT_RUN = 500
#: points kept per path in the figures
MAX_PLOT_POINTS = 400
#: starts per side of the basin grid
BASIN_GRID = 41


@dataclass(frozen=True, eq=False)
class Basins:
    """Which minimum gradient descent ends at from each start on a grid (read from each run's
    outcome, not from the distance to a list of minima)."""

    #: the minima the picture colours: those symgd knows, then any the grid runs ended at
    minima: tuple[tuple[float, ...], ...]
    #: index of the minimum each grid start ended at (−1: the run ended at no minimum)
    labels: np.ndarray = field(repr=False)
    #: the minimum the lesson's gradient-descent run reached, if it reached one
    reached: tuple[float, ...] | None
    #: the step budget of each grid run
    steps: int = 0
    #: True when the minima are counted in the picture (the list of f's minima is not
    #: known to be complete)
    in_view: bool = False
    #: what the runs that ended at no minimum did, in words (``12% still moving``)
    elsewhere: str = ""

    @property
    def names(self) -> list[str]:
        """``minimum (a, b)`` for each minimum."""
        return [_("minimum {point}").format(point=floats_plain(m, 3)) for m in self.minima]

    @property
    def shares(self) -> list[float]:
        """The share of the grid that reaches each minimum."""
        return [float((self.labels == i).mean()) for i in range(len(self.minima))]


@dataclass(frozen=True, eq=False)
class Runs:
    """The optimizer runs from x₀ and what the figures draw around them."""

    runs: tuple[Trajectory, ...]
    #: the gradient-descent run (the first run when there is none)
    main: Trajectory
    region: Any
    #: f and −∇f sampled over the region (two variables only)
    surface: Any
    markers: tuple[Any, ...]
    paths: tuple[Any, ...]
    basins: Basins | None


def run_lesson(facts: Facts, chosen: Chosen) -> Runs:
    """Every run of the lesson from the settings (reusing the trial run when it fits)."""
    from symgd.render import figure_data as data

    s = chosen.settings
    runs = tuple(_run_all(facts, s, chosen.trial))
    main = next((r for r in runs if r.method == "gd"), runs[0])
    region = _choose_region(facts, list(s.start.floats), runs)
    surface = (
        data.sample_surface(facts.compiled.f_batch, facts.compiled.grad_batch, region)
        if facts.n == 2
        else None
    )
    return Runs(
        runs,
        main,
        region,
        surface,
        tuple(_markers(facts, region, s.start.floats)),
        tuple(_path_data(r, i) for i, r in enumerate(runs)),
        _basins(facts, s, main, region),
    )


def _backend(steps: int) -> str:
    """numpy for short runs (no code to generate), the compiled scalar loop for long ones."""
    return "numpy" if steps <= SHORT_RUN else "auto"


def _run_all(facts: Facts, s: Settings, trial: Trajectory | None) -> list[Trajectory]:
    from symgd.numeric.runner import descend

    runs = []
    for method in s.methods:
        fixed = fixed_rate(method)
        rate = s.lr.value if fixed is None else fixed
        if (
            method == "gd"
            and trial is not None
            and trial.lr == rate
            and trial.steps <= s.steps
            and trial.status.value != "max_steps"
        ):
            runs.append(trial)  # the run that chose the step count: the same numbers
            continue
        runs.append(
            descend(
                facts.problem,
                list(s.start.floats),
                method=method,
                lr=rate,
                steps=s.steps,
                backend=_backend(s.steps),
                tol=TOLERANCE,
                trajectory=False,
            )
        )
    return runs


def _choose_region(facts: Facts, start: list[float], runs: Sequence[Trajectory]) -> Any:
    from symgd.render import figure_data as data

    anchors = [list(p.as_floats()) for p in facts.isolated]
    scale = max([abs(v) for v in start] + [1.0])
    anchors = [a for a in anchors if max(abs(v) for v in a) <= 6 * scale + 5]
    return data.choose_region(start, anchors, [r.xs for r in runs])


def marker_point(facts: Facts, point: Sequence[float]) -> tuple[float, ...]:
    """Where a marker goes: the point itself, or ``(x, f(x))`` for one variable."""
    if facts.n == 1:
        return (float(point[0]), facts.f_at(point))
    return tuple(float(v) for v in point)


def _markers(facts: Facts, region: Any, start: Sequence[float]) -> list[Any]:
    from symgd.render import figure_data as data

    found = [
        data.Marker(marker_point(facts, p.as_floats()), p.kind, "")  # the figure names it
        for p in facts.isolated
        if region.contains(p.as_floats())
    ]
    for k in facts.kink_points:  # minima and maxima on a kink are marked like the others
        try:
            point = tuple(float(c) for c in k.coordinates)
        except (TypeError, ValueError):
            continue
        if k.kind in ("minimum", "maximum") and region.contains(point):
            on_kink = _("minimum (kink)") if k.kind == "minimum" else _("maximum (kink)")
            found.append(data.Marker(marker_point(facts, point), k.kind, on_kink))
    return [*found, data.Marker(marker_point(facts, start), "start", "")]


def _thin(count: int, limit: int = MAX_PLOT_POINTS) -> Any:
    """Indices that keep the first steps densely and the rest log-spaced (for long runs)."""
    import numpy as np

    if count <= limit:
        return np.arange(count)
    head = np.arange(min(limit // 2, count))
    tail = np.unique(np.geomspace(len(head), count - 1, limit - len(head)).astype(int))
    return np.unique(np.concatenate([head, tail, [count - 1]]))


def _path_data(run: Trajectory, index: int) -> Any:
    from symgd.render import figure_data as data
    from symgd.render import figures as plots

    keep = _thin(len(run.xs))
    return data.PathData(
        label=label(run.method),
        xs=run.xs[keep],
        fs=run.fs[keep],
        grad_norms=run.grad_norms[keep],
        colour=plots.colour_for(run.method, index),
        diverged=run.status.value == "diverged",
        steps=run.step_numbers[keep],
    )


#: most steps of each basin grid run, and fewest
BASIN_STEPS = (500, 3000)


def _basins(facts: Facts, s: Settings, run: Trajectory | None, region: Any) -> Basins | None:
    """For two variables and several minima: where descent from each start on a grid ends
    (one batch run), each start coloured by the minimum its outcome says it reached."""
    import numpy as np

    from symgd.numeric.runner import descend

    known = [tuple(float(c) for c in m) for m in facts.all_minima()]
    continuum = facts.critical_set == "infinite" and not (facts.known and facts.known.periodic)
    if facts.n != 2 or len(known) < 2 or continuum:
        return None  # one minimum, or a whole line or region of them: no basins to tell apart
    gx, gy = np.meshgrid(
        np.linspace(region.lo[0], region.hi[0], BASIN_GRID),
        np.linspace(region.lo[1], region.hi[1], BASIN_GRID),
    )
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    steps = min(max(s.steps, BASIN_STEPS[0]), BASIN_STEPS[1])
    batch = descend(
        facts.problem,
        starts,
        method="gd",
        lr=s.lr.value,
        steps=steps,
        tol=1e-6,
        keep_path=False,
    )
    finals = batch.xs[-1]
    outcomes = [o.value for o in batch.row_outcomes()] or ["unfinished"] * len(finals)
    minima = list(known)
    labels = np.full(len(finals), -1)
    for i, (point, outcome) in enumerate(zip(finals, outcomes, strict=True)):
        nature = facts.nature_near(point) if outcome == "degenerate" else None
        if outcome == "minimum" or (nature is not None and nature.kind == "minimum"):
            labels[i] = _minimum_index(minima, point)
    if facts.critical_set != "complete":
        minima, labels = _in_view(minima, labels, region)
    if len(minima) < 2 or not (labels >= 0).any():
        return None
    reached = None
    if run is not None and run.outcome is not None and run.outcome.value == "minimum":
        reached = minima[_minimum_index(minima, run.xs[-1])] if minima else None
    return Basins(
        tuple(minima),
        labels.reshape(gx.shape),
        reached,
        steps,
        in_view=facts.critical_set != "complete",
        elsewhere=_elsewhere([o for o, label in zip(outcomes, labels, strict=True) if label < 0]),
    )


def _minimum_index(minima: list[tuple[float, ...]], point: Any) -> int:
    """The index of the known minimum at ``point``, adding it to ``minima`` when it is new."""
    import numpy as np

    p = np.asarray(point, dtype=float)
    for i, m in enumerate(minima):
        if np.abs(p - np.asarray(m)).max() < 1e-2 * max(1.0, float(np.abs(m).max())):
            return i
    minima.append(tuple(float(v) + 0.0 for v in np.round(p, 6)))
    return len(minima) - 1


def _in_view(minima: list[tuple[float, ...]], labels: Any, region: Any) -> tuple[Any, Any]:
    """Only the minima in the picture or reached from it (their labels renumbered)."""
    import numpy as np

    keep = [i for i, m in enumerate(minima) if region.contains(m) or (labels == i).any()]
    mapping = np.full(len(minima) + 1, -1)
    for new, old in enumerate(keep):
        mapping[old] = new
    return [minima[i] for i in keep], mapping[labels]


def _elsewhere(outcomes: list[str]) -> str:
    """``70% still moving, 30% at a saddle`` for the starts whose run reached no minimum."""
    if not outcomes:
        return ""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o] = counts.get(o, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(
        f"{_(ELSEWHERE[o]) if o in ELSEWHERE else o}: {c / len(outcomes):.0%}" for o, c in ranked
    )


#: what a basin-grid run that reached no minimum did, by outcome (translated where shown)
ELSEWHERE = {
    "unfinished": N_("still moving"),
    "cycle": N_("in a cycle"),
    "saddle": N_("at a saddle"),
    "maximum": N_("at a maximum"),
    "degenerate": N_("at a degenerate point"),
    "flat": N_("on a flat stretch"),
    "unbounded": N_("falling without a lower bound found"),
    "diverged": N_("ran away"),
    "domain": N_("left the domain"),
}
