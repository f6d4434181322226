"""Figures: deterministic, self-contained SVG with per-figure ids, sensible regions and ticks."""

from __future__ import annotations

import pickle
import re
import sys

import numpy as np
import pytest

from symgd.render import figure_data, figure_output
from symgd.render import figures as plots
from symgd.render.figure_data import Marker, PathData, Regime, Region
from symgd.render.figures import FigureJob


def bowl(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x**2 + 3 * y**2


def bowl_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 2 * x, 6 * y


def descent_path(start: tuple[float, float], lr: float, steps: int) -> PathData:
    points = [np.array(start, dtype=float)]
    for _ in range(steps):
        x, y = points[-1]
        gx, gy = bowl_grad(x, y)
        points.append(np.array([x - lr * gx, y - lr * gy]))
    xs = np.array(points)
    fs = bowl(xs[:, 0], xs[:, 1])
    grads = np.hypot(*bowl_grad(xs[:, 0], xs[:, 1]))
    return PathData("Gradient descent", xs, fs, grads)


@pytest.fixture(scope="module")
def jobs() -> dict[str, FigureJob]:
    path = descent_path((2.0, 1.0), 0.1, 40)
    region = figure_data.choose_region((2.0, 1.0), [(0.0, 0.0)], [path.xs])
    surface = figure_data.sample_surface(bowl, bowl_grad, region, resolution=60)
    one = PathData(
        "gd",
        np.array([[1.0], [0.2], [0.04]]),
        np.array([1.0, 0.04, 0.0016]),
        np.array([2.0, 0.4, 0.08]),
    )
    curve = figure_data.sample_curve(
        lambda w: w**2, lambda w: 2 * w, Region((-1.5,), (1.5,)), [1.0, 0.2]
    )
    regimes = [
        Regime(f"η = {lr}", path, np.array([(1 - 2 * lr) ** k for k in range(20)]))
        for lr in (0.4, 0.6, 1.2)
    ]
    markers = [Marker((0.0, 0.0), "minimum", "minimum"), Marker((2.0, 1.0), "start", "start")]
    labels = np.where(np.arange(100).reshape(10, 10) % 3 == 0, -1, 0)
    return {
        "dir": FigureJob("directional_figure", {"grad_norm": 6.3, "name": "fig-dir"}),
        "contour": FigureJob(
            "contour_figure",
            {"surface": surface, "paths": [path], "markers": markers, "name": "fig-contour"},
        ),
        "curve": FigureJob(
            "curve_figure", {"curve": curve, "paths": [one], "variable": "w", "name": "fig-curve"}
        ),
        "progress": FigureJob(
            "progress_figure", {"paths": [path], "f_star": 0.0, "name": "fig-progress"}
        ),
        "traces": FigureJob(
            "traces_figure", {"path": path, "variables": ("x", "y"), "name": "fig-traces"}
        ),
        "rates": FigureJob(
            "regimes_figure", {"regimes": regimes, "ylabel": "w", "name": "fig-rates"}
        ),
        "rates2": FigureJob(
            "regimes_contour_figure",
            {"surface": surface, "regimes": regimes[:2], "name": "fig-rates2"},
        ),
        "basins": FigureJob(
            "basins_figure",
            {
                "region": region,
                "labels": labels,
                "colours": ["#0072B2"],
                "names": ["minimum"],
                "name": "fig-basins",
            },
        ),
    }


@pytest.fixture(scope="module")
def drawn(jobs: dict[str, FigureJob]) -> dict[str, str]:
    return {key: job.draw() for key, job in jobs.items()}


def test_every_figure_is_inline_svg(drawn: dict[str, str]) -> None:
    for key, svg in drawn.items():
        assert svg.startswith("<svg"), key
        assert svg.rstrip().endswith("</svg>"), key
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg
        assert not re.search(r"https?:|file:", svg), key
        assert "<metadata>" not in svg and "dc:date" not in svg


def test_ids_carry_the_figure_name_and_references_resolve(drawn: dict[str, str]) -> None:
    seen: set[str] = set()
    for svg in drawn.values():
        name = re.search(r'\bid="(fig-[a-z0-9]+)-', svg)
        assert name is not None
        ids = re.findall(r'\bid="([^"]+)"', svg)
        assert all(i.startswith(name.group(1) + "-") for i in ids)
        assert seen.isdisjoint(ids)
        seen.update(ids)
        for target in re.findall(r'(?:href="#|url\(#)([^")]+)', svg):
            assert target in ids


def test_drawing_is_deterministic(jobs: dict[str, FigureJob], drawn: dict[str, str]) -> None:
    assert jobs["contour"].draw() == drawn["contour"]
    assert jobs["progress"].draw() == drawn["progress"]


def test_jobs_survive_pickling(jobs: dict[str, FigureJob], drawn: dict[str, str]) -> None:
    """The figure worker receives jobs through a pipe."""
    again = pickle.loads(pickle.dumps(jobs["curve"]))
    assert again.draw() == drawn["curve"]


def test_a_job_names_only_a_drawable_figure() -> None:
    """Every figure function is in the registry a job looks up; other names are refused."""
    from symgd.render import progress_figures

    for module in (plots, progress_figures):
        for name, value in vars(module).items():
            if name.endswith("_figure") and getattr(value, "__module__", "") == module.__name__:
                assert plots.DRAWABLE[name] is value
    with pytest.raises(KeyError):
        FigureJob("warm_up", {}).draw()


def test_drawing_leaves_pyplot_alone() -> None:
    assert "matplotlib.pyplot" not in sys.modules


def test_labels_and_legends_are_text(drawn: dict[str, str]) -> None:
    assert "Gradient descent" in drawn["contour"]
    assert "direction of −∇f" in drawn["contour"]
    assert "θ = 180°" in drawn["dir"]
    assert "tangent lines" in drawn["curve"]
    assert "f(xₖ) − f*" in drawn["progress"]


def test_region_contains_start_and_anchors_and_ignores_runaways() -> None:
    runaway = np.array([[1.0, 2.0], [10.0, -20.0], [1e9, -2e9]])
    region = figure_data.choose_region((1.0, 2.0), [(0.0, 0.0)], [runaway])
    assert region.contains((1.0, 2.0)) and region.contains((0.0, 0.0))
    width = region.hi[0] - region.lo[0]
    assert width < 50


def test_region_grows_to_take_in_a_converging_path() -> None:
    path = np.array([[3.0, 0.0], [-4.0, 0.5], [0.0, 0.0]])
    region = figure_data.choose_region((3.0, 0.0), [(0.0, 0.0)], [path])
    assert region.contains((-4.0, 0.5))


def test_power_labels() -> None:
    assert figure_output.power_label(1e-6) == "10⁻⁶"
    assert figure_output.power_label(100.0) == "100"
    assert figure_output.power_label(-1e12) == "−10¹²"
    assert figure_output.power_label(3e5) == ""


def test_symlog_ticks_are_few_and_on_the_data() -> None:
    values = -np.logspace(0, 12, 50)
    ticks = figure_output.symlog_ticks(values, 1.0)
    negatives = [t for t in ticks if t < 0]
    assert 0.0 in ticks
    assert 2 <= len(negatives) <= 4
    assert min(ticks) >= values.min()


def test_contour_levels_follow_the_data() -> None:
    values = np.concatenate([np.linspace(0, 1, 500), np.linspace(1, 1e5, 20)])
    levels = plots.contour_levels(values)
    assert levels is not None
    assert np.all(np.diff(levels) > 0)
    assert (levels < 1).sum() >= len(levels) // 2  # most levels where most of the data is
    assert plots.contour_levels(np.ones(10)) is None


def test_surface_marks_undefined_points() -> None:
    region = Region((-1.0, -1.0), (1.0, 1.0))
    surface = figure_data.sample_surface(
        lambda x, y: np.log(x) + y, lambda x, y: (1 / x, y * 0 + 1), region, resolution=11, arrows=4
    )
    assert np.isnan(surface.zs[:, 0]).all()
    assert np.isfinite(surface.zs[:, -1]).all()
    assert surface.arrows is not None
    x, _, u, v = surface.arrows
    assert np.allclose(np.hypot(u, v), 1.0)
    assert (x > 0).all()  # arrows only where the gradient is defined


def test_path_colours_are_the_optimizer_specs() -> None:
    from symgd.numeric.optimizers import OPTIMIZERS

    for index, (name, spec) in enumerate(OPTIMIZERS.items()):
        assert plots.colour_for(name, index) == spec.colour
    assert plots.colour_for("unknown", 1) == plots.PALETTE[1]
