"""The runs of the lesson, done once: each chosen optimizer from x₀, the region the figures
show, and (for two variables and several minima) the basin grid. The learning-rate panel's
runs are in :mod:`symgd.lesson.panel`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symgd.lesson.methods import label
from symgd.lesson.settings import TOLERANCE, Chosen, Settings
from symgd.render.latex import floats_plain

if TYPE_CHECKING:
    import numpy as np

    from symgd.calculus.points import CriticalPoint
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
    """Which minimum gradient descent reaches from each start on a grid."""

    minima: tuple[CriticalPoint, ...]
    #: index of the minimum reached from each grid start (−1: none)
    labels: np.ndarray = field(repr=False)
    #: the minimum the lesson's first run reached, if it converged to one
    reached: CriticalPoint | None

    @property
    def names(self) -> list[str]:
        """``minimum (a, b)`` for each minimum."""
        return ["minimum " + floats_plain(m.as_floats(), 3) for m in self.minima]

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
        _basins(facts, s, runs[0] if runs else None, region),
    )


def _backend(steps: int) -> str:
    """numpy for short runs (no code to generate), the compiled scalar loop for long ones."""
    return "numpy" if steps <= SHORT_RUN else "auto"


def _run_all(facts: Facts, s: Settings, trial: Trajectory | None) -> list[Trajectory]:
    from symgd.numeric.runner import descend

    runs = []
    for method in s.methods:
        rate = 1.0 if method == "newton" else s.lr.value
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
        data.Marker(marker_point(facts, p.as_floats()), p.kind, p.kind)
        for p in facts.isolated
        if region.contains(p.as_floats())
    ]
    return [*found, data.Marker(marker_point(facts, start), "start", "start")]


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


def _basins(facts: Facts, s: Settings, run: Trajectory | None, region: Any) -> Basins | None:
    """For two variables and several minima: which minimum descent reaches from each start
    on a grid (one batch run)."""
    import numpy as np

    from symgd.numeric.runner import descend

    minima = facts.minima
    if facts.n != 2 or len(minima) < 2:
        return None
    gx, gy = np.meshgrid(
        np.linspace(region.lo[0], region.hi[0], BASIN_GRID),
        np.linspace(region.lo[1], region.hi[1], BASIN_GRID),
    )
    starts = np.column_stack([gx.ravel(), gy.ravel()])
    batch = descend(
        facts.problem,
        starts,
        method="gd",
        lr=s.lr.value,
        steps=min(s.steps, 3000),
        tol=1e-6,
        keep_path=False,
    )
    finals = batch.xs[-1]
    coords = np.array([m.as_floats() for m in minima])
    distance = np.abs(finals[:, None, :] - coords[None, :, :]).max(axis=2)
    nearest = distance.argmin(axis=1)
    close = (
        distance[np.arange(len(finals)), nearest]
        < 1e-2 * np.maximum(1.0, np.abs(coords).max(axis=1))[nearest]
    )
    labels = np.where(close, nearest, -1).reshape(gx.shape)
    reached = (
        facts.nearest_point(run.xs[-1])
        if run is not None and run.status.value == "converged"
        else None
    )
    return Basins(minima, labels, reached)
