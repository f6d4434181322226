"""f, ∇f and the Hessian as JavaScript, for the lesson's interactive explorer: the one place
symgd calls SymPy's JavaScript printer.

The printed code is data SymPy wrote, never text a user typed: each variable is printed as
``v0``, ``v1``, ... (whatever its name), every function as a call of ``Math`` or of a helper
the explorer's script defines (``_sigmoid``, ``_div``, ``_pow``, ... with the formulas
:mod:`symgd.expr.lambdify` uses on Python floats), and :func:`check_generated` refuses any
code with another name, a quote, a brace or a ``</`` in it. The helpers read one flag: in
*strict* mode they throw where Python's ``math`` raises (a division by zero, the logarithm or
square root of a negative number, an overflowing ``exp``), so the script can tell leaving the
domain from overflow the way :mod:`symgd.numeric.domain` does.

:func:`script_hash` gives the ``sha256-...`` source a Content-Security-Policy needs to allow
exactly one inline script, and :func:`page_policy` the policy itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sympy as sp

#: SymPy function name → the helper or Math function the script calls
FUNCTIONS: dict[str, str] = {
    "Abs": "Math.abs",
    "sign": "_sign",
    "floor": "Math.floor",
    "ceiling": "Math.ceil",
    "exp": "_exp",
    "log": "_log",
    "sin": "Math.sin",
    "cos": "Math.cos",
    "tan": "Math.tan",
    "asin": "_asin",
    "acos": "_acos",
    "atan": "Math.atan",
    "atan2": "Math.atan2",
    "sinh": "_sinh",
    "cosh": "_cosh",
    "tanh": "Math.tanh",
    "asinh": "Math.asinh",
    "acosh": "_acosh",
    "atanh": "_atanh",
    "cot": "_cot",
    "sec": "_sec",
    "csc": "_csc",
    "coth": "_coth",
    "sech": "_sech",
    "csch": "_csch",
    "acot": "_acot",
    "asec": "_asec",
    "acsc": "_acsc",
    "acoth": "_acoth",
    "Max": "_max",
    "Min": "_min",
    "sigmoid": "_sigmoid",
    "softplus": "_softplus",
    "relu": "_relu",
    "leaky_relu": "_leaky_relu",
    "Heaviside": "_heaviside",
    "DiracDelta": "_dirac",
}
#: the names generated code may contain besides the variables
ALLOWED_NAMES = frozenset(
    {"Math", "abs", "floor", "ceil", "sin", "cos", "tan", "atan", "atan2", "tanh", "asinh"}
    | {"PI", "E", "_div", "_pow", "_sqrt", "Infinity", "NaN"}
    | {name.removeprefix("Math.") for name in FUNCTIONS.values()}
)
_NUMBER = re.compile(r"(?<![A-Za-z_$0-9])\d+(?:\.\d*)?(?:e[+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_CHARACTERS = re.compile(r"[A-Za-z0-9_$.+\-*/(), ?:<>=!&|\[\]]*")


def _printer_class() -> Any:
    """SymPy's JavaScript printer with symgd's names, numbers and strict division."""
    from sympy.core.mul import _keep_coeff
    from sympy.printing.jscode import JavascriptCodePrinter
    from sympy.printing.precedence import precedence

    class Printer(JavascriptCodePrinter):  # type: ignore[misc]  # SymPy is untyped
        def __init__(self, names: dict[Any, str]) -> None:
            super().__init__({"user_functions": FUNCTIONS, "allow_unknown_functions": False})
            self.names = names

        def _print_Symbol(self, expr: Any) -> str:
            return self.names[expr]  # KeyError for any other symbol: nothing unknown is printed

        def _print_Float(self, expr: Any) -> str:
            return _literal(float(expr))

        def _print_Rational(self, expr: Any) -> str:
            return _literal(float(expr))

        def _print_Integer(self, expr: Any) -> str:
            return _literal(float(int(expr)))

        def _print_Pow(self, expr: Any) -> str:
            import sympy as sp

            base, exponent = expr.base, expr.exp
            if base.is_Symbol and exponent.is_Integer and 2 <= int(exponent) <= 4:
                return "*".join([self._print(base)] * int(exponent))  # Python's x*x
            if exponent == sp.S.Half:
                return f"_sqrt({self._print(base)})"
            if exponent == -sp.S.Half:
                return f"_div(1.0, _sqrt({self._print(base)}))"
            if exponent == -1:
                return f"_div(1.0, {self._print(base)})"
            return f"_pow({self._print(base)}, {self._print(exponent)})"

        def _print_Mul(self, expr: Any) -> str:
            """CodePrinter's product, its one division written ``_div(a, b)``."""
            import sympy as sp

            c, rest = expr.as_coeff_Mul()
            sign = ""
            if c < 0:
                expr, sign = _keep_coeff(-c, rest), "-"
            top: list[Any] = []
            bottom: list[Any] = []
            for item in expr.as_ordered_factors():
                if item.is_Pow and item.exp.is_Rational and item.exp.is_negative:
                    bottom.append(sp.Pow(item.base, -item.exp, evaluate=bool(item.exp == -1)))
                else:
                    top.append(item)
            top = top or [sp.S.One]
            prec = precedence(expr)
            if len(top) == 1 and sign == "-":
                top_text = [self.parenthesize(top[0], 0.5 * (precedence(sp.Pow(2, 2)) + prec))]
            else:
                top_text = [self.parenthesize(x, prec) for x in top]
            if not bottom:
                return sign + "*".join(top_text)
            under = "*".join(self.parenthesize(x, prec) for x in bottom)
            return f"{sign}_div({'*'.join(top_text)}, {under})"

    return Printer


def _literal(value: float) -> str:
    """A float as JavaScript reads it back to the same double."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "(-Infinity)"
    text = repr(value)
    return f"({text})" if text.startswith("-") else text


def check_generated(code: str, variables: int) -> str:
    """``code`` when it holds only arithmetic, numbers, ``v0..v{n-1}`` and the helper and
    ``Math`` names; a ``ValueError`` otherwise (a bug: the printer never writes user text)."""
    if "</" in code or not _CHARACTERS.fullmatch(code):
        raise ValueError(f"generated code has an unexpected character: {code[:80]!r}")
    allowed = ALLOWED_NAMES | {f"v{i}" for i in range(variables)}
    for name in _NAME.findall(_NUMBER.sub(" ", code)):
        if name not in allowed:
            raise ValueError(f"generated code names {name!r}")
    return code


def model_code(
    variables: Sequence[sp.Symbol],
    expr: sp.Expr,
    gradient: Sequence[sp.Expr],
    hessian: Any,
) -> str:
    """``const MODEL = {f, grad, hess}``: three JavaScript functions of ``v0, v1, ...``."""
    printer = _printer_class()({v: f"v{i}" for i, v in enumerate(variables)})
    n = len(variables)
    args = ", ".join(f"v{i}" for i in range(n))

    def text(item: Any) -> str:
        return check_generated(printer.doprint(item), n)

    rows = [f"[{', '.join(text(hessian[i, j]) for j in range(n))}]" for i in range(n)]
    return (
        "const MODEL = {\n"
        f"  f: function ({args}) {{ return {text(expr)}; }},\n"
        f"  grad: function ({args}) {{ return [{', '.join(text(g) for g in gradient)}]; }},\n"
        f"  hess: function ({args}) {{ return [{', '.join(rows)}]; }}\n"
        "};\n"
    )


def json_data(value: Any) -> str:
    """``value`` as a JavaScript literal (JSON with ``<``, ``>``, ``&`` and the line
    separators escaped, so no text in it can close the script or start markup)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def script_text(model: str, data: Any, body: str) -> str:
    """The whole inline script: the data, the generated model and the explorer's code, in one
    function scope."""
    return (
        f'(function () {{\n"use strict";\nconst DATA = {json_data(data)};\n{model}{body}\n}})();\n'
    )


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script: ``'sha256-...'``."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


#: the policy of a page without a script: nothing loads, nothing runs
STRICT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def page_policy(scripts: Sequence[str] = ()) -> str:
    """The Content-Security-Policy of a page whose only scripts are ``scripts`` (by hash)."""
    if not scripts:
        return STRICT_POLICY
    hashes = " ".join(script_hash(s) for s in scripts)
    return f"{STRICT_POLICY}; script-src {hashes}"
