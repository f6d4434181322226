"""``symgd fit``: fit parameters to data by full-batch, mini-batch or stochastic descent.

JSON output (``--json``)::

    {"params": {"w": 2.968, "b": 1.960}, "loss": 0.2605, "epochs": 91, "batch_size": 200,
     "status": "converged", "least_squares": {"w": 2.968, "b": 1.960},
     "loss_per_epoch": [9.46, 6.18, ...], "expression": "(-b - w*x + y)**2", ...}

``epochs`` counts the epochs run, ``batch_size`` the rows per update (N for the full batch),
``loss_per_epoch`` the mean loss on all rows after each epoch, ``least_squares`` the direct
solution when the loss is a squared error linear in the parameters (else ``null``). A fit that
diverges is reported with ``"status": "diverged"`` and exit code 0; bad input exits with 2.
With ``--lang ko`` the page, the printed lines, the errors and ``message`` are in Korean; the
keys and the other values stay the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from symgd.base.errors import InputError
from symgd.base.files import check_output_in, output_folder, write_atomically
from symgd.base.i18n import N_, _
from symgd.cli.common import (
    OptimizerCommand,
    OutputPath,
    echo_json,
    follow_symlinks_option,
    hyperparameter_options,
    input_errors_exit_2,
    lang_option,
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
@lang_option
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
    lang: str | None = None,
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
      symgd fit --demo linear -o out/ --lang ko

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
        "lang": lang,
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
            click.echo(_("Wrote {path}").format(path=page), err=True)
        return
    click.echo(format_fit(result))
    if page is not None:
        click.echo(_("Wrote {path}").format(path=page))


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
            raise InputError(_("use either --data FILE or --demo NAME, not both"))
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
            _('give the per-example LOSS (for example "(y - (w*x + b))**2"), or use --demo linear')
        )
    if data_file is None:
        raise InputError(_("give the data with --data FILE.csv (or use --demo linear)"))
    if params_text is None:
        raise InputError(_("name the parameters to fit with --params (for example w,b)"))
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
        raise InputError(
            _("cannot create the folder {folder}: {error}").format(
                folder=out_dir, error=exc.strerror or exc
            )
        ) from None
    path = folder / "fit.html"
    try:
        write_atomically(
            path, render_fit_page(runs).encode("utf-8"), follow_symlinks=follow_symlinks
        )
    except OSError as exc:
        raise InputError(
            _("cannot write {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from None
    return path


#: what :func:`symgd.numeric.results.number_text` writes for a number that is not finite
NOT_FINITE = (N_("not a real number"), N_("overflowed"), N_("overflowed (negative)"))
#: the statuses as the printed lines name them (English: the JSON's values)
STATUSES = {
    "converged": N_("converged"),
    "max_steps": N_("max_steps"),
    "diverged": N_("diverged"),
    "domain": N_("domain"),
    "singular": N_("singular"),
}


def format_fit(result: FitResult) -> str:
    """Readable plain text for the terminal, in the result's language."""
    from symgd.base.i18n import language

    with language(result.lang):
        return "\n".join(_summary_lines(result) + _reference_lines(result) + _loss_lines(result))


def _num(value: float, digits: int = 10) -> str:
    """:func:`~symgd.numeric.results.number_text` in the language in effect."""
    from symgd.numeric.results import number_text

    text = number_text(value, digits)
    return _(text) if text in NOT_FINITE else text


def _summary_lines(result: FitResult) -> list[str]:
    from symgd.numeric.optimizers import OPTIMIZERS

    names = result.param_names
    hyper = "".join(f", {k} = {v:g}" for k, v in result.hyperparameters.items())
    label = result.label
    updates = f"{result.steps:,}"
    status = result.status.value
    return [
        _("Fit of {expression} over {rows} rows ({source})").format(
            expression=result.expression,
            rows=f"{result.rows:,}",
            source=result.data_source,
        ),
        _("{run}, {optimizer}, η = {lr}{hyper}, seed {seed}").format(
            run=f"{label[:1].upper()}{label[1:]}",
            optimizer=_(OPTIMIZERS[result.method].label),
            lr=f"{result.lr:g}",
            hyper=hyper,
            seed=result.seed,
        ),
        (
            _("Status: {status} after {epochs} epochs ({updates} updates)")
            if result.epochs != 1
            else _("Status: {status} after {epochs} epoch ({updates} updates)")
        ).format(status=_(STATUSES.get(status, status)), epochs=result.epochs, updates=updates),
        f"  {result.reason_text()}.",
        _("Parameters: {values}").format(
            values=", ".join(f"{n} = {_num(result.params[n])}" for n in names)
        ),
        _("Mean loss: {loss} (at the start: {start})").format(
            loss=_num(result.loss), start=_num(result.initial_loss, 6)
        ),
    ]


def _reference_lines(result: FitResult) -> list[str]:
    """The least-squares answer, or the reference optimum by Newton's method, if any."""
    from symgd.expr.problem import to_text

    names = result.param_names
    ls = result.least_squares
    if ls is not None:
        form = ls.form
        return [
            _(
                "Least squares (numpy.linalg.lstsq): {values}; loss {loss}; distance from the "
                "descent result {distance}"
            ).format(
                values=", ".join(f"{n} = {ls.solution[n]:.10g}" for n in names),
                loss=f"{ls.loss:.10g}",
                distance=_distance_text(result.distance_to_least_squares),
            ),
            "  "
            + _("gradient in matrix form: {gradient}, with X = [{design}], t = {target}").format(
                gradient=f"∇L = -({to_text(2 * form.factor)}/N) Xᵀ(t - Xθ)",
                design=", ".join(to_text(d) for d in form.design),
                target=to_text(form.target),
            ),
        ]
    if result.model is None or result.data is None:
        return []
    from symgd.numeric.fit_model import newton_optimum

    columns = result.data.select(result.model.columns)
    start = [result.params[n] for n in names]
    if not all(math.isfinite(v) for v in start):
        return []
    reference = newton_optimum(result.model, columns, start)
    if reference is None:
        return []
    return [
        _(
            "Reference optimum (no closed form; Newton's method on all rows, |∇L| = {norm}): "
            "{values}; loss {loss}"
        ).format(
            norm=f"{reference.grad_norm:.2g}",
            values=", ".join(f"{n} = {reference.solution[n]:.10g}" for n in names),
            loss=f"{reference.loss:.10g}",
        )
    ]


def _distance_text(distance: float | None) -> str:
    """The distance to the least-squares answer (``None``: it is not a finite number)."""
    return _("not a finite number") if distance is None else f"{distance:.3g}"


def _loss_lines(result: FitResult) -> list[str]:
    losses = list(enumerate(result.loss_per_epoch, start=1))
    if not losses:
        return []
    shown = losses if len(losses) <= 8 else [*losses[:5], None, *losses[-2:]]
    values = ", ".join("…" if item is None else f"{item[0]}: {_num(item[1], 6)}" for item in shown)
    return [_("Loss per epoch: {values}").format(values=values)]
