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
    expr: Any, *, symbol_names: Mapping[Any, str] | None = None, raise_function_powers: bool = False
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


# -- numbers in prose ---------------------------------------------------------------------------


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
