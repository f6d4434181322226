"""The learning-rate panel's runs: plain descent with three learning rates around the
curvature thresholds at a reference point, each classified as it went."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from symgd.base.i18n import N_, _
from symgd.lesson.settings import TOLERANCE, Settings
from symgd.render.latex import floats_plain

if TYPE_CHECKING:
    import numpy as np

    from symgd.calculus.curvature import RateWindow
    from symgd.lesson.facts import Facts
    from symgd.numeric.results import Trajectory

#: learning rates of the learning-rate panel, as multiples of 1/λ_max
REGIME_FACTORS = (0.8, 1.2, 2.4)
#: steps of each panel run shown in the table and the figure
PANEL_STEPS = 30
#: steps each panel run is continued for, to see where it ends (its badge)
PANEL_OUTCOME_STEPS = 400
#: what the quadratic model predicts for the three rates, in order
PREDICTED = ("monotone", "oscillating", "divergent")
#: the words of a panel badge that is one fixed phrase (see :func:`observed_words`)
OBSERVED_WORDS = {
    "monotone": N_("monotone"),
    "oscillating": N_("oscillating"),
    "divergent": N_("divergent"),
    "growing": N_("growing"),
    "left the domain": N_("left the domain"),
    "stopped: saddle": N_("stopped: saddle"),
    "stopped: maximum": N_("stopped: maximum"),
    "stopped: degenerate": N_("stopped: degenerate"),
    "stopped: flat": N_("stopped: flat"),
}
#: where the panel reads the curvature when that is the critical point nearest the start
NEAREST_CRITICAL = {
    "minimum": N_("at the minimum {point}, the critical point nearest the start"),
    "maximum": N_("at the maximum {point}, the critical point nearest the start"),
    "saddle": N_("at the saddle {point}, the critical point nearest the start"),
    "degenerate": N_("at the degenerate {point}, the critical point nearest the start"),
}


@dataclass(frozen=True, eq=False)
class PanelRun:
    """One run of the panel: its rate, what was expected and what was observed."""

    rate: float
    expected: str
    #: the run, continued for :data:`PANEL_OUTCOME_STEPS` steps to see where it ends
    run: Trajectory
    #: what the run did: ``monotone``, ``oscillating`` (a zig-zag that converges), ``divergent``,
    #: ``2-cycle``, ... read from its outcome, never contradicting it
    observed: str
    #: the distance to the reference along v_max per step (f itself when ``relative``), for the
    #: first :data:`PANEL_STEPS` steps
    signal: np.ndarray = field(repr=False)

    @property
    def shown(self) -> slice:
        """The iterates the table and the figure show."""
        return slice(0, PANEL_STEPS + 1)


@dataclass(frozen=True, eq=False)
class RatePanel:
    """Where the curvature is read, what it says, and the three runs."""

    reference: list[float]
    #: ``at the minimum (1, 2) that gradient descent reached``
    where: str
    #: True when the reference is a minimum of f (the run's target)
    at_minimum: bool
    window: RateWindow
    #: no minimum and a varying Hessian: the rates are multiples of the lesson's η
    relative: bool
    #: the Hessian has a negative eigenvalue at the reference: runs escape whatever η is
    saddle: bool
    #: the runs start close to the reference, where f is nearly its quadratic model
    local: bool
    start: list[float]
    #: the small region around the reference drawn for two variables (``local`` only)
    local_region: Any
    runs: tuple[PanelRun, ...]

    @property
    def bounded(self) -> bool:
        """True when the curvature bounds η (a positive λ_max and a minimum to read it at)."""
        top = self.window.lambda_max
        return top is not None and top > 0 and not self.relative


def reference_point(
    facts: Facts, gd: Trajectory, start: list[float]
) -> tuple[list[float], str, bool]:
    """Where the curvature is read for the learning-rate panel: the minimum gradient descent
    reached or was heading for; for a constant Hessian without a minimum the critical point
    nearest the start (the curvature is the same everywhere); else the start. The flag is True
    when the point is a minimum."""
    from symgd.lesson.endings import heading_for, outcome_of, succeeded

    target = heading_for(facts, gd)
    if target is not None:
        if succeeded(gd):
            words = _("at the minimum {point} that gradient descent reached")
        elif outcome_of(gd) in ("diverged", "unbounded", "domain"):
            words = _("at the minimum {point} nearest the start of gradient descent")
        else:
            words = _("at the minimum {point} that gradient descent was heading for")
        return list(target), words.format(point=floats_plain(target)), True
    points = facts.isolated
    if points and facts.derivation.hessian_is_constant:
        nearest = min(
            points,
            key=lambda p: sum((a - b) ** 2 for a, b in zip(p.as_floats(), start, strict=True)),
        )
        named = NEAREST_CRITICAL.get(nearest.kind)
        where = (
            _(named).format(point=floats_plain(nearest.as_floats()))
            if named is not None
            else _("at the {kind} {point}, the critical point nearest the start").format(
                kind=nearest.kind, point=floats_plain(nearest.as_floats())
            )
        )
        return list(nearest.as_floats()), where, False
    return start, _("at the start point"), False


def run_panel(facts: Facts, s: Settings, gd: Trajectory) -> RatePanel:
    """The panel: reference point, window there, three rates, their runs."""
    import numpy as np

    from symgd.numeric.regimes import classify_along
    from symgd.numeric.runner import descend

    start = list(s.start.floats)
    reference, where, at_minimum = reference_point(facts, gd, start)
    window = facts.window_at(reference, where, vectors=True)
    relative = not at_minimum and not facts.derivation.hessian_is_constant
    top = window.lambda_max
    if top is None or not top > 0 or relative:
        rates = [s.lr.value * m for m in (0.5, 1.0, 2.0)]
        expected = [_("half this lesson's η"), _("this lesson's η"), _("twice this lesson's η")]
    else:
        rates = [_round_sig_within(factor / top, top, factor) for factor in REGIME_FACTORS]
        expected = [
            _("monotone (η < 1/λ_max)"),
            _("zig-zag (1/λ_max < η < 2/λ_max)"),
            _("divergent (η > 2/λ_max)"),
        ]
    vectors = window.vectors
    direction = np.asarray(vectors[-1]) if vectors else np.ones(facts.n) / math.sqrt(facts.n)
    positive = top is not None and top > 0
    saddle = (
        window.lambda_min is not None and window.lambda_min < -1e-12 and positive and not relative
    )
    # Away from a quadratic, the thresholds describe f near the reference point only, so
    # the runs start close to it, where f is nearly its quadratic model.
    local = (
        vectors is not None
        and positive
        and not relative
        and not facts.derivation.hessian_is_constant
        and at_minimum
        and facts.nearest_point(reference) is not None
    )
    panel_start, local_region = start, None
    if local and vectors is not None:
        panel_start, local_region = _near(facts, reference, direction, np.asarray(vectors[0]))
    runs = []
    for rate, label in zip(rates, expected, strict=True):
        run = descend(
            facts.problem,
            panel_start,
            method="gd",
            lr=rate,
            steps=PANEL_OUTCOME_STEPS,
            backend="numpy",
            tol=TOLERANCE,
        )
        along = classify_along(run, reference, direction, along_only=saddle or local)
        observed = along if saddle else observed_regime(along, run)
        head = slice(0, PANEL_STEPS + 1)
        signal = run.fs[head] if relative else (run.xs[head] - np.asarray(reference)) @ direction
        runs.append(PanelRun(rate, label, run, observed, signal))
    return RatePanel(
        reference,
        where,
        at_minimum,
        window,
        relative,
        saddle,
        local,
        panel_start,
        local_region,
        tuple(runs),
    )


def observed_words(observed: str) -> str:
    """The panel badge :attr:`PanelRun.observed` (an English machine value such as
    ``monotone``, ``3-cycle`` or ``stopped: saddle``) in the language in effect.

    >>> observed_words("3-cycle")
    '3-cycle'
    """
    if observed in OBSERVED_WORDS:
        return _(OBSERVED_WORDS[observed])
    head, _sep, tail = observed.partition("-")
    if tail == "cycle" and head.isdigit():
        return _("{n}-cycle").format(n=head)
    if observed.endswith(", still moving"):
        along = observed.removesuffix(", still moving")
        return _("{along}, still moving").format(along=observed_words(along))
    return observed


def observed_regime(along: str, run: Trajectory) -> str:
    """The panel badge of a run: the shape of its path (``along``: monotone, oscillating,
    divergent) where that agrees with how the run ended, else how it ended."""
    from symgd.lesson.endings import outcome_of, succeeded

    outcome = outcome_of(run)
    if succeeded(run):
        return "oscillating" if along == "oscillating" else "monotone"
    if outcome in ("diverged", "unbounded"):
        return "divergent"
    if outcome == "cycle":
        return f"{run.cycle_period or 2}-cycle"
    if outcome == "domain":
        return "left the domain"
    if outcome in ("saddle", "maximum", "degenerate", "flat"):
        return f"stopped: {outcome}"
    if along == "divergent":
        return "growing"
    return f"{along}, still moving"


def _near(
    facts: Facts,
    reference: Sequence[float],
    direction: Any,
    lowest: Any,
) -> tuple[list[float], Any]:
    """A start close to ``reference`` (and for two variables the region drawn around it)."""
    import numpy as np

    from symgd.render import figure_data as data

    delta = 0.02 * max(1.0, float(np.linalg.norm(reference)))
    offset = direction + (0.5 * lowest if facts.n > 1 else 0.0)
    start = [float(v) for v in np.asarray(reference) + delta * offset]
    region = None
    if facts.n == 2:
        lo = tuple(float(c - 3 * delta) for c in reference)
        hi = tuple(float(c + 3 * delta) for c in reference)
        region = data.Region(lo, hi)
    return start, region


def _round_sig_within(value: float, lam: float, factor: float) -> float:
    """``value`` rounded to two significant digits unless that crosses a regime boundary."""
    rounded = float(f"{value:.2g}")
    bounds = (1.0, 2.0)
    before = [factor < b for b in bounds]
    after = [rounded * lam < b for b in bounds]
    return rounded if before == after else value
