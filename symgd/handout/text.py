"""Words and formulas for the handout: LaTeX, the iterate's letter, numbers and polynomials
as a person writes them on a sheet."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sympy as sp

from symgd.expr.problem import to_text
from symgd.render.latex import tex as render_tex

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def tex(expr: Any) -> str:
    """LaTeX for ``expr`` from the one printer, :func:`symgd.render.latex.tex`, as the handout
    writes it: every power of a function that prints itself raised (``σ(z)^{-1}``)."""
    return render_tex(expr, raise_function_powers=True)


def point_symbol(variables: Sequence[sp.Symbol]) -> str:
    """The letter for the iterates x₀, x₁, ...: ``x`` unless a variable is called x (or x1)."""
    stems = {re.sub(r"[\d_]+$", "", v.name) for v in variables}  # x1, x_2 count as x
    return next((letter for letter in ("x", "p", "r", "s", "t") if letter not in stems), "ξ")


def call_text(name: str, variables: Sequence[sp.Symbol]) -> str:
    return f"{name}({', '.join(v.name for v in variables)})"


def prime(call: str, order: int) -> str:
    name, _, rest = call.partition("(")
    return f"{name}{'′' * order}({rest}"


def number_text(value: sp.Expr) -> str:
    """A number as a person writes it: ``1/2``, ``−3``, ``1 − √5``."""
    return pretty_text(value)


def point_text(variables: Sequence[sp.Symbol], values: Sequence[sp.Expr]) -> str:
    if len(variables) == 1:
        return f"{variables[0].name} = {number_text(values[0])}"
    names = ", ".join(v.name for v in variables)
    numbers = ", ".join(number_text(v) for v in values)
    return f"({names}) = ({numbers})"


def polynomial_text(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> str:
    """A polynomial in plain Unicode: ``3x² + 2xy − 4x``."""
    poly = sp.Poly(expr, *variables)
    joiner = "·" if any(len(v.name) > 1 for v in variables) else ""
    parts: list[str] = []
    for exponents, coefficient in poly.terms(order="grlex"):
        monomial = joiner.join(
            v.name + (str(e).translate(SUPERSCRIPTS) if e > 1 else "")
            for v, e in zip(variables, exponents, strict=True)
            if e
        )
        magnitude = abs(coefficient)
        number = "" if monomial and magnitude == 1 else to_text(magnitude)
        term = number + monomial
        if not parts:
            parts.append(("−" if coefficient < 0 else "") + term)
        else:
            parts.append(("− " if coefficient < 0 else "+ ") + term)
    return " ".join(parts) if parts else "0"


def pretty_text(expr: sp.Expr, limit: int = 90) -> str:
    """A one-line Unicode rendering for running headers: ``x² + 2·x·y``."""
    text = to_text(expr)
    text = re.sub(r"\*\*(\d+)(?![\d.(])", lambda m: m.group(1).translate(SUPERSCRIPTS), text)
    text = re.sub(r"(?<![\w.])(\d+)\*(?=[A-Za-z_(])", r"\1", text)
    text = re.sub(r"sqrt\((\d+)\)", "√\\1", text)
    text = text.replace("sqrt", "√").replace("**", "^").replace("*", "·").replace("-", "−")
    return text if len(text) <= limit else text[: limit - 1] + "…"
