"""``symgd.backprop``: the chain rule through a computational graph, worked at one point.

:func:`backprop` parses a loss, builds its graph (:mod:`symgd.network.graph`), runs the forward
and the backward pass, checks the gradient of every parameter twice (``sympy.diff`` of the
whole expression at the point, and a central difference with h = 1e-4) and, given a learning
rate, takes one step of descent and says whether the loss went down.

Where the expression has the shape of a network, the backward pass is grouped into stages by
one rule: an *activation* node is a call of sigmoid, tanh, ReLU, leaky ReLU or softplus; its
layer is one more than the deepest layer of the activations below it. A layer's *affine*
stage is the sums, products and negations that lead into its activations without passing
another activation (a node shared by two layers goes to the lower one); the *loss* stage is
every operation that feeds no activation at all. When some operation fits none of these, or
there is no activation, nothing is said about layers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from symgd.base.errors import InputError, short_repr
from symgd.base.i18n import _, check_language, language
from symgd.calculus.exact import MAX_EXACT_DIGITS, decimal_at, exact_number
from symgd.expr.parser import parse
from symgd.expr.problem import Problem, to_text
from symgd.network.graph import (
    ACTIVATIONS,
    DIGITS,
    MAX_EXACT_TEXT,
    Adjoints,
    Graph,
    Values,
    backward,
    build_graph,
    forward,
    op_text,
)
from symgd.numeric.finite_difference import H, central_difference

__all__ = ["BackpropResult", "Stage", "backprop", "parse_at"]

#: the operations an affine stage is made of
AFFINE_OPS = frozenset({"sum", "product", "neg"})


@dataclass(frozen=True)
class Stage:
    """A group of rows of the backward pass: ``kind`` is "loss", "activation", "affine" or
    "parameters"; ``layer`` counts from the input (1) up."""

    kind: str
    layer: int | None
    nodes: tuple[int, ...]

    @property
    def title(self) -> str:
        """A heading for the group, in the language in effect."""
        if self.kind == "loss":
            return _("Loss stage")
        if self.kind == "parameters":
            return _("The parameters")
        if self.kind == "activation":
            return _("Layer {k}: activation stage").format(k=self.layer)
        return _("Layer {k}: affine stage").format(k=self.layer)


@dataclass(frozen=True, eq=False)
class BackpropResult:
    """The worked backward pass of one loss at one point (see :func:`backprop`)."""

    expression: str
    source: str
    problem: Problem = field(repr=False)
    graph: Graph = field(repr=False)
    values: Values = field(repr=False)
    adjoints: Adjoints = field(repr=False)
    at: Mapping[str, float]
    wrt: tuple[str, ...]
    loss: float
    loss_exact: str | None
    gradient: Mapping[str, float]
    gradient_exact: Mapping[str, str | None]
    sympy_gradient: Mapping[str, float]
    numerical_gradient: Mapping[str, float]
    max_abs_error_vs_exact: float
    max_abs_error_numerical: float
    stages: tuple[Stage, ...] | None
    order: tuple[int, ...]
    lr: float | None = None
    update: Mapping[str, float] | None = None
    loss_after: float | None = None
    notes: tuple[str, ...] = ()
    #: the language of the page, the notes and the printed lines (``"en"``, ``"ko"``)
    lang: str = "en"

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (exact values in the text form ``parse`` reads)."""
        nodes = [
            {
                "id": node.id,
                "op": node.op,
                "label": node.label,
                "operation": op_text(self.graph, node),
                "inputs": list(node.inputs),
                "value": float(self.values.decimal[node.id]),
                "exact": _text(self.values.exact[node.id]),
                "adjoint": _float(self.adjoints.decimal[node.id]),
            }
            for node in self.graph.nodes
        ]
        data: dict[str, Any] = {
            "expression": self.expression,
            "at": dict(self.at),
            "wrt": list(self.wrt),
            "loss": self.loss,
            "loss_exact": self.loss_exact,
            "nodes": nodes,
            "order": {"forward": [n.id for n in self.graph.nodes], "backward": list(self.order)},
            "gradient": dict(self.gradient),
            "gradient_exact": dict(self.gradient_exact),
            "sympy_gradient": dict(self.sympy_gradient),
            "numerical_gradient": dict(self.numerical_gradient),
            "check": {
                "max_abs_error_vs_exact": self.max_abs_error_vs_exact,
                "max_abs_error_numerical": self.max_abs_error_numerical,
            },
            "stages": None
            if self.stages is None
            else [{"kind": s.kind, "layer": s.layer, "nodes": list(s.nodes)} for s in self.stages],
            "notes": list(self.notes),
        }
        if self.update is not None:
            data["lr"] = self.lr
            data["update"] = dict(self.update)
            data["loss_after"] = self.loss_after
        return data


def backprop(
    expr: str | sp.Expr | Problem,
    at: Mapping[str, float] | str,
    wrt: Sequence[str] | str | None = None,
    lr: float | None = None,
    lang: str = "en",
) -> BackpropResult:
    """Backpropagation through the graph of the loss ``expr`` at the point ``at``.

    ``at`` gives every variable a value (inputs, targets and parameters alike), as a mapping
    or as text ``"w=0.5,x=1"``; ``wrt`` names the parameters (default: every variable); with
    ``lr``, one step of descent is taken on them. ``lang``: the language of the notes, the
    page and the printed lines (``"en"`` or ``"ko"``; numbers and JSON keys stay the same).

    >>> r = backprop("(w*x - y)**2", at={"w": 0.5, "x": 2, "y": 3}, wrt="w", lr=0.1)
    >>> r.loss, r.gradient["w"], r.gradient_exact["w"]
    (4.0, -8.0, '-8')
    >>> r.update["w"], round(r.loss_after, 12)
    (1.3, 0.16)
    """
    code = check_language(lang)
    with language(code):  # bad input is told in the language asked for, too
        return _backprop(expr, at, wrt, lr, code)


def _backprop(
    expr: str | sp.Expr | Problem,
    at: Mapping[str, float] | str,
    wrt: Sequence[str] | str | None,
    lr: float | None,
    code: str,
) -> BackpropResult:
    problem = expr if isinstance(expr, Problem) else parse(expr)
    names = problem.names
    point = _point(parse_at(at) if isinstance(at, str) else at, names)
    chosen = _wrt(wrt, names)
    rate = _rate(lr)
    graph = build_graph(problem.expr, problem.variables)
    values = forward(graph, point)
    loss = float(values.decimal[graph.output])
    if not math.isfinite(loss):
        raise InputError(_("the loss at this point is too large for floating-point numbers"))
    adjoints = backward(graph, values, chosen)
    gradient = {n: float(adjoints.decimal[graph.by_name(n).id]) for n in chosen}
    symbols = {v.name: v for v in problem.variables}
    floats = {symbols[n]: sp.Float(point[n], DIGITS) for n in names}
    from_diff = {n: decimal_at(sp.diff(problem.expr, symbols[n]), floats, DIGITS) for n in chosen}
    numerical = _numerical(problem, point, chosen)
    errors_exact = [_gap(adjoints.decimal[graph.by_name(n).id], from_diff[n]) for n in chosen]
    errors_numerical = [abs(gradient[n] - numerical[n]) for n in chosen]
    stages = layer_stages(graph, adjoints)
    update, after = _step(problem, point, gradient, rate) if rate is not None else (None, None)
    return BackpropResult(
        expression=to_text(problem.expr),
        source=problem.source,
        at={n: float(point[n]) for n in names},
        wrt=chosen,
        loss=loss,
        loss_exact=_text(values.exact[graph.output]),
        gradient=gradient,
        gradient_exact={n: _text(adjoints.exact[graph.by_name(n).id]) for n in chosen},
        sympy_gradient={n: _float(from_diff[n]) for n in chosen},
        numerical_gradient=numerical,
        max_abs_error_vs_exact=_largest(errors_exact),
        max_abs_error_numerical=_largest(errors_numerical),
        stages=stages,
        order=adjoints.order if stages is None else tuple(i for s in stages for i in s.nodes),
        lr=rate,
        update=update,
        loss_after=after,
        notes=_notes(graph, values, adjoints, numerical, code),
        lang=code,
        problem=problem,
        graph=graph,
        values=values,
        adjoints=adjoints,
    )


# -- inputs ---------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def parse_at(text: str) -> dict[str, float]:
    """``"w=0.5, x=1"`` → ``{"w": 0.5, "x": 1.0}``; :class:`InputError` for anything else.

    >>> parse_at("w1=0.5, b1=-1e-3")
    {'w1': 0.5, 'b1': -0.001}
    """
    if not text.strip():
        raise InputError(_("--at is empty; give every variable a value, as in w=0.5,x=1"))
    values: dict[str, float] = {}
    for part in text.split(","):
        name, equals, value = (piece.strip() for piece in part.partition("="))
        if not equals or not name:
            raise InputError(
                _("--at expects NAME=VALUE items separated by commas, got {part}").format(
                    part=repr(part)
                )
            )
        if name in values:
            raise InputError(_("--at gives {name} twice").format(name=name))
        plain = value.replace("\u2212", "-")
        if not _PLAIN_NUMBER.fullmatch(plain):
            raise InputError(
                _(
                    "the value of {name} must be a finite decimal number such as -3, 0.5 or "
                    "1e-3, got {value}"
                ).format(name=name, value=repr(value))
            )
        values[name] = float(plain)
    return values


def _point(at: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The exact value of every variable (0.1 means 1/10)."""
    if not isinstance(at, Mapping):
        raise InputError(
            _("at must map variable names to numbers, got {value}").format(value=short_repr(at))
        )
    unknown = [str(n) for n in at if n not in names]
    if unknown:
        raise InputError(
            _(
                "a value is given for {names}, which is not a variable of the expression (its "
                "variables: {variables})"
            ).format(names=", ".join(unknown), variables=", ".join(names))
        )
    missing = [n for n in names if n not in at]
    if missing:
        raise InputError(
            _(
                "no value for {names}: give every variable a value (inputs, targets and "
                "parameters alike), as in --at {example}"
            ).format(names=", ".join(missing), example=",".join(f"{n}=1" for n in names))
        )
    point: dict[str, Any] = {}
    for name in names:
        value = at[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(
                _("the value of {name} is not a number: {value}").format(
                    name=name, value=short_repr(value)
                )
            )
        if not math.isfinite(value):
            raise InputError(
                _("the value of {name} is not a finite number: {value}").format(
                    name=name, value=repr(value)
                )
            )
        point[name] = exact_number(value)
    return point


def _wrt(wrt: Sequence[str] | str | None, names: Sequence[str]) -> tuple[str, ...]:
    if wrt is None:
        return tuple(names)
    chosen = [p.strip() for p in wrt.split(",")] if isinstance(wrt, str) else list(wrt)
    if not chosen or not all(chosen):
        raise InputError(_("--wrt has an empty name; list the parameters as in w1,b1"))
    for name in chosen:
        if name not in names:
            raise InputError(
                _(
                    "--wrt names {name}, which is not a variable of the expression (its "
                    "variables: {variables})"
                ).format(name=name, variables=", ".join(names))
            )
    if len(set(chosen)) != len(chosen):
        raise InputError(_("--wrt names a parameter twice"))
    return tuple(chosen)


def _rate(lr: float | None) -> float | None:
    if lr is None:
        return None
    if isinstance(lr, bool) or not isinstance(lr, int | float):
        raise InputError(
            _("the learning rate must be a number, got {value}").format(value=short_repr(lr))
        )
    if not math.isfinite(lr) or lr <= 0:
        raise InputError(
            _("the learning rate must be a positive finite number, got {value}").format(
                value=repr(lr)
            )
        )
    return float(lr)


# -- checks and the step --------------------------------------------------------------------


def _numerical(problem: Problem, point: Mapping[str, Any], wrt: Sequence[str]) -> dict[str, float]:
    """The central-difference gradient (h = 1e-4) in floating point; NaN where f is undefined
    within h of the point."""
    from symgd.expr.lambdify import lambdify_math

    function = lambdify_math(problem.variables, problem.expr)
    names = problem.names
    base = [float(point[n]) for n in names]
    where = [names.index(n) for n in wrt]

    def f(params: Sequence[float]) -> float:
        full = list(base)
        for index, value in zip(where, params, strict=True):
            full[index] = value
        try:
            return float(function(*full))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return math.nan

    slopes = central_difference(f, [base[i] for i in where], H)
    return dict(zip(wrt, slopes, strict=True))


def _step(
    problem: Problem, point: Mapping[str, Any], gradient: Mapping[str, float], lr: float
) -> tuple[dict[str, float], float]:
    """One step of descent on the parameters and the loss after it (NaN off the domain)."""
    update = {n: float(point[n]) - lr * g for n, g in gradient.items()}
    values = {
        v: sp.Float(update.get(v.name, float(point[v.name])), DIGITS) for v in problem.variables
    }
    after = decimal_at(problem.expr, values, DIGITS)
    return update, _float(after) if isinstance(after, sp.Float | sp.Rational) else math.nan


def _gap(a: Any, b: Any) -> float:
    try:
        return float(abs(sp.Float(a, DIGITS) - sp.Float(b, DIGITS)))
    except (TypeError, ValueError):
        return math.nan


def _largest(errors: Sequence[float]) -> float:
    """The largest error, NaN when one of them could not be computed."""
    return math.nan if any(math.isnan(e) for e in errors) else max(errors)


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _text(value: Any) -> str | None:
    return None if value is None else to_text(value)


def _notes(
    graph: Graph,
    values: Values,
    adjoints: Adjoints,
    numerical: Mapping[str, float],
    lang: str = "en",
) -> tuple[str, ...]:
    """Plain sentences about what could not be done exactly or is special at this point, in
    ``lang``."""
    with language(lang):
        notes = []
        if values.inexact_from is not None:
            node, why = values.inexact_from
            notes.append(_inexact_note(graph.nodes[node].label, why))
        for term in adjoints.kinks:
            user = graph.nodes[term.user]
            source = graph.nodes[user.inputs[term.position]]
            notes.append(
                _(
                    "{source} enters {user} = {operation} exactly at its corner, where the "
                    "slope jumps: the backward pass uses the rule's value there ({value}), "
                    "while the central difference, which straddles the corner, may give "
                    "something else."
                ).format(
                    source=source.label,
                    user=user.label,
                    operation=op_text(graph, user),
                    value=f"{float(term.local_value):g}",
                )
            )
        undefined = [n for n, v in numerical.items() if not math.isfinite(v)]
        if undefined:
            notes.append(
                _(
                    "The central difference could not be computed for {names}: the loss is "
                    "undefined within h = {h} of the point."
                ).format(names=", ".join(undefined), h=f"{H:g}")
            )
        return tuple(notes)


def _inexact_note(label: str, why: str) -> str:
    """The note on the node where exact values stop; ``why`` is a reason of
    :func:`~symgd.network.graph.limit_exact` ("digits", "inexact" or "length")."""
    if why == "digits":
        text = _(
            "Exact values stop at {node} (more than {limit} digits); from there on the values "
            "are {digits}-digit decimals."
        )
    elif why == "length":
        text = _(
            "Exact values stop at {node} (an exact form longer than {limit} characters); from "
            "there on the values are {digits}-digit decimals."
        )
    else:
        text = _(
            "Exact values stop at {node} (not exact); from there on the values are "
            "{digits}-digit decimals."
        )
    limit = MAX_EXACT_DIGITS if why == "digits" else MAX_EXACT_TEXT
    return text.format(node=label, limit=limit, digits=DIGITS)


# -- stages ---------------------------------------------------------------------------------


def layer_stages(graph: Graph, adjoints: Adjoints) -> tuple[Stage, ...] | None:
    """The backward pass grouped into loss, activation and affine stages and the parameters
    (the rule is in the module's docstring), or ``None`` when the expression has no layers."""
    nodes = graph.nodes
    computed = set(adjoints.order)
    layer = [0] * len(nodes)
    for node in nodes:
        deepest = max((layer[i] for i in node.inputs), default=0)
        layer[node.id] = deepest + 1 if node.op in ACTIVATIONS else deepest
    activations = [n.id for n in nodes if n.op in ACTIVATIONS and n.id in computed]
    if not activations:
        return None
    feeds = [False] * len(nodes)
    for node in reversed(nodes):
        feeds[node.id] = any(
            nodes[u].op in ACTIVATIONS or feeds[u] for u, _ in graph.users[node.id]
        )
    group: dict[int, tuple[str, int | None]] = {}
    for a in sorted(activations, key=lambda i: (layer[i], i)):
        group[a] = ("activation", layer[a])
        stack = list(nodes[a].inputs)
        while stack:
            i = stack.pop()
            if i in group or i not in computed or nodes[i].op not in AFFINE_OPS:
                continue
            group[i] = ("affine", layer[a])
            stack.extend(nodes[i].inputs)
    for i in computed:
        if i not in group and not nodes[i].is_leaf and not feeds[i]:
            group[i] = ("loss", None)
    if any(i not in group for i in computed if not nodes[i].is_leaf):
        return None
    top = max(layer[a] for a in activations)
    wanted: list[tuple[str, int | None]] = [("loss", None)]
    for k in range(top, 0, -1):
        wanted += [("activation", k), ("affine", k)]
    stages = [
        Stage(kind, k, tuple(i for i in adjoints.order if group.get(i) == (kind, k)))
        for kind, k in wanted
    ]
    leaves = tuple(i for i in adjoints.order if nodes[i].is_leaf)
    stages = [s for s in stages if s.nodes] + [Stage("parameters", None, leaves)]
    order = [i for s in stages for i in s.nodes]
    position = {i: k for k, i in enumerate(order)}
    if any(position[u] > position[i] for i in order for u, _ in graph.users[i] if u in position):
        return None  # the grouping would compute a node before one of its users
    return tuple(stages)
