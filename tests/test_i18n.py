"""Korean (``--lang ko``): the catalogs, the language switch, the shipped Hangul font, and the
vanishing-gradients page read in Korean in the HTML, the figures, the PDF and the terminal,
with the English page unchanged."""

from __future__ import annotations

import gettext
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hangul_fonts import hangul_drawing

from symgd.base import i18n
from symgd.base.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "symgd" / "locale"
PO = LOCALE / "ko" / "LC_MESSAGES" / "symgd.po"
MO = LOCALE / "ko" / "LC_MESSAGES" / "symgd.mo"
FONT = ROOT / "symgd" / "fonts" / "SymgdHangul-Regular.ttf"
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
#: {name} (not {{ }}), %(name)s
PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]*)\}(?!\})|%\(([a-z_]+)\)s")
#: the glossary's terms the vanish page must use (docs/glossary-ko.md)
TERMS = ["기울기 소실", "활성화 함수", "연쇄 법칙", "역전파", "경사하강법", "학습률", "가중치"]


#: names that stay in Latin letters in Korean too (docs/glossary-ko.md)
NAMES = {"Adagrad", "Adam", "RMSProp", "SGD (B = 1)", "beta1", "beta2"}


def _catalog() -> Any:
    from babel.messages.pofile import read_po

    with PO.open("rb") as handle:
        return read_po(handle, locale="ko")


def _forms(value: str | tuple[str, ...] | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _placeholders(text: str) -> list[str]:
    return sorted(a or b for a, b in PLACEHOLDER.findall(text))


# -- the language switch ----------------------------------------------------------------------


def test_language_comes_from_the_option_then_the_environment_then_english() -> None:
    assert i18n.language_from(None, env={}) == "en"
    assert i18n.language_from(None, env={"SYMGD_LANG": "ko"}) == "ko"
    assert i18n.language_from(None, env={"SYMGD_LANG": "ko_KR.UTF-8"}) == "ko"
    assert i18n.language_from("en", env={"SYMGD_LANG": "ko"}) == "en"
    assert i18n.language_from("KO", env={}) == "ko"
    with pytest.raises(InputError, match=r"unknown language 'fr'; choose from en, ko"):
        i18n.language_from("fr", env={})
    with pytest.raises(InputError, match="choose from en, ko"):
        i18n.language_from(None, env={"SYMGD_LANG": "de"})


def test_the_language_holds_inside_its_block_only() -> None:
    assert i18n.current() == "en"
    with i18n.language("ko"):
        assert i18n.current() == "ko"
        assert i18n._("layer {k}").format(k=3) == "3번째 층"
        # Korean has one plural form: the same words for 1 and for 5
        one = i18n.n_("layer {layers}", "layers {layers}", 1)
        assert one == i18n.n_("layer {layers}", "layers {layers}", 5) == "{layers}번째 층"
        with i18n.language("en"):
            assert i18n._("layer {k}") == "layer {k}"
    assert i18n.current() == "en"
    assert i18n.n_("layer {layers}", "layers {layers}", 2) == "layers {layers}"


# -- the catalogs -----------------------------------------------------------------------------


def test_every_message_in_the_sources_has_a_korean_translation() -> None:
    from babel.messages.extract import extract_from_dir

    keywords = {"_": None, "n_": (1, 2), "N_": None, "pgettext": ((1, "c"), 2)}
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
    found: set[str] = set()
    for folder, method in ((ROOT / "symgd", "python"), (ROOT / "templates", "jinja2")):
        pattern = "**.py" if method == "python" else "**.jinja2"
        for _file, _line, message, _comments, _context in extract_from_dir(
            folder,
            method_map=[(pattern, method)],
            options_map={pattern: options} if method == "jinja2" else {},
            keywords=keywords,
        ):
            found.add(message if isinstance(message, str) else message[0])
    catalog = _catalog()
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    assert found, "no message found in the sources"
    missing = sorted(found - set(translated))
    assert not missing, f"messages not in {PO.name} (extract and translate them): {missing}"
    for key, message in translated.items():
        assert not message.fuzzy, f"fuzzy translation: {key!r}"
        forms = _forms(message.string)
        assert forms and all(f.strip() for f in forms), f"no Korean translation: {key!r}"
        for form in forms:
            # a name stays a name; a message of placeholders and signs may only move them
            words = re.sub(r"<[^>]+>", "", PLACEHOLDER.sub("", form))
            assert HANGUL.search(form) or form in NAMES or not re.search(r"[A-Za-z]", words), (
                f"translation without Hangul: {key!r} → {form!r}"
            )


def test_no_translation_drops_or_adds_a_placeholder() -> None:
    for message in _catalog():
        if not message.id:
            continue
        sources = [set(_placeholders(s)) for s in _forms(message.id)]
        # the English singular may leave out the count its plural names ("a point" / "{n}
        # points"); Korean's one form serves both, so it may name it or not, and nothing else
        every, some = set.union(*sources), set.intersection(*sources)
        for target in _forms(message.string):
            assert some <= set(_placeholders(target)) <= every, (
                f"placeholders differ: {message.id!r} → {target!r}"
            )


def test_the_placeholder_check_catches_a_dropped_name() -> None:
    assert _placeholders("{a} and {b} of {{literal}} at %(c)s") == ["a", "b", "c"]
    assert set(_placeholders("{a}만")) != set(_placeholders("{a} {b}"))


def test_the_committed_mo_is_compiled_from_the_committed_po() -> None:
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, _catalog())
    fresh = gettext.GNUTranslations(io.BytesIO(buffer.getvalue()))
    committed = gettext.GNUTranslations(io.BytesIO(MO.read_bytes()))
    # the messages and their plural forms, not the header's dates
    strip = {k: v for k, v in fresh._catalog.items() if k != ""}  # type: ignore[attr-defined]
    kept = {k: v for k, v in committed._catalog.items() if k != ""}  # type: ignore[attr-defined]
    assert kept == strip, "symgd.mo is stale: run `pybabel compile -d symgd/locale -D symgd`"
    assert committed.plural(1) == committed.plural(7) == 0  # type: ignore[attr-defined]


def test_the_template_and_the_korean_catalog_hold_the_same_messages() -> None:
    from babel.messages.pofile import read_po

    with (LOCALE / "symgd.pot").open("rb") as handle:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert template == {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog() if m.id}


# -- the font ---------------------------------------------------------------------------------


def test_the_shipped_font_draws_every_hangul_letter_of_the_catalog() -> None:
    from fontTools.ttLib import TTFont

    font = TTFont(str(FONT))
    cmap = font.getBestCmap()
    letters = set(HANGUL.findall(i18n.catalog_text("ko")))
    assert len(letters) > 150
    missing = sorted(c for c in letters if ord(c) not in cmap)
    assert not missing, f"rebuild the font (symgd/fonts/README.md); missing: {''.join(missing)}"
    glossary = (ROOT / "docs" / "glossary-ko.md").read_text(encoding="utf-8")
    assert all(ord(c) in cmap for c in set(HANGUL.findall(glossary)))
    # Hangul and the space only: digits, −, ∂, σ and Latin letters come from DejaVu
    assert not any(ord(c) in cmap for c in "0123456789−∂σ′≤×⁻ₖaAzZ(),.")
    # a modified NanumGothic may not carry the reserved names
    names = " ".join(str(r.toUnicode()) for r in font["name"].names if r.nameID in (1, 4, 6, 16))
    assert "Symgd Hangul" in names and "Nanum" not in names and "나눔" not in names
    assert font["name"].getDebugName(0).startswith("Copyright")
    licence = (FONT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE" in licence and "NAVER" in licence
    # KS X 1001's 2,350 everyday syllables ride along, so a new sentence rarely needs a rebuild
    assert all(ord(c) in cmap for c in i18n.common_syllables())
    assert FONT.stat().st_size < 1_000_000


def test_a_page_embeds_the_font_cut_down_to_its_own_letters() -> None:
    import base64

    from fontTools.ttLib import TTFont

    page = f"<style>src: url({i18n.hangul_font_url()})</style><p>기울기 소실과 학습률</p>"
    html = i18n.embed_hangul_font(page)
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", html)
    assert data is not None and i18n.HANGUL_FONT_PLACEHOLDER not in html
    raw = base64.b64decode(data.group(1))
    cmap = TTFont(io.BytesIO(raw)).getBestCmap()
    assert {chr(c) for c in cmap if i18n.is_hangul(chr(c))} == set("기울소실과학습률")
    assert len(raw) < 20_000
    assert i18n.embed_hangul_font("<p>no font here</p>") == "<p>no font here</p>"


# -- the vanishing-gradients page in Korean ----------------------------------------------------


@pytest.fixture(scope="module")
def korean() -> Any:
    from symgd.network.vanish import vanish

    return vanish(depth=12, lang="ko")  # 12 layers: sigmoid's first gradients fall below 10⁻⁶


@pytest.fixture(scope="module")
def korean_html(korean: Any) -> str:
    return str(korean.html())


def _visible(html: str) -> str:
    """The words a reader sees: no style, no formulas, no tags."""
    text = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    text = re.sub(r'<span class="formula-inline">.*?</span>', " ", text, flags=re.S)
    text = re.sub(r'<div class="formula[^"]*">.*?</div>', " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text)


def test_the_korean_page_is_written_in_korean_with_the_glossary_terms(
    korean: Any, korean_html: str
) -> None:
    from symgd.network.vanish import vanish

    assert '<html lang="ko">' in korean_html
    text = _visible(korean_html)
    for term in TERMS:
        assert term in text, term
    assert "층 12개짜리 사슬에서의 기울기 소실" in text
    assert "1–2번째 층의 기울기는 마지막 층 기울기의 10⁻⁶보다 작습니다" in text
    # no English prose left (names like ReLU and tanh stay, as the glossary says)
    english = re.findall(r"\b(the|and|of|is|are|layers?|gradients?|weights?|bias)\b", text)
    assert not english, english[:10]
    # the numbers are the English page's numbers, written the same way
    number = r"−?\d+\.\d+(?: × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"
    english_text = _visible(vanish(depth=12).html())
    assert sorted(re.findall(number, text)) == sorted(re.findall(number, english_text))
    assert "N = 12, W = 1, B = 0, x = 1" in text


def test_the_korean_page_carries_its_font_and_allows_it(korean_html: str) -> None:
    assert "font-src data:" in korean_html
    face = re.search(r"@font-face \{[^}]*\}", korean_html)
    assert face is not None
    assert '"Symgd Hangul"' in face.group(0) and "U+AC00-D7A3" in face.group(0)
    # the font comes cut down to the page's letters: every Hangul letter on the page, no more
    import base64

    from fontTools.ttLib import TTFont

    data = re.search(r"base64,([A-Za-z0-9+/=]+)", face.group(0))
    assert data is not None
    cmap = TTFont(io.BytesIO(base64.b64decode(data.group(1)))).getBestCmap()
    assert {chr(c) for c in cmap if i18n.is_hangul(chr(c))} == set(HANGUL.findall(korean_html))


def test_the_korean_figures_label_in_korean_with_the_shipped_font(korean_html: str) -> None:
    svgs = re.findall(r"<svg.*?</svg>", korean_html, flags=re.S)
    figures = [s for s in svgs if "font-family:" in s and "층 k" in s]
    assert figures, "no figure labelled in Korean"
    families = set(re.findall(r"font-family: ([^;\"]*)", "".join(figures)))
    assert families and all(f.startswith("'Symgd Hangul','DejaVu Sans'") for f in families)
    assert "시그모이드의 마지막 층" in korean_html and "(로그 눈금)" in korean_html


def test_the_korean_cli_summary_and_json(runner: CliRunner, tmp_path: Path) -> None:
    from symgd.cli.vanish import vanish

    result = runner.invoke(vanish, ["--depth", "4", "--lang", "ko", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first == "층 4개짜리 사슬, W = 1, B = 0, x = 1"
    assert "시그모이드 σ" in result.output
    assert '<html lang="ko">' in (tmp_path / "report.html").read_text(encoding="utf-8")
    english = runner.invoke(vanish, ["--depth", "4", "--json"])
    env = {"SYMGD_LANG": "ko"}
    korean = runner.invoke(vanish, ["--depth", "4", "--json"], env=env)
    assert korean.exit_code == 0, korean.output
    # JSON keys and values are machine values: the same in every language
    assert json.loads(korean.stdout) == json.loads(english.stdout)
    bad = runner.invoke(vanish, ["--lang", "xx"])
    assert bad.exit_code == 2 and "choose from en, ko" in bad.output


def test_english_stays_english(korean: Any) -> None:
    from symgd.network.vanish import vanish

    english = vanish(depth=3, activations="sigmoid")
    html = english.html()
    assert not HANGUL.search(html)
    assert "Symgd Hangul" not in html and "font-src" not in html and "@font-face" not in html
    # the result's language wins over the one in effect around it
    with i18n.language("ko"):
        assert english.html() == html
    assert "Vanishing gradients in a chain of 3 layers" in html
    assert vanish(depth=12).to_json() == korean.to_json()


# -- the PDF: the font embedded, the text given back --------------------------------------------


@pytest.mark.pdf
@pytest.mark.skipif(
    shutil.which("pdffonts") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils is not installed",
)
def test_the_korean_pdf_embeds_the_shipped_font_on_a_machine_without_korean_fonts(
    tmp_path: Path,
) -> None:
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    env = dict(os.environ)
    if dejavu.is_dir():  # fontconfig that sees DejaVu only: no system Korean font to fall on
        conf = tmp_path / "fonts.conf"
        conf.write_text(
            f'<?xml version="1.0"?><fontconfig><dir>{dejavu}</dir>'
            f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
            encoding="utf-8",
        )
        env["FONTCONFIG_FILE"] = str(conf)
    pdf = tmp_path / "report.pdf"
    code = (
        "import sys; from symgd.network.vanish import vanish; "
        "r = vanish(depth=12, activations='sigmoid,relu', lang='ko'); "
        "r.save(sys.argv[1]); r.save_pdf(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, check=True, timeout=300)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    names = fonts.stdout
    assert "Symgd-Hangul" in names, names
    if dejavu.is_dir():
        assert "Nanum" not in names, names
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    # every Hangul sentence of the page comes back (a .notdef glyph would not)
    for sentence in ["층 12개짜리 사슬에서의 기울기 소실", "신경망과 연쇄 법칙", *TERMS]:
        assert re.sub(r"\s+", "", sentence) in flat, sentence
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    page_letters = set(HANGUL.findall(_visible(html)))
    assert page_letters <= set(HANGUL.findall(text))
    # the figures' Korean labels are text in the PDF too
    assert "시그모이드의마지막층" in flat and "(로그눈금)" in flat


# -- in Chromium: every Hangul letter drawn with a font that has it -----------------------------


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is not installed")
def test_chromium_draws_every_hangul_letter_with_the_shipped_font(
    devtools: Any, korean: Any, tmp_path: Path
) -> None:
    page = korean.save(tmp_path)
    devtools.open(page, 400, 900)  # a phone; the wide page uses the same fonts
    drawn = hangul_drawing(devtools)  # waits for the page's fonts
    assert devtools.evaluate("document.fonts.check('16px \"Symgd Hangul\"', '기울기 소실')")
    assert all(ours >= letters for letters, ours in drawn), drawn
    shown = len(drawn)
    assert shown > 40  # headings, paragraphs, table cells, figure labels
