"""``symgd fit``: fit parameters to data by full-batch, mini-batch or stochastic descent.

JSON output (``--json``)::

    {"params": {"w": 2.968, "b": 1.960}, "loss": 0.2605, "epochs": 91, "batch_size": 200,
     "status": "converged", "least_squares": {"w": 2.968, "b": 1.960},
     "loss_per_epoch": [9.46, 6.18, ...], "expression": "(-b - w*x + y)**2", ...}

``epochs`` counts the epochs run, ``batch_size`` the rows per update (N for the full batch),
``loss_per_epoch`` the mean loss on all rows after each epoch, ``least_squares`` the direct
solution when the loss is a squared error linear in the parameters (else ``null``). A fit that
diverges is reported with ``"status": "diverged"`` and exit code 0; bad input exits with 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from symgd.base.errors import InputError
from symgd.base.files import check_output_in, output_folder, write_atomically
from symgd.cli.common import (
    OptimizerCommand,
    OutputPath,
    echo_json,
    follow_symlinks_option,
    hyperparameter_options,
    input_errors_exit_2,
    lr_help,
    method_option,
    offered_optimizers,
    parse_point,
)

if TYPE_CHECKING:
    from symgd.expr.problem import Problem
    from symgd.numeric.data import Dataset
    from symgd.numeric.fitting import FitResult

#: the optimizers --method offers: those that minimise (not ascent)
METHOD_NAMES = offered_optimizers(minimizers_only=True)
DEMO_NAMES = ("linear", "logistic")


@click.command(cls=OptimizerCommand, optimizers=METHOD_NAMES)
@click.argument("loss", required=False)
@click.option(
    "--data",
    "data_file",
    metavar="FILE.csv",
    help="CSV with a header line; the loss's data names are its columns "
    "(a regular file of at most 256 MiB).",
)
@click.option("--params", "params_text", metavar="w,b", help="The parameters to fit.")
@click.option(
    "--demo",
    type=click.Choice(DEMO_NAMES),
    help="Use a built-in dataset (no file needed); LOSS and --params default to it.",
)
@click.option(
    "--batch-size",
    default="full",
    show_default=True,
    metavar="1|B|full",
    help="Rows per update: 1 is SGD, B a mini-batch, full every row.",
)
@click.option(
    "--epochs",
    type=int,
    default=None,
    metavar="E",
    help="Passes over the data (default 100; the demos pick their own).",
)
@click.option(
    "--lr",
    type=float,
    default=None,
    metavar="ETA",
    help=lr_help(METHOD_NAMES, "the demos pick one for gd"),
)
@method_option(METHOD_NAMES)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the shuffling: the same seed gives the same run.",
)
@click.option("--start", metavar="w=0,b=0", help="Start values (default all 0).")
@click.option(
    "--tol",
    type=float,
    default=1e-8,
    show_default=True,
    help="Stop when |∇L| on all rows is below this at the end of an epoch.",
)
@hyperparameter_options(METHOD_NAMES)
@click.option(
    "-o",
    "--output",
    "out_dir",
    metavar="DIR",
    type=OutputPath(file_okay=False),
    help="Write DIR/fit.html: full batch, mini-batch and SGD compared.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@follow_symlinks_option
@input_errors_exit_2
def fit(
    loss: str | None,
    data_file: str | None,
    params_text: str | None,
    demo: str | None,
    batch_size: str,
    epochs: int | None,
    lr: float | None,
    method: str,
    seed: int,
    start: str | None,
    tol: float,
    out_dir: str | None,
    as_json: bool,
    follow_symlinks: bool = False,
    **given: float | None,
) -> None:
    """Fit the parameters of a per-example LOSS to the rows of a CSV file.

    \b
    Examples:
      symgd fit "(y - (w*x + b))**2" --data points.csv --params w,b
      symgd fit "(y - (w*x + b))**2" --data points.csv --params w,b --batch-size 32 --epochs 20
      symgd fit --demo linear --batch-size 1 --json
      symgd fit --demo logistic -o out/

    The objective is the mean of LOSS over the rows; names in LOSS that are
    not parameters are read from the columns of the same name. Each epoch
    shuffles the rows (reproducibly, from --seed) and makes one update per
    batch. For a squared error that is linear in the parameters, the
    least-squares answer is also solved directly and shown beside the result.
    """
    from symgd.numeric.fitting import DEFAULT_EPOCHS, loss_problem
    from symgd.numeric.fitting import fit as run_fit

    choice = _inputs(loss, data_file, params_text, demo, lr, epochs, method)
    epochs = DEFAULT_EPOCHS if choice.epochs is None else choice.epochs
    problem = loss_problem(choice.loss, choice.params_text)
    start_values = parse_point(start, list(problem.names)) if start is not None else None
    hyper: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    options: dict[str, Any] = {
        "epochs": epochs,
        "lr": choice.lr,
        "method": method.lower(),
        "seed": seed,
        "start": start_values,
        "tol": tol,
        **hyper,
    }
    source = choice.source
    result: FitResult | None = None
    page: Path | None = None
    if out_dir is not None:
        source, result, page = _compare_and_write(
            problem, source, batch_size, options, out_dir, follow_symlinks=follow_symlinks
        )
    if result is None:
        result = run_fit(problem, source, problem.names, batch_size=batch_size, **options)
    if as_json:
        echo_json(result.to_dict())
        if page is not None:
            click.echo(f"Wrote {page}", err=True)
        return
    click.echo(format_fit(result))
    if page is not None:
        click.echo(f"Wrote {page}")


@dataclass(frozen=True)
class FitInputs:
    """The loss, parameters and data of a fit, with a demo's defaults filled in."""

    source: Any  # a CSV path, or a demo's dataset
    loss: str
    params_text: str
    lr: float | None
    epochs: int | None


def _inputs(
    loss: str | None,
    data_file: str | None,
    params_text: str | None,
    demo: str | None,
    lr: float | None,
    epochs: int | None,
    method: str,
) -> FitInputs:
    """What to fit: a demo (its loss, parameters, learning rate for gd and epochs, unless
    given) or a loss, ``--data`` and ``--params`` (all three needed)."""
    if demo is not None:
        from symgd.numeric.data import demo as load_demo

        if data_file is not None:
            raise InputError("use either --data FILE or --demo NAME, not both")
        example = load_demo(demo)
        return FitInputs(
            source=example.data,
            loss=loss if loss is not None else example.loss,
            params_text=params_text if params_text is not None else ",".join(example.params),
            lr=example.lr if lr is None and method.lower() == "gd" else lr,
            epochs=example.epochs if epochs is None else epochs,
        )
    if loss is None:
        raise InputError(
            'give the per-example LOSS (for example "(y - (w*x + b))**2"), or use --demo linear'
        )
    if data_file is None:
        raise InputError("give the data with --data FILE.csv (or use --demo linear)")
    if params_text is None:
        raise InputError("name the parameters to fit with --params (for example w,b)")
    return FitInputs(data_file, loss, params_text, lr, epochs)


def _compare_and_write(
    problem: Problem,
    source: Any,
    batch_size: str,
    options: dict[str, Any],
    out_dir: str,
    *,
    follow_symlinks: bool,
) -> tuple[Dataset, FitResult | None, Path]:
    """Run full batch, mini-batch and SGD and write the page comparing them into ``out_dir``.

    Returns the loaded dataset, the run that matches ``--batch-size`` (``None`` when none
    does, to be run on its own) and the page's path."""
    from symgd.numeric.fitting import batch_rows, compare_batches, load_data

    check_output_in(out_dir, "fit.html", follow_symlinks=follow_symlinks)  # before the work
    dataset = load_data(source, problem)
    size = batch_rows(batch_size, dataset.n_rows)
    mini = size if 1 < size < dataset.n_rows else 16
    runs = compare_batches(problem, dataset, problem.names, mini_batch=mini, **options)
    epochs = options["epochs"]
    result = next((r for r in runs if r.batch_size == size and r.max_epochs == epochs), None)
    page = write_page(runs, out_dir, follow_symlinks=follow_symlinks)
    return dataset, result, page


def write_page(runs: Any, out_dir: str, *, follow_symlinks: bool = False) -> Path:
    """Render the comparison page into ``out_dir/fit.html`` (through a temporary file that is
    renamed over it, see :mod:`symgd.base.files`)."""
    from symgd.render.fit_page import render_fit_page

    try:
        folder = output_folder(out_dir, follow_symlinks=follow_symlinks)
    except OSError as exc:
        raise InputError(f"cannot create the folder {out_dir}: {exc.strerror or exc}") from None
    path = folder / "fit.html"
    try:
        write_atomically(
            path, render_fit_page(runs).encode("utf-8"), follow_symlinks=follow_symlinks
        )
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def format_fit(result: FitResult) -> str:
    """Readable plain text for the terminal."""
    from symgd.expr.problem import to_text
    from symgd.numeric.optimizers import OPTIMIZERS
    from symgd.numeric.results import number_text

    names = result.param_names
    hyper = "".join(f", {k} = {v:g}" for k, v in result.hyperparameters.items())
    plural = "s" if result.epochs != 1 else ""
    lines = [
        f"Fit of {result.expression} over {result.rows:,} rows ({result.data_source})",
        f"{result.label[:1].upper()}{result.label[1:]}, "
        f"{OPTIMIZERS[result.method].label}, η = {result.lr:g}{hyper}, seed {result.seed}",
        f"Status: {result.status.value} after {result.epochs} epoch{plural} "
        f"({result.steps:,} updates)",
        f"  {result.reason}.",
        "Parameters: " + ", ".join(f"{n} = {number_text(result.params[n])}" for n in names),
        f"Mean loss: {number_text(result.loss)} "
        f"(at the start: {number_text(result.initial_loss, 6)})",
    ]
    ls = result.least_squares
    if ls is not None:
        form = ls.form
        distance = result.distance_to_least_squares
        lines += [
            "Least squares (numpy.linalg.lstsq): "
            + ", ".join(f"{n} = {ls.solution[n]:.10g}" for n in names)
            + f"; loss {ls.loss:.10g}; distance from the descent result {distance:.3g}",
            f"  gradient in matrix form: ∇L = -({to_text(2 * form.factor)}/N) Xᵀ(t - Xθ), "
            f"with X = [{', '.join(to_text(d) for d in form.design)}], t = "
            f"{to_text(form.target)}",
        ]
    elif result.model is not None and result.data is not None:
        from symgd.numeric.fit_model import newton_optimum

        columns = result.data.select(result.model.columns)
        start = [result.params[n] for n in names]
        reference = (
            newton_optimum(result.model, columns, start)
            if all(math.isfinite(v) for v in start)
            else None
        )
        if reference is not None:
            lines.append(
                "Reference optimum (no closed form; Newton's method on all rows, "
                f"|∇L| = {reference.grad_norm:.2g}): "
                + ", ".join(f"{n} = {reference.solution[n]:.10g}" for n in names)
                + f"; loss {reference.loss:.10g}"
            )
    losses = list(enumerate(result.loss_per_epoch, start=1))
    if losses:
        shown = losses if len(losses) <= 8 else [*losses[:5], None, *losses[-2:]]
        lines.append(
            "Loss per epoch: "
            + ", ".join(
                "…" if item is None else f"{item[0]}: {number_text(item[1], 6)}" for item in shown
            )
        )
    return "\n".join(lines)
