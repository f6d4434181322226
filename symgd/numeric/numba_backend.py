"""The optional numba backend: the whole descent loop compiled to machine code.

Used only when asked for (``descend(..., backend="numba")``, ``symgd descend --fast``); it needs
the ``fast`` extra (``pip install 'symgd[fast]'``). The step is the same generated code as the
default path's (one step of ∇f plus the update rule, from
:func:`symgd.numeric.codegen.step_with_value`), compiled by numba. The one liberty taken is
fusing multiply-adds (FMA, a single rounding where Python rounds twice), so the numbers match
the default path to within a few ulps per step; the stopping rules are those of
:mod:`symgd.numeric.results`.

The loop itself is a small kernel written out for the number of variables and optimizer
buffers at hand (only internal names and counts enter its text, never user input) and compiled
twice: serially for one start, and with ``prange`` over blocks of starts for a batch. Inside a
block, every step sweeps all rows with branch-free updates, so the row loop vectorises.
Compiled kernels are cached per function and method for the life of the process.

A single start that does not keep its whole path keeps the same thinned path as the other
backends, inside the kernel: the first steps, then every stride-th (the stride doubles and
every other kept step goes when the buffer fills) and the last. A run that does not keep its
whole path, one start or a batch, also keeps its last
:data:`~symgd.numeric.results.TAIL_POINTS` iterates, written in the last steps only, for its
outcome (:mod:`symgd.numeric.outcomes`), as the numpy paths do. Rows that stop on a value
that is not finite come back as diverged; :mod:`symgd.numeric.runner` then tells the ones that
left the domain of f from the ones that overflowed (:mod:`symgd.numeric.domain`).
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from symgd.base.errors import InputError, MissingDependencyError
from symgd.expr.batch import Compiled
from symgd.expr.lambdify import MATH_FUNCTIONS
from symgd.expr.problem import Problem
from symgd.numeric.codegen import step_with_value
from symgd.numeric.optimizer_spec import Optimizer
from symgd.numeric.results import (
    PATH_HEAD,
    PATH_POINTS,
    RUNAWAY,
    STATUS_ORDER,
    RunResult,
    Status,
    tail_length,
)

numba: Any
try:
    import numba
except ImportError:  # pragma: no cover - depends on the environment
    numba = None

#: rows per parallel block
BLOCK = 2048
#: most steps a batch chunk takes per row before its stop tests are looked at (see batch_source)
UNROLL = 8
#: LLVM may fuse a*b + c into one rounding (FMA); no other fast-math liberty, so NaN and
#: infinity still behave and the stopping rules see them
FASTMATH = {"contract"}

_KERNELS: dict[tuple[Any, ...], tuple[Callable[..., None], Callable[..., None]]] = {}
_JIT_MATH: dict[str, Any] = {}


class _Launch(NamedTuple):
    """A kernel's inputs: the iterates ``(n, N)``, the optimizer's buffers ``(m·n, N)`` (both
    updated in place), the rule's constants and the run's settings."""

    x: np.ndarray
    buffers: np.ndarray
    consts: np.ndarray
    steps: int
    tol2: float
    keep_path: bool


def run_numba(
    problem: Problem,
    compiled: Compiled,
    optimizer: Optimizer,
    starts: np.ndarray,
    steps: int,
    tol: float,
    keep_path: bool,
) -> RunResult:
    """Run ``optimizer`` from each row of ``starts``; returns a
    :class:`~symgd.numeric.results.RunResult`."""
    if numba is None:
        raise MissingDependencyError(
            "the fast backend needs numba; install it with: pip install 'symgd[fast]'"
        )
    rule = optimizer.rule
    if rule is None:
        raise InputError(
            "the numba backend runs first-order methods; Newton's method uses the default backend"
        )
    count, n = starts.shape
    constants = optimizer.constants()
    names = tuple(constants)
    m = len(rule.buffers)
    serial, parallel = _kernels(problem, compiled, optimizer, names, constants)
    buffers = np.empty((m * n, count))
    for j, value in enumerate(rule.initial(optimizer.hyperparameters)):
        buffers[j * n : (j + 1) * n] = value
    launch = _Launch(
        np.ascontiguousarray(starts.T, dtype=float),
        buffers,
        np.array([constants[k] for k in names], dtype=float),
        steps,
        tol * tol,
        keep_path,
    )
    try:
        return _run_one(serial, launch) if count == 1 else _run_many(parallel, launch)
    except numba.core.errors.NumbaError as exc:
        raise InputError(
            f"the numba backend cannot compile this function "
            f"({type(exc).__name__}); run it with the default backend"
        ) from None


def _run_one(serial: Callable[..., None], launch: _Launch) -> RunResult:
    """One start on the serial kernel: its whole path, or a thinned one (see
    :data:`symgd.numeric.results.PATH_POINTS`) with its last iterates."""
    x, buffers, consts, steps, tol2, keep_path = launch
    n = x.shape[0]
    slots = steps + 1 if keep_path else min(steps + 1, PATH_POINTS + 1) + 1
    xs, fs, gn = np.empty((slots, 1, n)), np.empty((slots, 1)), np.empty((slots, 1))
    row_steps = np.full(1, -1, dtype=np.int64)
    row_codes = np.full(1, -1, dtype=np.int8)
    kept = np.zeros(slots, dtype=np.int64)
    held = np.zeros(1, dtype=np.int64)
    tail = np.empty((0 if keep_path else tail_length(steps, 1, n), 1, n))
    serial(
        x,
        buffers,
        consts,
        steps,
        tol2,
        RUNAWAY,
        keep_path,
        xs,
        fs,
        gn,
        row_steps,
        row_codes,
        _codes(),
        kept,
        held,
        PATH_HEAD,
        tail,
        steps + 1 - len(tail),
    )
    if keep_path:
        end = int(row_steps[0]) + 1
        return RunResult(xs[:end], fs[:end], gn[:end], row_steps, row_codes)
    used = int(held[0])
    # the tail's steps up to the stop (a run that stopped early wrote only its first ones)
    written = max(0, int(row_steps[0]) - (steps + 1 - len(tail)) + 1)
    return RunResult(
        xs[:used], fs[:used], gn[:used], row_steps, row_codes, (), kept[:used], tail[:written]
    )


def _run_many(parallel: Callable[..., None], launch: _Launch) -> RunResult:
    """A batch on the parallel kernel: every iterate, or the start and final point of each
    start with its last iterates (see :func:`symgd.numeric.results.tail_length`)."""
    x, buffers, consts, steps, tol2, keep_path = launch
    n, count = x.shape
    slots = steps + 1 if keep_path else 2
    xs, fs, gn = np.empty((slots, count, n)), np.empty((slots, count)), np.empty((slots, count))
    stop_step = np.full(count, -1.0)
    stop_code = np.full(count, -1.0)
    f_now, gsq_now = np.empty(count), np.empty(count)
    # written by the kernel in the last steps only (NaN after a block's last step), one
    # coordinate after the other: (T, n, N), handed on as a (T, N, n) view
    tail = np.empty((0 if keep_path else tail_length(steps, count, n), n, count))
    parallel(
        *x,
        *buffers,
        f_now,
        gsq_now,
        stop_step,
        stop_code,
        consts,
        steps,
        tol2,
        RUNAWAY,
        keep_path,
        xs,
        fs,
        gn,
        _codes().astype(float),
        tail,
        steps + 1 - len(tail),
    )
    row_steps = stop_step.astype(np.int64)
    row_codes = stop_code.astype(np.int8)
    if not keep_path:
        xs[1], fs[1], gn[1] = x.T, f_now, np.sqrt(gsq_now)
        rows_last = tail.transpose(0, 2, 1) if len(tail) else None
        return RunResult(xs, fs, gn, row_steps, row_codes, tail=rows_last)
    longest = int(row_steps.max())
    xs, fs, gn = xs[: longest + 1], fs[: longest + 1], gn[: longest + 1]
    # a block that finished early wrote nothing after its last step: repeat the last point
    for s in np.unique(row_steps[row_steps < longest]):
        which = np.flatnonzero(row_steps == s)
        xs[s + 1 :, which] = xs[s, which]
        fs[s + 1 :, which] = fs[s, which]
        gn[s + 1 :, which] = gn[s, which]
    return RunResult(xs, fs, gn, row_steps, row_codes)


_CODES: list[np.ndarray] = []


def _codes() -> np.ndarray:
    """Outcome codes the kernels write: diverged, converged, max_steps."""
    if not _CODES:
        _CODES.append(
            np.array(
                [
                    STATUS_ORDER.index(s)
                    for s in (Status.DIVERGED, Status.CONVERGED, Status.MAX_STEPS)
                ],
                dtype=np.int8,
            )
        )
    return _CODES[0]


def _kernels(
    problem: Problem,
    compiled: Compiled,
    optimizer: Optimizer,
    names: tuple[str, ...],
    constants: dict[str, float],
) -> tuple[Callable[..., None], Callable[..., None]]:
    rule = optimizer.rule
    assert rule is not None
    n, m = len(problem.variables), len(rule.buffers)
    key = (problem.expr, problem.variables, optimizer.name, rule.structure(constants), UNROLL)
    found = _KERNELS.get(key)
    if found is not None:
        return found

    def step(latency: bool) -> Any:
        return _jit(
            step_with_value(
                problem.variables,
                problem.expr,
                compiled.gradient,
                rule,
                names,
                constants,
                latency=latency,
            )
        )

    # numba compiles on first call: the parallel kernel only when a batch runs
    pair = (
        _compile_kernel(n, m, len(names), step(True), parallel=False),
        _compile_kernel(n, m, len(names), step(False), parallel=True),
    )
    if len(_KERNELS) > 64:
        _KERNELS.clear()
    _KERNELS[key] = pair
    return pair


def _jit(function: Callable[..., Any]) -> Any:
    """numba-compile a generated function, with the activation helpers compiled too."""
    assert numba is not None
    if not _JIT_MATH:
        for name, helper in MATH_FUNCTIONS.items():
            _JIT_MATH[name] = numba.njit(cache=False)(helper)
    namespace = dict(function.__globals__)
    namespace.update(_JIT_MATH)
    clone = types.FunctionType(function.__code__, namespace)
    return numba.njit(error_model="numpy", fastmath=FASTMATH, inline="always")(clone)


def kernel_source(n: int, m: int, c: int, parallel: bool) -> str:
    """The loop for n variables, m·n buffer values and c constants, as Python source.

    The serial kernel (one start) keeps the iterate in registers and leaves the loop on a
    rarely taken branch, so the checks stay off the step-to-step dependency chain. The
    parallel kernel sweeps a block of rows per step with branch-free selects.
    """
    xs = [f"x{i}" for i in range(n)]
    bs = [f"b{j}" for j in range(m * n)]
    cs = [f"c{q}" for q in range(c)]
    head = [
        "def kernel(X, B, consts, steps, tol2, bound, keep, xs, fs, gn, row_steps, row_codes,",
        "           codes, kept, held, head, tail, recent_from):",
        *[f"    {cq} = consts[{q}]" for q, cq in enumerate(cs)],
    ]
    ok = "(abs(f) <= bound) & (gsq < math.inf)" + "".join(f" & (abs({xi}) <= bound)" for xi in xs)
    if not parallel:
        body = [
            *[f"    {xi} = X[{i}, 0]" for i, xi in enumerate(xs)],
            *[f"    {bj} = B[{j}, 0]" for j, bj in enumerate(bs)],
            "    cap = xs.shape[0] - 1",
            "    stride = 1",
            "    count = 0",
            "    for k in range(steps + 1):",
            "        out = step(" + ", ".join([*xs, *bs, "float(k)", *cs]) + ")",
            f"        gsq = out[{n + m * n + 1}]",
            f"        f = out[{n + m * n + 2}]",
            f"        ok = {ok}",
            "        done = (not ok) or gsq < tol2 or k == steps",
            # the whole path, or a thinned one: the first `head` steps, every stride-th, the
            # last; when it fills, every other kept step goes and the stride doubles
            "        slot = k if keep else (count if k < head or k % stride == 0 or done else -1)",
            "        if slot >= 0:",
            *[f"            xs[slot, 0, {i}] = {xi}" for i, xi in enumerate(xs)],
            "            fs[slot, 0] = f",
            "            gn[slot, 0] = math.sqrt(gsq)",
            "            kept[slot] = k",
            "            count = slot + 1",
            # the last iterates, for the outcome (only the last steps of the budget)
            "        if k >= recent_from:",
            *[f"            tail[k - recent_from, 0, {i}] = {xi}" for i, xi in enumerate(xs)],
            "        if done:",
            "            row_steps[0] = k",
            "            row_codes[0] = codes[0] if not ok else "
            "(codes[1] if gsq < tol2 else codes[2])",
            "            break",
            "        if (not keep) and count == cap:",
            "            stride *= 2",
            "            j = 0",
            "            for r in range(count):",
            "                if kept[r] < head or kept[r] % stride == 0:",
            "                    kept[j] = kept[r]",
            *[f"                    xs[j, 0, {i}] = xs[r, 0, {i}]" for i in range(n)],
            "                    fs[j, 0] = fs[r, 0]",
            "                    gn[j, 0] = gn[r, 0]",
            "                    j += 1",
            "            count = j",
            *[f"        {xi} = out[{i}]" for i, xi in enumerate(xs)],
            *[f"        {bj} = out[{n + j}]" for j, bj in enumerate(bs)],
            "    held[0] = count",
            *[f"    X[{i}, 0] = {xi}" for i, xi in enumerate(xs)],
        ]
        return "\n".join(head + body) + "\n"
    return batch_source(n, m, c, unroll_for(n, m))


def unroll_for(n: int, m: int) -> int:
    """Steps a batch chunk takes per row in registers: :data:`UNROLL` for a small state,
    fewer as the state (n iterate values, m·n buffer values) grows, 1 (no chunks) beyond."""
    return max(1, min(UNROLL, 32 // (n * (m + 1))))


def batch_source(n: int, m: int, c: int, unroll: int = 1) -> str:
    """The block-parallel kernel. ``sweep`` takes one step over a block of rows, branch-free
    and on one 1-D array per quantity, so LLVM vectorises it, with every stop test, and records
    f and |∇f|² (the first step, and every step when the path is kept); ``sweep_lean`` takes
    one step writing only the iterate and the step at which a row stops, and ``settle`` then
    records those rows' f, |∇f|² and outcome. ``chunk`` takes ``unroll`` steps per row in
    registers (the steps written out, the row loop vectorised), summing |f| + Σ|x_i| + 0·|∇f|²
    over them (a value that is not finite, or any one test that fails, makes the sum exceed
    a little less than the bound) and keeping the least |∇f|²: a row whose chunk passes took
    its steps, and a row that fails is marked (step −2) and ``replay`` takes them again from
    the state the chunk began with, with the exact tests, to find the step where it stops (or
    to take the steps, when the sum only added up past the bound), and ``settle`` records the
    rows that stopped, as after ``sweep_lean``. ``block`` runs one block:
    step 0 with ``sweep``, then chunks while they end before the last step and before the
    steps whose iterates go into the tail, then ``sweep_lean`` step by step; ``kernel`` runs
    the blocks in parallel."""
    xs = [f"x{i}" for i in range(n)]
    bs = [f"b{j}" for j in range(m * n)]
    cs = [f"c{q}" for q in range(c)]
    names = xs + bs
    arrays = [f"a{name}" for name in names]
    rows = f"range({arrays[0]}.shape[0])"
    ok = "(abs(f) <= bound) & (gsq < math.inf)" + "".join(f" & (abs({xi}) <= bound)" for xi in xs)
    codes = "dcode, ccode, mcode"

    def call(t: str, indent: str) -> list[str]:
        return [
            f"{indent}out = step(" + ", ".join([*names, t, *cs]) + ")",
            f"{indent}gsq = out[{n + m * n + 1}]",
            f"{indent}f = out[{n + m * n + 2}]",
        ]

    def advance(indent: str, going: str = "") -> list[str]:
        pick = f" if {going} else {{}}" if going else ""
        return [f"{indent}{name} = out[{i}]" + pick.format(name) for i, name in enumerate(names)]

    load = [f"        {name} = a{name}[r]" for name in names]
    sweep = [
        f"def sweep({', '.join(arrays)}, F, G, RS, RC, {''.join(q + ', ' for q in cs)}"
        f"t, last, record, tol2, bound, {codes}):",
        "    running = 0",
        f"    for r in {rows}:",
        *load,
        *call("t", "        "),
        f"        ok = {ok}",
        "        conv = ok & (gsq < tol2)",
        "        active = RS[r] < 0.0",
        "        going = active & ok & (not conv) & (not last)",
        "        newly = active & (not going)",
        # rare or loop-invariant branches: the row loop stays vectorised (masked stores)
        "        if record or newly:",
        "            F[r] = f",
        "            G[r] = gsq",
        "        if newly:",
        "            RS[r] = t",
        "            RC[r] = dcode if not ok else (ccode if conv else mcode)",
        *[f"        a{name}[r] = out[{i}] if going else {name}" for i, name in enumerate(names)],
        "        running += going",
        "    return running",
    ]
    # one step once the path is not being recorded: only the iterate and, for a row that
    # stops, its step number are written (stores cost as much as the arithmetic here)
    lean = [
        f"def sweep_lean({', '.join(arrays)}, RS, {''.join(q + ', ' for q in cs)}"
        "t, last, tol2, bound):",
        "    running = 0",
        "    fresh = 0",
        f"    for r in {rows}:",
        *load,
        *call("t", "        "),
        f"        ok = {ok}",
        "        active = RS[r] < 0.0",
        "        going = active & ok & (not (gsq < tol2)) & (not last)",
        "        newly = active & (not going)",
        "        if newly:",
        "            RS[r] = t",
        *[f"        a{name}[r] = out[{i}] if going else {name}" for i, name in enumerate(names)],
        "        running += going",
        "        fresh += newly",
        "    return running, fresh",
    ]
    # the rows that stopped at step t (their iterate was kept): f, |∇f|² and why, again
    settle = [
        f"def settle({', '.join(arrays)}, F, G, RS, RC, {''.join(q + ', ' for q in cs)}"
        f"t, tol2, bound, {codes}):",
        f"    for r in {rows}:",
        "        if RS[r] == t:",
        *[f"    {line}" for line in load],
        *call("t", "            "),
        f"            ok = {ok}",
        "            F[r] = f",
        "            G[r] = gsq",
        "            RC[r] = dcode if not ok else (ccode if gsq < tol2 else mcode)",
    ]
    absx = "".join(f" + abs({xi})" for xi in xs)
    recent = "tail, lo, recent_from"

    def keep_tail(step: str, value: str, indent: str) -> list[str]:
        """Write the iterate of step ``step`` into the tail, in the last steps only."""
        return [
            f"{indent}if {step} >= recent_from:",
            *[
                f"{indent}    tail[{step} - recent_from, {i}, lo + r] = {value.format(xi, i)}"
                for i, xi in enumerate(xs)
            ],
        ]

    chunk = [
        f"def chunk({', '.join(arrays)}, RS, {''.join(q + ', ' for q in cs)}k, tol2, bound):",
        "    t = float(k)",
        # a little below the bound: a sum that rounds down still fails when a test fails
        "    limit = bound * (1.0 - 1e-9)",
        "    running = 0",
        "    marked = 0",
        f"    for r in {rows}:",
        *load,
        "        total = 0.0",
        "        low = math.inf",
    ]
    for s in range(unroll):
        chunk += [
            *call(f"t + {s}.0", "        "),
            f"        total += abs(f) + gsq * 0.0{absx}",
            "        low = gsq if gsq < low else low",
            *advance("        "),
        ]
    chunk += [
        "        fine = (total <= limit) & (low >= tol2)",
        "        active = RS[r] < 0.0",
        "        if active & fine:",
        *[f"            a{name}[r] = {name}" for name in names],
        "        if active & (not fine):",
        "            RS[r] = -2.0",
        "        running += active & fine",
        "        marked += active & (not fine)",
        "    return running, marked",
    ]
    # the marked rows, step by step from where the chunk began, with the exact tests
    replay = [
        f"def replay({', '.join(arrays)}, RS, {''.join(q + ', ' for q in cs)}k, count, tol2, bound,"
        f" {recent}):",
        "    running = 0",
        "    stopped = 0",
        f"    for r in {rows}:",
        "        if RS[r] == -2.0:",
        *[f"    {line}" for line in load],
        "            RS[r] = -1.0",
        "            for s in range(count):",
        *keep_tail("k + s", "{0}", "                "),
        "                if RS[r] < 0.0:",
        *call("float(k + s)", "                    "),
        f"                    ok = {ok}",
        "                    if ok and gsq >= tol2:",
        *advance("                        "),
        "                    else:",
        "                        RS[r] = k + s",
        *[f"            a{name}[r] = {name}" for name in names],
        "            running += RS[r] < 0.0",
        "            stopped += RS[r] >= 0.0",
        "    return running, stopped",
    ]
    params = [*arrays, "F", "G", "RS", "RC"]
    state = ", ".join([*arrays, "RS", *cs])
    every = ", ".join([*params, *cs])
    block = [
        f"def block({', '.join(params)}, {''.join(q + ', ' for q in cs)}lo, steps, tol2, bound,"
        f" keep, xs, fs, gn, {codes}, tail, recent_from):",
        "    k = 0",
        "    running = 1",
        "    while running and k <= steps:",
        # chunks while every step they take comes before the last and before the tail's
        f"        if {unroll} > 1 and not keep and 0 < k"
        f" and k + {unroll} <= min(steps, recent_from):",
        f"            running, marked = chunk({state}, k, tol2, bound)",
        "            if marked:",
        f"                more, stopped = replay({state}, k, {unroll}, tol2, bound, {recent})",
        "                running += more",
        # f, |∇f|² and why for the rows that stopped, as the step-by-step sweep records them
        f"                for s in range({unroll} if stopped else 0):",
        f"                    settle({every}, float(k + s), tol2, bound, {codes})",
        f"            k += {unroll}",
        "            continue",
        # the last iterates, for the outcome: the last steps only, rows that stopped included
        f"        for r in {rows}:",
        *keep_tail("k", "a{0}[r]", "            "),
        "        if keep or k == 0:",
        f"            for r in {rows}:",
        *[f"                xs[k, lo + r, {i}] = a{xi}[r]" for i, xi in enumerate(xs)],
        f"            running = sweep({every}, float(k), k == steps, True, tol2, bound, {codes})",
        f"            for r in {rows}:",
        "                fs[k, lo + r] = F[r]",
        "                gn[k, lo + r] = math.sqrt(G[r])",
        "        else:",
        f"            running, fresh = sweep_lean({state}, float(k), k == steps, tol2, bound)",
        "            if fresh:",
        f"                settle({every}, float(k), tol2, bound, {codes})",
        "        k += 1",
        # every row has stopped: no iterates after the last stop
        "    for later in range(max(int(RS.max()) + 1, recent_from), steps + 1):",
        f"        for r in {rows}:",
        *[f"            tail[later - recent_from, {i}, lo + r] = math.nan" for i in range(n)],
    ]
    sliced = ", ".join(f"{a}[lo:hi]" for a in params)
    kernel = [
        f"def kernel({', '.join(params)}, consts, steps, tol2, bound, keep, xs, fs, gn, codes,"
        " tail, recent_from):",
        f"    N = {arrays[0]}.shape[0]",
        *[f"    {cq} = consts[{q}]" for q, cq in enumerate(cs)],
        f"    {codes} = codes[0], codes[1], codes[2]",
        "    for blk in prange((N + BLOCK - 1) // BLOCK):",
        "        lo = blk * BLOCK",
        "        hi = min(N, lo + BLOCK)",
        f"        block({sliced}, {''.join(q + ', ' for q in cs)}lo, steps, tol2, bound, keep, xs,"
        f" fs, gn, {codes}, tail, recent_from)",
    ]
    parts = [sweep, lean, settle, chunk, replay, block, kernel]
    return "\n\n\n".join("\n".join(part) for part in parts) + "\n"


def _compile_kernel(n: int, m: int, c: int, step: Any, parallel: bool) -> Callable[..., None]:
    assert numba is not None
    source = kernel_source(n, m, c, parallel)
    namespace: dict[str, Any] = {"math": math, "prange": numba.prange, "BLOCK": BLOCK, "step": step}
    exec(compile(source, f"<symgd kernel n={n} m={m}>", "exec"), namespace)
    if parallel:
        for name in ("sweep", "sweep_lean", "settle", "chunk", "replay", "block"):
            namespace[name] = numba.njit(error_model="numpy", fastmath=FASTMATH)(namespace[name])
    kernel: Callable[..., None] = numba.njit(
        parallel=parallel, error_model="numpy", fastmath=FASTMATH
    )(namespace["kernel"])
    return kernel
