"""The types an optimizer is made of: its :class:`OptimizerSpec`, update rules and state.

The registry itself, with one spec per optimizer, is :data:`symgd.numeric.optimizers.OPTIMIZERS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from symgd.base.errors import InputError
from symgd.base.i18n import N_, _

if TYPE_CHECKING:
    import numpy as np

#: a Hessian whose condition number exceeds this counts as singular for Newton's method
SINGULAR_CONDITION = 1e15


class Ops(NamedTuple):
    """The few operations a rule needs besides arithmetic.

    ``let`` names an intermediate result: the identity on numpy arrays, a fresh assignment
    when the rule is turned into code, so the generated code rounds exactly where the rule does.
    """

    sqrt: Callable[[Any], Any]
    let: Callable[[Any], Any]


#: Steps are written ``let(-lr) * g``: x + (-lr) g is torch's ``param.add_(g, alpha=-lr)``,
#: and naming -lr once spares the generated code a negation per coordinate.


#: apply(g, buffers, t, constants, values, ops) -> (step, new buffers)
ApplyRule = Callable[
    [Any, tuple[Any, ...], Any, Mapping[str, Any], Mapping[str, float], Ops],
    tuple[Any, tuple[Any, ...]],
]


@dataclass(frozen=True)
class ElementwiseRule:
    """An update that acts on each coordinate separately.

    ``constants(lr, hyper)`` gives the scalars the rule reads (``1 - beta1`` and the like are
    computed there once, in double precision, as torch does); ``apply`` receives them either
    as numbers or as symbols, plus ``values`` (always numbers) for choices of formula.
    """

    buffers: tuple[str, ...]
    initial: Callable[[Mapping[str, float]], tuple[float, ...]]
    constants: Callable[[float, Mapping[str, float]], dict[str, float]]
    apply: ApplyRule
    uses_step: bool = False
    structure: Callable[[Mapping[str, float]], tuple[Any, ...]] = lambda values: ()
    #: for a rule whose step is a constant times g (plain descent and ascent): that constant,
    #: so the compiler may fold it into the gradient's coefficients
    gradient_scale: Callable[[Mapping[str, Any]], Any] | None = None


class OptState(NamedTuple):
    """Optimizer state: updates taken so far, per-coordinate buffers, Newton's singular rows."""

    step: int
    buffers: tuple[np.ndarray, ...] = ()
    singular: np.ndarray | None = None


#: update(grad, state, x=None, hessian=None) -> (step, new state)
UpdateFunction = Callable[..., tuple[Any, OptState]]


@dataclass(frozen=True)
class HessianRule:
    """An update that reads the Hessian (Newton's method): ``make(lr)`` gives ``update``."""

    make: Callable[[float], UpdateFunction]


# -- the spec ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """The values a hyperparameter allows: a test, and how an error message words it."""

    words: str
    test: Callable[[float], bool]


AT_LEAST_ZERO = Range(N_("at least 0"), lambda value: value >= 0)
FROM_ZERO_BELOW_ONE = Range(N_("in [0, 1)"), lambda value: 0 <= value < 1)


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of an optimizer, with its default and how it is shown.

    ``symbol``: how the lesson writes it (``μ``, ``β₁``; the name itself when it has none).
    ``meaning``: the words of the command-line help (``momentum coefficient``).
    ``common``: offered as a ``--name`` option and listed beside η in the lesson's run table;
    ``False`` for rarely changed torch knobs, which the Python API still takes.
    """

    name: str
    default: float
    symbol: str
    meaning: str
    allowed: Range = AT_LEAST_ZERO
    metavar: str = "X"
    common: bool = True


@dataclass(frozen=True)
class OptimizerSpec:
    """Everything about one optimizer: the single source of truth the registry holds.

    ``rule`` is what runs (and what :mod:`symgd.numeric.codegen` compiles for elementwise
    rules); ``rule_latex`` is the full rule as the lesson typesets it, ``short_rule`` a one-line
    formula. ``minimizes`` is ``False`` for ascent (``symgd fit`` offers only minimizers).
    ``check(values)`` gives an error message for a combination of values the ranges allow but
    the rule does not (``""`` when fine); ``hints`` pairs a hyperparameter this optimizer does
    not take with a hint for the error message. ``family`` groups optimizers the lesson explains
    together: ``"plain"``, ``"momentum"`` (a velocity carried between steps), ``"adaptive"``
    (per-coordinate step sizes) or ``"second-order"`` (the Hessian). ``first_step_is_sign``: the
    first step moves each coordinate by ±η whatever the gradient's size (Adam, Adagrad).
    """

    name: str
    label: str
    description: str
    hyperparameters: tuple[Hyperparameter, ...]
    rule: ElementwiseRule | HessianRule
    rule_latex: str
    short_rule: str
    colour: str
    default_lr: float = 0.1
    aliases: tuple[str, ...] = ()
    minimizes: bool = True
    check: Callable[[Mapping[str, float]], str] | None = None
    hints: tuple[tuple[str, str], ...] = field(default=())
    family: str = "plain"
    first_step_is_sign: bool = False

    @property
    def defaults(self) -> dict[str, float]:
        """Hyperparameter name → default, in the spec's order."""
        return {h.name: h.default for h in self.hyperparameters}

    @property
    def needs_hessian(self) -> bool:
        return isinstance(self.rule, HessianRule)

    def hyperparameter(self, name: str) -> Hyperparameter:
        """The hyperparameter called ``name`` (``KeyError`` if this optimizer has none)."""
        for hyper in self.hyperparameters:
            if hyper.name == name:
                return hyper
        raise KeyError(name)


class Optimizer(NamedTuple):
    """A pure ``(init, update)`` pair with its name, learning rate and update rule in LaTeX."""

    name: str
    lr: float
    hyperparameters: dict[str, float]
    init: Callable[[np.ndarray], Any]
    update: Callable[..., tuple[np.ndarray, Any]]
    rule_latex: str
    label: str
    rule: ElementwiseRule | None = None
    needs_hessian: bool = False
    spec: OptimizerSpec | None = None

    def constants(self) -> dict[str, float]:
        """The scalars the elementwise rule reads (empty for Newton)."""
        if self.rule is None:
            return {}
        return self.rule.constants(self.lr, self.hyperparameters)


def real_value(name: str, value: Any) -> float:
    """``value`` as a finite float, or an :class:`InputError` naming ``name``."""
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(
            _("{name} must be a number, got {value}").format(name=name, value=repr(value))
        )
    try:
        number = float(value)
    except OverflowError:
        raise InputError(
            _("{name} is too large for floating point (beyond about 1.8e308)").format(name=name)
        ) from None
    if not math.isfinite(number):
        raise InputError(_("{name} must be finite, got {value}").format(name=name, value=number))
    return number


def checked_hyperparameters(spec: OptimizerSpec, hyper: Mapping[str, Any]) -> dict[str, float]:
    """``spec``'s defaults updated by ``hyper``, each value checked against its range."""
    defaults = spec.defaults
    unknown = [k for k in hyper if k not in defaults]
    if unknown:
        takes = ", ".join(defaults) if defaults else _("no hyperparameters")
        hint = next((f" ({_(text)})" for key, text in spec.hints if key in unknown), "")
        message = _("{method} takes {takes}; got {unknown}").format(
            method=spec.name, takes=takes, unknown=", ".join(unknown)
        )
        raise InputError(message + hint)
    values = dict(defaults)
    for key, raw in hyper.items():
        value = real_value(key, raw)
        allowed = spec.hyperparameter(key).allowed
        if not allowed.test(value):
            raise InputError(
                _("{name} must be {allowed}, got {value}").format(
                    name=key, allowed=_(allowed.words), value=f"{value:g}"
                )
            )
        values[key] = value
    problem = spec.check(values) if spec.check is not None else ""
    if problem:
        raise InputError(problem)
    return values
