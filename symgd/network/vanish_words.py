"""The words of the vanishing-gradients page, and the numbers inside them.

Each sentence is built from the numbers of a :class:`~symgd.network.vanish.VanishResult` and the
facts :mod:`symgd.network.vanish` derives from them (which layers fall below 10⁻⁶ of the last,
where ReLU is cut, how many factors of 0.01 Leaky ReLU carries, what is exactly 0 and why);
a sentence that would not hold for the numbers is not said. Numbers are written exactly when
short (``1/4``, ``0.01``), as decimals otherwise, and from their logarithm when a float cannot
hold them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from symgd.base.i18n import _, current, n_
from symgd.network.vanish import (
    LEAK,
    LOG10_TINY,
    Chain,
    VanishResult,
    below_layers,
    first_depth_below,
    grad_sign,
    zero_reasons,
)

#: the ratio the page asks about: 10⁻⁶ of the last layer's gradient
LOG_RATIO = -6.0

SLOPE_TEXT = {"sigmoid": "σ′", "tanh": "tanh′", "relu": "ReLU′", "leaky_relu": "Leaky ReLU′"}
#: the bound of a smooth activation's slope, which rounding must not make a factor look equal to
BOUND_VALUES = {"sigmoid": 0.25, "tanh": 1.0}
_UNSUP = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# -- numbers as text and LaTeX ----------------------------------------------------------------


def exact_text(value: Fraction) -> str | None:
    """A short exact rational for prose (``1/4``, ``0.01``, ``−3``), ``None`` when long."""
    num, den = abs(value.numerator), value.denominator
    sign = "−" if value < 0 else ""
    if den == 1:
        return f"{sign}{num}" if num < 10**12 else None
    power = round(math.log10(den))
    if 10**power == den and power <= 8 and num < 10**8:
        return f"{sign}{num / den:.{power}f}"
    if num < 10**6 and den < 10**6:
        return f"{sign}{num}/{den}"
    return None


def log_text(log10: float, sign: int = 1, digits: int = 4) -> str:
    """A size known by its logarithm, for prose: ``3.2 × 10⁻⁶⁷⁰`` (also below float range)."""
    exponent = math.floor(log10)
    mantissa = 10.0 ** (log10 - exponent)
    text = f"{mantissa:.{digits}g}"
    if text.startswith("10"):
        text, exponent = "1", exponent + 1
    minus = "−" if sign < 0 else ""
    if -3 <= exponent <= 4:
        return minus + f"{10.0**log10:.{digits}g}"
    return f"{minus}{text} × 10{str(exponent).translate(_SUP)}"


def value_text(value: float, exact: Fraction | None, log10: float, sign: int = 1) -> str:
    """A table entry: the exact rational when short, the decimal, or (when it underflowed to
    0.0) its size from its logarithm, marked ≈."""
    from symgd.render.templates import number

    if exact is not None:
        short = exact_text(exact)
        if short is not None:
            return short
    if value == 0.0 and math.isfinite(log10):
        return "≈ " + log_text(log10, sign)
    return number(value, 4)


def value_tex(value: float, exact: Fraction | None, log10: float) -> str:
    """The same in LaTeX (for the worked products): ``\\tfrac{1}{4}``, ``0.01``, ``2.785 \\times
    10^{-7}``."""
    from symgd.render.latex import num_tex

    if exact is not None and exact_text(exact) is not None:
        num, den = abs(exact.numerator), exact.denominator
        if den != 10 ** round(math.log10(den)):
            body = rf"\tfrac{{{num}}}{{{den}}}"
            return f"-{body}" if exact < 0 else body
        return exact_text(exact).replace("−", "-")  # type: ignore[union-attr]
    if value == 0.0 and math.isfinite(log10):
        exponent = math.floor(log10)
        return rf"{10.0 ** (log10 - exponent):.4g} \times 10^{{{exponent}}}"
    return num_tex(value, 4)


def layers_text(layers: Sequence[int]) -> str:
    """``layers 1–4, 7 and 9`` (``layer 3`` for one)."""
    runs: list[tuple[int, int]] = []
    for k in layers:
        if runs and k == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in runs]
    if len(parts) == 1:
        return n_("layer {layers}", "layers {layers}", len(layers)).format(layers=parts[0])
    return _("layers {layers} and {last}").format(layers=", ".join(parts[:-1]), last=parts[-1])


def layer_name(k: int) -> str:
    """``layer 3``."""
    return _("layer {k}").format(k=k)


def plain(value: float) -> str:
    from symgd.render.templates import number

    return number(value, 10)


def _cap(text: str) -> str:
    """``text`` with its first letter upper-case (the rest as it is, unlike ``capitalize``);
    as it is in a language without capitals."""
    if current() != "en":
        return text
    return text[:1].upper() + text[1:]


def subscript(n: int) -> str:
    return str(n).translate(_SUB)


def grad_text(result: VanishResult, chain: Chain, k: int) -> str:
    i = k - 1
    return value_text(
        chain.grad_w[i], chain.exact_grad[i], chain.log10_grad[i], grad_sign(result, chain, k)
    )


def log_tex(log10: float, sign: int = 1) -> str:
    """:func:`log_text` in LaTeX: ``2.785 \\times 10^{-7}`` (a plain decimal from 0.001 to
    10⁴)."""
    exponent = math.floor(log10)
    mantissa = f"{10.0 ** (log10 - exponent):.4g}"
    if mantissa.startswith("10"):
        mantissa, exponent = "1", exponent + 1
    minus = "-" if sign < 0 else ""
    if -3 <= exponent <= 4:
        return minus + f"{10.0**log10:.4g}"
    return rf"{minus}{mantissa} \times 10^{{{exponent}}}"


def chain_words(result: VanishResult, chain: Chain) -> list[dict[str, Any]]:
    """What this chain's numbers say: each sentence as parts (text, or LaTeX between ``$``
    signs in the source) and as plain text."""
    sentences = []
    if chain.name in ("sigmoid", "tanh"):
        sentences += [_factor_sentence(result, chain), _bound_sentence(result, chain)]
    elif chain.name == "relu":
        sentences.append(_relu_sentence(result, chain))
    else:
        sentences.append(_leaky_sentence(result, chain))
    sentences += _zero_sentences(result, chain)
    sentences.append(_vanish_sentence(result, chain))
    return [said(s) for s in sentences if s]


def said(sentence: str) -> dict[str, Any]:
    """``"a $x^2$ b"`` → ``{"parts": [...], "text": "a x^2 b"}``: each part has ``"latex"`` (a
    formula) or ``"text"``, the other empty."""
    pieces = sentence.split("$")
    parts = [
        {"latex": piece, "text": ""} if i % 2 else {"latex": "", "text": piece}
        for i, piece in enumerate(pieces)
        if piece
    ]
    return {"parts": parts, "text": "".join(pieces)}


def _factor_sentence(result: VanishResult, chain: Chain) -> str:
    """The range of the factors a′(zₖ) met, and where the smallest and largest were."""
    logs = chain.log10_derivatives
    k_min = min(range(len(logs)), key=lambda i: logs[i]) + 1
    k_max = max(range(len(logs)), key=lambda i: logs[i]) + 1
    smallest = slope_text(chain, k_min)
    if result.depth == 1:
        return _("The one factor here is a′(z₁) = {slope}, at z₁ = {z}.").format(
            slope=smallest, z=_z_text(chain, 1)
        )
    if logs[k_min - 1] == logs[k_max - 1]:
        return _("Every factor a′(zₖ) here is {slope}, at zₖ = {z}.").format(
            slope=smallest, z=_z_text(chain, 1)
        )
    zs = [abs(z) for z in chain.z]
    return _(
        "{name} is largest at z = 0 and falls as |z| grows. Here |zₖ| runs from {low} to "
        "{high}, and the factors a′(zₖ) from {smallest} (layer {k_min}, z{sub_min} = {z_min}) "
        "to {largest} (layer {k_max}, z{sub_max} = {z_max})."
    ).format(
        name=SLOPE_TEXT[chain.name],
        low=_plain_short(min(zs)),
        high=_plain_short(max(zs)),
        smallest=smallest,
        k_min=k_min,
        sub_min=subscript(k_min),
        z_min=_z_text(chain, k_min),
        largest=slope_text(chain, k_max),
        k_max=k_max,
        sub_max=subscript(k_max),
        z_max=_z_text(chain, k_max),
    )


def slope_text(chain: Chain, k: int) -> str:
    i = k - 1
    d, exact = chain.derivatives[i], chain.exact_derivatives[i]
    if exact is None and chain.name in BOUND_VALUES:
        return below_bound_text(d, BOUND_VALUES[chain.name])
    return value_text(d, exact, chain.log10_derivatives[i])


def below_bound_text(value: float, bound: float) -> str:
    """``value`` (not exactly ``bound``) with enough digits not to read as the bound: 0.2499998
    is not shown as 0.25; past 12 digits it is "just below 0.25"."""
    from symgd.render.templates import number

    if value == 0.0:
        return value_text(value, None, math.nan)
    for digits in (4, 6, 8, 10, 12):
        text = number(value, digits)
        try:
            shown = float(text.replace("−", "-").replace(" × 10", "e").translate(_UNSUP))
        except ValueError:  # 10⁻⁷ and the like: not the bound
            return text
        if shown != bound:
            return text
    return just_below_text(bound)


def just_below_text(bound: float) -> str:
    """``just below 0.25``."""
    from symgd.render.templates import number

    return _("just below {bound}").format(bound=number(bound))


def just_below_tex(bound: float) -> str:
    """LaTeX for "just below ``bound``" (``≲ bound`` outside English: no words in formulas)."""
    from symgd.render.templates import number

    if current() == "en":
        return r"\text{just below }" + number(bound)
    return r"\lesssim " + number(bound)


def _z_text(chain: Chain, k: int) -> str:
    return value_text(chain.z[k - 1], chain.exact_z[k - 1], math.nan)


def _plain_short(value: float) -> str:
    from symgd.render.templates import number

    return number(value, 4)


def _bound_sentence(result: VanishResult, chain: Chain) -> str:
    """|∂p_N/∂w₁| ≤ |x|·|W|^(N−1)·c^N with c = 1/4 (σ) or 1 (tanh), against the actual value."""
    n, x, w = result.depth, abs(result.input), abs(result.weight)
    if x == 0 or (w == 0 and n > 1):
        return ""
    sigmoid = chain.name == "sigmoid"
    log_bound = math.log10(x) + (n - 1) * (math.log10(w) if n > 1 else 0.0)
    log_bound += n * math.log10(0.25) if sigmoid else 0.0
    formula = r"|x|\,|W|^{" + f"{n - 1}" + "}" if n > 1 else "|x|"
    if sigmoid:
        formula += r"\,(1/4)^{" + f"{n}" + "}"
    name = "σ′ ≤ 1/4" if sigmoid else "tanh′ ≤ 1"
    inequality = rf"|\partial p_{{{n}}}/\partial w_1| \le {formula}"
    actual = chain.log10_grad[0]
    if math.isfinite(actual):
        return _(
            "Since every {name}, whatever the bias, ${inequality}$ = {bound}; here it is {actual}."
        ).format(
            name=name, inequality=inequality, bound=log_text(log_bound), actual=log_text(actual)
        )
    return _("Since every {name}, whatever the bias, ${inequality}$ = {bound}.").format(
        name=name, inequality=inequality, bound=log_text(log_bound)
    )


def _relu_sentence(result: VanishResult, chain: Chain) -> str:
    """Why ReLU passes the gradient back (every zₖ > 0), or where it stops it."""
    dead = [k for k, d in enumerate(chain.exact_derivatives, 1) if d == 0]
    n, w = result.depth, result.weight
    if not dead:
        k_min = min(range(n), key=lambda i: chain.z[i]) + 1
        if n == 1:
            return _("z₁ = {z} is positive, so the one ReLU′ factor is exactly 1.").format(
                z=_z_text(chain, 1)
            )
        sentence = _(
            "Every pre-activation zₖ is positive (the smallest is z{sub} = {z}), so every ReLU′ "
            "factor is exactly 1 and the way back multiplies only by the weights: ${formula}$."
        ).format(
            sub=subscript(k_min),
            z=_z_text(chain, k_min),
            formula=rf"\partial p_{{{n}}}/\partial w_k = p_{{k-1}}\, W^{{{n}-k}}",
        )
        if abs(w) == 1:
            return sentence + _(" With |W| = 1 nothing shrinks on the way back.")
        if abs(w) < 1:
            tail = _(
                " With |W| = {w} that product of weights shrinks by a factor {w} per layer "
                "going back: this comes from the weights, not from the activation."
            )
        else:
            tail = _(
                " With |W| = {w} that product of weights grows by a factor {w} per layer "
                "going back: this comes from the weights, not from the activation."
            )
        return sentence + tail.format(w=plain(abs(w)))
    last = max(dead)
    z = chain.exact_z[last - 1]
    sub = subscript(last)
    if z == 0:
        how = _("z{sub} is exactly 0 (symgd takes ReLU′(0) = 0)").format(sub=sub)
    else:
        how = _("z{sub} = {z} is negative").format(sub=sub, z=_z_text(chain, last))
    others = [k for k in dead if k != last]
    sentence = n_(
        "At layer {last} the pre-activation {how}, so ReLU′(z{sub}) = 0 and p{sub} = 0. Every "
        "path from {layers} to the output passes through layer {last}, so its weight gets a "
        "gradient of exactly 0.",
        "At layer {last} the pre-activation {how}, so ReLU′(z{sub}) = 0 and p{sub} = 0. Every "
        "path from {layers} to the output passes through layer {last}, so their weights get a "
        "gradient of exactly 0.",
        last,
    ).format(last=last, how=how, sub=sub, layers=layers_text(list(range(1, last + 1))))
    if others:
        sentence += n_(
            " ({layers} has z ≤ 0 as well.)", " ({layers} have z ≤ 0 as well.)", len(others)
        ).format(layers=_cap(layers_text(others)))
    return sentence


def _leaky_sentence(result: VanishResult, chain: Chain) -> str:
    """How many factors of 0.01 each gradient carries."""
    negative = [k for k, z in enumerate(chain.exact_z, 1) if z is not None and z <= 0]
    if not negative:
        return _(
            "Every pre-activation zₖ is positive, so every Leaky ReLU′ factor is 1, just as "
            "ReLU's would be."
        )
    m = len(negative)
    first = chain.log10_grad[0]
    sentence = n_(
        "{layers} has z ≤ 0, where Leaky ReLU′ = {leak} instead of ReLU's 0: the path is "
        "scaled, not cut. The gradient of layer 1 passes through {m} such factor, ${power}$ = "
        "{size}",
        "{layers} have z ≤ 0, where Leaky ReLU′ = {leak} instead of ReLU's 0: the path is "
        "scaled, not cut. The gradient of layer 1 passes through {m} such factors, ${power}$ = "
        "{size}",
        m,
    ).format(
        layers=_cap(layers_text(negative)),
        leak=_leak(),
        m=m,
        power=f"{_leak()}^{{{m}}}",
        size=log_text(m * math.log10(float(LEAK))),
    )
    if math.isfinite(first):
        return sentence + _(", and is {gradient}: scaled down, but not 0.").format(
            gradient=grad_text(result, chain, 1)
        )
    return sentence + _("; it is 0 for the reason below, not because of the leak.")


def _leak() -> str:
    return exact_text(LEAK) or str(float(LEAK))


def _zero_sentences(result: VanishResult, chain: Chain) -> list[str]:
    """Why each exact zero is 0 (the ReLU sentence already names a cut)."""
    sentences = []
    for reason in zero_reasons(result, chain):
        where = layers_text(reason.layers)
        count = len(reason.layers)
        if reason.kind == "cut" and chain.name != "relu":
            sentences.append(
                n_(
                    "The gradient of {layers} is 0: a′(z{sub}) = 0.",
                    "The gradients of {layers} are 0: a′(z{sub}) = 0.",
                    count,
                ).format(layers=where, sub=subscript(reason.at))
            )
        elif reason.kind == "input":
            inputs = ", ".join(f"p{subscript(k - 1)}" for k in reason.layers[:4])
            more = ", …" if len(reason.layers) > 4 else ""
            sentences.append(
                n_(
                    "The gradient of {layers} is exactly 0 because the weight multiplies an "
                    "input of 0 ({inputs} = 0): changing it changes nothing.",
                    "The gradients of {layers} are exactly 0 because each weight multiplies an "
                    "input of 0 ({inputs} = 0): changing it changes nothing.",
                    count,
                ).format(layers=where, inputs=inputs + more)
            )
        elif reason.kind == "weight":
            sentences.append(
                n_(
                    "The gradient of {layers} is 0 because every path back from the output "
                    "crosses a weight of 0.",
                    "The gradients of {layers} are 0 because every path back from the output "
                    "crosses a weight of 0.",
                    count,
                ).format(layers=where)
            )
    return sentences


def _vanish_sentence(result: VanishResult, chain: Chain) -> str:
    """Which layers' gradients are below 10⁻⁶ of the last layer's, or that none is (gradients
    that are exactly 0 are explained elsewhere and left out here)."""
    n = result.depth
    if n == 1:
        return _("With a single layer there is no earlier layer to compare with the last.")
    below = below_layers(chain, LOG_RATIO)
    if below is None:
        return _("The last layer's gradient is 0 here, so no ratio to it can be formed.")
    logs = chain.log10_grad
    zeros = bool(chain.zero_layers())
    below = tuple(k for k in below if math.isfinite(logs[k - 1]))
    apart = _("Apart from the gradients that are exactly 0, ") if zeros else ""
    if below:
        sentence = n_(
            "{apart}{layers} has a gradient below 10⁻⁶ of the last layer's: with the same "
            "learning rate its weight moves over a million times less per step of gradient "
            "descent.",
            "{apart}{layers} have gradients below 10⁻⁶ of the last layer's: with the same "
            "learning rate their weights move over a million times less per step of gradient "
            "descent.",
            len(below),
        ).format(apart=apart, layers=layers_text(below))
        if not zeros and below == tuple(range(1, below[-1] + 1)):
            sentence += _(
                " Going back from the output, it first drops below that at layer {k}."
            ).format(k=below[-1])
        return _cap(sentence)
    ratios = {k: logs[k - 1] - logs[-1] for k in range(1, n) if math.isfinite(logs[k - 1])}
    if not ratios:
        return ""
    exact = chain.exact_grad
    if all(g is not None for g in exact):  # compare exactly: the logs carry rounding
        last_exact = abs(exact[-1])  # type: ignore[arg-type]
        ratios = {k: _exact_log_ratio(exact[k - 1], last_exact) for k in ratios}
    if all(r == 0 for r in ratios.values()):
        return _cap(_("{apart}every layer's gradient equals the last layer's.").format(apart=apart))
    k = min(ratios, key=lambda j: ratios[j])
    if ratios[k] >= 0:
        return _cap(
            _(
                "{apart}every earlier layer's gradient is at least as large as the last "
                "layer's (the smallest ratio, layer {k}'s, is {ratio}): nothing vanishes here."
            ).format(apart=apart, k=k, ratio=log_text(ratios[k], 1, 3))
        )
    sentence = _(
        "{apart}no layer's gradient is below 10⁻⁶ of the last layer's at this depth; the "
        "smallest ratio to it is layer {k}'s, {ratio}."
    ).format(apart=apart, k=k, ratio=log_text(ratios[k], 1, 3))
    sentence = _cap(sentence)
    deeper = first_depth_below(result, chain.name, LOG_RATIO) if not zeros else None
    if deeper is not None and deeper[0] > n:
        sentence += _(
            " With the same weight, bias and input, {depth} layers is the shortest chain in "
            "which one falls below it (layer {k})."
        ).format(depth=deeper[0], k=deeper[1])
    return sentence


def _exact_log_ratio(value: Fraction | None, last: Fraction) -> float:
    """log₁₀ |value| / last, exactly 0.0 when the two are equal in size."""
    assert value is not None
    ratio = abs(value) / last
    if ratio == 1:
        return 0.0
    return math.log10(ratio.numerator) - math.log10(ratio.denominator)


def underflow_notes(result: VanishResult) -> list[str]:
    notes = []
    for chain in result.chains:
        layers = chain.underflowed()
        small_p = [
            k
            for k, (p, lp) in enumerate(zip(chain.p, chain.log10_p, strict=True), 1)
            if p == 0 and lp > -math.inf
        ]
        small_d = [
            k
            for k, (d, ld) in enumerate(
                zip(chain.derivatives, chain.log10_derivatives, strict=True), 1
            )
            if d == 0 and ld > -math.inf
        ]
        what = [
            _("the gradients of {layers}").format(layers=layers_text(layers)) if layers else "",
            _("a′(z) at {layers}").format(layers=layers_text(small_d)) if small_d else "",
            _("p at {layers}").format(layers=layers_text(small_p)) if small_p else "",
        ]
        what = [w for w in what if w]
        if what:
            notes.append(
                _(
                    "{label}: {values} are smaller than the smallest normal floating-point "
                    "number ({tiny}). The JSON holds 0.0 for them; the tables and the figure "
                    "give their size, computed from logarithms."
                ).format(label=chain.label, values="; ".join(what), tiny=log_text(LOG10_TINY, 1, 2))
            )
    return notes
