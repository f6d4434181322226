"""Figures for the lesson's "Go deeper" calculus sections (matplotlib's object API, SVG text out).

Each figure function is listed in :data:`FIGURES`, which :data:`symgd.render.figures.DRAWABLE`
takes in, so a :class:`~symgd.render.figures.FigureJob` can name it. Inputs are plain numbers
and lists, so a job can be pickled and drawn in another process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from symgd.base.i18n import _
from symgd.render.figure_data import PALETTE
from symgd.render.figure_output import log_axis, new_figure, styled, value_window

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: machine epsilon of a double, 2⁻⁵²
EPSILON = 2.0**-52


def _positive(values: Sequence[float], floor: float) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as an array with zeros (and anything below ``floor``) raised to ``floor``,
    and a mask of the entries that were raised."""
    data = np.asarray(values, dtype=float)
    raised = ~(data > floor)
    return np.where(raised, floor, data), raised


def _floor_of(*series: Sequence[float]) -> float:
    """A level below every positive value of ``series``, where exact zeros are drawn."""
    positive = [v for s in series for v in s if v > 0 and math.isfinite(v)]
    return min(positive) / 10.0 if positive else 1e-20


def difference_error_figure(
    hs: Sequence[float],
    forward: Sequence[float],
    central: Sequence[float],
    *,
    forward_slope: float | None,
    central_slope: float | None,
    rounding: float | None,
    used_h: float,
    name: str = "fig-numerical",
) -> str:
    """Error of the forward and central difference gradients against h (log–log): the data,
    truncation guides ``forward_slope·h`` and ``central_slope·h²`` (left out when None),
    the rounding guide ``rounding/h``, and the h where each is best in theory (ε^½, ε^⅓)."""

    def draw() -> Figure:
        fig = new_figure(6.4, 4.2, top=0.12, right=0.2, bottom=0.98)
        ax = fig.subplots()
        h = np.asarray(hs, dtype=float)
        floor = _floor_of(forward, central)
        for values, colour, label, marker in (
            (forward, PALETTE[1], _("forward difference"), "o"),
            (central, PALETTE[0], _("central difference"), "s"),
        ):
            data, raised = _positive(values, floor)
            ax.plot(h, data, "-", marker=marker, ms=3.2, color=colour, lw=1.3, label=label)
            if raised.any():
                ax.plot(h[raised], data[raised], marker, ms=5, mfc="white", color=colour)
        _guides(ax, h, forward_slope, central_slope, rounding)
        for value, text in ((EPSILON**0.5, "√ε"), (EPSILON ** (1 / 3), "∛ε")):
            ax.axvline(value, color="#888888", lw=0.8, ls=":")
            ax.annotate(
                f"h = {text}",
                (value, 0.0),
                xycoords=("data", "axes fraction"),
                textcoords="offset points",
                xytext=(3, 3),
                fontsize=7.5,
                color="#555555",
                va="bottom",
            )
        used = _("h = {h} (used)").format(h=f"{used_h:g}")
        ax.axvline(used_h, color=PALETTE[2], lw=1.0, ls="--", label=used)
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlim(float(h.min()) / 1.5, float(h.max()) * 1.5)
        top = max(float(np.max(_positive(forward, floor)[0])), float(np.max(h)))
        ax.set_ylim(floor / 3.0, top * 30.0)
        ax.set_xlabel(_("step h"))
        ax.set_ylabel(_("largest error over the coordinates"))
        ax.grid(True, which="major")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.19), ncol=2, fontsize=7.5)
        return fig

    return styled(draw, name)


def _guides(
    ax: Axes,
    h: np.ndarray,
    forward_slope: float | None,
    central_slope: float | None,
    rounding: float | None,
) -> None:
    """Dashed reference lines: truncation (slopes 1 and 2) and rounding (slope −1)."""
    guides = (
        (forward_slope, 1, PALETTE[1], _("slope 1: h·|f″|/2"), h >= 1e-9),
        (central_slope, 2, PALETTE[0], _("slope 2: h²·|f‴|/6"), h >= 1e-7),
        (rounding, -1, "#777777", _("slope −1: rounding ∝ ε/h"), h <= 1e-4),
    )
    for scale, power, colour, label, part in guides:
        if scale is None or not scale > 0 or not math.isfinite(scale):
            continue
        x = h[part]
        ax.plot(x, scale * x**power, "--", color=colour, lw=0.9, alpha=0.8, label=label)


def linearisation_error_figure(
    steps: Sequence[float],
    errors: Sequence[float],
    *,
    reference: float,
    reference_label: str,
    name: str = "fig-tangent-error",
) -> str:
    """|Δf − df| against |dx| on log–log axes, with a reference line ``reference·|dx|²``
    (``reference_label`` is translated when drawn: mark it with ``N_``)."""

    def draw() -> Figure:
        fig = new_figure(6.0, 3.4, top=0.15, right=0.2)
        ax = fig.subplots()
        dx = np.asarray(steps, dtype=float)
        err = np.asarray(errors, dtype=float)
        keep = np.isfinite(err) & (err > 0)
        ax.plot(dx[keep], err[keep], "-o", ms=3.2, lw=1.4, color=PALETTE[0], label="|Δf − df|")
        ax.plot(dx, reference * dx**2, "--", lw=1.0, color=PALETTE[1], label=_(reference_label))
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlabel(_("length of the move |dx|"))
        ax.set_ylabel(_("error of the linearisation"))
        ax.grid(True, which="major")
        ax.legend(loc="upper left")
        return fig

    return styled(draw, name)


def tangent_line_figure(
    xs: Sequence[float],
    fs: Sequence[float],
    *,
    x0: float,
    f0: float,
    slope: float,
    gap: float,
    variable: str = "x",
    name: str = "fig-tangent-line",
) -> str:
    """The graph of f near x₀ with the tangent line there, and the gap Δf − df at x₀ + ``gap``."""

    def draw() -> Figure:
        fig = new_figure(6.0, 3.4, top=0.15, right=0.2, left=0.8)
        ax = fig.subplots()
        x = np.asarray(xs, dtype=float)
        f = np.asarray(fs, dtype=float)
        line = f0 + slope * (x - x0)
        near = np.abs(x - x0) <= 1.05 * abs(gap) + 1e-12
        bottom, top = value_window(np.concatenate([f[np.isfinite(f)], line[near]]))
        ax.plot(x, f, color="#333333", lw=1.6, label=f"f({variable})")
        ax.plot(x, line, color=PALETTE[4], lw=1.3, label=_("tangent line at x₀"))
        ax.plot([x0], [f0], "o", color=PALETTE[2], ms=6, zorder=4, label="x₀")
        x1 = x0 + gap
        index = int(np.argmin(np.abs(x - x1)))
        if np.isfinite(f[index]):
            ax.plot([x[index]] * 2, [line[index], f[index]], color=PALETTE[1], lw=2.0)
            ax.annotate(
                "Δf − df",
                (x[index], 0.5 * (line[index] + f[index])),
                textcoords="offset points",
                xytext=(5, 0),
                fontsize=8,
                color=PALETTE[1],
                va="center",
            )
        ax.set_xlim(float(x.min()), float(x.max()))
        ax.set_ylim(bottom, top)
        ax.set_xlabel(variable)
        ax.set_ylabel(f"f({variable})")
        ax.grid(True)
        ax.legend(loc="best")
        return fig

    return styled(draw, name)


def angle_figure(
    grad_norm: float, theta: float, value: float, *, name: str = "fig-directional-angle"
) -> str:
    """‖∇f‖ cos θ for θ in [0°, 180°] with the angle ``theta`` of one direction marked."""

    def draw() -> Figure:
        fig = new_figure(5.6, 2.7, top=0.15, right=0.2)
        ax = fig.subplots()
        angles = np.linspace(0.0, 180.0, 181)
        ax.plot(angles, grad_norm * np.cos(np.radians(angles)), color=PALETTE[0], lw=1.6)
        ax.axhline(0.0, color="#999999", lw=0.8)
        ax.plot([theta], [value], "o", color=PALETTE[2], ms=7, zorder=4)
        right = theta > 120
        ax.annotate(
            _("your direction: θ ≈ {theta}°").format(theta=f"{theta:.1f}"),
            (theta, value),
            textcoords="offset points",
            xytext=(-8 if right else 8, 8 if value < 0 else -10),
            fontsize=8,
            color=PALETTE[2],
            ha="right" if right else "left",
            va="bottom" if value < 0 else "top",
        )
        ax.set_xticks(range(0, 181, 30))
        ax.set_xlim(0, 180)
        ax.set_ylim(-1.25 * grad_norm, 1.25 * grad_norm)
        ax.set_xlabel(_("angle θ between u and ∇f (degrees)"))
        ax.set_ylabel("D_u f = ‖∇f‖ cos θ")
        ax.grid(True)
        return fig

    return styled(draw, name)


#: the figure functions of this module, for :data:`symgd.render.figures.DRAWABLE`
FIGURES: tuple[Callable[..., str], ...] = (
    difference_error_figure,
    linearisation_error_figure,
    tangent_line_figure,
    angle_figure,
)
