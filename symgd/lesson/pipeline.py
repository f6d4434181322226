"""The lesson's build order, in one place: facts → settings → runs → sections → context.

Each stage is a frozen result computed from the ones before it; no section reads another
section's state. :func:`work_lesson` does the work, :func:`page_context` turns the typed
results into what the templates read and :func:`figure_jobs` collects the figures to draw.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from symgd.base.errors import InputError, short_repr
from symgd.base.i18n import N_, _, current
from symgd.lesson.defaults import choose_settings
from symgd.lesson.facts import Facts, work_out_facts
from symgd.lesson.panel import RatePanel, run_panel
from symgd.lesson.runs import Runs, run_lesson
from symgd.lesson.sections.curvature import curvature_section
from symgd.lesson.sections.derivatives import derivatives_section
from symgd.lesson.sections.differential import differential_section
from symgd.lesson.sections.explore import explore_csp, explore_section
from symgd.lesson.sections.function import SettingItem, function_section, settings_items
from symgd.lesson.sections.hand import hand_section
from symgd.lesson.sections.rates import rates_section
from symgd.lesson.sections.runs import runs_section
from symgd.lesson.sections.steepest import steepest_section
from symgd.lesson.sections.summary import summary_section
from symgd.lesson.settings import Settings, StartInput
from symgd.lesson.view import as_context

if TYPE_CHECKING:
    from symgd.calculus.derivation import Derivation


@dataclass(frozen=True)
class Stages:
    """What every section builder may read: the facts, the settings, the runs and the
    learning-rate panel (never another section)."""

    facts: Facts
    settings: Settings
    runs: Runs
    panel: RatePanel


@dataclass(frozen=True)
class SectionSpec:
    """One section of the page: its id (which names its template partial and its context),
    its title (English, marked for translation: :func:`page_context` translates it), its part
    (``core``: the story every lesson tells; ``deeper``: "Go deeper", collapsed in the browser
    and printed in full) and its builder (``None`` when the section has nothing true to show
    for this function)."""

    id: str
    title: str
    part: str
    build: Callable[[Stages], Any]


def _deeper(sid: str) -> Callable[[Stages], Any]:
    """The builder of a "Go deeper" section, imported when the section is built (a lesson
    with ``--sections core`` never loads them)."""

    def build(w: Stages) -> Any:
        module = importlib.import_module(f"symgd.lesson.sections.{sid}")
        return getattr(module, f"{sid}_section")(w.facts, w.settings)

    return build


def _spec(sid: str, title: str, part: str, build: Callable[[Stages], Any]) -> SectionSpec:
    return SectionSpec(sid, title, part, build)


#: the page's sections, in order
SECTIONS: tuple[SectionSpec, ...] = (
    _spec("function", N_("The function"), "core", lambda w: function_section(w.facts, w.settings)),
    _spec(
        "derivatives",
        N_("Partial derivatives and the gradient"),
        "core",
        lambda w: derivatives_section(w.facts),
    ),
    _spec(
        "differential",
        N_("The total differential"),
        "core",
        lambda w: differential_section(w.facts, w.settings),
    ),
    _spec(
        "steepest",
        N_("Why step against the gradient: the cos θ argument"),
        "core",
        lambda w: steepest_section(w.facts, w.settings),
    ),
    _spec(
        "curvature",
        N_("Curvature: Hessian, critical points, convexity"),
        "core",
        lambda w: curvature_section(w.facts),
    ),
    _spec(
        "hand",
        N_("The update rule, worked by hand"),
        "core",
        lambda w: hand_section(w.facts, w.settings),
    ),
    _spec(
        "runs",
        N_("Runs of the optimizers"),
        "core",
        lambda w: runs_section(w.facts, w.settings, w.runs),
    ),
    _spec(
        "explore",
        N_("Explore: run it yourself"),
        "core",
        lambda w: explore_section(w.facts, w.settings, w.runs),
    ),
    _spec(
        "rates",
        N_("What the learning rate does"),
        "core",
        lambda w: rates_section(w.facts, w.runs, w.panel),
    ),
    _spec(
        "summary",
        N_("What happened, and why"),
        "core",
        lambda w: summary_section(w.facts, w.settings, w.runs, w.panel),
    ),
    _spec(
        "numerical",
        N_("The numerical gradient beside the exact one"),
        "deeper",
        _deeper("numerical"),
    ),
    _spec(
        "directional",
        N_("The directional derivative"),
        "deeper",
        _deeper("directional"),
    ),
    _spec(
        "tangent",
        N_("Linearisation: the tangent and its error"),
        "deeper",
        _deeper("tangent"),
    ),
    _spec(
        "quadratic",
        N_("The quadratic model and one Newton step"),
        "deeper",
        _deeper("quadratic"),
    ),
    _spec(
        "momentum",
        N_("Momentum's map: which η and μ converge fastest"),
        "deeper",
        _deeper("momentum"),
    ),
)
SECTION_IDS = tuple(spec.id for spec in SECTIONS)
CORE_IDS = tuple(spec.id for spec in SECTIONS if spec.part == "core")


def parse_sections(sections: str | Sequence[str] | None) -> tuple[str, ...]:
    """The sections a lesson contains: ``"all"`` (the default), ``"core"``, or names
    (a comma-separated string or a list), kept in page order; the function section is always
    there, since the page opens with it.

    >>> parse_sections("summary, runs")
    ('function', 'runs', 'summary')
    >>> parse_sections("core") == CORE_IDS
    True
    """
    if sections is None:
        return SECTION_IDS
    if isinstance(sections, str):
        names = [name.strip() for name in sections.split(",")]
    elif isinstance(sections, Sequence) and all(isinstance(n, str) for n in sections):
        names = [name.strip() for name in sections]
    else:
        raise InputError(
            f"sections must be 'core', 'all' or section names, got {short_repr(sections)}"
        )
    names = [name for name in names if name]
    if names == ["all"]:
        return SECTION_IDS
    if names == ["core"]:
        return CORE_IDS
    unknown = [name for name in names if name not in SECTION_IDS]
    if unknown or not names:
        raise InputError(
            f"unknown section {', '.join(map(repr, unknown)) or '(none named)'}; use 'core', "
            f"'all' or names from: {', '.join(SECTION_IDS)}"
        )
    return tuple(sid for sid in SECTION_IDS if sid in names or sid == "function")


@dataclass(frozen=True, eq=False)
class WorkedLesson:
    """Everything a lesson computed, stage by stage; ``sections`` holds each built section's
    typed context by id, in page order (a section that does not apply is left out)."""

    facts: Facts
    settings: Settings
    runs: Runs
    panel: RatePanel
    settings_items: tuple[SettingItem, ...]
    sections: Mapping[str, Any]


def work_lesson(
    derivation: Derivation,
    start: StartInput | None = None,
    lr: float | None = None,
    steps: int | None = None,
    methods: Sequence[str] | str | None = None,
    *,
    sections: str | Sequence[str] | None = None,
    direction: Sequence[float] | None = None,
) -> WorkedLesson:
    """The whole lesson on ``derivation``, in build order."""
    wanted = parse_sections(sections)
    facts = work_out_facts(derivation)
    chosen = choose_settings(facts, start, lr, steps, methods)
    s = chosen.settings
    if direction is not None:
        from symgd.lesson.sections.directional import parse_direction

        s = replace(s, direction=parse_direction(facts, direction))
    runs = run_lesson(facts, chosen)
    panel = run_panel(facts, s, runs.main)
    stages = Stages(facts, s, runs, panel)
    built: dict[str, Any] = {}
    for spec in SECTIONS:
        if spec.id in wanted and (section := spec.build(stages)) is not None:
            built[spec.id] = section
    return WorkedLesson(facts, s, runs, panel, settings_items(s), MappingProxyType(built))


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
    built = worked.sections
    shown = [spec for spec in SECTIONS if spec.id in built]
    return {
        "language": current(),
        "generator": f"symgd {__version__}",
        "title": _("Gradient descent on f({args}) = {source}").format(
            args=", ".join(facts.names), source=facts.problem.source
        ),
        "settings_values": settings_values(worked.settings),
        "sections": [
            {"id": spec.id, "number": i, "title": _(spec.title), "part": spec.part}
            for i, spec in enumerate(shown, start=1)
        ],
        "settings": as_context(worked.settings_items),
        "csp": explore_csp(built.get("explore")),
        **{sid: as_context(section) for sid, section in built.items()},
    }


def figure_jobs(worked: WorkedLesson) -> dict[str, Any]:
    """Every figure the page shows, by name, in page order."""
    jobs: dict[str, Any] = {}
    for section in worked.sections.values():
        jobs.update(getattr(section, "figures", {}))
    return jobs
