"""Timing helper shared by the benchmarks that run symgd in fresh processes."""

from __future__ import annotations

import os
import subprocess
import time


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and child CPU seconds of one run (which must succeed)."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu
