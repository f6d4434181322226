"""Run a SymPy computation under a hard time budget, in a child process that can be killed.

Signals do not interrupt SymPy reliably (its gmpy2 paths ignore them), and ``solve`` or
``simplify`` can run for minutes on innocent-looking input, so the work happens in a forked
child with a memory cap; when the budget runs out the child is killed.

Every helper process symgd forks (this child, the figure and print workers, the parallel
lanes) is started through :func:`start_helper` or :func:`fork_helper`: it ignores SIGINT
(a Ctrl-C reaches the whole process group; the process that started it cleans up), dies with
that process (``PR_SET_PDEATHSIG`` on Linux; elsewhere it checks while it waits, see
:func:`wait_readable`) and leaves quietly when there is nobody left to report to. A command
run from :func:`symgd.cli.main` turns SIGINT, SIGTERM and SIGHUP into :class:`Interrupted`
(see :func:`interrupt_on_signals`), after killing its helpers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

#: memory cap for a child, in bytes
CHILD_MEMORY = 4 << 30
#: most variants of one handout, and most function sheets (functions × variants): each sheet
#: costs about 0.8 s of CPU (a tenth drawing and working it, a quarter typesetting its
#: formulas, the rest printing its three or four PDF pages) and about 3 MB of memory, so 1000
#: sheets took many minutes and gigabytes; 200 sheets (700 pages) take 170 s of CPU, split
#: over the PDF workers, and 0.6 GB. Kept here, where the command line reads them without
#: loading SymPy.
MAX_VARIANTS = 100
MAX_SHEETS = 200

#: how often a waiting helper checks that the process that started it is still there (s)
PARENT_CHECK = 0.25

#: the signals that stop a command: each one is an :class:`Interrupted` in the command
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class BudgetExceeded(Exception):
    """The computation did not finish within its time budget (or ran out of memory)."""


def run_bounded(function: Callable[..., T], *args: Any, seconds: float) -> T:
    """Return ``function(*args)`` computed in a child process, or raise.

    Raises :class:`BudgetExceeded` on timeout or a crashed child, and re-raises (as
    ``RuntimeError`` carrying its text) an exception raised by ``function``.
    """
    if sys.platform == "win32":  # pragma: no cover - no fork: run inline, unbounded
        return function(*args)
    import multiprocessing as mp

    context = mp.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    # not a daemon: a bounded computation may itself run a bounded sub-computation
    process = start_helper(context, _child, (sender, function, args), daemon=False)
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
    return cast(T, payload)


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
        import traceback

        result = (False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    try:
        sender.send(result)
    except OSError:
        pass  # nobody waits for the result any more
    except Exception as exc:
        with contextlib.suppress(OSError):
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


# -- helper processes: started here, they end with this process ---------------------------------

#: in a helper process: the pid of the process that started it (empty elsewhere)
_parent: list[int] = []

_PR_SET_PDEATHSIG = 1


def start_helper(
    context: Any, target: Callable[..., Any], args: tuple[Any, ...], *, daemon: bool
) -> Any:
    """Start ``target(*args)`` in a helper process (a ``multiprocessing`` process of the fork
    ``context``; see :func:`become_helper`) and return the started process."""
    process = context.Process(target=_helper_main, args=(os.getpid(), target, args), daemon=daemon)
    with _signals_held():
        process.start()
    return process


def fork_helper() -> int:
    """``os.fork()`` for a helper process: 0 in the child (already set up by
    :func:`become_helper`), the child's pid in this process."""
    parent = os.getpid()
    with _signals_held():
        pid = os.fork()
        if pid == 0:
            become_helper(parent)
    return pid


def _helper_main(parent: int, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    become_helper(parent)
    try:
        target(*args)
    except BaseException:
        if parent_gone():  # nobody left to report to, nor to read a traceback
            os._exit(1)
        raise


def become_helper(parent: int) -> None:
    """Set up a process just forked from ``parent``: SIGINT ignored (a Ctrl-C at a terminal
    reaches the whole process group, and the parent cleans up), SIGTERM and SIGHUP back to
    their default (end at once) unless ignored already (``nohup``), killed by the kernel when
    ``parent`` ends (Linux), and gone at once if ``parent`` has ended already. The fork must
    happen with the stop signals held (:func:`start_helper`, :func:`fork_helper`); they are
    let through here."""
    _parent[:] = [parent]
    _stopping.clear()
    _interruptible.clear()
    for signum in STOP_SIGNALS:
        with contextlib.suppress(ValueError, OSError):
            if signum == signal.SIGINT:
                signal.signal(signum, signal.SIG_IGN)
            elif signal.getsignal(signum) is not signal.SIG_IGN:
                signal.signal(signum, signal.SIG_DFL)
    _die_with_parent()
    if os.getppid() != parent:
        os._exit(1)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when the thread that forked it ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(
            ctypes.c_int(_PR_SET_PDEATHSIG),
            ctypes.c_ulong(signal.SIGKILL),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
        )
    except (OSError, AttributeError):  # pragma: no cover - no prctl: wait_readable checks
        pass


def parent_gone() -> bool:
    """True in a helper process whose parent has ended (it was adopted by another)."""
    return bool(_parent) and os.getppid() != _parent[0]


def wait_readable(source: Any) -> None:
    """In a helper, wait until ``source`` (a ``multiprocessing`` connection or a file
    descriptor) has data or is closed; leave the process quietly if the parent ends first."""
    from multiprocessing.connection import wait

    while not wait([source], PARENT_CHECK):
        if parent_gone():
            os._exit(1)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back the stop signals while forking: the new process must not run this
    process's handlers before :func:`become_helper` has replaced them."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# -- the command's side: a stop signal kills the helpers, then unwinds ----------------------------


class Interrupted(BaseException):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) arrived. Raised in the main thread, so that
    ``finally`` blocks run on the way out (temporary files are removed); a BaseException, so
    that ``except Exception`` lets it through, and not a KeyboardInterrupt, which click would
    turn into "Aborted!"."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by this signal: 128 + its number."""
        return 128 + self.signum


#: the signal being handled, while :class:`Interrupted` unwinds the command (at most one)
_stopping: list[int] = []
#: how often :class:`Interrupted` is raised again until it has left the command (s)
INSIST = 1.0
#: True inside :func:`interrupt_on_signals`
_interruptible: list[bool] = []


def stop_helpers() -> None:
    """Kill every helper process this process started that is still running (a helper holds
    nothing that needs cleaning up; its own helpers die with it)."""
    mp = sys.modules.get("multiprocessing")
    if mp is None:
        return
    for process in mp.active_children():
        with contextlib.suppress(Exception):
            process.kill()


def _on_stop_signal(signum: int, _frame: Any) -> None:
    stop_helpers()
    if _stopping or not _interruptible:  # unwinding already, or the command is done
        return
    _stopping.append(signum)
    logging = sys.modules.get("logging")
    if logging is not None:  # nothing but the one line about the signal from now on
        logging.disable(logging.CRITICAL)
    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, _insist)
        signal.setitimer(signal.ITIMER_REAL, INSIST, INSIST)
    raise Interrupted(signum)


def _insist(_signum: int, _frame: Any) -> None:
    """Raise :class:`Interrupted` again while the command still runs: code that catches
    BaseException (WeasyPrint does, around drawing an image) would otherwise carry on."""
    if _stopping and _interruptible:
        stop_helpers()
        raise Interrupted(_stopping[0])


def _unraisable(hook: Callable[[Any], Any]) -> Callable[[Any], None]:
    """A ``sys.unraisablehook`` for an :class:`Interrupted` raised where an exception cannot
    propagate (a ``__del__``, a callback): no traceback, and :func:`_insist` raises it again
    in a moment (out of this hook)."""

    def unraisable(info: Any) -> None:
        if isinstance(info.exc_value, Interrupted):
            if _stopping and hasattr(signal, "setitimer"):
                signal.setitimer(signal.ITIMER_REAL, 0.01, INSIST)
            return
        hook(info)

    return unraisable


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Inside, a stop signal kills this process's helpers and raises :class:`Interrupted` in
    the main thread (once; a second signal only kills helpers again). A signal ignored
    already (SIGHUP under ``nohup``, SIGINT for a background job) stays ignored. Afterwards
    the handlers stay, to kill helpers only: a signal during exit neither hangs on a helper
    nor prints a traceback. For a command's entry point, in the main thread; elsewhere it
    does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _on_stop_signal)
    hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(hook)
    _interruptible.append(True)
    try:
        yield
    finally:
        _interruptible.clear()
        sys.unraisablehook = hook
        if _stopping and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
