"""LaTeX → inline SVG: markup, accessibility, ids, fallbacks, and the speed-ups' fidelity."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import Markup

from symgd.render.mathsvg import _unique_ids, cheap_delimiters, tex_to_svg

CORPUS = [
    r"f(x, y) = x^{2} + 2 x y",
    r"\nabla f(x, y) = \begin{pmatrix}2 x + 2 y \\ 2 x\end{pmatrix}",
    r"x_{1} = x_{0} - \eta\,\nabla f(x_{0}) = \begin{pmatrix}1 \\ 2\end{pmatrix} - \frac{1}{10}"
    r" \begin{pmatrix}6 \\ 2\end{pmatrix} = \begin{pmatrix}\frac{2}{5} \\ \frac{9}{5}"
    r"\end{pmatrix}",
    r"\lVert\nabla f(x_0)\rVert = 2 \sqrt{10} \approx 6.3246",
    r"\left(\frac{1}{2}\right)^{2} + \left|\frac{x}{2}\right| + |x|",
    r"\begin{aligned} b_{k+1} &= \mu\, b_k + g \\ x_{k+1} &= x_k - \eta\, b_{k+1} \end{aligned}",
    r"\sigma\left(b + w x\right) \left(1 - \sigma\left(b + w x\right)\right)",
    r"\hat m / (\sqrt{\hat v} + \epsilon), \quad \lambda_{\max} = 1 + \sqrt{5}",
    r"\text{ran away}, \theta = 180^\circ, \sum_{i=1}^{n} x_i^{2}",
]


def test_inline_formula_is_accessible_svg() -> None:
    svg = tex_to_svg("x^2 < y", display=False)
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert 'class="math-inline"' in svg and 'role="img"' in svg
    assert 'aria-label="x^2 &lt; y"' in svg
    assert "<title>x^2 &lt; y</title>" in svg
    assert re.search(r"vertical-align:-?[\d.]+em", svg)
    assert re.search(r'width="[\d.]+em" height="[\d.]+em"', svg)
    assert "<path" in svg


def test_display_formula_has_no_baseline_shift() -> None:
    svg = tex_to_svg(r"\frac{a}{b}", display=True)
    assert 'class="math-display"' in svg
    assert "vertical-align" not in svg


def test_formula_follows_the_text_colour_and_needs_no_urls() -> None:
    svg = tex_to_svg(r"\nabla f = 0", display=True)
    assert 'fill="black"' not in svg and "currentColor" in svg
    assert "http" not in svg and "xmlns" not in svg


def test_ids_are_unique_when_formulas_share_a_page() -> None:
    page = "".join(tex_to_svg(latex, display=True) for latex in CORPUS)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_unique_ids_rewrites_references() -> None:
    svg = (
        '<svg><defs><path id="g1"/><path id="g12"/></defs><use href="#g1"/>'
        '<use xlink:href="#g12"/><g clip-path="url(#g1)"/></svg>'
    )
    first, second = _unique_ids(svg), _unique_ids(svg)
    first_ids = set(re.findall(r'id="([^"]+)"', first))
    assert first_ids.isdisjoint(re.findall(r'id="([^"]+)"', second))
    for target in re.findall(r'(?:href="#|url\(#)([^")]+)', first):
        assert target in first_ids


@pytest.mark.parametrize("latex", [r"\frac{", "x^", r"\left( x <", r"\begin{pmatrix} 1 & \end{x"])
def test_latex_the_renderer_rejects_falls_back_to_escaped_code(latex: str) -> None:
    svg = tex_to_svg(latex, display=True)
    assert svg.startswith('<code class="math-fallback math-display">')
    assert "<" not in svg[len('<code class="math-fallback math-display">') : -len("</code>")]


def test_cheap_delimiters_keeps_stretchy_ones_only_around_tall_content() -> None:
    assert cheap_delimiters(r"\left(x + 1\right)^{2}") == "(x + 1)^{2}"
    tall = r"\left(\frac{1}{2}\right)"
    assert cheap_delimiters(tall) == tall
    nested = cheap_delimiters(r"\left(a \left(\frac{1}{2}\right) b\right)")
    assert nested == r"\left(a \left(\frac{1}{2}\right) b\right)"
    assert cheap_delimiters(r"\left|x\right| + \left[y\right]") == "|x| + [y]"
    assert cheap_delimiters(r"\left. x \right|_{0}") == r" x |_{0}"


SCRIPT = """
import hashlib, json, sys
import ziamath
from ziamath.config import config
config.svg2 = False
config.precision = 2
corpus = json.loads(sys.argv[1])
for latex, inline in corpus:
    svg = ziamath.Latex(latex, size=20, inline=inline).svg()
    print(hashlib.sha256(svg.encode()).hexdigest())
"""


def test_speed_ups_leave_ziamaths_output_unchanged() -> None:
    """symgd swaps three ziamath internals for faster equivalents; the SVG must not change."""
    import json

    import ziamath

    from symgd.render.mathsvg import _ziamath

    corpus = [(cheap_delimiters(latex), inline) for latex in CORPUS for inline in (False, True)]
    plain = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(corpus)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=Path(__file__).parent,
    ).stdout.split()
    _ziamath()  # installs the speed-ups in this process
    from ziamath.nodes import mnode, mrow

    assert getattr(mnode.Mnode.size_px, "_symgd_cached", False)
    assert getattr(mrow.Mrow._get_height_nostretch, "_symgd_lazy", False)
    fast = [
        hashlib.sha256(ziamath.Latex(latex, size=20, inline=inline).svg().encode()).hexdigest()
        for latex, inline in corpus
    ]
    assert fast == plain


@pytest.mark.parametrize("latex", CORPUS)
def test_corpus_renders_without_fallback(latex: str) -> None:
    assert tex_to_svg(latex, display=True).startswith("<svg")


def test_as_images_turns_each_formula_into_the_same_svg_as_an_image() -> None:
    import base64
    import xml.etree.ElementTree as ET

    from symgd.render.mathsvg import as_images

    inline, display = tex_to_svg(r"\frac{a}{b} + x^2"), tex_to_svg(r"\nabla f", display=True)
    page = f"<p>see {inline} and</p><div class='formula'>{display}</div>"
    printed = as_images(page)
    assert "<svg" not in printed and printed.count("<img ") == 2
    for original, kind in ((str(inline), "math-inline"), (str(display), "math-display")):
        tag = re.search(rf'<img class="{kind}"[^>]*>', printed)
        assert tag is not None
        source = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', tag.group(0))
        assert source is not None
        tree = ET.fromstring(base64.b64decode(source.group(1)))  # a well-formed SVG document
        paths = [p.get("d") for p in tree.iter("{http://www.w3.org/2000/svg}path")]
        glyphs = [d.strip() for d in re.findall(r' d="([^"]*)"', original)]
        assert paths == [" ".join(glyphs)]  # the same outlines, as one path
        width = re.search(r'width="([^"]+)"', original)
        assert width is not None and f"width:{width.group(1)};" in tag.group(0)
    assert 'style="width:' in printed and "vertical-align:" in printed  # inline keeps baseline


def test_print_images_hold_one_outline_with_every_glyph_and_rule() -> None:
    import base64

    from symgd.render.mathsvg import _one_outline, as_images

    original = str(tex_to_svg(r"\frac{\partial f}{\partial x} = \lVert x \rVert", display=True))
    printed = as_images(original)
    source = re.search(r'base64,([^"]+)"', printed)
    assert source is not None
    document = base64.b64decode(source.group(1)).decode()
    assert document.count("<path ") == 1
    outline = re.search(r' d="([^"]*)"', document)
    assert outline is not None
    glyphs = [d.strip() for d in re.findall(r' d="([^"]*)"', original)]
    assert outline.group(1) == " ".join(glyphs)  # every glyph's contours, in order
    assert document.count("<rect ") == original.count("<rect ") >= 1  # the fraction bar
    odd = '<path d="M 0 0 L 1 1 Z" fill="currentColor"/><circle r="2"/>'
    assert _one_outline(odd) == odd  # anything unexpected is left alone
