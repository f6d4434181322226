"""Section 5, curvature: the Hessian, its eigenvalues, the critical points and convexity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from symgd.base.i18n import N_, _, n_
from symgd.calculus.points import kind_words
from symgd.lesson.facts import Facts, shown_eigenvalues
from symgd.lesson.sections.function import typesettable
from symgd.lesson.view import View
from symgd.lesson.words import KIND_TONES, convexity_meaning, eigen_sentence, sentence
from symgd.render.latex import (
    MAX_SHOWN_ENTRIES,
    elide,
    elided_tex,
    matrix_tex,
    num_tex,
    point_tex,
    shown_indices,
    tex,
    uniform_numbers,
    value_tex,
)

if TYPE_CHECKING:
    from symgd.calculus.points import CriticalPoint

#: critical points listed in the table
LISTED_POINTS = 12


@dataclass(frozen=True)
class PointRow(View):
    """One critical point in the table."""

    point_latex: str
    value_latex: str
    eigen_latex: str
    kind: str
    tone: str
    exact: bool
    #: the eigenvalues in words, shown instead of ``eigen_latex`` (words a formula cannot set)
    eigen_text: str = ""


@dataclass(frozen=True)
class Convexity(View):
    """The convexity verdict (a machine word), why, and what it means for descent."""

    verdict: str
    reason: str
    meaning: str
    tone: str
    #: the verdict as the callout says it (a short sentence in the language in effect)
    verdict_text: str = ""


@dataclass(frozen=True)
class CurvatureSection(View):
    """Section 5."""

    hessian_latex: str
    constant_note: str
    eigen_latex: str
    eigen_text: str
    system_latex: str
    points: tuple[PointRow, ...]
    points_more: str
    points_sentence: str
    kinds_text: str
    notes: tuple[str, ...]
    convexity: Convexity
    #: what the Hessian's entry list leaves out, when its words cannot sit in the formula
    hessian_notes: tuple[str, ...] = ()


def curvature_section(facts: Facts) -> CurvatureSection:
    """Section 5."""
    d = facts.derivation
    count = len(d.critical_points)
    more = ""
    if count > LISTED_POINTS:
        left = count - LISTED_POINTS
        more = n_(
            "{n} more critical point is not listed.",
            "{n} more critical points are not listed.",
            left,
        ).format(n=left)
    if count == 0:
        points_sentence = _no_critical_point(facts)
    elif d.critical_points_complete:
        points_sentence = n_(
            "Solving gives {n} critical point.", "Solving gives {n} critical points.", count
        ).format(n=count)
    else:
        points_sentence = n_(
            "Solving gives {n} critical point; the list may be incomplete (see the note below).",
            "Solving gives {n} critical points; the list may be incomplete (see the note below).",
            count,
        ).format(n=count)
    system = (
        (
            r"\begin{aligned}"
            + r" \\ ".join(
                rf"{tex(g)} &= 0" if g is not None else r"&\vdots" for g in elide(d.gradient, None)
            )
            + r"\end{aligned}"
        )
        if facts.n > 1
        else rf"{tex(d.gradient[0])} = 0"
    )
    eigen_latex, eigen_text = _eigen(facts)
    hessian_latex, hessian_notes = _hessian_latex(facts)
    return CurvatureSection(
        hessian_latex=hessian_latex,
        constant_note=_constant_note(facts),
        eigen_latex=eigen_latex,
        eigen_text=eigen_text,
        system_latex=system,
        points=tuple(_point_rows(facts)),
        points_more=more,
        points_sentence=points_sentence,
        kinds_text=_(
            "The kind follows from the Hessian's eigenvalues: all positive, a "
            "minimum; all negative, a maximum; both signs, a saddle; a zero "
            "eigenvalue leaves the test undecided (degenerate)."
        ),
        notes=()
        if d.critical_points_complete or not count
        else (
            _(
                "Where the equations are not polynomial, no method can promise every solution; "
                "points marked numeric were found by a search from many starts."
            ),
        ),
        convexity=_convexity(facts),
        hessian_notes=hessian_notes,
    )


#: widest the Hessian is printed as a matrix (em of the text, in print about 41 em fit a
#: line); a wider one is written entry by entry rather than shrunk below a readable size
MAX_MATRIX_EM = 38.0


def _constant_note(facts: Facts) -> str:
    """What a Hessian that does not depend on the point means for this f ("" if it does)."""
    if not facts.derivation.hessian_is_constant:
        return ""
    if facts.is_quadratic():
        return _(
            "The Hessian does not depend on the point: f is a quadratic (a polynomial of "
            "degree 2 at most), and its curvature is the same everywhere."
        )
    if not facts.smooth:
        return _(
            "Away from its kinks the Hessian does not depend on the point: each smooth piece "
            "of f curves the same way everywhere, and the kinks add bends the Hessian does "
            "not see."
        )
    return _("The Hessian does not depend on the point: the curvature of f is the same everywhere.")


def _hessian_latex(facts: Facts) -> tuple[str, tuple[str, ...]]:
    """The Hessian with its numbers in one form (:func:`uniform_numbers`), as a matrix when it
    fits a printed line, else as the list of its distinct entries; and the notes on that list
    whose words cannot sit in the formula."""
    n, h = facts.n, facts.derivation.hessian
    shown = [i for i in shown_indices(n) if i is not None]
    pairs = [(i, j) for i in shown for j in shown]
    forms = dict(zip(pairs, uniform_numbers([h[i, j] for i, j in pairs]), strict=True))
    if n > MAX_SHOWN_ENTRIES and all(h[i, j] == 0 for i in range(n) for j in range(n) if i != j):
        diagonal = [tex(forms[i, i]) if i is not None else r"\dots" for i in shown_indices(n)]
        return (
            rf"H({facts.args_tex}) = \operatorname{{diag}}\left(" + ", ".join(diagonal) + r"\right)"
        ), ()
    rows = [
        [tex(forms[i, j]) if j in shown else "" for j in range(n)] if i in shown else [""] * n
        for i in range(n)
    ]
    matrix = rf"H({facts.args_tex}) = {matrix_tex(rows)}"
    if n == 1 or _surely_fits(rows) or _width_em(matrix) <= MAX_MATRIX_EM:
        return matrix, ()
    return _entry_list(facts.args_tex, shown, forms)


#: an upper bound on the width of one visible character of typeset math, in em
CHARACTER_EM = 0.8


def _surely_fits(rows: list[list[str]]) -> bool:
    """True when a generous estimate of the matrix's width (every visible character
    ``CHARACTER_EM`` wide, plus the gaps and the ``H(x, y) =`` in front) fits a printed line,
    so the formula need not be typeset just to measure it (typesetting is the costly part)."""
    import re

    def visible(entry: str) -> int:
        return len(re.sub(r"\\[a-zA-Z]+|[{}^_\s]", "", entry))

    columns = [max((visible(row[j]) for row in rows), default=0) for j in range(len(rows))]
    estimate = CHARACTER_EM * sum(columns) + 1.5 * len(columns) + 6.0
    return estimate <= MAX_MATRIX_EM


def _width_em(latex: str) -> float:
    from symgd.render.mathsvg import width_em

    return width_em(latex, display=True)


def _entry_list(
    args_tex: str, shown: list[int], forms: dict[tuple[int, int], object]
) -> tuple[str, tuple[str, ...]]:
    """``H = (h_ij)`` and one line per distinct entry of the upper triangle (it is symmetric),
    the zero entries named together; words a formula cannot typeset come back as notes."""
    lines, zeros, notes = [], [], []
    for a, i in enumerate(shown):
        for j in shown[a:]:
            name = f"h_{{{i + 1}{j + 1}}}" + (f" = h_{{{j + 1}{i + 1}}}" if i != j else "")
            if forms[i, j] == 0:
                zeros.append(f"h_{{{i + 1}{j + 1}}}")
            else:
                lines.append(rf"{name} &= {elided_tex(forms[i, j], 200)}")
    if zeros:
        other = _("all other")
        if not lines:
            lines.append(r"h_{ij} &= 0")
        elif typesettable(other):
            lines.append(rf"\text{{{other} }} h_{{ij}} &= 0")
        else:
            notes.append(_("All other entries h_ij are 0."))
    if len(shown) < max(shown) + 1:
        only = _("(entries of the first and last variables only)")
        if typesettable(only):
            lines.append(rf"&\text{{{only}}}")
        else:
            notes.append(only)
    return (
        rf"H({args_tex}) = \left(h_{{ij}}\right),\qquad\begin{{aligned}}"
        + r" \\ ".join(lines)
        + r"\end{aligned}"
    ), tuple(notes)


def _eigen(facts: Facts) -> tuple[str, str]:
    """The eigenvalues of a constant Hessian (exact when short) and what their signs say."""
    window = facts.constant_window
    if window is None:
        return "", _(
            "The Hessian changes from point to point, so the curvature does too: "
            "the eigenvalues below are those at each critical point."
        )
    exact = shown_eigenvalues(window)
    parts = (
        [value_tex(v)[0] for v in exact] if exact else [num_tex(v, 5) for v in window.eigenvalues]
    )
    return (
        r"\lambda = " + r",\quad ".join(elide(parts, r"\dots")),
        eigen_sentence(list(window.eigenvalues)),
    )


def _no_critical_point(facts: Facts) -> str:
    """What an empty list of critical points means, from the facts (kinks, completeness)."""
    complete = facts.derivation.critical_points_complete
    kinks = facts.kink_points
    if kinks:
        kinds = _listed([kind_words(kind) for kind in sorted({k.kind for k in kinks})])
        if complete:
            text = n_(
                "Where f is differentiable its gradient vanishes nowhere. On its kinks "
                "f has no gradient; there symgd found a point where 0 lies in the "
                "subdifferential (the set of slopes of the planes that touch f there, which "
                "takes the gradient's place at a kink): {kinds}, marked 'on a kink' in the "
                "table.",
                "Where f is differentiable its gradient vanishes nowhere. On its kinks "
                "f has no gradient; there symgd found {n} points where 0 lies in the "
                "subdifferential (the set of slopes of the planes that touch f there, which "
                "takes the gradient's place at a kink): {kinds}, marked 'on a kink' in the "
                "table.",
                len(kinks),
            )
        else:
            text = n_(
                "Where f is differentiable its gradient vanishes nowhere (in the region "
                "searched). On its kinks f has no gradient; there symgd found a point where 0 "
                "lies in the subdifferential (the set of slopes of the planes that touch f "
                "there, which takes the gradient's place at a kink): {kinds}, marked 'on a "
                "kink' in the table.",
                "Where f is differentiable its gradient vanishes nowhere (in the region "
                "searched). On its kinks f has no gradient; there symgd found {n} points where "
                "0 lies in the subdifferential (the set of slopes of the planes that touch f "
                "there, which takes the gradient's place at a kink): {kinds}, marked 'on a "
                "kink' in the table.",
                len(kinks),
            )
        return (
            text.format(n=len(kinks), kinds=kinds)
            + " "
            + _(
                "A fixed η rarely lands exactly on a kink, so descent tends to cycle around it "
                "instead of settling."
            )
        )
    if not facts.smooth:
        if complete:
            return _(
                "Where f is differentiable its gradient vanishes nowhere. f also has "
                "kinks, where it has no gradient; symgd cannot tell whether a minimum sits on one."
            )
        return _(
            "Where f is differentiable its gradient vanishes nowhere (in the region searched). "
            "f also has kinks, where it has no gradient; symgd cannot tell whether a minimum "
            "sits on one."
        )
    if complete:
        return _(
            "The gradient vanishes nowhere: f has no critical point, so it has no minimum, and "
            "descent cannot stop at one."
        )
    return _(
        "The gradient vanishes nowhere symgd looked: it found no critical point, so in that "
        "region f has no minimum for descent to stop at (there may be critical points "
        "elsewhere)."
    )


def _listed(words: list[str]) -> str:
    """Words joined by "and" ("a and b and c")."""
    text = words[0]
    for word in words[1:]:
        text = _("{names} and {last}").format(names=text, last=word)
    return text


#: a point on a kink in the table's words, by its kind
_ON_A_KINK = {
    "minimum": N_("minimum on a kink"),
    "maximum": N_("maximum on a kink"),
    "unknown": N_("unknown on a kink"),
}


def _kink_rows(facts: Facts) -> list[PointRow]:
    rows = []
    none = _("none")  # f has no Hessian on its kink
    latin = typesettable(none)
    for k in facts.kink_points[:LISTED_POINTS]:
        coords = [value_tex(c, 5)[0] for c in k.coordinates]
        rows.append(
            PointRow(
                point_tex(coords),
                value_tex(k.value, 5)[0],
                rf"\mathrm{{{none}}}" if latin else "",
                _(_ON_A_KINK[k.kind]) if k.kind in _ON_A_KINK else f"{k.kind} on a kink",
                KIND_TONES.get(k.kind, ""),
                True,
                "" if latin else none,
            )
        )
    return rows


#: what a degenerate point turned out to be, in the table's words
_DECIDED = {
    "minimum": N_("degenerate: a flat-bottomed minimum"),
    "maximum": N_("degenerate: a flat-topped maximum"),
    "inflection": N_("degenerate: an inflection point, not a minimum"),
    "saddle": N_("degenerate: a saddle"),
}


def _decided_kind(facts: Facts, p: CriticalPoint) -> str:
    """The point's kind, with a degenerate point's higher-order verdict when there is one."""
    if p.kind != "degenerate" or p.free:  # a whole set of points has no one nature
        return p.kind
    try:
        nature = facts.nature_near(p.as_floats())
    except TypeError:  # coordinates that are not numbers
        return p.kind
    return nature.kind if nature is not None and nature.kind in _DECIDED else p.kind


def _kind_words(facts: Facts, p: CriticalPoint) -> str:
    """The point's kind in the table's words (a set of points says so)."""
    decided = _decided_kind(facts, p)
    if p.kind == "degenerate" and decided in _DECIDED:
        words = _(_DECIDED[decided])
    else:
        words = kind_words(p.kind)
    return _("{kind} (a whole set)").format(kind=words) if p.free else words


def _point_rows(facts: Facts) -> list[PointRow]:
    rows = _kink_rows(facts)
    for p in facts.derivation.critical_points[:LISTED_POINTS]:
        coords = [
            value_tex(c, 5)[0] if i is not None else r"\dots"
            for i, c in zip(shown_indices(facts.n), elide(p.coordinates, 0), strict=True)
        ]
        eig = ", ".join(
            value_tex(v, 4)[0] if i is not None else r"\dots"
            for i, v in zip(shown_indices(len(p.eigenvalues)), elide(p.eigenvalues, 0), strict=True)
        )
        rows.append(
            PointRow(
                point_tex(coords),
                value_tex(p.value, 5)[0],
                eig,
                _kind_words(facts, p),
                KIND_TONES.get(_decided_kind(facts, p), ""),
                p.exact,
            )
        )
    return rows


#: the convexity verdict as the callout's first words
_VERDICTS = {
    "strictly convex": N_("Strictly convex."),
    "convex": N_("Convex."),
    "strictly concave": N_("Strictly concave."),
    "concave": N_("Concave."),
    "neither": N_("Neither."),
    "unknown": N_("Unknown."),
}


def _convexity(facts: Facts) -> Convexity:
    verdict = facts.derivation.convexity.verdict
    shown = _VERDICTS.get(verdict)
    return Convexity(
        verdict=verdict,
        verdict_text=_(shown) if shown is not None else verdict[:1].upper() + verdict[1:] + ".",
        reason=sentence(facts.derivation.convexity.reason),
        meaning=convexity_meaning(verdict, bool(facts.all_minima())),
        tone="good"
        if "convex" in verdict and "concave" not in verdict
        else ("warn" if verdict in ("neither", "unknown") else "bad"),
    )
