"""Explore: run it yourself. An interactive stage for a function of one or two variables: click
to set the start, move η, the steps, the method and its hyperparameters, and the path, f(x_k)
and |∇f(x_k)| are redrawn at once from f, ∇f and the Hessian printed as JavaScript
(:mod:`symgd.render.jscode`), with the update rules and stop rules of :func:`symgd.descend`.

The page stays self-contained: one inline script, allowed by its hash in the page's
Content-Security-Policy (:func:`explore_csp`), no other load of any kind. Without JavaScript
(and in print) the section shows a static picture of the lesson's run instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from symgd.base.i18n import N_, _, current, n_
from symgd.lesson.facts import Facts
from symgd.lesson.methods import label
from symgd.lesson.runs import Runs
from symgd.lesson.settings import MAX_STEPS, TOLERANCE, Settings
from symgd.lesson.view import OFF_PAGE, View
from symgd.render.worker import Pending

#: the most steps the explorer's slider offers (a typed number may go up to the lesson's bound)
SLIDER_STEPS = 5000
#: the most steps one run of the explorer takes
EXPLORE_MAX_STEPS = 100_000
SCRIPT_FILE = "explore.js"


@dataclass(frozen=True)
class ExploreSection(View):
    """The explorer: words, the static picture for print and pages without JavaScript, and
    the inline script (its text is what the page's policy hashes)."""

    intro: str
    static_caption: str
    static_figure: Pending
    no_script: str
    variables: tuple[str, ...]
    script: Markup
    figures: dict[str, Any] = field(default_factory=dict, metadata=OFF_PAGE)


def explore_section(facts: Facts, s: Settings, runs: Runs) -> ExploreSection | None:
    """The explorer for f of one or two variables (``None`` for more)."""
    if facts.n > 2 or not runs.runs:
        return None
    script = explore_script(
        facts.variables,
        facts.problem.expr,
        facts.compiled.gradient,
        explore_data(facts, s, runs),
    )
    main = runs.main
    intro = (
        _(
            "Try it yourself: choose the start with a click on the picture (or focus the start "
            "marker and use the arrow keys), move the learning rate η and the number of steps, "
            "pick an optimizer and its settings, and the path, f(xₖ) and |∇f(xₖ)| follow at "
            "once."
        )
        if facts.n == 2
        else _(
            "Try it yourself: choose the start with a click on the graph (or focus the start "
            "marker and use the arrow keys), move the learning rate η and the number of steps, "
            "pick an optimizer and its settings, and the path, f(xₖ) and |∇f(xₖ)| follow at "
            "once."
        )
    )
    same = _(
        "The runs here use the same update rules and stop rules as the runs above (|∇f| < "
        "{tol} stops a run), computed in your browser from the exact derivatives."
    ).format(tol=f"{TOLERANCE:g}")
    return ExploreSection(
        intro=intro + " " + same,
        static_caption=_("The lesson's run of {method} from x₀ (η = {lr}).").format(
            method=label(main.method).lower(), lr=f"{main.lr:g}"
        )
        + " "
        + _("In a web browser with JavaScript this picture is interactive."),
        static_figure=Pending("explore"),
        no_script=_(
            "This section is interactive in a web browser with JavaScript: there you can set "
            "the start, the learning rate, the steps and the optimizer and watch the run "
            "change. Here it shows the lesson's own run."
        ),
        variables=facts.names,
        script=Markup(script),  # generated code, checked by jscode
        figures={"explore": _static_job(facts, runs)},
    )


def explore_csp(section: ExploreSection | None) -> str:
    """The page's Content-Security-Policy: nothing loads; the explorer's script (when the page
    has one) runs, allowed by its hash."""
    from symgd.render.jscode import page_policy

    return page_policy(() if section is None else (str(section.script),))


@functools.cache
def script_body() -> str:
    from symgd.render.templates import templates_path

    return (templates_path(None) / SCRIPT_FILE).read_text(encoding="utf-8")


def explore_data(facts: Facts, s: Settings, runs: Runs) -> dict[str, Any]:
    """What the script reads: variables, the picture's box, the lesson's run, and
    :func:`registry_data`."""
    main = runs.main
    region = runs.region
    return {
        **registry_data(),
        "names": list(facts.names),
        "source": facts.problem.source,
        "region": {"lo": [float(v) for v in region.lo], "hi": [float(v) for v in region.hi]},
        "markers": [
            {"point": [float(v) for v in m.point], "kind": m.kind, "label": m.label}
            for m in runs.markers
            if m.kind != "start"
        ],
        "lesson": {
            "method": main.method,
            "lr": float(main.lr),
            "steps": int(s.steps),
            "start": [float(v) for v in s.start.floats],
        },
        "sliderSteps": max(SLIDER_STEPS, int(s.steps)),
    }


def registry_data() -> dict[str, Any]:
    """The optimizers of the registry (names, labels, colours, hyperparameters and their
    defaults and ranges), the stop rules' constants, the words of each status and outcome and
    the script's own words (:func:`script_words`), in the language in effect."""
    from symgd.numeric.optimizers import OPTIMIZERS
    from symgd.numeric.outcomes import Outcome
    from symgd.numeric.results import RUNAWAY, Status

    return {
        "tol": TOLERANCE,
        "runaway": RUNAWAY,
        "maxSteps": min(MAX_STEPS, EXPLORE_MAX_STEPS),
        "sliderSteps": SLIDER_STEPS,
        "methods": [
            {
                "name": spec.name,
                "label": label(spec.name),
                "colour": spec.colour,
                "newton": spec.needs_hessian,
                "minimizes": spec.minimizes,
                "defaultLr": spec.default_lr,
                "hyper": [
                    {
                        "name": h.name,
                        "symbol": h.symbol,
                        "meaning": _(h.meaning),
                        "default": h.default,
                        "common": h.common,
                        "below_one": h.allowed.words == "in [0, 1)",
                        "words": _(h.allowed.words),
                    }
                    for h in spec.hyperparameters
                ],
            }
            for spec in OPTIMIZERS.values()
        ],
        "statuses": {status.value: status.message for status in Status},
        "outcomes": {outcome.value: outcome.words for outcome in Outcome},
        "words": script_words(),
    }


#: the registry's words the script shows, marked for translation (``registry_data`` translates
#: the registry's own text with these messages; a text not among them stays as it is; statuses
#: and outcomes translate their own words)
REGISTRY_WORDS = (
    N_("momentum coefficient"),
    N_("epsilon"),
    N_("learning-rate decay"),
    N_("initial value of the sum"),
    N_("smoothing constant"),
    N_("beta1"),
    N_("beta2"),
    N_("at least 0"),
    N_("in [0, 1)"),
)
#: a status by its name, as the script's live readout says it (an outcome: ``name_words``)
STATUS_NAMES = {
    "converged": N_("converged"),
    "max_steps": N_("max_steps"),
    "diverged": N_("diverged"),
    "domain": N_("domain"),
    "singular": N_("singular"),
}


def script_words() -> dict[str, Any]:
    """The words the explorer's script writes, in the language in effect: templates with
    ``{name}`` placeholders that the script fills (``say`` in ``explore.js``)."""
    from symgd.numeric.outcomes import Outcome

    return {
        "unknownMethod": _("unknown method {method}"),
        "badRate": _("the learning rate must be a positive number"),
        "badSteps": _("the steps must be a whole number from 0 to {max}"),
        "badStart": _("the start needs {n} finite coordinates"),
        "badHyper": _("{name} must be {allowed}"),
        "nesterov": _("Nesterov momentum needs momentum > 0"),
        "copied": _("Copied."),
        "copyByHand": _("Select the command above to copy it."),
        "said": [
            n_(
                "status: {status} after {n} step · outcome: {outcome}: {words}. Last point "
                "({point}), f = {f}, |∇f| = {grad}.",
                "status: {status} after {n} steps · outcome: {outcome}: {words}. Last point "
                "({point}), f = {f}, |∇f| = {grad}.",
                count,
            )
            for count in (1, 2)
        ],
        "cycle": _("{outcome} (period {period})"),
        "statuses": {key: _(value) for key, value in STATUS_NAMES.items()},
        "outcomes": {outcome.value: outcome.name_words for outcome in Outcome},
        "marker": _("Start point ({point}): arrow keys move it"),
        "gradientChart": _("|∇f(xₖ)|, log scale"),
        "langOption": "" if current() == "en" else f" --lang {current()}",
    }


def explore_script(
    variables: Sequence[Any], expr: Any, gradient: Sequence[Any], data: dict[str, Any]
) -> str:
    """The explorer's whole inline script for f = ``expr`` (its Hessian worked out here)."""
    from symgd.calculus.differentiate import hessian_of
    from symgd.render import jscode

    hessian = hessian_of(tuple(gradient), tuple(variables))
    model = jscode.model_code(variables, expr, gradient, hessian)
    return jscode.script_text(model, data, script_body())


def _static_job(facts: Facts, runs: Runs) -> Any:
    """The picture of the lesson's run, drawn as the runs section draws its paths."""
    from symgd.render import figure_data as data
    from symgd.render import figures as plots

    path = runs.paths[runs.runs.index(runs.main)] if runs.main in runs.runs else runs.paths[0]
    markers = list(runs.markers)
    if facts.n == 2:
        return plots.FigureJob(
            "contour_figure",
            {
                "surface": runs.surface,
                "paths": [path],
                "variables": (facts.names[0], facts.names[1]),
                "markers": markers,
                "lines": False,  # the fallback of a live picture: keep the page light
                "name": "fig-explore",
            },
        )
    compiled = facts.compiled
    curve = data.sample_curve(
        compiled.f_batch, lambda x: compiled.grad_batch(x)[0], runs.region, []
    )
    return plots.FigureJob(
        "curve_figure",
        {
            "curve": curve,
            "paths": [path],
            "variable": facts.names[0],
            "markers": markers,
            "name": "fig-explore",
        },
    )
