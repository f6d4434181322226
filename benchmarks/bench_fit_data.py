"""``symgd fit`` on a large CSV against a plain numpy script, each in a fresh interpreter.

A CSV of N rows (default 10⁶) of y = 3x + 2 + noise is written to a temporary folder. Every
contender reads that file and runs 10 epochs of mini-batch descent with B = 64, lr 0.1, seed 0,
on the squared error ``(y - (w*x + b))**2``:

- ``numpy script`` (the baseline, written below): ``np.loadtxt``, then the gradient
  -2·mean(x·r), -2·mean(r) in numpy, the rows shuffled by one ``permutation`` per epoch of
  ``default_rng(seed)`` as symgd does, so all must end at the same parameters up to rounding;
- ``symgd.fit``: ``import symgd; symgd.fit(LOSS, path, "w,b", ...)`` (read, parse,
  differentiate, run, least squares);
- ``symgd fit``: the command, printing its JSON;
- ``symgd fit -o``: the command writing the page that compares full batch, mini-batch and SGD.

Each run is a fresh process (interpreter start and imports included); its wall time, its CPU
time (user + system) and its peak resident memory (``ru_maxrss``), both from ``os.wait4``, are
recorded; on a shared machine the CPU times are the steadier figures. The contenders take turns
for several rounds; the table gives medians and the ratios to the baseline of the same run.

    python benchmarks/bench_fit_data.py [--rounds 3] [--rows 1000000] [--no-page]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LOSS = "(y - (w*x + b))**2"
LR = 0.1
SEED = 0

BASELINE = """
import json, sys
import numpy as np
path, lr = sys.argv[1], float(sys.argv[4])
batch, epochs, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])
data = np.loadtxt(path, delimiter=",", skiprows=1)
x_all, y_all = data[:, 0].copy(), data[:, 1].copy()
del data
n = len(x_all)
rng = np.random.default_rng(seed)
theta = np.zeros(2)
for _ in range(epochs):
    order = rng.permutation(n)
    xs, ys = x_all[order], y_all[order]
    for lo in range(0, n, batch):
        x, y = xs[lo : lo + batch], ys[lo : lo + batch]
        r = y - (theta[0] * x + theta[1])
        grad = np.array([-2.0 * np.mean(x * r), -2.0 * np.mean(r)])
        theta = theta - lr * grad
print(json.dumps({"w": float(theta[0]), "b": float(theta[1])}))
"""

LIBRARY = """
import json, sys
import symgd
path, lr = sys.argv[1], float(sys.argv[4])
batch, epochs, seed = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[5])
result = symgd.fit(LOSS, path, "w,b", batch_size=batch, epochs=epochs, lr=lr, seed=seed)
print(json.dumps(result.params))
""".replace("LOSS", repr(LOSS))


def write_csv(path: Path, rows: int) -> None:
    """x uniform on [-2, 2], y = 3x + 2 + N(0, 0.5²), written with 17 significant digits."""
    rng = np.random.default_rng(12345)
    x = rng.uniform(-2.0, 2.0, rows)
    y = 3.0 * x + 2.0 + rng.normal(0.0, 0.5, rows)
    np.savetxt(path, np.column_stack([x, y]), fmt="%.17g", delimiter=",", header="x,y", comments="")


def run_measured(command: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MiB) and stdout of one fresh
    process, reaped with ``wait4`` to read its own resource usage (it must succeed)."""
    # nothing kept from earlier runs (templates, formulas), and .pyc files as pip leaves them
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYMGD_CACHE_DIR": ""}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise SystemExit(f"{' '.join(command[:4])} failed:\n{err.read().decode()}")
        cpu = usage.ru_utime + usage.ru_stime
        return wall, cpu, usage.ru_maxrss / 1024, out.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--no-page", action="store_true", help="skip `symgd fit -o`")
    args = parser.parse_args()

    python = sys.executable
    symgd_cli = [python, "-m", "symgd"]
    settings = [str(args.batch), str(args.epochs), repr(LR), str(SEED)]
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "points.csv"
        write_csv(data, args.rows)
        size = data.stat().st_size / 2**20
        page = Path(folder) / "page"
        cli_args = [
            "fit", LOSS, "--data", str(data), "--params", "w,b", "--batch-size",
            str(args.batch), "--epochs", str(args.epochs), "--lr", repr(LR), "--seed", str(SEED),
            "--json",
        ]  # fmt: skip
        contenders = {
            "numpy script": [python, "-c", BASELINE, str(data), *settings],
            "symgd.fit": [python, "-c", LIBRARY, str(data), *settings],
            "symgd fit": [*symgd_cli, *cli_args],
        }
        if not args.no_page:
            contenders["symgd fit -o (page)"] = [*symgd_cli, *cli_args, "-o", str(page)]
        print(
            f"{args.rows:,} rows ({size:.1f} MiB of CSV), {args.epochs} epochs of mini-batch "
            f"{args.batch}, lr {LR}, seed {SEED}; {args.rounds} rounds, fresh processes"
        )
        times: dict[str, list[float]] = {name: [] for name in contenders}
        memory: dict[str, list[float]] = {name: [] for name in contenders}
        cpus: dict[str, list[float]] = {name: [] for name in contenders}
        answers: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for name, command in contenders.items():
                wall, cpu, rss, out = run_measured(command)
                times[name].append(wall)
                cpus[name].append(cpu)
                memory[name].append(rss)
                parsed = json.loads(out)
                answers[name] = parsed.get("params", parsed)
                print(f"  {name:22s} {wall:7.2f} s {cpu:7.2f} s CPU {rss:5.0f} MiB", flush=True)
    base_t = statistics.median(times["numpy script"])
    base_m = statistics.median(memory["numpy script"])
    base_c = statistics.median(cpus["numpy script"])
    print()
    print("| | median time | × numpy | CPU time | × numpy | peak memory | × numpy |")
    print("|---|---|---|---|---|---|---|")
    for name in contenders:
        t, m = statistics.median(times[name]), statistics.median(memory[name])
        c = statistics.median(cpus[name])
        print(
            f"| {name} | {t:.2f} s | {t / base_t:.2f}× | {c:.2f} s | {c / base_c:.2f}× "
            f"| {m:.0f} MiB | {m / base_m:.2f}× |"
        )
    hand = answers["numpy script"]
    for name, params in answers.items():
        gap = max(abs(params[k] - hand[k]) / max(abs(hand[k]), 1e-300) for k in ("w", "b"))
        print(f"{name}: w = {params['w']:.15g}, b = {params['b']:.15g} (relative gap {gap:.1e})")


if __name__ == "__main__":
    main()
