"""The lesson's words for optimizers, read from the registry in :mod:`symgd.numeric.optimizers`."""

from __future__ import annotations

from collections.abc import Mapping

from symgd.base.i18n import N_, _

#: the registry's labels, marked for translation (:func:`label` translates them)
LABELS = (
    N_("Gradient descent"),
    N_("Gradient ascent"),
    N_("Momentum"),
    N_("Nesterov momentum"),
    N_("Adagrad"),
    N_("RMSProp"),
    N_("Adam"),
    N_("Newton's method"),
)


def label(method: str) -> str:
    """``Gradient descent`` for ``gd`` in the language in effect (the name itself when the
    registry has no such method)."""
    from symgd.numeric.optimizers import OPTIMIZERS

    spec = OPTIMIZERS.get(method)
    return _(spec.label) if spec is not None else method


def rule_latex(method: str) -> str:
    """The update rule of ``method`` in LaTeX."""
    from symgd.numeric.optimizers import OPTIMIZERS

    spec = OPTIMIZERS.get(method)
    return spec.rule_latex if spec is not None else method


def hyperparameters_text(method: str, values: Mapping[str, float]) -> str:
    """``μ = 0.9, ε = 10⁻⁸``: the run's hyperparameters that the registry marks as shared
    options, by their symbols (settings such as Adagrad's decay are left out)."""
    from symgd.numeric.optimizers import OPTIMIZERS
    from symgd.render.latex import number

    spec = OPTIMIZERS.get(method)
    shown = {h.name: h.symbol for h in spec.hyperparameters if h.common} if spec else {}
    return ", ".join(f"{shown[k]} = {number(v)}" for k, v in values.items() if k in shown)


def family(method: str) -> str:
    """The registry's family of ``method``: plain, momentum, adaptive or second-order."""
    from symgd.numeric.optimizers import OPTIMIZERS

    spec = OPTIMIZERS.get(method)
    return spec.family if spec is not None else "plain"


def first_step_is_sign(method: str) -> bool:
    """True when the first step moves each coordinate by ±η whatever the gradient (Adam)."""
    from symgd.numeric.optimizers import OPTIMIZERS

    spec = OPTIMIZERS.get(method)
    return spec is not None and spec.first_step_is_sign


def fixed_rate(method: str) -> float | None:
    """The learning rate a second-order method always takes in the lesson (Newton: 1)."""
    from symgd.numeric.optimizers import OPTIMIZERS

    spec = OPTIMIZERS.get(method)
    return spec.default_lr if spec is not None and spec.needs_hessian else None
