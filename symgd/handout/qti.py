"""The handout as a QTI 1.2 package that Canvas imports (Settings → Import course content →
QTI .zip file).

The zip holds ``imsmanifest.xml`` and one assessment per variant (``<ident>/<ident>.xml``,
titled ``<title> · variant 7 · seed 1234``), each a quiz of that variant's exercises, the
same ones its key in the PDF works. Every item's title starts with the question's name
(``f1 · variant 7 · seed 1234 · 1.5 two steps of descent``), so a bad variant can be found
and drawn again.

Items use the question types Canvas reads from ``<itemmetadata>``:

- a number: a ``numerical_question`` whose response processing accepts the exact value or
  any answer in [value − tolerance, value + tolerance] (``<vargte>``/``<varlte>``);
- a yes-or-no answer: a ``multiple_choice_question``;
- an answer that is an expression: an ``essay_question``, graded by hand.

An exercise with several numbers (the hand steps' points and values, a constant Hessian's
entries) becomes several numerical items, one per number, titled ``... · part 2/7: x₁: y``,
rather than one ``fill_in_multiple_blanks_question``: Canvas grades a blank by comparing its
text with the accepted answers, with no tolerance, so ``0.5`` would fail where ``.50`` was
expected. The worked solution is the general feedback of the exercise's last item.

Formulas are TeX between ``\\(`` and ``\\)`` (Canvas typesets them with MathJax). Every
text is built with :mod:`xml.etree.ElementTree`, which escapes it; the zip's entries have a
fixed date, so the same handout gives the same bytes.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence

from symgd.base.i18n import _, language
from symgd.handout.export import DECIMALS_NOTE, ChoicePart, NumberPart, Question, QuizExport

__all__ = ["assessment_ident", "qti_package"]

MANIFEST_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
IMSMD_NS = "http://www.imsglobal.org/xsd/imsmd_v1p2"
QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
#: the date stamped on every zip entry (the earliest a zip can hold)
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def qti_package(quiz: QuizExport) -> bytes:
    """The zip: ``imsmanifest.xml`` and one assessment file per variant.

    >>> from symgd.handout import build_handout
    >>> from symgd.handout.export import handout_questions
    >>> data = qti_package(handout_questions(build_handout(["w**2"], seed=3, workers=1)))
    >>> sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    ['imsmanifest.xml', 'symgd_s3_v1/symgd_s3_v1.xml']
    """
    with language(quiz.lang):
        return _package(quiz)


def _package(quiz: QuizExport) -> bytes:
    files: dict[str, bytes] = {}
    for variant in range(1, quiz.variant_count + 1):
        ident = assessment_ident(quiz.seed, variant)
        questions = [q for q in quiz.questions if q.variant == variant]
        title = _("{title} · variant {variant} · seed {seed}").format(
            title=quiz.title, variant=variant, seed=quiz.seed
        )
        files[f"{ident}/{ident}.xml"] = _xml_bytes(_assessment(ident, title, questions))
    manifest = _xml_bytes(_manifest(quiz, sorted(files)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [("imsmanifest.xml", manifest), *sorted(files.items())]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def assessment_ident(seed: int, variant: int) -> str:
    """An identifier for one variant's assessment (letters, digits and ``_`` only).

    >>> assessment_ident(-12, 3)
    'symgd_sm12_v3'
    """
    return f"symgd_s{str(seed).replace('-', 'm')}_v{variant}"


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _manifest(quiz: QuizExport, files: Sequence[str]) -> ET.Element:
    """The package's manifest: a QTI resource per assessment file."""
    manifest = ET.Element(
        "manifest",
        {
            "identifier": f"symgd_s{str(quiz.seed).replace('-', 'm')}_manifest",
            "xmlns": MANIFEST_NS,
            "xmlns:imsmd": IMSMD_NS,
        },
    )
    metadata = ET.SubElement(manifest, "metadata")
    ET.SubElement(metadata, "schema").text = "IMS Content"
    ET.SubElement(metadata, "schemaversion").text = "1.1.3"
    lom = ET.SubElement(metadata, "imsmd:lom")
    title = ET.SubElement(ET.SubElement(lom, "imsmd:general"), "imsmd:title")
    ET.SubElement(title, "imsmd:string").text = quiz.title
    ET.SubElement(manifest, "organizations")
    resources = ET.SubElement(manifest, "resources")
    for href in files:
        ident = href.split("/", 1)[0]
        resource = ET.SubElement(
            resources, "resource", identifier=ident, type="imsqti_xmlv1p2", href=href
        )
        ET.SubElement(resource, "file", href=href)
    return manifest


def _assessment(ident: str, title: str, questions: Sequence[Question]) -> ET.Element:
    root = ET.Element("questestinterop", {"xmlns": QTI_NS})
    assessment = ET.SubElement(root, "assessment", ident=ident, title=title)
    _metadata(assessment, {"cc_maxattempts": "1"})
    section = ET.SubElement(assessment, "section", ident="root_section")
    for question in questions:
        prefix = f"{ident}_e{question.number.replace('.', '_')}"
        if not question.parts:
            section.append(_essay_item(f"{prefix}_p1", question))
            continue
        count = len(question.parts)
        for k, part in enumerate(question.parts, start=1):
            title = (
                _("{name} · part {k}/{count}: {label}").format(
                    name=question.name, k=k, count=count, label=part.label
                )
                if count > 1
                else question.name
            )
            feedback = question.solution_html if k == count else None
            item = _item(f"{prefix}_p{k}", title, question, part, feedback)
            section.append(item)
    return root


def _metadata(parent: ET.Element, fields: dict[str, str]) -> None:
    meta = ET.SubElement(parent, "qtimetadata")
    for label, entry in fields.items():
        field = ET.SubElement(meta, "qtimetadatafield")
        ET.SubElement(field, "fieldlabel").text = label
        ET.SubElement(field, "fieldentry").text = entry


def _mattext(parent: ET.Element, html_text: str) -> None:
    material = ET.SubElement(parent, "material")
    ET.SubElement(material, "mattext", texttype="text/html").text = html_text


def _start_item(ident: str, title: str, kind: str, text: str) -> tuple[ET.Element, ET.Element]:
    """An ``<item>`` with its metadata and question text; returns it and its presentation."""
    item = ET.Element("item", ident=ident, title=title)
    _metadata(
        ET.SubElement(item, "itemmetadata"),
        {"question_type": kind, "points_possible": "1.0"},
    )
    presentation = ET.SubElement(item, "presentation")
    _mattext(presentation, text)
    return item, presentation


def _item(
    ident: str,
    title: str,
    question: Question,
    part: NumberPart | ChoicePart,
    feedback: str | None,
) -> ET.Element:
    """A numerical or multiple-choice item for one part, its response processing setting
    SCORE to 100 for the right answer only."""
    label = _html(part.label)
    many = len(question.parts) > 1
    shown = _("{label} (part of {number})").format(label=label, number=question.number)
    if not many:
        shown = label
    if isinstance(part, NumberPart):
        note = _html(_(DECIMALS_NOTE))
        text = f"{question.statement_html}\n<p>{note}</p>\n<p>{shown} =</p>"
        item, presentation = _start_item(ident, title, "numerical_question", text)
        response = ET.SubElement(presentation, "response_str", ident="response1")
        response.set("rcardinality", "Single")
        fib = ET.SubElement(response, "render_fib", fibtype="Decimal")
        ET.SubElement(fib, "response_label", ident="answer1")
    else:
        text = f"{question.statement_html}\n<p>{shown}</p>"
        item, presentation = _start_item(ident, title, "multiple_choice_question", text)
        response = ET.SubElement(presentation, "response_lid", ident="response1")
        response.set("rcardinality", "Single")
        choices = ET.SubElement(response, "render_choice")
        for k, choice in enumerate(part.choices):
            option = ET.SubElement(choices, "response_label", ident=f"{ident}_c{k}")
            _mattext(option, _html(choice))
    processing = _processing(item, feedback)
    right = ET.SubElement(processing, "respcondition", {"continue": "No"})
    condition = ET.SubElement(right, "conditionvar")
    if isinstance(part, NumberPart):
        either = ET.SubElement(condition, "or")
        ET.SubElement(either, "varequal", respident="response1").text = _number(part.value)
        both = ET.SubElement(either, "and")
        low, high = part.value - part.tolerance, part.value + part.tolerance
        ET.SubElement(both, "vargte", respident="response1").text = _number(low)
        ET.SubElement(both, "varlte", respident="response1").text = _number(high)
    else:
        correct = f"{ident}_c{part.correct}"
        ET.SubElement(condition, "varequal", respident="response1").text = correct
    ET.SubElement(right, "setvar", action="Set", varname="SCORE").text = "100"
    _feedback(item, feedback)
    return item


def _essay_item(ident: str, question: Question) -> ET.Element:
    item, presentation = _start_item(
        ident, question.name, "essay_question", question.statement_html
    )
    response = ET.SubElement(presentation, "response_str", ident="response1")
    response.set("rcardinality", "Single")
    ET.SubElement(ET.SubElement(response, "render_fib"), "response_label", ident="answer1")
    processing = _processing(item, question.solution_html)
    graded_by_hand = ET.SubElement(processing, "respcondition", {"continue": "No"})
    ET.SubElement(ET.SubElement(graded_by_hand, "conditionvar"), "other")
    _feedback(item, question.solution_html)
    return item


def _processing(item: ET.Element, feedback: str | None) -> ET.Element:
    """``<resprocessing>`` with the SCORE variable and, with ``feedback``, a condition that
    always shows it."""
    processing = ET.SubElement(item, "resprocessing")
    outcomes = ET.SubElement(processing, "outcomes")
    ET.SubElement(
        outcomes, "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal"
    )
    if feedback is not None:
        always = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
        ET.SubElement(ET.SubElement(always, "conditionvar"), "other")
        ET.SubElement(always, "displayfeedback", feedbacktype="Response", linkrefid="general_fb")
    return processing


def _feedback(item: ET.Element, feedback: str | None) -> None:
    if feedback is None:
        return
    block = ET.SubElement(item, "itemfeedback", ident="general_fb")
    _mattext(ET.SubElement(block, "flow_mat"), feedback)


def _number(value: float) -> str:
    return f"{value:.15g}"


def _html(text: str) -> str:
    import html

    return html.escape(text, quote=False)
