"""Derive + compile time for n-dimensional Rosenbrock, n = 2, 10, 50, 100.

f = Σ_{i<n} 100 (x_{i+1} - x_i²)² + (1 - x_i)², built as a SymPy expression (the text of the
n = 100 function is longer than the parser's 2,000-character limit). For each n, in a fresh
interpreter so no cache helps:

- derive: parse, the gradient (``sp.diff``) and the Hessian (Jacobian of the gradient);
- compile: the numpy functions of f, ∇f and the Hessian, plus the fused scalar step of plain
  descent — everything a first ``symgd.descend`` call builds;
- first descend: one ``symgd.descend`` call of 10 steps from a cold start (parse, derive,
  compile, run), the time a user waits;
- symgd.derive: the full derivation with critical points and convexity (``--full``; it runs
  its own time budget).

    python benchmarks/bench_compile.py [--full]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
n, full = {n}, {full}
t0 = time.perf_counter()
import numpy as np
import sympy as sp
import symgd
from symgd.numeric.codegen import build_scalar_stepper, compile_functions, gradient_of, hessian_of
from symgd.numeric.optimizers import make_optimizer
from symgd.expr.parser import parse
t_import = time.perf_counter() - t0
xs = sp.symbols(" ".join(f"x{{i}}" for i in range(1, n + 1)), real=True)
xs = xs if isinstance(xs, tuple) else (xs,)
f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
t0 = time.perf_counter()
problem = parse(f)
gradient = gradient_of(problem.expr, problem.variables)
hessian = hessian_of(gradient, problem.variables)
t_derive = time.perf_counter() - t0
t0 = time.perf_counter()
compiled = compile_functions(problem.expr, problem.variables, gradient, hessian)
compiled.hessian_at(np.zeros((1, n)))
opt = make_optimizer("gd", 1e-3)
c = opt.constants()
build_scalar_stepper(problem.variables, gradient, opt.rule, tuple(c), c, expr=problem.expr)
t_compile = time.perf_counter() - t0
t0 = time.perf_counter()
symgd.descend(f, np.zeros(n), lr=1e-3, steps=10)
t_first = time.perf_counter() - t0
t_full = None
if full:
    t0 = time.perf_counter()
    symgd.derive(f)
    t_full = time.perf_counter() - t0
print(json.dumps({{"import": t_import, "derive": t_derive, "compile": t_compile,
                  "first": t_first, "full": t_full}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also time symgd.derive")
    args = parser.parse_args()
    print(
        f"{'n':>4}  {'derive s':>9}  {'compile s':>9}  {'sum s':>7}  {'first descend s':>15}"
        + ("  symgd.derive s" if args.full else "")
    )
    for n in (2, 10, 50, 100):
        code = CHILD.format(root=str(ROOT), n=n, full=args.full)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        line = (
            f"{n:>4}  {r['derive']:9.3f}  {r['compile']:9.3f}  "
            f"{r['derive'] + r['compile']:7.3f}  {r['first']:15.3f}"
        )
        if args.full:
            line += f"  {r['full']:14.3f}"
        print(line)


if __name__ == "__main__":
    main()
