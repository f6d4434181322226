"""The backpropagation page: the context of ``templates/backprop.html.jinja2``, its HTML, its
PDF (printed as the lesson is, with ``print.css``) and the files ``symgd backprop`` writes.

Every sentence is built from the numbers of the :class:`~symgd.network.backprop.BackpropResult`
it describes. A graph with many operations gets its tables in plain text instead of typeset
formulas (:data:`MAX_TYPESET_NODES`), so that the page stays quick to make.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sympy as sp
from markupsafe import Markup

from symgd.base.files import check_output, output_folder, write_atomically
from symgd.base.i18n import N_, _, current, language, n_, pgettext
from symgd.calculus.step import RULE_TITLES
from symgd.expr.problem import to_text
from symgd.network.backprop import BackpropResult, Stage
from symgd.network.graph import Graph, Node, Term, label_tex, local_tex, op_tex, op_text
from symgd.network.layout import GraphNode, graph_svg
from symgd.numeric.finite_difference import H
from symgd.render.latex import num_tex, tex
from symgd.render.templates import number

#: a graph with more operations than this gets plain-text tables (typesetting costs ~10 ms a
#: formula)
MAX_TYPESET_NODES = 80
#: an exact value whose LaTeX is longer than this is shown as a decimal only
MAX_SHOWN_EXACT = 120
TEMPLATE = "backprop.html.jinja2"

_STAGE_WORDS = {
    "loss": N_(
        "The operations above the last activation: they turn the network's output into the loss."
    ),
    "activation": N_("The activation functions of this layer."),
    "affine": N_(
        "The sums and products that make this layer's pre-activation from the layer below and "
        "its weights."
    ),
    "parameters": N_("The leaves the gradient is wanted for: their adjoints are the gradient."),
}


def backprop_context(result: BackpropResult) -> dict[str, Any]:
    """Everything ``backprop.html.jinja2`` shows, from one worked backward pass, in the
    language in effect."""
    graph = result.graph
    operations = sum(1 for n in graph.nodes if not n.is_leaf)
    output = graph.nodes[graph.output]
    return {
        "title": _("Backpropagation through {source}").format(source=result.source),
        "source": result.source,
        "math": operations <= MAX_TYPESET_NODES,
        "loss_latex": f"{label_tex(output)} = {tex(result.problem.expr)}"
        if not output.is_leaf
        else tex(result.problem.expr),
        "intro": _intro(result),
        "point": _point_rows(result),
        "graph": _graph_block(result),
        "forward": [_forward_row(graph, result, n) for n in graph.nodes if not n.is_leaf],
        "loss": _value_pair(result.values.exact[graph.output], result.values.decimal[graph.output]),
        "output_label": output.label,
        "output_tex": label_tex(output),
        "backward": _backward_groups(result),
        # the users u of v under the sum: words in English, an edge v → u in other languages
        "sum_under": r"u \text{ uses } v" if current() == "en" else r"v \to u",
        "layers": _layers_sentence(result.stages),
        "gradient": _gradient_rows(result),
        "agreement": _agreement(result),
        "step": _update_block(result) if result.update is not None else None,
        "notes": list(result.notes),
        "operations": operations,
    }


def _cell(latex: str, text: str) -> dict[str, str]:
    return {"latex": latex, "text": text}


def _intro(result: BackpropResult) -> list[str]:
    graph = result.graph
    count = len(graph.nodes)
    operations = sum(1 for n in graph.nodes if not n.is_leaf)
    return [
        _(
            "The loss is a chain of small operations. Written as a graph it has {count} nodes: "
            "{leaves} leaves (the variables and constants) and {operations} operations, each "
            "computed from nodes to its left."
        ).format(count=count, leaves=count - operations, operations=operations),
        _(
            "The forward pass works from the leaves to the loss, left to right: each node "
            "applies its operation to numbers that are already known. The backward pass goes "
            "the other way. It starts at the loss, whose derivative with respect to itself is "
            "1, and visits the nodes in reverse order. At each node it adds up what the node's "
            "users send back: every user's adjoint (∂L/∂user) times the user's local "
            "derivative with respect to this node, a derivative of one small operation, named "
            "by its rule."
        ),
        _(
            "This is the chain rule, organised so that nothing is done twice: a node is "
            "visited only after all of its users, so its adjoint is computed once and then "
            "reused by everything below it, instead of multiplying out every path from the "
            "node to the loss separately. The adjoints of the parameters are the gradient."
        ),
    ]


def _point_rows(result: BackpropResult) -> list[dict[str, Any]]:
    rows = []
    for name in result.problem.names:
        node = result.graph.by_name(name)
        exact = result.values.exact[node.id]
        rows.append(
            {
                "name": _cell(label_tex(node), name),
                "parameter": name in result.wrt,
                "role": _("parameter") if name in result.wrt else _("held fixed"),
                "value": _value_pair(exact, result.values.decimal[node.id]),
            }
        )
    return rows


def graph_nodes(result: BackpropResult) -> list[GraphNode]:
    """The nodes as the layout draws them: name and operation, value, adjoint."""
    graph = result.graph
    drawn = []
    for node in graph.nodes:
        value = number(float(result.values.decimal[node.id]), 4)
        adjoint = result.adjoints.decimal[node.id]
        if node.op == "constant":
            lines: tuple[str, ...] = (_shorten(node.label, 14),)
            kind = "constant"
        else:
            head = node.label if node.is_leaf else f"{node.label} = {op_text(graph, node)}"
            if len(head) > 20:
                head = f"{node.label} = {node.op}"
            lines = (head, _("val {value}").format(value=value))
            if adjoint is not None:
                lines += (_("adj {value}").format(value=number(float(adjoint), 4)),)
            kind = _kind(result, node)
        drawn.append(GraphNode(node.id, node.inputs, lines, kind))
    return drawn


def _kind(result: BackpropResult, node: Node) -> str:
    if node.id == result.graph.output:
        return "output"
    if node.op == "variable":
        return "parameter" if node.label in result.wrt else "input"
    return "operation"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _graph_block(result: BackpropResult) -> dict[str, Any]:
    graph = result.graph
    shared = [
        n
        for n in graph.nodes
        if n.op != "constant"
        and result.adjoints.decimal[n.id] is not None
        and len({u for u, _ in graph.users[n.id]}) > 1
    ]
    sentences = []
    for node in shared[:6]:
        users = sorted({graph.nodes[u].label for u, _ in graph.users[node.id]})
        sentences.append(
            _(
                "{node} is used by {count} nodes ({users}): it is computed once, and its "
                "adjoint adds up the shares sent back by each of them."
            ).format(node=node.label, count=len(users), users=", ".join(users))
        )
    if len(shared) > 6:
        sentences.append(
            _("{count} more nodes have more than one user.").format(count=len(shared) - 6)
        )
    if not shared:
        sentences.append(
            _(
                "No node the backward pass visits has more than one user here, so each adjoint "
                "has a single share."
            )
        )
    title = _("The computational graph of {source}").format(source=result.source)
    caption = _(
        "Forward order runs left to right. Each box shows the node and its operation, its "
        "value (val) and its adjoint ∂L/∂node (adj). Blue boxes are the parameters, grey ones "
        "the variables held fixed, dashed ones constants; the loss is the orange box."
    )
    if _skipped(result):
        caption += " " + _("Nodes no parameter feeds have no adjoint: it is not needed.")
    return {
        "svg": Markup(graph_svg(graph_nodes(result), title)),
        "caption": caption,
        "shared": sentences,
    }


def _skipped(result: BackpropResult) -> bool:
    return any(
        result.adjoints.decimal[n.id] is None for n in result.graph.nodes if n.op != "constant"
    )


def _value_pair(exact: Any, decimal: Any) -> dict[str, Any]:
    """The exact form (when there is a short one) and the decimal, as LaTeX and text."""
    shown = None
    if exact is not None and not exact.is_Float:
        latex = tex(exact)
        if len(latex) <= MAX_SHOWN_EXACT:
            shown = _cell(latex, to_text(exact))
    value = float(decimal)
    return {
        "exact": shown,
        "decimal": _cell(num_tex(value, 6), number(value, 6)),
        "same": exact is not None and exact.is_Rational and _short_decimal(exact),
    }


def _short_decimal(value: Any) -> bool:
    """True when ``value`` (a rational) is exactly the decimal shown for it."""
    return bool(sp.Rational(f"{float(value):.6g}") == value)


def _forward_row(graph: Graph, result: BackpropResult, node: Node) -> dict[str, Any]:
    inputs = [graph.nodes[i] for i in node.inputs]
    return {
        "node": _cell(label_tex(node), node.label),
        "operation": _cell(op_tex(graph, node), op_text(graph, node)),
        "inputs": [
            _cell(
                f"{label_tex(i)} = {num_tex(float(result.values.decimal[i.id]), 4)}",
                f"{i.label} = {number(float(result.values.decimal[i.id]), 4)}",
            )
            for i in inputs
            if i.op != "constant"
        ],
        "value": _value_pair(result.values.exact[node.id], result.values.decimal[node.id]),
    }


def _partial(top: str, bottom: str) -> str:
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def _backward_row(result: BackpropResult, index: int) -> dict[str, Any]:
    graph, adjoints = result.graph, result.adjoints
    node = graph.nodes[index]
    me = label_tex(node)
    out = label_tex(graph.nodes[graph.output])
    terms = [_term_cell(result, term, me, out) for term in adjoints.terms[index]]
    value = _value_pair(adjoints.exact[index], adjoints.decimal[index])
    start = index == graph.output
    return {
        "node": _cell(me, node.label),
        "start": start,
        "terms": terms,
        "adjoint": _cell(
            f"{_partial(out, me)} {_equals(float(adjoints.decimal[index]), 6)}",
            f"∂{graph.nodes[graph.output].label}/∂{node.label} = {value['decimal']['text']}",
        ),
        "exact": value["exact"] if not value["same"] else None,
    }


def _term_cell(result: BackpropResult, term: Term, me: str, out: str) -> dict[str, Any]:
    graph = result.graph
    user = graph.nodes[term.user]
    mine = graph.nodes[user.inputs[term.position]].label
    them = label_tex(user)
    forms = local_tex(graph, term)
    local_value = float(term.local_value)
    adjoint_value = float(result.adjoints.decimal[term.user])
    names = {
        s: sp.Symbol(graph.nodes[i].label) for s, i in zip(user.slots, user.inputs, strict=True)
    }
    shown = _bare(num_tex(local_value, 4))
    return {
        "rule": rule_title(term.rule),
        "user": user.label,
        "local": _cell(
            " = ".join([_partial(them, me), *(f for f in forms if _bare(f) != shown)])
            + f" {_equals(local_value, 4)}",
            f"∂{user.label}/∂{mine} = {to_text(term.local.xreplace(names))} = "
            f"{number(local_value, 4)}",
        ),
        "share": _cell(
            rf"{_partial(out, them)} \cdot {_partial(them, me)} = "
            rf"{_paren(num_tex(adjoint_value, 4))} \cdot {_paren(num_tex(local_value, 4))} "
            f"{_equals(float(term.contribution), 4)}",
            f"{number(adjoint_value, 4)} × {number(local_value, 4)} = "
            f"{number(float(term.contribution), 4)}",
        ),
    }


def rule_title(rule: str) -> str:
    """The name of a local derivative's rule, in the language in effect: the derivative
    steps' title (:data:`~symgd.calculus.step.RULE_TITLES`), or for an operation they do not
    name (``max``, ``atan2``) the operation's own name."""
    if rule in RULE_TITLES:
        return _(RULE_TITLES[rule])
    operation = rule.replace("_", " ").capitalize()
    return pgettext("the rule of an operation without a named rule", "{operation}").format(
        operation=operation
    )


def _equals(value: float, digits: int) -> str:
    """``= 0.25`` when the shown digits are the value, else ``\\approx 0.2500``."""
    shown = num_tex(value, digits)
    try:
        same = float(f"{value:.{digits}g}") == value
    except ValueError:
        same = False
    return f"= {shown}" if same else rf"\approx {shown}"


def _bare(latex: str) -> str:
    return latex.replace("{", "").replace("}", "").replace(" ", "")


def _paren(latex: str) -> str:
    return rf"\left({latex}\right)" if latex.lstrip("{").startswith("-") else latex


def _backward_groups(result: BackpropResult) -> list[dict[str, Any]]:
    stages: Sequence[Stage | None] = result.stages or [None]
    groups = []
    for stage in stages:
        nodes = result.order if stage is None else stage.nodes
        groups.append(
            {
                "title": None if stage is None else stage.title,
                "words": None if stage is None else _(_STAGE_WORDS[stage.kind]),
                "rows": [_backward_row(result, i) for i in nodes],
            }
        )
    return groups


def _layers_sentence(stages: tuple[Stage, ...] | None) -> str | None:
    if stages is None:
        return None
    layers = max((s.layer or 0 for s in stages), default=0)
    return n_(
        "The expression has the shape of a network with {n} layer of activations, so the rows "
        "are grouped as a network is trained: first the loss stage, then for each layer from "
        "the top down its activation stage and its affine stage, and last the parameters. The "
        "rule: a call of σ, tanh, ReLU, leaky ReLU or softplus is an activation, one layer "
        "above the deepest activation feeding it; the sums and products leading into it are "
        "its affine stage; everything that feeds no activation belongs to the loss.",
        "The expression has the shape of a network with {n} layers of activations, so the rows "
        "are grouped as a network is trained: first the loss stage, then for each layer from "
        "the top down its activation stage and its affine stage, and last the parameters. The "
        "rule: a call of σ, tanh, ReLU, leaky ReLU or softplus is an activation, one layer "
        "above the deepest activation feeding it; the sums and products leading into it are "
        "its affine stage; everything that feeds no activation belongs to the loss.",
        layers,
    ).format(n=layers)


def _gradient_rows(result: BackpropResult) -> list[dict[str, Any]]:
    rows = []
    for name in result.wrt:
        node = result.graph.by_name(name)
        ours = result.gradient[name]
        by_diff = result.sympy_gradient[name]
        numerical = result.numerical_gradient[name]
        exact = result.adjoints.exact[node.id]
        rows.append(
            {
                "name": _cell(
                    _partial(label_tex(result.graph.nodes[result.graph.output]), label_tex(node)),
                    name,
                ),
                "backprop": _value_pair(exact, result.adjoints.decimal[node.id]),
                "sympy": _cell(num_tex(by_diff, 10), number(by_diff, 10)),
                "sympy_gap": _gap_cell(_gap(result, name)),
                "numerical": _cell(num_tex(numerical, 10), number(numerical, 10)),
                "numerical_gap": _gap_cell(abs(ours - numerical)),
            }
        )
    return rows


def _gap(result: BackpropResult, name: str) -> float:
    node = result.graph.by_name(name)
    try:
        return float(
            abs(result.adjoints.decimal[node.id] - sp.Float(result.sympy_gradient[name], 30))
        )
    except (TypeError, ValueError):
        return math.nan


def _gap_cell(value: float) -> dict[str, str]:
    return _cell(num_tex(value, 2), number(value, 2))


def _agreement(result: BackpropResult) -> str:
    """One sentence that ties the three gradients together, from their actual differences."""
    a, b = result.max_abs_error_vs_exact, result.max_abs_error_numerical
    if math.isnan(a):
        return _(
            "sympy.diff of the whole expression has no value at this point, so the first check "
            "could not be made."
        )
    if math.isnan(b):
        return _(
            "The backward pass and sympy.diff of the whole expression differ by at most {a} "
            "(both are worked in 30-digit decimals); the central difference could not be "
            "computed (see the notes)."
        ).format(a=number(a, 2))
    return _(
        "The backward pass and sympy.diff of the whole expression differ by at most {a} (both "
        "are worked in 30-digit decimals), and the central difference with h = {h} by at most "
        "{b}, so all three agree to within {both}. The central difference is the least precise "
        "of the three: it replaces the slope by a secant of width 2h, which is off by terms of "
        "order h², and it is computed in floating point."
    ).format(a=number(a, 2), h=number(H, 2), b=number(b, 2), both=number(max(a, b), 2))


def _update_block(result: BackpropResult) -> dict[str, Any]:
    assert result.update is not None and result.lr is not None
    rows = []
    for name in result.wrt:
        rows.append(
            {
                "name": name,
                "before": number(result.at[name], 8),
                "gradient": number(result.gradient[name], 8),
                "after": number(result.update[name], 8),
            }
        )
    before, after = result.loss, result.loss_after
    if after is None or not math.isfinite(after):
        verdict = _("The loss is undefined at the new point: the step left the loss's domain.")
    elif after < before:
        verdict = _("The loss went down, by {change}.").format(change=number(before - after, 4))
    elif after > before:
        verdict = _(
            "The loss went up, by {change}: this step was too large for this point (a smaller "
            "learning rate would follow the slope more closely)."
        ).format(change=number(after - before, 4))
    else:
        verdict = _("The loss did not change.")
    return {
        "eta": number(result.lr, 6),
        "eta_latex": num_tex(result.lr, 6),
        "rows": rows,
        "before": number(before, 8),
        "after": number(after, 8) if after is not None else number(math.nan),
        "defined": after is not None and math.isfinite(after),
        "verdict": verdict,
    }


# -- HTML, PDF, files -----------------------------------------------------------------------


def render_backprop_page(result: BackpropResult) -> str:
    """The standalone HTML page (``templates/backprop.html.jinja2``)."""
    from symgd import __version__
    from symgd.render.templates import make_env

    env = make_env()
    template = env.get_template(TEMPLATE)
    with language(result.lang):
        return str(
            template.render(
                language=result.lang,
                generator=f"symgd {__version__}",
                title=_("Backpropagation: {source}").format(source=result.source),
                bp=backprop_context(result),
            )
        )


def backprop_pdf(page: str, *, paper: str = "A4") -> bytes:
    """The page printed to PDF with the lesson's print rules (``print.css``)."""
    from symgd.render import pdf
    from symgd.render.templates import make_env

    inline_file = make_env().globals["inline_file"]
    page_css = str(inline_file("print.css"))  # type: ignore[operator]
    worker = pdf.take_print_worker()
    if worker is not None:
        return worker.typeset([page], paper=paper, page_css=page_css, workers=1)
    return pdf.typeset([page], paper=paper, page_css=page_css, workers=1)


def save_report(
    result: BackpropResult,
    folder: str | Path,
    *,
    with_pdf: bool = False,
    paper: str = "A4",
    follow_symlinks: bool = False,
) -> tuple[Path, Path | None]:
    """Write ``report.html`` (and with ``with_pdf`` ``report.pdf``) into ``folder``, each
    through a temporary file renamed over the old one; return their paths."""
    target = output_folder(folder, follow_symlinks=follow_symlinks)
    if with_pdf:
        check_output(target / "report.pdf", follow_symlinks=follow_symlinks)
    page = render_backprop_page(result)
    html_path = write_atomically(
        target / "report.html", page.encode("utf-8"), follow_symlinks=follow_symlinks
    )
    pdf_path = None
    if with_pdf:
        pdf_path = write_atomically(
            target / "report.pdf", backprop_pdf(page, paper=paper), follow_symlinks=follow_symlinks
        )
    return html_path, pdf_path
