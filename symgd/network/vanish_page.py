"""The vanishing-gradients page (``templates/vanish.html.jinja2``): its context, HTML and PDF.

The sentences come from :mod:`symgd.network.vanish_words`; formulas are LaTeX for the
``math``/``dmath`` filters, figures inline SVG from :mod:`symgd.render.network_figures`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from symgd.base.errors import InputError
from symgd.base.files import check_output, output_folder, write_atomically
from symgd.base.i18n import _, current, language, n_
from symgd.network.vanish import (
    Chain,
    VanishResult,
    activation_slope,
    activation_value,
    grad_sign,
)
from symgd.network.vanish_words import (
    BOUND_VALUES,
    LOG_RATIO,
    below_bound_text,
    chain_words,
    exact_text,
    grad_text,
    just_below_tex,
    just_below_text,
    layer_name,
    log_tex,
    log_text,
    plain,
    slope_text,
    subscript,
    underflow_notes,
    value_tex,
    value_text,
)
from symgd.render.figure_data import PALETTE

TEMPLATE = "vanish.html.jinja2"
#: a table with more layers than this shows the first and last TABLE_ENDS only
TABLE_ALL = 30
TABLE_ENDS = 10
COLOURS = {"sigmoid": PALETTE[0], "tanh": PALETTE[2], "relu": PALETTE[1], "leaky_relu": PALETTE[3]}
#: a′ in LaTeX, and its bound
SLOPE_TEX = {
    "sigmoid": (r"\sigma'", r"\sigma'(z) = \sigma(z)\,\bigl(1 - \sigma(z)\bigr) \le \tfrac{1}{4}"),
    "tanh": (r"\tanh'", r"\tanh'(z) = 1 - \tanh^{2} z \le 1"),
    "relu": (r"\operatorname{ReLU}'", r"\operatorname{ReLU}'(z) \in \{0, 1\}"),
    "leaky_relu": (r"\operatorname{LReLU}'", r"\operatorname{LReLU}'(z) \in \{0.01,\ 1\}"),
}
# -- the context ------------------------------------------------------------------------------


def vanish_context(result: VanishResult) -> dict[str, Any]:
    """Everything ``vanish.html.jinja2`` shows, from one result."""
    from symgd import __version__

    n = result.depth
    setting = (
        f"N = {n}, W = {plain(result.weight)}, B = {plain(result.bias)}, x = {plain(result.input)}"
    )
    return {
        "language": current(),
        "generator": f"symgd {__version__}",
        "title": n_(
            "Vanishing gradients in a chain of {n} layer",
            "Vanishing gradients in a chain of {n} layers",
            n,
        ).format(n=n),
        "setting": setting,
        "depth": n,
        "labels": [c.label for c in result.chains],
        "formulas": _formulas(result),
        "bounds": [SLOPE_TEX[c.name][1] for c in result.chains],
        "summary": [_summary_row(result, c) for c in result.chains],
        "figures": _figures(result),
        "captions": _captions(result),
        "chains": [_chain_block(result, c) for c in result.chains],
        "notes": underflow_notes(result),
        "grad_head": f"∂p{subscript(n)}/∂wₖ",
        "heads": {
            "first": f"{layer_name(1)}: ∂p{subscript(n)}/∂w₁",
            "last": f"{layer_name(n)}: ∂p{subscript(n)}/∂w{subscript(n)}",
            "ratio": f"{layer_name(1)} ÷ {layer_name(n)}",
        },
    }


def _formulas(result: VanishResult) -> dict[str, Any]:
    """The network, the chain rule for ∂p_N/∂w₁ (its middle elided for N > 4) and for w_k."""
    n = result.depth
    network = [r"z_1 = w_1 x + b,\quad p_1 = a(z_1)"]
    if n > 1:
        network.append(
            r"z_k = w_k\, p_{k-1} + b,\quad p_k = a(z_k)\qquad (k = 2, \dots, " + f"{n})"
        )
    layers = list(range(n, 0, -1))
    if n > 4:
        layers = [n, n - 1, 0, 2, 1]  # 0: the dots
    leibniz, local = [], []
    for k in layers:
        if k == 0:
            leibniz.append(r"\cdots")
            local.append(r"\cdots")
        elif k == 1:
            leibniz.append(r"\frac{\partial p_1}{\partial z_1}\frac{\partial z_1}{\partial w_1}")
            local.append(r"a'(z_1)\, x")
        else:
            leibniz.append(
                rf"\frac{{\partial p_{{{k}}}}}{{\partial z_{{{k}}}}}"
                rf"\frac{{\partial z_{{{k}}}}}{{\partial p_{{{k - 1}}}}}"
            )
            local.append(rf"a'(z_{{{k}}})\, w_{{{k}}}")
    lhs = rf"\frac{{\partial p_{{{n}}}}}{{\partial w_1}}"
    return {
        "network": network,
        "leibniz": f"{lhs} = " + r"\,".join(leibniz),
        "local": f"{lhs} = " + r" \cdot ".join(local),
        "general": (
            rf"\frac{{\partial p_{{{n}}}}}{{\partial w_k}} = p_{{k-1}}\, a'(z_k)"
            + (rf"\prod_{{j=k+1}}^{{{n}}} w_j\, a'(z_j)" if n > 1 else "")
            + r", \qquad p_0 = x"
        ),
    }


#: how each activation's line is drawn: (dash, width, marker); ReLU's thick line shows under
#: Leaky ReLU's dashed one where the two coincide
LINE_STYLES = {
    "sigmoid": ("-", 1.8, "o"),
    "tanh": ("-", 1.8, "s"),
    "relu": ("-", 3.6, "D"),
    "leaky_relu": ("--", 1.5, "^"),
}


def _figures(result: VanishResult) -> dict[str, Any]:
    """Each figure twice: for a wide screen and print, and narrower for a phone."""
    from markupsafe import Markup

    from symgd.render.network_figures import GradientLine, layer_gradients_figure, slopes_figure

    panels = [_slope_panel(c) for c in result.chains]
    lines = [
        GradientLine(c.label, COLOURS[c.name], c.log10_grad, *LINE_STYLES[c.name])
        for c in result.chains
    ]
    reference = None
    if "sigmoid" in result.activations and result.depth > 1:
        last = result.chain("sigmoid").log10_grad[-1]
        if math.isfinite(last):
            reference = (last + LOG_RATIO, _("10⁻⁶ × sigmoid's last layer"))
    ylabel = f"|∂p{subscript(result.depth)}/∂wₖ|"
    figures: dict[str, Any] = {}
    for narrow, suffix in ((False, ""), (True, "_narrow")):
        end = "-narrow" if narrow else ""
        figures["slopes" + suffix] = Markup(
            slopes_figure(panels, narrow=narrow, name=f"fig-slopes{end}")
        )
        figures["gradients" + suffix] = Markup(
            layer_gradients_figure(
                lines,
                reference=reference,
                ylabel=ylabel,
                narrow=narrow,
                name=f"fig-gradients{end}",
            )
        )
    return figures


def _slope_panel(chain: Chain) -> Any:
    from symgd.render.network_figures import SlopePanel

    hits = [z for z in chain.z if math.isfinite(z)]
    lo = max(-30.0, min([-6.0, *[z * 1.1 for z in hits]]))
    hi = min(30.0, max([6.0, *[z * 1.1 for z in hits]]))
    zs = tuple(lo + (hi - lo) * i / 400 for i in range(401))
    bounds = {
        "sigmoid": (0.25, "1/4"),
        "tanh": (1.0, "1"),
        "relu": (1.0, "1"),
        "leaky_relu": (1.0, "1"),
    }
    ranges = {"sigmoid": (-0.08, 1.08), "tanh": (-1.12, 1.12)}
    bound, label = bounds[chain.name]
    return SlopePanel(
        title=chain.label,
        colour=COLOURS[chain.name],
        zs=zs,
        values=tuple(activation_value(chain.name, z) for z in zs),
        slopes=tuple(activation_slope(chain.name, z) for z in zs),
        zs_hit=chain.z,
        slopes_hit=chain.derivatives,
        bound=bound,
        bound_label=_("max {bound}").format(bound=label),
        y_range=ranges.get(chain.name, (-0.4, 1.6)),
    )


def _captions(result: VanishResult) -> dict[str, str]:
    zeros = any(c.zero_layers() for c in result.chains)
    tiny = any(c.underflowed() for c in result.chains)
    return {
        "slopes": _(
            "Each activation a(z) (grey) and its derivative a′(z) (in colour), with the bound on "
            "a′ dotted. The circles are the factors a′(zₖ) this chain met, one per layer; a "
            "triangle at the edge of a panel stands for a zₖ beyond the part of the axis drawn."
        ),
        "gradients": (
            _(
                "The size of the gradient of each layer's weight, on a logarithmic axis: a "
                "straight falling line going back from the last layer is a gradient that shrinks "
                "by the same factor at every layer."
            )
            + (
                _(
                    " A gradient that is exactly 0 has no place on a log axis; it is marked with "
                    "a × in the strip below the dashed line, one row per activation."
                )
                if zeros
                else ""
            )
            + (
                _(
                    " Gradients too small for a floating-point number are drawn at their true "
                    "size, computed from logarithms."
                )
                if tiny
                else ""
            )
        ),
    }


def _summary_row(result: VanishResult, chain: Chain) -> dict[str, str]:
    n = result.depth
    first, last = chain.log10_grad[0], chain.log10_grad[-1]
    if last == -math.inf:
        ratio = _("— (last is 0)")
    elif first == -math.inf:
        ratio = "0"
    elif chain.exact_grad[0] is not None and chain.exact_grad[-1] is not None:
        exact_ratio = chain.exact_grad[0] / chain.exact_grad[-1]
        ratio = value_text(float(exact_ratio), exact_ratio, first - last)
    else:
        ratio = log_text(first - last, grad_sign(result, chain, 1) * grad_sign(result, chain, n), 4)
    return {
        "label": chain.label,
        "bound": chain.bound,
        "first": grad_text(result, chain, 1),
        "last": grad_text(result, chain, n),
        "ratio": ratio if n > 1 else "—",
    }


# -- one activation ---------------------------------------------------------------------------


def _chain_block(result: VanishResult, chain: Chain) -> dict[str, Any]:
    n = result.depth
    shown = list(range(1, n + 1))
    if n > TABLE_ALL:
        shown = [*range(1, TABLE_ENDS + 1), 0, *range(n - TABLE_ENDS + 1, n + 1)]
    rows: list[dict[str, Any] | None] = []
    for k in shown:
        if k == 0:
            rows.append(None)
            continue
        i = k - 1
        rows.append(
            {
                "k": k,
                "z": value_text(chain.z[i], chain.exact_z[i], math.nan),
                "p": value_text(chain.p[i], chain.exact_p[i], chain.log10_p[i]),
                "d": slope_text(chain, k),
                "g": grad_text(result, chain, k),
            }
        )
    return {
        "id": chain.name.replace("_", "-"),
        "label": chain.label,
        "bound_latex": SLOPE_TEX[chain.name][1],
        "product_latex": _product_latex(result, chain),
        "words": chain_words(result, chain),
        "rows": rows,
        "left_out": (
            _(
                "Layers {first}–{last} are left out of this table; the figure shows them all, "
                "and --json lists every value."
            ).format(first=TABLE_ENDS + 1, last=n - TABLE_ENDS)
            if n > TABLE_ALL
            else ""
        ),
    }


def _product_latex(result: VanishResult, chain: Chain) -> list[str]:
    """∂p_N/∂w₁ with this chain's numbers: x · a′(z₁) · (W a′(z₂)) ⋯ (W a′(z_N))."""
    n = result.depth
    slope = SLOPE_TEX[chain.name][0]
    w = value_tex(result.weight, result.exact_weight, math.nan)

    def factor(k: int) -> str:
        i = k - 1
        d = value_tex(chain.derivatives[i], chain.exact_derivatives[i], chain.log10_derivatives[i])
        if chain.exact_derivatives[i] is None and chain.name in BOUND_VALUES:
            text = below_bound_text(chain.derivatives[i], BOUND_VALUES[chain.name])
            if "×" not in text:
                d = text.replace("−", "-")
                if text == just_below_text(BOUND_VALUES[chain.name]):
                    d = just_below_tex(BOUND_VALUES[chain.name])
        return d if k == 1 else rf"\left({w} \cdot {d}\right)"

    ks: list[int] = [1, 2, 0, n] if n > 4 else list(range(1, n + 1))
    parts = [value_tex(result.input, result.exact_input, math.nan)]
    parts += [r"\cdots" if k == 0 else factor(k) for k in ks]
    symbols = rf"x\, {slope}(z_1)" + (
        rf" \prod_{{j=2}}^{{{n}}} w_j\, {slope}(z_j)" if n > 1 else ""
    )
    lg = chain.log10_grad[0]
    exact = chain.exact_grad[0]
    if exact is not None and exact_text(exact) is not None:
        total = f"= {value_tex(chain.grad_w[0], exact, lg)}"
    elif lg == -math.inf:
        total = "= 0"
    else:
        total = rf"\approx {log_tex(lg, grad_sign(result, chain, 1))}"
    return [
        rf"\frac{{\partial p_{{{n}}}}}{{\partial w_1}} = {symbols}",
        "= " + r" \cdot ".join(parts) + f" {total}",
    ]


# -- HTML, PDF, files -------------------------------------------------------------------------


def render_vanish_page(result: VanishResult, templates_dir: str | Path | None = None) -> str:
    """The page as one self-contained HTML document."""
    from symgd.render.templates import make_env

    env = make_env(templates_dir)
    with language(result.lang):
        return str(env.get_template(TEMPLATE).render(**vanish_context(result)))


def vanish_pdf(html: str, *, paper: str = "A4") -> bytes:
    """``html`` (the page) printed to PDF with page numbers."""
    from symgd.render.pdf import render_pdf

    return render_pdf(html, paper=paper)


def save_page(
    data: str | bytes, directory: str | Path, name: str, *, follow_symlinks: bool = False
) -> Path:
    """Write ``data`` to ``directory/name`` atomically (the folder is created if needed)."""
    try:
        folder = output_folder(directory, follow_symlinks=follow_symlinks)
        check_output(folder / name, follow_symlinks=follow_symlinks)
        payload = data.encode("utf-8") if isinstance(data, str) else data
        return write_atomically(folder / name, payload, follow_symlinks=follow_symlinks)
    except OSError as exc:
        raise InputError(f"cannot write {Path(directory) / name}: {exc.strerror or exc}") from None
