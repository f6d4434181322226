"""The deep-learning activations as SymPy functions that know their derivatives.

They stay unevaluated so that a lesson can name them (``σ(z)``, ``ReLU(z)``), print back to text
that :func:`symgd.parse` reads, and be differentiated rule by rule. ``rewrite(sympy.exp)`` turns
``sigmoid`` and ``softplus`` into elementary functions for solvers; the compile stage gives each
a numerically stable implementation.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

_HALF_SLOPE = sp.Rational(1, 100)


def _is_real(arg: Any) -> bool | None:
    """SymPy's three-valued answer to "is ``arg`` real?" (True, False or None: unknown)."""
    answer: bool | None = arg.is_real
    return answer


class sigmoid(sp.Function):  # type: ignore[misc]  # SymPy is untyped
    """The logistic function σ(z) = 1 / (1 + e^(-z)); σ'(z) = σ(z)(1 - σ(z))."""

    nargs = 1

    @classmethod
    def eval(cls, z: sp.Expr) -> sp.Expr | None:
        if z.is_zero:
            return sp.Rational(1, 2)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, z: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_real(self) -> bool | None:
        return _is_real(self.args[0])

    def _eval_is_positive(self) -> bool | None:
        return _is_real(self.args[0])

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        return _with_power(rf"\sigma\left({printer._print(self.args[0])}\right)", exp)


class softplus(sp.Function):  # type: ignore[misc]  # SymPy is untyped
    """softplus(z) = log(1 + e^z), a smooth ReLU; its derivative is σ(z)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(1 + sp.exp(z))

    def _eval_rewrite_as_log(self, z: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(1 + sp.exp(z))

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)

    def _eval_is_real(self) -> bool | None:
        return _is_real(self.args[0])

    def _eval_is_positive(self) -> bool | None:
        return _is_real(self.args[0])

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        inner = printer._print(self.args[0])
        return _with_power(rf"\operatorname{{softplus}}\left({inner}\right)", exp)


class relu(sp.Function):  # type: ignore[misc]  # SymPy is untyped
    """ReLU(z) = max(0, z); its derivative is the step H(z) (taken as 0 at z = 0)."""

    nargs = 1

    @classmethod
    def eval(cls, z: sp.Expr) -> sp.Expr | None:
        if z.is_number and z.is_real:
            try:
                return sp.Max(0, z)
            except (TypeError, ValueError):  # a number SymPy cannot compare
                return None
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, z: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.Max(0, z)

    def _eval_rewrite_as_Piecewise(self, z: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.Piecewise((z, z > 0), (0, True))

    def _eval_is_real(self) -> bool | None:
        return _is_real(self.args[0])

    def _eval_is_nonnegative(self) -> bool | None:
        return _is_real(self.args[0])

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        inner = printer._print(self.args[0])
        return _with_power(rf"\operatorname{{ReLU}}\left({inner}\right)", exp)


class leaky_relu(sp.Function):  # type: ignore[misc]  # SymPy is untyped
    """Leaky ReLU(z, a) = z for z > 0, a·z otherwise (a = 1/100 unless given).

    Its derivative is written a + (1 - a)·H(z) with the step H(0) = 0, so that it prints as
    text the parser reads back.
    """

    nargs = (1, 2)

    @classmethod
    def eval(cls, z: sp.Expr, slope: sp.Expr | None = None) -> sp.Expr | None:
        a = _HALF_SLOPE if slope is None else slope
        if z.is_number and z.is_real and a.is_number:
            try:
                return z if z > 0 else a * z
            except (TypeError, ValueError):
                return None
        return None

    @property
    def slope(self) -> sp.Expr:
        return self.args[1] if len(self.args) > 1 else _HALF_SLOPE

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        z, a = self.args[0], self.slope
        if argindex == 1:
            return a + (1 - a) * sp.Heaviside(z, 0)
        return z * (1 - sp.Heaviside(z, 0))

    def _eval_rewrite_as_Piecewise(self, z: sp.Expr, *rest: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.Piecewise((z, z > 0), (self.slope * z, True))

    def _eval_is_real(self) -> bool | None:
        return _is_real(self.args[0])

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        inner = ", ".join(printer._print(a) for a in self.args)
        return _with_power(rf"\operatorname{{LeakyReLU}}\left({inner}\right)", exp)


class Abs(sp.Abs):  # type: ignore[misc]  # SymPy is untyped
    """|z| for symgd's real functions: its derivative is sign(z)·z' wherever z ≠ 0. SymPy's own
    ``Abs`` goes through ``re``, ``im`` and ``arg`` when it cannot prove z real (``|log(x)|``,
    ``|1/(x + y)|``), which neither reads well nor compiles; for a real z the two agree."""

    def _eval_derivative(self, x: sp.Symbol) -> sp.Expr:
        argument = self.args[0]
        return sp.diff(argument, x) * real_sign(argument)


class sign(sp.sign):  # type: ignore[misc]  # SymPy is untyped
    """sign(z) for symgd's real functions: its derivative is 2·δ(z)·z' (0 away from z = 0),
    whether or not SymPy can prove z real (SymPy's own ``sign`` leaves it unevaluated then)."""

    def _eval_derivative(self, x: sp.Symbol) -> sp.Expr:
        argument = self.args[0]
        return 2 * sp.diff(argument, x) * sp.DiracDelta(argument)


def real_abs(z: sp.Expr) -> sp.Expr:
    """|z|: SymPy's ``Abs`` when SymPy knows z is real (the usual case), else :class:`Abs`."""
    return sp.Abs(z) if z.is_extended_real else Abs(z)


def real_sign(z: sp.Expr) -> sp.Expr:
    """sign(z): SymPy's ``sign`` when SymPy knows z is real, else :class:`sign`."""
    return sp.sign(z) if z.is_extended_real else sign(z)


class floor(sp.floor):  # type: ignore[misc]  # SymPy is untyped
    """⌊z⌋ with the derivative 0: flat between integers, a jump at each one (where there is no
    derivative). SymPy's own ``floor`` leaves its derivative unevaluated."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class ceiling(sp.ceiling):  # type: ignore[misc]  # SymPy is untyped
    """⌈z⌉ with the derivative 0: flat between integers, a jump at each one."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


_OURS: dict[type, type] = {sp.Abs: Abs, sp.sign: sign, sp.floor: floor, sp.ceiling: ceiling}


def _replaceable(node: sp.Basic) -> bool:
    if type(node) in (sp.Abs, sp.sign):
        return node.args[0].is_extended_real is not True
    return type(node) in _OURS


def as_symgd_functions(expr: sp.Expr) -> sp.Expr:
    """``expr`` with SymPy's ``floor`` and ``ceiling``, and its ``Abs`` and ``sign`` of
    arguments it cannot prove real (from a program, or made by SymPy while simplifying),
    replaced by the classes above, which differentiate as real functions."""
    if not any(_replaceable(node) for node in sp.preorder_traversal(expr)):
        return expr
    return expr.replace(_replaceable, lambda n: _OURS[type(n)](*n.args))


def _with_power(latex: str, exp: str | None) -> str:
    """``σ(z)`` raised to ``exp`` when SymPy's printer passes one (as in ``σ(z)^2``)."""
    return latex if exp is None else rf"{latex}^{{{exp}}}"


#: the custom classes, for printers and compilers that need to know them
ACTIVATIONS: tuple[type[sp.Function], ...] = (sigmoid, softplus, relu, leaky_relu)


def to_elementary(expr: sp.Expr) -> sp.Expr:
    """Rewrite the activations as exp/log/Piecewise so that solvers can work on them."""
    replacements: dict[type[sp.Function], Any] = {
        sigmoid: lambda z: 1 / (1 + sp.exp(-z)),
        softplus: lambda z: sp.log(1 + sp.exp(z)),
        relu: lambda z: sp.Piecewise((z, z > 0), (0, True)),
        leaky_relu: lambda z, a=_HALF_SLOPE: sp.Piecewise((z, z > 0), (a * z, True)),
    }
    result = expr
    for cls, rewrite in replacements.items():
        result = result.replace(cls, rewrite)
    return result
