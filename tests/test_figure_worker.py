"""The lesson's figure worker: it and a fork of it share the figures, each drawn once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_SHARED = """
import json, os, sys, time

class Slow:
    '''A figure job that takes a while and says which process drew it.'''

    def __init__(self, index):
        self.index = index

    def draw(self):
        time.sleep(0.25)
        return f"{self.index}:{os.getpid()}"

from symgd.render import worker
w = worker.FigureWorker()
if w.process is None:
    print(json.dumps(None)); sys.exit(0)
jobs = {f"j{i}": Slow(i) for i in range(10)}
collect = w.draw(jobs)
w.typeset([("x^{2}", False)])
figures, formulas = collect()
kept = [[latex, display, svg[:4]] for (latex, display), svg in formulas.items()]
print(json.dumps({"parent": os.getpid(), "figures": figures, "formulas": kept}))
"""


def test_the_worker_and_its_fork_share_the_figures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SYMGD_SERIAL", "SYMGD_LANG")}
    env["SYMGD_CACHE_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _SHARED], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result is None:
        pytest.skip("this system cannot fork a helper process")
    figures = result["figures"]
    assert sorted(figures) == sorted(f"j{i}" for i in range(10))
    assert all(figures[f"j{i}"].startswith(f"{i}:") for i in range(10))  # each drawn once, itself
    drawers = {text.split(":")[1] for text in figures.values()}
    assert len(drawers) == 2 and str(result["parent"]) not in drawers
    assert result["formulas"] == [["x^{2}", False, "<svg"]]
