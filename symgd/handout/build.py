"""Exercise sheets for a class: numbered exercises on each function, with exact answer keys.

For every function a sheet asks for the gradient, the total differential, the Hessian and the
kinds of the critical points (the same for every variant: they depend on the function only),
two steps of gradient descent by hand from a start point with a learning rate, and whether a
given learning rate makes plain descent converge on a quadratic. Variants differ in the start
points, the learning rates and the generated quadratics; every choice is drawn from a
``random.Random`` seeded by ``(seed, variant, function, exercise)``, so the same seed gives the
same handout and adding a function leaves the others' numbers alone. Answers are exact SymPy
values (rationals wherever the function allows), computed once and shared by the PDF's key and
the JSON key; a hand step whose exact numbers would pass 200 digits (x¹⁰⁰⁰) is worked in
decimals instead, and its question asks for four decimal places.

Size: at most :data:`MAX_VARIANTS` (100) variants and :data:`MAX_SHEETS` (200) function
sheets (functions × variants) per handout; each sheet costs about 0.8 s of CPU and 3 MB,
mostly in printing the PDF (200 sheets: 170 s of CPU, 0.6 GB). Beyond the caps the handout is
refused with a message (``InputError``) that says how to split it.

The pipeline, one module per stage, joined by the frozen dataclasses of
:mod:`symgd.handout.model`:

- this module: settings, derivations, and a :class:`~symgd.handout.model.Sheet` per function
  and variant (:func:`build_handout`);
- :mod:`~symgd.handout.descent_exercise` and :mod:`~symgd.handout.rate_exercise`: the two
  exercise kinds drawn at random (the steps are worked by :mod:`symgd.calculus.hand_steps`, the
  curvature comes from :mod:`symgd.calculus.curvature`);
- :mod:`~symgd.handout.answer_key`: the key as JSON (:func:`handout_to_json`);
- :mod:`~symgd.handout.solutions`: the worked solutions as lines of words and LaTeX;
- :mod:`~symgd.handout.page`: the template context, HTML and PDF
  (:func:`handout_context`, :func:`render_handout_html`, :func:`render_handout_pdf`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence

import sympy as sp

from symgd.base.errors import InputError
from symgd.base.i18n import N_, _, check_language, language
from symgd.base.limits import MAX_SHEETS, MAX_VARIANTS
from symgd.calculus.derivation import Derivation, derive
from symgd.expr.problem import Problem, to_text
from symgd.handout.descent_exercise import draw_steps, steps_question
from symgd.handout.model import Exercise, Handout, Sheet, Variant
from symgd.handout.rate_exercise import rate_question, rate_question_text
from symgd.handout.text import call_text, prime

__all__ = [
    "DEFAULT_TITLE",
    "build_handout",
    "derive_all",
    "make_sheet",
    "stream",
]

ANSWER_MODES = ("separate", "inline", "none")
DEFAULT_TITLE = N_("Gradient descent: exercises")
MAX_FUNCTIONS = 200
#: seconds each function's critical-point analysis may take before the numeric fallback
DERIVE_TIMEOUT = 3.0
#: from this many functions on, derivations are shared between worker processes
PARALLEL_FUNCTIONS = 4


def build_handout(
    expressions: Sequence[str | sp.Expr | Problem | Derivation],
    *,
    variants: int = 1,
    seed: int = 0,
    answers: str = "separate",
    title: str = DEFAULT_TITLE,
    timeout: float = DERIVE_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 2,
    lang: str | None = None,
) -> Handout:
    """Derive each function once and draw ``variants`` sets of exercises from ``seed``.

    ``lang`` (``"en"``, ``"ko"``; ``None``: the language in effect) is the language of the
    questions, the key and the page; the default title is translated, a given one is kept.

    ``progress(done, total)`` is called as functions are derived and after each variant is
    drawn (``total`` = functions + variants). ``workers`` processes share the derivations.
    Bad settings raise :class:`~symgd.base.errors.InputError` before any work.

    >>> h = build_handout(["x**2 - 3*x"], seed=2, workers=1)
    >>> [e.kind for e in h.variants[0].sheets[0].exercises]  # doctest: +NORMALIZE_WHITESPACE
    ['gradient', 'total_differential', 'hessian', 'critical_points', 'descent_steps',
     'learning_rate']
    >>> h.variants[0].sheets[0].exercises[-1].rate.threshold
    1
    """
    _check_settings(expressions, variants, seed, answers, title)
    with language(None if lang is None else check_language(lang)) as code:
        return _build(expressions, variants, seed, answers, title, timeout, progress, workers, code)


def _build(
    expressions: Sequence[str | sp.Expr | Problem | Derivation],
    variants: int,
    seed: int,
    answers: str,
    title: str,
    timeout: float,
    progress: Callable[[int, int], None] | None,
    workers: int,
    code: str,
) -> Handout:
    total = len(expressions) + variants
    derivations = derive_all(
        expressions,
        timeout=timeout,
        workers=workers,
        progress=None if progress is None else (lambda done: progress(done, total)),
    )
    drawn: list[Variant] = []
    for number in range(1, variants + 1):
        sheets = tuple(
            make_sheet(d, index=index, variant=number, seed=seed)
            for index, d in enumerate(derivations, start=1)
        )
        drawn.append(Variant(number=number, sheets=sheets))
        if progress is not None:
            progress(len(expressions) + number, total)
    shown = title.strip()
    return Handout(
        title=_(DEFAULT_TITLE) if shown in ("", DEFAULT_TITLE) else shown,
        seed=seed,
        answers=answers,
        derivations=tuple(derivations),
        variants=tuple(drawn),
        lang=code,
    )


def derive_all(
    expressions: Sequence[str | sp.Expr | Problem | Derivation],
    *,
    timeout: float = DERIVE_TIMEOUT,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> list[Derivation]:
    """Derive every function, ``workers`` at a time; bad input is reported before any work.

    ``progress(done)`` is called from this process only.
    """
    from symgd.expr.parser import parse
    from symgd.render.pdf import run_parallel

    problems = [
        item if isinstance(item, Derivation | Problem) else parse(item) for item in expressions
    ]
    parent = os.getpid()
    counter = [0]

    def job(item: Problem | Derivation) -> Callable[[], Derivation]:
        def run() -> Derivation:
            result = item if isinstance(item, Derivation) else derive(item, timeout=timeout)
            if progress is not None and os.getpid() == parent:
                counter[0] += 1
                progress(counter[0])
            return result

        return run

    lanes = workers if len(problems) >= PARALLEL_FUNCTIONS else 1
    derivations = run_parallel([job(p) for p in problems], workers=lanes)
    if progress is not None:
        progress(len(derivations))
    return derivations


def _check_settings(
    expressions: Sequence[object], variants: int, seed: int, answers: str, title: str
) -> None:
    if not expressions:
        raise InputError("a handout needs at least one function")
    if len(expressions) > MAX_FUNCTIONS:
        raise InputError(f"too many functions ({len(expressions)}; at most {MAX_FUNCTIONS})")
    if (
        isinstance(variants, bool)
        or not isinstance(variants, int)
        or not (1 <= variants <= MAX_VARIANTS)
    ):
        raise InputError(
            f"--variants must be a whole number from 1 to {MAX_VARIANTS} (a "
            "larger class can take several handouts, each with its own --seed)"
        )
    if len(expressions) * variants > MAX_SHEETS:
        raise InputError(
            f"{len(expressions)} functions × {variants} variants make "
            f"{len(expressions) * variants} function sheets; a handout holds at most "
            f"{MAX_SHEETS} (each takes about a second to draw, work and print): use fewer "
            f"variants (at most {MAX_SHEETS // len(expressions)} with these functions) or split "
            "the handout, giving each part its own --seed"
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError("--seed must be a whole number")
    if answers not in ANSWER_MODES:
        raise InputError(f"--answers must be one of {', '.join(ANSWER_MODES)}, got {answers!r}")
    if len(title) > 200:
        raise InputError("the title is too long (at most 200 characters)")


def stream(seed: int, variant: int, index: int, exercise: str, function: str = "") -> random.Random:
    """The random stream for one exercise on one function (its position and its text) in one
    variant: reproducible from the seed, and independent of the other functions."""
    return random.Random(f"symgd-handout:{seed}:{variant}:{index}:{function}:{exercise}")


def make_sheet(d: Derivation, *, index: int, variant: int, seed: int) -> Sheet:
    """The exercises on one function for one variant."""
    one = len(d.variables) == 1
    f = call_text("f", d.variables)
    questions = [
        (
            "gradient",
            _("Find the derivative {call}.").format(call=prime(f, 1))
            if one
            else _("Find the gradient ∇{call}.").format(call=f),
        ),
        ("total_differential", _("Write down the total differential df.")),
        (
            "hessian",
            _("Find the second derivative {call}.").format(call=prime(f, 2))
            if one
            else _("Find the Hessian matrix H of f."),
        ),
        (
            "critical_points",
            _(
                "Find every critical point of f (where f′ = 0) and say whether each one is a "
                "minimum, a maximum or a saddle point, using the second derivative."
            )
            if one
            else _(
                "Find every critical point of f (where ∇f = 0) and say whether each one is a "
                "minimum, a maximum or a saddle point, using the eigenvalues of the Hessian."
            ),
        ),
    ]
    exercises = [
        Exercise(number=f"{index}.{k}", kind=kind, question=text)
        for k, (kind, text) in enumerate(questions, start=1)
    ]
    text = to_text(d.expr)
    drawn = draw_steps(d, stream(seed, variant, index, "descent_steps", text))
    if drawn is not None:
        steps, hazards = drawn
        exercises.append(
            Exercise(
                number=f"{index}.{len(exercises) + 1}",
                kind="descent_steps",
                question=steps_question(d, steps),
                steps=steps,
                cautions=tuple(h.caution for h in hazards),
            )
        )
    rate = rate_question(d, stream(seed, variant, index, "learning_rate", text))
    exercises.append(
        Exercise(
            number=f"{index}.{len(exercises) + 1}",
            kind="learning_rate",
            question=rate_question_text(rate),
            rate=rate,
        )
    )
    return Sheet(index=index, derivation=d, exercises=tuple(exercises))
