"""``symgd explain --json``: the report's path and the lesson's key numbers, read from the
typed results (the settings and the runs), never from the template context."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgd.lesson.pipeline import settings_values

if TYPE_CHECKING:
    from symgd.lesson.page import Lesson


def lesson_json(lesson: Lesson, path: Path) -> dict[str, Any]:
    """The report's path, the function, the settings and each run's outcome."""
    worked = lesson.worked
    if worked is None:
        raise ValueError("this lesson was not worked out by symgd.explain")
    return {
        "report": str(path),
        "expression": worked.facts.problem.source,
        "variables": list(worked.facts.names),
        **settings_values(worked.settings),
        "runs": [
            {
                "method": run.method,
                "lr": run.lr,
                "status": run.status.value,
                "steps": run.steps,
                "final": [float(v) for v in run.xs[-1]],
                "f": float(run.fs[-1]),
                "grad_norm": float(run.grad_norms[-1]),
            }
            for run in worked.runs.runs
        ],
    }
