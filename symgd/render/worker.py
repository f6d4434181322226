"""The lesson's helper process: it draws the figures, and a fork of it typesets the formulas
and then helps with the figures.

Drawing (matplotlib) and typesetting (ziamath) are pure Python and CPU-bound; on two cores
they run beside the main process's own work. The worker is forked first thing (before numpy
starts threads in this process), imports matplotlib while the main process derives and runs
the optimizers, then takes the figure jobs (plain data,
:class:`symgd.render.figures.FigureJob`, each with the language it is drawn in) and the page's
formulas. Where forking is not safe, or the worker fails, the same work happens in the main
process. ``SYMGD_SERIAL=1`` turns it off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from symgd.base.limits import fork_helper, fork_is_safe, start_helper, take_alive, wait_readable

#: how a figure not drawn yet begins in a rendered page
PENDING_PREFIX = "<!--symgd-figure:"


@dataclass(frozen=True)
class Pending:
    """A figure not drawn yet; replaced by its SVG once every figure is done. In a page
    rendered before that, it stands as a comment that is then swapped for the SVG."""

    name: str

    def __str__(self) -> str:
        return f"{PENDING_PREFIX}{self.name}-->"


def draw_all(jobs: Mapping[str, Any]) -> dict[str, str]:
    """Each figure job's SVG, drawn in this process, in the job's own language (``lang``; a
    job without one in the language in effect): a worker forked before the language was
    chosen still draws a Korean lesson's figures in Korean."""
    from symgd.base.i18n import language

    figures = {}
    for name, job in jobs.items():
        with language(getattr(job, "lang", None)):
            figures[name] = job.draw()
    return figures


def _claims(count: int) -> int | None:
    """A pipe holding the job numbers ``0 .. count - 1``, its writing end closed: reading one
    byte claims the next job, and an empty read means none is left. Reads of one byte are
    atomic, so two processes holding the pipe never draw the same figure. None where there is
    no pipe to be had (or too many jobs to number in a byte)."""
    import os

    if count >= 256:
        return None
    try:
        reader, writer = os.pipe()
    except OSError:
        return None
    try:
        os.write(writer, bytes(range(count)))  # far below the pipe's buffer: never blocks
    except OSError:
        os.close(reader)
        return None
    finally:
        os.close(writer)
    return reader


def _draw_claimed(jobs: Mapping[str, Any], claims: int) -> dict[str, str]:
    """Draw the jobs this process claims from ``claims`` (:func:`_claims`) until none is left."""
    import os

    names = list(jobs)
    figures = {}
    while True:
        try:
            claimed = os.read(claims, 1)
        except OSError:
            break
        if not claimed:
            break
        name = names[claimed[0]]
        figures.update(draw_all({name: jobs[name]}))
    return figures


class FigureWorker:
    """Draws the lesson's figures in a forked child process, and has a fork of that child
    typeset the page's formulas meanwhile and then draw whichever figures are still waiting
    (see the module docstring).

    The child is used only where forking is safe: a POSIX system and a process with a single
    thread (so not inside a notebook kernel, and before numpy starts its BLAS threads); set
    ``SYMGD_SERIAL=1`` to turn it off. Otherwise, or if the child fails, the figures are drawn
    and the formulas typeset in this process, so errors surface normally.
    """

    def __init__(self) -> None:
        self.process: Any = None
        #: figures sent and not collected: closing now means this process stopped waiting
        self.drawing = False
        if not fork_is_safe():
            return
        import multiprocessing as mp

        _share_matplotlib_folder()
        try:
            context = mp.get_context("fork")
            self.job_reader, self.job_writer = context.Pipe(duplex=False)
            self.result_reader, result_writer = context.Pipe(duplex=False)
            self.process = start_helper(
                context,
                _figure_child,
                (self.job_reader, self.job_writer, result_writer),
                daemon=True,
            )
            result_writer.close()
        except (OSError, ValueError):  # pragma: no cover - no processes available
            self.process = None

    def draw(
        self, jobs: Mapping[str, Any]
    ) -> Callable[[], tuple[dict[str, str], dict[tuple[str, bool], str]]]:
        """Hand the figure ``jobs`` to the child; the returned function waits for the figures'
        SVG and the formulas typeset for :meth:`typeset` (empty without a child)."""
        if self.process is None:
            return lambda: (draw_all(jobs), {})
        try:
            self.job_writer.send(dict(jobs))
        except (OSError, ValueError):
            self.close()
            return lambda: (draw_all(jobs), {})
        self.drawing = True

        def collect() -> tuple[dict[str, str], dict[tuple[str, bool], str]]:
            payload: Any = None
            try:
                payload = self.result_reader.recv()
                self.drawing = False
            except (EOFError, OSError):
                payload = None
            finally:
                self.close()
            if isinstance(payload, tuple) and len(payload) == 2:
                figures, typeset = payload
                if isinstance(figures, dict) and set(figures) == set(jobs):
                    return figures, typeset if isinstance(typeset, dict) else {}
            return draw_all(jobs), {}

        return collect

    def typeset(self, formulas: Sequence[tuple[str, bool]]) -> bool:
        """Send the page's formulas after :meth:`draw`; False when there is no child to take
        them (then this process typesets them itself)."""
        if self.process is None:
            return False
        try:
            self.job_writer.send(list(formulas))
        except (OSError, ValueError):
            return False
        return True

    def close(self) -> None:
        """Stop the child (idempotent)."""
        if self.process is None:
            return
        process, self.process = self.process, None
        with contextlib.suppress(OSError, ValueError):
            self.job_writer.send(None)
        # a worker still drawing for a caller that gave up (an exception) is not waited for
        process.join(timeout=0 if self.drawing else 5)
        if process.is_alive():
            process.kill()
            process.join()
        for end in (self.job_writer, self.job_reader, self.result_reader):
            end.close()


def _share_matplotlib_folder() -> None:
    """Where matplotlib cannot write to its config or cache folder, each process importing it
    makes a temporary one and removes it at exit, which a helper process never reaches (it
    leaves with ``os._exit``, or is killed). Make that folder here instead, once, for this
    process and its helpers, and remove it when this process exits."""
    import os
    import sys
    from pathlib import Path

    if os.environ.get("MPLCONFIGDIR"):
        return
    try:
        home = Path.home()
    except (RuntimeError, KeyError):
        home = None
    if home is None:
        folders = []
    elif sys.platform.startswith(("linux", "freebsd")):
        folders = [
            Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib",
            Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib",
        ]
    else:
        folders = [home / ".matplotlib"]
    with contextlib.suppress(OSError):
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        if folders and all(f.is_dir() and os.access(f, os.W_OK) for f in folders):
            return
    import atexit
    import shutil
    import tempfile

    try:
        temporary = tempfile.mkdtemp(prefix="matplotlib-")
    except OSError:  # matplotlib will say what to do
        return
    os.environ["MPLCONFIGDIR"] = temporary
    atexit.register(shutil.rmtree, temporary, ignore_errors=True)


_prestarted: list[FigureWorker] = []


def prestart_figure_worker() -> None:
    """Fork the figure worker now, so that it imports matplotlib while this process is still
    importing SymPy and parsing; the next :func:`explain` uses it. The command line calls this
    first thing; a program need not (``explain`` starts its own)."""
    if not _prestarted:
        worker = FigureWorker()
        if worker.process is not None:
            _prestarted.append(worker)


def take_prestarted() -> FigureWorker | None:
    return take_alive(_prestarted)


def _figure_child(job_reader: Any, job_writer: Any, result_writer: Any) -> None:
    job_writer.close()  # the parent's end: its closing (the parent gone) must reach recv()
    try:  # get matplotlib ready while the parent is still busy (the math renderer is loaded
        # by the typesetting fork, and only for formulas that no earlier run kept)
        from symgd.render.figures import warm_up

        warm_up()
    except Exception:  # the work itself will report any real problem
        pass
    try:
        wait_readable(job_reader)
        message = job_reader.recv()
    except (EOFError, OSError):
        return
    if message is None:
        return
    jobs = message
    result: Any = None
    try:
        result = _share_work(jobs, job_reader)
    except BaseException:  # the parent redoes the work and reports the error itself
        result = None
    try:
        result_writer.send(result)
    except OSError:
        pass  # nobody waits for the figures any more
    finally:
        result_writer.close()


def _share_work(
    jobs: Mapping[str, Any], job_reader: Any
) -> tuple[dict[str, str], dict[tuple[str, bool], str]]:
    """The figures and the page's formulas, made by this process and a fork of it: the fork
    typesets the formulas (the next message) and then helps with the figures, each process
    claiming the next figure not yet taken, so that neither waits while the other works."""
    import os

    claims = _claims(len(jobs))
    if claims is None:
        helper = _fork_call(_typeset_next, job_reader)
        figures = draw_all(jobs)
        return figures, _typeset_next(job_reader) if helper is None else helper()
    try:
        helper = _fork_call(_typeset_then_draw, job_reader, jobs, claims)
        figures = _draw_claimed(jobs, claims)
        if helper is None:
            return figures, _typeset_next(job_reader)
        try:
            formulas, drawn = helper()
        except RuntimeError:  # the fork failed: its figures are drawn here, its formulas by
            formulas, drawn = {}, {}  # the parent as its page needs them
        figures.update(drawn)
        missing = {name: job for name, job in jobs.items() if name not in figures}
        figures.update(draw_all(missing))
        return figures, formulas
    finally:
        os.close(claims)


def _typeset_then_draw(
    job_reader: Any, jobs: Mapping[str, Any], claims: int
) -> tuple[dict[tuple[str, bool], str], dict[str, str]]:
    """In the fork: the page's formulas, then whichever figures are still unclaimed."""
    formulas = _typeset_next(job_reader)
    return formulas, _draw_claimed(jobs, claims)


def _typeset_next(job_reader: Any) -> dict[tuple[str, bool], str]:
    """Typeset the formulas of the next message (none when the parent stops instead)."""
    from symgd.render.mathsvg import typeset

    try:
        wait_readable(job_reader)
        formulas = job_reader.recv()
    except (EOFError, OSError):
        formulas = None
    return {(latex, display): typeset(latex, display) for latex, display in formulas or ()}


def _fork_call(function: Callable[..., Any], *args: Any) -> Callable[[], Any] | None:
    """Start ``function(*args)`` in a plain fork of this (single-threaded, daemonic) worker;
    the returned function waits for its pickled result. None where forking fails."""
    import os
    import pickle

    try:
        reader, writer = os.pipe()
        pid = fork_helper()
    except OSError:  # pragma: no cover - no processes left
        return None
    if pid == 0:  # the fork: compute, send, leave without running any cleanup
        os.close(reader)
        code = 0
        try:
            data = pickle.dumps(function(*args))
            with os.fdopen(writer, "wb") as out:
                out.write(data)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(writer)

    def wait() -> Any:
        wait_readable(reader)
        with os.fdopen(reader, "rb") as source:
            data = source.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not data:
            raise RuntimeError("the typesetting fork failed")
        return pickle.loads(data)

    return wait


def fill_figures(node: Any, figures: Mapping[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, Pending):
                node[key] = figures[value.name]
            else:
                fill_figures(value, figures)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, Pending):
                node[index] = figures[value.name]
            else:
                fill_figures(value, figures)
