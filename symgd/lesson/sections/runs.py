"""Section 7, runs of the optimizers: the table, the update rules, the paths, the progress
curves and (several minima) the basins of attraction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symgd.base.i18n import _, n_
from symgd.lesson.endings import badge, run_note
from symgd.lesson.facts import Facts
from symgd.lesson.methods import hyperparameters_text, label, rule_latex
from symgd.lesson.runs import Basins, Runs
from symgd.lesson.settings import TOLERANCE, Settings
from symgd.lesson.view import OFF_PAGE, View
from symgd.lesson.words import run_value_text
from symgd.render.latex import floats_plain, floats_tex, number
from symgd.render.worker import Pending

if TYPE_CHECKING:
    from symgd.numeric.results import Trajectory


@dataclass(frozen=True)
class RunRow(View):
    """One run in the table."""

    method: str
    label: str
    hyper: str
    outcome: str
    tone: str
    steps: int
    point_latex: str
    f_text: str
    grad_text: str
    message: str


@dataclass(frozen=True)
class RuleRow(View):
    """One optimizer's update rule."""

    label: str
    latex: str
    hyper: str


@dataclass(frozen=True)
class BasinsView(View):
    """The basin picture and what it shows."""

    text: str
    figure: Pending
    caption: str


@dataclass(frozen=True)
class RunsSection(View):
    """Section 7."""

    intro: str
    table: tuple[RunRow, ...]
    rules: tuple[RuleRow, ...]
    picture: Pending | None
    picture_caption: str
    no_contour: str | None
    progress: Pending
    progress_caption: str
    traces: Pending | None
    traces_caption: str
    basins: BasinsView | None
    figures: dict[str, Any] = field(default_factory=dict, metadata=OFF_PAGE)


def runs_section(facts: Facts, s: Settings, runs: Runs) -> RunsSection:
    """Section 7."""
    from symgd.render import figures as plots

    table, rules = [], []
    for run in runs.runs:
        shown = badge(run, facts)
        hyper = hyperparameters_text(run.method, run.hyperparameters)
        settings = f"η = {number(run.lr)}" + (f", {hyper}" if hyper else "")
        ran_away = run.status.value == "diverged"
        outside = run.status.value == "domain"
        away = _("ran away")
        # the formula font draws Latin letters only: for words in another script the page
        # writes them beside no formula (point_latex "")
        away_latex = rf"\text{{{away}}}" if away.isascii() else ""
        table.append(
            RunRow(
                method=run.method,
                label=label(run.method),
                hyper=settings,
                outcome=shown.text,
                tone=shown.tone,
                steps=run.steps,
                point_latex=away_latex if ran_away else floats_tex(run.xs[-1], 4),
                f_text=_("undefined there") if outside else run_value_text(run.fs, ran_away),
                grad_text=_("grew without bound")
                if ran_away
                else _("undefined there")
                if outside
                else number(float(run.grad_norms[-1]), 3),
                message=run_message(facts, run),
            )
        )
        rules.append(RuleRow(label(run.method), rule_latex(run.method), settings))
    figures, pictures = _pictures(facts, runs)
    f_star = _f_star(facts, runs.runs)
    figures["progress"] = plots.FigureJob(
        "progress_figure", {"paths": list(runs.paths), "f_star": f_star, "name": "fig-progress"}
    )
    basins = None
    if runs.basins is not None:
        figures["basins"] = _basins_job(facts, runs, runs.basins)
        basins = _basins_view(facts, runs.basins, runs.region)
    return RunsSection(
        intro=_(
            "Each method starts at x₀ and runs for at most {steps} steps, stopping early when "
            "|∇f| < {tol} or when the iterates run away."
        ).format(steps=s.steps, tol=number(TOLERANCE)),
        table=tuple(table),
        rules=tuple(rules),
        progress=Pending("progress"),
        progress_caption=_(
            "Left: the gap f(xₖ) − f* to the lowest value reached, on a log scale. Right: the "
            "length of the gradient, on a log scale. A straight falling line on a log scale "
            "means the error shrinks by the same factor every step (linear convergence)."
        )
        if f_star is not None
        else _(
            "Left: f(xₖ). Right: the length of the gradient, on a log scale. A straight "
            "falling line on a log scale means the error shrinks by the same factor every step "
            "(linear convergence)."
        ),
        basins=basins,
        figures=figures,
        **pictures,
    )


def _pictures(facts: Facts, runs: Runs) -> tuple[dict[str, Any], dict[str, Any]]:
    """The figure of the paths (curve, contours or coordinate traces) and its fields."""
    from symgd.render import figure_data as data
    from symgd.render import figures as plots

    compiled = facts.compiled
    paths, markers = list(runs.paths), list(runs.markers)
    fields: dict[str, Any] = {
        "picture": None,
        "picture_caption": "",
        "no_contour": None,
        "traces": None,
        "traces_caption": "",
    }
    if facts.n == 1:
        first = [float(v) for v in runs.runs[0].xs[:3, 0]] if runs.runs else []
        curve = data.sample_curve(
            compiled.f_batch, lambda x: compiled.grad_batch(x)[0], runs.region, first
        )
        job = plots.FigureJob(
            "curve_figure",
            {
                "curve": curve,
                "paths": paths,
                "variable": facts.names[0],
                "markers": markers,
                "name": "fig-paths",
            },
        )
        fields.update(
            picture=Pending("paths"),
            picture_caption=_(
                "The curve of f with the tangent lines at the first iterates of gradient "
                "descent (their slopes are the derivatives used in each step) and the path of "
                "each method."
            ),
        )
        return {"paths": job}, fields
    if facts.n == 2:
        job = plots.FigureJob(
            "contour_figure",
            {
                "surface": runs.surface,
                "paths": paths,
                "variables": (facts.names[0], facts.names[1]),
                "markers": markers,
                "name": "fig-paths",
            },
        )
        fields.update(
            picture=Pending("paths"),
            picture_caption=_contour_caption(len(markers) > 1),
        )
        return {"paths": job}, fields
    main = paths[0]
    job = plots.FigureJob(
        "traces_figure", {"path": main, "variables": facts.names, "name": "fig-traces"}
    )
    fields.update(
        no_contour=_(
            "f has {n} variables, so its graph lives in {dimensions} dimensions and its level "
            "sets are surfaces, not curves: there is no honest flat contour picture. Instead, "
            "the figures track what can be plotted against the step number: f, the "
            "gradient's length, and each coordinate."
        ).format(n=facts.n, dimensions=facts.n + 1),
        traces=Pending("traces"),
        traces_caption=_(
            "Each coordinate of the {name} run, step by step; a coordinate that levels off "
            "has settled."
        ).format(name=main.label.lower()),
    )
    return {"traces": job}, fields


def _contour_caption(points: bool) -> str:
    """The caption of the paths over the level curves (``points``: critical points drawn)."""
    if points:
        return _(
            "Level curves of f (darker is lower), the direction of −∇f on a grid (grey "
            "arrows: always across the level curves), the critical points in the frame and "
            "the path of each method from the start ★. Paths that leave the frame are cut "
            "at its edge."
        )
    return _(
        "Level curves of f (darker is lower), the direction of −∇f on a grid (grey "
        "arrows: always across the level curves), the path of each method from the "
        "start ★. Paths that leave the frame are cut at its edge."
    )


def _f_star(facts: Facts, runs: Sequence[Trajectory]) -> float | None:
    """The value the gap f − f* is measured to: the lowest minimum, when every run stays
    above it."""
    import numpy as np

    values = [float(p.value) for p in facts.minima]
    if not values:
        return None
    best = min(values)
    for run in runs:
        finite = run.fs[np.isfinite(run.fs)]
        if finite.size and float(finite.min()) < best - 1e-9 * max(1.0, abs(best)):
            return None
    return best


def run_message(facts: Facts, run: Trajectory) -> str:
    """How a run ended, in a sentence (from its outcome and the facts of f)."""
    return run_note(facts, run)


def _basins_job(facts: Facts, runs: Runs, basins: Basins) -> Any:
    from symgd.render import figure_data as data
    from symgd.render import figures as plots

    colours = basin_colours(len(basins.minima), data.PALETTE)
    return plots.FigureJob(
        "basins_figure",
        {
            "region": runs.region,
            "labels": basins.labels,
            "colours": colours,
            "names": basins.names,
            "markers": list(runs.markers),
            "variables": (facts.names[0], facts.names[1]),
            "name": "fig-basins",
        },
    )


#: extra basin colours once the palette runs out (none of them grey, the colour of "no minimum")
EXTRA_COLOURS = (
    "#1F77B4",
    "#FF7F0E",
    "#2CA02C",
    "#D62728",
    "#9467BD",
    "#8C564B",
    "#E377C2",
    "#BCBD22",
    "#17BECF",
    "#AEC7E8",
    "#FFBB78",
    "#98DF8A",
    "#FF9896",
    "#C5B0D5",
    "#C49C94",
    "#F7B6D2",
    "#DBDB8D",
    "#9EDAE5",
)


def basin_colours(count: int, palette: Sequence[str]) -> list[str]:
    """``count`` distinct colours: the palette's (without black) and then more, cycling only
    beyond all of them."""
    pool = [c for c in palette if c.upper() not in ("#000000", "#EEEEEE")]
    pool += [c for c in EXTRA_COLOURS if c not in pool]
    return [pool[i % len(pool)] for i in range(count)]


def _minima_counted(facts: Facts, basins: Basins, region: Any) -> str:
    """How many minima the basins show, saying only what is known: ``f has 4 minima`` only
    when f's critical set is complete, else those in the picture (and any outside it that
    descent from the picture reached)."""
    count = len(basins.minima)
    if not basins.in_view:
        return facts.count_of_minima(count)
    inside = sum(1 for m in basins.minima if region.contains(m))
    if count <= inside:
        return facts.count_of_minima(inside, "the picture")
    values = {"n": inside, "outside": count - inside}
    if facts.critical_set == "infinite":
        return n_(
            "f has infinitely many minima; {n} of them lies in the picture, and descent from "
            "the starts in the picture also ends at {outside} outside it",
            "f has infinitely many minima; {n} of them lie in the picture, and descent from "
            "the starts in the picture also ends at {outside} outside it",
            inside,
        ).format(**values)
    return n_(
        "{n} minimum lies in the picture (symgd's list of critical points may be incomplete, "
        "so there may be others), and descent from the starts in the picture also ends at "
        "{outside} outside it",
        "{n} minima lie in the picture (symgd's list of critical points may be incomplete, "
        "so there may be others), and descent from the starts in the picture also ends at "
        "{outside} outside it",
        inside,
    ).format(**values)


def _basins_view(facts: Facts, basins: Basins, region: Any) -> BasinsView:
    counted = _minima_counted(facts, basins, region)
    saddles = any(p.kind == "saddle" for p in facts.isolated)
    ridges = (
        " " + _("The basins meet along ridges that pass through the saddle points.")
        if saddles
        else ""
    )
    if basins.reached is not None:
        text = _(
            "{counted}. Gradient descent only ever goes downhill along −∇f, so it ends in the "
            "minimum whose basin of attraction holds the start: from x₀ it reached {point}. "
            "The picture repeats the run from a grid of starts and colours each start by the "
            "minimum where that run actually ended (after at most {steps} steps)."
        ).format(counted=counted, point=floats_plain(basins.reached, 4), steps=basins.steps)
    else:
        text = _(
            "{counted}; which one descent reaches depends on the start. The picture colours "
            "each start on a grid by the minimum where gradient descent from it actually "
            "ended (after at most {steps} steps)."
        ).format(counted=counted, steps=basins.steps)
    shares = [
        _("{name}: {share} of the grid").format(name=n, share=f"{share:.0%}")
        for n, share in zip(basins.names, basins.shares, strict=True)
    ]
    rest = 1.0 - sum(basins.shares)
    if rest > 1e-9:
        shares.append(
            _(
                "grey, {share} of the grid: descent from there ended at no minimum within "
                "{steps} steps ({what})"
            ).format(share=f"{rest:.0%}", steps=basins.steps, what=basins.elsewhere)
        )
    caption = _("Basins of attraction of gradient descent (η as above): {shares}.").format(
        shares="; ".join(shares)
    )
    return BasinsView(text + ridges, Pending("basins"), caption)
