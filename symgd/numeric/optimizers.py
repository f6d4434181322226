"""Optimizers: one :class:`OptimizerSpec` each, in one registry, :data:`OPTIMIZERS`.

A spec holds everything symgd says or does about an optimizer: its name and aliases, label,
one-line description, hyperparameters (defaults, allowed ranges, display symbols), update
rule, the rule in LaTeX and as a short formula, and the colour of its path in figures. The
command line (method choices, option help), the figures, the lesson and the handout read the
registry; nothing else lists optimizers.

``make_optimizer(method, lr, **hyper)`` returns an :class:`Optimizer`; ``init(x0)`` builds the
state for a start of shape ``(n,)`` or a batch ``(N, n)``, and
``update(grad, state, x, hessian=None) -> (step, state)`` gives the move, so ``x_new = x + step``.
Nothing is mutated: running the same optimizer twice gives the same numbers. This module
imports numpy only when an optimizer is made, so the command line can read the registry
without it.

Every rule follows torch.optim (single-tensor path) operation by operation, so a run can be
checked against PyTorch step by step:

========  =====================================================  ==============================
method    rule (g = ∇f(x_k), t = step number from 1)             defaults
========  =====================================================  ==============================
gd        x ← x - η g                                            (torch SGD)
ascent    x ← x + η g                                            (torch SGD, maximize=True)
momentum  b ← μ b + g  (b starts at 0, so b₁ = g₁);  x ← x - η b   momentum 0.9, dampening 0
nesterov  b ← μ b + g;  x ← x - η (g + μ b)                       momentum 0.9
adagrad   s ← s + g²;  x ← x - η_t g / (√s + ε),                  eps 1e-10, lr_decay 0,
          η_t = η / (1 + (t-1) lr_decay)                          initial_accumulator_value 0
rmsprop   v ← α v + (1-α) g²;  x ← x - η g / (√v + ε)             alpha 0.99, eps 1e-8,
          (momentum μ > 0: b ← μ b + g / (√v + ε), x ← x - η b)   momentum 0, not centered
adam      m ← lerp(m, g, 1-β₁);  v ← β₂ v + (1-β₂) g²;            beta1 0.9, beta2 0.999,
          x ← x - η/(1-β₁ᵗ) · m / (√v / √(1-β₂ᵗ) + ε)              eps 1e-8
newton    x ← x - η H⁻¹ g   (status "singular" when H is)          lr 1
========  =====================================================  ==============================

The elementwise optimizers are written once, as an :class:`ElementwiseRule` whose ``apply``
works on numpy arrays and on SymPy symbols alike; :mod:`symgd.numeric.codegen` turns the symbolic
version into a fused scalar step, so the fast path and the numpy path share one formula.

Adding an optimizer
-------------------
1. In this file: write its ``apply`` function (``_name(g, b, t, c, v, ops)``, using only
   arithmetic, ``ops.sqrt`` and ``ops.let``), its constants (``_plain_constants(...)`` or a
   function like ``_adam_constants``), and one :class:`OptimizerSpec` in :data:`_SPECS`, in the
   place where it should appear in menus. Reuse the shared hyperparameters (``_MOMENTUM``,
   ``_EPS``, ...) with ``replace(..., default=...)``, or declare a new :class:`Hyperparameter`;
   with ``common=True`` it becomes a ``--name`` option of ``symgd descend`` and ``symgd fit``.
2. In tests/test_optim.py: add its written formula to ``written`` and cases to ``CASES`` (and to
   ``TORCH_CASES`` if torch.optim has it).

Nothing else changes: the ``--method`` choices and the help of ``symgd descend`` and ``symgd fit``
(:mod:`symgd.cli.common`), the colours and labels of the figures, the validation of the
hyperparameters (:func:`make_optimizer`), the compiled fast paths (:mod:`symgd.numeric.codegen`,
which reads ``rule``) and the lesson's label, rule and symbols all read the spec. Check with
``grep -rn '"rmsprop"' symgd templates``: only this file should list optimizer names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from symgd.base.errors import InputError
from symgd.base.i18n import N_, _

if TYPE_CHECKING:
    import numpy as np

from symgd.numeric.optimizer_spec import (
    FROM_ZERO_BELOW_ONE,
    SINGULAR_CONDITION,
    ElementwiseRule,
    HessianRule,
    Hyperparameter,
    Ops,
    Optimizer,
    OptimizerSpec,
    OptState,
    UpdateFunction,
    checked_hyperparameters,
    real_value,
)

# -- the rules --------------------------------------------------------------------------------


def _gd(
    g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float], ops: Ops
) -> tuple[Any, tuple[Any, ...]]:
    return ops.let(-c["lr"]) * g, b


def _ascent(
    g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float], ops: Ops
) -> tuple[Any, tuple[Any, ...]]:
    # torch maximize=True: the gradient is negated, then x + (-lr) * (-g)
    return c["lr"] * g, b


def _momentum(
    g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float], ops: Ops
) -> tuple[Any, tuple[Any, ...]]:
    buf = ops.let(b[0] * c["momentum"] + g)
    return ops.let(-c["lr"]) * buf, (buf,)


def _nesterov(
    g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float], ops: Ops
) -> tuple[Any, tuple[Any, ...]]:
    buf = ops.let(b[0] * c["momentum"] + g)
    look = ops.let(g + c["momentum"] * buf)
    return ops.let(-c["lr"]) * look, (buf,)


def _adagrad(
    g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float], ops: Ops
) -> tuple[Any, tuple[Any, ...]]:
    total = ops.let(b[0] + g * g)
    std = ops.let(ops.sqrt(total) + c["eps"])
    ratio = ops.let(g / std)
    # torch: lr / (1 + (step - 1) * lr_decay); with lr_decay 0 that is lr itself
    clr = ops.let(c["lr"] / ((t - 1) * c["lr_decay"] + 1)) if v["lr_decay"] != 0 else c["lr"]
    return ops.let(-clr) * ratio, (total,)


def _rmsprop(
    g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float], ops: Ops
) -> tuple[Any, tuple[Any, ...]]:
    scaled = ops.let(c["one_minus_alpha"] * g)
    avg_sq = ops.let(b[0] * c["alpha"] + scaled * g)
    avg = ops.let(ops.sqrt(avg_sq) + c["eps"])
    if v["momentum"] > 0:
        buf = ops.let(b[1] * c["momentum"] + g / avg)
        return ops.let(-c["lr"]) * buf, (avg_sq, buf)
    ratio = ops.let(g / avg)
    return ops.let(-c["lr"]) * ratio, (avg_sq, b[1])


def _adam(
    g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float], ops: Ops
) -> tuple[Any, tuple[Any, ...]]:
    m, s = b
    diff = ops.let(g - m)
    # torch's lerp: self + w (end - self) for |w| < 0.5, else end - (end - self)(1 - w)
    if abs(v["one_minus_beta1"]) < 0.5:
        m = ops.let(m + c["one_minus_beta1"] * diff)
    else:
        m = ops.let(g - diff * c["beta1_complement"])
    scaled = ops.let(c["one_minus_beta2"] * g)
    s = ops.let(s * c["beta2"] + scaled * g)
    bias1 = ops.let(1 - c["beta1"] ** t)
    bias2 = ops.let(1 - c["beta2"] ** t)
    step_size = ops.let(c["lr"] / bias1)
    bias2_sqrt = ops.let(bias2**0.5)
    denom = ops.let(ops.let(ops.sqrt(s) / bias2_sqrt) + c["eps"])
    ratio = ops.let(m / denom)
    return ops.let(-step_size) * ratio, (m, s)


def _zeros(count: int) -> Callable[[Mapping[str, float]], tuple[float, ...]]:
    return lambda hyper: (0.0,) * count


def _plain_constants(*names: str) -> Callable[[float, Mapping[str, float]], dict[str, float]]:
    def constants(lr: float, hyper: Mapping[str, float]) -> dict[str, float]:
        return {"lr": lr, **{name: float(hyper[name]) for name in names}}

    return constants


def _rmsprop_constants(lr: float, hyper: Mapping[str, float]) -> dict[str, float]:
    alpha = float(hyper["alpha"])
    return {
        "lr": lr,
        "alpha": alpha,
        "one_minus_alpha": 1 - alpha,
        "eps": float(hyper["eps"]),
        "momentum": float(hyper["momentum"]),
    }


def _adam_constants(lr: float, hyper: Mapping[str, float]) -> dict[str, float]:
    beta1, beta2 = float(hyper["beta1"]), float(hyper["beta2"])
    weight = 1 - beta1
    return {
        "lr": lr,
        "beta1": beta1,
        "beta2": beta2,
        "one_minus_beta1": weight,
        "beta1_complement": 1 - weight,
        "one_minus_beta2": 1 - beta2,
        "eps": float(hyper["eps"]),
    }


def _nesterov_check(values: Mapping[str, float]) -> str:
    return "" if values["momentum"] > 0 else _("Nesterov momentum needs momentum > 0")


# -- Newton -----------------------------------------------------------------------------------


def _newton_init(x0: np.ndarray) -> OptState:
    return OptState(0)


def _newton_update(lr: float) -> UpdateFunction:
    import numpy as np

    def update(
        grad: np.ndarray,
        state: OptState,
        x: np.ndarray | None = None,
        hessian: np.ndarray | None = None,
    ) -> tuple[np.ndarray, OptState]:
        if hessian is None:
            raise ValueError("Newton's method needs hessian=")
        g = np.asarray(grad, dtype=float)
        h = np.asarray(hessian, dtype=float)
        single = g.ndim == 1
        g2, h3 = (g[None], h[None]) if single else (g, h)
        singular = newton_singular(h3)
        safe = np.where(singular[:, None, None], np.eye(g2.shape[-1]), h3)
        with np.errstate(all="ignore"):
            direction = np.linalg.solve(safe, g2[..., None])[..., 0]
            step = -lr * direction
        step[singular] = np.nan
        return (step[0] if single else step), OptState(state.step + 1, (), singular)

    return update


def newton_singular(hessians: np.ndarray) -> np.ndarray:
    """For each Hessian in ``(N, n, n)``: non-finite or condition number above 1e15."""
    import numpy as np

    finite = np.isfinite(hessians).all(axis=(-2, -1))
    safe = np.where(finite[:, None, None], hessians, 0.0)
    with np.errstate(all="ignore"):
        singular_values = np.linalg.svd(safe, compute_uv=False)
        largest = singular_values[:, 0]
        smallest = singular_values[:, -1]
        bad = ~(smallest * SINGULAR_CONDITION > largest)
    return np.asarray(~finite | bad)


# -- the registry -----------------------------------------------------------------------------

_MOMENTUM = Hyperparameter("momentum", 0.9, "μ", "momentum coefficient", metavar="MU")
_EPS = Hyperparameter("eps", 1e-8, "ε", "epsilon", metavar="E")
_G = r"\nabla f(x_k)"

_SPECS: tuple[OptimizerSpec, ...] = (
    OptimizerSpec(
        "gd",
        N_("Gradient descent"),
        "Steps against the gradient, η times its size.",
        (),
        ElementwiseRule((), _zeros(0), _plain_constants(), _gd, gradient_scale=lambda c: -c["lr"]),
        rf"x_{{k+1}} = x_k - \eta\,{_G}",
        r"x \leftarrow x - \eta\,\nabla f",
        "#0072B2",
        aliases=("sgd", "descent", "gradient_descent"),
        hints=(("momentum", N_("use --method momentum or nesterov")),),
    ),
    OptimizerSpec(
        "ascent",
        N_("Gradient ascent"),
        "Steps along the gradient, to climb towards a maximum.",
        (),
        ElementwiseRule(
            (), _zeros(0), _plain_constants(), _ascent, gradient_scale=lambda c: c["lr"]
        ),
        rf"x_{{k+1}} = x_k + \eta\,{_G}",
        r"x \leftarrow x + \eta\,\nabla f",
        "#F0E442",
        minimizes=False,
        hints=(("momentum", N_("use --method momentum or nesterov")),),
    ),
    OptimizerSpec(
        "momentum",
        N_("Momentum"),
        "Steps along a running sum of past gradients, so it gathers speed in shallow valleys.",
        (_MOMENTUM,),
        ElementwiseRule(("momentum_buffer",), _zeros(1), _plain_constants("momentum"), _momentum),
        (
            rf"\begin{{aligned}} b_{{k+1}} &= \mu\, b_k + {_G}, \quad b_0 = 0 \\ "
            r"x_{k+1} &= x_k - \eta\, b_{k+1} \end{aligned}"
        ),
        r"b \leftarrow \mu b + \nabla f,\; x \leftarrow x - \eta\, b",
        "#D55E00",
        family="momentum",
    ),
    OptimizerSpec(
        "nesterov",
        N_("Nesterov momentum"),
        "Momentum that adds the look-ahead term μ b to the current gradient.",
        (_MOMENTUM,),
        ElementwiseRule(("momentum_buffer",), _zeros(1), _plain_constants("momentum"), _nesterov),
        (
            rf"\begin{{aligned}} b_{{k+1}} &= \mu\, b_k + {_G}, \quad b_0 = 0 \\ "
            rf"x_{{k+1}} &= x_k - \eta\,\bigl({_G} + \mu\, b_{{k+1}}\bigr) \end{{aligned}}"
        ),
        r"b \leftarrow \mu b + \nabla f,\; x \leftarrow x - \eta(\nabla f + \mu b)",
        "#CC79A7",
        aliases=("nag",),
        check=_nesterov_check,
        family="momentum",
    ),
    OptimizerSpec(
        "adagrad",
        "Adagrad",
        "Divides each coordinate's step by the root of its summed squared gradients.",
        (
            replace(_EPS, default=1e-10),
            Hyperparameter("lr_decay", 0.0, "lr_decay", "learning-rate decay", common=False),
            Hyperparameter(
                "initial_accumulator_value",
                0.0,
                "initial_accumulator_value",
                "initial value of the sum",
                common=False,
            ),
        ),
        ElementwiseRule(
            ("sum",),
            lambda hyper: (float(hyper["initial_accumulator_value"]),),
            _plain_constants("eps", "lr_decay"),
            _adagrad,
            uses_step=True,
            structure=lambda values: (values["lr_decay"] != 0,),
        ),
        (
            rf"\begin{{aligned}} s_{{k+1}} &= s_k + {_G}^{{2}} \\ "
            rf"x_{{k+1}} &= x_k - \frac{{\eta}}{{\sqrt{{s_{{k+1}}}} + \epsilon}}\,{_G}"
            r" \end{aligned}"
        ),
        r"x \leftarrow x - \eta\,\nabla f / (\sqrt{s} + \epsilon)",
        "#56B4E9",
        family="adaptive",
        first_step_is_sign=True,
    ),
    OptimizerSpec(
        "rmsprop",
        "RMSProp",
        "Divides each coordinate's step by a running root mean square of its gradient.",
        (
            Hyperparameter("alpha", 0.99, "α", "smoothing constant", metavar="A"),
            _EPS,
            replace(_MOMENTUM, default=0.0),
        ),
        ElementwiseRule(
            ("square_avg", "momentum_buffer"),
            _zeros(2),
            _rmsprop_constants,
            _rmsprop,
            structure=lambda values: (values["momentum"] > 0,),
        ),
        (
            rf"\begin{{aligned}} v_{{k+1}} &= \alpha\, v_k + (1-\alpha)\,{_G}^{{2}} \\ "
            rf"x_{{k+1}} &= x_k - \frac{{\eta}}{{\sqrt{{v_{{k+1}}}} + \epsilon}}\,{_G}"
            r" \end{aligned}"
        ),
        r"x \leftarrow x - \eta\,\nabla f / (\sqrt{v} + \epsilon)",
        "#E69F00",
        aliases=("rms",),
        family="adaptive",
    ),
    OptimizerSpec(
        "adam",
        "Adam",
        "Momentum and RMSProp combined: a running mean of the gradient, scaled per coordinate.",
        (
            Hyperparameter("beta1", 0.9, "β₁", "beta1", FROM_ZERO_BELOW_ONE, "B"),
            Hyperparameter("beta2", 0.999, "β₂", "beta2", FROM_ZERO_BELOW_ONE, "B"),
            _EPS,
        ),
        ElementwiseRule(
            ("exp_avg", "exp_avg_sq"),
            _zeros(2),
            _adam_constants,
            _adam,
            uses_step=True,
            structure=lambda values: (abs(values["one_minus_beta1"]) < 0.5,),
        ),
        (
            rf"\begin{{aligned}} m_{{k+1}} &= \beta_1 m_k + (1-\beta_1)\,{_G} \\ "
            rf"v_{{k+1}} &= \beta_2 v_k + (1-\beta_2)\,{_G}^{{2}} \\ "
            r"\hat m &= \frac{m_{k+1}}{1-\beta_1^{\,k+1}}, \quad "
            r"\hat v = \frac{v_{k+1}}{1-\beta_2^{\,k+1}} \\ "
            r"x_{k+1} &= x_k - \eta\,\frac{\hat m}{\sqrt{\hat v} + \epsilon} \end{aligned}"
        ),
        r"x \leftarrow x - \eta\,\hat m / (\sqrt{\hat v} + \epsilon)",
        "#009E73",
        family="adaptive",
        first_step_is_sign=True,
    ),
    OptimizerSpec(
        "newton",
        N_("Newton's method"),
        "Rescales the gradient by the inverse Hessian: one step to a quadratic's critical point.",
        (),
        HessianRule(_newton_update),
        rf"x_{{k+1}} = x_k - \eta\, H(x_k)^{{-1}}\,{_G}",
        r"x \leftarrow x - H^{-1}\nabla f",
        "#000000",
        default_lr=1.0,
        family="second-order",
    ),
)

#: optimizer name → spec, in the order menus list them
OPTIMIZERS: Mapping[str, OptimizerSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: other spellings a user may type → the optimizer's name (names map to themselves)
ALIASES: Mapping[str, str] = MappingProxyType(
    {**{a: s.name for s in _SPECS for a in s.aliases}, **{s.name: s.name for s in _SPECS}}
)

# Derived views, kept for the modules that read them.
METHODS: tuple[str, ...] = tuple(OPTIMIZERS)
#: method -> hyperparameter defaults (torch.optim's, except momentum's 0.9)
DEFAULTS: dict[str, dict[str, float]] = {s.name: s.defaults for s in _SPECS}
#: the learning rate used when none is given
DEFAULT_LR: dict[str, float] = {s.name: s.default_lr for s in _SPECS}
LABELS: dict[str, str] = {s.name: s.label for s in _SPECS}
RULES_LATEX: dict[str, str] = {s.name: s.rule_latex for s in _SPECS}


def optimizer_spec(method: str) -> OptimizerSpec:
    """The spec of ``method`` (a name or alias, any case); :class:`InputError` if unknown."""
    name = ALIASES.get(method.lower(), method.lower()) if isinstance(method, str) else method
    spec = OPTIMIZERS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise InputError(
            _("unknown method {method}; choose one of {methods}").format(
                method=repr(method), methods=", ".join(METHODS)
            )
        )
    return spec


def shared_hyperparameters(specs: Iterable[OptimizerSpec]) -> dict[str, Hyperparameter]:
    """Each common hyperparameter name among ``specs`` → its first declaration, in order."""
    found: dict[str, Hyperparameter] = {}
    for spec in specs:
        for hyper in spec.hyperparameters:
            if hyper.common:
                found.setdefault(hyper.name, hyper)
    return found


def hyperparameter_symbol(name: str) -> str:
    """How the lesson writes the hyperparameter ``name`` (``μ``, ``β₁``; else the name)."""
    for spec in _SPECS:
        for hyper in spec.hyperparameters:
            if hyper.name == name:
                return hyper.symbol
    return name


# -- making an optimizer ----------------------------------------------------------------------


def make_optimizer(method: str, lr: float | None = None, **hyper: float) -> Optimizer:
    """The optimizer ``method`` with learning rate ``lr`` and hyperparameters ``hyper``.

    Unknown methods, unknown or out-of-range hyperparameters raise :class:`InputError`.
    ``lr=None`` takes the spec's default (0.1; 1 for Newton). Optimizers are immutable, so
    the same request returns the same object.

    >>> make_optimizer("momentum", 0.05).hyperparameters
    {'momentum': 0.9}
    """
    try:
        key = (method, lr, tuple(sorted(hyper.items())))
        hash(key)
    except TypeError:
        return _make_optimizer(method, lr, hyper)
    found = _MADE.get(key)
    if found is None:
        found = _make_optimizer(method, lr, hyper)
        if len(_MADE) > 256:
            _MADE.clear()
        _MADE[key] = found
    return found


_MADE: dict[Any, Optimizer] = {}


def _make_optimizer(method: str, lr: float | None, hyper: Mapping[str, Any]) -> Optimizer:
    spec = optimizer_spec(method)
    rate = spec.default_lr if lr is None else real_value("lr", lr)
    if not rate > 0:
        if rate < 0:
            message = _(
                "the learning rate must be positive, got {rate} (to climb, use --method ascent)"
            )
        else:
            message = _("the learning rate must be positive, got {rate}")
        raise InputError(message.format(rate=f"{rate:g}"))
    values = checked_hyperparameters(spec, hyper)
    if isinstance(spec.rule, HessianRule):
        return Optimizer(
            spec.name,
            rate,
            values,
            _newton_init,
            spec.rule.make(rate),
            spec.rule_latex,
            spec.label,
            None,
            True,
            spec,
        )
    init, update = _elementwise(spec.rule, rate, values)
    return Optimizer(
        spec.name, rate, values, init, update, spec.rule_latex, spec.label, spec.rule, False, spec
    )


def _elementwise(
    rule: ElementwiseRule, rate: float, values: Mapping[str, float]
) -> tuple[Callable[[np.ndarray], OptState], UpdateFunction]:
    """numpy ``init`` and ``update`` for an elementwise rule."""
    import numpy as np

    constants = rule.constants(rate, values)
    initial = rule.initial(values)
    ops = numpy_ops()

    def init(x0: np.ndarray) -> OptState:
        x0 = np.asarray(x0, dtype=float)
        return OptState(0, tuple(np.full_like(x0, value) for value in initial))

    def update(
        grad: np.ndarray,
        state: OptState,
        x: np.ndarray | None = None,
        hessian: np.ndarray | None = None,
    ) -> tuple[np.ndarray, OptState]:
        t = state.step + 1
        step, buffers = rule.apply(
            np.asarray(grad, dtype=float), state.buffers, float(t), constants, constants, ops
        )
        return np.asarray(step, dtype=float), OptState(t, tuple(buffers))

    return init, update


def numpy_ops() -> Ops:
    """The :class:`Ops` of the numpy path: ``np.sqrt`` and the identity."""
    import numpy as np

    return Ops(sqrt=np.sqrt, let=lambda value: value)


def __getattr__(name: str) -> Any:
    if name == "NUMPY_OPS":  # built on first use, so importing this module needs no numpy
        return numpy_ops()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
