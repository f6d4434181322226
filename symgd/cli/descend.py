"""``symgd descend``: run an optimizer on a function from a start point and report the result.

JSON output (``--json``)::

    {"method": "gd", "lr": 0.1, "hyperparameters": {}, "status": "max_steps", "steps": 100,
     "variables": ["x0", "x1"], "start": {"x0": -3.0, "x1": 4.0},
     "final": {"x0": ..., "x1": ...}, "f": ..., "grad_norm": ..., "diverged_at": null,
     "domain_at": null, "detail": "", "outcome": "minimum",
     "trajectory": [[-3.0, 4.0], [-2.4, 3.2], ...]}      # only with --trajectory

``steps`` is the number of updates taken; ``trajectory`` holds steps + 1 points. ``status`` is
``converged`` (|∇f| < tol), ``max_steps``, ``diverged`` (``diverged_at`` names the step),
``domain`` (the iterate left the domain of f, where f or ∇f is not a real number;
``domain_at`` names the step) or ``singular`` (Newton with a singular Hessian); ``detail`` says
why a diverged or domain run stopped ("" otherwise).

``outcome`` says what the run reached (the rules are in :mod:`symgd.numeric.outcomes`):
``minimum``, ``maximum``, ``saddle``, ``degenerate`` (a critical point the second-order test
cannot classify), ``flat`` (the gradient vanished where no critical point is near), ``cycle``
(the iterates repeat; ``cycle_period``, present only then, is the period), ``unbounded`` (f fell
without bound), ``diverged`` (the iterates grew: η too large), ``unfinished`` (the steps ran
out while the run was still moving), ``domain`` or ``singular``. A run converged, in the
lesson's sense, only when its outcome is ``minimum`` (``maximum`` for ascent).

JSON carries no NaN or infinity. ``null`` appears only in ``diverged_at`` and ``domain_at``
(when the run did not stop that way) and in place of a number that is not finite: a
coordinate of ``final`` or of a ``trajectory`` point that overflowed, ``f`` and ``grad_norm``
at a point outside the domain or after an overflow.

Without ``--trajectory`` only the summary is computed and kept: the run holds a thinned path
(at most a few thousand iterates), so memory stays small for any --steps. With it, every
iterate is kept (up to 480 MB of coordinates; beyond that the command refuses, exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from symgd.base.i18n import _, n_, pgettext
from symgd.cli.common import (
    OptimizerCommand,
    echo_json,
    hyperparameter_options,
    input_errors_exit_2,
    lang_option,
    lr_help,
    method_option,
    offered_optimizers,
    parse_point,
    parse_with_vars,
)

if TYPE_CHECKING:
    from symgd.numeric.results import Trajectory

#: the optimizers --method offers: every one in the registry
METHOD_NAMES = offered_optimizers()


@click.command(cls=OptimizerCommand, optimizers=METHOD_NAMES)
@click.argument("expression")
@click.option(
    "--start",
    required=True,
    metavar="x=-3,y=4",
    help="Start point: x=-3,y=4, or -3,4 in the order of the variables.",
)
@method_option(METHOD_NAMES)
@click.option("--lr", type=float, default=None, metavar="ETA", help=lr_help(METHOD_NAMES))
@click.option("--steps", type=int, default=100, show_default=True, help="Most updates to take.")
@click.option(
    "--tol",
    type=float,
    default=1e-10,
    show_default=True,
    help="Stop when the gradient norm is below this.",
)
@hyperparameter_options(METHOD_NAMES)
@click.option(
    "--vars",
    "variables",
    metavar="x,y",
    help="Variables and their order (default: every name, sorted).",
)
@click.option("--trajectory", is_flag=True, help="Include every iterate.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option(
    "--fast",
    is_flag=True,
    help="Compile the whole loop with numba (needs: pip install 'symgd[fast]').",
)
@lang_option
@input_errors_exit_2
def descend(
    expression: str,
    start: str,
    method: str,
    lr: float | None,
    steps: int,
    tol: float,
    variables: str | None,
    trajectory: bool,
    as_json: bool,
    fast: bool,
    lang: str | None = None,
    **given: float | None,
) -> None:
    """Run METHOD on EXPRESSION from --start and report where it ends.

    \b
    Examples:
      symgd descend "x0**2 + x1**2" --start -3,4 --lr 0.1
      symgd descend "x^2 + 2x*y" --start x=1,y=1 --steps 1000
      symgd descend "(1-x)^2 + 100(y-x^2)^2" --start -1.2,1 --method adam --lr 0.01 --json
      symgd descend "x**2 + y**2" --start 1,1 --lang ko

    A run stops when the gradient norm falls below --tol (converged), after
    --steps updates, at the first step where f or its gradient is undefined
    (domain: the square root or logarithm of a negative number, ...), or where
    a value stops being finite or grows beyond 1e12 (diverged). A start
    outside the domain of f is an error (exit 2). The optimizers follow
    torch.optim's update rules and defaults.
    """
    from symgd.numeric.runner import descend as run_descend

    problem = parse_with_vars(expression, variables)
    point = parse_point(start, list(problem.names))
    hyper: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    run = run_descend(
        problem,
        point,
        method=method.lower(),
        lr=lr,
        steps=steps,
        tol=tol,
        backend="numba" if fast else "auto",
        trajectory=trajectory,
        **hyper,
    )
    if as_json:
        echo_json(run.to_dict(trajectory=trajectory))
        return
    click.echo(format_run(run, trajectory))


def format_run(run: Trajectory, trajectory: bool = False) -> str:
    """Readable plain text for the terminal, in the language in effect."""
    from symgd.numeric.optimizers import OPTIMIZERS
    from symgd.numeric.results import number_text

    names = run.variables
    hyper = "".join(f", {k} = {v:g}" for k, v in run.hyperparameters.items())
    start = ", ".join(f"{n} = {v:.10g}" for n, v in zip(names, run.start, strict=True))
    final = ", ".join(f"{n} = {number_text(v)}" for n, v in zip(names, run.final, strict=True))
    status = n_(
        "Status: {status} after {n} step", "Status: {status} after {n} steps", run.steps
    ).format(status=status_word(run.status.value), n=run.steps)
    lines = [
        f"{_(OPTIMIZERS[run.method].label)} ({run.method}), η = {run.lr:g}{hyper}",
        _("Start: {point}").format(point=start),
        status,
        f"  {run.message}",
        _("Outcome: {outcome}").format(outcome=run.outcome_message),
        _("Final: {point}").format(point=final),
        f"  f = {number_text(run.fs[-1])}, |∇f| = {number_text(run.grad_norms[-1], 4)}",
    ]
    if trajectory:
        lines += ["", "  k  " + "  ".join(f"{n:>16}" for n in names) + f"  {'f':>16}  {'|∇f|':>10}"]
        rows = zip(run.step_numbers, run.xs, run.fs, run.grad_norms, strict=True)
        for k, x, f, g in rows:
            coords = "  ".join(f"{number_text(v):>16}" for v in x)
            lines.append(f"{k:3d}  {coords}  {number_text(f):>16}  {number_text(g, 4):>10}")
    return "\n".join(lines)


#: why a run stopped, in words (the status value itself in English)
STATUS_WORDS: dict[str, Callable[[], str]] = {
    "converged": lambda: pgettext("run status", "converged"),
    "max_steps": lambda: pgettext("run status", "max_steps"),
    "diverged": lambda: pgettext("run status", "diverged"),
    "domain": lambda: pgettext("run status", "domain"),
    "singular": lambda: pgettext("run status", "singular"),
}


def status_word(status: str) -> str:
    """A run's status (``converged``, ``max_steps``, ...) in the language in effect."""
    word = STATUS_WORDS.get(status)
    return status if word is None else word()
