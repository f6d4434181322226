"""Lesson context → HTML, through Jinja2 templates shipped inside the package.

``make_env`` builds a fresh environment each time (no module-global state for tests to reset):
autoescaping on, ``StrictUndefined`` so that a misspelt name fails loudly instead of printing
nothing. Templates are found in the installed ``symgd.templates`` package, or in the top-level
``templates/`` folder when running from a source checkout; ``templates_dir`` lets a user point at
a copy. A PDF exporter can reuse the same environment and HTML (print CSS is in the stylesheet).
"""

from __future__ import annotations

import contextvars
import importlib.resources
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from symgd.errors import InputError

if TYPE_CHECKING:
    import jinja2

LESSON_TEMPLATE = "lesson.html.jinja2"


def templates_path(templates_dir: str | Path | None = None) -> Path:
    """The folder the templates are read from."""
    if templates_dir is not None:
        folder = Path(templates_dir)
        if not (folder / LESSON_TEMPLATE).is_file():
            raise InputError(f"{folder} has no {LESSON_TEMPLATE}; is it a templates folder?")
        return folder
    try:
        packaged = importlib.resources.files("symgd.templates")
        candidate = Path(str(packaged))
        if (candidate / LESSON_TEMPLATE).is_file():
            return candidate
    except (ModuleNotFoundError, TypeError):
        pass
    source = Path(__file__).resolve().parent.parent / "templates"
    if (source / LESSON_TEMPLATE).is_file():
        return source
    raise FileNotFoundError("symgd's templates are missing from this installation")


def make_env(templates_dir: str | Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment with symgd's filters; ``templates_dir`` overrides the folder.

    A user's folder is searched first and symgd's own templates after it, so a copy may
    override just one partial.
    """
    import jinja2

    folders = [templates_path(templates_dir)]
    default = templates_path(None)
    if default not in folders:
        folders.append(default)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    env.globals["inline_file"] = _inliner(folders)
    return env


def render_html(lesson_context: Mapping[str, Any], env: jinja2.Environment | None = None) -> str:
    """Render the lesson page from its context."""
    env = env if env is not None else make_env()
    template = env.get_template(LESSON_TEMPLATE)
    return template.render(**lesson_context)


# -- filters ----------------------------------------------------------------------------------


_formulas: contextvars.ContextVar[list[tuple[str, bool]] | None] = contextvars.ContextVar(
    "symgd_formulas", default=None)


def formulas_in(
    template_context: Mapping[str, Any], env: jinja2.Environment, name: str = LESSON_TEMPLATE
) -> list[tuple[str, bool]]:
    """Every formula a page will typeset, as ``(latex, display)`` in page order, found by
    rendering it once with the math filters only taking notes (no typesetting)."""
    found: list[tuple[str, bool]] = []
    token = _formulas.set(found)
    try:
        env.get_template(name).render(**template_context)
    finally:
        _formulas.reset(token)
    return list(dict.fromkeys(found))


def math_inline(latex: str) -> Markup:
    """``{{ latex | math }}``: an inline formula as SVG."""
    return _math(str(latex), display=False)


def math_display(latex: str) -> Markup:
    """``{{ latex | dmath }}``: a display formula as SVG."""
    return _math(str(latex), display=True)


def _math(latex: str, display: bool) -> Markup:
    notes = _formulas.get()
    if notes is not None:
        notes.append((latex, display))
        return Markup("")
    from symgd.mathsvg import tex_to_svg

    return tex_to_svg(latex, display=display)


def number(value: Any, digits: int = 6) -> str:
    """A float with ``digits`` significant digits, written the way a person would."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    x = float(value)
    if math.isnan(x):
        return "undefined"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = f"10{_superscript(int(exponent))}"
        if mantissa in ("1", "-1"):
            return f"{mantissa[:-1]}{power}".replace("-", "−")
        return f"{mantissa} × {power}".replace("-", "−")
    return text.replace("-", "−")


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def inline_svg(svg: str) -> Markup:
    """Mark SVG produced by :mod:`symgd.plots` as safe (it never contains user text)."""
    return Markup(svg)


def png_data_uri(data: bytes) -> str:
    """PNG bytes as a ``data:`` URI for an ``<img>`` (kept inside the file)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def paragraphs(text: str) -> Markup:
    """Plain text with blank lines → escaped ``<p>`` elements."""
    parts = [p.strip() for p in re.split(r"\n\s*\n", str(text)) if p.strip()]
    return Markup("".join(f"<p>{escape(p)}</p>" for p in parts))


def _inliner(folders: list[Path]) -> Callable[[str], Markup]:
    def inline_file(name: str) -> Markup:
        """Read a static file (the stylesheet) to paste it into the page."""
        for folder in folders:
            path = folder / name
            if path.is_file():
                return Markup(path.read_text(encoding="utf-8"))
        raise FileNotFoundError(name)

    return inline_file


FILTERS: dict[str, Callable[..., Any]] = {
    "math": math_inline,
    "dmath": math_display,
    "number": number,
    "svg": inline_svg,
    "png_uri": png_data_uri,
    "paragraphs": paragraphs,
}
