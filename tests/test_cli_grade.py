"""``symgd grade KEY.json ANSWERS.csv``: the table, ``-o report.csv``, ``--json``, and exit code 2
only when nothing can be graded (with a message that names the file, row or column)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner, Result

from symgd.cli.grade import grade

ROOT = Path(__file__).resolve().parent
KEY = ROOT / "golden" / "handout-key.json"
SAMPLE = ROOT / "data" / "answers-sample.csv"


def run(*args: str) -> Result:
    return CliRunner().invoke(grade, list(args))


def test_the_sample_is_graded_as_a_table() -> None:
    result = run(str(KEY), str(SAMPLE))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "student",
        "variant",
        "score",
        "max",
        "short",
        "of",
        "full",
        "marks",
    ]
    ana = next(line for line in lines if line.startswith("ana"))
    assert ana.split() == ["ana", "1", "9", "9", "—"]
    bo = next(line for line in lines if line.startswith("bo"))
    assert bo.split()[:4] == ["bo", "2", "5.25", "9"]
    # the row with an unknown variant is reported on stderr, and the rest graded
    assert "row 4 (cy), column variant: variant '7' is not in the key" in result.stderr
    assert not any(line.startswith("cy") for line in lines)


def test_json_output(tmp_path: Path) -> None:
    result = run(str(KEY), str(SAMPLE), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["id"] for s in data["students"]] == ["ana", "bo", "dee"]
    bo = data["students"][1]
    assert (bo["variant"], bo["score"], bo["max"]) == (2, 5.25, 9.0)
    assert bo["exercises"]["1.1"] == {
        "points": 0.5,
        "max": 1.0,
        "reason": "gradient component 2 is 2y, expected 2*x",
    }
    assert bo["exercises"]["1.4"]["reason"] == "(0, 0) is a saddle, not a minimum"
    dee = data["students"][2]
    assert dee["exercises"]["1.2"] == {"points": 0.0, "max": 1.0, "reason": "blank"}
    assert dee["exercises"]["1.3"]["reason"].startswith("could not read the answer")
    assert data["problems"][0]["row"] == 4 and not data["problems"][0]["graded"]


def test_report_csv(tmp_path: Path) -> None:
    report = tmp_path / "report.csv"
    result = run(str(KEY), str(SAMPLE), "-o", str(report))
    assert result.exit_code == 0, result.output
    assert f"Wrote {report} (3 students)" in result.stdout
    rows = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))))
    assert list(rows[0]) == [
        "student", "variant", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "6.1", "6.4", "6.6",
        "total", "max", "reasons",
    ]  # fmt: skip
    bo = rows[1]
    assert (bo["student"], bo["1.1"], bo["1.3"], bo["total"], bo["max"]) == (
        "bo", "0.5", "0.75", "5.25", "9",
    )  # fmt: skip
    assert "1.1: gradient component 2 is 2y, expected 2*x" in bo["reasons"]
    assert rows[0]["reasons"] == ""
    assert not list(tmp_path.glob(".symgd-*"))  # no temporary file left


def test_a_real_handout_key_and_all_right_answers(tmp_path: Path) -> None:
    from symgd.handout import build_handout, handout_to_json

    handout = build_handout(["w**2 - 3*w"], variants=2, seed=5, workers=1)
    key = handout_to_json(handout)
    key_path = tmp_path / "week.json"
    key_path.write_text(json.dumps(key), encoding="utf-8")
    lines = ["student,variant,1.1,1.3,1.4,1.6"]
    for variant in key["variants"]:
        answers = {e["id"]: e["answer"] for e in variant["exercises"]}
        (point,) = answers["1.4"]["critical_points"]
        lines.append(
            f"s{variant['variant']},{variant['variant']},{answers['1.1']['gradient'][0]},"
            f"{answers['1.3']['hessian'][0][0]},({point['point']['w']}) {point['kind']},"
            + ("yes" if answers["1.6"]["converges"] else "no")
        )
    answers_path = tmp_path / "answers.csv"
    answers_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = json.loads(run(str(key_path), str(answers_path), "--json").stdout)
    assert [(s["score"], s["max"]) for s in data["students"]] == [(4.0, 4.0), (4.0, 4.0)]


def test_unreadable_inputs_exit_2_naming_the_file(tmp_path: Path) -> None:
    result = run(str(tmp_path / "missing.json"), str(SAMPLE))
    assert result.exit_code == 2
    assert "missing.json does not exist" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = run(str(bad), str(SAMPLE))
    assert result.exit_code == 2 and f"answer key {bad} is not JSON" in result.stderr
    no_student = tmp_path / "a.csv"
    no_student.write_text("name,variant,1.1\nana,1,2x\n", encoding="utf-8")
    result = run(str(KEY), str(no_student))
    assert result.exit_code == 2
    assert f"{no_student} row 1 (the header) has no 'student' column" in result.stderr
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"student,variant,1.1\nana,1,\xff\xfe\n")
    result = run(str(KEY), str(binary))
    assert result.exit_code == 2 and "is not UTF-8 text (row 2)" in result.stderr
    assert "Traceback" not in result.output


def test_nothing_gradable_exits_2_and_says_why(tmp_path: Path) -> None:
    answers = tmp_path / "a.csv"
    answers.write_text("student,variant,1.1\nana,9,2x\nbo,,2x\n", encoding="utf-8")
    result = run(str(KEY), str(answers))
    assert result.exit_code == 2
    assert "row 2 (ana), column variant: variant '9' is not in the key" in result.stderr
    assert "row 3 (bo), column variant: no variant given; not graded" in result.stderr
    assert f"nothing in {answers} could be graded" in result.stderr


def test_an_output_through_a_link_is_refused_before_grading(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.csv"
    target.write_text("keep\n", encoding="utf-8")
    link = tmp_path / "report.csv"
    link.symlink_to(target)
    result = run(str(KEY), str(SAMPLE), "-o", str(link))
    assert result.exit_code == 2
    assert "is a symbolic link" in result.stderr
    assert target.read_text(encoding="utf-8") == "keep\n"
    result = run(str(KEY), str(SAMPLE), "-o", str(link), "--follow-symlinks")
    assert result.exit_code == 0 and target.read_text(encoding="utf-8").startswith("student,")
