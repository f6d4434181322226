"""Derive + compile at scale: ``symgd.derive(f, analyse=False)`` on sums of terms in n variables.

Two functions, n = 100, 300, 1000: n-dimensional Rosenbrock, Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)²,
and a weighted sum of squares, Σ i·x_i² (+ sin(x_1)·x_n, so that one term couples two ends).
Each is built as a SymPy expression and made a Problem before the clock starts (directly, so
that the benchmark also runs on versions whose ``parse`` took at most 5,000 parts from a
program; ``parse`` time is not counted on either side).

- new: ``symgd.derive(problem, analyse=False)``;
- old (the baseline, in the same run, up to ``--old-max`` variables): ``sp.diff(f, v)`` for
  each variable and the Hessian as ``sp.diff`` of each gradient entry by each variable, with
  DiracDelta terms dropped;
- previous (``--previous``, up to ``--old-max``): what ``derive`` did before it had its own
  differentiation: the same, but each sum split by the variables its terms contain and
  ``sp.diff`` called on the terms of one variable;
- compile: ``compile_functions`` on the result, one ``gradient_at`` and one ``hessian_at`` call
  (which builds the Hessian's function), the same code on both sides. To compare compile
  before and after a change, run this file from a copy of the older tree (``git archive``) and
  from this one in the same session, and compare the ratios.

Every measurement runs in a fresh interpreter (no SymPy or lambdify cache carries over), old
and new take turns, and the table shows medians; the slope is the least-squares fit of
log(seconds) against log(n).

    python benchmarks/bench_derive_scale.py [--rounds 3] [--sizes 100,300,1000] [--old-max 300]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np
import sympy as sp
from symgd.calculus.derivation import derive
from symgd.calculus.differentiate import without_dirac
from symgd.expr.problem import make_problem
from symgd.numeric.codegen import compile_functions
n, kind, path = {n}, {kind!r}, {path!r}
xs = sp.symbols(f"x1:{{n + 1}}", real=True)
if kind == "rosenbrock":
    f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
else:
    f = sum((i + 1) * xs[i] ** 2 for i in range(n)) + sp.sin(xs[0]) * xs[-1]
problem = make_problem(f, kind, None, False, max_variables=10**6)
t0 = time.perf_counter()
if path == "new":
    d = derive(problem, analyse=False)
    gradient, hessian = d.gradient, d.hessian
elif path == "previous":
    def grouped(e):
        by = {{v: [] for v in xs}}
        for term in (e.args if isinstance(e, sp.Add) else (e,)):
            for s in term.free_symbols:
                if s in by:
                    by[s].append(term)
        return [sp.diff(sp.Add(*by[v]), v) if by[v] else sp.S.Zero for v in xs]
    gradient = tuple(grouped(f))
    hessian = sp.ImmutableMatrix(without_dirac(sp.Matrix([grouped(g) for g in gradient])))
else:
    gradient = tuple(sp.diff(f, v) for v in xs)
    hessian = sp.ImmutableMatrix(without_dirac(sp.Matrix([[sp.diff(g, v) for v in xs]
                                                          for g in gradient])))
t1 = time.perf_counter()
compiled = compile_functions(f, xs, gradient, hessian)
compiled.gradient_at(np.zeros((1, n)))
compiled.hessian_at(np.zeros((1, n)))
t2 = time.perf_counter()
print(json.dumps({{"derive": t1 - t0, "compile": t2 - t1}}))
"""


def measure(kind: str, n: int, path: str) -> dict[str, float]:
    code = CHILD.format(root=str(ROOT), n=n, kind=kind, path=path)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(seconds) against log(n)."""
    if len(points) < 2:
        return math.nan
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys, strict=True)) / sum(
        (a - mx) ** 2 for a in xs
    )


def _row(
    kind: str,
    n: int,
    old: dict[str, float] | None,
    previous: dict[str, float] | None,
    new: dict[str, float],
) -> str:
    def cell(value: float | None, width: int, suffix: str = "") -> str:
        return f"{'-':>{width}}" if value is None else f"{value:{width - len(suffix)}.2f}{suffix}"

    derive = new["derive"]
    old_d = None if old is None else old["derive"]
    prev_d = None if previous is None else previous["derive"]
    return (
        f"{kind:<11} {n:>5}  {cell(old_d, 10)} {cell(prev_d, 11)} {cell(derive, 10)} "
        f"{cell(None if old_d is None else old_d / derive, 7, 'x')} "
        f"{cell(None if prev_d is None else prev_d / derive, 8, 'x')}  "
        f"{cell(new['compile'], 8)}  "
        f"{cell(None if old is None else old['derive'] + old['compile'], 9)} "
        f"{cell(derive + new['compile'], 9)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--old-max", type=int, default=300, help="largest n for the old path")
    parser.add_argument("--functions", default="rosenbrock,squares")
    parser.add_argument("--previous", action="store_true", help="also time the previous derive")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"medians of {args.rounds} rounds, each in a fresh interpreter; seconds")
    print(
        f"{'function':<11} {'n':>5}  {'old derive':>10} {'prev derive':>11} {'new derive':>10} "
        f"{'old/new':>7} {'prev/new':>8}  {'compile':>8}  {'old total':>9} {'new total':>9}"
    )
    for kind in args.functions.split(","):
        fits: dict[str, list[tuple[int, float]]] = {"old": [], "new": [], "new+compile": []}
        for n in sizes:
            paths = ["new"]
            if n <= args.old_max:
                paths = ["old", "previous", "new"] if args.previous else ["old", "new"]
            runs: dict[str, list[dict[str, float]]] = {p: [] for p in paths}
            for _ in range(args.rounds):
                for p in paths:  # old and new take turns
                    runs[p].append(measure(kind, n, p))
            med = {
                p: {k: statistics.median(r[k] for r in runs[p]) for k in ("derive", "compile")}
                for p in paths
            }
            new = med["new"]
            fits["new"].append((n, new["derive"]))
            fits["new+compile"].append((n, new["derive"] + new["compile"]))
            old, previous = med.get("old"), med.get("previous")
            if old is not None:
                fits["old"].append((n, old["derive"]))
            print(_row(kind, n, old, previous, new), flush=True)
        print(
            f"{kind:<11} fitted slope (seconds ∝ n^k): old derive {slope(fits['old']):.2f}, "
            f"new derive {slope(fits['new']):.2f}, new derive + compile "
            f"{slope(fits['new+compile']):.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
