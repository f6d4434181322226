"""Go deeper: the quadratic model of f at the start and one Newton step worked by hand.

At x₀, f ≈ m(d) = f(x₀) + ∇f(x₀)ᵀd + ½ dᵀH(x₀)d, whose critical point solves H(x₀)d = −∇f(x₀):
the Newton step. The numbers are put in exactly (:meth:`~symgd.lesson.facts.Facts.exact_at`)
and the system is solved exactly when every entry is a fraction (or, with at most two
variables, a short exact number); past :data:`~symgd.calculus.exact.MAX_EXACT_DIGITS` digits,
with irrational entries in more variables, or with more than :data:`EXACT_MAX_VARIABLES`
variables, in decimals, and the page says so. For a quadratic f the step lands on the critical
point (checked: ∇f there is exactly zero) and its kind is named from the facts; for any other f
the section says where the step lands and what f and |∇f| are there."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from symgd.base.i18n import N_, _
from symgd.lesson.exact_forms import tidy
from symgd.lesson.facts import Facts
from symgd.lesson.settings import Settings
from symgd.lesson.view import OFF_PAGE, View
from symgd.render.latex import (
    big_number,
    column,
    equals_tex,
    floats_plain,
    matrix_tex,
    num_tex,
    number,
    point_tex,
    tex,
    value_tex,
)

#: above this many variables the step is worked in floating point (an exact n × n solve and
#: n² exact Hessian entries cost more than they teach)
EXACT_MAX_VARIABLES = 8
#: the expanded model m(d) is written out up to this many variables
EXPANDED_MAX_VARIABLES = 3
#: a floating-point Hessian whose condition number passes this counts as singular
SINGULAR_CONDITION = 1e12
MODEL_LATEX = (
    r"m(\mathbf{d}) = f(x_0) + \nabla f(x_0)^{\top}\mathbf{d} "
    r"+ \tfrac{1}{2}\,\mathbf{d}^{\top} H(x_0)\,\mathbf{d}"
)
MODEL_LATEX_1D = r"m(d) = f(x_0) + f'(x_0)\,d + \tfrac{1}{2}\,f''(x_0)\,d^{2}"


@dataclass(frozen=True)
class QuadraticSection(View):
    """The quadratic model at x₀ and one Newton step."""

    intro: str
    model_latex: str
    numbers_latex: tuple[str, ...]
    expanded_latex: str
    how: str
    det_latex: str
    undefined: str
    step_latex: tuple[str, ...]
    check_latex: str
    verdict: tuple[str, ...]
    tone: str
    #: the point after one Newton step, as floats (None when the step is undefined)
    landing: tuple[float, ...] | None = field(default=None, metadata=OFF_PAGE)


@dataclass(frozen=True)
class _Inputs:
    """f, ∇f and H at x₀ as SymPy numbers (exact, or 30-digit decimals when ``rounded``)."""

    point: tuple[Any, ...]
    value: Any
    gradient: tuple[Any, ...]
    hessian: tuple[tuple[Any, ...], ...]
    rounded: bool


def quadratic_section(facts: Facts, s: Settings) -> QuadraticSection | None:
    """The section for ``facts`` at the lesson's start; None when f or its derivatives are not
    numbers there (outside the domain)."""
    inputs = _inputs(facts, s)
    if inputs is None:
        return None
    one = facts.n == 1
    numbers = _numbers_latex(facts, inputs)
    expanded = _expanded_latex(facts, inputs)
    intro = _(
        "Near x₀, f looks like the quadratic that shares its value, slope and curvature there: "
        "the second-order Taylor model in the step d. Gradient descent only uses the slope; "
        "Newton's method also uses the curvature, and jumps straight to the point where the "
        "model's slope is zero."
    )
    solved = _solve(inputs)
    det_latex = _det_latex(one, solved.det)
    model = MODEL_LATEX_1D if one else MODEL_LATEX
    if solved.step is None:
        return QuadraticSection(
            intro,
            model,
            numbers,
            expanded,
            det_latex=det_latex,
            how=solved.how,
            undefined=_undefined_text(one, solved),
            step_latex=(),
            check_latex="",
            verdict=(),
            tone="warn",
        )
    landing = tuple(p + d for p, d in zip(inputs.point, solved.step, strict=True))
    landing = tuple(tidy(v) if not inputs.rounded and not solved.rounded else v for v in landing)
    step_latex = _step_latex(one, inputs, solved.step, landing)
    check, verdict, tone = _verdict(facts, inputs, solved.step, landing, solved.rounded)
    return QuadraticSection(
        intro,
        model,
        numbers,
        expanded,
        det_latex=det_latex,
        how=solved.how,
        undefined="",
        step_latex=step_latex,
        check_latex=check,
        verdict=verdict,
        tone=tone,
        landing=tuple(float(v) for v in landing),
    )


def quadratic_json(section: QuadraticSection | None) -> dict[str, Any]:
    """``{"newton_step": [the point after one Newton step]}`` (None when it is undefined)."""
    landing = None if section is None else section.landing
    return {"newton_step": None if landing is None else [float(v) for v in landing]}


# -- the numbers at x₀ -------------------------------------------------------------------------


def _inputs(facts: Facts, s: Settings) -> _Inputs | None:
    """f, ∇f and H at x₀: exact up to :data:`EXACT_MAX_VARIABLES` variables (decimals past the
    digit bound), else 30-digit decimals from floats; None when one is not a real number."""
    import sympy as sp

    from symgd.calculus.hand_steps import real_number

    n = facts.n
    if n > EXACT_MAX_VARIABLES:
        floats = s.start.floats
        h = facts.hess_at(floats)
        g = facts.grad_at(floats)
        if not all(math.isfinite(v) for v in [*g, *h.ravel()]):
            return None
        return _Inputs(
            tuple(sp.Float(v, 30) for v in floats),
            sp.Float(facts.f_at(floats), 30),
            tuple(sp.Float(float(v), 30) for v in g),
            tuple(tuple(sp.Float(float(h[i, j]), 30) for j in range(n)) for i in range(n)),
            True,
        )
    point = s.start.exact
    found = [facts.exact_at(facts.problem.expr, point)]
    found += [facts.exact_at(g, point) for g in facts.derivation.gradient]
    matrix = facts.derivation.hessian
    upper = {(i, j): facts.exact_at(matrix[i, j], point) for i in range(n) for j in range(i, n)}
    found += list(upper.values())
    if any(real_number(e.value) is None for e in found):
        return None
    rounded = any(e.rounded for e in found)

    def shape(value: Any) -> Any:
        return value if rounded else tidy(value)

    return _Inputs(
        tuple(point),
        shape(found[0].value),
        tuple(shape(e.value) for e in found[1 : n + 1]),
        tuple(tuple(shape(upper[min(i, j), max(i, j)].value) for j in range(n)) for i in range(n)),
        rounded,
    )


def _numbers_latex(facts: Facts, inputs: _Inputs) -> tuple[str, ...]:
    """x₀, f(x₀), ∇f(x₀) and H(x₀) in LaTeX."""
    one = facts.n == 1
    shown = [value_tex(v)[0] for v in inputs.point]
    grad = [value_tex(v)[0] for v in inputs.gradient]
    rows = [[value_tex(v)[0] for v in row] for row in inputs.hessian]
    return (
        rf"x_0 = {point_tex(shown)}",
        rf"f(x_0) {equals_tex(value_tex(inputs.value, 6)[0])}",
        rf"f'(x_0) {equals_tex(grad[0])}" if one else rf"\nabla f(x_0) = {column(grad)}",
        rf"f''(x_0) {equals_tex(rows[0][0])}" if one else rf"H(x_0) = {matrix_tex(rows)}",
    )


def _expanded_latex(facts: Facts, inputs: _Inputs) -> str:
    """m(d) written out as a polynomial in the step's components (a few variables, exact)."""
    import sympy as sp

    n = facts.n
    if n > EXPANDED_MAX_VARIABLES or inputs.rounded:
        return ""
    ds = _step_symbols(facts)
    g, h = inputs.gradient, inputs.hessian
    model = (
        inputs.value
        + sum((g[i] * ds[i] for i in range(n)), sp.Integer(0))
        + sp.Rational(1, 2)
        * sum((h[i][j] * ds[i] * ds[j] for i in range(n) for j in range(n)), sp.Integer(0))
    )
    latex = tex(sp.expand(model), order="grlex")
    if len(latex) > 300:
        return ""
    argument = "d" if n == 1 else r"\mathbf{d}"
    return rf"m({argument}) = {latex}"


def _step_symbols(facts: Facts) -> list[Any]:
    import sympy as sp

    if facts.n == 1:
        return [sp.Symbol("d")]
    return [sp.Symbol(f"d_{{{tex(v)}}}") for v in facts.variables]


#: why the step is worked in decimals
# fmt: off
_DECIMALS = {
    "fractions": N_("The step is worked in decimals with {digits} significant digits, because the "
        "exact fractions would pass {limit} digits."),
    "values": N_("The step is worked in decimals with {digits} significant digits, because the "
        "exact values at x₀ would pass {limit} digits."),
    "variables": N_("The step is worked in decimals with {digits} significant digits, because f "
        "has more than {most} variables."),
    "entries": N_("The step is worked in decimals with {digits} significant digits, because the "
        "entries are not all fractions."),
}
# fmt: on


# -- the Newton step ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Solved:
    """det H(x₀) and the step d (None when H(x₀) is singular), and how they were worked."""

    det: Any
    step: tuple[Any, ...] | None
    rounded: bool
    how: str
    singular_why: str = ""


def _solve(inputs: _Inputs) -> _Solved:
    """Solve H d = −∇f: exactly when the entries allow it (see the module docstring)."""
    import sympy as sp

    from symgd.calculus.exact import DECIMAL_DIGITS, MAX_EXACT_DIGITS, digits_to_bits, size_bits

    n = len(inputs.gradient)
    entries = [*inputs.gradient, *(v for row in inputs.hessian for v in row)]
    h = sp.Matrix(inputs.hessian)
    minus_g = sp.Matrix([-v for v in inputs.gradient])
    rational = all(sp.sympify(v).is_Rational for v in entries)
    short = n <= 2 and all(len(tex(v)) <= 40 for v in entries)
    if not inputs.rounded and (rational or short):
        det = tidy(h.det())
        if det == 0 or (not rational and det.is_zero is not False and sp.simplify(det) == 0):
            return _Solved(det, None, False, "", "exact")
        step = tuple(tidy(v) for v in h.LUsolve(minus_g))
        if max(size_bits(v) for v in step) <= digits_to_bits(MAX_EXACT_DIGITS):
            return _Solved(det, step, False, _("Every number here is exact."))
        why = "fractions"
    elif inputs.rounded:
        why = "values" if n <= EXACT_MAX_VARIABLES else "variables"
    else:
        why = "entries"
    how = _(_DECIMALS[why]).format(
        digits=DECIMAL_DIGITS, limit=MAX_EXACT_DIGITS, most=EXACT_MAX_VARIABLES
    )
    return _decimal_solve(inputs, how, DECIMAL_DIGITS)


def _decimal_solve(inputs: _Inputs, how: str, digits: int) -> _Solved:
    """The step in ``digits``-digit decimals, or undefined when H(x₀) is singular to that
    precision (its condition number in floating point passes :data:`SINGULAR_CONDITION`);
    ``how`` says why decimals are used."""
    import numpy as np
    import sympy as sp

    h = sp.Matrix([[sp.Float(sp.N(v, digits), digits) for v in row] for row in inputs.hessian])
    floats = np.array(h.tolist(), dtype=float)
    det = sp.Float(h.det(), digits)
    if not np.isfinite(floats).all() or np.linalg.cond(floats) > SINGULAR_CONDITION:
        return _Solved(det, None, True, how, "decimal")
    g = sp.Matrix([sp.Float(sp.N(-v, digits), digits) for v in inputs.gradient])
    step = tuple(sp.Float(v, digits) for v in h.LUsolve(g))
    return _Solved(det, step, True, how)


def _det_latex(one: bool, det: Any) -> str:
    if one:
        return ""
    return rf"\det H(x_0) {equals_tex(value_tex(det, 6)[0])}"


def _undefined_text(one: bool, solved: _Solved) -> str:
    second = "f''(x₀)" if one else "H(x₀)"
    if solved.singular_why == "exact":
        zero = "f''(x₀) = 0" if one else "det H(x₀) = 0"
        return _(
            "Here {zero}: the model's curvature vanishes along some direction, so it has no "
            "single critical point (a trough or a tilted plane along that direction), the "
            "system {second}·d = −∇f(x₀) has no unique solution, and the Newton step is "
            "undefined at this start."
        ).format(zero=zero, second=second)
    return _(
        "Here {second} is singular to the precision used (its condition number passes "
        "{limit}): the model has no single critical point, and the "
        "Newton step is undefined at this start."
    ).format(second=second, limit=number(SINGULAR_CONDITION))


def _step_latex(
    one: bool, inputs: _Inputs, step: Sequence[Any], landing: Sequence[Any]
) -> tuple[str, ...]:
    """d = −H⁻¹∇f (with H⁻¹ written out for two variables) and x₁ = x₀ + d."""
    import sympy as sp

    d = [value_tex(v)[0] for v in step]
    x1 = [value_tex(v)[0] for v in landing]
    if one:
        g, h = inputs.gradient[0], inputs.hessian[0][0]
        return (
            rf"d = -\frac{{f'(x_0)}}{{f''(x_0)}} = -\frac{{{tex(g)}}}{{{tex(h)}}} "
            + equals_tex(d[0]),
            rf"x_1 = x_0 + d {equals_tex(x1[0])}",
        )
    lines = []
    if len(step) == 2 and not inputs.rounded:
        h = sp.Matrix(inputs.hessian)
        adjugate = [[tex(tidy(v)) for v in row] for row in h.adjugate().tolist()]
        det = tidy(h.det())
        sign = "-" if det.could_extract_minus_sign() else ""
        if all(len(v) < 30 for row in adjugate for v in row):
            lines.append(
                r"H(x_0)^{-1} = \frac{1}{\det H(x_0)}"
                + matrix_tex(adjugate)
                + rf" = {sign}\frac{{1}}{{{tex(abs(det) if sign else det)}}}{matrix_tex(adjugate)}"
            )
    lines.append(rf"\mathbf{{d}} = -H(x_0)^{{-1}}\,\nabla f(x_0) = {column(d)}")
    lines.append(rf"x_1 = x_0 + \mathbf{{d}} = {column(x1)}")
    return tuple(lines)


# -- what the step did -------------------------------------------------------------------------

#: "The step lands at x₁ …", one sentence for each way f and |∇f| compare with the start
# fmt: off
_LANDS = {
    ("lower", "smaller"): N_("The step lands at x₁ ≈ {where}, where f is lower than at "
        "the start ({f1} against {f0}) and |∇f| is smaller ({n1} against {n0})."),
    ("lower", "larger"): N_("The step lands at x₁ ≈ {where}, where f is lower than at "
        "the start ({f1} against {f0}) and |∇f| is larger ({n1} against {n0})."),
    ("lower", "the same"): N_("The step lands at x₁ ≈ {where}, where f is lower than at "
        "the start ({f1} against {f0}) and |∇f| is the same ({n1} against {n0})."),
    ("higher", "smaller"): N_("The step lands at x₁ ≈ {where}, where f is higher than at "
        "the start ({f1} against {f0}) and |∇f| is smaller ({n1} against {n0})."),
    ("higher", "larger"): N_("The step lands at x₁ ≈ {where}, where f is higher than at "
        "the start ({f1} against {f0}) and |∇f| is larger ({n1} against {n0})."),
    ("higher", "the same"): N_("The step lands at x₁ ≈ {where}, where f is higher than at "
        "the start ({f1} against {f0}) and |∇f| is the same ({n1} against {n0})."),
    ("the same", "smaller"): N_("The step lands at x₁ ≈ {where}, where f is the same than at "
        "the start ({f1} against {f0}) and |∇f| is smaller ({n1} against {n0})."),
    ("the same", "larger"): N_("The step lands at x₁ ≈ {where}, where f is the same than at "
        "the start ({f1} against {f0}) and |∇f| is larger ({n1} against {n0})."),
    ("the same", "the same"): N_("The step lands at x₁ ≈ {where}, where f is the same than at "
        "the start ({f1} against {f0}) and |∇f| is the same ({n1} against {n0})."),
}
#: "But that point is a … of f", for each kind of critical point that is not a minimum
_NOT_A_MINIMUM = {
    "maximum": N_("But that point is a maximum of f, not a minimum."),
    "saddle": N_("But that point is a saddle of f, not a minimum."),
    "degenerate": N_("But that point is a degenerate of f, not a minimum."),
}
#: "… the step happens to land on …", for each kind ("": not listed)
_LANDED_ON = {
    "minimum": N_("Here ∇f(x₁) is exactly zero: the step happens to land on a minimum of f."),
    "maximum": N_("Here ∇f(x₁) is exactly zero: the step happens to land on a maximum of f."),
    "saddle": N_("Here ∇f(x₁) is exactly zero: the step happens to land on a saddle of f."),
    "degenerate": N_("Here ∇f(x₁) is exactly zero: the step happens to land on a degenerate "
        "of f."),
    "": N_("Here ∇f(x₁) is exactly zero: the step happens to land on a critical point of "
        "f."),
}
# fmt: on


def _verdict(
    facts: Facts, inputs: _Inputs, step: Sequence[Any], landing: Sequence[Any], rounded: bool
) -> tuple[str, tuple[str, ...], str]:
    """The check at x₁ (LaTeX), the paragraphs on what the step did, and the tone."""
    after = facts.exact_at(facts.problem.expr, landing).value
    grad = [tidy(facts.exact_at(g, landing).value) for g in facts.derivation.gradient]
    nabla = "f'" if facts.n == 1 else r"\nabla f"
    quadratic = facts.is_quadratic() and facts.smooth
    if quadratic:
        return _quadratic_verdict(facts, inputs, landing, after, grad, rounded)
    norm0 = math.sqrt(sum(float(v) ** 2 for v in inputs.gradient))
    norm1 = _norm(grad)
    f0, f1 = float(inputs.value), _float(after)
    model = _model_value(inputs, step)
    where = floats_plain([float(v) for v in landing])
    if f1 is None or norm1 is None:
        return (
            "",
            (
                _(
                    "f is not a quadratic, so the model is only an approximation; its "
                    "critical point x₁ ≈ {where} lies outside the domain of f (f or ∇f is not "
                    "a real number there), so this Newton step leaves the function."
                ).format(where=where),
            ),
            "bad",
        )
    check = (
        rf"f(x_1) \approx {num_tex(f1, 6)}\quad(f(x_0) \approx {num_tex(f0, 6)}),\qquad "
        rf"\lVert {nabla}(x_1)\rVert \approx {num_tex(norm1, 4)}\quad"
        rf"(\lVert {nabla}(x_0)\rVert \approx {num_tex(norm0, 4)})"
    )
    went = "lower" if f1 < f0 else "higher" if f1 > f0 else "the same"
    steeper = "smaller" if norm1 < norm0 else "larger" if norm1 > norm0 else "the same"
    landed = _landed_on(facts, grad, landing, rounded)
    lands = _(_LANDS[went, steeper]).format(
        where=where,
        f1=big_number(f1, 6),
        f0=big_number(f0, 6),
        n1=big_number(norm1, 4),
        n0=big_number(norm0, 4),
    )
    approximate = _(
        "f is not a quadratic, so the model is only an approximation near x₀, and its "
        "critical point need not be one of f."
    )
    after_one = landed or _("One step says nothing yet about where repeated Newton steps end up.")
    text = [
        f"{approximate} {lands} {after_one}",
        _agreement(facts, inputs, step, model, f1),
    ]
    text.extend(_model_kind(inputs))
    return check, tuple(t for t in text if t), "good" if f1 < f0 else "warn"


def _quadratic_verdict(
    facts: Facts,
    inputs: _Inputs,
    landing: Sequence[Any],
    after: Any,
    grad: Sequence[Any],
    rounded: bool,
) -> tuple[str, tuple[str, ...], str]:
    nabla = "f'" if facts.n == 1 else r"\nabla f"
    zero = all(g == 0 for g in grad)
    entries = [value_tex(g)[0] for g in grad]
    shown = entries[0] if facts.n == 1 else column(entries)
    check = rf"{nabla}(x_1) = {shown}"
    where = floats_plain([float(v) for v in landing])
    if zero:
        first = _(
            "f is a quadratic, so the model is f itself and the step lands exactly on "
            "its critical point: ∇f(x₁) is exactly zero at x₁ = {where}."
        ).format(where=where)
    else:
        largest = max(abs(float(g)) for g in grad)
        first = _(
            "f is a quadratic, so the model is f itself and the step lands on its critical "
            "point x₁ ≈ {where}; in the decimals used ∇f(x₁) is not exactly zero but at "
            "most {largest} in size, the rounding of those decimals."
        ).format(where=where, largest=big_number(largest, 3))
    kind = _kind_at(facts, landing)
    f0, f1 = float(inputs.value), float(after)
    text = [first]
    change = _("f went from {f0} to {f1}.").format(f0=big_number(f0, 6), f1=big_number(f1, 6))
    if kind == "minimum":
        solved = _("That point is the minimum of f: one Newton step solved it.")
        text.append(f"{solved} {change}")
        return check, tuple(text), "good"
    if kind is None:
        unknown = _(
            "symgd's list of critical points does not include this point, so its kind is "
            "not stated here."
        )
        text.append(f"{unknown} {change}")
        return check, tuple(text), "warn"
    but = _(_NOT_A_MINIMUM[kind])
    newton = _(
        "Newton's method solves ∇f = 0 and goes to any critical point of the model, whatever "
        "its kind; it does not check that f goes down."
    )
    text.append(f"{but} {newton} {change}")
    return check, tuple(text), "warn"


def _landed_on(facts: Facts, grad: Sequence[Any], landing: Sequence[Any], rounded: bool) -> str:
    """A sentence when the step landed exactly on a critical point of f ('' otherwise)."""
    if rounded or not all(g == 0 for g in grad):
        return ""
    return _(_LANDED_ON[_kind_at(facts, landing) or ""])


def _kind_at(facts: Facts, landing: Sequence[Any]) -> str | None:
    """The kind the facts give the critical point at ``landing`` (None when not listed)."""
    point = facts.nearest_point([float(v) for v in landing], 1e-9)
    if point is not None:
        return point.kind
    window = facts.constant_window
    if window is not None and window.eigenvalues and facts.critical_set == "complete":
        from symgd.calculus.points import kind_of

        return kind_of(window.eigenvalues, False)
    return None


def _model_value(inputs: _Inputs, step: Sequence[Any]) -> Any:
    """m(d) = f(x₀) + ∇f(x₀)·d + ½ dᵀH(x₀)d."""
    n = len(step)
    g, h = inputs.gradient, inputs.hessian
    linear = sum((g[i] * step[i] for i in range(n)), 0)
    curved = sum((h[i][j] * step[i] * step[j] for i in range(n) for j in range(n)), 0)
    return inputs.value + linear + curved / 2


def _agreement(facts: Facts, inputs: _Inputs, step: Sequence[Any], model: Any, f1: float) -> str:
    """f against its model at the full step and at a tenth of it."""
    tenth = [v / 10 for v in step]
    near = _float(
        facts.exact_at(
            facts.problem.expr, [p + d for p, d in zip(inputs.point, tenth, strict=True)]
        ).value
    )
    far_gap = abs(f1 - float(model))
    text = _(
        "The model predicted m(d) ≈ {model} for f(x₀ + d); f is actually {f1} there, a gap of "
        "{gap}."
    ).format(model=big_number(float(model), 6), f1=big_number(f1, 6), gap=big_number(far_gap, 3))
    if near is None:
        return text
    gap = abs(near - float(_model_value(inputs, tenth)))
    if not gap < far_gap:
        return text + " " + _("A tenth of the way the gap is {gap}.").format(gap=big_number(gap, 3))
    tenth_text = _(
        "A tenth of the way, at x₀ + d/10, f ≈ {near} and the model gives {model}: a gap of "
        "{gap}. Close to x₀ the model and f agree; farther out they part."
    )
    shown = big_number(float(_model_value(inputs, tenth)), 6)
    return f"{text} " + tenth_text.format(
        near=big_number(near, 6), model=shown, gap=big_number(gap, 3)
    )


def _model_kind(inputs: _Inputs) -> list[str]:
    """What kind of critical point the model has, from the eigenvalues of H(x₀)."""
    import numpy as np

    h = np.array([[float(v) for v in row] for row in inputs.hessian])
    values = np.linalg.eigvalsh((h + h.T) / 2)
    if values.min() > 0:
        return []
    text = (
        _(
            "H(x₀) has a negative eigenvalue ({value}), so the model's critical point is a "
            "maximum, not a minimum: this Newton step heads for it all the same."
        )
        if values.max() < 0
        else _(
            "H(x₀) has a negative eigenvalue ({value}), so the model's critical point is a "
            "saddle, not a minimum: this Newton step heads for it all the same."
        )
    )
    return [text.format(value=big_number(float(values.min()), 4))]


def _norm(values: Sequence[Any]) -> float | None:
    floats = [_float(v) for v in values]
    if any(v is None for v in floats):
        return None
    return math.sqrt(sum(v * v for v in floats if v is not None))


def _float(value: Any) -> float | None:
    """``value`` as a finite real float, or None."""
    from symgd.calculus.hand_steps import real_number

    return real_number(value)
