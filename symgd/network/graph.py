"""The computational graph of an expression, its forward pass and its backward pass.

:func:`build_graph` takes a SymPy expression apart into one node per operation: a sum (with
signs, so ``a - y`` is one node), a negation, a product, a power, a function call. Leaves are
the variables and the constants; a subexpression that occurs twice is one node with two users
(a DAG, not a tree); each constant gets a leaf of its own at every use. Nodes are numbered in
evaluation order: leaves first, then every operation after its inputs.

:func:`forward` computes every node's value in 30-digit decimals and, while the inputs are
exact and the numbers stay small (:data:`~symgd.calculus.exact.MAX_EXACT_DIGITS` digits, a
short text form), exactly. :func:`backward` computes each adjoint ∂L/∂node once, in reverse
order, as the sum over the node's users of (user's adjoint × local derivative); the local
derivative is ``sympy.diff`` of the user's own operation, named by the rule of the derivative
steps (sigmoid: σ(1 − σ), product, power, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symgd.base.errors import InputError
from symgd.base.i18n import N_, _
from symgd.calculus.exact import MAX_EXACT_DIGITS, TooLarge, decimal_at, exact_at
from symgd.calculus.rule_table import FUNCTION_RULES
from symgd.expr.problem import natural_key, to_text

#: a graph with more nodes than this is refused: a lesson nobody can read is not a lesson
MAX_NODES = 500
#: significant digits of the decimal values
DIGITS = 30
#: an exact value whose text is longer than this is given as a decimal only
MAX_EXACT_TEXT = 240
#: the activation functions (their nodes mark the layers of a network)
ACTIVATIONS = frozenset({"sigmoid", "tanh", "relu", "leaky_relu", "softplus"})
#: functions whose derivative has a jump (a kink of the function itself)
_KINKED = (sp.Heaviside, sp.DiracDelta, sp.sign)

_SHOWN_NAMES = {
    "sigmoid": "σ",
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "abs": "abs",
    "max": "max",
    "min": "min",
}


@dataclass(frozen=True)
class Node:
    """One node: a variable, a constant or an operation on the nodes ``inputs``.

    ``template`` is the operation written on ``slots`` (one dummy symbol per input), so that
    ``template.diff(slots[k])`` is the local derivative along the k-th input edge.
    """

    id: int
    op: str  # "variable", "constant", "sum", "neg", "product", "power", "sqrt", ...
    label: str
    expr: Any
    inputs: tuple[int, ...] = ()
    template: Any = None
    slots: tuple[Any, ...] = ()
    signs: tuple[int, ...] = ()  # for a sum: +1 or -1 per input

    @property
    def is_leaf(self) -> bool:
        """A variable or a constant."""
        return not self.inputs


@dataclass(frozen=True)
class Graph:
    """The DAG of an expression: nodes in evaluation order (``node.id`` is the index)."""

    expr: Any
    nodes: tuple[Node, ...]
    output: int
    users: tuple[tuple[tuple[int, int], ...], ...]  # per node: (user id, input position)

    def by_name(self, name: str) -> Node:
        """The leaf of the variable ``name``."""
        return next(n for n in self.nodes if n.op == "variable" and n.label == name)


@dataclass(frozen=True)
class Values:
    """The forward pass: each node's exact value (``None`` past the bounds) and decimal."""

    exact: tuple[Any, ...]
    decimal: tuple[Any, ...]
    #: the first operation whose exact value was given up, and why (a reason of
    #: :func:`bounded_exact`: "digits", "inexact" or "length")
    inexact_from: tuple[int, str] | None = None


@dataclass(frozen=True)
class Term:
    """One user's share of an adjoint: ``user``'s adjoint × ∂user/∂node (the local derivative)."""

    user: int
    position: int
    rule: str
    local: Any  # the local derivative, on the user's slots
    local_exact: Any
    local_value: Any
    contribution: Any


@dataclass(frozen=True)
class Adjoints:
    """The backward pass: ∂L/∂node for the nodes a parameter feeds (``None`` for the rest)."""

    exact: tuple[Any, ...]
    decimal: tuple[Any, ...]
    terms: tuple[tuple[Term, ...], ...]
    order: tuple[int, ...]  # reverse evaluation order of the nodes computed
    kinks: tuple[Term, ...]  # local derivatives taken exactly at a kink (a corner or a jump)


# -- building -------------------------------------------------------------------------------


def build_graph(expr: Any, variables: Sequence[Any]) -> Graph:
    """The computational graph of ``expr``; refused (:class:`InputError`) past :data:`MAX_NODES`.

    >>> x, w = sp.symbols("x w", real=True)
    >>> g = build_graph(sp.exp(w * x) * (1 - sp.exp(w * x)), [w, x])
    >>> [n.op for n in g.nodes]
    ['variable', 'variable', 'constant', 'product', 'exp', 'sum', 'product']
    >>> len(g.users[4])  # exp(w*x) is one node with two users
    2
    """
    builder = _Builder()
    root = builder.visit(expr)
    raw = builder.nodes
    names = {v.name for v in variables}
    leaves = sorted(
        (i for i, n in enumerate(raw) if n.op == "variable"),
        key=lambda i: (raw[i].label not in names, natural_key(raw[i].label)),
    )
    leaves += [i for i, n in enumerate(raw) if n.op == "constant"]
    order = leaves + [i for i, n in enumerate(raw) if not n.is_leaf]
    new_id = {old: new for new, old in enumerate(order)}
    letter = _free_letter(names)
    nodes: list[Node] = []
    count = 0
    for old in order:
        node = raw[old]
        label = node.label
        if not node.is_leaf:
            count += 1
            label = _output_label(names) if old == root else f"{letter}{count}"
        nodes.append(
            Node(
                id=new_id[old],
                op=node.op,
                label=label,
                expr=node.expr,
                inputs=tuple(new_id[i] for i in node.inputs),
                template=node.template,
                slots=node.slots,
                signs=node.signs,
            )
        )
    users: list[list[tuple[int, int]]] = [[] for _ in nodes]
    for node in nodes:
        for position, source in enumerate(node.inputs):
            users[source].append((node.id, position))
    return Graph(expr, tuple(nodes), new_id[root], tuple(tuple(u) for u in users))


def _free_letter(names: set[str]) -> str:
    """The letter of the intermediate nodes' names (v1, v2, ...), one no variable uses so."""
    for letter in ("v", "u", "h", "t", "q", "s", "r"):
        if not any(re.fullmatch(rf"{letter}\d+", name) for name in names):
            return letter
    return "node"


def _output_label(names: set[str]) -> str:
    return next(label for label in ("L", "loss", "ell", "out") if label not in names)


class _Builder:
    """A walk from the top of the expression that makes one node per distinct operation."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.seen: dict[Any, int] = {}

    def add(self, node: Node) -> int:
        if len(self.nodes) >= MAX_NODES:
            raise InputError(
                _(
                    "the computational graph of this expression has more than {limit} nodes; a "
                    "lesson nobody can read is not a lesson: try a smaller network"
                ).format(limit=MAX_NODES)
            )
        self.nodes.append(node)
        return len(self.nodes) - 1

    def visit(self, expr: Any) -> int:
        if not expr.free_symbols:  # a constant: a leaf of its own at every use
            return self.add(Node(0, "constant", to_text(expr), expr))
        found = self.seen.get(expr)
        if found is not None:
            return found
        if isinstance(expr, sp.Symbol):
            index = self.add(Node(0, "variable", expr.name, expr))
        else:
            op, parts, make, signs = _decompose(expr)
            inputs = tuple(self.visit(part) for part in parts)
            slots = tuple(sp.Dummy(f"a{k}", real=True) for k in range(len(parts)))
            node = Node(0, op, "", expr, inputs, make(slots), slots, signs)
            index = self.add(node)
        self.seen[expr] = index
        return index


Maker = Callable[[Sequence[Any]], Any]


def _decompose(expr: Any) -> tuple[str, list[Any], Maker, tuple[int, ...]]:
    """The operation at the top of ``expr``: its name, its inputs (in reading order), the
    operation rebuilt on stand-in symbols, and the signs of a sum's terms."""
    if isinstance(expr, sp.Add):
        terms = sorted(expr.as_ordered_terms(), key=_negative)
        signs = tuple(-1 if _negative(t) else 1 for t in terms)
        parts = [-t if s < 0 else t for t, s in zip(terms, signs, strict=True)]
        return (
            "sum",
            parts,
            lambda d: sp.Add(*(s * v for s, v in zip(signs, d, strict=True))),
            signs,
        )
    if isinstance(expr, sp.Mul):
        coeff, rest = expr.as_coeff_Mul()
        if coeff == -1:
            return "neg", [rest], lambda d: -d[0], ()
        return "product", list(expr.as_ordered_factors()), lambda d: sp.Mul(*d), ()
    if isinstance(expr, sp.Pow):
        base, exponent = expr.args
        if not exponent.free_symbols:
            op = "sqrt" if exponent == sp.Rational(1, 2) else "power"
            return op, [base], lambda d: d[0] ** exponent, ()
        if not base.free_symbols:
            return "exponential", [exponent], lambda d: base ** d[0], ()
        return "general_power", [base, exponent], lambda d: d[0] ** d[1], ()
    args = list(expr.args)
    moving = [a for a in args if a.free_symbols]

    def call(d: Sequence[Any]) -> Any:
        given = iter(d)
        return expr.func(*(next(given) if a.free_symbols else a for a in args))

    return expr.func.__name__.lower(), moving, call, ()


def _negative(term: Any) -> bool:
    coeff, _ = term.as_coeff_Mul()
    return bool(coeff.is_negative)


# -- forward ------------------------------------------------------------------------------


def forward(graph: Graph, point: Mapping[str, Any]) -> Values:
    """Every node's value at ``point`` (variable name → exact number), in evaluation order.

    :class:`InputError` when an operation has no real value there (the logarithm of a
    negative number, a division by zero), naming the node.
    """
    exact: list[Any] = []
    decimal: list[Any] = []
    inexact_from: tuple[int, str] | None = None
    for node in graph.nodes:
        if node.op == "variable":
            exact.append(point[node.label])
            decimal.append(sp.Float(point[node.label], DIGITS))
            continue
        if node.op == "constant":
            exact.append(None if node.expr.has(sp.Float) else node.expr)
            decimal.append(sp.Float(node.expr.evalf(DIGITS), DIGITS))
            continue
        mapping = {s: decimal[i] for s, i in zip(node.slots, node.inputs, strict=True)}
        value = decimal_at(node.template, mapping, DIGITS)
        if not _is_real_number(value):
            raise InputError(_undefined(graph, node, decimal))
        decimal.append(sp.Float(value, DIGITS))
        inputs = [exact[i] for i in node.inputs]
        if any(v is None for v in inputs):
            exact.append(None)
            continue
        result, why = bounded_exact(node.template, dict(zip(node.slots, inputs, strict=True)))
        if result is None and inexact_from is None:
            inexact_from = (node.id, why)
        exact.append(result)
    return Values(tuple(exact), tuple(decimal), inexact_from)


def bounded_exact(expr: Any, mapping: Mapping[Any, Any]) -> tuple[Any, str]:
    """``expr`` at the exact point, or ``(None, why)`` past the bounds on digits and length
    (``why``: "digits", more than :data:`~symgd.calculus.exact.MAX_EXACT_DIGITS` digits; else
    as :func:`limit_exact`)."""
    try:
        value = exact_at(expr, mapping, MAX_EXACT_DIGITS)
    except TooLarge:
        return None, "digits"
    return limit_exact(value)


def limit_exact(value: Any) -> tuple[Any, str]:
    """``value`` when it is a short, real exact number, else ``(None, why)``: "inexact" (a
    decimal or not a number), "length" (a text form longer than :data:`MAX_EXACT_TEXT`)."""
    if value.has(sp.Float) or not value.is_number:
        return None, "inexact"
    if len(to_text(value)) > MAX_EXACT_TEXT:
        return None, "length"
    return value, ""


def _is_real_number(value: Any) -> bool:
    return isinstance(value, sp.Float | sp.Rational) and value.is_finite is not False


_WHY = {
    "log": N_(
        "the loss is undefined at this point: node {node} = {operation} gets {inputs}, and the "
        "logarithm is defined only for positive numbers"
    ),
    "sqrt": N_(
        "the loss is undefined at this point: node {node} = {operation} gets {inputs}, and the "
        "square root is defined only for numbers ≥ 0"
    ),
    "zero": N_(
        "the loss is undefined at this point: node {node} = {operation} gets {inputs}, and a "
        "negative power of 0 is a division by zero"
    ),
    "negative": N_(
        "the loss is undefined at this point: node {node} = {operation} gets {inputs}, and a "
        "fractional power of a negative number is not real"
    ),
    "other": N_(
        "the loss is undefined at this point: node {node} = {operation} gets {inputs}, and it "
        "has no real value there"
    ),
}


def _undefined(graph: Graph, node: Node, decimal: Sequence[Any]) -> str:
    inputs = ", ".join(
        f"{graph.nodes[i].label} = {_short(decimal[i])}" for i in node.inputs if i < len(decimal)
    )
    why = node.op if node.op in _WHY else "other"
    if node.op in ("power", "general_power") and node.inputs:
        why = "zero" if decimal[node.inputs[0]].is_zero else "negative"
    return _(_WHY[why]).format(node=node.label, operation=op_text(graph, node), inputs=inputs)


def _short(value: Any) -> str:
    return f"{float(value):.6g}".replace("-", "−")


# -- backward -----------------------------------------------------------------------------


def rule_of(graph: Graph, user: Node, position: int) -> str:
    """The rule of the local derivative ∂user/∂(its input ``position``), as the derivative
    steps name it."""
    if user.op == "sum":
        return "sum"
    if user.op == "neg":
        return "constant_multiple"
    if user.op == "product":
        others = [i for k, i in enumerate(user.inputs) if k != position]
        constant = all(graph.nodes[i].op == "constant" for i in others)
        return "constant_multiple" if constant else "product"
    if user.op in ("power", "sqrt", "exponential", "general_power"):
        return user.op
    entry = FUNCTION_RULES.get(type(user.expr))
    return entry.rule if entry is not None else user.op


def backward(graph: Graph, values: Values, wrt: Sequence[str]) -> Adjoints:
    """Each adjoint ∂L/∂node, in reverse evaluation order, for the nodes a parameter in
    ``wrt`` feeds (the others are not needed and stay ``None``). The output's adjoint is 1.

    :class:`InputError` when a local derivative is undefined at the point.
    """
    names = set(wrt)
    needed = [
        any(getattr(s, "name", None) in names for s in n.expr.free_symbols) for n in graph.nodes
    ]
    count = len(graph.nodes)
    exact: list[Any] = [None] * count
    decimal: list[Any] = [None] * count
    terms: list[tuple[Term, ...]] = [()] * count
    order = tuple(i for i in reversed(range(count)) if needed[i])
    kinks: list[Term] = []
    for index in order:
        if index == graph.output:
            exact[index], decimal[index] = sp.Integer(1), sp.Float(1, DIGITS)
            continue
        shares = tuple(
            _term(graph, values, user, position, exact[user], decimal[user])
            for user, position in graph.users[index]
        )
        terms[index] = shares
        decimal[index] = sp.Float(sp.Add(*(t.contribution for t in shares)), DIGITS)
        parts = [exact[t.user] * t.local_exact for t in shares if t.local_exact is not None]
        if len(parts) == len(shares) and all(exact[t.user] is not None for t in shares):
            exact[index] = limit_exact(sp.Add(*parts))[0]
        kinks += [t for t in shares if _at_kink(graph, values, t)]
    return Adjoints(tuple(exact), tuple(decimal), tuple(terms), order, tuple(kinks))


def _term(
    graph: Graph, values: Values, user: int, position: int, user_exact: Any, user_value: Any
) -> Term:
    node = graph.nodes[user]
    local = sp.diff(node.template, node.slots[position])
    mapping = {s: values.decimal[i] for s, i in zip(node.slots, node.inputs, strict=True)}
    value = decimal_at(local, mapping, DIGITS)
    if not _is_real_number(value):
        source = graph.nodes[node.inputs[position]]
        raise InputError(
            _(
                "the gradient does not exist at this point: the derivative of {node} = "
                "{operation} with respect to {source} is undefined at {source} = {value}"
            ).format(
                node=node.label,
                operation=op_text(graph, node),
                source=source.label,
                value=_short(values.decimal[source.id]),
            )
        )
    value = sp.Float(value, DIGITS)
    inputs = [values.exact[i] for i in node.inputs]
    local_exact = None
    if user_exact is not None and all(v is not None for v in inputs):
        local_exact = bounded_exact(local, dict(zip(node.slots, inputs, strict=True)))[0]
    return Term(
        user=user,
        position=position,
        rule=rule_of(graph, node, position),
        local=local,
        local_exact=local_exact,
        local_value=value,
        contribution=sp.Float(user_value * value, DIGITS),
    )


def _at_kink(graph: Graph, values: Values, term: Term) -> bool:
    """True when the local derivative uses a step (ReLU, |·|, max) exactly at its jump."""
    node = graph.nodes[term.user]
    mapping = {s: values.decimal[i] for s, i in zip(node.slots, node.inputs, strict=True)}
    for step in term.local.atoms(*_KINKED):
        if decimal_at(step.args[0], mapping, DIGITS).is_zero:
            return True
    return False


# -- words and formulas for a node --------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def op_text(graph: Graph, node: Node) -> str:
    """The operation in plain text on its inputs' labels: ``v2 − y``, ``σ(v4)``, ``v3²``."""
    names = [graph.nodes[i].label for i in node.inputs]
    if node.is_leaf:
        return node.label
    if node.op == "sum":
        text = ""
        for k, (name, sign) in enumerate(zip(names, node.signs, strict=True)):
            text += ("−" if k == 0 else " − ") if sign < 0 else ("" if k == 0 else " + ")
            text += name
        return text
    if node.op == "neg":
        return f"−{names[0]}"
    if node.op == "product":
        return "·".join(names)
    if node.op in ("power", "sqrt"):
        exponent = node.expr.exp
        if exponent == -1:
            return f"1/{names[0]}"
        if node.op == "sqrt":
            return f"√{names[0]}"
        if exponent.is_Integer:
            return names[0] + str(exponent).translate(_SUPERSCRIPTS)
        return f"{names[0]}^({to_text(exponent)})"
    if node.op == "exponential":
        return f"{to_text(node.expr.base)}^{names[0]}"
    if node.op == "general_power":
        return f"{names[0]}^{names[1]}"
    if node.op == "abs":
        return f"|{names[0]}|"
    shown = iter(names)
    args = [next(shown) if a.free_symbols else to_text(a) for a in node.expr.args]
    return f"{_SHOWN_NAMES.get(node.op, node.op)}({', '.join(args)})"


def label_tex(node: Node) -> str:
    """The node's name in LaTeX: ``w_{1}``, ``v_{3}``, ``L``, or a constant's value."""
    from symgd.render.latex import tex

    if node.op == "constant":
        return tex(node.expr)
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", node.label)
    if match and node.op != "variable":
        return f"{match.group(1)}_{{{match.group(2)}}}"
    if node.op == "variable":
        return tex(node.expr)
    return rf"\text{{{node.label}}}" if len(node.label) > 1 else node.label


def op_tex(graph: Graph, node: Node) -> str:
    """The operation in LaTeX on its inputs' names."""
    from symgd.render.latex import tex

    if node.is_leaf:
        return label_tex(node)
    labels = [label_tex(graph.nodes[i]) for i in node.inputs]
    if node.op == "sum":
        text = ""
        for k, (name, sign) in enumerate(zip(labels, node.signs, strict=True)):
            text += ("-" if k == 0 else " - ") if sign < 0 else ("" if k == 0 else " + ")
            text += name if graph.nodes[node.inputs[k]].op != "constant" else f"{{{name}}}"
        return text
    if node.op == "neg":
        return f"-{labels[0]}"
    if node.op == "product":
        return r" \cdot ".join(
            f"\\left({name}\\right)" if name.startswith("-") else name for name in labels
        )
    return str(tex(node.template, symbol_names=dict(zip(node.slots, labels, strict=True))))


def local_tex(graph: Graph, term: Term) -> list[str]:
    """The local derivative of ``term`` in LaTeX on the user's input names; a second form on
    the user's own name when the derivative reads better so (σ(v)(1 − σ(v)) = s(1 − s))."""
    from symgd.render.latex import tex

    user = graph.nodes[term.user]
    names = {s: label_tex(graph.nodes[i]) for s, i in zip(user.slots, user.inputs, strict=True)}
    forms = [str(tex(term.local, symbol_names=names))]
    own = sp.Dummy("own", real=True)
    rewritten = term.local.xreplace({user.template: own})
    if rewritten != term.local and own in rewritten.free_symbols:
        forms.append(str(tex(rewritten, symbol_names={**names, own: label_tex(user)})))
    return forms
