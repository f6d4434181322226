"""The handout as a page: the template context, the HTML, and the PDF (typeset in parts side
by side when it is long).

The context holds every formula as LaTeX, worked out here rather than in the templates; the
templates (``handout.html.jinja2`` and its ``partials/handout_*``) only lay it out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgd.base.i18n import current, language
from symgd.handout.model import KINDS, Exercise, Handout
from symgd.handout.solutions import Line, worked_solution
from symgd.handout.text import call_text, pretty_text, tex

if TYPE_CHECKING:
    import jinja2

HANDOUT_TEMPLATE = "handout.html.jinja2"


def handout_context(h: Handout) -> dict[str, Any]:
    """The template context: every formula as LaTeX, computed here rather than in templates;
    the words in the handout's language."""
    with language(h.lang):
        return _context(h)


def _context(h: Handout) -> dict[str, Any]:
    from symgd import __version__

    functions = [
        {
            "index": index,
            "latex": rf"f({', '.join(tex(v) for v in d.variables)}) = {tex(d.expr)}",
            "running": f"{call_text('f', d.variables)} = {pretty_text(d.expr)}",
            "notes": d.notes,
        }
        for index, d in enumerate(h.derivations, start=1)
    ]
    shared: dict[tuple[int, str], tuple[Line, ...]] = {}
    variants = []
    for variant in h.variants:
        sheets = []
        for sheet in variant.sheets:
            exercises = []
            for exercise in sheet.exercises:
                key = (sheet.index, exercise.kind)
                if exercise.kind in KINDS[:4]:
                    if key not in shared:
                        shared[key] = worked_solution(sheet, exercise)
                    solution = shared[key]
                else:
                    solution = worked_solution(sheet, exercise)
                exercises.append(
                    {
                        "number": exercise.number,
                        "kind": exercise.kind,
                        "question": exercise.question,
                        "room": _room(exercise, len(sheet.derivation.variables)),
                        "solution": solution,
                    }
                )
            sheets.append({"function": functions[sheet.index - 1], "exercises": exercises})
        variants.append({"number": variant.number, "sheets": sheets})
    return {
        "language": current(),
        "generator": f"symgd {__version__}",
        "title": h.title,
        "seed": h.seed,
        "answers": h.answers,
        "variant_count": len(h.variants),
        "variants": variants,
        "blocks": _blocks(_units(variants, h.answers)),
    }


#: typesetting cost of one exercise on a sheet, in the units of :func:`_units`' weights
#: (characters of LaTeX): measured, a sheet costs about a sixth of its key
SHEET_EXERCISE_WEIGHT = 40
#: below this total weight a handout is typeset in one piece
PARALLEL_WEIGHT = 12_000


@dataclass(frozen=True)
class _Unit:
    """One function's exercises (``"sheet"``) or worked answers (``"key"``) in one variant."""

    kind: str
    variant: Mapping[str, Any]
    sheet: Mapping[str, Any]
    first: bool
    weight: int


def _units(variants: Sequence[Mapping[str, Any]], answers: str) -> list[_Unit]:
    def solutions(sheet: Mapping[str, Any]) -> int:
        return sum(
            len(line.latex) + len(line.text) // 4
            for ex in sheet["exercises"]
            for line in ex["solution"]
        )

    units: list[_Unit] = []
    for variant in variants:
        for position, sheet in enumerate(variant["sheets"]):
            weight = SHEET_EXERCISE_WEIGHT * len(sheet["exercises"])
            weight += len(sheet["function"]["latex"])
            if answers == "inline":
                weight += solutions(sheet)
            units.append(_Unit("sheet", variant, sheet, position == 0, weight))
    if answers == "separate":
        for variant in variants:
            for position, sheet in enumerate(variant["sheets"]):
                units.append(_Unit("key", variant, sheet, position == 0, solutions(sheet)))
    return units


def _blocks(units: Sequence[_Unit]) -> list[dict[str, Any]]:
    """Consecutive units of the same kind and variant, as the template's blocks."""
    blocks: list[dict[str, Any]] = []
    for unit in units:
        last = blocks[-1] if blocks else None
        if last is not None and last["kind"] == unit.kind and last["variant"] is unit.variant:
            last["sheets"].append(unit.sheet)
        else:
            blocks.append(
                {
                    "kind": unit.kind,
                    "variant": unit.variant,
                    "sheets": [unit.sheet],
                    "continued": not unit.first,
                }
            )
    return blocks


def _split(units: Sequence[_Unit], parts: int) -> list[list[_Unit]]:
    """Contiguous runs of units with about equal weight."""
    total = sum(u.weight for u in units) or 1
    runs: list[list[_Unit]] = [[] for _ in range(parts)]
    done = 0
    for unit in units:
        index = min(parts - 1, int(parts * (done + unit.weight / 2) / total))
        runs[index].append(unit)
        done += unit.weight
    return [run for run in runs if run]


def render_handout_html(
    h: Handout, env: jinja2.Environment | None = None, *, templates_dir: str | None = None
) -> str:
    """The handout as one self-contained HTML page, ready for
    :func:`symgd.render.pdf.render_pdf`."""
    from symgd.render.templates import make_env

    env = env if env is not None else make_env(templates_dir)
    with language(h.lang):
        return env.get_template(HANDOUT_TEMPLATE).render(**handout_context(h))


def render_handout_pdf(
    h: Handout, *, paper: str = "A4", templates_dir: str | None = None, workers: int = 2
) -> bytes:
    """The handout as PDF bytes. A long handout is typeset in ``workers`` parts side by side
    (WeasyPrint is single-threaded) and joined; a short one in one piece."""
    with language(h.lang):
        return _pdf(h, paper, templates_dir, workers)


def _pdf(h: Handout, paper: str, templates_dir: str | None, workers: int) -> bytes:
    from symgd.render import pdf
    from symgd.render.templates import make_env

    env = make_env(templates_dir)
    context = handout_context(h)
    template = env.get_template(HANDOUT_TEMPLATE)
    units = _units(context["variants"], h.answers)
    parts = workers if sum(u.weight for u in units) >= PARALLEL_WEIGHT else 1
    if parts <= 1 or not pdf.parts_supported():
        return pdf.render_pdf(template.render(**context), paper=paper)
    runs = _split(units, parts)

    def part(run: Sequence[_Unit]) -> Callable[[], str]:
        return lambda: template.render(**{**context, "blocks": _blocks(run)})

    jobs = [part(run) for run in runs]
    inline_file: Callable[[str], str] = env.globals["inline_file"]  # type: ignore[assignment]
    page_css = str(inline_file("print.css"))
    return pdf.render_pdf_parts(jobs, paper=paper, page_css=page_css, workers=workers)


def _room(exercise: Exercise, n: int) -> str:
    """How much room to leave for working, as a CSS length."""
    base = {
        "gradient": 4.0 + 1.2 * n,
        "total_differential": 3.5,
        "hessian": 4.0 + 1.4 * n,
        "critical_points": 9.0 + 1.5 * n,
        "descent_steps": 10.0 + 1.5 * n,
        "learning_rate": 7.0,
    }[exercise.kind]
    return f"{min(base, 20.0):.1f}em"
