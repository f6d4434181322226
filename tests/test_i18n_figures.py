"""Korean (``--lang ko``) for the lesson's figures, the worker that draws them, the PDF's Hangul
font, and the text of ``symgd derive`` and ``symgd descend``: Korean words where a reader looks,
the same numbers as in English, and English unchanged."""

from __future__ import annotations

import html
import json
import math
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from symgd.base.i18n import current, language
from symgd.render import figure_data
from symgd.render.figure_data import Marker, PathData, Regime, Region
from symgd.render.figures import FigureJob
from symgd.render.worker import draw_all

HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
#: a run of two or more English words
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,'’-]+[A-Za-z]{2,})+\b")
#: a single English word of three letters or more
WORD = re.compile(r"\b[A-Za-z]{3,}\b")
NUMBER = re.compile(r"^[−\-+]?[\d.]+(?:[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]*)$|^10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+$")


def _bowl(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(x**2 + 3 * y**2, dtype=float)


def _bowl_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 2 * x, 6 * y


def _path(label: str, start: tuple[float, float], lr: float, steps: int) -> PathData:
    points = [np.array(start, dtype=float)]
    for _ in range(steps):
        x, y = points[-1]
        gx, gy = _bowl_grad(x, y)
        points.append(np.array([x - lr * gx, y - lr * gy]))
    xs = np.array(points)
    return PathData(label, xs, _bowl(xs[:, 0], xs[:, 1]), np.hypot(*_bowl_grad(xs[:, 0], xs[:, 1])))


def _specs() -> dict[str, tuple[str, dict[str, object]]]:
    """Every lesson figure drawn here, with data whose own labels carry no words (the labels a
    lesson passes in are its sections' to translate)."""
    path = _path("η = 0.1", (2.0, 1.0), 0.1, 60)
    region = figure_data.choose_region((2.0, 1.0), [(0.0, 0.0)], [path.xs])
    surface = figure_data.sample_surface(_bowl, _bowl_grad, region, resolution=40)
    curve = figure_data.sample_curve(
        lambda w: w**4 - w**2, lambda w: 4 * w**3 - 2 * w, Region((-1.6,), (1.6,)), [1.2, 0.9]
    )
    one = PathData(
        "η = 0.1", np.array([[1.2], [0.9], [0.8]]), np.array([0.6, -0.16, -0.23]), np.ones(3)
    )
    # markers without labels of their own: the figure names them by their kind
    markers = [
        Marker((0.0, 0.0), "minimum"),
        Marker((-1.0, 0.5), "saddle"),
        Marker((1.0, -0.5), "maximum"),
        Marker((2.0, 1.0), "start"),
    ]
    regimes = [
        Regime(f"η = {lr}", path, np.array([(1 - 2 * lr) ** k for k in range(15)]))
        for lr in (0.3, 1.1)
    ]
    wide = _path("η = 0.1", (2.0, 1.0), 0.1, 20)
    nine = PathData("GD", np.tile(wide.xs, (1, 5))[:, :9], wide.fs, wide.grad_norms)
    labels = np.where(np.arange(64).reshape(8, 8) % 3 == 0, -1, 0)
    # f* = 1: a gap f − f* under the rounding noise of f* is left out of the picture
    fast = _path("η = 0.2", (2.0, 1.0), 0.2, 40)
    gap = PathData("η = 0.2", fast.xs, fast.fs + 1.0, fast.grad_norms)
    return {
        "directional": ("directional_figure", {"grad_norm": 6.3, "name": "fig-dir"}),
        "curve": ("curve_figure", {"curve": curve, "paths": [one], "markers": markers[:1]}),
        "contour": ("contour_figure", {"surface": surface, "paths": [path], "markers": markers}),
        "progress": ("progress_figure", {"paths": [gap], "f_star": 1.0}),
        "traces": ("traces_figure", {"path": nine, "variables": [f"x{i}" for i in range(9)]}),
        "rates": ("regimes_figure", {"regimes": regimes, "ylabel": "x"}),
        "basins": (
            "basins_figure",
            {"region": region, "labels": labels, "colours": ["#009E73"], "names": ["(0, 0)"]},
        ),
    }


def _jobs(lang: str) -> dict[str, FigureJob]:
    with language(lang):
        return {
            key: FigureJob(function, dict(kwargs)) for key, (function, kwargs) in _specs().items()
        }


@pytest.fixture(scope="module")
def drawn() -> dict[str, dict[str, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from every font warns
        korean = draw_all(_jobs("ko"))
    english = draw_all(_jobs("en"))
    return {"ko": korean, "en": english}


def _texts(svg: str) -> list[str]:
    """The text a reader sees in a figure (matplotlib writes each label as one ``<text>``)."""
    texts = re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", t)).strip() for t in texts]


# -- the figures --------------------------------------------------------------------------------


def test_a_job_carries_the_language_it_was_made_in() -> None:
    assert FigureJob("directional_figure", {}).lang == current() == "en"
    with language("ko"):
        job = FigureJob("directional_figure", {"grad_norm": 1.0})
    assert job.lang == "ko"
    # drawn where English is in effect (a worker forked before the language was set): Korean
    assert HANGUL.search(job.draw())
    english = FigureJob("directional_figure", {"grad_norm": 1.0}, lang="en")
    with language("ko"):
        assert not HANGUL.search(english.draw())


def test_korean_figures_have_no_english_words_left(drawn: dict[str, dict[str, str]]) -> None:
    for key, svg in drawn["ko"].items():
        texts = _texts(svg)
        assert any(HANGUL.search(t) for t in texts), key
        leftovers = [t for t in texts if ENGLISH.search(t) or WORD.search(t)]
        assert not leftovers, (key, leftovers)


def test_korean_figures_name_what_they_show(drawn: dict[str, dict[str, str]]) -> None:
    ko = {key: " ".join(_texts(svg)) for key, svg in drawn["ko"].items()}
    # the glossary's words for the critical points, in the markers' legend
    assert "극소점" in ko["contour"] and "극소점" in ko["curve"]
    assert "안장점" in ko["contour"] and "극대점" in ko["contour"]
    assert "극소점" in ko["basins"]
    for key in ("progress", "rates"):
        assert "단계 k" in ko[key], key
    # the three marked angles of the directional figure keep their numbers
    for angle in (0, 90, 180):
        assert f"(θ = {angle}°)" in ko["directional"]
    # a gap below the noise of f* is not drawn, and the note says so with the same power of ten
    notes = [t for t in _texts(drawn["en"]["progress"]) if t.startswith("values below")]
    assert notes, _texts(drawn["en"]["progress"])
    power = notes[0].split()[2]
    assert any(power in t and HANGUL.search(t) for t in _texts(drawn["ko"]["progress"]))
    # nine coordinates: the title says only the first eight are drawn
    assert "8" in " ".join(t for t in _texts(drawn["ko"]["traces"]) if HANGUL.search(t))


def test_korean_and_english_figures_show_the_same_numbers(
    drawn: dict[str, dict[str, str]],
) -> None:
    for key in drawn["en"]:
        en = [t for t in _texts(drawn["en"][key]) if NUMBER.match(t)]
        ko = [t for t in _texts(drawn["ko"][key]) if NUMBER.match(t)]
        assert en and ko == en, key
        # the minus of the tick labels is U+2212 in both languages
        assert not any(t.startswith("-") for t in ko), key


def test_korean_figures_use_the_shipped_font_first(drawn: dict[str, dict[str, str]]) -> None:
    for key, svg in drawn["ko"].items():
        families = set(re.findall(r"font-family: ([^;\"]*)", svg))
        assert families and all(f.startswith("'Symgd Hangul'") for f in families), key
        assert all("DejaVu Sans" in f for f in families), key  # digits, −, ∇ and θ
    for key, svg in drawn["en"].items():
        assert "Symgd Hangul" not in svg, key


def test_english_figures_are_unchanged(drawn: dict[str, dict[str, str]]) -> None:
    en = {key: " | ".join(_texts(svg)) for key, svg in drawn["en"].items()}
    assert not any(HANGUL.search(text) for text in en.values())
    assert "uphill fastest (θ = 0°)" in en["directional"]
    assert "no change (θ = 90°)" in en["directional"]
    assert "angle θ between the step and ∇f (degrees)" in en["directional"]
    assert "tangent lines" in en["curve"] and "minimum" in en["curve"]
    assert "direction of −∇f" in en["contour"] and "start" in en["contour"]
    assert "saddle" in en["contour"] and "no minimum reached" in en["basins"]
    assert "coordinates along the gd run (first 8)" in en["traces"]
    assert en["progress"].count("step k") == 2
    # the language in effect does not change a job made in English
    with language("ko"):
        again = draw_all({"directional": _jobs("en")["directional"]})
    assert again["directional"] == drawn["en"]["directional"]


def test_drawing_follows_the_job_not_the_process_language() -> None:
    class Plain:
        """A job without a language of its own: drawn in the language in effect."""

        def draw(self) -> str:
            return current()

    with language("ko"):
        assert draw_all({"a": Plain(), "b": Plain()}) == {"a": "ko", "b": "ko"}
    assert draw_all({"a": Plain()}) == {"a": "en"}


_WORKER = """
import json, sys
from symgd.render import worker
w = worker.FigureWorker()  # forked now, while English is in effect
if w.process is None:
    print(json.dumps(None)); sys.exit(0)
def refuse(jobs):
    raise AssertionError("drawn in the parent")
worker.draw_all = refuse  # the parent may not draw: the figures must come from the child
from symgd.base.i18n import language
from symgd.render.figures import FigureJob
with language("ko"):
    jobs = {"dir": FigureJob("directional_figure", {"grad_norm": 2.0, "name": "fig-dir"})}
collect = w.draw(jobs)
w.typeset([])
figures, _ = collect()
print(json.dumps(figures))
"""


def test_a_worker_forked_in_english_draws_a_korean_lessons_figures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SYMGD_SERIAL", "SYMGD_LANG")}
    done = subprocess.run(
        [sys.executable, "-c", _WORKER],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures is None:
        pytest.skip("this system cannot fork a helper process")
    texts = _texts(figures["dir"])
    assert any("θ = 180°" in t and HANGUL.search(t) for t in texts), texts
    assert not [t for t in texts if ENGLISH.search(t)]


def test_the_serial_path_draws_in_the_jobs_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from symgd.render.worker import FigureWorker

    monkeypatch.setenv("SYMGD_SERIAL", "1")
    worker = FigureWorker()
    assert worker.process is None
    with language("ko"):
        jobs = {"dir": FigureJob("directional_figure", {"grad_norm": 2.0})}
    figures, typeset = worker.draw(jobs)()
    assert typeset == {} and HANGUL.search(figures["dir"])


# -- numbers in prose ---------------------------------------------------------------------------


def test_numbers_are_written_alike_and_undefined_in_words() -> None:
    from symgd.render.templates import number

    values = [0.0, -2.5, 1e-7, -3e12, 1234.5678, math.inf, -math.inf, None]
    english = [number(v) for v in values]
    with language("ko"):
        assert [number(v) for v in values] == english
        assert HANGUL.search(number(math.nan))
    assert number(math.nan) == "undefined"
    assert english[1] == "−2.5" and english[2] == "10⁻⁷"


# -- the PDF --------------------------------------------------------------------------------------


def _declared_letters(page: str) -> set[str]:
    """The Hangul letters of the font a page declares for "Symgd Hangul"."""
    import base64
    import io

    from fontTools.ttLib import TTFont

    face = re.search(r"Symgd Hangul[^}]*url\(data:font/ttf;base64,([^)]*)\)", page)
    assert face is not None
    cmap = TTFont(io.BytesIO(base64.b64decode(face.group(1)))).getBestCmap()
    return {chr(code) for code in cmap if HANGUL.match(chr(code))}


def test_a_page_with_hangul_gets_the_font_for_all_its_letters() -> None:
    from symgd.base.i18n import embed_hangul_font, hangul_font_url
    from symgd.render.pdf import with_hangul_font

    english = "<!DOCTYPE html><html><head><title>x</title></head><body>f = x²</body></html>"
    assert with_hangul_font(english) == english
    # a page that does not declare the font: declared in its head, for its letters
    korean = english.replace("f = x²", "기울기 f = x²")
    declared = with_hangul_font(korean)
    assert declared.count("@font-face") == 1
    assert declared.index("@font-face") > declared.index("<head>")
    assert _declared_letters(declared) == set("기울")
    assert with_hangul_font(declared) == declared
    # a page whose font was cut down before a figure brought more letters: cut again
    face = f'@font-face {{ font-family: "Symgd Hangul"; src: url({hangul_font_url()}); }}'
    style = f"<style>{face}</style>"
    page = embed_hangul_font(
        english.replace("<title>", style + "<title>").replace("f = x²", "학습률")
    )
    assert _declared_letters(page) == set("학습률")
    assert with_hangul_font(page) == page
    filled = page.replace("</body>", "<svg><text>단계 k</text></svg></body>")
    fixed = with_hangul_font(filled)
    assert fixed.count("@font-face") == 1 and _declared_letters(fixed) == set("학습률단계")


_PDF = """
import sys
from pathlib import Path
from symgd.render.pdf import render_pdf
Path(sys.argv[2]).write_bytes(render_pdf(Path(sys.argv[1]).read_text(encoding="utf-8")))
"""


def _hangul_glyphs(pdf: Path) -> tuple[set[str], set[str]]:
    """The Hangul letters the PDF draws with a glyph of their own, and those it draws as a
    missing glyph (a ``.notdef`` box), over every font of its pages and figures."""
    import io

    from fontTools.ttLib import TTFont
    from pypdf import PdfReader

    fonts: dict[int, object] = {}
    forms: set[int] = set()

    def walk(resources: object) -> None:
        resources = resources.get_object() if resources is not None else {}  # type: ignore[attr-defined]
        for ref in (resources.get("/Font") or {}).values():  # type: ignore[attr-defined]
            fonts[ref.idnum] = ref.get_object()
        for ref in (resources.get("/XObject") or {}).values():  # type: ignore[attr-defined]
            form = ref.get_object()
            if form.get("/Subtype") == "/Form" and ref.idnum not in forms:
                forms.add(ref.idnum)
                walk(form.get("/Resources"))

    for page in PdfReader(str(pdf)).pages:
        walk(page.get("/Resources"))
    good: set[str] = set()
    bad: set[str] = set()
    for font in fonts.values():
        unicode_map = font.get("/ToUnicode")  # type: ignore[attr-defined]
        if unicode_map is None:
            continue
        text = unicode_map.get_object().get_data().decode("latin-1")
        letters: dict[str, int] = {}
        for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
            for code, chars in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                for char in bytes.fromhex(chars).decode("utf-16-be"):
                    if HANGUL.match(char):
                        letters[char] = int(code, 16)
        if not letters:
            continue
        drawn: set[int] = set()  # glyph ids with an outline (0 is .notdef)
        if font.get("/Subtype") == "/Type0":  # type: ignore[attr-defined]
            descendant = font["/DescendantFonts"][0].get_object()  # type: ignore[index]
            data = descendant["/FontDescriptor"].get_object().get("/FontFile2")
            if data is not None:
                embedded = TTFont(io.BytesIO(data.get_object().get_data()))
                glyphs = embedded["glyf"]
                order = embedded.getGlyphOrder()
                drawn = {k for k, g in enumerate(order) if k and glyphs[g].numberOfContours}
        for char, gid in letters.items():
            (good if gid in drawn else bad).add(char)
    return good, bad


@pytest.mark.pdf
@pytest.mark.parametrize("declared", [False, True])
def test_the_pdf_draws_hangul_with_the_shipped_font_without_a_korean_system_font(
    tmp_path: Path, drawn: dict[str, dict[str, str]], declared: bool
) -> None:
    pytest.importorskip("weasyprint")
    from symgd.base.i18n import embed_hangul_font, hangul_font_url

    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not dejavu.is_dir():
        pytest.skip("needs DejaVu to stand for a machine without Korean fonts")
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        f'<?xml version="1.0"?><fontconfig><dir>{dejavu}</dir>'
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    # Korean prose and a Korean figure; the page declares no font, or (as a lesson does) one
    # cut down to its text before the figure was filled in
    prose = "경사하강법의 학습률"
    style = "body { font-family: 'DejaVu Serif' }"
    if declared:
        style += f' @font-face {{ font-family: "Symgd Hangul"; src: url({hangul_font_url()}); }}'
    head = f"<!DOCTYPE html><html><head><title>t</title><style>{style}</style></head>"
    html = embed_hangul_font(f"{head}<body><p>{prose}</p><!--figure--></body></html>")
    figure = drawn["ko"]["directional"]
    page = tmp_path / "page.html"
    page.write_text(
        html.replace("<!--figure-->", f'<figure class="plot">{figure}</figure>'), encoding="utf-8"
    )
    pdf = tmp_path / "page.pdf"
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    subprocess.run(
        [sys.executable, "-c", _PDF, str(page), str(pdf)], env=env, check=True, timeout=120
    )
    good, bad = _hangul_glyphs(pdf)
    assert not bad, sorted(bad)
    in_figure = {c for t in _texts(figure) for c in HANGUL.findall(t)}
    assert in_figure - set(prose)  # letters only the figure has
    assert set(HANGUL.findall(prose)) | in_figure <= good


# -- the terminal ---------------------------------------------------------------------------------


FUNCTIONS = ["x**3 - 3*x + y**2", "x**2 + y**2 + z**2", "x**4 - 2*x**2"]


def _run(args: list[str]) -> str:
    from symgd.cli import cli

    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _numbers(text: str) -> list[str]:
    return re.findall(r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)


#: the lines ``symgd derive`` writes itself (the rest come from symgd.calculus)
DERIVE_HEADS = ("Gradient:", "Total differential:", "Hessian:", "Critical points")


@pytest.mark.parametrize("expression", FUNCTIONS)
def test_derive_in_korean(expression: str) -> None:
    english = _run(["derive", expression])
    korean = _run(["derive", expression, "--lang", "ko"])
    en_lines, ko_lines = english.splitlines(), korean.splitlines()
    for head in DERIVE_HEADS:
        assert any(line.startswith(head) for line in en_lines), head
        assert not any(line.startswith(head) for line in ko_lines), head
    for word in ("그래디언트:", "전미분:", "헤세 행렬:", "임계점"):
        assert any(line.startswith(word) for line in ko_lines), word
    # the same formulas and numbers in both languages
    assert _numbers(korean.split("\n\n")[0]) == _numbers(english.split("\n\n")[0])
    en_blocks, ko_blocks = english.split("\n\n"), korean.split("\n\n")
    for block in (1, 2, 3):  # the gradient, the total differential, the Hessian
        assert ko_blocks[block].splitlines()[1:] == en_blocks[block].splitlines()[1:]
    en_points = [line for line in en_lines if line.startswith("  (")]
    ko_points = [line for line in ko_lines if line.startswith("  (")]
    assert en_points and len(en_points) == len(ko_points)
    for en, ko in zip(en_points, ko_points, strict=True):
        assert ko.split("  f = ")[0] == en.split("  f = ")[0]
        assert _numbers(ko) == _numbers(en)
        assert HANGUL.search(ko) and not WORD.search(ko.split("  f = ")[1]), ko
    eigen = [line for line in ko_lines if line.startswith("      헤세 행렬의 고윳값: ")]
    assert len(eigen) == len(en_points)
    assert any(line.startswith("볼록성: ") for line in ko_lines)


#: JSON fields written for people: they follow the language; everything else may not
HUMAN_FIELDS = {"reason", "reasons", "detail", "message", "notes", "note", "explanation"}


def _machine(text: str) -> Any:
    """The JSON ``text`` without its fields for people."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in HUMAN_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(text))


def _human(text: str) -> list[str]:
    """The strings of the JSON ``text``'s fields for people."""
    found: list[str] = []

    def walk(value: Any, human: bool = False) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, human or k in HUMAN_FIELDS)
        elif isinstance(value, list):
            for v in value:
                walk(v, human)
        elif human and isinstance(value, str) and value:
            found.append(value)

    walk(json.loads(text))
    return found


def test_derive_json_and_english_do_not_change_with_the_language() -> None:
    args = ["derive", "x**2 + 2*x*y"]
    assert _run([*args, "--lang", "en"]) == _run(args)
    korean, english = _run([*args, "--json", "--lang", "ko"]), _run([*args, "--json"])
    assert _machine(korean) == _machine(english)
    words = _human(korean)
    assert words and all(re.search(r"[\uac00-\ud7a3]", w) for w in words), words


def test_derive_kinds_follow_the_glossary() -> None:
    korean = _run(["derive", "x**3 - 3*x + y**2", "--lang", "ko"])
    assert "안장점" in korean and "극소점" in korean
    steps = _run(["derive", "x**2*y", "--steps", "--lang", "ko"])
    assert "∂f/∂x:" in steps and "Step by step" not in steps


@pytest.mark.parametrize(
    ("expression", "start", "extra"),
    [
        ("x**2 + 2*y**2", "1,1", []),
        ("x**2 + y**2", "3,4", ["--lr", "0.5", "--steps", "1"]),
        ("x**2", "1", ["--lr", "1.5", "--steps", "200"]),
        ("(1-x)**2 + 100*(y-x**2)**2", "-1.2,1", ["--method", "adam", "--lr", "0.01"]),
    ],
)
def test_descend_in_korean(expression: str, start: str, extra: list[str]) -> None:
    args = ["descend", expression, "--start", start, *extra]
    english = _run(args)
    korean = _run([*args, "--lang", "ko"])
    assert _run([*args, "--lang", "en"]) == english
    en_lines, ko_lines = english.splitlines(), korean.splitlines()
    assert len(en_lines) == len(ko_lines)
    # the lines symgd descend writes itself: same numbers, Korean words
    for en, ko in zip(en_lines[1:], ko_lines[1:], strict=True):
        assert _numbers(ko) == _numbers(en), (en, ko)
    for prefix, word in [("Start:", "시작점:"), ("Status:", "상태:"), ("Final:", "마지막 점:")]:
        assert any(line.startswith(prefix) for line in en_lines)
        mine = [line for line in ko_lines if line.startswith(word)]
        assert mine and not any(ENGLISH.search(line) for line in mine), ko_lines
    assert not any(line.startswith("Status:") for line in ko_lines)
    assert any(line.startswith("결과: ") for line in ko_lines)
    as_json = _run([*args, "--json"])
    korean_json = _run([*args, "--json", "--lang", "ko"])
    assert _machine(korean_json) == _machine(as_json)
    assert all(re.search(r"[\uac00-\ud7a3]", w) for w in _human(korean_json))
    assert json.loads(as_json)["status"] in ("converged", "max_steps", "diverged")


def test_descend_trajectory_table_is_the_same_in_both_languages() -> None:
    args = ["descend", "x**2 + y**2", "--start", "1,2", "--steps", "5", "--trajectory"]
    english = _run(args).splitlines()
    korean = _run([*args, "--lang", "ko"]).splitlines()
    table = english.index("") + 1
    assert korean[table:] == english[table:]


def test_the_language_option_is_listed() -> None:
    assert "--lang" in _run(["derive", "--help"])
    assert "--lang" in _run(["descend", "--help"])
