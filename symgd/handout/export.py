"""The handout as questions for a learning platform: one list that the Moodle XML
(:mod:`symgd.handout.moodle`) and the QTI package (:mod:`symgd.handout.qti`) both read.

Each exercise of each variant becomes one :class:`Question`: its statement (the handout's own
words, with the function as TeX), the parts a platform can grade by itself and the worked
solution of the key (:mod:`symgd.handout.solutions`) as HTML. A number is graded to a
tolerance (:data:`TOLERANCE`); a yes-or-no answer is a choice. An answer that is an
expression (a gradient that depends on the point, the total differential, the list of
critical points) has no automatic grading on either platform without plug-ins, so such an
exercise has no parts: it is asked as an essay, graded by hand from the worked solution.

Formulas are TeX between ``\\(`` and ``\\)``, which Moodle's MathJax filter and Canvas's
MathJax both typeset; a display line is ``\\(\\displaystyle ...\\)`` so one pair of
delimiters serves both. Every text is HTML-escaped here, once: the formats only put it into
XML (which escapes it a second time, for XML).

>>> from symgd.handout import build_handout
>>> quiz = handout_questions(build_handout(["x**2 + 3*y**2"], seed=5, workers=1))
>>> [(q.number, q.form) for q in quiz.questions]  # doctest: +NORMALIZE_WHITESPACE
[('1.1', 'essay'), ('1.2', 'essay'), ('1.3', 'cloze'), ('1.4', 'essay'), ('1.5', 'cloze'),
 ('1.6', 'cloze')]
>>> quiz.questions[2].name
'f1 · variant 1 · seed 5 · 1.3 Hessian'
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from symgd.base.i18n import N_, _, language
from symgd.calculus.hand_steps import real_number
from symgd.expr.problem import to_text
from symgd.handout.solutions import Line, worked_solution
from symgd.handout.text import SUBSCRIPTS, point_symbol, tex

if TYPE_CHECKING:
    import sympy as sp

    from symgd.calculus.derivation import Derivation
    from symgd.handout.model import Exercise, Handout, Sheet

__all__ = [
    "TOLERANCE",
    "ChoicePart",
    "ExportFunction",
    "NumberPart",
    "Question",
    "QuizExport",
    "handout_questions",
    "solution_html",
]

#: a number is accepted within TOLERANCE × max(1, |value|) of the exact value: more than
#: rounding to three decimal places can miss by (0.0005), as every numeric question says
TOLERANCE = 0.0006
#: what every question with numbers asks for, so that the tolerance is fair
#: (marked for translation: show it with ``_(DECIMALS_NOTE)``)
DECIMALS_NOTE = N_(
    "In this quiz, enter each number as a decimal (not a fraction), to at least three "
    "decimal places."
)
#: the exercise kinds in words, for question names (show them with :func:`kind_name`)
KIND_NAMES = {
    "gradient": N_("gradient"),
    "total_differential": N_("total differential"),
    "hessian": N_("Hessian"),
    "critical_points": N_("critical points"),
    "descent_steps": N_("two steps of descent"),
    "learning_rate": N_("learning rate"),
}


def kind_name(kind: str) -> str:
    """An exercise kind in words, in the language in effect."""
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


#: longest function text (as typed) shown in a category name
MAX_SOURCE = 100


@dataclass(frozen=True)
class NumberPart:
    """A number to enter: ``label`` (plain text), the exact value as symgd text, its float
    and the absolute tolerance."""

    label: str
    exact: str
    value: float
    tolerance: float


@dataclass(frozen=True)
class ChoicePart:
    """A choice among ``choices`` (plain text); ``correct`` is the index of the right one."""

    label: str
    choices: tuple[str, ...]
    correct: int


@dataclass(frozen=True)
class Question:
    """One exercise of one variant, ready for a platform.

    ``statement_html`` is the handout's question (HTML, formulas as TeX); ``parts`` are
    what the platform grades (none: graded by hand); ``solution_html`` is the key's worked
    solution. ``form`` names how it is asked: ``"numerical"`` (one number), ``"cloze"``
    (several parts, or one choice) or ``"essay"``.
    """

    function_index: int
    variant: int
    seed: int
    number: str
    kind: str
    statement_html: str
    parts: tuple[NumberPart | ChoicePart, ...]
    solution_html: str
    lang: str = "en"

    @property
    def name(self) -> str:
        """``f1 · variant 7 · seed 1234 · 1.2 total differential``: enough to find the
        variant again (``--seed 1234``, variant 7); in the question's language."""
        with language(self.lang):
            return _("f{index} · variant {variant} · seed {seed} · {number} {kind}").format(
                index=self.function_index,
                variant=self.variant,
                seed=self.seed,
                number=self.number,
                kind=kind_name(self.kind),
            )

    @property
    def form(self) -> str:
        if not self.parts:
            return "essay"
        if len(self.parts) == 1 and isinstance(self.parts[0], NumberPart):
            return "numerical"
        return "cloze"


@dataclass(frozen=True)
class ExportFunction:
    """A function of the handout: its number, the text as typed and its TeX."""

    index: int
    source: str
    latex: str

    @property
    def label(self) -> str:
        """``f1: x**2 + 3*y**2`` (the text as typed, shortened when long)."""
        source = " ".join(self.source.split())
        if len(source) > MAX_SOURCE:
            source = source[: MAX_SOURCE - 1] + "…"
        return f"f{self.index}: {source}"


@dataclass(frozen=True)
class QuizExport:
    """The handout's title and seed, its functions and every question, variant by variant."""

    title: str
    seed: int
    variant_count: int
    functions: tuple[ExportFunction, ...]
    questions: tuple[Question, ...]
    lang: str = "en"


def handout_questions(h: Handout) -> QuizExport:
    """Every exercise of every variant as a :class:`Question` (see the module docstring), in
    the handout's language."""
    with language(h.lang):
        return _questions(h)


def _questions(h: Handout) -> QuizExport:
    functions = tuple(
        ExportFunction(index=i, source=d.problem.source, latex=_function_latex(d))
        for i, d in enumerate(h.derivations, start=1)
    )
    shared: dict[tuple[int, str], str] = {}  # the first four kinds do not change by variant
    questions = []
    for variant in h.variants:
        for sheet in variant.sheets:
            for exercise in sheet.exercises:
                key = (sheet.index, exercise.kind)
                solution = shared.get(key) or solution_html(worked_solution(sheet, exercise))
                if exercise.steps is None and exercise.rate is None:
                    shared[key] = solution
                questions.append(
                    Question(
                        function_index=sheet.index,
                        variant=variant.number,
                        seed=h.seed,
                        number=exercise.number,
                        kind=exercise.kind,
                        statement_html=_statement(functions[sheet.index - 1], exercise),
                        parts=_parts(sheet, exercise),
                        solution_html=solution,
                        lang=h.lang,
                    )
                )
    return QuizExport(
        title=h.title,
        seed=h.seed,
        variant_count=len(h.variants),
        functions=functions,
        questions=tuple(questions),
        lang=h.lang,
    )


def _function_latex(d: Derivation) -> str:
    return rf"f({', '.join(tex(v) for v in d.variables)}) = {tex(d.expr)}"


def math_html(latex: str, display: bool = False) -> str:
    """TeX between ``\\(`` and ``\\)`` (``\\displaystyle`` for a display), HTML-escaped."""
    body = r"\displaystyle " + latex if display else latex
    return html.escape(rf"\({body}\)", quote=False)


def solution_html(lines: Sequence[Line]) -> str:
    """A worked solution's lines as HTML paragraphs: words escaped, formulas as TeX.

    >>> solution_html([Line(text="So <x> is", latex=r"x < \\frac{1}{2}")])
    '<p>So &lt;x&gt; is</p>\\n<p>\\\\(\\\\displaystyle x &lt; \\\\frac{1}{2}\\\\)</p>'
    """
    paragraphs = []
    for line in lines:
        if line.text:
            paragraphs.append(f"<p>{html.escape(line.text, quote=False)}</p>")
        if line.latex:
            paragraphs.append(f"<p>{math_html(line.latex, display=True)}</p>")
    return "\n".join(paragraphs)


def _statement(function: ExportFunction, exercise: Exercise) -> str:
    """The function, then the handout's question in its own words."""
    return (
        f"<p>{math_html(function.latex)}</p>\n"
        f"<p>{exercise.number}. {html.escape(exercise.question, quote=False)}</p>"
    )


def _parts(sheet: Sheet, exercise: Exercise) -> tuple[NumberPart | ChoicePart, ...]:
    """What a platform can grade of this exercise (nothing for an expression)."""
    d = sheet.derivation
    one = len(d.variables) == 1
    if exercise.kind == "gradient":
        labels = ["f′"] if one else [f"∂f/∂{v.name}" for v in d.variables]
        return _numbers(labels, d.gradient)
    if exercise.kind == "hessian":
        n = len(d.variables)
        pairs = [(i, j) for i in range(n) for j in range(i, n)]
        labels = ["f″"] if one else [f"H{_sub(i + 1)}{_sub(j + 1)}" for i, j in pairs]
        return _numbers(labels, [d.hessian[i, j] for i, j in pairs])
    if exercise.kind == "descent_steps" and exercise.steps is not None:
        steps = exercise.steps
        name = d.variables[0].name if one else point_symbol(d.variables)
        labels, values = [], []
        for k, point in enumerate(steps.points[1:], start=1):
            for v, x in zip(d.variables, point, strict=True):
                labels.append(f"{name}{_sub(k)}" if one else f"{name}{_sub(k)}: {v.name}")
                values.append(x)
        for k, value in enumerate(steps.values):
            labels.append(f"f({name}{_sub(k)})")
            values.append(value)
        numbers = _numbers(labels, values)
        decreased = ChoicePart(
            _("Did f decrease?"), (_("Yes"), _("No")), 0 if steps.decreasing else 1
        )
        return (*numbers, decreased) if numbers else ()
    if exercise.kind == "learning_rate" and exercise.rate is not None:
        converges = exercise.rate.converges
        return (
            ChoicePart(
                _("Does it converge from every starting point?"),
                (_("Yes"), _("No")),
                0 if converges else 1,
            ),
        )
    return ()


def _numbers(labels: Sequence[str], values: Sequence[sp.Expr]) -> tuple[NumberPart, ...]:
    """A part per value, or none when any value is not a real number (an expression)."""
    parts = []
    for label, value in zip(labels, values, strict=True):
        number = real_number(value) if not value.free_symbols else None
        if number is None:
            return ()
        number = float(f"{number:.15g}")
        parts.append(NumberPart(label, to_text(value), number, tolerance(number)))
    return tuple(parts)


def tolerance(value: float) -> float:
    """The absolute tolerance for ``value``: :data:`TOLERANCE` × max(1, |value|).

    >>> tolerance(0.25), tolerance(-40.0)
    (0.0006, 0.024)
    """
    return float(f"{TOLERANCE * max(1.0, abs(value)):.6g}")


def _sub(k: int) -> str:
    return str(k).translate(SUBSCRIPTS)
