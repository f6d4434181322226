"""Handouts for Moodle (XML) and Canvas (QTI 1.2): structure, answers read back against the
JSON key, escaping of user text, the committed samples, and the CLI's --format.

Run this file as a script to record the samples in tests/data again (only for a change you
mean)."""

from __future__ import annotations

import io
import json
import math
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
from click.testing import CliRunner

from symgd.cli import cli
from symgd.handout import Handout, build_handout, handout_to_json
from symgd.handout.export import handout_questions
from symgd.handout.moodle import moodle_xml
from symgd.handout.qti import qti_package

DATA = Path(__file__).resolve().parent / "data"
HOSTILE = "Week 3 </text><script>alert(1)</script> ]]> & a/b"
FUNCTIONS = ["x**2 + 3*y**2", "w**2 - 3*w", "exp(x) + y**2", "5*w - 2"]
SAMPLE_FUNCTIONS, SAMPLE_SEED, SAMPLE_TITLE = ["x**2 + 3*y**2"], 1, "Sample"
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
MANIFEST = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
NAME = re.compile(r"^f(\d+) · variant (\d+) · seed (-?\d+) · (\d+\.\d+) ")
CLOZE_PART = re.compile(r"\{1:(NUMERICAL|MULTICHOICE):([^}]*)\}")


@pytest.fixture(scope="module")
def handout() -> Handout:
    return build_handout(FUNCTIONS, variants=2, seed=11, title=HOSTILE, workers=1)


@pytest.fixture(scope="module")
def key(handout: Handout) -> dict[str, Any]:
    return handout_to_json(handout)


@pytest.fixture(scope="module")
def moodle(handout: Handout) -> bytes:
    return moodle_xml(handout_questions(handout))


@pytest.fixture(scope="module")
def qti(handout: Handout) -> bytes:
    return qti_package(handout_questions(handout))


def exercise(key: dict[str, Any], variant: int, number: str) -> dict[str, Any]:
    (found,) = [
        e
        for v in key["variants"]
        if v["variant"] == variant
        for e in v["exercises"]
        if e["id"] == number
    ]
    assert isinstance(found, dict)
    return found


def value(text: str) -> float:
    """A number from the key's exact text (a constant gradient or Hessian: a fraction)."""
    return float(sp.Rational(text))


def expected_parts(e: dict[str, Any]) -> list[float | str] | None:
    """What a platform should grade for one exercise, worked from the key alone: numbers, and
    "Yes"/"No" for a choice; ``None`` when the answer is an expression (graded by hand)."""
    answer = e["answer"]
    if e["kind"] == "hessian":
        rows = answer["hessian"]
        n = len(rows)
        entries = [rows[i][j] for i in range(n) for j in range(i, n)]
    elif e["kind"] == "gradient":
        entries = answer["gradient"]
    elif e["kind"] == "descent_steps":
        numbers: list[float | str] = [x for p in answer["points_value"][1:] for x in p]
        numbers += answer["values_value"]
        return [*numbers, "Yes" if answer["decreasing"] else "No"]
    elif e["kind"] == "learning_rate":
        return ["Yes" if answer["converges"] else "No"]
    else:
        return None
    if any(re.search(r"[A-Za-z]", t) for t in entries):
        return None
    return [value(t) for t in entries]


def close(got: float, want: float, tolerance: float) -> bool:
    """``got`` within the question's tolerance of the key, and the tolerance fair: a student
    who rounds to three decimal places is accepted, and it is no looser than 0.06 %."""
    fair = abs(round(want, 3) - want) <= tolerance <= 0.0006 * max(1.0, abs(want)) * (1 + 1e-5)
    return fair and abs(got - want) <= 1e-9 * max(1.0, abs(want))


# -- Moodle -----------------------------------------------------------------------------------


def test_moodle_has_the_elements_the_importer_reads(moodle: bytes, key: dict[str, Any]) -> None:
    root = ET.fromstring(moodle)
    assert root.tag == "quiz"
    questions = root.findall("question")
    categories = [q for q in questions if q.get("type") == "category"]
    others = [q for q in questions if q.get("type") != "category"]
    per_variant = [len(v["exercises"]) for v in key["variants"]]
    assert len(others) == sum(per_variant)
    # a category per function, and one per exercise inside it
    assert len(categories) == len(FUNCTIONS) + per_variant[0]
    for category in categories:
        assert category.findtext("category/text", "").startswith("$course$/top/")
    for q in others:
        assert q.get("type") in {"numerical", "cloze", "essay"}
        assert NAME.match(q.findtext("name/text", ""))
        assert q.find("questiontext[@format='html']") is not None
        assert q.findtext("questiontext/text", "").strip()
        assert q.find("generalfeedback[@format='html']") is not None
        assert q.findtext("generalfeedback/text", "").strip()
        assert q.findtext("defaultgrade") and q.findtext("penalty") is not None
        assert q.findtext("hidden") == "0"
        if q.get("type") == "numerical":
            (answer,) = q.findall("answer")
            assert answer.get("fraction") == "100"
            assert answer.findtext("text") and answer.findtext("tolerance")
        if q.get("type") == "essay":
            assert q.findtext("graderinfo/text", "").strip()
    kinds = {q.get("type") for q in others}
    assert kinds == {"numerical", "cloze", "essay"}


def moodle_parts(q: ET.Element) -> list[tuple[str, str]]:
    """Each graded part of a Moodle question: (type, answer text)."""
    if q.get("type") == "numerical":
        answer = q.find("answer")
        assert answer is not None
        return [("NUMERICAL", f"={answer.findtext('text')}:{answer.findtext('tolerance')}")]
    if q.get("type") == "cloze":
        return CLOZE_PART.findall(q.findtext("questiontext/text", ""))
    return []


def test_moodle_answers_match_the_key(moodle: bytes, key: dict[str, Any]) -> None:
    checked = 0
    for q in ET.fromstring(moodle).findall("question"):
        if q.get("type") == "category":
            continue
        match = NAME.match(q.findtext("name/text", ""))
        assert match is not None
        assert int(match.group(3)) == key["seed"]
        e = exercise(key, int(match.group(2)), match.group(4))
        want = expected_parts(e)
        got = moodle_parts(q)
        if want is None:
            assert q.get("type") == "essay" and not got
            continue
        assert len(got) == len(want), q.findtext("name/text")
        for (kind, text), expected in zip(got, want, strict=True):
            if isinstance(expected, str):
                assert kind == "MULTICHOICE"
                right = [c[1:] for c in text.split("~") if c.startswith("=")]
                assert right == [expected]
            else:
                number, tolerance = text.lstrip("=").split(":")
                assert kind == "NUMERICAL"
                assert close(float(number), expected, float(tolerance))
            checked += 1
    assert checked > 40


def test_moodle_escapes_user_text(moodle: bytes) -> None:
    assert b"<script" not in moodle and b"]]>" not in moodle and b"</text><" not in moodle
    root = ET.fromstring(moodle)
    paths = [c.findtext("category/text", "") for c in root.iter("question") if c.find("category")]
    # the title comes back whole, its "/" doubled as Moodle's category paths need
    assert all(p.startswith("$course$/top/" + HOSTILE.replace("/", "//") + "/f") for p in paths)


def test_category_path_splits_as_moodle_splits_it() -> None:
    from symgd.handout.moodle import category_path

    names = ["a/b", "/lead", "trail/", "f1: x/2"]
    path = category_path(names)
    # Moodle's own reading: split on single slashes, then "//" -> "/", then trim
    parts = [p.replace("//", "/").strip() for p in re.split(r"(?<!/)/(?!/)", path)]
    assert parts == ["$course$", "top", *names]


def test_cloze_text_outside_the_parts_cannot_open_a_part() -> None:
    h = build_handout(["x**2 + 3*y**2"], seed=2, workers=1)
    quiz = handout_questions(h)
    for q in ET.fromstring(moodle_xml(quiz)).findall("question[@type='cloze']"):
        text = q.findtext("questiontext/text", "")
        # every "{digits:" left in the text is one of the parts symgd wrote
        assert len(re.findall(r"\{[0-9]*:", text)) == len(CLOZE_PART.findall(text))


# -- QTI --------------------------------------------------------------------------------------


def test_qti_manifest_lists_every_file_and_items_are_well_formed(
    qti: bytes, key: dict[str, Any]
) -> None:
    archive = zipfile.ZipFile(io.BytesIO(qti))
    names = set(archive.namelist())
    manifest = ET.fromstring(archive.read("imsmanifest.xml"))
    assert manifest.tag == f"{MANIFEST}manifest"
    listed = {f.get("href") for f in manifest.iter(f"{MANIFEST}file")}
    assert listed == names - {"imsmanifest.xml"}
    assert len(listed) == key["variant_count"]
    for resource in manifest.iter(f"{MANIFEST}resource"):
        assert resource.get("type") == "imsqti_xmlv1p2"
    for name in listed:
        root = ET.fromstring(archive.read(str(name)))
        assert root.tag == f"{QTI}questestinterop"
        (assessment,) = root.findall(f"{QTI}assessment")
        assert HOSTILE in assessment.get("title", "")
        for item in assessment.iter(f"{QTI}item"):
            kind = item_type(item)
            assert kind in {"numerical_question", "multiple_choice_question", "essay_question"}
            assert item.find(f"{QTI}presentation/{QTI}material/{QTI}mattext") is not None
            assert item.find(f"{QTI}resprocessing/{QTI}outcomes/{QTI}decvar") is not None


def item_type(item: ET.Element) -> str:
    for field in item.iter(f"{QTI}qtimetadatafield"):
        if field.findtext(f"{QTI}fieldlabel") == "question_type":
            return field.findtext(f"{QTI}fieldentry", "")
    raise AssertionError("no question_type")


def graded(item: ET.Element) -> float | str | None:
    """The answer an item's response processing gives SCORE 100 for (a number, the text of a
    choice, or None for an essay), checked to be the only scoring condition."""
    scoring = [c for c in item.iter(f"{QTI}respcondition") if c.findtext(f"{QTI}setvar") == "100"]
    kind = item_type(item)
    if kind == "essay_question":
        assert not scoring
        return None
    (condition,) = scoring
    assert condition.get("continue") == "No"
    if kind == "multiple_choice_question":
        ident = condition.findtext(f"{QTI}conditionvar/{QTI}varequal")
        labels = item.iter(f"{QTI}response_label")
        (choice,) = [lab for lab in labels if lab.get("ident") == ident]
        return choice.findtext(f"{QTI}material/{QTI}mattext")
    exact = float(condition.findtext(f".//{QTI}varequal", "nan"))
    low = float(condition.findtext(f".//{QTI}vargte", "nan"))
    high = float(condition.findtext(f".//{QTI}varlte", "nan"))
    assert low <= exact <= high
    assert math.isclose(exact - low, high - exact, rel_tol=1e-6, abs_tol=1e-12)
    assert close(exact, exact, (high - low) / 2 * (1 + 1e-9))
    return exact


def test_qti_answers_match_the_key(qti: bytes, key: dict[str, Any]) -> None:
    archive = zipfile.ZipFile(io.BytesIO(qti))
    by_exercise: dict[tuple[int, str], list[float | str | None]] = {}
    for name in archive.namelist():
        if name == "imsmanifest.xml":
            continue
        for item in ET.fromstring(archive.read(name)).iter(f"{QTI}item"):
            match = NAME.match(item.get("title", ""))
            assert match is not None and int(match.group(3)) == key["seed"]
            by_exercise.setdefault((int(match.group(2)), match.group(4)), []).append(graded(item))
    count = sum(len(v["exercises"]) for v in key["variants"])
    assert len(by_exercise) == count
    for (variant, number), got in by_exercise.items():
        want = expected_parts(exercise(key, variant, number))
        if want is None:
            assert got == [None]
            continue
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            if isinstance(w, str):
                assert g == w
            else:
                assert isinstance(g, float) and abs(g - w) <= 1e-9 * max(1.0, abs(w))


def test_qti_is_the_same_bytes_for_the_same_handout(handout: Handout, qti: bytes) -> None:
    assert qti_package(handout_questions(handout)) == qti
    assert b"<script" not in qti


# -- the key's seeds and the committed samples ------------------------------------------------


def test_every_variant_of_the_key_names_its_seed(key: dict[str, Any]) -> None:
    assert [v["seed"] for v in key["variants"]] == [11, 11]


def sample_files() -> dict[str, bytes]:
    h = build_handout(SAMPLE_FUNCTIONS, seed=SAMPLE_SEED, title=SAMPLE_TITLE, workers=1)
    quiz = handout_questions(h)
    return {"moodle-sample.xml": moodle_xml(quiz), "qti-sample.zip": qti_package(quiz)}


def canonical(data: bytes) -> str:
    """The XML's content without comments (the Moodle file names symgd's version in one)."""
    return ET.canonicalize(data.decode("utf-8"), with_comments=False, strip_text=True)


def zip_members(data: bytes) -> dict[str, str]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: canonical(archive.read(name)) for name in archive.namelist()}


def test_output_still_matches_the_committed_samples() -> None:
    made = sample_files()
    assert canonical(made["moodle-sample.xml"]) == canonical(
        (DATA / "moodle-sample.xml").read_bytes()
    )
    assert zip_members(made["qti-sample.zip"]) == zip_members(
        (DATA / "qti-sample.zip").read_bytes()
    )


# -- the command line -------------------------------------------------------------------------


def test_cli_writes_each_format_with_its_key(tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt, name in (("moodle", "week.xml"), ("qti", "week.zip")):
        out = tmp_path / name
        result = runner.invoke(
            cli, ["handout", "w**2", "--format", fmt, "-o", str(out), "--seed", "4", "--json"]
        )
        assert result.exit_code == 0, result.output
        key = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
        assert key["variants"][0]["seed"] == 4
        if fmt == "moodle":
            assert ET.fromstring(out.read_bytes()).tag == "quiz"
        else:
            assert "imsmanifest.xml" in zipfile.ZipFile(out).namelist()


def test_cli_default_names_follow_the_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["handout", "w**2", "--format", "qti"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "handout.zip").is_file() and not (tmp_path / "handout.pdf").exists()


@pytest.mark.parametrize(
    ("fmt", "name", "said"),
    [("moodle", "week.pdf", ".xml"), ("qti", "week.xml", ".zip"), ("moodle", "week", ".xml")],
)
def test_cli_refuses_a_name_that_does_not_fit_the_format(
    tmp_path: Path, fmt: str, name: str, said: str
) -> None:
    result = CliRunner().invoke(
        cli, ["handout", "w**2", "--format", fmt, "-o", str(tmp_path / name)]
    )
    assert result.exit_code == 2
    assert said in result.output and "Traceback" not in result.output
    assert not (tmp_path / name).exists()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_cli_export_keeps_the_symlink_rules(tmp_path: Path) -> None:
    target = tmp_path / "real.xml"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.xml"
    link.symlink_to(target)
    args = ["handout", "w**2", "--format", "moodle", "-o", str(link)]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "symbolic link" in refused.output
    assert target.read_text(encoding="utf-8") == "old"
    followed = CliRunner().invoke(cli, [*args, "--follow-symlinks"])
    assert followed.exit_code == 0, followed.output
    assert link.is_symlink() and ET.fromstring(target.read_bytes()).tag == "quiz"


def record() -> None:
    """Write the samples in tests/data again."""
    DATA.mkdir(exist_ok=True)
    for name, data in sample_files().items():
        (DATA / name).write_bytes(data)
        print(f"wrote {DATA / name}")


if __name__ == "__main__":
    record()
