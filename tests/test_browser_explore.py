"""The explorer in a real browser (Chromium over the DevTools protocol): its runs equal
symgd.descend's, the controls move the run, nothing leaves the page, and it works at 400 px
and with the keyboard alone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM
from test_explore import lesson_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

#: f, start, η for first-order methods; every method runs from there (Newton with η = 1)
PARITY = (
    ("x**2 + 3*y**2", [1.0, 2.0], 0.05),
    ("-log(sigmoid(x)) + y**2/2", [-2.0, 1.0], 0.5),
    ("relu(x - 1)**2 + (y + 1)**2 + x**2/10", [3.0, 1.0], 0.1),
    ("abs(x) + y**2", [0.7, -1.3], 0.1),
    ("max(x, y)**2 + x**2", [1.5, 0.5], 0.05),
    ("softplus(x) + softplus(-y) + (x + y)**2", [1.0, 2.0], 0.1),
    ("tanh(x)**2 + y**2", [0.8, -0.5], 0.2),
    ("log(1 + x**2 + y**2)", [2.0, 1.0], 0.3),
    ("exp(x) + exp(-x) + y**2", [1.0, 1.0], 0.1),
    ("w**4 - 3*w**2", [0.5], 0.05),
    ("(1 - x)**2 + 10*(y - x**2)**2", [-1.0, 1.0], 0.01),
    ("x**3", [-1.0], 0.1),
    ("sqrt(x) + (x - 2)**2", [1.0], 0.6),
    ("leaky_relu(x)**2 + min(x, y)**2 + y**2", [-1.0, 2.0], 0.1),
)
METHODS = ("gd", "ascent", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton")
STEPS = 150


def parity_page(expression: str, folder: Path) -> Path:
    """A bare page holding the explorer's script for ``expression`` (its API only)."""
    from symgd.expr.parser import parse
    from symgd.lesson.sections.explore import explore_script, registry_data
    from symgd.numeric.codegen import compiled_for
    from symgd.render.jscode import page_policy

    problem = parse(expression)
    compiled = compiled_for(problem.expr, problem.variables)
    n = len(problem.variables)
    data = {
        **registry_data(),
        "names": list(problem.names),
        "source": expression,
        "region": {"lo": [-1.0] * n, "hi": [1.0] * n},
        "markers": [],
        "lesson": {"method": "gd", "lr": 0.1, "steps": 10, "start": [0.5] * n},
    }
    script = explore_script(problem.variables, problem.expr, compiled.gradient, data)
    page = folder / f"parity-{abs(hash(expression))}.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{page_policy([script])}">'
        f"</head><body><p>parity</p><script>{script}</script></body></html>",
        encoding="utf-8",
    )
    return page


def close(a: Any, b: Any, scale: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(abs(a - b) <= 1e-9 * max(abs(a), abs(b), scale))


@pytest.mark.parametrize(("expression", "start", "lr"), PARITY)
def test_runs_equal_descend(
    devtools: Any, tmp_path: Path, expression: str, start: list[float], lr: float
) -> None:
    """Every method's iterates, status and outcome equal symgd.descend's (the numbers of
    ``symgd descend --json --trajectory``), to a relative 1e-9."""
    from symgd.numeric.runner import descend

    devtools.open(parity_page(expression, tmp_path), 800, 600)
    calls: list[dict[str, Any]] = [
        {"method": m, "lr": 1.0 if m == "newton" else lr, "steps": STEPS, "start": start}
        for m in METHODS
    ]
    answers = json.loads(
        devtools.evaluate(
            "JSON.stringify(" + json.dumps(calls) + ".map(o => { const r = window.symgd.run(o); "
            "return {xs: r.xs.map(x => x.map(v => Number.isFinite(v) ? v : null)), "
            "status: r.status, outcome: r.outcome, period: r.cycle_period || null}; }))"
        )
    )
    assert devtools.console() == []
    for call, js in zip(calls, answers, strict=True):
        run = descend(
            expression,
            start,
            method=call["method"],
            lr=call["lr"],
            steps=STEPS,
            tol=1e-8,
            trajectory=True,
        ).to_dict(trajectory=True)
        where = f"{expression} {call['method']}"
        assert js["status"] == run["status"], where
        assert js["outcome"] == run["outcome"], where
        assert js["period"] == run.get("cycle_period"), where
        assert len(js["xs"]) == len(run["trajectory"]), where
        scale = max(1.0, *(abs(v) for v in start))
        for k, (a, b) in enumerate(zip(js["xs"], run["trajectory"], strict=True)):
            assert all(close(u, v, scale) for u, v in zip(a, b, strict=True)), (where, k, a, b)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lesson_page("x**2 + 3*y**2", tmp_path_factory.mktemp("explore") / "two.html")


@pytest.fixture(scope="module")
def page_1d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lesson_page("w**4 - 3*w**2", tmp_path_factory.mktemp("explore") / "one.html")


def page_data(page: Path) -> dict[str, Any]:
    """The data the page's script holds (its JSON literal)."""
    text = page.read_text(encoding="utf-8")
    found = re.search(r"const DATA = (\{.*?\});\n", text)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def state(devtools: Any) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(
        devtools.evaluate(
            "JSON.stringify({hash: decodeURIComponent(location.hash), "
            "said: document.querySelector('[data-x=outcome]').textContent, "
            "command: document.querySelector('[data-x=command]').textContent, "
            "live: !document.querySelector('[data-x=live]').hidden, "
            "width: document.documentElement.scrollWidth})"
        )
    )
    return seen


def test_opening_the_page_stays_at_the_top_with_its_address(devtools: Any, page: Path) -> None:
    """Opening a lesson neither jumps to the explorer nor rewrites the address; moving a
    control writes the settings into the fragment."""
    devtools.open(page, 1400, 900)
    assert devtools.evaluate("[window.scrollY, location.hash]") == [0, ""]
    devtools.evaluate(
        "(() => { const s = document.querySelector('#section-explore select');"
        " s.value = 'adam'; s.dispatchEvent(new Event('change')); return true; })()"
    )
    assert devtools.evaluate("location.hash").startswith("#explore:method=adam")
    assert devtools.console() == []


def test_click_moves_start_and_eta_changes_path(devtools: Any, page: Path) -> None:
    devtools.open(page, 1400, 900)
    before = state(devtools)
    assert before["live"]
    assert before["hash"] == "" and "--start=1,2 " in before["command"]
    box = json.loads(
        devtools.evaluate(
            "JSON.stringify((() => { const c = document.querySelector('[data-x=stage]'); "
            "c.scrollIntoView(); const r = c.getBoundingClientRect(); "
            "return [r.left, r.top, r.width, r.height]; })())"
        )
    )
    x, y = box[0] + 0.25 * box[2], box[1] + 0.75 * box[3]
    for kind in ("mousePressed", "mouseReleased"):
        devtools.call(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            session=True,
        )
    after = state(devtools)
    found = re.search(r"start=([^&]+)", after["hash"])
    assert found is not None
    u, v = (float(c) for c in found.group(1).split(","))
    region = page_data(page)["region"]
    (x0, y0), (x1, y1) = region["lo"], region["hi"]
    assert u == pytest.approx(x0 + 0.25 * (x1 - x0), abs=0.01 * (x1 - x0))
    assert v == pytest.approx(y1 - 0.75 * (y1 - y0), abs=0.01 * (y1 - y0))
    assert after["said"] != before["said"]
    assert f"--start={found.group(1)} " in after["command"]
    # η: set the slider and fire its input event; the run (and its steps) change
    devtools.evaluate(
        "(() => { const s = document.querySelector('[data-x=\"lr-range\"]'); "
        "s.value = '-0.5'; s.dispatchEvent(new Event('input')); })()"
    )
    moved = state(devtools)
    assert "lr=0.316&" in moved["hash"]  # 10^-0.5 to three digits
    assert moved["said"] != after["said"]
    assert "--lr 0.316 " in moved["command"]
    assert devtools.console() == []


def press(devtools: Any, key: str, code: int, text: str = "") -> None:
    for kind in ("keyDown" if text else "rawKeyDown", "keyUp"):
        event: dict[str, object] = {
            "type": kind,
            "key": key,
            "code": key,
            "windowsVirtualKeyCode": code,
        }
        if text and kind == "keyDown":
            event["text"] = text
        devtools.call("Input.dispatchKeyEvent", event, session=True)


def test_keyboard_alone_at_phone_width(devtools: Any, page: Path) -> None:
    """At 400 px the page is no wider than the screen; Tab reaches the start marker, the
    arrow keys move the start, and Enter on the reset button brings back the lesson's run."""
    devtools.open(page, 400, 800)
    first = state(devtools)
    assert first["width"] <= 400
    focused = ""
    for _ in range(300):
        press(devtools, "Tab", 9)
        focused = devtools.evaluate("document.activeElement.dataset.x || ''")
        if focused == "marker":
            break
    assert focused == "marker"
    press(devtools, "ArrowRight", 39)
    press(devtools, "ArrowUp", 38)
    moved = state(devtools)
    assert "start=1,2&" not in moved["hash"] and "start=" in moved["hash"]
    assert moved["said"] != first["said"]
    for _ in range(40):
        press(devtools, "Tab", 9)
        if devtools.evaluate("document.activeElement.dataset.x || ''") == "reset":
            break
    assert devtools.evaluate("document.activeElement.dataset.x || ''") == "reset"
    press(devtools, "Enter", 13, "\r")
    back = state(devtools)
    assert back["said"] == first["said"] and "start=1,2" in back["hash"]
    assert state(devtools)["width"] <= 400
    assert devtools.console() == []


def test_nothing_leaves_the_page(devtools: Any, page_1d: Path) -> None:
    """The only request is the page itself; the fragment carries the settings into a new
    load; the one-variable stage is the graph of f."""
    devtools.call("Network.enable", session=True)
    url = page_1d.resolve().as_uri()
    devtools.open(page_1d, 1000, 800)
    requests = [
        e["params"]["request"]["url"]
        for e in devtools.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert requests == [url]
    assert devtools.console() == []
    devtools.call("Network.disable", session=True)
    shared = page_1d.parent / "shared.html"
    shared.write_text(page_1d.read_text(encoding="utf-8"), encoding="utf-8")
    devtools.call(
        "Page.navigate",
        {
            "url": shared.resolve().as_uri()
            + "#explore:method=adam&lr=0.2&steps=40&start=-1.5&beta1=0.8"
        },
        session=True,
    )
    devtools.wait(lambda m: m.get("method") == "Page.loadEventFired")
    seen = state(devtools)
    assert seen["hash"] == "#explore:method=adam&lr=0.2&steps=40&start=-1.5&beta1=0.8"
    assert seen["command"].startswith(
        "symgd explain 'w**4 - 3*w**2' --start=-1.5 --lr 0.2 --steps 40 --methods adam"
    )
    assert "--beta1 0.8" in seen["command"]


def test_redraw_time_of_1000_steps(devtools: Any, page: Path) -> None:
    """Prints the time one control change with 1,000 steps takes (run and redraw); no
    assertion on it (timings depend on the machine)."""
    devtools.open(page, 1400, 900)
    took = devtools.evaluate(
        "(() => { const s = document.querySelector('[data-x=steps]'); "
        "const m = document.querySelector('[data-x=method]'); m.value = 'momentum'; "
        "m.dispatchEvent(new Event('change')); const lr = document.querySelector('[data-x=lr]'); "
        "lr.value = '0.0001'; lr.dispatchEvent(new Event('input')); const times = []; "
        "for (let i = 0; i < 20; i++) { s.value = String(999 + (i % 2)); "
        "const t = performance.now(); s.dispatchEvent(new Event('input')); "
        "times.push(performance.now() - t); } times.sort((a, b) => a - b); return times[10]; })()"
    )
    said = state(devtools)["said"]
    assert "after 1000 steps" in said or "after 999 steps" in said
    print(f"\nexplorer: run + redraw of 1,000 momentum steps, median of 20: {took:.1f} ms")
