"""Vanishing gradients in the chain network of the notes (``symgd vanish``).

One neuron per layer, every layer with the same weight and bias::

    z₁ = w₁x + b,  p₁ = a(z₁),   z_k = w_k p_{k−1} + b,  p_k = a(z_k)  (k = 2..N)

and the output p_N. By the chain rule the gradient of layer k's weight is

    ∂p_N/∂w_k = p_{k−1} · a′(z_k) · Π_{j>k} w_j a′(z_j)      (p₀ = x)

which this module computes for each activation, the product taken backward from the output as
backpropagation does. Values are floats, with three companions a page needs to tell the truth:
the exact rational where one exists and is cheap (ReLU and Leaky ReLU always, since their
derivatives are 0, 1/100 or 1; σ′(0) = 1/4 and tanh′(0) = 1), and the base-10 logarithm of
every p, a′ and gradient, so that a gradient too small for a float (it is stored as 0.0) still
has a known size. Plain ``math`` only: no SymPy, no towers of nested expressions.

>>> result = vanish(depth=10, activations="sigmoid,relu")
>>> f"{result.chain('sigmoid').grad_w[0]:.4g}", result.chain("relu").grad_w
('2.785e-07', (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from symgd.base.errors import InputError
from symgd.base.i18n import N_, check_language, gettext

#: the activations ``vanish`` knows, in the order pages show them
ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu")
#: how each is written for a reader
LABELS = {
    "sigmoid": N_("sigmoid σ"),
    "tanh": "tanh",
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
}
#: the bound every factor a′(z) obeys
BOUNDS = {
    "sigmoid": "σ′(z) ≤ 1/4",
    "tanh": "tanh′(z) ≤ 1",
    "relu": "relu′(z) ∈ {0, 1}",
    "leaky_relu": "leaky_relu′(z) ∈ {0.01, 1}",
}
#: Leaky ReLU's slope for z ≤ 0 (symgd's ``leaky_relu`` uses the same)
LEAK = Fraction(1, 100)
MAX_DEPTH = 200
#: log10 of the smallest normal float: a value below it is stored as 0.0
LOG10_TINY = math.log10(sys.float_info.min)
_LN10 = math.log(10.0)

Exact = Fraction | None


@dataclass(frozen=True)
class Chain:
    """One activation's forward and backward pass through the chain (layer k at index k − 1).

    ``exact_*`` hold the rational value where it is known exactly (else ``None``); ``log10_*``
    hold log₁₀|value| (``-inf`` for an exact 0), also for values a float cannot hold.
    """

    name: str
    z: tuple[float, ...]
    p: tuple[float, ...]
    derivatives: tuple[float, ...]
    grad_w: tuple[float, ...]
    exact_z: tuple[Exact, ...]
    exact_p: tuple[Exact, ...]
    exact_derivatives: tuple[Exact, ...]
    exact_grad: tuple[Exact, ...]
    log10_p: tuple[float, ...]
    log10_derivatives: tuple[float, ...]
    log10_grad: tuple[float, ...]

    @property
    def label(self) -> str:
        """The activation's name for a reader, in the language in effect."""
        return gettext(LABELS[self.name])

    @property
    def bound(self) -> str:
        return BOUNDS[self.name]

    def underflowed(self) -> tuple[int, ...]:
        """Layers (1-based) whose gradient is not 0 but too small for a float (stored as 0.0)."""
        return tuple(
            k
            for k, (g, lg) in enumerate(zip(self.grad_w, self.log10_grad, strict=True), 1)
            if g == 0.0 and math.isfinite(lg)
        )

    def zero_layers(self) -> tuple[int, ...]:
        """Layers (1-based) whose gradient is exactly 0."""
        return tuple(k for k, lg in enumerate(self.log10_grad, 1) if lg == -math.inf)


@dataclass(frozen=True)
class VanishResult:
    """What :func:`vanish` computed: the settings and one :class:`Chain` per activation."""

    depth: int
    weight: float
    bias: float
    input: float
    chains: tuple[Chain, ...]
    exact_weight: Fraction
    exact_bias: Fraction
    exact_input: Fraction
    #: the language the page and its words are written in (``"en"``, ``"ko"``)
    lang: str = "en"

    @property
    def activations(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.chains)

    def chain(self, name: str) -> Chain:
        """The chain of the activation ``name``."""
        for c in self.chains:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """``{"depth", "weight", "bias", "input", "activations": {name: {"z", "p",
        "derivatives", "grad_w", "bound"}}}``, floats as numbers (a gradient too small for a
        float is 0.0)."""
        return {
            "depth": self.depth,
            "weight": self.weight,
            "bias": self.bias,
            "input": self.input,
            "activations": {
                c.name: {
                    "z": list(c.z),
                    "p": list(c.p),
                    "derivatives": list(c.derivatives),
                    "grad_w": list(c.grad_w),
                    "bound": c.bound,
                }
                for c in self.chains
            },
        }

    def html(self) -> str:
        """The page: formulas, figures, a table per activation and what the numbers say."""
        from symgd.network.vanish_page import render_vanish_page

        return render_vanish_page(self)

    def pdf(self, *, paper: str = "A4") -> bytes:
        """The same page printed to PDF."""
        from symgd.network.vanish_page import vanish_pdf

        return vanish_pdf(self.html(), paper=paper)

    def save(self, directory: str | Path, *, follow_symlinks: bool = False) -> Path:
        """Write ``report.html`` into ``directory`` (atomically; see :mod:`symgd.base.files`)."""
        from symgd.network.vanish_page import save_page

        return save_page(self.html(), directory, "report.html", follow_symlinks=follow_symlinks)

    def save_pdf(
        self, directory: str | Path, *, paper: str = "A4", follow_symlinks: bool = False
    ) -> Path:
        """Write ``report.pdf`` into ``directory`` as :meth:`save` writes."""
        from symgd.network.vanish_page import save_page

        return save_page(
            self.pdf(paper=paper), directory, "report.pdf", follow_symlinks=follow_symlinks
        )


def vanish(
    depth: int = 10,
    activations: Sequence[str] | str = ACTIVATION_NAMES,
    weight: float | int | Fraction = 1,
    bias: float | int | Fraction = 0,
    input: float | int | Fraction = 1,  # the name the notes use
    lang: str = "en",
) -> VanishResult:
    """The gradient of every layer's weight in a chain of ``depth`` one-neuron layers, for each
    activation (``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``; a list or a
    comma-separated string), every weight ``weight``, every bias ``bias``, input ``input``.

    :class:`InputError` for an unknown activation, a depth outside 1..200, or a weight, bias or
    input that is not a finite number (or values that overflow a float on the way). ``lang``:
    the language of the page and its words (``"en"`` or ``"ko"``; numbers and JSON keys stay
    the same).

    >>> r = vanish()
    >>> f"{r.chain('sigmoid').grad_w[0]:.4g} {r.chain('sigmoid').grad_w[-1]:.4g}"
    '2.785e-07 0.1481'
    >>> round(r.chain("tanh").grad_w[0], 4), r.chain("leaky_relu").grad_w[0]
    (0.0409, 1.0)
    >>> sorted(r.to_json()["activations"]["relu"])
    ['bound', 'derivatives', 'grad_w', 'p', 'z']
    """
    code = check_language(lang)
    names = activation_names(activations)
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise InputError(f"the depth must be a whole number of layers, got {depth!r}")
    if not 1 <= depth <= MAX_DEPTH:
        raise InputError(f"the depth must be between 1 and {MAX_DEPTH} layers, got {depth}")
    w, b, x = (
        _finite(v, what) for v, what in ((weight, "weight"), (bias, "bias"), (input, "input"))
    )
    chains = tuple(_chain(name, depth, w, b, x) for name in names)
    return VanishResult(depth, float(w), float(b), float(x), chains, w, b, x, code)


def activation_names(activations: Sequence[str] | str) -> tuple[str, ...]:
    """``"sigmoid, ReLU"`` or ``["tanh"]`` → known names in the order given, each once."""
    items = activations.split(",") if isinstance(activations, str) else list(activations)
    names: list[str] = []
    for item in items:
        name = str(item).strip().lower().replace("-", "_")
        if name not in ACTIVATION_NAMES:
            known = ", ".join(ACTIVATION_NAMES)
            raise InputError(f"unknown activation {str(item).strip()!r}; choose from {known}")
        if name not in names:
            names.append(name)
    if not names:
        raise InputError(f"no activation given; choose from {', '.join(ACTIVATION_NAMES)}")
    return tuple(names)


def _finite(value: Any, what: str) -> Fraction:
    """The exact rational of a finite number (0.1 → 1/10), else :class:`InputError`."""
    if isinstance(value, bool):
        raise InputError(f"the {what} must be a finite number, got {value!r}")
    if isinstance(value, int | Fraction):
        number = Fraction(value)
        if _log10_abs(number) > math.log10(sys.float_info.max):  # beyond float's range
            raise InputError(f"the {what} must be a finite number, got {value!r:.40}")
        return number
    try:
        as_float = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"the {what} must be a finite number, got {value!r}") from None
    if not math.isfinite(as_float):
        raise InputError(f"the {what} must be a finite number, got {value!r}")
    return Fraction(repr(as_float))


# -- one activation -----------------------------------------------------------------------------


def activation_value(name: str, z: float) -> float:
    """a(z) as a float, computed without overflow."""
    if name == "sigmoid":
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return max(z, 0.0)
    return z if z > 0 else float(LEAK) * z


def activation_slope(name: str, z: float) -> float:
    """a′(z) as a float: σ′ = e^{−|z|}/(1 + e^{−|z|})², tanh′ = sech² z (both accurate for
    large |z|, where 1 − σ² loses every digit); ReLU′(0) = 0 and the leak at 0, as symgd's
    ``relu`` and ``leaky_relu`` take them."""
    if name == "sigmoid":
        e = math.exp(-abs(z))
        return e / (1.0 + e) ** 2
    if name == "tanh":
        e = math.exp(-2.0 * abs(z))
        return 4.0 * e / (1.0 + e) ** 2
    if name == "relu":
        return 1.0 if z > 0 else 0.0
    return 1.0 if z > 0 else float(LEAK)


def _log10_slope(name: str, z: float) -> float:
    """log₁₀ a′(z) of a smooth activation, finite however small a′(z) is."""
    if name == "sigmoid":
        return (-abs(z) - 2.0 * math.log1p(math.exp(-abs(z)))) / _LN10
    return (math.log(4.0) - 2.0 * abs(z) - 2.0 * math.log1p(math.exp(-2.0 * abs(z)))) / _LN10


def _log10_value(name: str, z: float) -> float:
    """log₁₀|a(z)| for the smooth activations, finite where a(z) ≠ 0 even if it underflows."""
    if name == "sigmoid":
        if z >= 0:
            return -math.log1p(math.exp(-z)) / _LN10
        return (z - math.log1p(math.exp(z))) / _LN10
    value = math.tanh(z)
    return math.log10(abs(value)) if value != 0 else -math.inf


def _exact_slope(name: str, z: Fraction | float) -> Fraction:
    if name == "relu":
        return Fraction(1) if z > 0 else Fraction(0)
    return Fraction(1) if z > 0 else LEAK


def _log10_abs(value: Fraction) -> float:
    """log₁₀|value| of a rational of any size (−inf for 0)."""
    if value == 0:
        return -math.inf
    return math.log10(abs(value.numerator)) - math.log10(value.denominator)


def _float(value: Fraction, name: str) -> float:
    """``value`` as a float: 0.0 below the smallest normal float, :class:`InputError` above
    the largest."""
    if _log10_abs(value) < LOG10_TINY:
        return 0.0
    try:
        return float(value)
    except OverflowError:
        raise InputError(_float_error(name)) from None


def _clean(value: float, log10: float) -> float:
    """0.0 for a value below the smallest normal float (the JSON's "underflow to 0.0")."""
    return 0.0 if log10 < LOG10_TINY else value


@dataclass(frozen=True)
class _Forward:
    z: list[float]
    p: list[float]
    d: list[float]
    exact_z: list[Exact]
    exact_p: list[Exact]
    exact_d: list[Exact]
    log_p: list[float]  # log10 |p_k| for k = 0..N
    log_d: list[float]


def _forward(name: str, depth: int, w: Fraction, b: Fraction, x: Fraction) -> _Forward:
    """The forward pass: exact for ReLU and Leaky ReLU, floats (exact where z = 0) otherwise."""
    f = _Forward([], [], [], [], [], [], [_log10_abs(x)], [])
    piecewise = name in ("relu", "leaky_relu")
    wf, bf = float(w), float(b)
    prev_p: float = float(x)
    prev_exact: Exact = x
    for _ in range(depth):
        ez = w * prev_exact + b if prev_exact is not None else None
        z = _float(ez, name) if ez is not None else wf * prev_p + bf
        if not math.isfinite(z):
            raise InputError(_float_error(name))
        ep, ed = _exact_step(name, ez)
        if piecewise or ep is not None:
            assert ep is not None and ed is not None
            p, d = _float(ep, name), float(ed)
            log_p, log_d = _log10_abs(ep), _log10_abs(ed)
        else:
            log_p, log_d = _log10_value(name, z), _log10_slope(name, z)
            p = _clean(activation_value(name, z), log_p)
            d = _clean(activation_slope(name, z), log_d)
        f.z.append(z)
        f.p.append(p)
        f.d.append(d)
        f.exact_z.append(ez)
        f.exact_p.append(ep)
        f.exact_d.append(ed)
        f.log_p.append(log_p)
        f.log_d.append(log_d)
        prev_p, prev_exact = p, ep
    return f


def _exact_step(name: str, ez: Exact) -> tuple[Exact, Exact]:
    """(a(z), a′(z)) as rationals when z is known exactly and they are rational, else None."""
    if ez is None:
        return None, None
    if name == "relu":
        return (ez if ez > 0 else Fraction(0)), _exact_slope(name, ez)
    if name == "leaky_relu":
        return (ez if ez > 0 else LEAK * ez), _exact_slope(name, ez)
    if ez != 0:
        return None, None
    return (Fraction(1, 2), Fraction(1, 4)) if name == "sigmoid" else (Fraction(0), Fraction(1))


def _float_error(name: str) -> str:
    return (
        f"the {LABELS[name]} chain's values grow beyond the largest float (about 1.8 × 10³⁰⁸) "
        "with these settings; choose a smaller weight, bias, input or depth"
    )


def _chain(name: str, depth: int, w: Fraction, b: Fraction, x: Fraction) -> Chain:
    """Forward pass, then the backward pass: the suffix product S_k = Π_{j>k} w a′(z_j)."""
    f = _forward(name, depth, w, b, x)
    log_w, wf = _log10_abs(w), float(w)
    grads: list[float] = [0.0] * depth
    exact: list[Exact] = [None] * depth
    logs: list[float] = [0.0] * depth
    suffix, log_suffix, sign_suffix = 1.0, 0.0, 1.0  # S_N = 1
    exact_suffix: Exact = Fraction(1)
    for i in range(depth - 1, -1, -1):
        p_before = f.p[i - 1] if i > 0 else float(x)
        exact_before = f.exact_p[i - 1] if i > 0 else x
        logs[i] = _log_sum(f.log_p[i], f.log_d[i], log_suffix)
        ed = f.exact_d[i]
        if exact_suffix is not None and exact_before is not None and ed is not None:
            value = exact_before * ed * exact_suffix
            exact[i] = value
            grads[i] = _float(value, name)
        else:
            sign = sign_suffix * (-1.0 if p_before < 0 else 1.0)
            grads[i] = _representable(p_before * f.d[i] * suffix, logs[i], sign)
        exact_suffix = (
            exact_suffix * w * ed if exact_suffix is not None and ed is not None else None
        )
        suffix *= wf * f.d[i]
        sign_suffix *= -1.0 if wf < 0 else 1.0
        log_suffix = _log_sum(log_suffix, log_w, f.log_d[i])
    if not all(math.isfinite(g) for g in grads):
        raise InputError(_float_error(name))
    return Chain(
        name=name,
        z=tuple(f.z),
        p=tuple(f.p),
        derivatives=tuple(f.d),
        grad_w=tuple(grads),
        exact_z=tuple(f.exact_z),
        exact_p=tuple(f.exact_p),
        exact_derivatives=tuple(f.exact_d),
        exact_grad=tuple(exact),
        log10_p=tuple(f.log_p[1:]),
        log10_derivatives=tuple(f.log_d),
        log10_grad=tuple(logs),
    )


def _log_sum(*logs: float) -> float:
    """The log of a product from the logs of its factors (−inf when one factor is 0)."""
    return -math.inf if any(v == -math.inf for v in logs) else math.fsum(logs)


def _representable(product: float, log10: float, sign: float) -> float:
    """The float of a gradient: 0.0 below the smallest normal float; when the running product
    underflowed on the way but the value itself fits, it is rebuilt from its logarithm."""
    if log10 < LOG10_TINY:
        return 0.0
    if product == 0.0 or abs(product) < sys.float_info.min:
        return float(sign * 10.0**log10)
    return product


# -- facts the page words ---------------------------------------------------------------------


@dataclass(frozen=True)
class ZeroReason:
    """Why the gradients of ``layers`` are exactly 0: ``"cut"`` (a′(z_at) = 0 on every path
    from them to the output), ``"input"`` (the weight multiplies p_{k−1} = 0) or ``"weight"``
    (a weight of 0 further on)."""

    kind: str
    layers: tuple[int, ...]
    at: int = 0


def zero_reasons(result: VanishResult, chain: Chain) -> tuple[ZeroReason, ...]:
    """The exact zeros of ``chain``'s gradients, grouped by why they are 0."""
    dead = [j for j, ld in enumerate(chain.log10_derivatives, 1) if ld == -math.inf]
    log_inputs = (_log10_abs(result.exact_input), *chain.log10_p)
    groups: dict[tuple[str, int], list[int]] = {}
    for k in chain.zero_layers():
        cutting = [j for j in dead if j >= k]
        if cutting:
            key = ("cut", max(cutting))
        elif log_inputs[k - 1] == -math.inf:
            key = ("input", 0)
        elif result.weight == 0 and k < result.depth:
            key = ("weight", 0)
        else:  # pragma: no cover - every zero factor is one of the three
            key = ("other", 0)
        groups.setdefault(key, []).append(k)
    return tuple(ZeroReason(kind, tuple(ks), at) for (kind, at), ks in groups.items())


def grad_sign(result: VanishResult, chain: Chain, k: int) -> int:
    """The sign of ∂p_N/∂w_k (also of one too small for a float): sign(p_{k−1})·sign(W)^{N−k},
    since every a′ ≥ 0; 0 for an exact zero."""
    if chain.log10_grad[k - 1] == -math.inf:
        return 0
    before = result.input if k == 1 else chain.z[k - 2]  # p has the sign of z (σ: always +)
    positive = (chain.name in ("sigmoid", "relu") and k > 1) or before > 0
    negative_weights = (result.depth - k) % 2 == 1 and result.weight < 0
    return -1 if positive == negative_weights else 1


def below_layers(chain: Chain, log_ratio: float = -6.0) -> tuple[int, ...] | None:
    """Layers k < N whose |∂p_N/∂w_k| is below 10^log_ratio · |∂p_N/∂w_N| (exact zeros
    included); ``None`` when the last layer's gradient is 0 (no ratio exists)."""
    last = chain.log10_grad[-1]
    if last == -math.inf:
        return None
    return tuple(k for k, lg in enumerate(chain.log10_grad[:-1], 1) if lg - last < log_ratio)


def first_depth_below(
    result: VanishResult, name: str, log_ratio: float = -6.0
) -> tuple[int, int] | None:
    """``(depth, layer)``: the smallest depth up to :data:`MAX_DEPTH` at which, with the same
    weight, bias and input, some layer's gradient is below 10^log_ratio of the last layer's,
    and the first such layer; ``None`` when no depth that far does it (or the ratios are 0).

    Uses log|∂p_M/∂w_k| = A_k + C_M with C_M = Σ_{j≤M} log|W| a′(z_j) and
    A_k = log|p_{k−1}| + log a′(z_k) − C_k, from one pass of :data:`MAX_DEPTH` layers."""
    f = _forward(name, MAX_DEPTH, result.exact_weight, result.exact_bias, result.exact_input)
    log_w = _log10_abs(result.exact_weight)
    total, best, best_layer = 0.0, math.inf, 0
    for m in range(1, MAX_DEPTH + 1):
        total = _log_sum(total, log_w, f.log_d[m - 1])
        a_m = _log_sum(f.log_p[m - 1], f.log_d[m - 1]) - total if math.isfinite(total) else math.nan
        if not math.isfinite(a_m):
            return None
        if m > 1 and best - a_m < log_ratio:
            return m, best_layer
        if a_m < best:
            best, best_layer = a_m, m
    return None
