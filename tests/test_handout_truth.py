"""Every drawn exercise shows what descent really does, and every verdict in the key is true.

Checked on a corpus of functions (quadratics of one to three variables, ill-conditioned and
indefinite ones, saddles, non-quadratics) over many seeds, against computations made here:
the steps iterated again with SymPy's exact rationals, eigenvalues from numpy and SymPy,
critical points found by Newton's method in numpy, and convergence by running descent in
floating point. Nothing below reads symgd's own analysis of the numbers it checks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import sympy as sp

from symgd.calculus.derivation import Derivation, derive
from symgd.calculus.hand_steps import work_steps
from symgd.handout import Handout, build_handout, handout_to_json
from symgd.handout.model import Exercise, Sheet
from symgd.handout.solutions import steps_verdict, worked_solution

Builder = Callable[..., sp.Expr]

#: (text given to symgd, variable names, the same function built here with SymPy)
CORPUS: list[tuple[str, tuple[str, ...], Builder]] = [
    ("w**2", ("w",), lambda w: w**2),
    ("w**2 - 3*w", ("w",), lambda w: w**2 - 3 * w),
    ("x**3 - 3*x", ("x",), lambda x: x**3 - 3 * x),
    ("x**4 - 3*x**2", ("x",), lambda x: x**4 - 3 * x**2),
    ("x**2 + y**2", ("x", "y"), lambda x, y: x**2 + y**2),
    ("x**2 + 100*y**2", ("x", "y"), lambda x, y: x**2 + 100 * y**2),
    ("100*x**2 + y**2", ("x", "y"), lambda x, y: 100 * x**2 + y**2),
    ("x**2 + 3*y**2", ("x", "y"), lambda x, y: x**2 + 3 * y**2),
    ("5*x**2 + 8*x*y + 5*y**2", ("x", "y"), lambda x, y: 5 * x**2 + 8 * x * y + 5 * y**2),
    ("x**2 + 2*x*y", ("x", "y"), lambda x, y: x**2 + 2 * x * y),
    ("x**2 - y**2", ("x", "y"), lambda x, y: x**2 - y**2),
    ("x*y", ("x", "y"), lambda x, y: x * y),
    ("x**2 + x*y + y**2", ("x", "y"), lambda x, y: x**2 + x * y + y**2),
    ("x**2 + y**2 + z**2 + x*y", ("x", "y", "z"), lambda x, y, z: x**2 + y**2 + z**2 + x * y),
    ("x**2 + 10*y**2 + 100*z**2", ("x", "y", "z"), lambda x, y, z: x**2 + 10 * y**2 + 100 * z**2),
    ("x**2 - y**2 + z**2", ("x", "y", "z"), lambda x, y, z: x**2 - y**2 + z**2),
    ("x**4 - 2*x**2 + y**2", ("x", "y"), lambda x, y: x**4 - 2 * x**2 + y**2),
    ("x**3 - 3*x + y**2", ("x", "y"), lambda x, y: x**3 - 3 * x + y**2),
    ("x**4 + y**4 - 4*x*y", ("x", "y"), lambda x, y: x**4 + y**4 - 4 * x * y),
    ("x**4 + 100*y**2", ("x", "y"), lambda x, y: x**4 + 100 * y**2),
    (
        "(1 - x)**2 + 100*(y - x**2)**2",
        ("x", "y"),
        lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    ),
    (
        "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
        ("x", "y"),
        lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    ),
    ("exp(-(x**2 + y**2))", ("x", "y"), lambda x, y: sp.exp(-(x**2 + y**2))),
    ("log(1 + exp(x)) + y**2", ("x", "y"), lambda x, y: sp.log(1 + sp.exp(x)) + y**2),
]
#: seeds × variants: twelve draws of each exercise on each function
SEEDS = (0, 1, 2, 3)
VARIANTS = 3
#: a component this small relative to its vector is zero in exact arithmetic (the points are
#: exact fractions of small integers; a true component is never that small)
ZERO = 1e-9

pytestmark = pytest.mark.slow


# -- the handouts -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def derivations() -> list[Derivation]:
    return [derive(text) for text, _, _ in CORPUS]


@pytest.fixture(scope="module")
def handouts(derivations: list[Derivation]) -> list[tuple[Handout, dict[str, Any]]]:
    """Each seed's handout with its JSON key."""
    built = [build_handout(derivations, variants=VARIANTS, seed=seed, workers=1) for seed in SEEDS]
    return [(h, handout_to_json(h)) for h in built]


@pytest.fixture(scope="module")
def functions() -> dict[int, Function]:
    return {i: Function(i) for i in range(len(CORPUS))}


Handouts = Sequence[tuple[Handout, dict[str, Any]]]


def drawn(handouts: Handouts, kind: str) -> list[tuple[int, Sheet, Exercise, dict[str, Any]]]:
    """(corpus index, sheet, exercise, its JSON) for every exercise of ``kind``."""
    found = []
    for h, key in handouts:
        for variant, variant_key in zip(h.variants, key["variants"], strict=True):
            by_id = {e["id"]: e for e in variant_key["exercises"]}
            for sheet in variant.sheets:
                for exercise in sheet.exercises:
                    if exercise.kind == kind:
                        found.append((sheet.index - 1, sheet, exercise, by_id[exercise.number]))
    return found


class Function:
    """A corpus function worked here: exact gradient and Hessian, numpy versions of them."""

    def __init__(self, index: int) -> None:
        _, names, build = CORPUS[index]
        self.xs = [sp.Symbol(n, real=True) for n in names]
        self.f = build(*self.xs)
        self.gradient = [sp.diff(self.f, x) for x in self.xs]
        self.hessian = sp.hessian(self.f, self.xs)
        self.numeric_gradient = sp.lambdify(self.xs, self.gradient, "numpy")
        self.numeric_hessian = sp.lambdify(self.xs, self.hessian, "numpy")

    def at(self, expr: sp.Expr, point: Sequence[sp.Expr]) -> sp.Expr:
        return expr.subs(dict(zip(self.xs, point, strict=True)))

    def floats(self, point: Sequence[sp.Expr]) -> tuple[np.ndarray, np.ndarray]:
        p = [float(sp.N(v, 30)) for v in point]
        g = np.array(self.numeric_gradient(*p), dtype=float).reshape(-1)
        h = np.array(self.numeric_hessian(*p), dtype=float).reshape(len(p), len(p))
        return g, h

    def iterate(self, start: Sequence[sp.Expr], eta: sp.Rational, count: int = 2) -> list[Any]:
        """Plain descent worked exactly here: the points x₀ … x_count."""
        points = [list(start)]
        for _ in range(count):
            p = points[-1]
            points.append([c - eta * self.at(g, p) for c, g in zip(p, self.gradient, strict=True)])
        return points

    def critical_points(self) -> list[np.ndarray]:
        """Critical points by Newton's method from a grid of starts in [−4, 4]ⁿ (deduplicated)."""
        n = len(self.xs)
        grid = np.linspace(-4, 4, 9 if n < 3 else 5)
        found: list[np.ndarray] = []
        for start in itertools.product(grid, repeat=n):
            p = np.array(start, dtype=float)
            for _ in range(60):
                g = np.array(self.numeric_gradient(*p), dtype=float).reshape(-1)
                h = np.array(self.numeric_hessian(*p), dtype=float).reshape(n, n)
                try:
                    move = np.linalg.solve(h, g)
                except np.linalg.LinAlgError:
                    break
                p = p - move
                if not np.all(np.isfinite(p)) or np.abs(p).max() > 1e3:
                    break
                if np.linalg.norm(move) < 1e-14:
                    break
            g = np.array(self.numeric_gradient(*p), dtype=float).reshape(-1)
            fresh = all(np.linalg.norm(p - q) > 1e-6 for q in found)
            if np.all(np.isfinite(p)) and np.linalg.norm(g) < 1e-9 and fresh:
                found.append(p)
        return found


def component(vector: np.ndarray, basis: np.ndarray) -> float:
    """Length of ``vector``'s projection on the columns of ``basis``, relative to its length."""
    size = float(np.linalg.norm(vector))
    return 0.0 if size == 0 else float(np.linalg.norm(basis.T @ vector)) / size


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Exact equality for fractions, 40 significant digits for anything else."""
    if a.is_Rational and b.is_Rational:
        return bool(a == b)
    scale = max(1.0, abs(float(sp.N(b, 30))))
    return bool(abs(sp.N(a - b, 40)) <= 1e-35 * scale)


def change(function: Function, a: Sequence[sp.Expr], b: Sequence[sp.Expr]) -> int:
    """Sign of f(b) − f(a), exactly (high precision for transcendental values)."""
    difference = function.at(function.f, b) - function.at(function.f, a)
    if difference.is_Rational:
        return int(sp.sign(difference))
    number = sp.N(difference, 60)
    return 0 if number.is_zero else (1 if number > 0 else -1)


# -- no hidden instability, no landing on a saddle ------------------------------------------


def test_no_drawn_start_hides_an_instability_or_lands_on_a_saddle(
    handouts: Handouts, functions: dict[int, Function]
) -> None:
    saddles: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    checked = 0
    for index, _, exercise, e in drawn(handouts, "descent_steps"):
        function = functions[index]
        steps = exercise.steps
        assert steps is not None
        eta = sp.Rational(e["given"]["learning_rate"])
        points = function.iterate(steps.start, eta)
        for got, want in zip(steps.points, points, strict=True):
            assert all(equal(a, b) for a, b in zip(got, want, strict=True)), e["id"]
        if index not in saddles:
            saddles[index] = []
            for s in function.critical_points():
                values, vectors = np.linalg.eigh(function.floats(list(map(sp.Float, s)))[1])
                scale = max(1.0, float(np.abs(values).max()))
                if values.min() <= 1e-9 * scale:  # not a (strict) minimum
                    saddles[index].append((s, vectors[:, values <= 1e-9 * scale]))
        problems = []
        for k, point in enumerate(points):
            g, h = function.floats(point)
            zero = sp.Integer(0)
            if k > 0 and all(equal(function.at(d, point), zero) for d in function.gradient):
                values = np.linalg.eigvalsh(h)
                if k == 1 or values.min() <= 0:
                    problems.append(f"x{k} is a critical point")
                continue
            values, vectors = np.linalg.eigh(h)
            unstable = vectors[:, float(eta) * values >= 2 - 1e-12]
            if unstable.shape[1] and component(g, unstable) <= ZERO:
                problems.append(f"η ≥ 2/λ at x{k} with no gradient component along λ")
            p = np.array([float(sp.N(c, 30)) for c in point])
            for s, downhill in saddles[index]:
                offset = p - s
                if (
                    np.linalg.norm(offset) > 1e-9
                    and component(offset, downhill) <= 1e-7
                    and component(g, downhill) <= ZERO
                ):
                    problems.append(f"x{k} on the stable line of the saddle {s}")
        if problems:  # allowed only when the key says so
            assert exercise.cautions, (CORPUS[index][0], e["given"], problems)
            assert all(c in e["answer"]["cautions"] for c in exercise.cautions)
        checked += 1
    assert checked == len(CORPUS) * len(SEEDS) * VARIANTS


def test_known_traps_are_never_drawn(handouts: Handouts) -> None:
    """x² + 100y² from y = 0 with η ≥ 1/100; x⁴ − 2x² + y² or x³ − 3x + y² on their saddles'
    lines x = 0 and x = −1; x² − y² on y = 0."""
    for index, _, exercise, e in drawn(handouts, "descent_steps"):
        text = CORPUS[index][0]
        assert exercise.steps is not None
        points = exercise.steps.points
        eta = exercise.steps.eta
        if text == "x**2 + 100*y**2":
            assert not (points[0][1] == 0 and 200 * eta >= 2), e["given"]
        if text == "x**4 - 2*x**2 + y**2":
            assert all(p[0] != 0 for p in points), e["given"]
        if text == "x**3 - 3*x + y**2":
            assert all(p[0] != -1 for p in points), e["given"]
        if text in ("x**2 - y**2", "x**2 - y**2 + z**2"):
            assert all(p[1] != 0 for p in points), e["given"]


def test_a_trap_no_draw_avoids_is_stated_in_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """When every start the stream offers is on the trap, the key says what and why."""
    from symgd.handout import descent_exercise

    monkeypatch.setattr(descent_exercise, "START_VALUES", (sp.Integer(-2), sp.Integer(0)))
    monkeypatch.setattr(descent_exercise, "STEP_RATES", (sp.Rational(1, 4),))
    monkeypatch.setattr(descent_exercise, "SMALL_STEP_RATES", (sp.Rational(1, 4),))
    key = handout_to_json(build_handout(["x**2 + 100*y**2"], seed=3, workers=1))
    (steps,) = [e for e in key["variants"][0]["exercises"] if e["kind"] == "descent_steps"]
    # (−2, −2) and (0, −2) blow up, (−2, 0) hides the instability: the tidy one is kept, said
    assert steps["given"]["start"] == {"x": "-2", "y": "0"}
    (caution,) = steps["answer"]["cautions"]
    assert "2/λ" in caution and "rounding" in caution


# -- the verdicts ----------------------------------------------------------------------------


ORDINAL = {0: "first", 1: "second"}
WORD = {-1: "fell", 0: "stayed the same", 1: "rose"}


def test_did_f_decrease_is_answered_by_the_exact_values(
    handouts: Handouts, functions: dict[int, Function]
) -> None:
    for index, sheet, exercise, e in drawn(handouts, "descent_steps"):
        function = functions[index]
        assert exercise.steps is not None
        points = [list(p) for p in exercise.steps.points]
        signs = [change(function, a, b) for a, b in itertools.pairwise(points)]
        assert e["answer"]["decreasing"] is all(s == -1 for s in signs), e["given"]
        (line,) = [
            ln for ln in worked_solution(sheet, exercise) if ln.text.startswith("The values of f")
        ]
        check_verdict(line.text, signs, function, points)


def check_verdict(
    text: str, signs: Sequence[int], function: Function, points: Sequence[Sequence[sp.Expr]]
) -> None:
    if all(s == -1 for s in signs):
        assert text == "The values of f: it fell at both steps.", text
        return
    for k, s in enumerate(signs):
        assert f"{WORD[s]} at the {ORDINAL[k]} step" in text, text
    zero = sp.Integer(0)
    flat = [all(equal(function.at(g, p), zero) for g in function.gradient) for p in points[:-1]]
    too_large = [not flat[k] and s >= 0 for k, s in enumerate(signs)]
    assert ("too large for the step" in text) == any(too_large), text
    assert ("is a critical point" in text) == any(flat), text


def test_verdicts_on_special_steps() -> None:
    """Equal values after a long jump are not "too short steps"; a landing on the minimiser is
    not "too large a rate"."""
    square = derive("w**2", analyse=False)
    jump = work_steps(square, [sp.Integer(1)], sp.Integer(1))  # 1 → −1 → 1
    assert jump is not None
    text = steps_verdict(jump, "w")
    assert "stayed the same at the first step" in text and "too large" in text
    bowl = derive("x**2 + y**2", analyse=False)
    landing = work_steps(bowl, [sp.Integer(1), sp.Integer(2)], sp.Rational(1, 2))
    assert landing is not None
    text = steps_verdict(landing, "p")
    assert text.startswith("it fell at the first step and stayed the same at the second step")
    assert "p₁ is a critical point" in text and "too large" not in text


# -- the learning-rate question ---------------------------------------------------------------


def test_rate_reasons_match_the_eigenvalues_and_a_run(handouts: Handouts) -> None:
    rng = np.random.default_rng(0)
    for _, sheet, exercise, e in drawn(handouts, "learning_rate"):
        names = e["variables"]
        hessian = sp.Matrix(
            [[sp.Rational(x) for x in row] for row in e["answer"]["hessian"]]
        )  # a quadratic's Hessian: rational entries
        eta = sp.Rational(e["given"]["learning_rate"])
        eigen = list(hessian.eigenvals(multiple=True))
        numeric = np.linalg.eigvalsh(np.array(hessian.tolist(), dtype=float))
        assert np.allclose(sorted(numeric), sorted(float(v) for v in eigen))
        largest = max(eigen, key=float)
        definite = all(float(v) > 0 for v in eigen)
        converges = definite and bool(eta * largest < 2)
        reason = e["answer"]["reason"]
        assert e["answer"]["converges"] is converges
        assert reason.startswith("Yes." if converges else "No."), reason
        assert run_converges(np.array(hessian.tolist(), dtype=float), float(eta), rng) is converges
        factor = sp.nsimplify(1 - eta * largest)
        if not definite:
            assert "run away" in reason
            if len(names) > 1:  # an indefinite quadratic has no minimum
                assert "no minimum" in reason and "from every start with a component" in reason
            else:
                assert "other than the critical point itself" in reason
        elif not converges:
            assert ("zig-zag outward" in reason) == bool(factor < -1), reason
            assert ("back and forth" in reason) == (factor == -1), reason
            starts = "from every start with a component" if len(names) > 1 else "other than"
            assert starts in reason, reason
        elif len(names) == 1:
            assert ("distance" in reason) == bool(factor >= 0), reason
            assert ("zig-zag inward" in reason) == bool(factor < 0), reason
        lines = [ln.text for ln in worked_solution(sheet, exercise)]
        negative = any(float(1 - eta * v) < 0 for v in eigen)
        assert any("A negative factor" in t for t in lines) == (converges and negative)
        assert not any(t.startswith("Each step multiplies the distance") for t in lines)


def run_converges(hessian: np.ndarray, eta: float, rng: np.random.Generator) -> bool:
    """Descent on ½ xᵀHx from a random start: does the error shrink a millionfold?"""
    x: np.ndarray = np.asarray(rng.normal(size=int(hessian.shape[0])), dtype=float)
    size = float(np.linalg.norm(x))
    for _ in range(600):
        x = x - eta * hessian @ x
        if not np.all(np.isfinite(x)) or np.linalg.norm(x) > 1e6 * size:
            return False
    return bool(np.linalg.norm(x) < 1e-6 * size)


# -- the Hessian sentence -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("x**2 + 100*y**2", "f is quadratic"),
        ("abs(x) + abs(y)", "kink"),
        ("relu(x - 1) + x**2/10 + y**2", "kink"),
        ("3*x + 2*y", "f is linear"),
    ],
)
def test_a_constant_hessian_is_named_for_what_f_is(text: str, words: str) -> None:
    h = build_handout([text], workers=1)
    sheet = h.variants[0].sheets[0]
    (hessian,) = [e for e in sheet.exercises if e.kind == "hessian"]
    said = " ".join(ln.text for ln in worked_solution(sheet, hessian))
    assert words in said
    if words != "f is quadratic":
        assert "quadratic" not in said


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20
    assert math.prod(len(n) for _, n, _ in CORPUS) > 0
