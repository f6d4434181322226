"""Stopping a command stops its helper processes: no orphans, no tracebacks, no temporary files.

Each test runs ``symgd`` in a session of its own (its process group is the command and every
process it forks), waits from ``/proc`` until the helpers of a given stage are at work, sends a
signal and checks, within a deadline, that the whole group is gone, what stderr says, the exit
code, and that neither the output folder nor ``TMPDIR`` holds anything left over.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import symgd

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)"),
]

needs_weasyprint = pytest.mark.skipif(
    importlib.util.find_spec("weasyprint") is None, reason="PDF output needs WeasyPrint"
)

SOURCE = str(Path(symgd.__file__).resolve().parents[1])
#: how long any stage may take to be reached, or the group to be gone (a slow, loaded machine)
DEADLINE = 15.0
#: how long a helper must have been seen before it counts (a fork that is about to exec an
#: external program, as ctypes and subprocess do, has the same command line for a moment)
SETTLED = 0.2


def _env(tmp_dir: Path) -> dict[str, str]:
    """The environment of a user's run: helpers allowed, temporary files in ``tmp_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in ("SYMGD_SERIAL", "SYMGD_DEBUG")}
    env["PYTHONPATH"] = SOURCE
    env["TMPDIR"] = str(tmp_dir)
    return env


def _processes() -> dict[int, tuple[int, int, str, bytes]]:
    """pid -> (parent pid, process group, state, command line) of every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0], command)
    return table


def _group(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    return [
        pid for pid, (_, group, state, _) in _processes().items() if group == pgid and state != "Z"
    ]


@dataclass
class Run:
    """A ``symgd`` command running in a session of its own."""

    process: subprocess.Popen[bytes]
    stderr_path: Path
    seen: dict[int, float] = field(default_factory=dict)
    #: seconds from the signal until the command and every helper were gone
    gone_after: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def helpers(self) -> dict[int, int]:
        """Helper pid -> depth (1: forked by the command, 2: by one of its helpers, ...) of
        the forks of the command that have been seen for at least ``SETTLED`` seconds."""
        table = _processes()
        if self.pid not in table:
            return {}
        command = table[self.pid][3]
        depth = {self.pid: 0}
        grew = True
        while grew:
            grew = False
            for pid, (parent, _, state, line) in table.items():
                if pid not in depth and parent in depth and state != "Z" and line == command:
                    depth[pid] = depth[parent] + 1
                    grew = True
        del depth[self.pid]
        now = time.monotonic()
        for pid in depth:
            self.seen.setdefault(pid, now)
        return {pid: d for pid, d in depth.items() if now - self.seen[pid] >= SETTLED}

    def wait_until(self, stage: Callable[[Run], bool], what: str) -> None:
        """Poll until ``stage(self)`` holds; fail if the command ends first or it takes too
        long."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.process.poll() is not None:
                pytest.fail(
                    f"the command ended (code {self.process.returncode}) before {what}:"
                    f"\n{self.stderr()}"
                )
            if stage(self):
                return
            time.sleep(0.02)
        pytest.fail(f"no {what} within {DEADLINE:g} s")

    def signal(self, signum: int, *, whole_group: bool = False) -> float:
        """Send ``signum`` to the command (or to its whole group, as a terminal's Ctrl-C
        does); return the time it was sent."""
        if whole_group:
            os.killpg(self.pid, signum)
        else:
            os.kill(self.pid, signum)
        return time.monotonic()

    def wait_for_group_gone(self) -> float:
        """The command's exit code once it and every helper are gone (fail after the
        deadline); the seconds that took are in :attr:`gone_after`."""
        sent = time.monotonic()
        code = self.process.wait(timeout=DEADLINE)
        end = sent + DEADLINE
        while (left := _group(self.pid)) and time.monotonic() < end:
            time.sleep(0.02)
        assert not left, f"helpers still running {DEADLINE:g} s after the command: {left}"
        self.gone_after = time.monotonic() - sent
        return code


@contextmanager
def symgd_run(args: list[str], tmp_dir: Path) -> Iterator[Run]:
    """Run ``symgd ARGS``; whatever happens, nothing of it outlives the test."""
    stderr_path = tmp_dir.parent / "stderr.txt"
    with stderr_path.open("wb") as stderr, (tmp_dir.parent / "stdout.txt").open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "symgd", *args],
            env=_env(tmp_dir),
            start_new_session=True,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        yield Run(process, stderr_path)
    finally:
        if _group(process.pid):  # a failed test: do not leave the processes behind
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=DEADLINE)


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    """An output folder and an empty TMPDIR for one run."""
    out, tmp_dir = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    tmp_dir.mkdir()
    return out, tmp_dir


def _names(folder: Path) -> set[str]:
    return {entry.name for entry in folder.iterdir()}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _forking(run: Run) -> bool:
    """A helper forked by a helper (the figure worker's typesetting fork, a PDF part, a
    bounded computation in a parallel lane) is at work."""
    return 2 in run.helpers().values()


# -- the commands, stopped ---------------------------------------------------------------------


def test_sigterm_stops_explain_and_its_helpers(tmp_path: Path) -> None:
    out, tmp_dir = _folders(tmp_path)
    with symgd_run(["explain", "x**2+2*x*y", "-o", str(out)], tmp_dir) as run:
        run.wait_until(_forking, "typesetting fork of the figure worker")
        run.signal(signal.SIGTERM)
        assert run.wait_for_group_gone() == 128 + signal.SIGTERM
        stderr = run.stderr()
    assert "Traceback" not in stderr
    assert _lines(stderr) == ["Terminated."]
    assert _names(out) <= {"report.html"}
    assert _names(tmp_dir) == set()


@needs_weasyprint
def test_ctrl_c_stops_explain_pdf_with_one_line(tmp_path: Path) -> None:
    out, tmp_dir = _folders(tmp_path)
    with symgd_run(["explain", "x**2+2*x*y", "--pdf", "-o", str(out)], tmp_dir) as run:
        # the print worker imports WeasyPrint, the figure worker matplotlib
        run.wait_until(
            lambda r: list(r.helpers().values()).count(1) >= 2,
            "print worker beside the figure worker",
        )
        run.signal(signal.SIGINT, whole_group=True)  # as a terminal's Ctrl-C does
        assert run.wait_for_group_gone() == 128 + signal.SIGINT
        stderr = run.stderr()
    assert "Traceback" not in stderr
    assert _lines(stderr) == ["Interrupted."]
    assert _names(out) <= {"report.html"}
    assert _names(tmp_dir) == set()


@needs_weasyprint
def test_helpers_exit_by_themselves_when_explain_pdf_is_killed(tmp_path: Path) -> None:
    out, tmp_dir = _folders(tmp_path)
    with symgd_run(["explain", "x**2+2*x*y", "--pdf", "-o", str(out)], tmp_dir) as run:
        # the print worker waits for the page; the figure worker and its fork are at work
        run.wait_until(
            lambda r: _forking(r) and list(r.helpers().values()).count(1) >= 2,
            "typesetting fork of the figure worker beside the print worker",
        )
        run.signal(signal.SIGKILL)
        assert run.wait_for_group_gone() == -signal.SIGKILL
        stderr = run.stderr()
    assert stderr == ""
    assert "report.pdf" not in _names(out)
    assert _names(tmp_dir) == set()


HANDOUT = [
    "x**2+3*y**2",
    "x**4-2*x**2+y**4-2*y**2",
    "(x**2+y-11)**2+(x+y**2-7)**2",
    "x*y*exp(-x**2-y**2)",
]


@needs_weasyprint
def test_sigterm_stops_a_handout_typeset_in_parts(tmp_path: Path) -> None:
    out, tmp_dir = _folders(tmp_path)
    # 20 sheets: progress is shown, and the PDF is typeset in two parts side by side
    args = ["handout", *HANDOUT[:2], "--variants", "10", "--json", "-o", str(out / "h.pdf")]
    with symgd_run(args, tmp_dir) as run:
        run.wait_until(
            lambda r: "Typesetting" in r.stderr() and 1 in r.helpers().values(),
            "part of the handout typeset in a helper",
        )
        run.signal(signal.SIGTERM)
        assert run.wait_for_group_gone() == 128 + signal.SIGTERM
        stderr = run.stderr()
    assert "Traceback" not in stderr
    progress = ("Preparing exercises", "Typesetting the PDF")
    assert [line for line in _lines(stderr) if not line.startswith(progress)] == ["Terminated."]
    assert _names(out) == set()
    assert _names(tmp_dir) == set()


@needs_weasyprint
def test_helpers_exit_by_themselves_when_a_handout_is_killed(tmp_path: Path) -> None:
    out, tmp_dir = _folders(tmp_path)
    with symgd_run(["handout", *HANDOUT, "-o", str(out / "h.pdf")], tmp_dir) as run:
        # functions are derived in parallel lanes, each solving in a bounded child
        run.wait_until(_forking, "bounded computation in a parallel lane")
        run.signal(signal.SIGKILL)
        assert run.wait_for_group_gone() == -signal.SIGKILL
        stderr = run.stderr()
    assert stderr == ""
    assert _names(out) == set()


# -- the mechanisms, each on its own ------------------------------------------------------------


def _python(code: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=_env(tmp_path),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _signal_bits(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no {name} in /proc/{pid}/status")


def test_a_helper_notices_its_parent_is_gone_without_the_kernels_help(tmp_path: Path) -> None:
    # without PR_SET_PDEATHSIG (as on systems other than Linux), a helper that waits for
    # its parent checks on it; it holds the pipe's other end itself, so no EOF ever comes
    code = """
        import multiprocessing as mp, os, time
        import symgd.base.limits as limits

        limits._die_with_parent = lambda: None

        def wait(reader, writer):
            print(os.getpid(), flush=True)  # set up as a helper by now
            limits.wait_readable(reader)
            time.sleep(60)

        context = mp.get_context("fork")
        reader, writer = context.Pipe(duplex=False)
        limits.start_helper(context, wait, (reader, writer), daemon=False)
        time.sleep(60)
    """
    parent = _python(code, tmp_path)
    try:
        assert parent.stdout is not None
        helper = int(parent.stdout.readline())
        sigint = 1 << (signal.SIGINT - 1)
        assert _signal_bits(helper, "SigIgn") & sigint  # a Ctrl-C is for the parent
        assert not _signal_bits(helper, "SigBlk") & (1 << (signal.SIGTERM - 1))
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=DEADLINE)
        end = time.monotonic() + DEADLINE
        while _group(parent.pid) and time.monotonic() < end:
            time.sleep(0.02)
        assert _group(parent.pid) == []
        _, stderr = parent.communicate(timeout=DEADLINE)
    finally:
        if _group(parent.pid):
            os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(timeout=DEADLINE)
    assert stderr == ""


def test_an_interrupt_caught_by_library_code_is_raised_again(tmp_path: Path) -> None:
    # WeasyPrint catches BaseException around drawing an image; the command still stops
    code = """
        import os, signal, time
        from symgd.base.limits import Interrupted, interrupt_on_signals

        start = time.monotonic()
        try:
            with interrupt_on_signals():
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)
                except BaseException:
                    print("caught", flush=True)
                while time.monotonic() - start < 10:
                    time.sleep(0.01)
            print("went on")
        except Interrupted as exc:
            print("stopped", exc.exit_code)
    """
    process = _python(code, tmp_path)
    stdout, stderr = process.communicate(timeout=DEADLINE)
    assert stdout.split("\n")[:2] == ["caught", "stopped 143"], stderr
    assert stderr == ""


def test_an_interrupt_in_a_finalizer_is_raised_again_without_a_traceback(
    tmp_path: Path,
) -> None:
    code = """
        import os, signal, time
        from symgd.base.limits import Interrupted, interrupt_on_signals

        class Resource:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGTERM)
                end = time.monotonic() + 1
                while time.monotonic() < end:
                    pass

        start = time.monotonic()
        try:
            with interrupt_on_signals():
                Resource()
                while time.monotonic() - start < 10:
                    time.sleep(0.01)
            print("went on")
        except Interrupted as exc:
            print("stopped", exc.exit_code)
    """
    process = _python(code, tmp_path)
    stdout, stderr = process.communicate(timeout=DEADLINE)
    assert stdout.strip() == "stopped 143", stderr
    assert stderr == ""


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    # the signal arrives as the finished temporary file is about to be renamed
    code = """
        import os, signal, sys, time
        from pathlib import Path
        from symgd.base.files import write_atomically
        from symgd.base.limits import Interrupted, interrupt_on_signals

        def stop(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)

        os.replace = os.rename = os.link = stop
        Path.replace = Path.rename = stop
        try:
            with interrupt_on_signals():
                write_atomically(Path(sys.argv[1]) / "report.html", b"<p>" * 100_000)
            print("written")
        except Interrupted:
            print("stopped")
    """
    out = tmp_path / "out"
    out.mkdir()
    process = _python(code, tmp_path, str(out))
    stdout, stderr = process.communicate(timeout=DEADLINE)
    assert stdout.strip() == "stopped", stderr
    assert _names(out) == set()
