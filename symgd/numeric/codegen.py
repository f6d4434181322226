"""The one place where SymPy expressions become numeric functions (``lambdify``).

Only trees built by :func:`symgd.parse` (or handed over as SymPy objects by a program) reach
here. Three families come out:

- :func:`compile_functions` → :class:`Compiled`: numpy functions of f, ∇f and the Hessian over
  a batch axis (many starts at once); ``value_grad_batch`` returns f and ∇f from one shared
  common-subexpression pass. Results are cached per expression (:func:`compiled_for`).
- :func:`build_scalar_stepper` → :class:`ScalarStepper`: a fused, tuple-returning function on
  Python floats (``modules="math"``) that takes the iterate and optimizer state and returns the
  next ``unroll`` iterates, the new state and |∇f|² — gradient and update rule in one body of
  straight-line code, with the rule's rounding kept operation for operation.
- :func:`step_with_value`: a K = 1 step and f, with the constants as arguments: plain Python
  for the optional numba backend (:mod:`symgd.numeric.numba_backend`), or numpy for batches of starts.

The scalar printer writes small integer powers of a name as products (``x*x``) and integer
literals as floats; both give the same IEEE results as ``x**2`` and ``2*x`` with less
interpreter work.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence
from sympy.printing.pycode import PythonCodePrinter


def _math_sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def _math_softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _math_heaviside(z: float, at_zero: float = 0.0) -> float:
    return 1.0 if z > 0 else (at_zero if z == 0 else 0.0)


def _math_leaky_relu(z: float, slope: float = 0.01) -> float:
    return z if z > 0 else slope * z


def _math_dirac(z: float, order: float = 0.0) -> float:
    """The derivative of a step (Heaviside, sign; abs and ReLU twice): 0 away from the jump,
    and taken as 0 at it too, as the steps' own derivatives are."""
    return 0.0


def _np_sigmoid(z: Any) -> Any:
    return np.exp(-np.logaddexp(0.0, -z))


def _np_softplus(z: Any) -> Any:
    return np.logaddexp(0.0, z)


def _np_leaky_relu(z: Any, slope: float = 0.01) -> Any:
    return np.where(z > 0, z, slope * z)


def _np_dirac(z: Any, order: Any = 0) -> Any:
    return np.zeros(np.shape(z))


#: reciprocal trigonometric and hyperbolic functions, called by name: left to SymPy's printers
#: they are rewritten, sometimes through complex exponentials (``csch(sin(x))``)
def _reciprocals(cos: Any, sin: Any, tanh: Any, cosh: Any, sinh: Any, atan: Any, acos: Any,
                 asin: Any, atanh: Any) -> dict[str, Callable[..., Any]]:
    """The reciprocal functions and their inverses, built from one module's basic functions."""
    return {
        "cot": lambda z: cos(z) / sin(z),
        "sec": lambda z: 1.0 / cos(z),
        "csc": lambda z: 1.0 / sin(z),
        "coth": lambda z: 1.0 / tanh(z),
        "sech": lambda z: 1.0 / cosh(z),
        "csch": lambda z: 1.0 / sinh(z),
        "acot": lambda z: atan(1.0 / z),
        "asec": lambda z: acos(1.0 / z),
        "acsc": lambda z: asin(1.0 / z),
        "acoth": lambda z: atanh(1.0 / z),
    }


_RECIPROCAL_MATH = _reciprocals(math.cos, math.sin, math.tanh, math.cosh, math.sinh, math.atan,
                                math.acos, math.asin, math.atanh)
_RECIPROCAL_NUMPY = _reciprocals(np.cos, np.sin, np.tanh, np.cosh, np.sinh, np.arctan,
                                 np.arccos, np.arcsin, np.arctanh)

MATH_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sigmoid": _math_sigmoid,
    "softplus": _math_softplus,
    "relu": lambda z: z if z > 0 else 0.0,
    "leaky_relu": _math_leaky_relu,
    "Heaviside": _math_heaviside,
    "DiracDelta": _math_dirac,
    **_RECIPROCAL_MATH,
}

NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": _np_sigmoid,
    "softplus": _np_softplus,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": _np_leaky_relu,
    "Heaviside": lambda z, at_zero=0.0: np.heaviside(z, at_zero),
    "DiracDelta": _np_dirac,
    **_RECIPROCAL_NUMPY,
}


@functools.cache
def numpy_namespace() -> dict[str, Any]:
    """The names numpy code from lambdify may use: numpy's own (as ``modules="numpy"`` gives
    them, but without its ``from numpy import *``, which loads every lazily imported numpy
    submodule and costs a sixth of a second) and :data:`NUMPY_FUNCTIONS`."""
    namespace = {name: value for name, value in vars(np).items() if not name.startswith("_")}
    namespace.update({"numpy": np, "I": 1j, **NUMPY_FUNCTIONS})
    return namespace


def lambdify_math(variables: Sequence[sp.Symbol], expr: Any) -> Callable[..., Any]:
    """Scalar function of Python floats (``expr`` may be a tuple to return several values)."""
    return sp.lambdify(list(variables), expr, modules=[MATH_FUNCTIONS, "math"], cse=True)


def lambdify_numpy(variables: Sequence[sp.Symbol], expr: Any) -> Callable[..., Any]:
    """numpy function, broadcasting over arrays passed for each variable (printed by the numpy
    printer: ``sign`` and ``Piecewise`` become numpy calls that work on arrays)."""
    return sp.lambdify(list(variables), expr, modules=[numpy_namespace()],
                       printer=_numpy_printer(), cse=True)


class _LazyFunction:
    """A lambdified function built on first call (the Hessian is not always needed)."""

    def __init__(self, build: Callable[[], Callable[..., Any]]) -> None:
        self._build = build
        self._function: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        if self._function is None:
            self._function = self._build()
        return self._function(*args)


@dataclass(frozen=True)
class Compiled:
    """Numeric versions of f, its gradient and Hessian.

    Batch functions take one array per variable (all of one shape) and return arrays that
    broadcast to it: ``grad_batch`` a tuple of n arrays, ``hess_batch`` an n×n nested tuple,
    ``value_grad_batch`` the tuple ``(f, ∂f/∂x1, ..., ∂f/∂xn)``.
    """

    variables: tuple[sp.Symbol, ...]
    f_batch: Callable[..., Any]
    grad_batch: Callable[..., Any]
    hess_batch: Callable[..., Any]
    value_grad_batch: Callable[..., Any] | None = None
    expr: sp.Expr | None = None
    gradient: tuple[sp.Expr, ...] = ()
    hessian: sp.ImmutableMatrix | None = None

    def gradient_at(self, points: np.ndarray) -> np.ndarray:
        """Gradient at each row of ``points`` (shape ``(N, n)``) → ``(N, n)``."""
        columns = self.grad_batch(*points.T)
        return np.stack([np.broadcast_to(c, points.shape[:1]) for c in columns], axis=-1)

    def hessian_at(self, points: np.ndarray) -> np.ndarray:
        """Hessian at each row of ``points`` → ``(N, n, n)``."""
        rows = self.hess_batch(*points.T)
        shape = points.shape[:1]
        return np.stack(
            [np.stack([np.broadcast_to(v, shape) for v in row], axis=-1) for row in rows],
            axis=-2,
        )

    def value_at(self, points: np.ndarray) -> np.ndarray:
        """f at each row of ``points`` → ``(N,)``."""
        return np.broadcast_to(self.f_batch(*points.T), points.shape[:1]).astype(float)

    def value_grad_columns(self, columns: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
        """``(f, g1, ..., gn)`` at points given as n coordinate arrays of one shape."""
        shape = np.shape(columns[0])
        if self.value_grad_batch is None:
            out = (self.f_batch(*columns), *self.grad_batch(*columns))
        else:
            out = self.value_grad_batch(*columns)
        return tuple(np.broadcast_to(np.asarray(v, dtype=float), shape) for v in out)


#: above this many operations, f and ∇f are not tried in factored form
FACTOR_OPS = 400
#: polynomials in at least this many variables are differentiated in a sparse polynomial ring
RING_VARIABLES = 12


def gradient_of(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> tuple[sp.Expr, ...]:
    """∂f/∂v for each v, differentiating only the terms of a sum that contain v.

    The same result as ``sp.diff`` term by term, without walking a long sum once per variable
    (n-dimensional Rosenbrock: n terms × n variables becomes about 2n). A polynomial in many
    variables is differentiated in a sparse polynomial ring instead, which skips SymPy's
    assumption queries (about 5× faster at n = 100); its derivatives come out expanded.
    """
    if len(variables) >= RING_VARIABLES:
        derivatives = _ring_gradient(expr, variables)
        if derivatives is not None:
            return derivatives
    if not isinstance(expr, sp.Add):
        present = expr.free_symbols
        return tuple(sp.diff(expr, v) if v in present else sp.Integer(0) for v in variables)
    by_variable: dict[sp.Symbol, list[sp.Expr]] = {v: [] for v in variables}
    for term in expr.args:
        for symbol in term.free_symbols:
            if symbol in by_variable:
                by_variable[symbol].append(term)
    return tuple(sp.diff(sp.Add(*by_variable[v]), v) for v in variables)


def hessian_of(gradient: Sequence[sp.Expr], variables: Sequence[sp.Symbol]) -> sp.ImmutableMatrix:
    """The Hessian as the Jacobian of the gradient (zero where a variable is absent)."""
    if len(variables) >= RING_VARIABLES:
        rows = _ring_jacobian(gradient, variables)
        if rows is not None:
            return sp.ImmutableMatrix(rows)
    return sp.ImmutableMatrix([gradient_of(g, variables) for g in gradient])


def _ring_gradient(expr: sp.Expr, variables: Sequence[sp.Symbol],
                   ) -> tuple[sp.Expr, ...] | None:
    """The gradient of a polynomial with rational coefficients, or None for anything else."""
    rows = _ring_jacobian([expr], variables)
    return None if rows is None else rows[0]


def _ring_jacobian(exprs: Sequence[sp.Expr], variables: Sequence[sp.Symbol],
                   ) -> list[tuple[sp.Expr, ...]] | None:
    """∂e/∂v for polynomials with rational coefficients, in one sparse ring; else None."""
    from sympy.polys.domains import QQ
    from sympy.polys.polyerrors import CoercionFailed, PolynomialError
    from sympy.polys.rings import ring

    allowed = set(variables)
    for e in exprs:
        e = sp.sympify(e)
        if e.free_symbols - allowed or not e.is_polynomial(*variables):
            return None
    try:
        _, *gens = ring(list(variables), QQ)
        polys = [gens[0].ring(sp.sympify(e)) for e in exprs]
    except (PolynomialError, CoercionFailed, ValueError, TypeError, NotImplementedError):
        return None
    zero = sp.Integer(0)
    rows = []
    for poly in polys:
        present = {i for monomial in poly.itermonoms() for i, power in enumerate(monomial)
                   if power}
        rows.append(tuple(poly.diff(g).as_expr() if i in present else zero
                          for i, g in enumerate(gens)))
    return rows


def compile_functions(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    gradient: Sequence[sp.Expr] | None = None,
    hessian: sp.MatrixBase | None = None,
) -> Compiled:
    """Lambdify f, ∇f and the Hessian (derived here when not given) for batch evaluation.

    f and ∇f come from one function with shared subexpressions; the Hessian is derived and
    lambdified on first use.
    """
    variables = tuple(variables)
    gradient = gradient_of(expr, variables) if gradient is None else tuple(gradient)
    n = len(variables)
    given = None if hessian is None else sp.ImmutableMatrix(hessian)

    def build_hessian() -> Callable[..., Any]:
        matrix = hessian_of(gradient, variables) if given is None else given
        # lambdify the entries that are not constant; a sparse Hessian prints quickly
        entries = [(i, j) for i in range(n) for j in range(n)]
        varying = [(i, j) for i, j in entries if matrix[i, j].free_symbols]
        varying_set = set(varying)
        fixed = {(i, j): float(matrix[i, j]) for i, j in entries if (i, j) not in varying_set}
        values = lambdify_numpy(variables, tuple(matrix[i, j] for i, j in varying))
        where = {key: k for k, key in enumerate(varying)}

        def hess(*columns: Any) -> tuple[tuple[Any, ...], ...]:
            out = values(*columns) if varying else ()
            return tuple(tuple(out[where[i, j]] if (i, j) in where else fixed[i, j]
                               for j in range(n)) for i in range(n))

        return hess

    value_grad = lambdify_numpy_shared(variables, (expr, *gradient))
    return Compiled(
        variables=variables,
        f_batch=lambda *columns: value_grad(*columns)[0],
        grad_batch=lambda *columns: value_grad(*columns)[1:],
        hess_batch=_LazyFunction(build_hessian),
        value_grad_batch=value_grad,
        expr=expr,
        gradient=gradient,
        hessian=given,
    )


@functools.lru_cache(maxsize=64)
def compiled_for(expr: sp.Expr, variables: tuple[sp.Symbol, ...]) -> Compiled:
    """:func:`compile_functions` for ``expr``, cached: a second run on f compiles nothing."""
    return compile_functions(expr, variables)


# -- fused scalar steps -----------------------------------------------------------------------

class _PositiveFirstAdd(PythonCodePrinter):
    """Print sums with a term that carries no minus sign first, the costliest term last.

    ``b - a*c`` costs one operation less than ``-a*c + b`` (in numpy, one pass less) and gives
    the same IEEE result; the order of three or more terms changes the rounding of ∇f by an
    ulp at most.
    """

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        # cheap terms first, so the deepest term joins last (a shorter dependency chain for a
        # compiler), led by the cheapest term without a minus sign
        terms = sorted(self._as_ordered_terms(expr, order=order), key=sp.count_ops)
        for i, term in enumerate(terms):
            if not self._print(term).startswith("-"):
                terms.insert(0, terms.pop(i))
                break
        parts: list[str] = []
        for term in terms:
            text = self._print(term)
            sign = "+"
            if text.startswith("-") and not term.is_Add:
                sign, text = "-", text[1:]
            if precedence(term) < precedence(expr) or term.is_Add:
                text = f"({text})"
            parts.extend([sign, text])
        lead = parts.pop(0)
        return ("-" if lead == "-" else "") + " ".join(parts)


class _ScalarPrinter(_PositiveFirstAdd, PythonCodePrinter):
    """Python-float code: ``x*x`` for small powers of a name, float literals for integers."""

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        exponent = expr.exp
        if expr.base.is_Symbol and exponent.is_Integer and 2 <= int(exponent) <= 4:
            name = self._print(expr.base)
            return "*".join([name] * int(exponent))
        return str(super()._print_Pow(expr, rational=rational))

    def _print_Integer(self, expr: sp.Integer) -> str:
        return repr(float(expr)) if abs(int(expr)) < 2**53 else str(expr)

    def _print_Float(self, expr: sp.Float) -> str:
        if expr._prec <= 53:
            return repr(float(expr))
        return str(super()._print_Float(expr))


class _NumpyPrinter(_PositiveFirstAdd, NumPyPrinter):
    """numpy code with positive-first sums."""


def _numpy_printer() -> _NumpyPrinter:
    return _NumpyPrinter({
        "fully_qualified_modules": False,
        "inline": True,
        "allow_unknown_functions": True,
        "user_functions": {name: name for name in NUMPY_FUNCTIONS},
    })


def lambdify_numpy_shared(variables: Sequence[sp.Symbol], exprs: Sequence[sp.Expr],
                          ) -> Callable[..., Any]:
    """numpy function returning the tuple ``exprs``, sharing their common subexpressions."""
    pairs, reduced = shared_subexpressions(tuple(exprs))

    def shared(items: Any) -> tuple[list[tuple[sp.Symbol, sp.Expr]], tuple[sp.Expr, ...]]:
        return list(pairs), tuple(reduced)

    return sp.lambdify(list(variables), tuple(exprs), modules=[numpy_namespace()],
                       printer=_numpy_printer(), cse=shared)


def _scalar_printer() -> _ScalarPrinter:
    return _ScalarPrinter({
        "fully_qualified_modules": False,
        "inline": True,
        "allow_unknown_functions": True,
        "user_functions": {name: name for name in MATH_FUNCTIONS},
    })


class RuleLike(Protocol):
    """What the compiler needs from an elementwise optimizer rule (see :mod:`symgd.numeric.optimizers`)."""

    @property
    def buffers(self) -> tuple[str, ...]: ...

    @property
    def uses_step(self) -> bool: ...

    @property
    def apply(self) -> Callable[..., tuple[Any, tuple[Any, ...]]]: ...

    @property
    def gradient_scale(self) -> Callable[[Mapping[str, Any]], Any] | None: ...


class _SymbolicOps:
    """``sqrt`` and ``let`` for rules applied to symbols: ``let`` records an assignment."""

    def __init__(self, assignments: list[tuple[sp.Symbol, sp.Expr]], prefix: str) -> None:
        self.assignments = assignments
        self.prefix = prefix
        self.count = 0
        self.known: dict[sp.Basic, sp.Symbol] = {}

    def fresh(self) -> sp.Symbol:
        self.count += 1
        return sp.Symbol(f"{self.prefix}{self.count}")

    def let(self, value: Any) -> Any:
        if isinstance(value, sp.Symbol) or not isinstance(value, sp.Basic):
            return value
        if value in self.known:  # the same quantity for another coordinate: compute it once
            return self.known[value]
        name = self.fresh()
        self.assignments.append((name, value))
        self.known[value] = name
        return name

    @staticmethod
    def sqrt(value: Any) -> Any:
        return sp.sqrt(value)


@dataclass(frozen=True)
class ScalarStepper:
    """``unroll`` fused optimizer steps on Python floats.

    ``function(x1..xn, s1..sm·n, t)`` returns the flat tuple
    ``(x⁽¹⁾..., x⁽ᴷ⁾..., buffers..., t + K, |∇f(x⁽ᴷ⁻¹⁾)|²)``: the next K iterates, the optimizer
    buffers after them (buffer-major, n per buffer), the step counter and the squared gradient
    norm of the last gradient used. Slicing ``out[(K-1)·n:-1]`` gives the next call's arguments.
    ``single`` is the same with K = 1. The rule's scalar constants are globals of the
    generated code, set by :meth:`bind`. ``loop`` runs ``function``'s body many times over
    (see :func:`_runner`).
    """

    n: int
    buffers: int
    unroll: int
    constant_names: tuple[str, ...]
    function: Callable[..., tuple[float, ...]]
    single: Callable[..., tuple[float, ...]]
    loop: Callable[..., bool]

    def bind(self, constants: Mapping[str, float]) -> tuple[Callable[..., tuple[float, ...]],
                                                             Callable[..., tuple[float, ...]]]:
        """Copies of ``function`` and ``single`` that read ``constants``."""
        bound = self._bound(constants)
        return bound[1], bound[2]

    def bind_loop(self, constants: Mapping[str, float]) -> Callable[..., bool]:
        """A copy of ``loop`` that reads ``constants``."""
        return self._bound(constants)[3]

    def _bound(self, constants: Mapping[str, float]) -> tuple[Any, ...]:
        values = {_constant_name(k): float(constants[k]) for k in self.constant_names}
        key = tuple(values.items())
        bound = _BOUND.get((id(self), key))
        if bound is None or bound[0] is not self:
            bound = (self, *(_with_globals(f, values)
                             for f in (self.function, self.single, self.loop)))
            if len(_BOUND) > 256:
                _BOUND.clear()
            _BOUND[(id(self), key)] = bound
        return bound


_BOUND: dict[tuple[int, tuple[tuple[str, float], ...]], tuple[Any, ...]] = {}


def _with_globals(function: Callable[..., Any], values: Mapping[str, float]) -> Any:
    namespace = dict(function.__globals__)
    namespace.update(values)
    return types.FunctionType(function.__code__, namespace)


def _constant_name(name: str) -> str:
    return f"_c_{name}"


def default_unroll(n: int) -> int:
    """Steps fused into one call: many for small n (call overhead dominates), 1 for large n."""
    return max(1, min(8, 16 // max(n, 1)))


def build_scalar_stepper(
    variables: Sequence[sp.Symbol],
    gradient: Sequence[sp.Expr],
    rule: RuleLike,
    constant_names: Sequence[str],
    values: Mapping[str, float],
    unroll: int | None = None,
    expr: sp.Expr | None = None,
) -> ScalarStepper:
    """Fuse ∇f and an elementwise update rule into straight-line float code (see the class).

    Passing f as ``expr`` lets the step reuse the subexpressions found for ``(f, ∇f)``.
    """
    n = len(variables)
    k = default_unroll(n) if unroll is None else unroll
    function, loop = _lambdify_steps(variables, gradient, rule, constant_names, values, k,
                                     expr=expr, runner=True)
    single = function if k == 1 else _lambdify_steps(
        variables, gradient, rule, constant_names, values, 1, expr=expr)
    return ScalarStepper(n, len(rule.buffers), k, tuple(constant_names), function, single,
                         loop)


def step_with_value(
    variables: Sequence[sp.Symbol],
    expr: sp.Expr,
    gradient: Sequence[sp.Expr],
    rule: RuleLike,
    constant_names: Sequence[str],
    values: Mapping[str, float],
    *,
    latency: bool = False,
    vectorised: bool = False,
) -> Callable[..., tuple[Any, ...]]:
    """One step (K = 1) that also returns f, with the rule's constants as arguments.

    ``step(x1..xn, buffers..., t, c1..cq)`` takes the constants in the order of
    ``constant_names`` and returns what :class:`ScalarStepper`'s ``single`` returns followed by
    f at the input point (sharing its subexpressions with ∇f). Plain Python on floats, using
    :data:`MATH_FUNCTIONS` and ``math``, for a compiler such as numba; ``latency`` shapes it
    for a loop that waits on each iterate (one start): plain descent's η is folded into the
    gradient's coefficients, which shortens the chain from x_k to x_{k+1} at the price of
    computing ∇f separately. ``vectorised`` prints the same symbolic step for numpy instead
    (every argument may be an array of starts), so a batch and a single run from the same
    start take the same steps.
    """
    return _lambdify_steps(variables, gradient, rule, constant_names, values, 1,
                           constants_as_args=True, expr=expr, with_value=True,
                           fold_last=latency, vectorised=vectorised)


@functools.lru_cache(maxsize=64)
def shared_subexpressions(
    exprs: tuple[sp.Expr, ...],
) -> tuple[tuple[tuple[sp.Symbol, sp.Expr], ...], tuple[sp.Expr, ...]]:
    """Cached :func:`_shared_subexpressions`: f and ∇f are shared by several builders."""
    pairs, reduced = _shared_subexpressions(exprs)
    return tuple(pairs), tuple(reduced)


def _shared_subexpressions(
    exprs: Sequence[sp.Expr],
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Common subexpressions of the gradient, from its plain or factored form (fewer ops wins).

    Pulling common factors out (``-200 x² + 200 y`` → ``200 (y - x²)``) often exposes a shared
    term; the rounding of ∇f changes by an ulp at most, the update rule's rounding not at all.
    """
    def count(result: tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]) -> int:
        pairs, reduced = result
        return int(sum(sp.count_ops(v) for _, v in pairs) + sum(sp.count_ops(v) for v in reduced))

    def run(items: Sequence[sp.Expr]) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
        pairs, reduced = sp.cse(list(items), symbols=sp.numbered_symbols("_w"), order="none")
        return list(pairs), list(reduced)

    plain = run(exprs)
    if count(plain) > FACTOR_OPS:  # large: factoring costs more time than it saves
        return _name_power_bases(*plain)
    factored = run([sp.factor_terms(e) for e in exprs])
    return _name_power_bases(*(factored if count(factored) < count(plain) else plain))


def _needed(pairs: Sequence[tuple[sp.Symbol, sp.Expr]], targets: Sequence[sp.Expr],
            ) -> list[tuple[sp.Symbol, sp.Expr]]:
    """The assignments ``targets`` depend on, in order (dead ones dropped)."""
    wanted: set[sp.Basic] = set()
    for target in targets:
        wanted |= sp.sympify(target).free_symbols
    kept = []
    for name, value in reversed(pairs):
        if name in wanted:
            kept.append((name, value))
            wanted |= value.free_symbols
    return kept[::-1]


def _name_power_bases(
    pairs: list[tuple[sp.Symbol, sp.Expr]], reduced: list[sp.Expr],
) -> tuple[list[tuple[sp.Symbol, sp.Expr]], list[sp.Expr]]:
    """Give the compound base of each small integer power a name, so it prints as ``w*w``."""
    names = sp.numbered_symbols("_p")
    bases: dict[sp.Expr, sp.Symbol] = {}
    out_pairs: list[tuple[sp.Symbol, sp.Expr]] = []

    def target(node: sp.Basic) -> bool:
        return (isinstance(node, sp.Pow) and not node.base.is_Symbol
                and not node.base.is_Number and node.exp.is_Integer
                and 2 <= int(node.exp) <= 4)

    def name_of(base: sp.Expr) -> sp.Symbol:
        if base not in bases:
            value = rename(base)
            bases[base] = next(names)
            out_pairs.append((bases[base], value))
        return bases[base]

    def rename(expr: sp.Expr) -> sp.Expr:
        found = {node for node in sp.preorder_traversal(expr) if target(node)}
        if not found:
            return expr
        return expr.xreplace({node: sp.Pow(name_of(node.base), node.exp) for node in found})

    for name, value in pairs:
        renamed = rename(value)
        out_pairs.append((name, renamed))
    return out_pairs, [rename(e) for e in reduced]


def _folded_step(x: sp.Expr, g: sp.Expr, scale: sp.Expr, ops: _SymbolicOps) -> sp.Expr | None:
    """``x + scale·g`` with ``scale`` multiplied into the numeric coefficients of g's terms and
    the terms that carry x as a factor gathered (``x·(1 + 2η + ...) + ...``), or ``None`` when
    that takes no fewer operations. The folded constants depend on η only: computed once per
    call, they are shared by the unrolled steps."""
    with_x: list[tuple[sp.Expr, sp.Expr]] = []   # coefficient·x·rest
    without: list[tuple[sp.Expr, sp.Expr]] = []  # coefficient·rest
    for term in sp.Add.make_args(g):
        coeff, rest = term.as_coeff_Mul()
        factors = list(sp.Mul.make_args(rest))
        if x in factors:
            factors.remove(x)
            with_x.append((coeff, sp.Mul(*factors)))
        else:
            without.append((coeff, rest))
    constants: dict[sp.Symbol, sp.Expr] = {}

    def constant(value: sp.Expr) -> sp.Symbol:
        name = sp.Dummy()
        constants[name] = value
        return name

    tail = [constant(c * scale) * rest for c, rest in without]
    if with_x:
        lead = 1 + sum((c * scale for c, rest in with_x if rest == 1), sp.Integer(0))
        inner = [constant(lead)] + [constant(c * scale) * rest for c, rest in with_x
                                    if rest != 1]
        folded = sp.Mul(x, sp.Add(*inner)) if len(inner) > 1 else x * inner[0]
        value = sp.Add(folded, *tail)
    else:
        value = sp.Add(x, *tail)
    if sp.count_ops(value) >= sp.count_ops(g) + 2:
        return None
    return value.xreplace({name: ops.let(v) for name, v in constants.items()})


def _lambdify_steps(
    variables: Sequence[sp.Symbol],
    gradient: Sequence[sp.Expr],
    rule: RuleLike,
    constant_names: Sequence[str],
    values: Mapping[str, float],
    unroll: int,
    constants_as_args: bool = False,
    expr: sp.Expr | None = None,
    with_value: bool = False,
    vectorised: bool = False,
    fold_last: bool = False,
    runner: bool = False,
) -> Any:
    """The step's function (with ``runner``, the pair of it and :func:`_runner`'s loop)."""
    n = len(variables)
    # internal names keep user variables (say `math`) from shadowing modules in the code
    xs = [sp.Symbol(f"_x{i}", real=True) for i in range(n)]
    rename = dict(zip(variables, xs, strict=True))
    buffers = [[sp.Symbol(f"_b{j}_{i}") for i in range(n)] for j in range(len(rule.buffers))]
    t = sp.Symbol("_t")
    constants = {name: sp.Symbol(_constant_name(name)) for name in constant_names}
    value_expr: sp.Expr | None = None
    if expr is None:
        pairs, found = shared_subexpressions(tuple(sp.sympify(g) for g in gradient))
    else:
        pairs, found = shared_subexpressions((expr, *gradient))
        value_expr, found = found[0], found[1:]
    targets = [*found, value_expr] if with_value and value_expr is not None else found
    replacements = [(name, value.xreplace(rename)) for name, value in _needed(pairs, targets)]
    reduced = [sp.sympify(g).xreplace(rename) for g in found]
    assignments: list[tuple[sp.Symbol, sp.Expr]] = []
    ops = _SymbolicOps(assignments, "_v")
    current = list(xs)
    state = [list(b) for b in buffers]
    step_count: sp.Expr = t
    outputs: list[sp.Expr] = []
    last_gsq: sp.Expr = sp.Integer(0)
    value_out: sp.Expr = sp.Integer(0)
    scale = None if rule.gradient_scale is None else rule.gradient_scale(constants)
    for index in range(unroll):
        mapping: dict[sp.Basic, sp.Basic] = dict(zip(xs, current, strict=True))
        for name, value in replacements:
            mapping[name] = ops.let(value.xreplace(mapping))
        if with_value and index == 0 and value_expr is not None:
            value_out = ops.let(value_expr.xreplace(rename).xreplace(mapping))
        components = [component.xreplace(mapping) for component in reduced]
        folded_x: list[Any] = []
        if scale is not None and (index < unroll - 1 or fold_last):
            # fold η into the gradient's coefficients (the last step's gradient is still
            # computed below, for |∇f|², but off the chain from one iterate to the next)
            for x, component in zip(current, components, strict=True):
                folded = _folded_step(x, component, scale, ops)
                if folded is None:
                    delta, _ = rule.apply(ops.let(component), (), step_count, constants, values,
                                          ops)
                    folded = x + delta
                folded_x.append(ops.let(folded))
            if index < unroll - 1:
                current = folded_x
                outputs.extend(current)
                continue
        g = [ops.let(component) for component in components]
        if rule.uses_step:
            step_count = ops.let(step_count + 1)
        new_state: list[list[Any]] = [[None] * n for _ in buffers]
        new_x: list[Any] = []
        for i in range(n):
            delta, updated = rule.apply(g[i], tuple(s[i] for s in state), step_count,
                                        constants, values, ops)
            new_x.append(folded_x[i] if folded_x else ops.let(current[i] + delta))
            for j, value in enumerate(updated):
                new_state[j][i] = ops.let(value)
        last_gsq = sp.Add(*[gi * gi for gi in g])
        current, state = new_x, new_state
        outputs.extend(current)
    if not rule.uses_step:
        step_count = t + unroll
    outputs.extend(v for s in state for v in s)
    outputs.extend([step_count, last_gsq])
    if with_value:
        outputs.append(value_out)
    args = [*xs, *(v for b in buffers for v in b), t]
    if constants_as_args:
        args += [constants[name] for name in constant_names]
    if vectorised:
        return sp.lambdify(
            args, tuple(outputs), modules=[numpy_namespace()], printer=_numpy_printer(),
            cse=lambda exprs: (assignments, exprs), dummify=False,
        )
    function = sp.lambdify(
        args, tuple(outputs), modules=[MATH_FUNCTIONS, "math"], printer=_scalar_printer(),
        cse=lambda exprs: (assignments, exprs), dummify=False,
    )
    if runner:
        return function, _runner(function, args, assignments, outputs, (unroll - 1) * n)
    return function


def _runner(function: Callable[..., Any], args: Sequence[sp.Symbol],
            assignments: Sequence[tuple[sp.Symbol, sp.Expr]], outputs: Sequence[sp.Expr],
            cut: int) -> Callable[..., bool]:
    """The loop around ``function``'s body: ``run(*state, calls, keep, lo, hi)`` takes
    ``calls`` fused steps, hands each call's output tuple to ``keep`` and returns True as soon
    as |∇f|² leaves ``[lo, hi]`` (the alarm of :func:`symgd.descend`), False otherwise.

    The state passes from one call to the next in local variables, which spares a Python
    call, the unpacking of its arguments and a slice per call. Only symbols and numbers the
    compiler made enter the text; it runs in ``function``'s namespace (math, the activation
    helpers and the bound constants).
    """
    printer = _scalar_printer()
    names = [printer.doprint(a) for a in args]
    lines = [f"def run({', '.join(names)}, _calls, _keep, _lo, _hi):",
             "    for _ in range(_calls):"]
    lines += [f"        {printer.doprint(name)} = {printer.doprint(value)}"
              for name, value in assignments]
    lines += [f"        _out = ({', '.join(printer.doprint(o) for o in outputs)},)",
              "        _keep(_out)",
              f"        {', '.join(names)}, = _out[{cut}:-1]",
              "        if not _lo <= _out[-1] <= _hi:",
              "            return True",
              "    return False"]
    namespace = function.__globals__
    exec(compile("\n".join(lines) + "\n", "<symgd step loop>", "exec"), namespace)
    run: Callable[..., bool] = namespace.pop("run")
    return run
