"""LaTeX → inline SVG, in pure Python, for both the HTML report and the PDF handout.

Everything math-related in the output goes through :func:`tex_to_svg`, so a better renderer can
replace ziamath behind the same function. The SVG is sized in ``em`` so that a formula follows
the font size of the text around it; inline formulas sit on the text's baseline.

ziamath's SVG 2 output defines each glyph once per formula under an id that repeats across
formulas; two formulas in one page then fight over the same ids. With ``svg2 = False`` every
glyph is a plain ``<path>`` and no id is emitted at all; :func:`_unique_ids` still renames any id
that a future renderer might produce, so ids stay unique within a document.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from symgd.base.cache import entry_name, read_entry, write_entries

#: base font size handed to ziamath (px); the SVG is rescaled to ``em`` afterwards
_SIZE = 20.0
#: formula size relative to the surrounding text (a page's CSS may scale it further)
_SCALE = 1.0
#: delimiters that need ``\left``/``\right`` only around tall content
_TALL = re.compile(r"\\(?:frac|dfrac|tfrac|begin|sum|prod|int|binom|substack|over)\b")
_ID = re.compile(r'\bid="([^"]+)"')
_counter = itertools.count(1)


def tex_to_svg(latex: str, display: bool = False) -> Markup:
    """Render ``latex`` as an inline ``<svg>`` element (``display`` for a block formula).

    The SVG carries ``role="img"``, an ``aria-label`` and a ``<title>`` holding the LaTeX. If the
    renderer cannot typeset the input, the LaTeX itself is returned in a ``<code>`` element
    rather than failing the whole report.
    """
    return Markup(_unique_ids(typeset(latex, display)))


#: typeset formulas by (latex, display); filled here or handed over by :func:`remember`
_CACHE: dict[tuple[str, bool], str] = {}
_CACHE_SIZE = 4096


def typeset(latex: str, display: bool) -> str:
    """The SVG text for a formula (cached in memory, and on disk between runs: see
    :func:`_kept`), before ids are made unique for its page."""
    key = (latex, display)
    svg = _CACHE.get(key)
    if svg is None:
        folder = _kept()
        name = entry_name(latex, display)
        data = None if folder is None else read_entry(folder, name)
        svg = _decoded(data)
        if svg is None:
            svg = _render(latex, display)
            if folder is not None and not svg.startswith("<code"):  # not a fallback
                write_entries(folder, {name: svg.encode()})
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = svg
    return svg


def _decoded(data: bytes | None) -> str | None:
    """A kept formula's SVG text, or None when there is none or it is not one."""
    if data is None:
        return None
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    return text if text.startswith("<svg") and text.endswith("</svg>") else None


def _kept() -> Path | None:
    """The folder of formulas typeset by earlier runs (:mod:`symgd.base.cache`): named for
    this file's code, the renderer's installed files and the sizes, so that a change to any of
    them starts afresh. About half of a lesson's formulas are the same for every function, and
    all of them when a lesson is made again; reading one is much cheaper than typesetting it,
    and a run whose formulas are all kept never loads the renderer at all."""
    from symgd.base.cache import cache_folder, cache_root

    if cache_root() is None:  # caching is off: do not even look at the renderer's files
        return None
    return cache_folder("formulas", *_made_by())


@functools.cache
def _made_by() -> tuple[Any, ...]:
    """What a typeset formula depends on besides its LaTeX: this file, the renderer's
    installed files (their names, sizes and times, and the version in their metadata folder's
    name; found without importing them) and the sizes."""
    import importlib.util

    renderer: list[tuple[Any, ...]] = []
    for package in ("ziamath", "ziafont", "latex2mathml"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.origin:
            renderer.append((package, None))
            continue
        folder = Path(spec.origin).parent
        files = []
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            found = path.stat()
            files.append((str(path.relative_to(folder)), found.st_size, found.st_mtime_ns))
        versions = sorted(p.name for p in folder.parent.glob(f"{package}-*.dist-info"))
        renderer.append((package, str(folder), versions, files))
    code = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()
    return code, tuple(renderer), _SIZE, _SCALE


def width_em(latex: str, display: bool = True) -> float:
    """How wide ``latex`` is typeset, in em of the surrounding text (``inf`` when it cannot be
    typeset): a page builder uses it to choose a narrower form for a formula too wide to read
    without shrinking it."""
    match = re.search(r'width="([\d.]+)em"', typeset(latex, display))
    return float(match.group(1)) if match else float("inf")


def remember(formulas: dict[tuple[str, bool], str]) -> None:
    """Add formulas typeset elsewhere (by :func:`typeset` in another process) to the cache."""
    for key, svg in formulas.items():
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = svg


def _render(latex: str, display: bool) -> str:
    kind = "math-display" if display else "math-inline"
    try:
        svg, depth = _typeset(cheap_delimiters(latex), display)
    except Exception:  # the renderer raises many types on input it cannot handle
        return f'<code class="math-fallback {kind}">{escape(latex)}</code>'
    return _decorate(svg, depth, latex, kind)


def cheap_delimiters(latex: str) -> str:
    r"""Turn ``\left( ... \right)`` into plain parentheses when nothing inside is tall.

    Stretchy delimiters cost ziamath a full re-layout of their content (and again inside every
    matrix cell); around ordinary one-line content they look the same as plain ones.
    """
    out: list[str] = []
    stack: list[int] = []  # indices into ``out`` of open \left tokens
    pattern = re.compile(
        r"\\left(\\\{|\\langle|\\lVert|\\lvert|[(\[|.])|\\right(\\\}|\\rangle|"
        r"\\rVert|\\rvert|[)\]|.])"
    )
    pos = 0
    for match in pattern.finditer(latex):
        out.append(latex[pos : match.start()])
        pos = match.end()
        if match.group(1) is not None:
            stack.append(len(out))
            out.append(match.group(0))
        else:
            if not stack:
                out.append(match.group(0))
                continue
            start = stack.pop()
            inner = "".join(out[start + 1 :])
            if not _TALL.search(inner):
                out[start] = _plain(out[start][len(r"\left") :])
                out.append(_plain(match.group(0)[len(r"\right") :]))
            else:
                out.append(match.group(0))
    out.append(latex[pos:])
    return "".join(out)


def _plain(delimiter: str) -> str:
    return {
        ".": "",
        "(": "(",
        ")": ")",
        "[": "[",
        "]": "]",
        "|": "|",
        r"\{": r"\{",
        r"\}": r"\}",
    }.get(delimiter, delimiter)


def _typeset(latex: str, display: bool) -> tuple[str, float]:
    zm = _ziamath()
    math = zm.Latex(latex, size=_SIZE, inline=not display)
    svg: str = math.svg()
    bbox = math.node.bbox
    depth = max(0.0, -bbox.ymin) + math.margin
    return svg, depth


@functools.cache
def _ziamath() -> Any:
    import warnings

    with warnings.catch_warnings():  # ziamath 0.13 loads its fonts with a deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        import ziamath
        from ziamath.config import config

    config.svg2 = False
    config.precision = 2
    _install_fast_styles()
    _install_size_cache()
    _install_lazy_row_heights()
    return ziamath


_STYLE_FIELDS = (
    "mathvariant",
    "displaystyle",
    "mathcolor",
    "mathbackground",
    "mathsize",
    "scriptlevel",
)
_INHERITED = frozenset(_STYLE_FIELDS) - {"mathvariant"}


def _install_fast_styles() -> None:
    """Swap ziamath's style parser for an equivalent that does not deep-copy the parent.

    ``ziamath.styles.parse_style`` turns the parent's style into a dict with
    ``dataclasses.asdict`` (a recursive deep copy) for every node it lays out, about a third
    of the typesetting time. :func:`fast_parse_style` reads the same attributes in the same
    order of precedence. It is installed only when ziamath's style classes have exactly the
    fields it knows, so a future ziamath falls back to its own parser.
    """
    import dataclasses
    import importlib

    from ziamath import styles

    names = tuple(f.name for f in dataclasses.fields(styles.MathStyle))
    variant = tuple(f.name for f in dataclasses.fields(styles.MathVariant))
    if set(names) != set(_STYLE_FIELDS) or variant != ("style", "italic", "bold", "normal"):
        return
    original = styles.parse_style
    for module in ("ziamath.styles", "ziamath.zmath", "ziamath.nodes.mnode", "ziamath.nodes.mfrac"):
        target = importlib.import_module(module)
        if getattr(target, "parse_style", None) is original:
            target.parse_style = fast_parse_style  # type: ignore[attr-defined]


def _install_size_cache() -> None:
    """Memoise ziamath's ``Mnode.size_px``: it rebuilds a table of named sizes and parses the
    size string on every call, for the same few strings thousands of times per page.

    Its result depends only on the size string and the font size (``self`` supplies the
    default font size and nothing else), so caching on that pair returns identical numbers.
    """
    from ziamath.nodes import mnode

    node_class: Any = mnode.Mnode
    original: Any = node_class.size_px
    if getattr(original, "_symgd_cached", False):
        return

    @functools.lru_cache(maxsize=8192)
    def cached(size: str, fontsize: float) -> float:
        return float(original(None, size, fontsize))

    def size_px(self: Any, size: Any, fontsize: float | None = None) -> float:
        if fontsize is None:
            fontsize = self.glyphsize
        if not isinstance(size, str):
            return float(original(self, size, fontsize))
        return cached(size, fontsize)

    size_px._symgd_cached = True  # type: ignore[attr-defined]
    node_class.size_px = size_px


def _install_lazy_row_heights() -> None:
    """Skip ziamath's second layout of a row when nothing in it can stretch.

    Before laying out a row, ``Mrow._get_height_nostretch`` lays out every child once more
    to learn how tall stretchy operators (fences, bars) must grow; nested rows repeat this at
    every level, so the work doubles with each level of nesting. The heights it returns are
    read only by operators that stretch, so for a row whose subtree holds none the answer is
    never used and the second layout can be skipped, with identical output.
    """
    from ziamath import operators
    from ziamath.nodes import mrow

    row_class: Any = mrow.Mrow
    original: Any = row_class._get_height_nostretch
    if getattr(original, "_symgd_lazy", False):
        return
    stretchy = frozenset(
        name
        for (name, _form), params in operators.operators.items()
        if params.get("stretchy", "false") != "false"
    )
    names = frozenset(operators.names)

    def may_stretch(element: Any) -> bool:
        if element.tag not in ("mo", "mi"):
            return False
        text = (element.text or "").strip()
        if element.tag == "mi" and text not in names:
            return False
        flag = element.get("stretchy")
        if flag is not None:
            return bool(flag != "false")
        return text in stretchy or any(ch in stretchy for ch in text)

    def height(self: Any, line: Any, **kwargs: Any) -> tuple[float, float]:
        if any(may_stretch(e) for child in line for e in child.iter()):
            width, depth = original(self, line, **kwargs)
            return float(width), float(depth)
        return 0.0, 0.0

    height._symgd_lazy = True  # type: ignore[attr-defined]
    row_class._get_height_nostretch = height


def fast_parse_style(element: Any, parent_style: Any = None) -> Any:
    """``ziamath.styles.parse_style`` without copying the parent style (same result)."""
    from ziamath import styles
    from ziamath.config import config

    attrib = element.attrib

    def get(key: str, default: Any) -> Any:
        if key in attrib:
            return attrib[key]
        if parent_style is not None and key in _INHERITED:
            return getattr(parent_style, key)
        return default

    parent_variant = parent_style.mathvariant if parent_style else styles.MathVariant()
    if "displaystyle" in attrib or parent_style is not None:
        display = get("displaystyle", None) in ("true", True)
    elif "display" in attrib:
        display = attrib.get("display", "block") != "inline"
    else:
        display = True
    color = get("mathcolor", config.math.color)
    background = get("mathbackground", config.math.background)
    for item in str(attrib.get("style", "")).split(";"):
        if not item:
            continue
        key, value = item.split(":")
        key, value = key.strip().lower(), value.strip()
        if key == "background":
            background = value
        elif key == "color":
            color = value
    return styles.MathStyle(
        mathvariant=styles.parse_variant(
            attrib.get("mathvariant", config.math.variant), parent_variant
        ),
        displaystyle=display,
        mathcolor=color,
        mathbackground=background,
        mathsize=get("mathsize", ""),
        scriptlevel=int(get("scriptlevel", 0)),
    )


_OPEN = re.compile(r'<svg [^>]*?width="([\d.]+)" height="([\d.]+)"([^>]*)>')


def _decorate(svg: str, depth: float, latex: str, kind: str) -> str:
    match = _OPEN.match(svg)
    if match is None:
        raise ValueError("unexpected SVG from the math renderer")
    width, height = float(match.group(1)), float(match.group(2))
    view_box = re.search(r'viewBox="([^"]+)"', match.group(3))
    label = escape(latex)
    em = _SIZE / _SCALE
    style = f"vertical-align:{-depth / em:.3f}em" if kind == "math-inline" else ""
    head = (
        f'<svg class="{kind}" role="img" '
        f'aria-label="{label}" width="{width / em:.3f}em" height="{height / em:.3f}em" '
        f'viewBox="{view_box.group(1) if view_box else f"0 0 {width} {height}"}"'
        + (f' style="{style}"' if style else "")
        + f"><title>{label}</title>"
    )
    body = svg[match.end() :]
    body = re.sub(r"<title>.*?</title>", "", body, flags=re.S)
    body = body.replace('fill="black"', 'fill="currentColor"').replace(
        'stroke="black"', 'stroke="currentColor"'
    )
    body = re.sub(r" />", "/>", body)
    return head + body


def _unique_ids(svg: str) -> str:
    """Prefix every id (and every reference to it) so that ids are unique in a document."""
    ids = _ID.findall(svg)
    if not ids:
        return svg
    digest = hashlib.sha1(svg.encode()).hexdigest()[:6]
    prefix = f"m{digest}{next(_counter)}-"
    names = "|".join(re.escape(name) for name in sorted(set(ids), key=len, reverse=True))
    return re.sub(rf'(\bid="|#)({names})(?=["\)])', rf"\g<1>{prefix}\g<2>", svg)


_GLYPH = re.compile(r'<path d="([^"]*)"(?: fill="currentColor")?/>')
_GROUP = re.compile(r'<g fill="currentColor">((?:<path d="[^"]*"/>)*)</g>')
_OTHER = re.compile(r"<rect [^<>]*/>")


def _one_outline(body: str) -> str:
    """All glyph outlines of a formula as one path (each ``<path>`` costs a PDF renderer
    about as much as its points do). Every glyph is filled with the text colour and the
    outlines of one font wind alike, so the union fills the same area. A body with anything
    but glyph paths, their plain groups and rules (rects) is left as it is."""
    flat = _GROUP.sub(lambda m: m.group(1), body)
    rest = _OTHER.sub("", _GLYPH.sub("", flat))
    if rest.strip() or "<path" not in flat:
        return body
    outline = " ".join(m.group(1).strip() for m in _GLYPH.finditer(flat))
    rules = "".join(_OTHER.findall(flat))
    return f'<path d="{outline}" fill="currentColor"/>{rules}'


#: smallest scale print rules may shrink a formula to (below it the text is not readable)
MIN_PRINT_SCALE = 0.8


def _readable_floor(width: str) -> str:
    """A ``min-width`` that keeps a formula at :data:`MIN_PRINT_SCALE` of its size or more."""
    match = re.fullmatch(r"([\d.]+)em", width)
    if match is None:
        return ""
    return f"min-width:{float(match.group(1)) * MIN_PRINT_SCALE:.3f}em;"


_FORMULA = re.compile(r'<svg class="(math-inline|math-display)"([^>]*)>(.*?)</svg>', re.S)
_ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')


def as_images(page: str) -> str:
    """``page`` with every formula SVG turned into an ``<img>`` of the same SVG (a data URL).

    For print: WeasyPrint then parses each distinct formula once, with an XML parser, and keeps
    its glyph outlines out of the HTML tree it styles and lays out. The image is as wide as the
    SVG was; its height follows from the aspect ratio, so print rules may shrink a wide formula.
    """

    def image(match: re.Match[str]) -> str:
        kind, attributes, body = match.group(1), match.group(2), match.group(3)
        found = dict(_ATTRIBUTE.findall(attributes))
        body = _one_outline(re.sub(r"<title>.*?</title>", "", body, count=1, flags=re.S))
        document = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{found.get("viewBox", "")}"'
            f' fill="black">{body.replace("currentColor", "black")}</svg>'
        )
        source = "data:image/svg+xml;base64," + base64.b64encode(document.encode()).decode()
        width = found.get("width", "auto")
        style = f"width:{width};" + _readable_floor(width) + found.get("style", "")
        return (
            f'<img class="{kind}" alt="{found.get("aria-label", "")}" style="{style}" '
            f'src="{source}">'
        )

    return _FORMULA.sub(image, page)
