"""The ``symgd`` command line: a thin click group.

Subcommands live in their own ``cli_*`` modules and are imported only when named, so
``symgd --help`` never pays for SymPy, numpy or matplotlib.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from symgd import __version__

#: command name -> "module:attribute"; a command whose module is absent is not listed.
COMMANDS = {
    "explain": "symgd.cli.explain:explain",
    "derive": "symgd.cli.derive:derive",
    "descend": "symgd.cli.descend:descend",
    "fit": "symgd.cli.fit:fit",
    "handout": "symgd.cli.handout:handout",
    "backprop": "symgd.cli.backprop:backprop",
    "vanish": "symgd.cli.vanish:vanish",
    "grade": "symgd.cli.grade:grade",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [n for n, target in COMMANDS.items() if _module_exists(target.split(":")[0])]
        return names + sorted(super().list_commands(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _module_exists(target.split(":")[0]):
            return super().get_command(ctx, cmd_name)
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="symgd")
def cli() -> None:
    """Turn a function you type into an exact, worked lesson on gradient descent.

    \b
    Start here:
      symgd explain "x**2 + 2*x*y"        a full lesson as an HTML report
      symgd derive  "x**2 + 2*x*y"        gradient, Hessian, critical points
      symgd descend "x0**2 + x1**2" --start -3,4 --lr 0.1
      symgd backprop "(sigmoid(w*x + b) - y)**2" --at w=0.5,b=0,x=1,y=1
      symgd vanish                         why deep sigmoid chains stop learning

    Expressions use Python-like syntax: + - * / ** (or ^), implicit
    products such as 2x, and the functions sin cos tan exp log sqrt abs
    sigmoid relu leaky_relu softplus tanh and friends. Nothing you type is
    ever executed as code.
    """


def main(argv: list[str] | None = None) -> Any:
    """Entry point: run the group; unexpected failures exit 1 with a one-line message.

    SIGINT, SIGTERM and SIGHUP stop the helper processes at once, run the command's cleanup
    (no temporary files stay behind) and exit 128 + the signal's number with one line on
    stderr (see :func:`symgd.base.limits.interrupt_on_signals`).
    """
    from symgd.base.limits import Interrupted, interrupt_on_signals, stop_helpers

    try:
        with interrupt_on_signals():
            return cli.main(args=argv, prog_name="symgd", standalone_mode=True)
    except (Interrupted, KeyboardInterrupt) as exc:
        stop_helpers()
        signum = exc.signum if isinstance(exc, Interrupted) else 2
        _say_stopped(signum)
        sys.exit(128 + signum)
    except Exception as exc:
        if os.environ.get("SYMGD_DEBUG"):
            raise
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("Set SYMGD_DEBUG=1 to see the traceback.", err=True)
        sys.exit(1)


#: what stopped the command, by signal number (the shell's words)
_STOPPED = {2: "Interrupted.", 15: "Terminated.", 1: "Hung up."}


def _say_stopped(signum: int) -> None:
    """One line on stderr; after the ``^C`` a terminal echoes, on a line of its own."""
    err = sys.stderr
    try:
        start = "\n" if signum == 2 and err is not None and err.isatty() else ""
        click.echo(start + _STOPPED.get(signum, f"Stopped by signal {signum}."), err=True)
    except (OSError, ValueError):  # no terminal any more (SIGHUP)
        pass
