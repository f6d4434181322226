"""``symgd explain --pdf``: the lesson printed, read back as text and as pixels."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from symgd.cli import cli

pypdf = pytest.importorskip("pypdf")

pytestmark = pytest.mark.pdf


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a fresh process, as a user runs it: the WeasyPrint worker and the figure worker fork
    folder = tmp_path_factory.mktemp("lesson")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "symgd",
            "explain",
            "x**2 + 3*y**2",
            "--start",
            "x=2,y=1",
            "--lr",
            "0.1",
            "--pdf",
            "--paper",
            "letter",
            "-o",
            str(folder),
        ],
        env={k: v for k, v in os.environ.items() if k != "SYMGD_SERIAL"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert str(folder / "report.pdf") in result.stdout
    return folder / "report.pdf"


def test_pdf_in_this_process_matches_the_command(printed: Path, tmp_path: Path) -> None:
    # the same lesson without the prestarted worker (library use, or forking not allowed)
    result = CliRunner().invoke(
        cli,
        [
            "explain",
            "x**2 + 3*y**2",
            "--start",
            "x=2,y=1",
            "--lr",
            "0.1",
            "--pdf",
            "--paper",
            "letter",
            "-o",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    here = [p.extract_text() for p in pypdf.PdfReader(str(tmp_path / "report.pdf")).pages]
    there = [p.extract_text() for p in pypdf.PdfReader(str(printed)).pages]
    assert here == there


def test_pdf_holds_the_lesson_with_page_numbers_and_running_header(printed: Path) -> None:
    reader = pypdf.PdfReader(str(printed))
    pages = [page.extract_text() for page in reader.pages]
    text = "\n".join(pages)
    assert len(pages) >= 3
    for heading in [
        "The function",
        "Partial derivatives",
        "The total differential",
        "The update rule",
    ]:
        assert heading in text
    total = len(pages)
    for number, page in enumerate(pages, start=1):
        assert f"{number} / {total}" in page
        assert "f = x**2 + 3*y**2" in page
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (612, 792)  # US letter in points


def test_no_partial_file_is_left_behind(printed: Path) -> None:
    assert sorted(p.name for p in printed.parent.iterdir()) == ["report.html", "report.pdf"]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) absent")
def test_pages_are_drawn(printed: Path, tmp_path: Path) -> None:
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "30",
            "-gray",
            "-f",
            "1",
            "-l",
            "2",
            str(printed),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    for image in sorted(tmp_path.glob("page*.pgm")):
        pixels = _read_pgm(image)
        assert (pixels < 200).mean() > 0.005  # ink on the page, not a blank sheet


def _read_pgm(path: Path) -> np.ndarray:
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    return np.frombuffer(parts[4][-width * height :], dtype=np.uint8).reshape(height, width)
