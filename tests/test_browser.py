"""Open reports in headless Chromium: formulas and figures are drawn, nothing hits the console.

Each report is written by the real command in a fresh process (so the figure worker runs too),
then loaded from disk with networking, sync and extensions off. The checks drive Chromium
through the DevTools protocol over a pipe: the page's width on a phone and on a wide screen,
the size of every formula and figure, screenshots of a few of them (they must have ink, and the
same region with them hidden must not), and every console message or uncaught exception.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
    ),
]

QUIET = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
]

FUNCTIONS = {
    "saddle": "x**2+2*x*y",
    "one": "w**2",
    "three": "x**2+2*y**2+3*z**2+x*y",
}
SECTIONS = (
    "function",
    "derivatives",
    "differential",
    "steepest",
    "curvature",
    "hand",
    "runs",
    "rates",
    "summary",
    "numerical",
    "directional",
    "tangent",
    "quadratic",
)
#: "Go deeper" sections: collapsed until a reader opens them
DEEPER = ("numerical", "directional", "tangent", "quadratic")
OPEN_ALL = "document.querySelectorAll('details').forEach(d => { d.open = true; }); true"


def write_report(expression: str, folder: Path) -> Path:
    """Run ``symgd explain`` in a fresh interpreter and return the report's path."""
    import symgd

    # the same symgd the tests import: the installed package in CI, the source tree here
    env = {**os.environ, "PYTHONPATH": str(Path(symgd.__file__).resolve().parents[1])}
    env.pop("SYMGD_SERIAL", None)
    result = subprocess.run(
        [sys.executable, "-m", "symgd", "explain", expression, "-o", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.is_file()
    return path


def ink(png: bytes) -> float:
    """Fraction of pixels that are not (nearly) white."""
    from matplotlib import image

    pixels = image.imread(io.BytesIO(png), format="png")
    return float((pixels[..., :3].min(axis=2) < 0.85).mean())


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``.

    Messages are JSON, NUL-terminated, written to the browser's fd 3 and read from its fd 4;
    no websocket library is needed.
    """

    def __init__(self, profile: Path) -> None:
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Move the browser's ends well above 4, so that dup2 onto 3 and 4 always copies
        # (and so clears close-on-exec).
        keep_r, keep_w = os.dup(to_browser_r), os.dup(from_browser_w)
        keep_r, keep_w = fcntl_high(keep_r), fcntl_high(keep_w)
        os.close(to_browser_r)
        os.close(from_browser_w)

        def wire() -> None:
            os.dup2(keep_r, 3)
            os.dup2(keep_w, 4)

        self.process = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=wire,  # only two dup2 calls run in the child
        )
        os.close(keep_r)
        os.close(keep_w)
        self.writer = os.fdopen(to_browser_w, "wb")
        self.reader = from_browser_r
        self.buffer = b""
        self.counter = 0
        self.events: list[dict[str, object]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    def call(
        self, method: str, params: dict[str, object] | None = None, *, session: bool = False
    ) -> dict[str, Any]:
        self.counter += 1
        message: dict[str, object] = {"id": self.counter, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.writer.write(json.dumps(message).encode() + b"\0")
        self.writer.flush()
        reply = self.wait(lambda m: m.get("id") == self.counter)
        assert "error" not in reply, reply
        result: dict[str, Any] = reply.get("result", {})  # type: ignore[assignment]
        return result

    def wait(self, matches: Any) -> dict[str, object]:
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if matches(message):
                    return message  # type: ignore[no-any-return]
                self.events.append(message)
            chunk = os.read(self.reader, 1 << 16)
            if not chunk:
                raise EOFError("the browser closed the pipe")
            self.buffer += chunk

    def open(self, page: Path, width: int, height: int) -> None:
        """Load ``page`` in a ``width`` × ``height`` viewport (mobile below 600 px)."""
        self.events.clear()
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
            session=True,
        )
        self.call("Page.navigate", {"url": page.resolve().as_uri()}, session=True)
        self.wait(lambda m: m.get("method") == "Page.loadEventFired")

    def screenshot(self, box: list[float]) -> bytes:
        """PNG of the page region ``[left, top, width, height]`` (page coordinates)."""
        left, top, width, height = box
        result = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": left, "y": top, "width": width, "height": height, "scale": 1},
            },
            session=True,
        )
        return base64.b64decode(result["data"])

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        return result["result"].get("value")

    def console(self) -> list[dict[str, object]]:
        kinds = ("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded")
        return [e for e in self.events if e.get("method") in kinds]

    def close(self) -> None:
        with contextlib.suppress(EOFError, OSError, AssertionError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.process.kill()
        self.writer.close()
        os.close(self.reader)


def fcntl_high(fd: int) -> int:
    """A duplicate of ``fd`` numbered 10 or above (the original is closed)."""
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reports")
    return {name: write_report(f, root / name) for name, f in FUNCTIONS.items()}


def test_harness_sees_console_errors(devtools: DevTools, tmp_path: Path) -> None:
    """The harness itself: a page that logs an error or throws must be caught."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>console.error('m'); nope();</script>")
    devtools.open(page, 800, 600)
    kinds = {e["method"] for e in devtools.console()}
    assert {"Runtime.consoleAPICalled", "Runtime.exceptionThrown"} <= kinds


def test_plain_screenshot_and_log(reports: dict[str, Path], tmp_path: Path) -> None:
    """The command-line route: --screenshot draws a non-blank page, --enable-logging shows
    no console line."""
    png = tmp_path / "page.png"
    result = subprocess.run(
        [
            str(CHROMIUM),
            *QUIET,
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            "--window-size=1200,3000",
            reports["saddle"].resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert png.is_file(), result.stderr[-2000:]
    assert [line for line in result.stderr.splitlines() if ":CONSOLE" in line] == []
    assert ink(png.read_bytes()) > 0.02


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_report_has_no_external_urls(reports: dict[str, Path], name: str) -> None:
    html = reports[name].read_text(encoding="utf-8")
    assert not re.search(r"(?:https?|file|ftp):", html, flags=re.I)
    assert not re.search(r"<(?:link|iframe)\b", html, flags=re.I)
    # an inline script (the explorer's) is allowed; a script that loads anything is not
    assert all(tag == "<script>" for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I))
    for target in re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html):
        assert target.startswith(("#", "data:")), target


BOXES = """JSON.stringify(Array.from(document.querySelectorAll('%s')).map(e => {
  const r = e.getBoundingClientRect();
  return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; }))"""


@pytest.mark.parametrize("width", [400, 1400])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_layout_on_phone_and_wide_screen(
    reports: dict[str, Path], devtools: DevTools, name: str, width: int
) -> None:
    """The page is never wider than the screen (wide formulas and tables scroll inside their
    own boxes), every section is there, every formula and figure has a real size, and
    nothing reaches the console."""
    devtools.open(reports[name], width, 900)
    devtools.evaluate(OPEN_ALL)
    scroll, inner = devtools.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert inner == width
    assert scroll <= inner
    for section in SECTIONS:
        assert devtools.evaluate(f"!!document.getElementById('section-{section}')"), section
    explorable = name != "three"  # the explorer needs one or two variables
    assert devtools.evaluate("!!document.getElementById('section-explore')") == explorable
    for selector, least in (
        ("svg.math-display", 8),
        ("svg.math-inline", 4),
        ("figure.plot svg", 150),
    ):
        boxes = json.loads(devtools.evaluate(BOXES % selector))
        assert boxes, selector
        assert all(w >= least and h >= 4 for _, _, w, h in boxes), (selector, boxes)
        if selector.startswith("figure"):
            assert all(w <= width for _, _, w, _ in boxes)
    assert devtools.console() == []


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize(
    ("selector", "least"),
    [("svg.math-display", 0.01), ("svg.math-inline", 0.01), ("figure.plot svg", 0.02)],
)
def test_formulas_and_figures_are_drawn(
    reports: dict[str, Path], devtools: DevTools, name: str, selector: str, least: float
) -> None:
    """Screenshots of the first few formulas or figures have ink; with those elements
    hidden the same regions are blank, so the ink is theirs."""
    devtools.open(reports[name], 1200, 900)
    devtools.evaluate(OPEN_ALL)
    boxes = json.loads(devtools.evaluate(BOXES % selector))[:4]
    assert boxes
    for box in boxes:
        assert ink(devtools.screenshot(box)) > least, box
    devtools.evaluate(f"""(() => {{ const s = document.createElement('style');
        s.textContent = '{selector} {{ visibility: hidden !important; }}';
        document.head.appendChild(s); return true; }})()""")
    for box in boxes:
        assert ink(devtools.screenshot(box)) < least / 4, box
    assert devtools.console() == []


def test_go_deeper_sections_open_on_click_and_print_in_full(
    reports: dict[str, Path], devtools: DevTools, tmp_path: Path
) -> None:
    """The "Go deeper" sections start closed with their headings in view; a click on a heading
    opens its section; Chromium's own print of the page shows every one of them in full."""
    devtools.open(reports["saddle"], 1200, 900)
    closed = devtools.evaluate(
        "Array.from(document.querySelectorAll('details.deeper')).map(d => d.open)"
    )
    assert closed == [False] * len(DEEPER)
    shown = devtools.evaluate(
        "document.querySelector('#section-numerical details > *:not(summary)').checkVisibility()"
    )
    heading = devtools.evaluate(
        "document.getElementById('numerical').getBoundingClientRect().height"
    )
    assert shown is False and heading > 10
    devtools.evaluate("document.querySelector('#section-numerical summary').click(); true")
    assert devtools.evaluate("document.querySelector('#section-numerical details').open")
    assert devtools.evaluate(
        "document.querySelector('#section-numerical details > *:not(summary)').checkVisibility()"
    )
    printed = devtools.call("Page.printToPDF", {"printBackground": False}, session=True)
    pdf = tmp_path / "printed.pdf"
    pdf.write_bytes(base64.b64decode(printed["data"]))
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    html = reports["saddle"].read_text(encoding="utf-8")
    for section in DEEPER:  # the first sentence of each section's text is in the print
        body = html.split(f'id="section-{section}"', 1)[1].split("</summary>", 1)[1]
        first = re.sub(r"<[^>]+>", " ", body.split("<p>", 1)[1].split("</p>", 1)[0])
        words = " ".join(first.split()[:4])
        assert words and words in " ".join(text.split()), (section, words)
    assert devtools.console() == []
