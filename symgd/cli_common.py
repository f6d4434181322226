"""Pieces shared by the subcommands: input-error handling, option types, JSON output."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from symgd.errors import ExpressionError, InputError, MissingDependencyError

F = TypeVar("F", bound=Callable[..., Any])


class BadInput(click.ClickException):
    """Bad input from the user: ``Error: ...`` on stderr, exit code 2, no traceback."""

    exit_code = 2


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


def parse_variable_list(text: str | None) -> list[str] | None:
    """``"x,y"`` -> ``["x", "y"]``; ``None`` stays ``None``."""
    if text is None:
        return None
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise InputError(f"--vars must be a comma-separated list of names, got {text!r}")
    return names


def parse_point(text: str, variables: list[str]) -> list[float]:
    """Read ``"x=-3,y=4"`` or ``"-3,4"`` (values in the order of ``variables``)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise InputError("the start point is empty; write it as x=1,y=2 or 1,2")
    named = [p for p in parts if "=" in p]
    if named and len(named) != len(parts):
        raise InputError(f"mix of named and positional values in {text!r}; use one form")
    values: dict[str, float] = {}
    if named:
        for part in parts:
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in variables:
                known = ", ".join(variables)
                raise InputError(f"{name!r} is not a variable of the function ({known})")
            values[name] = _number(value, name)
        missing = [v for v in variables if v not in values]
        if missing:
            raise InputError(f"the start point gives no value for {', '.join(missing)}")
        return [values[v] for v in variables]
    if len(parts) != len(variables):
        raise InputError(
            f"the start point has {len(parts)} value(s) but the function has "
            f"{len(variables)} variable(s) ({', '.join(variables)})"
        )
    return [_number(p, v) for p, v in zip(parts, variables, strict=True)]


def _number(text: str, name: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise InputError(f"the value for {name} is not a number: {text.strip()!r}") from None
    if not math.isfinite(value):
        raise InputError(f"the value for {name} must be finite, got {text.strip()!r}")
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
