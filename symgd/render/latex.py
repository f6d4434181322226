r"""The one LaTeX and number printer: SymPy expressions, exact values, vectors and matrices in
LaTeX, and numbers for prose.

Exact numbers stay exact while they are short enough to help a reader, and become decimals
(marked ``≈``) when they are not. Long vectors and matrices are shown in part: the first
:data:`SHOWN_HEAD` entries, dots, and the last :data:`SHOWN_TAIL`. SymPy is imported only when
an expression is printed.

>>> print(num_tex(0.0000123))
1.23 \times 10^{-5}
>>> print(point_tex(["1", "-2"]))
\left(1, {-2}\right)
>>> floats_plain([1, -2.5])
'(1, −2.5)'
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: an exact number whose LaTeX is longer than this is shown as a decimal instead
MAX_EXACT_LATEX = 160
#: a fraction with more digits than this (top or bottom) is shown as a decimal
MAX_FRACTION_DIGITS = 10
#: a vector or matrix with more entries than this (per side) is shown in part: the first
#: SHOWN_HEAD, dots, the last SHOWN_TAIL (a 100 × 100 Hessian in full helps no reader)
MAX_SHOWN_ENTRIES = 8
SHOWN_HEAD = 4
SHOWN_TAIL = 2
#: an exact rational bigger than this many digits is written as a decimal in prose
MAX_RATE_DIGITS = 12


def _sp() -> Any:
    import sympy

    return sympy


# -- expressions --------------------------------------------------------------------------------


def tex(
    expr: Any,
    *,
    symbol_names: Mapping[Any, str] | None = None,
    raise_function_powers: bool = False,
    order: str | None = None,
) -> str:
    r"""LaTeX for a SymPy expression.

    Functions that print themselves (``σ``, ReLU) are handled in powers too: by default
    ``σ(z)²`` is ``\sigma\left(z\right)^{2}`` and other powers print as SymPy prints them
    (``1/σ(z)`` as a fraction, ``√σ(z)`` as a root); with ``raise_function_powers`` every power
    of such a function is written raised, ``σ(z)^{-1}``, ``σ(z)^{\frac{1}{2}}``.
    ``symbol_names`` maps symbols to the LaTeX written in their place.

    >>> import sympy
    >>> print(tex(sympy.Symbol("x") ** 2 / 3))
    \frac{x^{2}}{3}
    """
    settings: dict[str, Any] = {} if symbol_names is None else {"symbol_names": symbol_names}
    if order is not None:
        settings["order"] = order
    return str(_printer_class(raise_function_powers)(settings).doprint(expr))


@functools.cache
def _printer_class(raise_function_powers: bool) -> Any:
    from sympy import Function
    from sympy.printing.latex import LatexPrinter

    class Printer(LatexPrinter):  # type: ignore[misc]
        """SymPy's LaTeX printer, also for powers of functions whose ``_latex`` takes no
        exponent (``σ(z)²`` would otherwise fail)."""

        def _print(self, expr: Any, **kwargs: Any) -> str:
            exponent = kwargs.get("exp")
            own = getattr(expr, "_latex", None)
            if exponent is not None and callable(own) and not _takes_exponent(own):
                return rf"{own(self)}^{{{exponent}}}"
            return str(super()._print(expr, **kwargs))

        def _print_Pow(self, expr: Any, **kwargs: Any) -> str:
            base = expr.base
            if (
                raise_function_powers
                and isinstance(base, Function)
                and hasattr(type(base), "_latex")
            ):
                return f"{self._print(base)}^{{{self._print(expr.exp)}}}"
            return str(super()._print_Pow(expr, **kwargs))

    return Printer


def _takes_exponent(method: Any) -> bool:
    import inspect

    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return True
    return "exp" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def simplest_tex(expr: Any) -> str:
    r"""LaTeX for the lightest of ``expr``, its expansion refactored, and its common factors
    pulled out; each sum written with its positive terms first, as a teacher would.

    >>> import sympy
    >>> x, y, s = sympy.symbols("x y s")
    >>> print(simplest_tex(-x * y * (1 - s) + x * (1 - y) * s))
    x \left(s - y\right)
    """
    sp = _sp()
    expr = sp.sympify(expr)
    candidates = [expr]
    if sp.count_ops(expr) <= 200:
        for rewrite in (sp.factor, sp.factor_terms):
            try:
                candidates.append(rewrite(sp.expand(expr)))
            except (sp.PolynomialError, NotImplementedError, ValueError, TypeError):
                continue
    best = min(candidates, key=lambda e: (sp.count_ops(e), len(str(e))))
    return tex(_positive_first(best), order="none")


def _positive_first(expr: Any) -> Any:
    """``expr`` rebuilt so that a sum starting with a negative term starts with a positive one
    (``-y + s`` → ``s - y``), and a product's sign pulled in front of its sums."""
    sp = _sp()
    if not expr.args or expr.is_Atom:
        return expr
    args = [_positive_first(a) for a in expr.args]
    if isinstance(expr, sp.Add):
        negative = [a for a in args if a.could_extract_minus_sign()]
        positive = [a for a in args if not a.could_extract_minus_sign()]
        return sp.Add(*positive, *negative, evaluate=False)
    if isinstance(expr, sp.Mul):
        return sp.Mul(*args, evaluate=False)
    try:
        return expr.func(*args)
    except (TypeError, ValueError):
        return expr


def short_exact(expr: Any) -> str | None:
    """LaTeX of ``expr`` when it is short enough to read, else ``None``."""
    latex = tex(expr)
    return latex if len(latex) <= MAX_EXACT_LATEX else None


def value_tex(expr: Any, digits: int = 4) -> tuple[str, bool]:
    """``(latex, exact)``: the exact form when it is short, else ``≈`` and a decimal."""
    from symgd.calculus.exact import digits_to_bits, size_bits

    sp = _sp()
    expr = sp.sympify(expr)
    if expr.is_Float:
        return big_num_tex(expr, digits), False
    # the size in bits first: a huge integer is never turned into a string
    if expr.is_Rational and (
        size_bits(expr) > digits_to_bits(MAX_FRACTION_DIGITS)
        or max(len(str(abs(expr.p))), len(str(expr.q))) > MAX_FRACTION_DIGITS
    ):
        return rf"\approx {big_num_tex(expr, max(digits, 6))}", False
    latex = tex(expr)
    if len(latex) <= MAX_EXACT_LATEX:
        if expr.is_Rational or expr.is_Integer:
            return latex, True
        try:
            approx = float(expr.evalf(20))
        except (TypeError, ValueError):
            return latex, True
        return rf"{latex} \approx {num_tex(approx, digits)}", True
    try:
        return rf"\approx {num_tex(float(expr.evalf(30)), digits)}", False
    except (TypeError, ValueError):
        return latex, True


def rate_tex(rate: Any) -> str:
    """η in LaTeX: the fraction and its decimal, or (when it is huge or tiny) the decimal."""
    from symgd.calculus.exact import digits_to_bits, size_bits

    if size_bits(rate) > digits_to_bits(MAX_RATE_DIGITS):
        return big_num_tex(rate, 6)
    return tex(rate) + ("" if rate.is_Integer else rf" = {num_tex(float(rate), 6)}")


# -- numbers in LaTeX ---------------------------------------------------------------------------


def num_tex(value: float, digits: int = 4) -> str:
    """A float in LaTeX with ``digits`` significant digits (scientific when very small/large)."""
    if math.isnan(value):
        return r"\text{undefined}"
    if math.isinf(value):
        return r"\text{too large}" if value > 0 else r"-\text{too large}"
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return group(text)


def big_num_tex(value: Any, digits: int = 4) -> str:
    """:func:`num_tex` for a SymPy number of any size (beyond float's range too)."""
    number = float(value)
    if math.isfinite(number) and (number == 0 or abs(number) > 1e-300):
        return num_tex(number, digits)
    mantissa, exponent = mantissa_exponent(value, digits)
    return rf"{mantissa} \times 10^{{{exponent}}}"


def eq_tex(value: float) -> str:
    """``= 0.5`` when the decimal is exact, else ``≈ 0.309``."""
    text = num_tex(value, 4)
    try:
        exact = float(text.strip("{}")) == value
    except ValueError:
        exact = False
    return f"= {text}" if exact else rf"\approx {text}"


def mantissa_exponent(value: Any, digits: int) -> tuple[str, int]:
    """``value`` as ``(mantissa text, power of ten)`` with ``digits`` significant digits."""
    import mpmath

    sp = _sp()
    number = sp.Float(sp.sympify(value).evalf(digits + 5), digits + 5)
    text = mpmath.nstr(mpmath.mpf(number._mpf_), digits, min_fixed=1, max_fixed=0)
    mantissa, _, exponent = text.partition("e")
    return mantissa, int(exponent or 0)


# -- vectors and matrices -----------------------------------------------------------------------


def elide(entries: Sequence[Any], dots: Any) -> list[Any]:
    """``entries``, or when there are more than :data:`MAX_SHOWN_ENTRIES` of them the first
    :data:`SHOWN_HEAD`, then ``dots``, then the last :data:`SHOWN_TAIL`."""
    if len(entries) <= MAX_SHOWN_ENTRIES:
        return list(entries)
    return [*entries[:SHOWN_HEAD], dots, *entries[-SHOWN_TAIL:]]


def shown_indices(count: int) -> list[int | None]:
    """The indices :func:`elide` keeps out of ``count`` (``None`` where the dots go)."""
    return elide(list(range(count)), None)


def group(latex: str) -> str:
    """Brace an entry that starts with a minus, so it reads as a sign, not a subtraction."""
    return f"{{{latex}}}" if latex.lstrip().startswith("-") else latex


def paren(latex: str) -> str:
    """``latex`` in parentheses when it starts with a minus or has several terms."""
    return rf"\left({latex}\right)" if latex.startswith("-") or " " in latex else latex


def column(entries: Sequence[str]) -> str:
    """A column vector in LaTeX (in part, with ⋮, when it is long)."""
    return (
        r"\begin{pmatrix}"
        + r" \\ ".join(group(e) for e in elide(entries, r"\vdots"))
        + r"\end{pmatrix}"
    )


def matrix_tex(rows: Sequence[Sequence[str]]) -> str:
    """A matrix in LaTeX (in part, with ⋯, ⋮ and ⋱, when it is large)."""
    if len(rows) > MAX_SHOWN_ENTRIES:
        width = len(elide(rows[0], ""))
        gap = [r"\vdots"] * width
        gap[SHOWN_HEAD] = r"\ddots"
        rows = elide([elide(r, r"\cdots") for r in rows], gap)
    return r"\begin{pmatrix}" + r" \\ ".join(" & ".join(r) for r in rows) + r"\end{pmatrix}"


def point_tex(values: Sequence[str]) -> str:
    """``(a, b)`` — or just ``a`` for one variable."""
    if len(values) == 1:
        return values[0]
    return r"\left(" + ", ".join(group(v) for v in elide(values, r"\dots")) + r"\right)"


def floats_tex(values: Sequence[float], digits: int = 4) -> str:
    """A point of floats as ``(a, b)``."""
    return point_tex([num_tex(float(v), digits) for v in values])


def uniform_numbers(entries: Sequence[Any]) -> list[Any]:
    """``entries`` (SymPy expressions, e.g. a matrix's) with their numbers in one form.

    When any entry holds a decimal (a Float), every whole-number decimal becomes an integer
    and every fraction a decimal, so a matrix never shows ``2`` next to ``2.0`` or ``1/2``
    next to ``0.5``; without decimals the exact forms stay.

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> [tex(e) for e in uniform_numbers([sympy.Float(2.0) * x, sympy.Rational(1, 2), 2])]
    ['2 x', '0.5', '2']
    """
    sp = _sp()
    exprs = [sp.sympify(e) for e in entries]
    if not any(e.atoms(sp.Float) for e in exprs):
        return exprs

    def one_form(expr: Any) -> Any:
        swap: dict[Any, Any] = {}
        for f in expr.atoms(sp.Float):
            if float(f).is_integer() and abs(f) < 1e15:
                swap[f] = sp.Integer(int(f))
            else:
                swap[f] = sp.Float(float(f), 6)
        for r in expr.atoms(sp.Rational):
            if not r.is_Integer:
                swap[r] = sp.Float(float(r), 6)
        return expr.xreplace(swap)

    return [one_form(e) for e in exprs]


#: longest LaTeX (characters) of an expression quoted inside a sentence or a step
MAX_QUOTED_LATEX = 110


def elided_tex(expr: Any, limit: int = MAX_QUOTED_LATEX) -> str:
    r"""LaTeX for ``expr``, shortened by structure when it is longer than ``limit``: a long sum
    keeps its first terms and ends in ``+ \cdots``, a product or function keeps its shape and
    shortens its biggest part the same way (never a cut in the middle of a term).

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> print(elided_tex(sum(x**k / k for k in range(1, 30)), 50))
    \frac{x^{29}}{29} + \frac{x^{28}}{28} + \cdots
    >>> print(elided_tex(sympy.exp(x) / (1 + sum(x**k / k for k in range(1, 30))), 60))
    \frac{e^{x}}{\frac{x^{29}}{29} + \cdots}
    """
    sp = _sp()
    return _elided(sp.sympify(expr), max(limit, 12), 0)


def _elided(expr: Any, limit: int, depth: int) -> str:
    sp = _sp()
    latex = tex(expr)
    if len(latex) <= limit:
        return latex
    if depth > 6:
        return r"\cdots"
    if isinstance(expr, sp.Add):
        terms = expr.as_ordered_terms()
        shown: list[str] = []
        for term in terms:
            body = _elided(term, max(limit // 2, 12), depth + 1)
            if shown and len(signed_sum([*shown, body])) + 8 > limit:
                break
            shown.append(body)
        return signed_sum([*shown, r"\cdots"]) if len(shown) < len(terms) else signed_sum(shown)
    sums = [e for e in sp.preorder_traversal(expr) if isinstance(e, sp.Add) and e is not expr]
    if not sums:
        return latex if len(latex) <= 3 * limit else r"\cdots"
    biggest = max(sums, key=lambda a: len(tex(a)))
    hole = sp.Symbol("elided_part")
    outside = expr.xreplace({biggest: hole})
    inner = _elided(biggest, max(limit - len(tex(outside)) + 11, 12), depth + 1)
    if rf"\left({tex(biggest)}\right)" in latex:
        inner = rf"\left({inner}\right)"
    return _elided_outside(outside, hole, inner)


def _elided_outside(outside: Any, hole: Any, inner: str) -> str:
    """``outside`` printed with ``inner`` written where ``hole`` stands (once in brackets)."""
    latex = tex(outside, symbol_names={hole: inner})
    return latex.replace(rf"\left({inner}\right)", inner) if inner.startswith(r"\left(") else latex


# -- tidying what the builders join -------------------------------------------------------------

_EQUALS_APPROX = re.compile(r"=\s*\\approx\b")
_PLUS_MINUS = re.compile(r"\+\s*-\s*")
_MINUS_MINUS = re.compile(r"(?<![-\\])-\s+-\s*")
_PLUS_GROUP = re.compile(r"\+\s*\{\s*-")


def tidy_tex(latex: str) -> str:
    r"""Relations and signs as a teacher writes them: ``= \approx 1.2`` becomes ``\approx 1.2``,
    ``a + -2y`` becomes ``a - 2y`` (also ``a + {-2y}`` when the group is one term) and
    ``a - -b`` becomes ``a + b``.

    >>> print(tidy_tex(r"f(x_2) = \approx 1.27,\; dx + -2 y\,dy + {-0.5}"))
    f(x_2) \approx 1.27,\; dx - 2 y\,dy - {0.5}
    """
    latex = _EQUALS_APPROX.sub(r"\\approx", latex)
    latex = _PLUS_MINUS.sub("- ", latex)
    latex = _MINUS_MINUS.sub("+ ", latex)
    out: list[str] = []
    pos = 0
    for match in _PLUS_GROUP.finditer(latex):
        close = _group_end(latex, match.end() - 1)
        inner = latex[match.end() : close]
        if close < 0 or _top_level_sign(inner):
            continue
        out.append(latex[pos : match.start()] + "- {")
        pos = match.end()
    out.append(latex[pos:])
    return "".join(out)


def _group_end(latex: str, start: int) -> int:
    """Index of the ``}`` closing the group whose content starts after ``start`` (or -1)."""
    depth = 1
    for i in range(start + 1, len(latex)):
        if latex[i] == "{" and latex[i - 1] != "\\":
            depth += 1
        elif latex[i] == "}" and latex[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _top_level_sign(latex: str) -> bool:
    """True when ``latex`` has a ``+`` or ``-`` outside any group or parentheses."""
    depth = 0
    for i, ch in enumerate(latex):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif ch in "+-" and depth == 0 and i > 0:
            return True
    return False


_TEXT_EQUALS_APPROX = re.compile(r"=\s*≈")
_TEXT_PLUS_MINUS = re.compile(r"\+ −\s*(?=[\w√(.])")


def tidy_text(text: str) -> str:
    """:func:`tidy_tex` for prose: ``f = ≈ 1.27`` → ``f ≈ 1.27``, ``dx + −2y dy`` →
    ``dx − 2y dy``.

    >>> tidy_text("f(x₂) = ≈ 1.266 and dx + −2y dy")
    'f(x₂) ≈ 1.266 and dx − 2y dy'
    """
    return _TEXT_PLUS_MINUS.sub("− ", _TEXT_EQUALS_APPROX.sub("≈", text))


def equals_tex(value_latex: str) -> str:
    r"""``= value``, or ``\approx value`` when the value is already marked approximate.

    >>> print(equals_tex(r"\approx 1.266"), "|", equals_tex(r"\frac{1}{2}"))
    \approx 1.266 | = \frac{1}{2}
    """
    body = value_latex.strip()
    return body if body.startswith(r"\approx") else f"= {body}"


def signed_sum(terms: Sequence[str]) -> str:
    r"""LaTeX terms joined by ``+``, a term that starts with a minus joined by ``-`` instead.

    >>> print(signed_sum(["2 x\\,dx", "- 2 y\\,dy", "{-3}\\,dz"]))
    2 x\,dx - 2 y\,dy - 3\,dz
    """
    out = ""
    for k, term in enumerate(terms):
        body = term.strip()
        negative = body.startswith("-") or (body.startswith("{-") and body.find("}") > 0)
        if negative and body.startswith("{-"):
            close = _group_end(body, 0)
            inner = body[2:close]
            if close < 0 or _top_level_sign(inner):
                negative = False
            else:
                body = inner + body[close + 1 :]
        elif negative:
            body = body[1:].lstrip()
        if k == 0:
            out = ("-" + body) if negative else body
        else:
            out += (" - " if negative else " + ") + body
    return out


# -- numbers in prose ---------------------------------------------------------------------------


def count_of(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless the count is one (English only: a sentence that
    may be read in another language counts with ``n_("{n} step", "{n} steps", n)``).

    >>> count_of(1, "step"), count_of(3, "step")
    ('1 step', '3 steps')
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def number(value: float, digits: int = 6) -> str:
    """A number for prose: ``4.7 × 10³`` rather than ``4.7e+03``, with a real minus sign."""
    from symgd.render.templates import number as written

    return written(value, digits)


_SUPERSCRIPT_DIGITS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def big_number(value: Any, digits: int = 6) -> str:
    """A real number for prose, also beyond float's range (``1.5 × 10⁴⁰⁰``)."""
    as_float = float(value)
    if math.isfinite(as_float) and (as_float == 0 or abs(as_float) > 1e-300):
        return number(as_float, digits)
    mantissa, exponent = mantissa_exponent(value, digits)
    return f"{mantissa} × 10{str(exponent).translate(_SUPERSCRIPT_DIGITS)}".replace("-", "−")


def fraction_text(value: Any) -> str:
    """An exact number for prose: ``1/10``, ``3``; a decimal when it is huge or not rational."""
    from symgd.calculus.exact import digits_to_bits, size_bits

    sp = _sp()
    value = sp.sympify(value)
    if value.is_Rational and size_bits(value) > digits_to_bits(MAX_RATE_DIGITS):
        return big_number(value)  # 1e308 is not written out in 309 digits
    if value.is_Integer:
        return str(value)
    if value.is_Rational:
        return f"{value.p}/{value.q}"
    return f"{number(float(value))}"


def floats_plain(values: Sequence[float], digits: int = 4) -> str:
    """``(1, -2.5)`` in plain text."""
    parts = [f"{float(v):.{digits}g}".replace("-", "−") for v in values]
    parts = ["0" if p in ("−0", "0") else p for p in parts]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def plain_math(text: str) -> str:
    """SymPy's text form made readable: ``1 - sqrt(5)`` → ``1 − √5``."""
    text = re.sub(r"sqrt\((\w+)\)", r"√\1", text)
    return text.replace("*", "").replace("-", "−")
