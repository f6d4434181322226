"""Cold-start time of PDF output: a 30-function handout and ``symgd explain --pdf``.

Targets, on the project's 2-core machine:

- ``symgd handout --from <30 functions> -o handout.pdf`` (one variant, key on separate
  pages) ≤ 30 s;
- ``symgd explain "x**2+2*x*y" --pdf`` ≤ 3 s. Until ``explain`` has ``--pdf``, the same work
  is timed through the library (``symgd.explain(...).html()`` then ``symgd.render.pdf.render_pdf``)
  and labelled so.

Every measurement starts a fresh interpreter; the commands take turns so that background load
affects them alike; medians are reported. ``--breakdown`` adds one in-process run of the
handout with the time of each stage (derive and draw, LaTeX → SVG and templates, WeasyPrint).

    python benchmarks/bench_pdf.py [--rounds 3] [--breakdown]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import timed  # benchmarks/timing.py (scripts run from this folder's path)

ROOT = Path(__file__).resolve().parents[1]

#: thirty functions of the kind a course sets: quadratics, quartics, Rosenbrock, exp, log,
#: trig, activations, one to three variables
FUNCTIONS = """\
x**2 + 2*x*y
x0**2 + x1**2
w**2
x**4 - 2*x**2 + y**2
3*x**2 + 2*x*y + 3*y**2 - 4*x
(1 - x)**2 + 100*(y - x**2)**2
x**3 - 3*x + y**2
exp(x) + y**2 - x*y
sin(x) + cos(y)
log(1 + x**2) + y**2
sigmoid(w*x)
x**2 + y**2 + z**2 + x*z
(x - 1)**2 + (y + 2)**2
x*y*exp(-x**2 - y**2)
x**2 - y**2
2*u**2 + u*v + v**2 - u + 3*v
softplus(w) + w**2/2
(2*w - 3)**2 + (w - 1)**2
x**4 + y**4 - 4*x*y
exp(x**2 + y**2)
relu(x) + y**2
cos(x)*cos(y)
x**2*y + y**3 - 3*y
(a - 2)**2 + 4*(b + 1)**2 + a*b
sqrt(1 + x**2 + y**2)
tanh(x) + y**2
x**6 - 3*x**2
5*x**2 - 4*x*y + 2*y**2
log(x**2 + y**2 + 1)
(x + y - 1)**2 + (x - y)**2
"""

LIBRARY_EXPLAIN_PDF = """\
import sys, symgd
from symgd.render.pdf import render_pdf
lesson = symgd.explain(sys.argv[1])
open(sys.argv[2], "wb").write(render_pdf(lesson.html()))
"""


def explain_has_pdf(env: dict[str, str]) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "symgd", "explain", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return "--pdf" in result.stdout


def breakdown(folder: Path) -> None:
    """One in-process handout with the time of each stage."""
    sys.path.insert(0, str(ROOT))
    from symgd.handout import build_handout, handout_context, render_handout_pdf

    functions = [line for line in FUNCTIONS.splitlines() if line.strip()]
    start = time.perf_counter()
    h = build_handout(functions, variants=1, seed=0)
    built = time.perf_counter()
    handout_context(h)
    context = time.perf_counter()
    data = render_handout_pdf(h)
    done = time.perf_counter()
    (folder / "breakdown.pdf").write_bytes(data)
    print("  in-process handout stages:")
    print(f"    derive + draw exercises      {built - start:6.2f} s")
    print(f"    worked solutions (LaTeX)     {context - built:6.2f} s")
    print(f"    math SVG + templates + PDF   {done - context:6.2f} s  ({len(data) / 1e6:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--expression", default="x**2+2*x*y")
    parser.add_argument("--breakdown", action="store_true")
    args = parser.parse_args()
    # nothing kept from earlier runs (templates, formulas), and .pyc files as pip leaves them
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYMGD_CACHE_DIR": ""}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        listing = folder / "functions.txt"
        listing.write_text(FUNCTIONS, encoding="utf-8")
        script = folder / "explain_pdf.py"
        script.write_text(LIBRARY_EXPLAIN_PDF, encoding="utf-8")
        if explain_has_pdf(env):
            explain_name = f"symgd explain {args.expression!r} --pdf"
            explain_cmd = [
                sys.executable,
                "-m",
                "symgd",
                "explain",
                args.expression,
                "-o",
                str(folder / "lesson"),
                "--pdf",
            ]
        else:
            explain_name = f"explain({args.expression!r}) + render_pdf (library)"
            explain_cmd = [sys.executable, str(script), args.expression, str(folder / "lesson.pdf")]
        commands = {
            "symgd handout (30 functions)": [
                sys.executable,
                "-m",
                "symgd",
                "handout",
                "--from",
                str(listing),
                "-o",
                str(folder / "handout.pdf"),
            ],
            explain_name: explain_cmd,
        }
        for command in commands.values():  # warm the file cache and __pycache__
            timed(command, env)
        results: dict[str, list[tuple[float, float]]] = {n: [] for n in commands}
        for _ in range(args.rounds):
            for command_name, command in commands.items():
                results[command_name].append(timed(command, env))
        print(
            f"{args.rounds} rounds, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        medians = []
        for command_name, runs in results.items():
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            medians.append(wall)
            spread = f"{min(w for w, _ in runs):.2f}–{max(w for w, _ in runs):.2f}"
            print(f"  {command_name:<48} median {wall:6.2f} s  (range {spread} s, CPU {cpu:.2f} s)")
        handout_s, explain_s = medians
        print(
            f"  handout ≤ 30 s: {'yes' if handout_s <= 30 else 'no'}; "
            f"explain --pdf ≤ 3 s: {'yes' if explain_s <= 3 else 'no'}"
        )
        if args.breakdown:
            breakdown(folder)


if __name__ == "__main__":
    main()
