"""``symgd handout`` end to end: the PDF's text, its pages, the JSON key, seeds, errors."""

from __future__ import annotations

import builtins
import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from symgd.cli import cli

FUNCTIONS = ["x**2 + 2*x*y", "w**2 - 3*w"]


def run(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def words(text: str) -> str:
    """Text with all runs of whitespace made single spaces (PDF text wraps lines)."""
    return re.sub(r"\s+", " ", text).strip()


@functools.cache
def pdf_pages(path: Path) -> list[str]:
    """The text of each page (cached: extracting text is the slow part of these tests)."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(str(path)).pages]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small handout (two variants, JSON key), made twice with the same seed and once
    with another."""
    folder = tmp_path_factory.mktemp("handout")
    paths = {}
    for name, seed in (("a", "4"), ("b", "4"), ("c", "5")):
        out = folder / name / "handout.pdf"
        result = run(
            [
                *["handout", *FUNCTIONS],
                "-o",
                str(out),
                "--variants",
                "2",
                "--seed",
                seed,
                "--json",
                "--title",
                "Week 3",
            ]
        )
        assert result.exit_code == 0, result.output
        paths[name] = out
    return paths


@pytest.mark.pdf
def test_pdf_holds_every_exercise_statement(made: dict[str, Path]) -> None:
    key = json.loads(made["a"].with_suffix(".json").read_text(encoding="utf-8"))
    text = words(" ".join(pdf_pages(made["a"])))
    assert key["title"] == "Week 3" and "Week 3" in text
    for variant in key["variants"]:
        for exercise in variant["exercises"]:
            assert words(exercise["question"]) in text
    assert "Answer key · variant 2" in text
    assert "Solution" in text or "SOLUTION" in text


@pytest.mark.pdf
def test_pages_are_numbered_and_headed(made: dict[str, Path]) -> None:
    pages = pdf_pages(made["a"])
    total = len(pages)
    assert total >= 4
    for number, page in enumerate(pages, start=1):
        assert f"{number} / {total}" in page
        # the running header: the sheet's title (or the key's) and the function
        assert "Week 3 · variant" in page or "Answer key · variant" in page
        assert "f(x, y) = x² + 2x·y" in page or "f(w) = w² − 3w" in page


@pytest.mark.pdf
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler's pdftoppm")
def test_rendered_pages_are_not_blank(made: dict[str, Path], tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-gray", "-r", "30", str(made["a"]), str(tmp_path / "p")], check=True
    )
    images = sorted(tmp_path.glob("p-*.pgm"))
    assert len(images) == len(pdf_pages(made["a"]))
    for image in images:
        pixels = read_pgm(image.read_bytes())
        height = pixels.shape[0]
        body = pixels[int(0.12 * height) : int(0.9 * height)]  # without header and page number
        inked = int((body < 250).sum())
        # a page with nothing but its running header and number has no ink here at all;
        # one line of text leaves a few hundred pixels
        assert inked > 60, f"{image.name} has nothing but its header"


def read_pgm(data: bytes) -> np.ndarray:
    """A binary (P5) PGM as a 2-D array."""
    fields = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert fields is not None
    width, height = int(fields.group(1)), int(fields.group(2))
    return np.frombuffer(
        data[fields.end() : fields.end() + width * height], dtype=np.uint8
    ).reshape(height, width)


@pytest.mark.pdf
def test_same_seed_same_handout_other_seed_other_numbers(made: dict[str, Path]) -> None:
    a, b, c = (made[k].with_suffix(".json").read_bytes() for k in "abc")
    assert a == b
    assert pdf_pages(made["a"]) == pdf_pages(made["b"])
    assert a != c
    key_a, key_c = json.loads(a), json.loads(c)

    def givens(key: dict[str, Any]) -> list[Any]:
        return [e["given"] for v in key["variants"] for e in v["exercises"] if e["given"]]

    assert givens(key_a) != givens(key_c)


@pytest.mark.pdf
def test_from_file_letter_paper_no_answers(tmp_path: Path) -> None:
    from pypdf import PdfReader

    listing = tmp_path / "functions.txt"
    listing.write_text("# this week\n\nw**2   # a parabola\n", encoding="utf-8")
    out = tmp_path / "sheet.pdf"
    result = run(
        [
            "handout",
            "--from",
            str(listing),
            "-o",
            str(out),
            "--answers",
            "none",
            "--paper",
            "letter",
        ]
    )
    assert result.exit_code == 0, result.output
    reader = PdfReader(str(out))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    text = words(" ".join(page.extract_text() for page in reader.pages))
    assert "Find the derivative f′(w)" in text or "Find the derivative f ′(w)" in text
    assert "Answer key" not in text and "Solution" not in text
    assert not out.with_suffix(".json").exists()


def test_bad_line_in_file_names_the_line(tmp_path: Path) -> None:
    listing = tmp_path / "functions.txt"
    listing.write_text("x**2\n# fine\nlog(x\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["handout", "--from", str(listing)])
    assert result.exit_code == 2
    assert "functions.txt line 3" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["handout"],
        ["handout", "x**2", "--variants", "0"],
        ["handout", "x +* y"],
        ["handout", "x**2", "--answers", "sometimes"],
        ["handout", "--from", "/nonexistent.txt"],
    ],
)
def test_bad_input_exits_2(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Error" in result.output
    assert "Traceback" not in result.output


def test_missing_weasyprint_exits_1_naming_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    out = tmp_path / "h.pdf"
    result = CliRunner().invoke(cli, ["handout", "x**2", "-o", str(out)])
    assert result.exit_code == 1
    assert "pip install weasyprint" in result.output
    assert "libpango-1.0-0 libpangoft2-1.0-0" in result.output
    assert not out.exists()


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(cli, ["handout", "--help"])
    assert result.exit_code == 0
    for option in ("--from", "--answers", "--variants", "--seed", "--json", "--paper"):
        assert option in result.output
