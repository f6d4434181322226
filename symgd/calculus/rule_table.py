"""The rules for the functions of one argument: for each SymPy class, the rule's name, f'(u),
the rule written in LaTeX and a sentence about it.

Each entry: rule name, f'(u) as a function of u (and the call's extra arguments), the
derivative of f(t) written in LaTeX for the symbol t, and a sentence about f'(u).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from symgd.base.i18n import N_
from symgd.expr.activations import (
    Abs,
    ceiling,
    floor,
    leaky_relu,
    relu,
    sigmoid,
    sign,
    softplus,
)


@dataclass(frozen=True)
class FunctionRule:
    rule: str
    derivative: Callable[[sp.Expr, sp.Expr], sp.Expr]  # (u, the call) -> f'(u)
    left: Callable[[str], str]  # t -> LaTeX of f(t)
    right: Callable[[str], str]  # t -> LaTeX of f'(t)
    sentence: (
        str  # marked with N_; with {f} for the function applied to u and {d} for its derivative
    )


def _fr(
    rule: str,
    derivative: Callable[[sp.Expr, sp.Expr], sp.Expr],
    left: str,
    right: str,
    sentence: str,
) -> FunctionRule:
    return FunctionRule(
        rule=rule,
        derivative=derivative,
        left=lambda t: left.replace("@", t),
        right=lambda t: right.replace("@", t),
        sentence=sentence,
    )


_ABS_RULE = _fr(
    "abs",
    lambda u, f: sp.sign(u),
    r"\left|@\right|",
    r"\operatorname{sign}(@)",
    N_(
        "Absolute value rule: away from 0 the slope of {f} is {d}, "
        "that is +1 or -1 (there is no derivative at 0)."
    ),
)
_SIGN_RULE = _fr(
    "step",
    lambda u, f: 2 * sp.DiracDelta(u),
    r"\operatorname{sign}(@)",
    r"2\,\delta(@)",
    N_(
        "Step rule: {f} is flat away from 0, so its slope there is 0; it jumps by 2 at "
        "0, which {d} records (the delta counts as 0 in the numbers)."
    ),
)
FUNCTION_RULES: dict[type, FunctionRule] = {
    sp.exp: _fr(
        "exp",
        lambda u, f: sp.exp(u),
        r"e^{@}",
        r"e^{@}",
        N_("The exponential function is its own derivative: {f} gives {d}."),
    ),
    sp.log: _fr(
        "log",
        lambda u, f: 1 / u,
        r"\ln @",
        r"\frac{1}{@}",
        N_("Logarithm rule: the derivative of {f} is {d}."),
    ),
    sp.sin: _fr(
        "sin",
        lambda u, f: sp.cos(u),
        r"\sin @",
        r"\cos @",
        N_("Sine rule: the derivative of {f} is {d}."),
    ),
    sp.cos: _fr(
        "cos",
        lambda u, f: -sp.sin(u),
        r"\cos @",
        r"-\sin @",
        N_("Cosine rule: the derivative of {f} is {d}."),
    ),
    sp.tan: _fr(
        "tan",
        lambda u, f: sp.sec(u) ** 2,
        r"\tan @",
        r"\sec^{2} @",
        N_("Tangent rule: the derivative of {f} is {d}."),
    ),
    sp.cot: _fr(
        "cot",
        lambda u, f: -(sp.csc(u) ** 2),
        r"\cot @",
        r"-\csc^{2} @",
        N_("Cotangent rule: the derivative of {f} is {d}."),
    ),
    sp.sec: _fr(
        "sec",
        lambda u, f: sp.sec(u) * sp.tan(u),
        r"\sec @",
        r"\sec @ \tan @",
        N_("Secant rule: the derivative of {f} is {d}."),
    ),
    sp.csc: _fr(
        "csc",
        lambda u, f: -sp.csc(u) * sp.cot(u),
        r"\csc @",
        r"-\csc @ \cot @",
        N_("Cosecant rule: the derivative of {f} is {d}."),
    ),
    sp.asin: _fr(
        "asin",
        lambda u, f: 1 / sp.sqrt(1 - u**2),
        r"\arcsin @",
        r"\frac{1}{\sqrt{1 - @^{2}}}",
        N_("Arcsine rule: the derivative of {f} is {d}."),
    ),
    sp.acos: _fr(
        "acos",
        lambda u, f: -1 / sp.sqrt(1 - u**2),
        r"\arccos @",
        r"-\frac{1}{\sqrt{1 - @^{2}}}",
        N_("Arccosine rule: the derivative of {f} is {d}."),
    ),
    sp.atan: _fr(
        "atan",
        lambda u, f: 1 / (1 + u**2),
        r"\arctan @",
        r"\frac{1}{1 + @^{2}}",
        N_("Arctangent rule: the derivative of {f} is {d}."),
    ),
    sp.sinh: _fr(
        "sinh",
        lambda u, f: sp.cosh(u),
        r"\sinh @",
        r"\cosh @",
        N_("Hyperbolic sine rule: the derivative of {f} is {d}."),
    ),
    sp.cosh: _fr(
        "cosh",
        lambda u, f: sp.sinh(u),
        r"\cosh @",
        r"\sinh @",
        N_("Hyperbolic cosine rule: the derivative of {f} is {d}."),
    ),
    sp.tanh: _fr(
        "tanh",
        lambda u, f: 1 - sp.tanh(u) ** 2,
        r"\tanh @",
        r"1 - \tanh^{2} @",
        N_("Hyperbolic tangent rule: the derivative of {f} is {d}, one minus its square."),
    ),
    sp.coth: _fr(
        "coth",
        lambda u, f: -1 / sp.sinh(u) ** 2,
        r"\coth @",
        r"-\frac{1}{\sinh^{2} @}",
        N_("Hyperbolic cotangent rule: the derivative of {f} is {d}."),
    ),
    sp.sech: _fr(
        "sech",
        lambda u, f: -sp.tanh(u) * sp.sech(u),
        r"\operatorname{sech} @",
        r"-\tanh @ \operatorname{sech} @",
        N_("Hyperbolic secant rule: the derivative of {f} is {d}."),
    ),
    sp.csch: _fr(
        "csch",
        lambda u, f: -sp.coth(u) * sp.csch(u),
        r"\operatorname{csch} @",
        r"-\coth @ \operatorname{csch} @",
        N_("Hyperbolic cosecant rule: the derivative of {f} is {d}."),
    ),
    sp.asinh: _fr(
        "asinh",
        lambda u, f: 1 / sp.sqrt(u**2 + 1),
        r"\operatorname{arsinh} @",
        r"\frac{1}{\sqrt{@^{2} + 1}}",
        N_("Inverse hyperbolic sine rule: the derivative of {f} is {d}."),
    ),
    sp.acosh: _fr(
        "acosh",
        lambda u, f: 1 / (sp.sqrt(u - 1) * sp.sqrt(u + 1)),
        r"\operatorname{arcosh} @",
        r"\frac{1}{\sqrt{@ - 1}\,\sqrt{@ + 1}}",
        N_(
            "Inverse hyperbolic cosine rule: the derivative of {f} is {d} "
            "(defined for arguments above 1)."
        ),
    ),
    sp.atanh: _fr(
        "atanh",
        lambda u, f: 1 / (1 - u**2),
        r"\operatorname{artanh} @",
        r"\frac{1}{1 - @^{2}}",
        N_("Inverse hyperbolic tangent rule: the derivative of {f} is {d}."),
    ),
    sp.acoth: _fr(
        "acoth",
        lambda u, f: 1 / (1 - u**2),
        r"\operatorname{arcoth} @",
        r"\frac{1}{1 - @^{2}}",
        N_("Inverse hyperbolic cotangent rule: the derivative of {f} is {d}."),
    ),
    sp.acot: _fr(
        "acot",
        lambda u, f: -1 / (u**2 + 1),
        r"\operatorname{arccot} @",
        r"-\frac{1}{1 + @^{2}}",
        N_("Arccotangent rule: the derivative of {f} is {d}."),
    ),
    sp.asec: _fr(
        "asec",
        lambda u, f: 1 / (u**2 * sp.sqrt(1 - 1 / u**2)),
        r"\operatorname{arcsec} @",
        r"\frac{1}{@^{2}\sqrt{1 - @^{-2}}}",
        N_("Arcsecant rule: the derivative of {f} is {d}."),
    ),
    sp.acsc: _fr(
        "acsc",
        lambda u, f: -1 / (u**2 * sp.sqrt(1 - 1 / u**2)),
        r"\operatorname{arccsc} @",
        r"-\frac{1}{@^{2}\sqrt{1 - @^{-2}}}",
        N_("Arccosecant rule: the derivative of {f} is {d}."),
    ),
    floor: _fr(
        "step",
        lambda u, f: sp.S.Zero,
        r"\lfloor @ \rfloor",
        "0",
        N_(
            "Step rule: {f} is flat between integers, so its slope there is {d}; at an "
            "integer it jumps and has no derivative."
        ),
    ),
    ceiling: _fr(
        "step",
        lambda u, f: sp.S.Zero,
        r"\lceil @ \rceil",
        "0",
        N_(
            "Step rule: {f} is flat between integers, so its slope there is {d}; at an "
            "integer it jumps and has no derivative."
        ),
    ),
    sp.sign: _SIGN_RULE,
    sign: _SIGN_RULE,
    sp.Abs: _ABS_RULE,
    Abs: _ABS_RULE,
    sigmoid: _fr(
        "sigmoid",
        lambda u, f: sigmoid(u) * (1 - sigmoid(u)),
        r"\sigma(@)",
        r"\sigma(@)\left(1 - \sigma(@)\right)",
        N_(
            "Sigmoid rule: the derivative of {f} is {d}, the sigmoid times one minus "
            "itself (never more than 1/4)."
        ),
    ),
    softplus: _fr(
        "softplus",
        lambda u, f: sigmoid(u),
        r"\operatorname{softplus}(@)",
        r"\sigma(@)",
        N_("Softplus rule: the derivative of {f} is the sigmoid {d}."),
    ),
    relu: _fr(
        "relu",
        lambda u, f: sp.Heaviside(u, 0),
        r"\operatorname{ReLU}(@)",
        r"H(@)",
        N_(
            "ReLU rule: the slope of {f} is the step {d}: 1 where the argument is "
            "positive, 0 where it is negative (taken as 0 at the kink)."
        ),
    ),
    leaky_relu: _fr(
        "leaky_relu",
        lambda u, f: f.slope + (1 - f.slope) * sp.Heaviside(u, 0),
        r"\operatorname{LeakyReLU}(@, a)",
        r"a + (1 - a)\,H(@)",
        N_(
            "Leaky ReLU rule: the slope of {f} is {d}: 1 where the argument is "
            "positive, the small slope a = {a} where it is negative."
        ),
    ),
}
