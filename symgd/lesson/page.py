"""The page: :func:`explain` works a lesson and renders it, :class:`Lesson` holds the result
(HTML, PDF, the typed results it came from)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgd.base.errors import InputError
from symgd.base.files import check_output, output_folder, write_atomically
from symgd.base.i18n import DEFAULT, _, check_language, current, embed_hangul_font, language
from symgd.render.worker import FigureWorker, Pending, fill_figures, take_prestarted

if TYPE_CHECKING:
    import sympy as sp

    from symgd.calculus.derivation import Derivation
    from symgd.expr.problem import Problem
    from symgd.lesson.pipeline import WorkedLesson
    from symgd.lesson.settings import Settings
    from symgd.numeric.results import Trajectory


@dataclass(frozen=True, eq=False)
class Lesson:
    """A rendered-on-demand lesson: the template context plus the objects it came from."""

    context: Mapping[str, Any] = field(repr=False)
    derivation: Derivation = field(repr=False)
    trajectories: tuple[Trajectory, ...] = field(repr=False)
    templates: Path | None = None
    page: str | None = field(default=None, repr=False)
    #: the typed results the page was built from (None for a lesson made from a context)
    worked: WorkedLesson | None = field(default=None, repr=False)
    #: the language the lesson is written in (``"en"``, ``"ko"``): its page, PDF and words
    lang: str = DEFAULT

    @property
    def settings(self) -> Settings | None:
        """The settings the runs used (start, learning rate, steps, methods, reasons)."""
        return None if self.worked is None else self.worked.settings

    def html(self) -> str:
        """The lesson as one self-contained HTML page."""
        if self.page is not None:
            return self.page
        from symgd.render.templates import make_env, render_html

        with language(self.lang):
            return render_html(self.context, make_env(self.templates))

    def save(self, directory: str | Path, *, follow_symlinks: bool = False) -> Path:
        """Write ``report.html`` into ``directory`` (created if needed); return its path.

        The file is written to a temporary name beside its final one and then renamed, so an
        interrupted run never leaves half a report behind. :class:`InputError` when
        ``directory`` is a file, or it or the report is a symbolic link and
        ``follow_symlinks`` is false (see :mod:`symgd.base.files`).
        """
        folder = output_folder(directory, follow_symlinks=follow_symlinks)
        return write_atomically(
            folder / "report.html", self.html().encode("utf-8"), follow_symlinks=follow_symlinks
        )

    def pdf(self, *, paper: str = "A4", workers: int = 2) -> bytes:
        """The same page printed to PDF (WeasyPrint), with page numbers and a running header.

        WeasyPrint is single-threaded: with ``workers`` > 1 the lesson is typeset in that many
        parts side by side (each starting on a new page at a section) and joined.
        """
        with language(self.lang):
            return self._pdf(paper, workers)

    def _pdf(self, paper: str, workers: int) -> bytes:
        from symgd.render import pdf
        from symgd.render.templates import make_env

        page = self.html()
        parts = print_parts(page, workers) if workers > 1 and pdf.parts_supported() else [page]
        inline_file: Callable[[str], str] = make_env(self.templates).globals["inline_file"]  # type: ignore[assignment]
        page_css = str(inline_file("print.css"))
        worker = pdf.take_print_worker()  # started early by `symgd explain --pdf`
        if worker is not None:
            return worker.typeset(parts, paper=paper, page_css=page_css, workers=workers)
        return pdf.typeset(parts, paper=paper, page_css=page_css, workers=workers)

    def save_pdf(
        self, directory: str | Path, *, paper: str = "A4", follow_symlinks: bool = False
    ) -> Path:
        """Write ``report.pdf`` into ``directory`` as :meth:`save` writes; return its path."""
        folder = output_folder(directory, follow_symlinks=follow_symlinks)
        check_output(folder / "report.pdf", follow_symlinks=follow_symlinks)  # before typesetting
        return write_atomically(
            folder / "report.pdf", self.pdf(paper=paper), follow_symlinks=follow_symlinks
        )

    def _repr_html_(self) -> str:
        page = html.escape(self.html(), quote=True)
        with language(self.lang):
            title = html.escape(_("symgd lesson"), quote=True)
        return (
            f'<iframe srcdoc="{page}" title="{title}" '
            'style="width:100%;height:85vh;border:1px solid #ddd;border-radius:6px">'
            "</iframe>"
        )

    def __repr__(self) -> str:
        return f"Lesson({self.context['function']['source']!r})"


_SECTION_START = '<section class="lesson-section"'
_MASTHEAD = re.compile(r'<header class="masthead">.*?</header>', re.S)
_FOOTER = re.compile(r"<footer>.*?</footer>", re.S)


def print_parts(page: str, count: int) -> list[str]:
    """``page`` cut at section boundaries into up to ``count`` complete pages of about equal
    typesetting work (the size of their markup, mostly formula and figure outlines).

    Every part keeps the head (styles) and the running-header marks; only the first keeps the
    masthead and only the last the footer. A page without lesson sections comes back whole.
    """
    first = page.find(_SECTION_START)
    last = page.rfind("</section>")
    if first < 0 or last < first or count < 2:
        return [page]
    end = last + len("</section>")
    starts = [m.start() for m in re.finditer(re.escape(_SECTION_START), page[:end])]
    sections = [page[a:b] for a, b in zip(starts, [*starts[1:], end], strict=True)]
    head, tail = page[:first], page[end:]
    total = len(page)
    runs: list[list[str]] = [[] for _ in range(min(count, len(sections)))]
    done = len(head)
    for section in sections:
        index = min(len(runs) - 1, int(len(runs) * (done + len(section) / 2) / total))
        runs[index].append(section)
        done += len(section)
    bare_head = _MASTHEAD.sub("", head, count=1)
    bare_tail = _FOOTER.sub("", tail, count=1)
    runs = [run for run in runs if run]
    return [
        (head if i == 0 else bare_head) + "".join(run) + (tail if i == len(runs) - 1 else bare_tail)
        for i, run in enumerate(runs)
    ]


# -- entry point ------------------------------------------------------------------------------


def explain(
    f: str | sp.Expr | Problem | Derivation,
    *,
    start: Sequence[float] | Mapping[str, float] | float | None = None,
    lr: float | None = None,
    steps: int | None = None,
    methods: Sequence[str] | str | None = None,
    templates: str | Path | None = None,
    sections: str | Sequence[str] | None = None,
    direction: Sequence[float] | None = None,
    lang: str | None = None,
) -> Lesson:
    """Work a full gradient-descent lesson on ``f``.

    Anything left as ``None`` is chosen for the function (and the report says why): a start
    point that is not critical, a learning rate from the Hessian, enough steps to show
    convergence or divergence, and the optimizers gradient descent, momentum and Adam (and
    Newton's method for up to three variables). ``sections`` chooses what the page contains:
    ``"all"`` (the default), ``"core"`` (the story without the "Go deeper" sections) or section
    names; ``direction`` adds a direction u to the directional-derivative section. ``lang``
    (``"en"``, ``"ko"``; default: the language in effect, see :mod:`symgd.base.i18n`) is the
    language of every word of the lesson; numbers, formulas and JSON keys stay as they are.

    >>> lesson = explain("x**2", start=[1], lr=0.5, steps=5, methods="gd")
    >>> lesson.settings.lr.text, lesson.trajectories[0].status.value
    ('1/2', 'converged')
    >>> lesson.html().startswith("<!DOCTYPE html>")
    True
    """
    code = current() if lang is None else check_language(lang)
    with language(code):
        return _explain(f, start, lr, steps, methods, templates, sections, direction)


def _explain(
    f: str | sp.Expr | Problem | Derivation,
    start: Sequence[float] | Mapping[str, float] | float | None,
    lr: float | None,
    steps: int | None,
    methods: Sequence[str] | str | None,
    templates: str | Path | None,
    sections: str | Sequence[str] | None,
    direction: Sequence[float] | None,
) -> Lesson:
    """:func:`explain` in the language in effect."""
    from symgd.lesson.pipeline import figure_jobs, page_context, parse_sections, work_lesson
    from symgd.render.templates import formulas_in, make_env, render_html, templates_path

    parse_sections(sections)  # a misspelt section is reported before any work
    template_dir = None if templates is None else templates_path(templates)
    env = make_env(template_dir)  # a broken template is reported before any work
    worker = take_prestarted() or FigureWorker()  # before numpy starts its threads
    try:
        from symgd.calculus.derivation import Derivation, derive

        derivation = f if isinstance(f, Derivation) else derive(f)
        if derivation.problem.parameters:
            names = ", ".join(p.name for p in derivation.problem.parameters)
            raise InputError(
                _("the function has parameters without values ({names})").format(names=names)
            )
        worked = work_lesson(
            derivation, start, lr, steps, methods, sections=sections, direction=direction
        )
        context = page_context(worked)
        # the worker starts on the figures at once; the formulas follow as soon as they are
        # known, and a fork of the worker typesets them while it draws
        collect = worker.draw(figure_jobs(worked))
        needed = formulas_in(context, env)
        from symgd.render.mathsvg import remember, typeset

        if not worker.typeset(needed):
            for latex, display in needed:
                typeset(latex, display)
        figures, formulas = collect()
        remember(formulas)
        page = render_html(context, env)
    finally:
        worker.close()
    fill_figures(context, figures)
    for name, svg in figures.items():
        page = page.replace(str(Pending(name)), svg)
    page = embed_hangul_font(page)  # the figures' letters too
    return Lesson(context, derivation, worked.runs.runs, template_dir, page, worked, current())
