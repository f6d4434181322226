"""Code generation: the numeric functions descent runs, built from the derivatives calculus
computed (this module differentiates nothing; every function comes from
:func:`symgd.expr.lambdify.lambdify`).

- :func:`compile_functions` → :class:`~symgd.expr.batch.Compiled`: numpy functions of f, ∇f and
  the Hessian over a batch axis (many starts at once); ``value_grad_batch`` returns f and ∇f
  from one shared common-subexpression pass. Results are cached per expression
  (:func:`compiled_for`).
- :func:`build_scalar_stepper` → :class:`ScalarStepper`: a fused, tuple-returning function on
  Python floats that takes the iterate and optimizer state and returns the next ``unroll``
  iterates, the new state and |∇f|² — gradient and update rule in one body of straight-line
  code, with the rule's rounding kept operation for operation.
- :func:`step_with_value`: a K = 1 step and f, with the constants as arguments: plain Python
  for the optional numba backend (:mod:`symgd.numeric.numba_backend`), or numpy for batches of
  starts.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sympy as sp

from symgd.calculus.differentiate import gradient_of, hessian_of
from symgd.expr.batch import Compiled, batch_functions
from symgd.expr.lambdify import (
    lambdify,
    numpy_printer,
    scalar_printer,
)
from symgd.expr.subexpressions import shared_subexpressions

__all__ = [
    "RuleLike",
    "ScalarStepper",
    "build_scalar_stepper",
    "compile_functions",
    "compiled_for",
    "default_unroll",
    "step_with_value",
]


def compile_functions(
    expr: sp.Expr,
    variables: Sequence[sp.Symbol],
    gradient: Sequence[sp.Expr] | None = None,
    hessian: sp.MatrixBase | None = None,
) -> Compiled:
    """Lambdify f, ∇f and the Hessian for batch evaluation; calculus derives ∇f
    (:func:`~symgd.calculus.differentiate.gradient_of`) and, on first use, the Hessian
    (:func:`~symgd.calculus.differentiate.hessian_of`) when they are not given.

    f and ∇f come from one function with shared subexpressions; the Hessian is lambdified on
    first use.
    """
    variables = tuple(variables)
    derived = gradient_of(expr, variables) if gradient is None else tuple(gradient)
    return batch_functions(
        expr, variables, derived, hessian, lambda: hessian_of(derived, variables)
    )


@functools.lru_cache(maxsize=64)
def compiled_for(expr: sp.Expr, variables: tuple[sp.Symbol, ...]) -> Compiled:
    """:func:`compile_functions` for ``expr``, cached: a second run on f compiles nothing."""
    return compile_functions(expr, variables)


class RuleLike(Protocol):
    """What the compiler needs from an elementwise optimizer rule (see
    :mod:`symgd.numeric.optimizers`)."""

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

    def bind(
        self, constants: Mapping[str, float]
    ) -> tuple[Callable[..., tuple[float, ...]], Callable[..., tuple[float, ...]]]:
        """Copies of ``function`` and ``single`` that read ``constants``."""
        bound = self._bound(constants)
        return bound[1], bound[2]

    def bind_loop(self, constants: Mapping[str, float]) -> Callable[..., bool]:
        """A copy of ``loop`` that reads ``constants``."""
        loop: Callable[..., bool] = self._bound(constants)[3]
        return loop

    def _bound(self, constants: Mapping[str, float]) -> tuple[Any, ...]:
        values = {_constant_name(k): float(constants[k]) for k in self.constant_names}
        key = tuple(values.items())
        bound = _BOUND.get((id(self), key))
        if bound is None or bound[0] is not self:
            bound = (
                self,
                *(_with_globals(f, values) for f in (self.function, self.single, self.loop)),
            )
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
    function, loop = _lambdify_steps(
        variables, gradient, rule, constant_names, values, k, expr=expr, runner=True
    )
    single = (
        function
        if k == 1
        else _lambdify_steps(variables, gradient, rule, constant_names, values, 1, expr=expr)
    )
    return ScalarStepper(n, len(rule.buffers), k, tuple(constant_names), function, single, loop)


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
    step: Callable[..., tuple[Any, ...]] = _lambdify_steps(
        variables,
        gradient,
        rule,
        constant_names,
        values,
        1,
        constants_as_args=True,
        expr=expr,
        with_value=True,
        fold_last=latency,
        vectorised=vectorised,
    )
    return step


def _needed(
    pairs: Sequence[tuple[sp.Symbol, sp.Expr]],
    targets: Sequence[sp.Expr],
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


def _folded_step(x: sp.Expr, g: sp.Expr, scale: sp.Expr, ops: _SymbolicOps) -> sp.Expr | None:
    """``x + scale·g`` with ``scale`` multiplied into the numeric coefficients of g's terms and
    the terms that carry x as a factor gathered (``x·(1 + 2η + ...) + ...``), or ``None`` when
    that takes no fewer operations. The folded constants depend on η only: computed once per
    call, they are shared by the unrolled steps."""
    with_x: list[tuple[sp.Expr, sp.Expr]] = []  # coefficient·x·rest
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
        inner = [constant(lead)] + [constant(c * scale) * rest for c, rest in with_x if rest != 1]
        folded = sp.Mul(x, sp.Add(*inner)) if len(inner) > 1 else x * inner[0]
        value = sp.Add(folded, *tail)
    else:
        value = sp.Add(x, *tail)
    if sp.count_ops(value) >= sp.count_ops(g) + 2:
        return None
    return value.xreplace({name: ops.let(v) for name, v in constants.items()})


@dataclass(frozen=True)
class _StepPlan:
    """The symbols of a generated step and the gradient written in them: internal names
    (``_x0``, ``_b0_0``, ``_t``, ``_c_lr``) keep user variables (say ``math``) from shadowing
    modules in the code; ``replacements`` are the shared subexpressions the outputs need."""

    xs: list[sp.Symbol]
    buffers: list[list[sp.Symbol]]
    t: sp.Symbol
    constants: dict[str, sp.Symbol]
    rename: dict[sp.Symbol, sp.Symbol]
    replacements: list[tuple[sp.Symbol, sp.Expr]]
    reduced: list[sp.Expr]
    value_expr: sp.Expr | None


def _plan(
    variables: Sequence[sp.Symbol],
    gradient: Sequence[sp.Expr],
    rule: RuleLike,
    constant_names: Sequence[str],
    expr: sp.Expr | None,
    with_value: bool,
) -> _StepPlan:
    n = len(variables)
    xs = [sp.Symbol(f"_x{i}", real=True) for i in range(n)]
    rename = dict(zip(variables, xs, strict=True))
    buffers = [[sp.Symbol(f"_b{j}_{i}") for i in range(n)] for j in range(len(rule.buffers))]
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
    return _StepPlan(
        xs, buffers, sp.Symbol("_t"), constants, rename, replacements, reduced, value_expr
    )


def _fold_all(
    current: Sequence[Any],
    components: Sequence[sp.Expr],
    scale: sp.Expr,
    rule: RuleLike,
    step_count: sp.Expr,
    constants: Mapping[str, sp.Symbol],
    values: Mapping[str, float],
    ops: _SymbolicOps,
) -> list[Any]:
    """Each coordinate's next value with η folded into the gradient's coefficients (see
    :func:`_folded_step`), or the rule's own update where folding saves nothing."""
    folded_x: list[Any] = []
    for x, component in zip(current, components, strict=True):
        folded = _folded_step(x, component, scale, ops)
        if folded is None:
            delta, _ = rule.apply(ops.let(component), (), step_count, constants, values, ops)
            folded = x + delta
        folded_x.append(ops.let(folded))
    return folded_x


def _unrolled(
    plan: _StepPlan,
    rule: RuleLike,
    values: Mapping[str, float],
    unroll: int,
    ops: _SymbolicOps,
    with_value: bool,
    fold_last: bool,
) -> list[sp.Expr]:
    """The outputs of ``unroll`` steps: the iterates, the buffers, the step count, |∇f|² of
    the last gradient and (``with_value``) f at the input point; ``ops`` records the
    assignments that compute them."""
    n = len(plan.xs)
    current: list[Any] = list(plan.xs)
    state: list[list[Any]] = [list(b) for b in plan.buffers]
    step_count: sp.Expr = plan.t
    outputs: list[sp.Expr] = []
    last_gsq: sp.Expr = sp.Integer(0)
    value_out: sp.Expr = sp.Integer(0)
    constants = plan.constants
    scale = None if rule.gradient_scale is None else rule.gradient_scale(constants)
    for index in range(unroll):
        mapping: dict[sp.Basic, sp.Basic] = dict(zip(plan.xs, current, strict=True))
        for name, value in plan.replacements:
            mapping[name] = ops.let(value.xreplace(mapping))
        if with_value and index == 0 and plan.value_expr is not None:
            value_out = ops.let(plan.value_expr.xreplace(plan.rename).xreplace(mapping))
        components = [component.xreplace(mapping) for component in plan.reduced]
        folded_x: list[Any] = []
        if scale is not None and (index < unroll - 1 or fold_last):
            # fold η into the gradient's coefficients (the last step's gradient is still
            # computed below, for |∇f|², but off the chain from one iterate to the next)
            folded_x = _fold_all(
                current, components, scale, rule, step_count, constants, values, ops
            )
            if index < unroll - 1:
                current = folded_x
                outputs.extend(current)
                continue
        g = [ops.let(component) for component in components]
        if rule.uses_step:
            step_count = ops.let(step_count + 1)
        new_state: list[list[Any]] = [[None] * n for _ in plan.buffers]
        new_x: list[Any] = []
        for i in range(n):
            delta, updated = rule.apply(
                g[i], tuple(s[i] for s in state), step_count, constants, values, ops
            )
            new_x.append(folded_x[i] if folded_x else ops.let(current[i] + delta))
            for j, value in enumerate(updated):
                new_state[j][i] = ops.let(value)
        last_gsq = sp.Add(*[gi * gi for gi in g])
        current, state = new_x, new_state
        outputs.extend(current)
    if not rule.uses_step:
        step_count = plan.t + unroll
    outputs.extend(v for s in state for v in s)
    outputs.extend([step_count, last_gsq])
    if with_value:
        outputs.append(value_out)
    return outputs


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
    plan = _plan(variables, gradient, rule, constant_names, expr, with_value)
    assignments: list[tuple[sp.Symbol, sp.Expr]] = []
    ops = _SymbolicOps(assignments, "_v")
    outputs = _unrolled(plan, rule, values, unroll, ops, with_value, fold_last)
    args = [*plan.xs, *(v for b in plan.buffers for v in b), plan.t]
    if constants_as_args:
        args += [plan.constants[name] for name in constant_names]
    function = lambdify(
        args,
        tuple(outputs),
        numpy=vectorised,
        printer=numpy_printer() if vectorised else scalar_printer(),
        cse=lambda exprs: (assignments, exprs),
    )
    if runner:
        return function, _runner(function, args, assignments, outputs, (unroll - 1) * len(plan.xs))
    return function


def _runner(
    function: Callable[..., Any],
    args: Sequence[sp.Symbol],
    assignments: Sequence[tuple[sp.Symbol, sp.Expr]],
    outputs: Sequence[sp.Expr],
    cut: int,
) -> Callable[..., bool]:
    """The loop around ``function``'s body: ``run(*state, calls, keep, lo, hi)`` takes
    ``calls`` fused steps, hands each call's output tuple to ``keep`` and returns True as soon
    as |∇f|² leaves ``[lo, hi]`` (the alarm of :func:`symgd.descend`), False otherwise.

    The state passes from one call to the next in local variables, which spares a Python
    call, the unpacking of its arguments and a slice per call. Only symbols and numbers the
    compiler made enter the text; it runs in ``function``'s namespace (math, the activation
    helpers and the bound constants).
    """
    printer = scalar_printer()
    names = [printer.doprint(a) for a in args]
    lines = [
        f"def run({', '.join(names)}, _calls, _keep, _lo, _hi):",
        "    for _ in range(_calls):",
    ]
    lines += [
        f"        {printer.doprint(name)} = {printer.doprint(value)}" for name, value in assignments
    ]
    lines += [
        f"        _out = ({', '.join(printer.doprint(o) for o in outputs)},)",
        "        _keep(_out)",
        f"        {', '.join(names)}, = _out[{cut}:-1]",
        "        if not _lo <= _out[-1] <= _hi:",
        "            return True",
        "    return False",
    ]
    namespace = function.__globals__
    exec(compile("\n".join(lines) + "\n", "<symgd step loop>", "exec"), namespace)
    run: Callable[..., bool] = namespace.pop("run")
    return run
