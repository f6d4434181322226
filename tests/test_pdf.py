"""HTML → PDF: inline-only fetching, paper sizes, parts joined and numbered, missing WeasyPrint."""

from __future__ import annotations

import base64
import builtins
import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from symgd.base.errors import InputError, MissingDependencyError
from symgd.render import pdf


def tiny_png(rgb: tuple[int, int, int] = (200, 30, 30), size: int = 8) -> bytes:
    """A solid-colour PNG, written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf_text(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def image_count(data: bytes) -> int:
    from pypdf import PdfReader

    return sum(len(page.images) for page in PdfReader(io.BytesIO(data)).pages)


# -- data: URLs and the fetcher (no WeasyPrint needed) --------------------------------------


def test_decode_data_url_base64_and_percent_forms() -> None:
    png = tiny_png()
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    assert pdf.decode_data_url(url) == (png, "image/png", None)
    assert pdf.decode_data_url("data:text/css;charset=utf-8,p%20%7B%7D") == (
        b"p {}",
        "text/css",
        "utf-8",
    )
    assert pdf.decode_data_url("data:,hello") == (b"hello", "text/plain", None)
    with pytest.raises(pdf.RefusedURL):
        pdf.decode_data_url("data:image/png;base64")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.com/a.png",
        "https://example.com/x.css",
        "ftp://example.com/f",
        "relative/path.png",
        "FILE:///etc/hostname",
    ],
)
def test_fetcher_refuses_everything_but_data_urls(url: str) -> None:
    with pytest.raises(pdf.RefusedURL):
        pdf.refuse_or_decode(url)


@pytest.mark.pdf
def test_weasyprint_fetcher_serves_data_and_refuses_files() -> None:
    weasyprint = pdf.load_weasyprint()
    fetcher = pdf.inline_only_fetcher(weasyprint)
    fetch = getattr(fetcher, "fetch", fetcher)
    response = fetch("data:text/plain,abc")
    body = response.read() if hasattr(response, "read") else response["string"]
    assert body == b"abc"
    with pytest.raises(pdf.RefusedURL):
        fetch("file:///etc/passwd")


# -- rendering --------------------------------------------------------------------------------


@pytest.mark.pdf
def test_inline_image_is_drawn_and_file_image_is_not(tmp_path: Path) -> None:
    local = tmp_path / "secret.png"
    local.write_bytes(tiny_png((10, 200, 10)))
    inline = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    html = (
        f'<html><body><p>Inline only</p><img src="{inline}">'
        f'<img src="{local.as_uri()}"><img src="http://127.0.0.1:9/x.png"></body></html>'
    )
    data = pdf.render_pdf(html)
    assert data.startswith(b"%PDF")
    assert image_count(data) == 1
    assert "Inline only" in pdf_text(data)[0]


@pytest.mark.pdf
@pytest.mark.parametrize(
    ("paper", "size"), [("A4", (595.3, 841.9)), ("letter", (612, 792)), ("a4", (595.3, 841.9))]
)
def test_paper_size(paper: str, size: tuple[float, float]) -> None:
    from pypdf import PdfReader

    css = "@media print { @page { size: A4; margin: 10mm; } }"
    data = pdf.render_pdf(
        f"<html><head><style>{css}</style></head><body>x</body></html>", paper=paper
    )
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert (round(float(box.width), 1), round(float(box.height), 1)) == pytest.approx(size, abs=0.1)


def test_unknown_paper_is_an_input_error() -> None:
    with pytest.raises(InputError, match="a4, letter"):
        pdf.paper_size("A3")


@pytest.mark.pdf
def test_parts_are_joined_and_numbered_across_the_whole_document() -> None:
    page_css = (
        "@media print { @page { margin: 15mm; @bottom-center { "
        'content: "p" counter(page) " of " counter(pages); } } }'
    )

    def part(words: list[str]) -> Any:
        pages = "".join(f'<p style="break-after: page">{w}</p>' for w in words)
        return lambda: f"<html><head><style>{page_css}</style></head><body>{pages}</body></html>"

    data = pdf.render_pdf_parts([part(["alpha", "beta"]), part(["gamma"])], page_css=page_css)
    texts = pdf_text(data)
    assert len(texts) == 3
    for number, (word, text) in enumerate(
        zip(["alpha", "beta", "gamma"], texts, strict=True), start=1
    ):
        assert word in text
        assert f"p{number} of 3" in text
        assert "of 1" not in text and "of 2" not in text  # each part's own numbers are gone


# -- a missing WeasyPrint says what to install ------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [ImportError("No module named 'weasyprint'"), OSError("cannot load library 'libpango-1.0-0'")],
)
def test_missing_weasyprint_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependencyError) as info:
        pdf.render_pdf("<p>x</p>")
    message = str(info.value)
    assert "pip install weasyprint" in message
    assert "libpango-1.0-0" in message and "libpangoft2-1.0-0" in message
    assert str(error).split("'")[1] in message


# -- running jobs side by side ----------------------------------------------------------------


def test_run_parallel_keeps_order_and_uses_another_process() -> None:
    jobs = [lambda i=i: (i * i, os.getpid()) for i in range(5)]
    results = pdf.run_parallel(jobs, workers=2)
    assert [r[0] for r in results] == [0, 1, 4, 9, 16]
    assert len({r[1] for r in results}) == 2
    assert results[0][1] == os.getpid()


def test_run_parallel_raises_a_childs_error() -> None:
    def boom() -> int:
        raise InputError("bad input in a worker")

    with pytest.raises(InputError, match="bad input in a worker"):
        pdf.run_parallel([lambda: 1, boom], workers=2)


# -- a worker that imports WeasyPrint ahead of time -------------------------------------------

# the worker forks, which symgd only does from a single-threaded process: run it in a fresh one
WORKER_SCRIPT = """
import sys, time
from symgd.render import pdf
from symgd.base.errors import InputError
css = '@media print { @page { @bottom-center { content: counter(page) " / " counter(pages); } } }'
parts = [f"<html><head><style>{css}</style></head><body><p>{w}</p></body></html>"
         for w in ("first part", "second part")]
worker = pdf.PrintWorker()
assert worker.process is not None, "no worker process"
pid = worker.process.pid
data = worker.typeset(parts, page_css=css)
assert worker.process is None
open(sys.argv[1], "wb").write(data)
failing = pdf.PrintWorker()
try:
    failing.typeset(["<p>x</p>"], paper="a5")
except InputError as exc:
    print("raised:", exc)
idle = pdf.PrintWorker()
process = idle.process
t0 = time.perf_counter()
idle.close()
print("idle closed alive=%s in %.2f s" % (process.is_alive(), time.perf_counter() - t0))
print("worker pid differs:", pid != __import__("os").getpid())
"""


def test_print_worker_typesets_in_another_process_and_reports_errors(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "worker.pdf"
    env = {k: v for k, v in os.environ.items() if k != "SYMGD_SERIAL"}  # helpers allowed
    result = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    texts = pdf_text(out.read_bytes())
    assert len(texts) == 2
    assert "first part" in texts[0] and "1 / 2" in texts[0]
    assert "second part" in texts[1] and "2 / 2" in texts[1]
    assert "raised: unknown paper size" in result.stdout  # the worker's error, raised here
    assert "idle closed alive=False" in result.stdout  # a worker without a job is not waited on
    assert "worker pid differs: True" in result.stdout


def test_figures_go_to_print_as_images_of_the_same_svg() -> None:
    import xml.etree.ElementTree as ET

    figure = (
        '<figure class="plot narrow" id="fig-a">\n<svg width="432pt" height="194.4pt" '
        'viewBox="0 0 432 194.4" version="1.1"><defs><clipPath id="c"><rect width="9" '
        'height="9"/></clipPath></defs><image xlink:href="data:image/png;base64,'
        + base64.b64encode(tiny_png()).decode()
        + '"/><path d="M 0 0 L 9 9" '
        'clip-path="url(#c)"/></svg><figcaption>A caption</figcaption></figure>'
    )
    printed = pdf.figures_as_images(f"<p>before</p>{figure}<svg class='other'></svg>")
    assert printed.count("<img ") == 1 and "<svg class='other'></svg>" in printed
    assert '<figure class="plot narrow" id="fig-a">' in printed
    assert "<figcaption>A caption</figcaption>" in printed
    source = printed.split('src="data:image/svg+xml;base64,')[1].split('"')[0]
    tree = ET.fromstring(base64.b64decode(source))  # a standalone, namespaced SVG document
    assert tree.get("width") == "432pt" and tree.get("viewBox") == "0 0 432 194.4"
    ns = "{http://www.w3.org/2000/svg}"
    assert [child.tag for child in tree] == [f"{ns}defs", f"{ns}image", f"{ns}path"]
    # and WeasyPrint draws it: the raster layer inside the figure reaches the PDF
    data = pdf.render_pdf(f"<html><body>{figure}</body></html>")
    assert image_count(data) == 1
