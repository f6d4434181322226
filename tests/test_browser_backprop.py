"""The backpropagation page in headless Chromium, on a phone and on a wide screen: no console
messages, no sideways scrolling of the page, the formulas and the graph drawn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_browser import BOXES, CHROMIUM, DevTools, ink

from symgd.network.backprop import backprop
from symgd.network.backprop_page import save_report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

PAGES = {
    "two-layer": (
        "(sigmoid(w2*sigmoid(w1*x + b1) + b2) - y)**2",
        "w1=0.5,b1=0.1,w2=-0.3,b2=0.2,x=1,y=1",
        "w1,b1,w2,b2",
    ),
    "cross-entropy": (
        "-(y*log(sigmoid(w*x+b)) + (1-y)*log(1-sigmoid(w*x+b)))",
        "w=0.3,b=0.1,x=2,y=1",
        "w,b",
    ),
}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("backprop")
    written = {}
    for name, (text, at, wrt) in PAGES.items():
        result = backprop(text, at=at, wrt=wrt, lr=0.5)
        written[name] = save_report(result, root / name)[0]
    return written


@pytest.mark.parametrize("width", [400, 1400])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_and_draws(
    pages: dict[str, Path], devtools: DevTools, name: str, width: int
) -> None:
    devtools.open(pages[name], width, 900)
    scroll, inner = devtools.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert inner == width
    assert scroll <= inner  # wide tables and the graph scroll inside their own boxes
    for section in ("point", "graph", "forward", "backward", "gradient", "update"):
        assert devtools.evaluate(f"!!document.getElementById('section-{section}')"), section
    for selector, least in (("svg.math-inline", 4), ("svg.math-display", 8)):
        boxes = json.loads(devtools.evaluate(BOXES % selector))
        assert boxes, selector
        assert all(w >= least and h >= 4 for _, _, w, h in boxes), (selector, boxes)
    graph = json.loads(devtools.evaluate(BOXES % "svg.graph"))
    assert len(graph) == 1
    _, _, w, h = graph[0]
    assert w >= 250 and h >= 80
    # the graph is drawn: its box has ink, and none once it is hidden
    left, top = graph[0][0], graph[0][1]
    visible = [left, top, min(w, width - left), h]
    assert ink(devtools.screenshot(visible)) > 0.02
    devtools.evaluate("""(() => { const s = document.createElement('style');
        s.textContent = 'svg.graph { visibility: hidden !important; }';
        document.head.appendChild(s); return true; })()""")
    assert ink(devtools.screenshot(visible)) < 0.005
    # the graph's text is not shrunk below a readable size
    text = json.loads(devtools.evaluate(BOXES % "svg.graph text"))
    assert min(h for _, _, _, h in text) >= 8
    assert devtools.console() == []
