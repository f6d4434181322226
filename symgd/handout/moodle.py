"""The handout as Moodle XML, for a course's question bank (Question bank → Import → Moodle
XML format).

One question per exercise and variant, named ``f1 · variant 7 · seed 1234 · 1.5 two steps
of descent`` so that one bad variant can be found and drawn again (``--seed 1234``). The
questions sit in a category per function (``<title>/f1: x**2 + 3*y**2``) with a
subcategory per exercise (``.../1.5 two steps of descent``), so a quiz's "random question
from this category" gives each student one variant of that exercise.

- one number to enter: a ``numerical`` question, its answer with a ``<tolerance>``;
- several parts (the points and values of the hand steps, the entries of a constant Hessian,
  a yes-or-no answer): a ``cloze`` question with ``{1:NUMERICAL:=value:tolerance}`` and
  ``{2:MULTICHOICE:=Yes~No}`` parts;
- an answer that is an expression: an ``essay`` question (Moodle grades no expressions
  without plug-ins) with the worked solution as the grader's information.

The worked solution is every question's general feedback. Formulas are TeX between ``\\(``
and ``\\)``, typeset by Moodle's MathJax filter (on by default): TeX rather than images,
because the same text then serves Canvas too, stays searchable and needs no image files or
TeX installation. Every text is built with :mod:`xml.etree.ElementTree`, which escapes it:
nothing taken from user text (the title, the function as typed) reaches the XML unescaped,
and no CDATA section is written, so ``]]>`` in a title is only text.

>>> from symgd.handout import build_handout
>>> from symgd.handout.export import handout_questions
>>> data = moodle_xml(handout_questions(build_handout(["w**2"], seed=3, workers=1)))
>>> data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>') and b'type="cloze"' in data
True
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from symgd.base.i18n import _, language
from symgd.handout.export import (
    DECIMALS_NOTE,
    ChoicePart,
    NumberPart,
    Question,
    QuizExport,
    kind_name,
)

__all__ = ["category_path", "moodle_xml", "number_text", "question_element"]

#: Moodle's default penalty for each wrong try in an interactive quiz
PENALTY = "0.3333333"
#: a "{" that Moodle's cloze reader could take for the start of a part: ``{1:NUMERICAL:``
_CLOZE_LIKE = re.compile(r"\{(?=[0-9]*:)")


def moodle_xml(quiz: QuizExport) -> bytes:
    """The whole handout as a Moodle XML ``<quiz>`` document (UTF-8 bytes), its words in the
    quiz's language."""
    with language(quiz.lang):
        return _document(quiz)


def _document(quiz: QuizExport) -> bytes:
    from symgd import __version__

    root = ET.Element("quiz")
    root.append(
        ET.Comment(
            f" symgd {__version__}: {len(quiz.questions)} questions, "
            f"{quiz.variant_count} variant(s), seed {quiz.seed} "
        )
    )
    by_exercise: dict[tuple[int, str], list[Question]] = {}
    for question in quiz.questions:
        by_exercise.setdefault((question.function_index, question.number), []).append(question)
    for function in quiz.functions:
        _category(
            root,
            [quiz.title, function.label],
            _("The exercises on {function}.").format(function=function.label),
        )
        for (index, number), questions in by_exercise.items():
            if index != function.index:
                continue
            kind = kind_name(questions[0].kind)
            _category(
                root,
                [quiz.title, function.label, f"{number} {kind}"],
                _("Exercise {number}, one question per variant.").format(number=number),
            )
            for question in questions:
                root.append(question_element(question))
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def category_path(names: list[str]) -> str:
    """A category path under the course's top category, each name escaped as Moodle's own
    export does (``/`` doubled; a space added where a name starts or ends with ``/``).

    >>> category_path(["Week 3", "f1: x/2"])
    '$course$/top/Week 3/f1: x//2'
    """
    escaped = []
    for name in names:
        text = name.replace("/", "//")
        if text.startswith("/"):
            text = " " + text
        if text.endswith("/"):
            text += " "
        escaped.append(text)
    return "/".join(["$course$", "top", *escaped])


def _category(root: ET.Element, names: list[str], info: str) -> None:
    question = ET.SubElement(root, "question", type="category")
    _text(ET.SubElement(question, "category"), category_path(names))
    _text(ET.SubElement(question, "info", format="html"), f"<p>{_html(info)}</p>")


def question_element(question: Question) -> ET.Element:
    """One ``<question>``: numerical, cloze or essay (see the module docstring)."""
    form = question.form
    element = ET.Element("question", type=form)
    _text(ET.SubElement(element, "name"), question.name)
    text = question.statement_html
    if form == "cloze":
        text = _CLOZE_LIKE.sub("&#123;", text) + "\n" + _cloze_parts(question.parts)
    elif form == "numerical":
        (part,) = question.parts
        assert isinstance(part, NumberPart)
        text += f"\n<p>{_html(_(DECIMALS_NOTE))}</p>\n<p>{_html(part.label)} =</p>"
    _text(ET.SubElement(element, "questiontext", format="html"), text)
    _text(ET.SubElement(element, "generalfeedback", format="html"), question.solution_html)
    grade = len(question.parts) if form == "cloze" else 1
    ET.SubElement(element, "defaultgrade").text = str(grade)
    ET.SubElement(element, "penalty").text = PENALTY if question.parts else "0"
    ET.SubElement(element, "hidden").text = "0"
    if form == "numerical":
        _numerical_answer(element, question.parts[0])
    elif form == "essay":
        _essay_settings(element, question.solution_html)
    return element


def _numerical_answer(element: ET.Element, part: NumberPart | ChoicePart) -> None:
    assert isinstance(part, NumberPart)
    answer = ET.SubElement(element, "answer", fraction="100", format="moodle_auto_format")
    _text(answer, number_text(part.value))
    _text(ET.SubElement(answer, "feedback", format="html"), "")
    ET.SubElement(answer, "tolerance").text = number_text(part.tolerance)
    for tag, value in (
        ("unitgradingtype", "0"),
        ("unitpenalty", "0.1000000"),
        ("showunits", "3"),
        ("unitsleft", "0"),
    ):
        ET.SubElement(element, tag).text = value


def _essay_settings(element: ET.Element, solution: str) -> None:
    for tag, value in (
        ("responseformat", "editor"),
        ("responserequired", "1"),
        ("responsefieldlines", "15"),
        ("attachments", "0"),
        ("attachmentsrequired", "0"),
    ):
        ET.SubElement(element, tag).text = value
    _text(ET.SubElement(element, "graderinfo", format="html"), solution)
    _text(ET.SubElement(element, "responsetemplate", format="html"), "")


def _cloze_parts(parts: tuple[NumberPart | ChoicePart, ...]) -> str:
    """A line per part: its label, then ``{1:NUMERICAL:=value:tolerance}`` or
    ``{1:MULTICHOICE:=Yes~No}``."""
    lines = []
    if any(isinstance(p, NumberPart) for p in parts):
        lines.append(f"<p>{_html(_(DECIMALS_NOTE))}</p>")
    for part in parts:
        if isinstance(part, NumberPart):
            blank = f"{{1:NUMERICAL:={number_text(part.value)}:{number_text(part.tolerance)}}}"
            lines.append(f"<p>{_html(part.label)} = {blank}</p>")
        else:
            choices = "~".join(
                ("=" if k == part.correct else "") + _cloze_choice(choice)
                for k, choice in enumerate(part.choices)
            )
            lines.append(f"<p>{_html(part.label)} {{1:MULTICHOICE:{choices}}}</p>")
    return "\n".join(lines)


def _cloze_choice(text: str) -> str:
    """A choice's text with the characters cloze reads as syntax escaped by a backslash."""
    return re.sub(r"([\\}#~/\"])", r"\\\1", _html(text))


def number_text(value: float) -> str:
    """A float as Moodle reads it: a plain decimal or ``1.5e-07``, never ``nan``.

    >>> number_text(0.25), number_text(-3.0), number_text(1e-7)
    ('0.25', '-3', '1e-07')
    """
    return f"{value:.15g}"


def _text(parent: ET.Element, text: str) -> None:
    ET.SubElement(parent, "text").text = text


def _html(text: str) -> str:
    import html

    return html.escape(text, quote=False)
