"""HTML → PDF with WeasyPrint, loading nothing from outside the document.

The PDF is the same HTML as the report, printed with the print rules in ``print.css``; only the
paper size is chosen here. WeasyPrint is imported inside :func:`render_pdf` (it is slow to
import and needs the Pango libraries), and its URL fetcher is replaced by one that serves the
document's own ``data:`` URLs and refuses everything else: no ``file:`` reads, no network.
No ``base_url`` is passed (with one, WeasyPrint drops the glyphs of inline SVG formulas).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import io
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from symgd.base.errors import InputError, MissingDependencyError
from symgd.base.limits import fork_is_safe, start_helper, take_alive, wait_readable

#: paper names accepted by :func:`render_pdf`, as CSS ``@page`` sizes
PAPER_SIZES = {"a4": "A4", "letter": "letter"}

INSTALL_HINT = (
    "PDF output needs WeasyPrint and the Pango text libraries it uses. Install them with "
    "`pip install weasyprint` and, on Debian or Ubuntu, "
    "`apt install libpango-1.0-0 libpangoft2-1.0-0`"
)


T = TypeVar("T")

#: stylesheet that leaves the page-number box empty (parts get their numbers afterwards)
_NO_PAGE_NUMBERS = "@page { @bottom-center { content: none !important; } }"


class RefusedURL(ValueError):
    """A resource outside the document was requested; symgd's PDFs load none."""


def render_pdf(html: str, *, paper: str = "A4") -> bytes:
    """Print ``html`` to PDF bytes on ``paper`` (``"A4"`` or ``"letter"``, any case).

    Raises :class:`~symgd.base.errors.MissingDependencyError` naming what to install when
    WeasyPrint or its system libraries cannot be loaded.
    """
    return _write(load_weasyprint(), html, paper_size(paper), numbered=True)


def _write(weasyprint: ModuleType, html: str, size: str, *, numbered: bool) -> bytes:
    fetcher = inline_only_fetcher(weasyprint)
    # stylesheets given to write_pdf are user stylesheets: only !important beats the page's own
    rules = f"@page {{ size: {size} !important; }}" + ("" if numbered else _NO_PAGE_NUMBERS)
    from symgd.render.mathsvg import as_images

    with _quiet():
        page = weasyprint.CSS(string=rules, url_fetcher=fetcher)
        source = figures_as_images(as_images(with_hangul_font(html)))
        document = weasyprint.HTML(string=source, url_fetcher=fetcher)
        pdf: bytes = document.write_pdf(stylesheets=[page])
    return pdf


#: the URL of symgd's Hangul font in a page's ``@font-face`` (group 2)
_HANGUL_FACE_URL = re.compile(r"(@font-face\s*\{[^}]*?Symgd Hangul[^}]*?url\()([^)]*)(\))", re.S)


def with_hangul_font(page: str) -> str:
    """``page`` with symgd's Hangul font declared for every Hangul letter it holds (none: the
    page as it is).

    A page that declares the font gets it again, cut down to all of its letters, when the font
    it declares lacks some (a page's font is cut down to the letters of its text before its
    figures are filled in, and would draw a figure's other letters as ``.notdef`` boxes). A
    page that does not declare it (a Korean variable name on an English page) gets a
    declaration: WeasyPrint draws a letter that none of an element's fonts has with any font
    the document declares. Either way the Hangul is drawn, also on a machine without a Korean
    font."""
    from symgd.base.i18n import HANGUL_RANGES, hangul_font_data_url, hangul_unicode_range

    blocks = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in HANGUL_RANGES)
    letters = "".join(sorted(set(re.findall(f"[{blocks}]", page))))
    if not letters:
        return page
    declared = _HANGUL_FACE_URL.search(page)
    if declared is not None:
        if _font_has(declared.group(2), letters):
            return page
        return page[: declared.start(2)] + hangul_font_data_url(letters) + page[declared.end(2) :]
    face = (
        '<style>@font-face { font-family: "Symgd Hangul"; font-style: normal; '
        f'font-weight: normal; src: url({hangul_font_data_url(letters)}) format("truetype"); '
        f"unicode-range: {hangul_unicode_range()}; }}</style>"
    )
    for tag in (r"<head\b[^>]*>", r"<html\b[^>]*>", r"<!doctype[^>]*>"):
        opening = re.search(tag, page, re.I)
        if opening:
            return page[: opening.end()] + face + page[opening.end() :]
    return face + page


def _font_has(url: str, letters: str) -> bool:
    """Whether the font at the ``data:`` URL ``url`` has a glyph for each of ``letters``."""
    from fontTools.ttLib import TTFont

    try:
        data, _mime, _charset = decode_data_url(url.strip().strip("'\""))
        cmap = TTFont(io.BytesIO(data), lazy=True).getBestCmap() or {}
    except Exception:  # not a data: URL, or not a font: declare one that is
        return False
    return all(ord(letter) in cmap for letter in letters)


_FIGURE = re.compile(r'(<figure class="plot[^"]*"[^>]*>\s*)<svg\b([^>]*)>(.*?)</svg>', re.S)


def figures_as_images(page: str) -> str:
    """``page`` with each figure's inline SVG turned into an ``<img>`` of the same SVG.

    For print, as :func:`symgd.render.mathsvg.as_images` does for formulas: WeasyPrint parses the
    figure with an XML parser and does not style and lay out its hundreds of elements as part
    of the page. Print rules size ``figure.plot img`` exactly as ``figure.plot svg``.
    """

    def image(match: re.Match[str]) -> str:
        head, attributes, body = match.group(1), match.group(2), match.group(3)
        document = (
            '<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink"{attributes}>{body}</svg>'
        )
        source = "data:image/svg+xml;base64," + base64.b64encode(document.encode()).decode()
        return f'{head}<img alt="" src="{source}">'

    return _FIGURE.sub(image, page)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide WeasyPrint's warnings about screen-only CSS (media queries, scrolling) and
    refused URLs: the stylesheet serves the browser too, and refusing is intended."""
    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def parts_supported() -> bool:
    """True when :func:`render_pdf_parts` can run here (fork and pypdf are available)."""
    if sys.platform == "win32":  # pragma: no cover
        return False
    try:
        import pypdf  # noqa: F401
    except ImportError:  # pragma: no cover - pypdf is installed with the test extra
        return False
    return True


def render_pdf_parts(
    parts: Sequence[Callable[[], str]],
    *,
    paper: str = "A4",
    page_css: str = "",
    workers: int = 2,
) -> bytes:
    """Typeset a long document in parts, side by side, and join them into one PDF.

    Each part is a callable returning a complete HTML page; the parts are typeset in forked
    processes (``workers`` at a time), joined in order, and numbered ``page / pages`` at the
    bottom centre, drawn with ``page_css`` (the document's print rules) so that the numbers
    look as they do in a document typeset whole. Each part starts on a new page.
    """
    size = paper_size(paper)
    weasyprint = load_weasyprint()  # imported once here, inherited by the forked workers

    def typeset(part: Callable[[], str]) -> Callable[[], bytes]:
        return lambda: _write(weasyprint, part(), size, numbered=False)

    pdfs = run_parallel([typeset(part) for part in parts], workers=workers)
    return _join_and_number(weasyprint, pdfs, size, page_css)


def _join_and_number(
    weasyprint: ModuleType, pdfs: Sequence[bytes], size: str, page_css: str
) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(PdfReader(io.BytesIO(pdf)))
    count = len(writer.pages)
    blank_pages = '<div style="break-after: page"></div>' * (count - 1) + "<div></div>"
    numbers_html = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>{page_css}</style></head>'
        f"<body>{blank_pages}</body></html>"
    )
    numbers = PdfReader(io.BytesIO(_write(weasyprint, numbers_html, size, numbered=True)))
    for index, (page, overlay) in enumerate(zip(writer.pages, numbers.pages, strict=True)):
        _stamp(writer, page, overlay, f"/SymgdOverlay{index}")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def typeset(
    parts: Sequence[str], *, paper: str = "A4", page_css: str = "", workers: int = 2
) -> bytes:
    """One PDF from one or more complete HTML pages: a single page printed whole, several
    typeset side by side and joined (see :func:`render_pdf_parts`)."""
    if len(parts) == 1:
        return render_pdf(parts[0], paper=paper)
    return render_pdf_parts(
        [functools.partial(str, part) for part in parts],
        paper=paper,
        page_css=page_css,
        workers=workers,
    )


class PrintWorker:
    """A forked process that imports WeasyPrint right away and typesets a document later.

    Importing WeasyPrint takes about half a second; started before a lesson is built, the
    worker has it ready by the time the HTML is. :meth:`typeset` sends the pages over and
    waits for the PDF; errors (a missing WeasyPrint included) are raised again here. Where
    forking is unsafe the work happens in this process instead.
    """

    def __init__(self) -> None:
        self.process: Any = None
        self.connection: Any = None
        self.answered = False
        if not fork_is_safe():
            return
        import multiprocessing as mp

        try:
            context = mp.get_context("fork")
            self.connection, theirs = context.Pipe()
            self.process = start_helper(
                context, _print_child, (theirs, self.connection), daemon=False
            )
            theirs.close()
        except (OSError, ValueError):  # pragma: no cover - no processes available
            self.process = self.connection = None

    def typeset(
        self, parts: Sequence[str], *, paper: str = "A4", page_css: str = "", workers: int = 2
    ) -> bytes:
        """The PDF of ``parts`` (see :func:`typeset`), made in the worker when there is one."""
        if self.process is None:
            return typeset(parts, paper=paper, page_css=page_css, workers=workers)
        try:
            self.connection.send((list(parts), paper, page_css, workers))
            ok, payload = self.connection.recv()
            self.answered = True
        except (EOFError, OSError):
            raise RuntimeError("the PDF worker process ended without a result") from None
        finally:
            self.close()
        if not ok:
            raise payload if isinstance(payload, BaseException) else RuntimeError(payload)
        return bytes(payload)

    def close(self) -> None:
        """Stop the worker (idempotent)."""
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            self.connection.close()
        # after its answer the worker is on its way out; without one (no job, or this process
        # stopped waiting) it may still be importing or typesetting: no need to wait for that
        self.process.join(timeout=5 if self.answered else 0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.process = None


def _print_child(connection: Any, parents_end: Any) -> None:
    parents_end.close()  # else the parent closing its end would never reach recv() here
    failure: BaseException | None = None
    try:
        load_weasyprint()
        import pypdf  # noqa: F401
    except BaseException as exc:  # reported when a job arrives
        failure = exc
    try:
        wait_readable(connection)
        parts, paper, page_css, workers = connection.recv()
    except (EOFError, OSError):
        return  # the parent needed no PDF after all
    try:
        if failure is not None:
            raise failure
        message: tuple[bool, Any] = (
            True,
            typeset(parts, paper=paper, page_css=page_css, workers=workers),
        )
    except BaseException as exc:
        message = (False, exc)
    try:
        connection.send(message)
    except OSError:
        pass  # nobody waits for the answer any more
    except Exception as exc:  # an exception that cannot be pickled
        with contextlib.suppress(OSError):
            connection.send((False, f"{type(message[1]).__name__}: {message[1]} ({exc})"[:2000]))
    connection.close()


_prestarted: list[PrintWorker] = []


def prestart_print_worker() -> None:
    """Fork a :class:`PrintWorker` now, for :func:`take_print_worker` to hand out later.

    A worker nobody takes is stopped when this process exits.
    """
    if not _prestarted:
        worker = PrintWorker()
        if worker.process is not None:
            if not _prestarted_atexit:
                import atexit

                atexit.register(_close_prestarted)  # before multiprocessing joins children
                _prestarted_atexit.append(True)
            _prestarted.append(worker)


_prestarted_atexit: list[bool] = []


def _close_prestarted() -> None:
    while _prestarted:
        _prestarted.pop().close()


def take_print_worker() -> PrintWorker | None:
    """The prestarted worker (once), or None."""
    return take_alive(_prestarted)


def _stamp(writer: Any, page: Any, overlay: Any, key: str) -> None:
    """Draw ``overlay`` (a page of another PDF) on top of ``page`` as the form XObject ``key``
    (unique per page: pages may share one resource dictionary).

    The page's own content stream stays as it is: merging would decode it, append the overlay
    and compress it all again, which for pages full of formula outlines costs more than the
    rest of joining.
    """
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    form = DecodedStreamObject()
    form.set_data(overlay.get_contents().get_data())
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(overlay.mediabox),
            NameObject("/Resources"): overlay["/Resources"].clone(writer),
        }
    )
    name = NameObject(key)
    resources = page["/Resources"]
    xobjects = resources.get("/XObject")
    if xobjects is None:
        xobjects = DictionaryObject()
        resources[NameObject("/XObject")] = xobjects
    xobjects.get_object()[name] = writer._add_object(form)
    before, after = DecodedStreamObject(), DecodedStreamObject()
    before.set_data(b"q\n")
    after.set_data(b"\nQ q " + name.encode() + b" Do Q\n")
    contents = page.raw_get("/Contents")
    streams = (
        list(contents.get_object())
        if isinstance(contents.get_object(), ArrayObject)
        else [contents]
    )
    page[NameObject("/Contents")] = ArrayObject(
        [writer._add_object(before), *streams, writer._add_object(after)]
    )


def run_parallel(jobs: Sequence[Callable[[], T]], *, workers: int = 2) -> list[T]:
    """Run zero-argument ``jobs`` on up to ``workers`` processes; results in job order.

    Jobs are dealt out in contiguous runs; the first run stays in this process and the others
    go to forked children, which send their results back pickled. An exception in a child is
    raised again here. Without ``fork`` (Windows) everything runs in this process.
    """
    lanes = max(1, min(workers, len(jobs)))
    if lanes == 1 or sys.platform == "win32":
        return [job() for job in jobs]
    import multiprocessing as mp

    bounds = [round(i * len(jobs) / lanes) for i in range(lanes + 1)]
    runs = [jobs[bounds[i] : bounds[i + 1]] for i in range(lanes)]
    context = mp.get_context("fork")
    children = []
    for run in runs[1:]:
        receiver, sender = context.Pipe(duplex=False)
        process = start_helper(context, _lane, (sender, run), daemon=False)
        sender.close()
        children.append((process, receiver))
    try:
        results: list[T] = [job() for job in runs[0]]
        for _process, receiver in children:
            try:
                ok, payload = receiver.recv()
            except EOFError:
                raise RuntimeError("a worker process ended without a result") from None
            if not ok:
                raise payload if isinstance(payload, BaseException) else RuntimeError(payload)
            results.extend(payload)
    finally:
        for process, receiver in children:
            if process.is_alive():
                process.kill()
            process.join()
            receiver.close()
    return results


def _lane(sender: Any, jobs: Sequence[Callable[[], Any]]) -> None:
    import pickle

    try:
        message: tuple[bool, Any] = (True, [job() for job in jobs])
    except BaseException as exc:
        message = (False, exc)
    try:
        pickle.dumps(message[1])
    except Exception as exc:
        text = message[1] if message[0] else f"{type(message[1]).__name__}: {message[1]}"
        message = (False, f"a worker's result could not be sent back: {exc}; {text}"[:2000])
    with contextlib.suppress(OSError):  # nobody waits for the result any more
        sender.send(message)
    sender.close()


def paper_size(paper: str) -> str:
    """The CSS page size for a paper name; :class:`InputError` for an unknown one."""
    size = PAPER_SIZES.get(str(paper).strip().lower())
    if size is None:
        raise InputError(f"unknown paper size {paper!r}; use one of: a4, letter")
    return size


def load_weasyprint() -> ModuleType:
    """Import WeasyPrint, turning a missing package or missing Pango into a clear error."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: a system library (Pango) is missing
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MissingDependencyError(f"{INSTALL_HINT} (loading it failed: {detail})") from exc
    module: ModuleType = weasyprint
    return module


def decode_data_url(url: str) -> tuple[bytes, str, str | None]:
    """``data:[<mime>][;charset=<c>][;base64],<payload>`` → ``(bytes, mime type, charset)``."""
    if url[:5].lower() != "data:":
        raise RefusedURL(f"not a data: URL: {url[:60]}")
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise RefusedURL("malformed data: URL (no comma)")
    params = [p.strip() for p in header.split(";")]
    is_base64 = len(params) > 1 and params[-1].lower() == "base64"
    if is_base64:
        params = params[:-1]
    mime = params[0].lower() if params and params[0] else "text/plain"
    charset = None
    for param in params[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value:
            charset = value.strip()
    data = unquote_to_bytes(payload)
    if is_base64:
        try:
            data = base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise RefusedURL("malformed base64 in a data: URL") from exc
    return data, mime, charset


def refuse_or_decode(url: str) -> tuple[bytes, str, str | None]:
    """Serve a ``data:`` URL; refuse every other scheme (``file:``, ``http:``, ...)."""
    if url[:5].lower() != "data:":
        scheme = url.split(":", 1)[0] if ":" in url else "relative"
        raise RefusedURL(f"symgd documents load nothing from outside ({scheme} URL refused)")
    return decode_data_url(url)


def inline_only_fetcher(weasyprint: ModuleType) -> Any:
    """A WeasyPrint URL fetcher serving only ``data:`` URLs, for old and new WeasyPrint.

    WeasyPrint ≥ 68 expects a ``URLFetcher`` instance returning ``URLFetcherResponse``;
    older versions call a plain function that returns a dict.
    """
    urls = weasyprint.urls
    fetcher_class: Any = getattr(urls, "URLFetcher", None)
    response_class: Any = getattr(urls, "URLFetcherResponse", None)
    if fetcher_class is not None and response_class is not None:

        class InlineOnlyFetcher(fetcher_class):  # type: ignore[misc]  # WeasyPrint is untyped
            """Serves ``data:`` URLs; raises for anything else (WeasyPrint skips it)."""

            def fetch(self, url: str, headers: Any = None) -> Any:
                data, mime, charset = refuse_or_decode(url)
                content_type = mime + (f"; charset={charset}" if charset else "")
                return response_class(url, body=data, headers={"Content-Type": content_type})

        return InlineOnlyFetcher()

    def fetch(url: str) -> dict[str, Any]:  # pragma: no cover - WeasyPrint < 68
        data, mime, charset = refuse_or_decode(url)
        result: dict[str, Any] = {"string": data, "mime_type": mime, "redirected_url": url}
        if charset:
            result["encoding"] = charset
        return result

    return fetch
