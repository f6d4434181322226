"""Lesson context → HTML, through Jinja2 templates shipped inside the package.

``make_env`` builds a fresh environment each time (no module-global state for tests to reset):
autoescaping on, ``StrictUndefined`` so that a misspelt name fails loudly instead of printing
nothing. Templates are found in the installed ``symgd.templates`` package, or in the top-level
``templates/`` folder when running from a source checkout; ``templates_dir`` lets a user point at
a copy. A PDF exporter can reuse the same environment and HTML (print CSS is in the stylesheet).

Templates are data, not code: every environment is Jinja2's ``ImmutableSandboxedEnvironment``,
so a template cannot reach Python internals (``cycler.__init__.__globals__``) or change the
values it is given. Templates and the files ``inline_file()`` pastes are read only from inside
their folder (a ``..`` or absolute name, or a link that points out, is refused) and only when
they are regular files. A user's folder is checked when the environment is made, before any
slow work: every template in it is compiled, its literal includes must exist and the names it
reads must be ones the pages pass, so a syntax error, a missing include or a misspelt name is
an :class:`~symgd.base.errors.InputError` naming the file and line at once; an error that only shows
while rendering (a sandbox refusal, an undefined attribute) becomes one as well.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib.resources
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from symgd.base.errors import InputError
from symgd.base.files import read_input

if TYPE_CHECKING:
    import jinja2
    from jinja2 import nodes

LESSON_TEMPLATE = "lesson.html.jinja2"
#: file names a user's templates folder is checked for (every such file is compiled)
TEMPLATE_SUFFIXES = (".jinja2", ".jinja", ".j2")
#: largest template or inlined file read (bytes)
MAX_TEMPLATE_BYTES = 16 * 1024 * 1024
#: longest a user's template may take to render (seconds)
MAX_RENDER_SECONDS = 30.0
#: most template files a user's folder may hold
MAX_TEMPLATE_FILES = 1000
#: names the pages pass that symgd's own templates happen not to read
CONTEXT_EXTRAS = frozenset({"settings_values", "variants"})
_JINJA_NAMES = frozenset({"loop", "self", "super", "caller", "varargs", "kwargs"})


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
    source = Path(__file__).resolve().parents[2] / "templates"  # a source checkout
    if (source / LESSON_TEMPLATE).is_file():
        return source
    raise FileNotFoundError("symgd's templates are missing from this installation")


def make_env(templates_dir: str | Path | None = None) -> jinja2.Environment:
    """A sandboxed Jinja2 environment with symgd's filters; ``templates_dir`` overrides the
    folder.

    A user's folder is searched first and symgd's own templates after it, so a copy may
    override just one partial. The user's folder is checked here (:func:`check_templates`);
    a problem in it is an :class:`InputError` naming the template and line.
    """
    import jinja2

    folders = [templates_path(templates_dir)]
    default = templates_path(None)
    if default not in folders:
        folders.append(default)
    environment_class, loader_class = _jinja_classes()
    env: jinja2.Environment = environment_class(
        loader=loader_class(folders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=tidy_output,
        extensions=["jinja2.ext.i18n"],
    )
    _install_gettext(env)
    if templates_dir is None:  # symgd's own pages only: a user's folder is compiled each time
        from symgd.render.template_cache import compiled_templates_cache

        env.bytecode_cache = compiled_templates_cache(env)
    env.filters.update(FILTERS)
    env.globals["inline_file"] = _inliner(folders)
    if templates_dir is not None:
        env.user_folder = folders[0]  # type: ignore[attr-defined]  # read by Template.render
        check_templates(env, folders[0])
    return env


def _install_gettext(env: jinja2.Environment) -> None:
    """``{% trans %}``, ``_()`` and ``ngettext()`` in templates, in the language in effect
    (:func:`symgd.base.i18n.language`), and the shipped Hangul font for pages not in English."""
    from symgd.base import i18n

    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.globals["hangul_font_url"] = i18n.hangul_font_url
    env.globals["hangul_unicode_range"] = i18n.hangul_unicode_range


@functools.cache
def _jinja_classes() -> tuple[type[Any], type[Any]]:
    """The environment and loader classes (built on first use: Jinja2 loads lazily)."""
    import jinja2
    from jinja2.loaders import split_template_path
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Template(jinja2.Template):
        """A template whose errors, when a user's folder is in use, are :class:`InputError`."""

        def render(self, *args: Any, **kwargs: Any) -> str:
            folder = getattr(self.environment, "user_folder", None)
            try:
                if folder is None:
                    return _with_font(super().render(*args, **kwargs))
                with _deadline(MAX_RENDER_SECONDS, self.name or "a template"):
                    return _with_font(super().render(*args, **kwargs))
            except RenderTimeout:
                raise
            except Exception as exc:
                error = None if folder is None else template_error(exc, folder)
                if error is None:
                    raise
                raise error from None

    class Environment(ImmutableSandboxedEnvironment):
        """The sandbox, with the folder of a user's templates (``None``: symgd's own only)."""

        template_class = Template
        user_folder: Path | None = None

    class FolderLoader(jinja2.BaseLoader):
        """Templates from ``folders`` in order; only regular files inside their folder."""

        def __init__(self, folders: list[Path]) -> None:
            self.folders = [(folder, folder.resolve()) for folder in folders]

        def get_source(
            self, environment: jinja2.Environment, template: str
        ) -> tuple[str, str, Any]:
            pieces = split_template_path(template)  # refuses ".." parts
            for folder, root in self.folders:
                path = folder.joinpath(*pieces)
                if not os.path.lexists(path):
                    continue
                real = _inside(root, path, f"the template {template!r}")
                data = read_input(real, limit=MAX_TEMPLATE_BYTES, what="template")
                try:
                    source = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise jinja2.TemplateRuntimeError(
                        f"the template {path} is not UTF-8 text"
                    ) from None
                mtime = real.stat().st_mtime

                def uptodate(real: Path = real, mtime: float = mtime) -> bool:
                    try:
                        return real.stat().st_mtime == mtime
                    except OSError:
                        return False

                return source, str(path), uptodate
            raise jinja2.TemplateNotFound(template)

    return Environment, FolderLoader


def _with_font(html: str) -> str:
    """``html`` with its Hangul font embedded, cut down to its letters; a page still waiting
    for its figures (:class:`symgd.render.worker.Pending`) keeps the placeholder, and whoever
    fills the figures in embeds the font then (:func:`symgd.base.i18n.embed_hangul_font`)."""
    from symgd.base.i18n import embed_hangul_font
    from symgd.render.worker import PENDING_PREFIX

    return html if PENDING_PREFIX in html else embed_hangul_font(html)


class RenderTimeout(InputError):
    """A user's template rendered for longer than :data:`MAX_RENDER_SECONDS`."""


@contextlib.contextmanager
def _deadline(seconds: float, name: str) -> Iterator[None]:
    """Stop a user's template that renders for longer than ``seconds`` (an endless loop
    nested in a loop), with an :class:`InputError`; where no interval timer can be set (not
    the main thread, not POSIX) the block runs unbounded."""
    import signal
    import threading

    in_main_thread = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "setitimer") or not in_main_thread:
        yield
        return

    running = [True]

    def expire(_signum: int, _frame: Any) -> None:
        if not running[0]:
            return
        raise RenderTimeout(
            f"the template {name} took more than {seconds:g} s to render; "
            "a loop in it is probably too long"
        )

    previous = signal.signal(signal.SIGALRM, expire)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    # it fires again every 0.1 s: an exception raised while Python runs a __del__ or a
    # garbage-collector callback is dropped, and the next one gets through
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    finally:
        running[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


def _inside(root: Path, path: Path, what: str) -> Path:
    """``path`` with links resolved; a :class:`jinja2.exceptions.SecurityError` when that
    lies outside the folder ``root`` (already resolved)."""
    from jinja2.exceptions import SecurityError

    real = path.resolve()
    if not real.is_relative_to(root):
        raise SecurityError(
            f"{what} is outside the templates folder {root}; templates may "
            "read only files inside their folder"
        )
    return real


def check_templates(env: jinja2.Environment, folder: Path) -> None:
    """Check every template in the user's ``folder`` that differs from symgd's own.

    Each is read as rendering reads it (inside the folder, a regular file), parsed and run
    through Jinja2's code generator. :class:`InputError` naming the file and line for a syntax
    error, an unknown filter or test, an include, import or extends of a template that exists
    nowhere, or a name that no page passes to the templates (nor is set by a template, a loop
    or a macro).
    """
    import jinja2
    from jinja2 import meta, nodes

    shipped = templates_path(None)
    found: list[tuple[str, nodes.Template]] = []
    for path in _template_files(folder):
        name = path.relative_to(folder).as_posix()
        try:
            source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
            if _same_text(shipped / name, source):
                continue  # a copy of symgd's own template
            found.append((filename or name, env.parse(source, name, filename)))
        except jinja2.TemplateError as exc:
            raise template_error(exc, folder) or InputError(str(exc)) from None
    if not found:
        return
    known = set(env.globals) | _JINJA_NAMES | CONTEXT_EXTRAS | _shipped_names(str(shipped))
    for _, tree in found:
        known |= _bound_names(tree)
    for filename, tree in found:
        try:
            undeclared = meta.find_undeclared_variables(tree)  # generates the code
        except jinja2.TemplateSyntaxError as exc:  # an unknown filter or test
            exc.filename = filename
            raise template_error(exc, folder) or InputError(str(exc)) from None
        for node in tree.find_all(nodes.Stmt):
            if not isinstance(
                node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport
            ):
                continue
            target = node.template
            if not isinstance(target, nodes.Const) or not isinstance(target.value, str):
                continue
            if isinstance(node, nodes.Include) and node.ignore_missing:
                continue
            try:
                env.loader.get_source(env, target.value)  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                raise InputError(
                    f"template {filename}, line {node.lineno}: there is no "
                    f"template {target.value!r} in {folder} or among symgd's "
                    "own"
                ) from None
            except jinja2.TemplateError as exc:
                raise InputError(
                    f"template {filename}, line {node.lineno}: {_one_line(exc.message or str(exc))}"
                ) from None
        unknown = undeclared - known - _guarded_names(tree)
        if unknown:
            line, name = min(
                (n.lineno, n.name) for n in tree.find_all(nodes.Name) if n.name in unknown
            )
            raise InputError(
                f"template {filename}, line {line}: {name!r} is undefined (no "
                "page passes a value of that name)"
            )


def _template_files(folder: Path) -> list[Path]:
    """The template files under ``folder`` (links to folders are not followed)."""
    files: list[Path] = []
    for parent, _dirs, names in os.walk(folder):
        files += [Path(parent) / n for n in names if n.endswith(TEMPLATE_SUFFIXES)]
        if len(files) > MAX_TEMPLATE_FILES:
            raise InputError(
                f"{folder} holds more than {MAX_TEMPLATE_FILES} template files; "
                "is it a templates folder?"
            )
    return sorted(files)


def _same_text(path: Path, source: str) -> bool:
    try:
        return path.is_file() and path.read_text(encoding="utf-8") == source
    except (OSError, UnicodeDecodeError):
        return False


@functools.cache
def _shipped_names(folder: str) -> frozenset[str]:
    """Every name symgd's own templates use: those the pages pass and those they set."""
    import jinja2
    from jinja2 import nodes

    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    names: set[str] = set()
    for path in _template_files(Path(folder)):
        tree = env.parse(path.read_text(encoding="utf-8"))
        names |= {n.name for n in tree.find_all(nodes.Name)}
    return frozenset(names)


def _bound_names(tree: nodes.Template) -> set[str]:
    """Names a template sets: ``set``, loop targets, macro parameters, imports."""
    from jinja2 import nodes

    return {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")} | {
        alias if isinstance(alias, str) else alias[-1]
        for node in tree.find_all(nodes.FromImport)
        for alias in node.names
    }


def _guarded_names(tree: nodes.Template) -> set[str]:
    """Names a template tests before use: ``x is defined``, ``x | default(...)``."""
    from jinja2 import nodes

    tests = [n for n in tree.find_all(nodes.Test) if n.name in ("defined", "undefined")]
    defaults = [n for n in tree.find_all(nodes.Filter) if n.name in ("default", "d")]
    return {n.node.name for n in [*tests, *defaults] if isinstance(n.node, nodes.Name)}


def template_error(exc: BaseException, folder: Path) -> InputError | None:
    """``exc``, raised while loading or rendering templates with a user's ``folder``, as an
    :class:`InputError` naming the template file and line; ``None`` when it is not the
    templates' fault (a Python error outside the user's templates)."""
    import jinja2

    where: tuple[str, int] | None = None
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
        where = (exc.filename or exc.name or "<template>", exc.lineno)
    else:
        tb = exc.__traceback__
        while tb is not None:  # Jinja2 rewrites the frames of templates to their own lines
            if "__jinja_exception__" in tb.tb_frame.f_globals:
                where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
            tb = tb.tb_next
    if isinstance(exc, InputError):  # a file the templates read is refused
        text = str(exc)
    elif isinstance(exc, jinja2.TemplateNotFound):
        text = f"there is no template {exc.name!r} in {folder} or among symgd's own"
    elif isinstance(exc, jinja2.exceptions.SecurityError):
        text = f"refused by the template sandbox: {_one_line(str(exc))}"
    elif isinstance(exc, jinja2.TemplateError):
        text = _one_line(exc.message or type(exc).__name__)
    elif where is not None and Path(where[0]).is_relative_to(folder):
        text = f"{type(exc).__name__}: {_one_line(str(exc))}"
    else:
        return None
    place = f"template {where[0]}, line {where[1]}: " if where is not None else "templates: "
    return InputError(place + text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_html(lesson_context: Mapping[str, Any], env: jinja2.Environment | None = None) -> str:
    """Render the lesson page from its context."""
    env = env if env is not None else make_env()
    template = env.get_template(LESSON_TEMPLATE)
    return template.render(**lesson_context)


# -- filters ----------------------------------------------------------------------------------


_formulas: contextvars.ContextVar[list[tuple[str, bool]] | None] = contextvars.ContextVar(
    "symgd_formulas", default=None
)


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


def tidy_output(value: Any) -> Any:
    """Every ``{{ value }}`` a page prints: plain text with its relations and signs tidied
    (``= ≈`` → ``≈``, ``+ −2`` → ``− 2``, see :func:`symgd.render.latex.tidy_text`); markup
    and other values as they are."""
    if isinstance(value, str) and not isinstance(value, Markup):
        from symgd.render.latex import tidy_text

        return tidy_text(value)
    return value


def _math(latex: str, display: bool) -> Markup:
    from symgd.render.latex import tidy_tex

    latex = tidy_tex(latex)
    notes = _formulas.get()
    if notes is not None:
        notes.append((latex, display))
        return Markup("")
    from symgd.render.mathsvg import tex_to_svg

    return tex_to_svg(latex, display=display)


def number(value: Any, digits: int = 6) -> str:
    """A float with ``digits`` significant digits, written the way a person would."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    x = float(value)
    if math.isnan(x):
        from symgd.base.i18n import pgettext

        return pgettext("number", "undefined")
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
    """Mark SVG produced by :mod:`symgd.render.figures` as safe (it never contains user text)."""
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
    roots = [(folder, folder.resolve()) for folder in folders]

    def inline_file(name: str) -> Markup:
        """Read a static file (the stylesheet) from the templates folder to paste it into the
        page; a name that leads outside the folder is refused."""
        import jinja2

        for _folder, root in roots:
            path = _inside(root, root / str(name), f"inline_file({str(name)!r})")
            if not path.exists():
                continue
            data = read_input(path, limit=MAX_TEMPLATE_BYTES, what="file")
            try:
                return Markup(data.decode("utf-8"))
            except UnicodeDecodeError:
                raise jinja2.TemplateRuntimeError(
                    f"inline_file({str(name)!r}): {path} is not UTF-8 text"
                ) from None
        raise jinja2.TemplateRuntimeError(
            f"inline_file({str(name)!r}): there is no such file in the templates folder"
        )

    return inline_file


FILTERS: dict[str, Callable[..., Any]] = {
    "math": math_inline,
    "dmath": math_display,
    "number": number,
    "svg": inline_svg,
    "png_uri": png_data_uri,
    "paragraphs": paragraphs,
}
