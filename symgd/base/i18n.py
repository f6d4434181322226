"""The language of the prose symgd writes: ``--lang``, ``SYMGD_LANG``, ``lang=``.

Every sentence a reader sees goes through :func:`_` (``gettext``) or :func:`n_` (``ngettext``),
which look it up in the compiled catalog ``symgd/locale/<lang>/LC_MESSAGES/symgd.mo`` of the
language in effect (English, the source language, needs none). The language is set for a block
of work with :func:`language` and read back with :func:`current`; it lives in a context variable,
so threads and tasks do not see each other's. Machine values (JSON keys, activation names,
option values) stay English whatever the language.

>>> with language("ko"):
...     _("layer {k}").format(k=3)
'3번째 층'
>>> _("layer {k}").format(k=3)
'layer 3'
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext as _gettext
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from symgd.base.errors import InputError

#: the languages symgd writes, the first the default
LANGUAGES = ("en", "ko")
DEFAULT = "en"
DOMAIN = "symgd"
#: the environment variable read when ``--lang`` is not given
ENV_VAR = "SYMGD_LANG"
#: a folder of compiled catalogs to read instead of the shipped ones (a translator's preview)
LOCALE_ENV_VAR = "SYMGD_LOCALE_DIR"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
#: symgd's Hangul font: a subset of NanumGothic (SIL OFL 1.1), renamed as the licence asks
FONT_DIR = Path(__file__).resolve().parents[1] / "fonts"
HANGUL_FONT = "SymgdHangul-Regular.ttf"
HANGUL_FAMILY = "Symgd Hangul"
#: the Hangul blocks the font's @font-face serves (Jamo, compatibility Jamo, syllables)
HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7A3))
#: spaces the font also carries: a PDF step shapes the space between two Hangul words with the
#: Hangul font (a browser takes it from the Latin font: ``unicode-range`` leaves it out)
SPACES = frozenset({0x20, 0xA0})

_current: contextvars.ContextVar[str] = contextvars.ContextVar("symgd_lang", default=DEFAULT)


def check_language(lang: str | None) -> str:
    """``lang`` as one of :data:`LANGUAGES` (``"KO"``, ``"ko_KR.UTF-8"`` → ``"ko"``);
    ``None`` → the default; anything else is an :class:`InputError` naming the choices."""
    if lang is None:
        return DEFAULT
    code = str(lang).strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    if code not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    return code


def language_from(option: str | None, env: Mapping[str, str] | None = None) -> str:
    """The language a command writes in: ``--lang`` if given, else ``SYMGD_LANG``, else
    English."""
    environment = os.environ if env is None else env
    if option is not None and option != "":
        return check_language(option)
    value = environment.get(ENV_VAR, "")
    return check_language(value) if value.strip() else DEFAULT


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English: no catalog, every message is its own text)."""
    code = check_language(lang)
    if code == DEFAULT:
        return _gettext.NullTranslations()
    folder = Path(os.environ.get(LOCALE_ENV_VAR) or LOCALE_DIR)
    path = folder / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as handle:
        return _gettext.GNUTranslations(handle)


def current() -> str:
    """The language in effect."""
    return _current.get()


@contextlib.contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Write in ``lang`` inside the block (``None``: keep the language in effect)."""
    code = current() if lang is None else check_language(lang)
    token = _current.set(code)
    try:
        yield code
    finally:
        _current.reset(token)


def set_language(lang: str | None) -> str:
    """Write in ``lang`` from now on in this context (prefer :func:`language` for a block)."""
    code = check_language(lang)
    _current.set(code)
    return code


def gettext(message: str) -> str:
    """``message`` in the language in effect."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` (by ``n``) in the language in effect, with its plural rules."""
    return translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the language in effect, told apart from the same words elsewhere by
    ``context``."""
    return translations(current()).pgettext(context, message)


_ = gettext
n_ = ngettext


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it yet (translate it with :func:`_`
    where it is shown)."""
    return message


# -- the text of a catalog, and the Hangul font that draws it -----------------------------------


def catalog_text(lang: str) -> str:
    """Every translated message of ``lang``'s compiled catalog, joined (for font coverage)."""
    catalog = translations(lang)
    messages = getattr(catalog, "_catalog", {})
    return "\n".join(str(text) for key, text in sorted(messages.items(), key=repr) if key)


def is_hangul(char: str) -> bool:
    """Whether ``char`` lies in one of :data:`HANGUL_RANGES`."""
    return any(lo <= ord(char) <= hi for lo, hi in HANGUL_RANGES)


def hangul_font_path() -> Path:
    """The shipped Hangul font file."""
    return FONT_DIR / HANGUL_FONT


#: what a template writes for the Hangul font's URL; :func:`embed_hangul_font` replaces it by
#: a ``data:`` URL of the font cut down to the page's own letters
HANGUL_FONT_PLACEHOLDER = "symgd-hangul-font-url"


def hangul_font_url() -> str:
    """The Hangul font's URL in a template (a placeholder until the page is whole)."""
    return HANGUL_FONT_PLACEHOLDER


def embed_hangul_font(html: str) -> str:
    """``html`` with the font placeholder replaced by the shipped Hangul font cut down to the
    Hangul letters the page uses (a few kB instead of the whole font's 700 kB)."""
    if HANGUL_FONT_PLACEHOLDER not in html:
        return html
    letters = "".join(sorted(c for c in set(html) if is_hangul(c)))
    return html.replace(HANGUL_FONT_PLACEHOLDER, hangul_font_data_url(letters))


@functools.lru_cache(maxsize=8)
def hangul_font_data_url(letters: str) -> str:
    """The shipped Hangul font, cut down to ``letters`` and :data:`SPACES`, as a ``data:`` URL
    for an HTML page's ``@font-face``."""
    import base64
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(hangul_font_path()), recalcTimestamp=False)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = ["*"]
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=sorted({ord(c) for c in letters} | SPACES))
    cutter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return "data:font/ttf;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def hangul_unicode_range() -> str:
    """:data:`HANGUL_RANGES` as a CSS ``unicode-range``."""
    return ", ".join(f"U+{lo:04X}-{hi:04X}" for lo, hi in HANGUL_RANGES)


def common_syllables() -> str:
    """The 2,350 Hangul syllables of KS X 1001 (the syllables of everyday Korean text, so that
    a Korean variable name or a new translation rarely needs a syllable the font lacks)."""
    chars = (chr(code) for code in range(0xAC00, 0xD7A4))
    return "".join(c for c in chars if len(c.encode("euc-kr", errors="ignore")) == 2)


def build_hangul_font(source: str | Path, target: str | Path | None = None, text: str = "") -> Path:
    """Write :data:`HANGUL_FONT`: the Hangul of every catalog (and of ``text``), the 2,350
    syllables of :func:`common_syllables`, the compatibility Jamo and :data:`SPACES`, cut from
    ``source`` (NanumGothic.ttf) with fontTools and renamed :data:`HANGUL_FAMILY` (a modified
    NanumGothic may not keep its reserved name).

    A maintainer's step, run after a translation adds syllables (see CONTRIBUTING.md)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    catalogs = "".join(catalog_text(lang) for lang in LANGUAGES if lang != DEFAULT)
    wanted = text + catalogs + common_syllables()
    codes = {ord(c) for c in wanted if is_hangul(c)} | set(range(0x3131, 0x318F)) | SPACES
    font = TTFont(str(source), recalcTimestamp=False)
    options = subset.Options()
    options.hinting = False
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = ["*"]
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=sorted(codes))
    cutter.subset(font)
    _rename(font)
    path = Path(target) if target is not None else hangul_font_path()
    font.save(str(path))
    return path


def _rename(font: Any) -> None:
    """Replace the font's names (the OFL's Reserved Font Names among them) by
    :data:`HANGUL_FAMILY`; the copyright, version, designer and licence records stay."""
    table = font["name"]
    table.names = [r for r in table.names if r.nameID in (0, 5, 8, 9, 11, 12, 13, 14)]
    postscript = HANGUL_FAMILY.replace(" ", "") + "-Regular"
    records = {
        1: HANGUL_FAMILY,
        2: "Regular",
        3: postscript,
        4: HANGUL_FAMILY + " Regular",
        6: postscript,
        10: "A subset of NanumGothic (NAVER), renamed; SIL Open Font License 1.1.",
    }
    for name_id, value in records.items():
        table.setName(value, name_id, 3, 1, 0x409)
        table.setName(value, name_id, 1, 0, 0)
