"""Run a SymPy computation under a hard time budget, in a child process that can be killed.

Signals do not interrupt SymPy reliably (its gmpy2 paths ignore them), and ``solve`` or
``simplify`` can run for minutes on innocent-looking input, so the work happens in a forked
child with a memory cap; when the budget runs out the child is killed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

#: memory cap for a child, in bytes
CHILD_MEMORY = 4 << 30


class BudgetExceeded(Exception):
    """The computation did not finish within its time budget (or ran out of memory)."""


def run_bounded(function: Callable[..., T], *args: Any, seconds: float) -> T:
    """Return ``function(*args)`` computed in a child process, or raise.

    Raises :class:`BudgetExceeded` on timeout or a crashed child, and re-raises (as
    ``RuntimeError`` carrying its text) an exception raised by ``function``.
    """
    if sys.platform == "win32":  # pragma: no cover - no fork: run inline, unbounded
        return function(*args)
    context = mp.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    # not a daemon: a bounded computation may itself run a bounded sub-computation
    process = context.Process(target=_child, args=(sender, function, args), daemon=False)
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise BudgetExceeded(f"gave up after {seconds:g} s")
        try:
            ok, payload = receiver.recv()
        except (EOFError, OSError) as exc:
            raise BudgetExceeded("the computation ran out of memory or crashed") from exc
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    if not ok:
        raise ChildError(payload)
    return payload


class ChildError(RuntimeError):
    """The function raised in the child; the message carries its type and text."""


def _child(sender: Any, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    except (ImportError, ValueError, OSError):  # pragma: no cover
        pass
    try:
        result = (True, function(*args))
    except BaseException as exc:
        result = (False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    try:
        sender.send(result)
    except Exception as exc:
        sender.send((False, f"could not send the result back: {exc}"))
    finally:
        sender.close()


def fork_is_safe() -> bool:
    """True when this process may fork a helper: a POSIX system and a single thread (a fork
    copies only the calling thread, and a lock held by another one would never be released).
    ``SYMGD_SERIAL=1`` in the environment turns helper processes off."""
    if sys.platform == "win32" or os.environ.get("SYMGD_SERIAL"):
        return False
    if threading.active_count() > 1:
        return False
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("Threads:"):
                    return int(line.split()[1]) == 1
    except (OSError, ValueError):
        pass
    return sys.platform == "linux" or "numpy" not in sys.modules


class Worker(Protocol):
    """A helper process object: its ``process`` (None once stopped) and ``close()``."""

    process: Any

    def close(self) -> None: ...


W = TypeVar("W", bound=Worker)


def take_alive(pool: list[W]) -> W | None:
    """Pop workers started ahead of time from ``pool`` until one is still running (the
    others are closed); None when there is none."""
    while pool:
        worker = pool.pop()
        if worker.process is not None and worker.process.is_alive():
            return worker
        worker.close()
    return None
