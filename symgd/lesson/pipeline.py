"""The lesson's build order, in one place: facts → settings → runs → sections → context.

Each stage is a frozen result computed from the ones before it; no section reads another
section's state. :func:`work_lesson` does the work, :func:`page_context` turns the typed
results into what the templates read and :func:`figure_jobs` collects the figures to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgd.lesson.defaults import choose_settings
from symgd.lesson.facts import Facts, work_out_facts
from symgd.lesson.panel import RatePanel, run_panel
from symgd.lesson.runs import Runs, run_lesson
from symgd.lesson.sections.curvature import CurvatureSection, curvature_section
from symgd.lesson.sections.derivatives import DerivativesSection, derivatives_section
from symgd.lesson.sections.differential import DifferentialSection, differential_section
from symgd.lesson.sections.function import (
    FunctionSection,
    SettingItem,
    function_section,
    settings_items,
)
from symgd.lesson.sections.hand import HandSection, hand_section
from symgd.lesson.sections.rates import RatesSection, rates_section
from symgd.lesson.sections.runs import RunsSection, runs_section
from symgd.lesson.sections.steepest import SteepestSection, steepest_section
from symgd.lesson.sections.summary import SummarySection, summary_section
from symgd.lesson.settings import Settings, StartInput
from symgd.lesson.view import as_context

if TYPE_CHECKING:
    from symgd.calculus.derivation import Derivation

#: the page's sections, in order: (id, title); each id names its template partial
SECTIONS = (
    ("function", "The function"),
    ("derivatives", "Partial derivatives and the gradient"),
    ("differential", "The total differential"),
    ("steepest", "Why step against the gradient: the cos θ argument"),
    ("curvature", "Curvature: Hessian, critical points, convexity"),
    ("hand", "The update rule, worked by hand"),
    ("runs", "Runs of the optimizers"),
    ("rates", "What the learning rate does"),
    ("summary", "What happened, and why"),
)


@dataclass(frozen=True)
class Sections:
    """Every section's typed context, in page order."""

    function: FunctionSection
    derivatives: DerivativesSection
    differential: DifferentialSection
    steepest: SteepestSection
    curvature: CurvatureSection
    hand: HandSection
    runs: RunsSection
    rates: RatesSection
    summary: SummarySection


@dataclass(frozen=True, eq=False)
class WorkedLesson:
    """Everything a lesson computed, stage by stage."""

    facts: Facts
    settings: Settings
    runs: Runs
    panel: RatePanel
    settings_items: tuple[SettingItem, ...]
    sections: Sections


def work_lesson(
    derivation: Derivation,
    start: StartInput | None = None,
    lr: float | None = None,
    steps: int | None = None,
    methods: Sequence[str] | str | None = None,
) -> WorkedLesson:
    """The whole lesson on ``derivation``, in build order."""
    facts = work_out_facts(derivation)
    chosen = choose_settings(facts, start, lr, steps, methods)
    s = chosen.settings
    runs = run_lesson(facts, chosen)
    panel = run_panel(facts, s, runs.main)
    sections = Sections(
        function=function_section(facts),
        derivatives=derivatives_section(facts),
        differential=differential_section(facts, s),
        steepest=steepest_section(facts, s),
        curvature=curvature_section(facts),
        hand=hand_section(facts, s),
        runs=runs_section(facts, s, runs),
        rates=rates_section(facts, runs, panel),
        summary=summary_section(facts, s, runs, panel),
    )
    return WorkedLesson(facts, s, runs, panel, settings_items(s), sections)


def settings_values(s: Settings) -> dict[str, Any]:
    """The settings as plain numbers (the page's data and ``symgd explain --json``)."""
    return {
        "start": list(s.start.floats),
        "lr": s.lr.value,
        "steps": s.steps,
        "methods": list(s.methods),
        "defaults": sorted(s.defaults),
    }


def page_context(worked: WorkedLesson) -> dict[str, Any]:
    """What the lesson template reads (figures still :class:`~symgd.render.worker.Pending`)."""
    from symgd import __version__

    facts = worked.facts
    sections = worked.sections
    return {
        "language": "en",
        "generator": f"symgd {__version__}",
        "title": f"Gradient descent on f({', '.join(facts.names)}) = {facts.problem.source}",
        "settings_values": settings_values(worked.settings),
        "sections": [
            {"id": sid, "number": i, "title": title}
            for i, (sid, title) in enumerate(SECTIONS, start=1)
        ],
        **{sid: as_context(getattr(sections, sid)) for sid, _ in SECTIONS[:1]},
        "settings": as_context(worked.settings_items),
        **{sid: as_context(getattr(sections, sid)) for sid, _ in SECTIONS[1:]},
    }


def figure_jobs(worked: WorkedLesson) -> dict[str, Any]:
    """Every figure the page shows, by name, in page order."""
    s = worked.sections
    return {**s.steepest.figures, **s.runs.figures, **s.rates.figures}
