"""Optimizers as pure ``(init, update)`` pairs, with torch.optim's update rules and defaults.

``make_optimizer(method, lr, **hyper)`` returns an :class:`Optimizer`; ``init(x0)`` builds the
state for a start of shape ``(n,)`` or a batch ``(N, n)``, and
``update(grad, state, x, hessian=None) -> (step, state)`` gives the move, so ``x_new = x + step``.
Nothing is mutated: running the same optimizer twice gives the same numbers.

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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from symgd.base.errors import InputError

METHODS: tuple[str, ...] = (
    "gd", "ascent", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton",
)

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


NUMPY_OPS = Ops(sqrt=np.sqrt, let=lambda value: value)

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

    def constants(self) -> dict[str, float]:
        """The scalars the elementwise rule reads (empty for Newton)."""
        if self.rule is None:
            return {}
        return self.rule.constants(self.lr, self.hyperparameters)


# -- the rules --------------------------------------------------------------------------------

def _gd(g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float],
        ops: Ops) -> tuple[Any, tuple[Any, ...]]:
    return ops.let(-c["lr"]) * g, b


def _ascent(g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float],
            ops: Ops) -> tuple[Any, tuple[Any, ...]]:
    # torch maximize=True: the gradient is negated, then x + (-lr) * (-g)
    return c["lr"] * g, b


def _momentum(g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any],
              v: Mapping[str, float], ops: Ops) -> tuple[Any, tuple[Any, ...]]:
    buf = ops.let(b[0] * c["momentum"] + g)
    return ops.let(-c["lr"]) * buf, (buf,)


def _nesterov(g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any],
              v: Mapping[str, float], ops: Ops) -> tuple[Any, tuple[Any, ...]]:
    buf = ops.let(b[0] * c["momentum"] + g)
    look = ops.let(g + c["momentum"] * buf)
    return ops.let(-c["lr"]) * look, (buf,)


def _adagrad(g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float],
             ops: Ops) -> tuple[Any, tuple[Any, ...]]:
    total = ops.let(b[0] + g * g)
    std = ops.let(ops.sqrt(total) + c["eps"])
    ratio = ops.let(g / std)
    # torch: lr / (1 + (step - 1) * lr_decay); with lr_decay 0 that is lr itself
    clr = ops.let(c["lr"] / ((t - 1) * c["lr_decay"] + 1)) if v["lr_decay"] != 0 else c["lr"]
    return ops.let(-clr) * ratio, (total,)


def _rmsprop(g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float],
             ops: Ops) -> tuple[Any, tuple[Any, ...]]:
    scaled = ops.let(c["one_minus_alpha"] * g)
    avg_sq = ops.let(b[0] * c["alpha"] + scaled * g)
    avg = ops.let(ops.sqrt(avg_sq) + c["eps"])
    if v["momentum"] > 0:
        buf = ops.let(b[1] * c["momentum"] + g / avg)
        return ops.let(-c["lr"]) * buf, (avg_sq, buf)
    ratio = ops.let(g / avg)
    return ops.let(-c["lr"]) * ratio, (avg_sq, b[1])


def _adam(g: Any, b: tuple[Any, ...], t: Any, c: Mapping[str, Any], v: Mapping[str, float],
          ops: Ops) -> tuple[Any, tuple[Any, ...]]:
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
    bias2_sqrt = ops.let(bias2 ** 0.5)
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
    return {"lr": lr, "alpha": alpha, "one_minus_alpha": 1 - alpha, "eps": float(hyper["eps"]),
            "momentum": float(hyper["momentum"])}


def _adam_constants(lr: float, hyper: Mapping[str, float]) -> dict[str, float]:
    beta1, beta2 = float(hyper["beta1"]), float(hyper["beta2"])
    weight = 1 - beta1
    return {"lr": lr, "beta1": beta1, "beta2": beta2, "one_minus_beta1": weight,
            "beta1_complement": 1 - weight, "one_minus_beta2": 1 - beta2,
            "eps": float(hyper["eps"])}


_RULES: dict[str, ElementwiseRule] = {
    "gd": ElementwiseRule((), _zeros(0), _plain_constants(), _gd,
                          gradient_scale=lambda c: -c["lr"]),
    "ascent": ElementwiseRule((), _zeros(0), _plain_constants(), _ascent,
                              gradient_scale=lambda c: c["lr"]),
    "momentum": ElementwiseRule(("momentum_buffer",), _zeros(1), _plain_constants("momentum"),
                                _momentum),
    "nesterov": ElementwiseRule(("momentum_buffer",), _zeros(1), _plain_constants("momentum"),
                                _nesterov),
    "adagrad": ElementwiseRule(
        ("sum",), lambda hyper: (float(hyper["initial_accumulator_value"]),),
        _plain_constants("eps", "lr_decay"), _adagrad, uses_step=True,
        structure=lambda values: (values["lr_decay"] != 0,)),
    "rmsprop": ElementwiseRule(
        ("square_avg", "momentum_buffer"), _zeros(2), _rmsprop_constants, _rmsprop,
        structure=lambda values: (values["momentum"] > 0,)),
    "adam": ElementwiseRule(
        ("exp_avg", "exp_avg_sq"), _zeros(2), _adam_constants, _adam, uses_step=True,
        structure=lambda values: (abs(values["one_minus_beta1"]) < 0.5,)),
}

#: method -> hyperparameter defaults (torch.optim's, except momentum's 0.9)
DEFAULTS: dict[str, dict[str, float]] = {
    "gd": {},
    "ascent": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9},
    "adagrad": {"eps": 1e-10, "lr_decay": 0.0, "initial_accumulator_value": 0.0},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "newton": {},
}

#: the learning rate used when none is given
DEFAULT_LR: dict[str, float] = {method: (1.0 if method == "newton" else 0.1) for method in METHODS}

LABELS: dict[str, str] = {
    "gd": "Gradient descent",
    "ascent": "Gradient ascent",
    "momentum": "Momentum",
    "nesterov": "Nesterov momentum",
    "adagrad": "Adagrad",
    "rmsprop": "RMSProp",
    "adam": "Adam",
    "newton": "Newton's method",
}

_G = r"\nabla f(x_k)"
RULES_LATEX: dict[str, str] = {
    "gd": rf"x_{{k+1}} = x_k - \eta\,{_G}",
    "ascent": rf"x_{{k+1}} = x_k + \eta\,{_G}",
    "momentum": (rf"\begin{{aligned}} b_{{k+1}} &= \mu\, b_k + {_G}, \quad b_0 = 0 \\ "
                 r"x_{k+1} &= x_k - \eta\, b_{k+1} \end{aligned}"),
    "nesterov": (rf"\begin{{aligned}} b_{{k+1}} &= \mu\, b_k + {_G}, \quad b_0 = 0 \\ "
                 rf"x_{{k+1}} &= x_k - \eta\,\bigl({_G} + \mu\, b_{{k+1}}\bigr) \end{{aligned}}"),
    "adagrad": (rf"\begin{{aligned}} s_{{k+1}} &= s_k + {_G}^{{2}} \\ "
                rf"x_{{k+1}} &= x_k - \frac{{\eta}}{{\sqrt{{s_{{k+1}}}} + \epsilon}}\,{_G}"
                r" \end{aligned}"),
    "rmsprop": (rf"\begin{{aligned}} v_{{k+1}} &= \alpha\, v_k + (1-\alpha)\,{_G}^{{2}} \\ "
                rf"x_{{k+1}} &= x_k - \frac{{\eta}}{{\sqrt{{v_{{k+1}}}} + \epsilon}}\,{_G}"
                r" \end{aligned}"),
    "adam": (rf"\begin{{aligned}} m_{{k+1}} &= \beta_1 m_k + (1-\beta_1)\,{_G} \\ "
             rf"v_{{k+1}} &= \beta_2 v_k + (1-\beta_2)\,{_G}^{{2}} \\ "
             r"\hat m &= \frac{m_{k+1}}{1-\beta_1^{\,k+1}}, \quad "
             r"\hat v = \frac{v_{k+1}}{1-\beta_2^{\,k+1}} \\ "
             r"x_{k+1} &= x_k - \eta\,\frac{\hat m}{\sqrt{\hat v} + \epsilon} \end{aligned}"),
    "newton": rf"x_{{k+1}} = x_k - \eta\, H(x_k)^{{-1}}\,{_G}",
}

_ALIASES = {
    "sgd": "gd", "descent": "gd", "gradient_descent": "gd", "nag": "nesterov",
    "rmsprop": "rmsprop", "rms": "rmsprop",
}


def make_optimizer(method: str, lr: float | None = None, **hyper: float) -> Optimizer:
    """The optimizer ``method`` with learning rate ``lr`` and hyperparameters ``hyper``.

    Unknown methods, unknown or out-of-range hyperparameters raise :class:`InputError`.
    ``lr=None`` takes :data:`DEFAULT_LR` (0.1; 1 for Newton). Optimizers are immutable, so
    the same request returns the same object.
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
    name = _ALIASES.get(method.lower(), method.lower()) if isinstance(method, str) else method
    if name not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    rate = DEFAULT_LR[name] if lr is None else _real("lr", lr)
    if not rate > 0:
        hint = " (to climb, use --method ascent)" if rate < 0 else ""
        raise InputError(f"the learning rate must be positive, got {rate:g}{hint}")
    values = _check_hyper(name, hyper)
    if name == "newton":
        return Optimizer(name, rate, values, _newton_init, _newton_update(rate),
                         RULES_LATEX[name], LABELS[name], None, True)
    rule = _RULES[name]
    constants = rule.constants(rate, values)
    initial = rule.initial(values)

    def init(x0: np.ndarray) -> OptState:
        x0 = np.asarray(x0, dtype=float)
        return OptState(0, tuple(np.full_like(x0, value) for value in initial))

    def update(grad: np.ndarray, state: OptState, x: np.ndarray | None = None,
               hessian: np.ndarray | None = None) -> tuple[np.ndarray, OptState]:
        t = state.step + 1
        step, buffers = rule.apply(np.asarray(grad, dtype=float), state.buffers, float(t),
                                   constants, constants, NUMPY_OPS)
        return np.asarray(step, dtype=float), OptState(t, tuple(buffers))

    return Optimizer(name, rate, values, init, update, RULES_LATEX[name], LABELS[name], rule)


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise InputError(f"{name} is too large for floating point (beyond about "
                         "1.8e308)") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be finite, got {number}")
    return number


_RANGES: dict[str, tuple[str, Callable[[float], bool]]] = {
    "momentum": ("at least 0", lambda v: v >= 0),
    "beta1": ("in [0, 1)", lambda v: 0 <= v < 1),
    "beta2": ("in [0, 1)", lambda v: 0 <= v < 1),
    "eps": ("at least 0", lambda v: v >= 0),
    "alpha": ("at least 0", lambda v: v >= 0),
    "lr_decay": ("at least 0", lambda v: v >= 0),
    "initial_accumulator_value": ("at least 0", lambda v: v >= 0),
}


def _check_hyper(method: str, hyper: Mapping[str, Any]) -> dict[str, float]:
    defaults = DEFAULTS[method]
    unknown = [k for k in hyper if k not in defaults]
    if unknown:
        takes = ", ".join(defaults) if defaults else "no hyperparameters"
        hint = ""
        if method in ("gd", "ascent") and "momentum" in unknown:
            hint = " (use --method momentum or nesterov)"
        raise InputError(f"{method} takes {takes}; got {', '.join(unknown)}{hint}")
    values = dict(defaults)
    for key, raw in hyper.items():
        value = _real(key, raw)
        wanted, ok = _RANGES[key]
        if not ok(value):
            raise InputError(f"{key} must be {wanted}, got {value:g}")
        values[key] = value
    if method == "nesterov" and values["momentum"] <= 0:
        raise InputError("Nesterov momentum needs momentum > 0")
    return values


# -- Newton -----------------------------------------------------------------------------------

def _newton_init(x0: np.ndarray) -> OptState:
    return OptState(0)


def _newton_update(lr: float) -> Callable[..., tuple[np.ndarray, OptState]]:
    def update(grad: np.ndarray, state: OptState, x: np.ndarray | None = None,
               hessian: np.ndarray | None = None) -> tuple[np.ndarray, OptState]:
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
    finite = np.isfinite(hessians).all(axis=(-2, -1))
    safe = np.where(finite[:, None, None], hessians, 0.0)
    with np.errstate(all="ignore"):
        singular_values = np.linalg.svd(safe, compute_uv=False)
        largest = singular_values[:, 0]
        smallest = singular_values[:, -1]
        bad = ~(smallest * SINGULAR_CONDITION > largest)
    return np.asarray(~finite | bad)
