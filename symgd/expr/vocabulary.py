"""The words the parser knows: the functions (with their argument counts and builders), the
constants, and the SymPy classes an expression may be built from."""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symgd.expr.activations import (
    ceiling,
    floor,
    leaky_relu,
    real_abs,
    real_sign,
    relu,
    sigmoid,
    softplus,
)

#: name -> (allowed argument counts, builder)
FUNCTIONS: dict[str, tuple[tuple[int, ...], Callable[..., sp.Expr]]] = {
    "sin": ((1,), sp.sin),
    "cos": ((1,), sp.cos),
    "tan": ((1,), sp.tan),
    "cot": ((1,), sp.cot),
    "sec": ((1,), sp.sec),
    "csc": ((1,), sp.csc),
    "asin": ((1,), sp.asin),
    "acos": ((1,), sp.acos),
    "atan": ((1,), sp.atan),
    "arcsin": ((1,), sp.asin),
    "arccos": ((1,), sp.acos),
    "arctan": ((1,), sp.atan),
    "acot": ((1,), sp.acot),
    "asec": ((1,), sp.asec),
    "acsc": ((1,), sp.acsc),
    "arccot": ((1,), sp.acot),
    "arcsec": ((1,), sp.asec),
    "arccsc": ((1,), sp.acsc),
    "atan2": ((2,), sp.atan2),
    "arctan2": ((2,), sp.atan2),
    "sinh": ((1,), sp.sinh),
    "cosh": ((1,), sp.cosh),
    "tanh": ((1,), sp.tanh),
    "coth": ((1,), sp.coth),
    "sech": ((1,), sp.sech),
    "csch": ((1,), sp.csch),
    "asinh": ((1,), sp.asinh),
    "acosh": ((1,), sp.acosh),
    "atanh": ((1,), sp.atanh),
    "acoth": ((1,), sp.acoth),
    "arsinh": ((1,), sp.asinh),
    "arcosh": ((1,), sp.acosh),
    "artanh": ((1,), sp.atanh),
    "arcsinh": ((1,), sp.asinh),
    "arccosh": ((1,), sp.acosh),
    "arctanh": ((1,), sp.atanh),
    "exp": ((1,), sp.exp),
    "log": ((1, 2), lambda x, base=None: sp.log(x) if base is None else sp.log(x, base)),
    "ln": ((1,), sp.log),
    "log2": ((1,), lambda x: sp.log(x, 2)),
    "log10": ((1,), lambda x: sp.log(x, 10)),
    "sqrt": ((1,), sp.sqrt),
    "cbrt": ((1,), sp.cbrt),
    "abs": ((1,), real_abs),
    "Abs": ((1,), real_abs),
    "sigmoid": ((1,), sigmoid),
    "relu": ((1,), relu),
    "leaky_relu": ((1, 2), leaky_relu),
    "softplus": ((1,), softplus),
    "max": ((2,), sp.Max),
    "min": ((2,), sp.Min),
    "Max": ((2,), sp.Max),
    "Min": ((2,), sp.Min),
    "sign": ((1,), real_sign),
    "Heaviside": ((1, 2), sp.Heaviside),
    "floor": ((1,), floor),
    "ceil": ((1,), ceiling),
    "ceiling": ((1,), ceiling),
}

#: f^-1(x) is refused; the message names the inverse function when there is one
INVERSES = {
    "sin": "asin", "cos": "acos", "tan": "atan", "cot": "acot", "sec": "asec", "csc": "acsc",
    "sinh": "asinh", "cosh": "acosh", "tanh": "atanh", "coth": "acoth", "exp": "log",
    "log": "exp", "ln": "exp",
}

#: the classes a SymPy expression may be built from (what the functions above produce, and
#: what differentiating them gives)
ALLOWED_FUNCTIONS: tuple[type, ...] = (
    sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc, sp.asin, sp.acos, sp.atan, sp.acot,
    sp.asec, sp.acsc, sp.atan2, sp.sinh, sp.cosh, sp.tanh, sp.coth, sp.sech, sp.csch, sp.asinh,
    sp.acosh, sp.atanh, sp.acoth, sp.exp, sp.log, sp.Abs, sp.Max, sp.Min, sp.sign,
    sp.Heaviside, sp.DiracDelta, sp.floor, sp.ceiling, sigmoid, relu, leaky_relu, softplus,
)
CONSTANTS: dict[str, sp.Expr] = {"e": sp.E, "pi": sp.pi}
