"""Where f is not differentiable: the kinks of abs, relu, leaky_relu, max and min, the jumps of
sign, Heaviside, floor and ceil, and fractional powers at 0; written as text a lesson can print
("x = 1 (relu)"), each checked by the gradient's jump across it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from symgd.base.i18n import _
from symgd.calculus.intervals import bounds
from symgd.expr.activations import Abs, ceiling, floor, leaky_relu, relu, sign
from symgd.expr.problem import to_text

#: names printed for each function that has kinks or jumps
_NAMES: dict[type, str] = {
    sp.Abs: "abs",
    Abs: "abs",
    relu: "relu",
    leaky_relu: "leaky_relu",
    sp.Max: "max",
    sp.Min: "min",
    sp.sign: "sign",
    sign: "sign",
    sp.Heaviside: "Heaviside",
    floor: "floor",
    ceiling: "ceil",
    sp.floor: "floor",
    sp.ceiling: "ceil",
}
_JUMPS = ("sign", "Heaviside", "floor", "ceil")
#: at most this many kinks are listed
MAX_KINKS = 12


@dataclass(frozen=True)
class Kink:
    """A set where f is not differentiable: where ``argument`` is 0 (an integer for floor and
    ceil), because of ``function``; ``jump`` when f itself jumps there."""

    function: str
    argument: sp.Expr
    text: str
    jump: bool


def find_kinks(
    expr: sp.Expr, variables: Sequence[sp.Symbol], gradient: Sequence[sp.Expr] = ()
) -> tuple[Kink, ...]:
    """The kinks and jumps of ``expr`` in ``variables``; with ``gradient`` (the derivatives away
    from the kinks), a kink across which the gradient does not jump is left out.

    >>> import sympy as sp
    >>> from symgd.expr.activations import relu
    >>> x, y = sp.symbols("x y", real=True)
    >>> [k.text for k in find_kinks(relu(x - 1) + sp.Abs(y), (x, y))]
    ['x = 1 (relu)', 'y = 0 (abs)']
    """
    xs = tuple(variables)
    found: list[Kink] = []
    seen: set[str] = set()
    for node, argument in _candidates(expr, set(xs)):
        name = _name(node)
        lo, hi = bounds(argument)
        if name not in ("floor", "ceil") and (lo > 0 or hi < 0):
            continue  # the argument never crosses 0
        text = _where(node, argument, name, xs)
        if text in seen:
            continue
        kink = Kink(name, argument, text, name in _JUMPS)
        if gradient and not kink.jump and not _gradient_jumps(kink, xs, gradient):
            continue
        seen.add(text)
        found.append(kink)
        if len(found) >= MAX_KINKS:
            break
    return tuple(sorted(found, key=lambda k: k.text))


def _name(node: sp.Basic) -> str:
    if isinstance(node, sp.Pow):
        return "sqrt" if node.exp == sp.S.Half else "power"
    return next(name for cls, name in _NAMES.items() if isinstance(node, cls))


def _candidates(expr: sp.Expr, xs: set[sp.Symbol]) -> Iterator[tuple[sp.Basic, sp.Expr]]:
    """Nodes that may not be differentiable, with the expression that is 0 at the kink; a kink
    raised to a power of at least 2 (relu(z)**2) is differentiable and left out."""
    stack: list[sp.Basic] = [expr]
    while stack:
        node = stack.pop()
        if not node.free_symbols & xs:
            continue
        if (
            isinstance(node, sp.Pow)
            and node.exp.is_number
            and node.exp >= 2
            and isinstance(node.base, sp.Abs | Abs | relu | sp.Max | sp.Min | leaky_relu)
        ):
            stack.extend(node.base.args)
            continue
        if (
            isinstance(node, sp.Pow)
            and node.exp.is_Rational
            and not node.exp.is_Integer
            and 0 < node.exp < 1
            and not node.base.is_positive
        ):
            yield node, node.base
        elif any(isinstance(node, cls) for cls in _NAMES):
            args = tuple(node.args)
            if isinstance(node, sp.Max | sp.Min):
                if len(args) == 2:
                    yield node, args[0] - args[1]
            elif not (isinstance(node, leaky_relu) and node.slope == 1):
                yield node, args[0]
        stack.extend(reversed(node.args))


def _where(node: sp.Basic, argument: sp.Expr, name: str, xs: tuple[sp.Symbol, ...]) -> str:
    if name in ("floor", "ceil"):
        return _("{argument} is an integer ({name})").format(argument=to_text(argument), name=name)
    if isinstance(node, sp.Max | sp.Min):
        return f"{to_text(node.args[0])} = {to_text(node.args[1])} ({name})"
    used = [v for v in xs if v in argument.free_symbols]
    if (
        len(used) == 1
        and argument.is_polynomial(used[0])
        and sp.Poly(argument, used[0]).degree() == 1
    ):
        value = sp.solve(argument, used[0])[0]
        return f"{used[0].name} = {to_text(value)} ({name})"
    constant = argument.as_independent(*xs, as_Add=True)[0]
    if argument.is_polynomial(*xs) and constant != 0:
        return f"{to_text(argument - constant)} = {to_text(-constant)} ({name})"
    return f"{to_text(argument)} = 0 ({name})"


def _points_on(argument: sp.Expr, xs: tuple[sp.Symbol, ...], count: int = 6) -> np.ndarray:
    """Points where ``argument`` is 0, found by Newton steps along its gradient from seeded
    random starts (none when it never gets there)."""
    from symgd.expr.lambdify import lambdify_numpy

    n = len(xs)
    value = lambdify_numpy(xs, argument)
    slope = lambdify_numpy(xs, tuple(sp.diff(argument, v) for v in xs))
    x = np.random.default_rng(5).uniform(-2, 2, size=(count * 4, n))
    with np.errstate(all="ignore"):
        for _step in range(40):
            z = np.broadcast_to(np.asarray(value(*x.T), dtype=float), (len(x),))
            g = np.stack(
                [np.broadcast_to(np.asarray(c, dtype=float), (len(x),)) for c in slope(*x.T)],
                axis=1,
            )
            norm2 = (g * g).sum(axis=1)
            x = x - (z / np.where(norm2 > 0, norm2, np.nan))[:, None] * g
        z = np.broadcast_to(np.asarray(value(*x.T), dtype=float), (len(x),))
    ok = np.isfinite(x).all(axis=1) & (np.abs(z) < 1e-10)
    found: np.ndarray = x[ok][:count]
    return found


def _gradient_jumps(kink: Kink, xs: tuple[sp.Symbol, ...], gradient: Sequence[sp.Expr]) -> bool:
    """Whether ∇f differs on the two sides of the kink (True when no point on it was found)."""
    from symgd.expr.lambdify import lambdify_numpy

    try:
        points = _points_on(kink.argument, xs)
    except (TypeError, ValueError, ZeroDivisionError):
        return True
    if len(points) == 0:
        return True
    grad = lambdify_numpy(xs, tuple(gradient))
    normal = lambdify_numpy(xs, tuple(sp.diff(kink.argument, v) for v in xs))
    with np.errstate(all="ignore"):
        for p in points:
            n = np.array([float(c) for c in normal(*p)])
            if not np.isfinite(n).all() or not n.any():
                return True
            step = 1e-6 * (1 + np.abs(p).max()) * n / np.linalg.norm(n)
            above = np.array([float(c) for c in grad(*(p + step))])
            below = np.array([float(c) for c in grad(*(p - step))])
            if not (np.isfinite(above).all() and np.isfinite(below).all()):
                return True
            if np.abs(above - below).max() > 1e-4 * (1 + np.abs(above).max()):
                return True
    return False


def on_a_kink(
    point: Sequence[float],
    kinks: Sequence[Kink],
    xs: tuple[sp.Symbol, ...],
) -> Kink | None:
    """The kink ``point`` lies on (its argument within rounding of 0), if any."""
    from symgd.expr.lambdify import lambdify_numpy

    scale = 1 + max(abs(c) for c in point)
    for kink in kinks:
        if kink.function in ("floor", "ceil"):
            continue
        with np.errstate(all="ignore"):
            value = float(lambdify_numpy(xs, kink.argument)(*point))
        if abs(value) <= 1e-8 * scale:
            return kink
    return None
