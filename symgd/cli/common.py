"""Pieces shared by the subcommands: input-error handling, option types, JSON output."""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from symgd.base.errors import ExpressionError, InputError, MissingDependencyError
from symgd.base.i18n import N_, _

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from symgd.expr.problem import Problem
    from symgd.numeric.optimizer_spec import Hyperparameter, OptimizerSpec


class BadInput(click.ClickException):
    """Bad input from the user: ``Error: ...`` on stderr, exit code 2, no traceback."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # the command's language is gone by the time click shows the error: keep its words now
        self.template = _("Error: {message}")

    def show(self, file: Any = None) -> None:
        """``Error: ...`` on stderr, in the language the command ran in."""
        click.echo(self.template.format(message=self.format_message()), file=file, err=True)


class ExpressionCommand(click.Command):
    """A command whose arguments may be expressions that begin with a minus sign.

    click reads any word that starts with ``-`` as options, so ``"-log(sigmoid(w))"`` would
    become ``-l -o g(sigmoid(w))``. Before click parses, :func:`separate_expressions` sorts the
    words: a known option (with its value) stays an option; any other word that starts with a
    single ``-`` and parses as an expression is an expression; the rest is left to click, which
    names the unknown option.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, separate_expressions(self, ctx, args))


def separate_expressions(command: click.Command, ctx: click.Context, args: list[str]) -> list[str]:
    """``args`` with options first, then ``--`` and the positional words in their order.

    Equivalent to what click would read, except that a word beginning with ``-`` that is not
    one of ``command``'s options but parses as an expression becomes a positional word.
    A word such as ``--outptu`` (two dashes and a letter) is always an option, so a mistyped
    option is reported as one; put ``--`` before an expression that starts that way.
    """
    takes_values = _option_arities(command, ctx)
    options: list[str] = []
    positional: list[str] = []
    words = iter(args)
    for word in words:
        if word == "--":
            positional.extend(words)
            break
        name = word.split("=", 1)[0] if word.startswith("--") else word
        if name in takes_values:
            options.append(word)
            if word == name:  # the values follow as separate words (an empty one too)
                values = list(itertools.islice(words, takes_values[name]))
                if len(values) < takes_values[name]:
                    raise click.BadOptionUsage(name, f"Option '{name}' requires a value.", ctx=ctx)
                options.extend(values)
            continue
        if word.startswith("-") and len(word) > 1 and not _is_long_option(word):
            problem = _syntax_problem(word)
            if problem is None:
                positional.append(word)
                continue
            if word[:2] not in takes_values:
                raise click.NoSuchOption(
                    word,
                    ctx=ctx,
                    message=f"{word!r} is neither an option nor an expression "
                    f"({problem.message}, column {problem.column})",
                )
        if word.startswith("-") and len(word) > 1:
            options.append(word)  # click reports it, or reads a cluster such as -oDIR
        else:
            positional.append(word)
    return options + (["--", *positional] if positional else [])


def _option_arities(command: click.Command, ctx: click.Context) -> dict[str, int]:
    """Every option string of ``command`` -> how many values follow it (0 for flags)."""
    arities: dict[str, int] = {}
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue
        count = 0 if param.is_flag or param.count else max(param.nargs, 1)
        for name in param.opts:
            arities[name] = count
        for name in param.secondary_opts:
            arities[name] = 0
    for name in ctx.help_option_names:
        arities.setdefault(name, 0)
    return arities


def _is_long_option(word: str) -> bool:
    return word.startswith("--") and len(word) > 2 and (word[2].isalpha() or word[2] == "_")


def _syntax_problem(word: str) -> ExpressionError | None:
    """Why ``word`` is not an expression's text, or ``None`` when it is one.

    Parsed by symgd's own parser, never run. Problems without a column (no variables, a
    number too large, ...) are about what the expression means, not whether it is one: the
    command reports those itself.
    """
    from symgd.expr.parser import parse

    try:
        parse(word, allow_parameters=True)
    except ExpressionError as exc:
        return exc if exc.column is not None else None
    except InputError:
        return None
    return None


class OutputPath(click.Path):
    """A path for an output; an empty one (which would mean the current folder) is refused."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("the path is empty; give a file or folder name.", param, ctx)
        return super().convert(value, param, ctx)


class FiniteFloatRange(click.FloatRange):
    """A float in a range that is also finite: ``nan`` is outside every range."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(_("{value} is not a finite number.").format(value=repr(value)), param, ctx)
        return number


def input_errors_exit_2(command: F) -> F:
    """Turn :class:`InputError` raised by a command into ``Error: ...`` and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ExpressionError as exc:
            pointer = exc.pointer()
            raise BadInput(str(exc) + (f"\n{pointer}" if pointer else "")) from None
        except InputError as exc:
            raise BadInput(str(exc)) from None
        except MissingDependencyError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def parse_with_vars(expression: str, variables: str | None) -> Problem:
    """Parse ``expression`` in the variables ``--vars`` names (``"x,y"``), if any.

    Every name given must appear in the expression (after SymPy's simplification).
    """
    from symgd.expr.parser import parse
    from symgd.expr.problem import CLI_MAX_VARIABLES, absent_variables

    names = None if variables is None else split_list(variables, "--vars")
    problem = parse(expression, names, max_variables=CLI_MAX_VARIABLES)
    problem_text = absent_variables(problem) if variables is not None else None
    if problem_text is not None:
        raise InputError(problem_text)
    return problem


def split_list(text: str, what: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; an empty item (``"a,,b"``, ``"a,"``) is an error."""
    items = [part.strip() for part in text.split(",")]
    if not all(items):
        raise InputError(
            _(
                "{what} has an empty item in {text}; separate the items with single commas, "
                "for example a,b"
            ).format(what=_(what), text=repr(text.strip()))
        )
    return items


#: what :func:`parse_point` may be reading, as its callers name it (translated where shown)
POINT_NAMES = (N_("the start point"), N_("the direction"))


def parse_point(text: str, variables: list[str], what: str = "the start point") -> list[float]:
    """Read ``"x=-3,y=4"`` or ``"-3,4"`` (values in the order of ``variables``); ``what`` names
    the point in messages."""
    what = _(what)
    if not text.strip():
        raise InputError(_("{what} is empty; write it as x=1,y=2 or 1,2").format(what=what))
    parts = split_list(text, what)
    named = [p for p in parts if "=" in p]
    if named and len(named) != len(parts):
        raise InputError(
            _("mix of named and positional values in {text}; use one form").format(text=repr(text))
        )
    values: dict[str, float] = {}
    if named:
        for part in parts:
            name, _equals, value = part.partition("=")
            name = name.strip()
            if name not in variables:
                known = ", ".join(variables)
                raise InputError(
                    _("{name} is not a variable of the function ({known})").format(
                        name=repr(name), known=known
                    )
                )
            if name in values:
                raise InputError(
                    _("{what} gives {name} twice ({text})").format(
                        what=what, name=name, text=repr(text.strip())
                    )
                )
            values[name] = _number(value, name)
        missing = [v for v in variables if v not in values]
        if missing:
            raise InputError(
                _("{what} gives no value for {names}").format(what=what, names=", ".join(missing))
            )
        return [values[v] for v in variables]
    if len(parts) != len(variables):
        raise InputError(
            _(
                "{what} has {values} value(s) but the function has {count} variable(s) "
                "({variables})"
            ).format(
                what=what, values=len(parts), count=len(variables), variables=", ".join(variables)
            )
        )
    return [_number(p, v) for p, v in zip(parts, variables, strict=True)]


#: a number as people write it on a command line: no ``1_000``, no ``inf``, ASCII digits only
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _number(text: str, name: str) -> float:
    import math

    plain = text.strip().replace("\u2212", "-")
    value = float(plain) if _PLAIN_NUMBER.fullmatch(plain) else math.nan
    if not math.isfinite(value):
        raise InputError(
            _(
                "the value for {name} must be a finite decimal number such as -3, 0.5 or 1e-3, "
                "got {text}"
            ).format(name=name, text=repr(text.strip()))
        )
    return value


def echo_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON (non-finite floats become ``null``)."""
    click.echo(json_text(payload))


def json_text(payload: Any) -> str:
    """``payload`` as indented JSON; JSON has no inf or NaN, so such floats become ``null``."""
    return json.dumps(_finite(payload), indent=2, ensure_ascii=False)


def _finite(value: Any) -> Any:
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def lang_option(command: F) -> F:
    """``--lang en|ko`` (default: ``$SYMGD_LANG``, else English). Read before the other options,
    so the command's messages, printed lines and pages are all written in that language while
    it runs; the command receives the language's code as ``lang``."""

    def use(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
        from symgd.base.i18n import language, language_from

        try:
            code = language_from(value)
        except InputError as error:
            raise click.BadParameter(str(error), ctx=ctx, param=param) from None
        ctx.with_resource(language(code))
        return code

    return click.option(
        "--lang",
        "lang",
        default=None,
        metavar="LANG",
        is_eager=True,
        callback=use,
        help="Language of the pages and the printed lines: en or ko. Default: $SYMGD_LANG, "
        "else en.",
    )(command)


def follow_symlinks_option(command: F) -> F:
    """``--follow-symlinks``: write through an output file or folder that is a symbolic link.

    Without it such a target is refused (exit 2), so a planted link cannot redirect a report
    onto another file.
    """
    option = click.option(
        "--follow-symlinks",
        "follow_symlinks",
        is_flag=True,
        help="Write through an output file or folder that is a symbolic link (refused "
        "without this option).",
    )
    return option(command)


# -- the optimizers, from their registry ------------------------------------------------------


class OptimizerCommand(ExpressionCommand):
    """An :class:`ExpressionCommand` whose help ends with its optimizers, one line each.

    ``optimizers``: the names offered by ``--method`` (see :func:`optimizer_options`).
    """

    def __init__(self, *args: Any, optimizers: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.optimizers = optimizers

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from symgd.numeric.optimizers import OPTIMIZERS

        with formatter.section("Optimizers (--method)"):
            formatter.write_dl([(name, OPTIMIZERS[name].description) for name in self.optimizers])
        super().format_epilog(ctx, formatter)


def offered_optimizers(*, minimizers_only: bool = False) -> tuple[str, ...]:
    """The optimizer names a command offers, in the registry's order."""
    from symgd.numeric.optimizers import OPTIMIZERS

    return tuple(name for name, spec in OPTIMIZERS.items() if spec.minimizes or not minimizers_only)


def method_option(names: tuple[str, ...]) -> Callable[[F], F]:
    """``--method``: one of ``names`` (any case), default ``gd``."""
    return click.option(
        "--method",
        default="gd",
        show_default=True,
        type=click.Choice(names, case_sensitive=False),
        help="The optimizer (see the list below).",
    )


def lr_help(names: tuple[str, ...], note: str = "") -> str:
    """Help for ``--lr``: the default learning rates of the optimizers ``names``."""
    from symgd.numeric.optimizers import OPTIMIZERS

    usual = OPTIMIZERS[names[0]].default_lr
    others: dict[float, list[str]] = {}
    for name in names:
        rate = OPTIMIZERS[name].default_lr
        if rate != usual:
            others.setdefault(rate, []).append(name)
    parts = [
        f"default {_short_number(usual)}",
        *(f"{_short_number(rate)} for {', '.join(group)}" for rate, group in others.items()),
    ]
    return f"Learning rate ({'; '.join([*parts, *([note] if note else [])])})."


def hyperparameter_options(names: tuple[str, ...]) -> Callable[[F], F]:
    """A ``--name`` option (default ``None``: the optimizer's own) for every common
    hyperparameter of the optimizers ``names``, with its defaults in the help."""
    from symgd.numeric.optimizers import OPTIMIZERS, shared_hyperparameters

    specs = [OPTIMIZERS[name] for name in names]
    options = [
        click.option(
            f"--{hyper.name.replace('_', '-')}",
            hyper.name,
            type=float,
            default=None,
            metavar=hyper.metavar,
            help=_hyperparameter_help(hyper, specs),
        )
        for hyper in shared_hyperparameters(specs).values()
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _hyperparameter_help(hyper: Hyperparameter, specs: list[OptimizerSpec]) -> str:
    users = [spec for spec in specs if hyper.name in spec.defaults]
    if len(users) == 1:
        default = _short_number(users[0].defaults[hyper.name])
        return f"{users[0].label}'s {hyper.meaning} ({default})."
    groups: dict[float, list[str]] = {}
    for spec in users:
        groups.setdefault(spec.defaults[hyper.name], []).append(spec.name)
    text = "; ".join(
        f"{', '.join(group)}: {_short_number(value)}" for value, group in groups.items()
    )
    return f"{hyper.meaning[:1].upper()}{hyper.meaning[1:]} ({text})."


def _short_number(value: float) -> str:
    """``1e-08`` → ``1e-8``; otherwise as ``:g`` writes it."""
    return re.sub(r"e([+-])0(\d)", r"e\1\2", f"{value:g}")
