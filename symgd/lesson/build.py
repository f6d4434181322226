"""The lesson's public names, kept where earlier code imported them from.

The lesson is built stage by stage (see :mod:`symgd.lesson.pipeline`): facts
(:mod:`~symgd.lesson.facts`), settings (:mod:`~symgd.lesson.settings`,
:mod:`~symgd.lesson.defaults`), runs (:mod:`~symgd.lesson.runs`, :mod:`~symgd.lesson.panel`), one
module per section (:mod:`symgd.lesson.sections`), the page (:mod:`~symgd.lesson.page`) and the
JSON (:mod:`~symgd.lesson.report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from symgd.lesson.page import Lesson, explain, print_parts
from symgd.lesson.settings import DEFAULT_METHODS, TOLERANCE, Settings, exact_number
from symgd.numeric.regimes import classify_signal
from symgd.render.latex import MAX_SHOWN_ENTRIES

if TYPE_CHECKING:
    from symgd.calculus.derivation import Derivation

__all__ = ["DEFAULT_METHODS", "MAX_SHOWN_ENTRIES", "TOLERANCE", "Lesson", "Settings",
           "classify_signal", "exact_number", "explain", "print_parts"]


class _Builder:
    """Sections one at a time on one derivation, without runs or figures (for tests that
    check a section's limits); :func:`symgd.lesson.pipeline.work_lesson` builds the lesson."""

    def __init__(self, derivation: Derivation) -> None:
        from symgd.lesson.facts import work_out_facts

        self.facts = work_out_facts(derivation)

    def settings(self, start: Sequence[float] | Mapping[str, float] | float | None,
                 lr: float | None, steps: int | None,
                 methods: Sequence[str] | str | None) -> Settings:
        """The settings, checked and completed as :func:`explain` does."""
        from symgd.lesson.defaults import choose_settings

        return choose_settings(self.facts, start, lr, steps, methods).settings

    def function_section(self) -> Any:
        """Section 1's context."""
        from symgd.lesson.sections.function import function_section
        from symgd.lesson.view import as_context

        return as_context(function_section(self.facts))

    def derivatives_section(self) -> Any:
        """Section 2's context."""
        from symgd.lesson.sections.derivatives import derivatives_section
        from symgd.lesson.view import as_context

        return as_context(derivatives_section(self.facts))

    def differential_section(self, settings: Settings) -> Any:
        """Section 3's context."""
        from symgd.lesson.sections.differential import differential_section
        from symgd.lesson.view import as_context

        return as_context(differential_section(self.facts, settings))

    def curvature_section(self) -> Any:
        """Section 5's context."""
        from symgd.lesson.sections.curvature import curvature_section
        from symgd.lesson.view import as_context

        return as_context(curvature_section(self.facts))

    def hand_section(self, settings: Settings) -> Any:
        """Section 6's context."""
        from symgd.lesson.sections.hand import hand_section
        from symgd.lesson.view import as_context

        return as_context(hand_section(self.facts, settings))
