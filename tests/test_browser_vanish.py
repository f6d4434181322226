"""The ``symgd vanish`` page in headless Chromium, on a phone and on a wide screen: nothing on
the console, nothing wider than the screen, and the figures and formulas drawn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_browser import BOXES, CHROMIUM, DevTools, ink

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
    ),
]

PAGES = {"default": {}, "w2-b-1": {"weight": 2, "bias": -1}, "dead": {"bias": -2, "depth": 40}}
#: what a reader must see on each page (text of the page, figures aside)
SEEN = {
    "default": ["No layer's gradient is below 10⁻⁶", "2.785 × 10⁻⁷", "0.1481"],
    "w2-b-1": ["W = 2, B = −1", "grows by a factor 2 per layer going back"],
    "dead": ["is negative, so ReLU′(z₄₀) = 0", "Layers 11–30 are left out of this table"],
}
VISIBLE = """JSON.stringify(Array.from(document.querySelectorAll('%s')).filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).map(e => {
  const r = e.getBoundingClientRect();
  return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; }))"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from symgd.network.vanish import vanish

    root = tmp_path_factory.mktemp("vanish")
    return {name: vanish(**kwargs).save(root / name) for name, kwargs in PAGES.items()}  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [400, 1400])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_and_draws(
    pages: dict[str, Path], devtools: DevTools, name: str, width: int
) -> None:
    devtools.open(pages[name], width, 900)
    scroll, inner = devtools.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert inner == width
    assert scroll <= inner
    text = devtools.evaluate("document.body.innerText")
    for words in SEEN[name]:
        assert words in text, words
    figures = json.loads(devtools.evaluate(VISIBLE % "figure.plot svg"))
    assert len(figures) == 2  # one of each pair: the wide or the phone drawing
    assert all(150 <= w <= width for _, _, w, _ in figures), figures
    for selector, least in (("svg.math-display", 8), ("svg.math-inline", 4)):
        boxes = json.loads(devtools.evaluate(VISIBLE % selector))
        assert boxes, selector
        assert all(w >= least and h >= 4 for _, _, w, h in boxes), (selector, boxes)
    for box in figures:
        assert ink(devtools.screenshot(box)) > 0.02, box
    formula = json.loads(devtools.evaluate(BOXES % "svg.math-display"))[0]
    assert ink(devtools.screenshot(formula)) > 0.01
    assert devtools.console() == []


def test_the_phone_drawing_is_the_narrow_one(pages: dict[str, Path], devtools: DevTools) -> None:
    """At 400 px the phone figures show (and the wide ones do not); at 1400 px the reverse."""
    for width, shown in ((400, "phone"), (1400, "wide")):
        devtools.open(pages["default"], width, 900)
        visible = json.loads(
            devtools.evaluate(
                "JSON.stringify(Array.from(document.querySelectorAll('figure.plot'))"
                ".filter(e => e.getBoundingClientRect().height > 0).map(e => e.className))"
            )
        )
        assert visible == [f"plot {shown}"] * 2
