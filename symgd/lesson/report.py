"""``symgd explain --json``: the report's path and the lesson's key numbers, read from the
typed results (the settings and the runs), never from the template context."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgd.lesson.pipeline import settings_values

if TYPE_CHECKING:
    from symgd.lesson.page import Lesson
    from symgd.numeric.results import Trajectory


def lesson_json(lesson: Lesson, path: Path) -> dict[str, Any]:
    """The report's path, the function, the settings and each run's outcome."""
    worked = lesson.worked
    if worked is None:
        raise ValueError("this lesson was not worked out by symgd.explain")
    payload: dict[str, Any] = {
        "report": str(path),
        "expression": worked.facts.problem.source,
        "variables": list(worked.facts.names),
        **settings_values(worked.settings),
        "runs": [_run_json(run) for run in worked.runs.runs],
    }
    payload.update(_deeper_json(worked.sections))
    known = worked.facts.known
    if known is not None:
        from symgd.calculus.facts import facts_to_json

        payload["facts"] = facts_to_json(known, worked.facts.names)
    return payload


def _deeper_json(sections: Mapping[str, Any]) -> dict[str, Any]:
    """What the "Go deeper" sections add: the numerical gradient, the directional derivative,
    the Newton step and momentum's map (each only where its section was built)."""
    from symgd.lesson.sections.directional import directional_json
    from symgd.lesson.sections.momentum import momentum_json
    from symgd.lesson.sections.numerical import numerical_json
    from symgd.lesson.sections.quadratic import quadratic_json

    return {
        **numerical_json(sections.get("numerical")),
        **directional_json(sections.get("directional")),
        **quadratic_json(sections.get("quadratic")),
        **momentum_json(sections.get("momentum")),
    }


def _run_json(run: Trajectory) -> dict[str, Any]:
    """One run: why it stopped (``status``), what it reached (``outcome``, with
    ``cycle_period`` for a cycle) and where."""
    from symgd.lesson.endings import outcome_of

    entry: dict[str, Any] = {
        "method": run.method,
        "lr": run.lr,
        "status": run.status.value,
        "outcome": outcome_of(run),
    }
    if run.cycle_period:
        entry["cycle_period"] = run.cycle_period
    entry.update(
        steps=run.steps,
        final=[float(v) for v in run.xs[-1]],
        f=float(run.fs[-1]),
        grad_norm=float(run.grad_norms[-1]),
    )
    return entry
