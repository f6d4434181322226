"""``symgd descend``: run an optimizer on a function from a start point and report the result.

JSON output (``--json``)::

    {"method": "gd", "lr": 0.1, "hyperparameters": {}, "status": "max_steps", "steps": 100,
     "variables": ["x0", "x1"], "start": {"x0": -3.0, "x1": 4.0},
     "final": {"x0": ..., "x1": ...}, "f": ..., "grad_norm": ..., "diverged_at": null,
     "trajectory": [[-3.0, 4.0], [-2.4, 3.2], ...]}      # only with --trajectory

``steps`` is the number of updates taken; ``trajectory`` holds steps + 1 points. ``status`` is
``converged`` (|∇f| < tol), ``max_steps``, ``diverged`` (``diverged_at`` names the step) or
``singular`` (Newton with a singular Hessian).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from symgd.cli_common import (
    ExpressionCommand,
    echo_json,
    input_errors_exit_2,
    parse_point,
    parse_variable_list,
)

if TYPE_CHECKING:
    from symgd.descend import Trajectory

METHOD_NAMES = ("gd", "ascent", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton")


@click.command(cls=ExpressionCommand)
@click.argument("expression")
@click.option("--start", required=True, metavar="x=-3,y=4",
              help="Start point: x=-3,y=4, or -3,4 in the order of the variables.")
@click.option("--method", default="gd", show_default=True,
              type=click.Choice(METHOD_NAMES, case_sensitive=False), help="The optimizer.")
@click.option("--lr", type=float, default=None, metavar="ETA",
              help="Learning rate (default 0.1; 1 for newton).")
@click.option("--steps", type=int, default=100, show_default=True,
              help="Most updates to take.")
@click.option("--tol", type=float, default=1e-10, show_default=True,
              help="Stop when the gradient norm is below this.")
@click.option("--momentum", type=float, default=None, metavar="MU",
              help="Momentum coefficient (momentum, nesterov: 0.9; rmsprop: 0).")
@click.option("--beta1", type=float, default=None, metavar="B", help="Adam's beta1 (0.9).")
@click.option("--beta2", type=float, default=None, metavar="B", help="Adam's beta2 (0.999).")
@click.option("--eps", type=float, default=None, metavar="E",
              help="Adagrad/RMSProp/Adam epsilon (1e-10 / 1e-8 / 1e-8).")
@click.option("--alpha", type=float, default=None, metavar="A",
              help="RMSProp's smoothing constant (0.99).")
@click.option("--vars", "variables", metavar="x,y",
              help="Variables and their order (default: every name, sorted).")
@click.option("--trajectory", is_flag=True, help="Include every iterate.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--fast", is_flag=True,
              help="Compile the whole loop with numba (needs: pip install 'symgd[fast]').")
@input_errors_exit_2
def descend(expression: str, start: str, method: str, lr: float | None, steps: int, tol: float,
            momentum: float | None, beta1: float | None, beta2: float | None, eps: float | None,
            alpha: float | None, variables: str | None, trajectory: bool, as_json: bool,
            fast: bool) -> None:
    """Run METHOD on EXPRESSION from --start and report where it ends.

    \b
    Examples:
      symgd descend "x0**2 + x1**2" --start -3,4 --lr 0.1
      symgd descend "x^2 + 2x*y" --start x=1,y=1 --steps 1000
      symgd descend "(1-x)^2 + 100(y-x^2)^2" --start -1.2,1 --method adam --lr 0.01 --json

    A run stops when the gradient norm falls below --tol (converged), after
    --steps updates, or at the first step where a value stops being finite
    or grows beyond 1e12 (diverged). The optimizers follow torch.optim's
    update rules and defaults.
    """
    from symgd.descend import descend as run_descend
    from symgd.parse import parse

    problem = parse(expression, parse_variable_list(variables))
    point = parse_point(start, list(problem.names))
    given = {"momentum": momentum, "beta1": beta1, "beta2": beta2, "eps": eps, "alpha": alpha}
    hyper: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    run = run_descend(problem, point, method=method.lower(), lr=lr, steps=steps, tol=tol,
                      backend="numba" if fast else "auto", **hyper)
    if as_json:
        echo_json(run.to_dict(trajectory=trajectory))
        return
    click.echo(format_run(run, trajectory))


def format_run(run: Trajectory, trajectory: bool = False) -> str:
    """Readable plain text for the terminal."""
    from symgd.optim import LABELS

    names = run.variables
    hyper = "".join(f", {k} = {v:g}" for k, v in run.hyperparameters.items())
    start = ", ".join(f"{n} = {v:.10g}" for n, v in zip(names, run.start, strict=True))
    final = ", ".join(f"{n} = {v:.10g}" for n, v in zip(names, run.final, strict=True))
    lines = [
        f"{LABELS[run.method]} ({run.method}), η = {run.lr:g}{hyper}",
        f"Start: {start}",
        f"Status: {run.status.value} after {run.steps} step{'s' if run.steps != 1 else ''}",
        f"  {run.message}",
        f"Final: {final}",
        f"  f = {run.fs[-1]:.10g}, |∇f| = {run.grad_norms[-1]:.4g}",
    ]
    if trajectory:
        lines += ["", "  k  " + "  ".join(f"{n:>16}" for n in names)
                  + f"  {'f':>16}  {'|∇f|':>10}"]
        for k, (x, f, g) in enumerate(zip(run.xs, run.fs, run.grad_norms, strict=True)):
            coords = "  ".join(f"{v:16.10g}" for v in x)
            lines.append(f"{k:3d}  {coords}  {f:16.10g}  {g:10.4g}")
    return "\n".join(lines)
