"""Go deeper: the directional derivative D_u f = ∇f · u/‖u‖ at x₀, exactly, and its place on
the cos θ curve (the direction the user asked for with ``--direction``, else the three
directions of the cos θ table)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from symgd.base.errors import InputError, short_repr
from symgd.base.i18n import _
from symgd.calculus.exact import exact_number
from symgd.lesson.exact_forms import tidy
from symgd.lesson.facts import Facts
from symgd.lesson.settings import Settings
from symgd.lesson.view import OFF_PAGE, View
from symgd.render.latex import column, number, value_tex
from symgd.render.worker import Pending


@dataclass(frozen=True)
class DirectionValue(View):
    """D_u f along one direction."""

    name: str
    theta: str
    latex: str


@dataclass(frozen=True)
class Asked(View):
    """The direction the user asked about, and D_u f along it."""

    direction_latex: str
    unit_latex: str
    value_latex: str
    angle: str
    words: str
    figure: Pending | None
    caption: str
    #: for the JSON
    direction: tuple[float, ...]
    unit: tuple[float, ...]
    value: float
    exact: str | None
    angle_degrees: float | None


@dataclass(frozen=True)
class DirectionalSection(View):
    """The directional derivative at x₀."""

    formula_latex: str
    point_latex: str
    gradient_latex: str
    norm_latex: str
    stationary: bool
    rounded: bool
    rows: tuple[DirectionValue, ...]
    asked: Asked | None
    ask: str
    figures: dict[str, Any] = field(default_factory=dict, metadata=OFF_PAGE)


def parse_direction(facts: Facts, values: object) -> tuple[Any, ...]:
    """A direction u given by the user, checked against f, as exact numbers: ``"1,2"``, a
    sequence of numbers, a mapping ``{name: number}`` (a name left out counts as 0) or one
    number for one variable; one finite number per variable, not all zero. Decimals become
    the rationals they name."""
    names = facts.names
    if isinstance(values, str):
        items: list[Any] = [v.strip() for v in values.split(",")]
    elif isinstance(values, Mapping):
        unknown = [str(k) for k in values if k not in names]
        if unknown:
            raise InputError(
                _("{unknown} is not a variable of the function ({names})").format(
                    unknown=", ".join(unknown), names=", ".join(names)
                )
            )
        items = [values.get(k, 0) for k in names]
    elif isinstance(values, int | float) and not isinstance(values, bool):
        items = [values]
    elif isinstance(values, Sequence):
        items = list(values)
    else:
        raise InputError(
            _("the direction must be numbers separated by commas, such as 1,2, got {got}").format(
                got=short_repr(values)
            )
        )
    if len(items) != facts.n:
        raise InputError(
            _(
                "the direction has {count} value(s) but the function has {n} "
                "variable(s) ({names}); give one number per variable, such as "
                "--direction {example}"
            ).format(
                count=len(items),
                n=facts.n,
                names=", ".join(names),
                example=",".join(["1"] * facts.n),
            )
        )
    exact = tuple(_direction_number(v, name) for v, name in zip(items, names, strict=True))
    if all(v == 0 for v in exact):
        raise InputError(
            _(
                "the direction is the zero vector, which points nowhere; give at least one "
                "component that is not 0"
            )
        )
    return exact


def _direction_number(value: Any, name: str) -> Any:
    """One component of a direction, checked: a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(_not_a_number(name, value))
    if isinstance(value, str):
        try:
            as_float = float(value)
        except ValueError:
            raise InputError(_not_a_number(name, value)) from None
    else:
        try:
            as_float = float(value)
        except OverflowError:
            as_float = math.inf
    if not math.isfinite(as_float):
        raise InputError(
            _("the direction's value for {name} must be a finite number, got {got}").format(
                name=name, got=short_repr(value)
            )
        )
    return exact_number(value if isinstance(value, int) else repr(as_float))


def _not_a_number(name: str, value: Any) -> str:
    return _("the direction's value for {name} must be a number, got {got}").format(
        name=name, got=short_repr(value)
    )


def directional_section(facts: Facts, s: Settings) -> DirectionalSection | None:
    """D_u f at x₀: along the direction asked for, and along, across and against ∇f."""
    import sympy as sp

    found = [facts.exact_at(g, s.start.exact) for g in facts.derivation.gradient]
    g0 = [tidy(e.value) for e in found]
    try:
        numeric = [float(v) for v in g0]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in numeric):
        return None
    norm = math.sqrt(sum(v * v for v in numeric))
    norm_exact = tidy(sp.sqrt(tidy(sum((v**2 for v in g0), sp.Integer(0)))))
    entries = [value_tex(v)[0] for v in g0]
    stationary = norm == 0.0
    norm_shown = value_tex(norm_exact, 5)[0]
    asked = None
    if s.direction is not None:
        asked = _asked(facts, s.direction, g0, norm, stationary)
    figures = {}
    if asked is not None and asked.figure is not None and asked.angle_degrees is not None:
        from symgd.render.figures import FigureJob

        figures["directional"] = FigureJob(
            "angle_figure",
            {
                "grad_norm": norm,
                "theta": asked.angle_degrees,
                "value": asked.value,
                "name": "fig-directional-angle",
            },
        )
    return DirectionalSection(
        formula_latex=r"D_{\mathbf{u}} f(x_0) = \nabla f(x_0) \cdot "
        r"\frac{\mathbf{u}}{\lVert\mathbf{u}\rVert} = \lVert\nabla f(x_0)\rVert\cos\theta",
        point_latex=rf"x_0 = {s.start.latex}",
        gradient_latex=r"\nabla f(x_0) = " + (column(entries) if facts.n > 1 else entries[0]),
        norm_latex=r"\lVert\nabla f(x_0)\rVert " + _equals(norm_shown),
        stationary=stationary,
        rounded=any(e.rounded for e in found),
        rows=_rows(facts.n, norm_shown, value_tex(-norm_exact, 5)[0], stationary),
        asked=asked,
        ask=_ask(facts),
        figures=figures,
    )


def _equals(latex: str) -> str:
    return latex if latex.lstrip().startswith(r"\approx") else f"= {latex}"


def _rows(n: int, norm: str, negative: str, stationary: bool) -> tuple[DirectionValue, ...]:
    """D_u f along, across and against ∇f (no "across" with one variable)."""
    if stationary:
        return ()
    rows = [DirectionValue(_("along ∇f"), "0°", norm)]
    if n > 1:
        across = _("across ∇f") if n == 2 else _("across ∇f (any direction perpendicular to it)")
        rows.append(DirectionValue(across, "90°", "0"))
    rows.append(DirectionValue(_("against ∇f"), "180°", negative))
    return tuple(rows)


def _asked(
    facts: Facts, u: Sequence[Any], g0: Sequence[Any], norm: float, stationary: bool
) -> Asked:
    """D_u f along the direction asked for, exact where it can be."""
    import sympy as sp

    length = tidy(sp.sqrt(sum((sp.sympify(c) ** 2 for c in u), sp.Integer(0))))
    unit = [tidy(sp.sympify(c) / length) for c in u]
    value = _shortest(tidy(sum((g * c for g, c in zip(g0, unit, strict=True)), sp.Integer(0))))
    unit_floats = tuple(float(c) for c in unit)
    value_float = float(value)
    shown, exact = value_tex(value, 5)
    direction_tex = [value_tex(sp.sympify(c))[0] for c in u]
    unit_tex = [value_tex(c, 4)[0] for c in unit]
    one = facts.n == 1
    u_latex = r"\mathbf{u} = " + (direction_tex[0] if one else column(direction_tex))
    unit_latex = r"\frac{\mathbf{u}}{\lVert\mathbf{u}\rVert} = " + (
        unit_tex[0] if one else column(unit_tex)
    )
    value_latex = r"D_{\mathbf{u}} f(x_0) " + _equals(shown)
    if stationary:
        return Asked(
            u_latex,
            unit_latex,
            value_latex,
            "",
            _(
                "The gradient is zero at x₀, so D_u f = 0 in every direction, this one too: "
                "to first order f does not change, and the angle θ to ∇f is not defined."
            ),
            None,
            "",
            tuple(float(c) for c in u),
            unit_floats,
            0.0,
            "0",
            None,
        )
    cosine = max(-1.0, min(1.0, value_float / norm))
    theta = math.degrees(math.acos(cosine))
    return Asked(
        u_latex,
        unit_latex,
        value_latex,
        f"{theta:.1f}°",
        _asked_words(value_float, theta, cosine),
        Pending("directional"),
        _(
            "D_u f = ‖∇f(x₀)‖ cos θ for every angle θ between a direction and the gradient, "
            "with ‖∇f(x₀)‖ ≈ {norm}; the dot is the direction you asked about "
            "(θ ≈ {theta}°, D_u f ≈ {value})."
        ).format(norm=number(norm, 4), theta=f"{theta:.1f}", value=number(value_float, 4)),
        tuple(float(c) for c in u),
        unit_floats,
        value_float,
        str(value) if exact else None,
        theta,
    )


def _shortest(value: Any) -> Any:
    """``value`` or its common factors pulled out, whichever is shorter."""
    import sympy as sp

    if value.is_Rational or sp.count_ops(value) > 60:
        return value
    factored = sp.factor_terms(value)
    return factored if len(str(factored)) < len(str(value)) else value


def _asked_words(value: float, theta: float, cosine: float) -> str:
    """What D_u f along the direction asked for says, for these numbers."""
    if abs(cosine) > 1 - 1e-12:
        if cosine > 0:
            return _(
                "u points straight along ∇f (θ = 0°): f rises at the "
                "steepest rate there is, ‖∇f(x₀)‖ per unit step."
            )
        return _(
            "u points straight against ∇f (θ = 180°): f falls at the "
            "steepest rate there is, ‖∇f(x₀)‖ per unit step."
        )
    if value > 0:
        text = _(
            "The angle between u and ∇f is θ ≈ {theta}°, so f rises along u at "
            "cos θ ≈ {share} times the steepest rate ‖∇f(x₀)‖ (the rate ranges from "
            "−‖∇f‖ against the gradient to +‖∇f‖ along it)."
        )
        return text.format(theta=f"{theta:.1f}", share=number(cosine, 3))
    if not value < 0:
        return _(
            "u is perpendicular to ∇f (θ = 90°): to first order f does not change along it, "
            "so u is tangent to the level set of f through x₀."
        )
    text = _(
        "The angle between u and ∇f is θ ≈ {theta}°, so f falls along u at "
        "{share} times the steepest rate ‖∇f(x₀)‖ (the rate ranges from "
        "−‖∇f‖ against the gradient to +‖∇f‖ along it)."
    )
    return text.format(theta=f"{theta:.1f}", share=number(-cosine, 3))


def _ask(facts: Facts) -> str:
    """An example of ``--direction`` for this function."""
    return "--direction " + (
        ",".join(["1", "2", *(["0"] * (facts.n - 2))]) if facts.n > 1 else "-1"
    )


def directional_json(section: DirectionalSection | None) -> dict[str, Any]:
    """D_u f along the direction asked for, for ``symgd explain --json`` ({} without one)."""
    if section is None or section.asked is None:
        return {}
    a = section.asked
    return {
        "directional_derivative": {
            "direction": list(a.direction),
            "unit": list(a.unit),
            "value": a.value,
            "exact": a.exact,
            "angle_degrees": a.angle_degrees,
        }
    }
