"""The lesson's figure worker: it and a fork of it share the figures, each drawn exactly once,
and the formulas come back with them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_SHARED = """
import json, os, sys, time

LOG = sys.argv[1]


class Slow:
    '''A figure job that takes a while and writes down which process drew it.'''

    def __init__(self, index):
        self.index = index

    def draw(self):
        time.sleep(0.3)
        with open(LOG, "a") as log:  # one short line per draw: appends do not interleave
            log.write(f"{self.index} {os.getpid()}\\n")
        return f"{self.index}:{os.getpid()}"


from symgd.render import worker
results = []
for formulas in ([], [("x^{2}", False)]):
    w = worker.FigureWorker()
    if w.process is None:
        print(json.dumps(None)); sys.exit(0)
    jobs = {f"j{i}": Slow(i) for i in range(10)}
    collect = w.draw(jobs)
    w.typeset(formulas)
    figures, typeset = collect()
    kept = [[latex, display, svg[:4]] for (latex, display), svg in typeset.items()]
    results.append({"figures": figures, "formulas": kept})
print(json.dumps({"parent": os.getpid(), "runs": results}))
"""


def test_the_worker_and_its_fork_share_the_figures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SYMGD_SERIAL", "SYMGD_LANG")}
    env["SYMGD_CACHE_DIR"] = str(tmp_path / "cache")
    log = tmp_path / "draws.log"
    done = subprocess.run(
        [sys.executable, "-c", _SHARED, str(log)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result is None:
        pytest.skip("this system cannot fork a helper process")
    draws = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(index) for index, _ in draws) == sorted(list(range(10)) * 2)  # once each
    first, second = result["runs"]
    for run in (first, second):
        figures = run["figures"]
        assert sorted(figures) == sorted(f"j{i}" for i in range(10))
        assert all(figures[f"j{i}"].startswith(f"{i}:") for i in range(10))
        assert str(result["parent"]) not in {text.split(":")[1] for text in figures.values()}
    # with no formulas to typeset, the fork starts on the figures at once: both processes draw
    assert len({text.split(":")[1] for text in first["figures"].values()}) == 2
    assert first["formulas"] == []
    assert second["formulas"] == [["x^{2}", False, "<svg"]]
