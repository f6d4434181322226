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

Stages: :func:`build_handout` (expressions → :class:`Handout`), :func:`handout_to_json`
(the key for graders), :func:`handout_context` / :func:`render_handout_html` (the templates).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.printing.latex import LatexPrinter

from symgd.calculus.derivation import Derivation, derive, point_to_json
from symgd.base.errors import InputError
from symgd.expr.activations import to_elementary
from symgd.base.limits import MAX_SHEETS, MAX_VARIANTS
from symgd.expr.parser import Problem, to_text

if TYPE_CHECKING:
    import jinja2

ANSWER_MODES = ("separate", "inline", "none")
DEFAULT_TITLE = "Gradient descent: exercises"
HANDOUT_TEMPLATE = "handout.html.jinja2"
MAX_FUNCTIONS = 200
#: seconds each function's critical-point analysis may take before the numeric fallback
DERIVE_TIMEOUT = 3.0
#: from this many functions on, derivations are shared between worker processes
PARALLEL_FUNCTIONS = 4

#: start coordinates for the hand steps: small integers and halves, easy to work with
START_VALUES = tuple(sp.Rational(v, 2) for v in (-6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6))
#: learning rates for the hand steps; the small ones serve steep functions such as Rosenbrock's
STEP_RATES = tuple(sp.Rational(1, d) for d in (10, 4, 5, 2, 20, 8))
SMALL_STEP_RATES = tuple(sp.Rational(1, d) for d in (50, 100, 200, 500, 1000))
#: learning rates the convergence question picks from
QUESTION_RATES = tuple(
    sp.Rational(p, q)
    for p, q in ((1, 20), (1, 10), (1, 8), (1, 6), (1, 5), (1, 4), (1, 3), (2, 5), (1, 2),
                 (3, 5), (2, 3), (3, 4), (1, 1), (6, 5), (3, 2), (2, 1))
)
#: tries at drawing a start point and learning rate whose two steps stay tidy
STEP_TRIES = 60
#: an exact hand-step number larger than this (or with a larger denominator) is not tidy
TIDY_SIZE = 50
TIDY_DENOMINATOR = 10_000
#: an exact hand-step number whose LaTeX is longer than this is shown as a decimal in the key
MAX_EXACT_LATEX = 60
#: a one-line formula with more LaTeX than this is broken into lines (it would not fit a page)
WIDE_LATEX = 140

_KINK_FUNCTIONS = frozenset(
    {"Heaviside", "sign", "Abs", "DiracDelta", "relu", "leaky_relu", "Max", "Min"}
)
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# -- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandStep:
    """One step of plain descent: ``next_point = point - eta * gradient``."""

    point: tuple[sp.Expr, ...]
    value: sp.Expr
    gradient: tuple[sp.Expr, ...]
    next_point: tuple[sp.Expr, ...]


@dataclass(frozen=True)
class DescentSteps:
    """Two steps of descent from ``start`` with learning rate ``eta``, worked exactly."""

    start: tuple[sp.Expr, ...]
    eta: sp.Rational
    steps: tuple[HandStep, ...]
    final_value: sp.Expr

    @property
    def points(self) -> tuple[tuple[sp.Expr, ...], ...]:
        """x₀, x₁, x₂."""
        return (*(s.point for s in self.steps), self.steps[-1].next_point)

    @property
    def values(self) -> tuple[sp.Expr, ...]:
        """f(x₀), f(x₁), f(x₂)."""
        return (*(s.value for s in self.steps), self.final_value)

    @property
    def decreasing(self) -> bool:
        """True when f fell at every step."""
        numbers = [_number(v) for v in self.values]
        return all(
            a is not None and b is not None and a > b
            for a, b in itertools.pairwise(numbers)
        )

    @property
    def unchanged(self) -> bool:
        """True when f has the same value at every point as far as the numbers go (decimals
        past the exact-size bound can hide a change far below their precision)."""
        numbers = [_number(v) for v in self.values]
        return all(a is not None and a == b for a, b in itertools.pairwise(numbers))

    @property
    def rational(self) -> bool:
        """True when every number of the steps is a fraction with a small denominator, so
        that the steps can be carried out exactly by hand."""
        numbers = [*self.values, *(v for p in self.points for v in p),
                   *(g for s in self.steps for g in s.gradient)]
        return all(v.is_Rational and v.q <= TIDY_DENOMINATOR for v in numbers)


@dataclass(frozen=True)
class RateQuestion:
    """Does plain descent with ``eta`` converge on the quadratic ``function``, and why.

    ``generated`` is true when the quadratic was made up for the exercise because the sheet's
    own function has no constant Hessian. ``factors`` are ``1 - eta * lambda_i``: descent
    multiplies each eigen-component of the error by its factor at every step. ``limit`` is the
    minimiser descent converges to (``None`` when it does not converge).
    """

    function: sp.Expr
    variables: tuple[sp.Symbol, ...]
    name: str
    generated: bool
    hessian: sp.ImmutableMatrix
    eigenvalues: tuple[sp.Expr, ...]
    eta: sp.Rational
    converges: bool
    factors: tuple[sp.Expr, ...]
    limit: tuple[sp.Expr, ...] | None

    @property
    def largest(self) -> sp.Expr:
        return self.eigenvalues[-1]

    @property
    def threshold(self) -> sp.Expr | None:
        """2/λ_max when every eigenvalue is positive, else ``None`` (no rate works)."""
        if all(_positive(v) for v in self.eigenvalues):
            return sp.radsimp(2 / self.largest)
        return None


@dataclass(frozen=True)
class Exercise:
    """One numbered exercise: its statement in words and the data of its answer.

    ``kind`` is one of :data:`KINDS`. The answer lives in the sheet's derivation for the first
    four kinds, in ``steps`` for ``"descent_steps"`` and in ``rate`` for ``"learning_rate"``.
    """

    number: str
    kind: str
    question: str
    steps: DescentSteps | None = None
    rate: RateQuestion | None = None


KINDS = ("gradient", "total_differential", "hessian", "critical_points", "descent_steps",
         "learning_rate")


@dataclass(frozen=True)
class Sheet:
    """The exercises on one function in one variant."""

    index: int
    derivation: Derivation
    exercises: tuple[Exercise, ...]


@dataclass(frozen=True)
class Variant:
    """One student's handout: a sheet per function, numbered from 1."""

    number: int
    sheets: tuple[Sheet, ...]


@dataclass(frozen=True)
class Handout:
    """A whole handout: its settings and one :class:`Variant` per student."""

    title: str
    seed: int
    answers: str
    derivations: tuple[Derivation, ...]
    variants: tuple[Variant, ...]


# -- building -----------------------------------------------------------------------------------


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
) -> Handout:
    """Derive each function once and draw ``variants`` sets of exercises from ``seed``.

    ``progress(done, total)`` is called as functions are derived and after each variant is
    drawn (``total`` = functions + variants). ``workers`` processes share the derivations.
    """
    _check_settings(expressions, variants, seed, answers, title)
    total = len(expressions) + variants
    derivations = derive_all(expressions, timeout=timeout, workers=workers,
                             progress=None if progress is None else
                             (lambda done: progress(done, total)))
    drawn: list[Variant] = []
    for number in range(1, variants + 1):
        sheets = tuple(
            make_sheet(d, index=index, variant=number, seed=seed)
            for index, d in enumerate(derivations, start=1)
        )
        drawn.append(Variant(number=number, sheets=sheets))
        if progress is not None:
            progress(len(expressions) + number, total)
    return Handout(
        title=title.strip() or DEFAULT_TITLE,
        seed=seed,
        answers=answers,
        derivations=tuple(derivations),
        variants=tuple(drawn),
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

    problems = [item if isinstance(item, Derivation | Problem) else parse(item)
                for item in expressions]
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
    if isinstance(variants, bool) or not isinstance(variants, int) or not (
        1 <= variants <= MAX_VARIANTS
    ):
        raise InputError(f"--variants must be a whole number from 1 to {MAX_VARIANTS} (a "
                         "larger class can take several handouts, each with its own --seed)")
    if len(expressions) * variants > MAX_SHEETS:
        raise InputError(
            f"{len(expressions)} functions × {variants} variants make "
            f"{len(expressions) * variants} function sheets; a handout holds at most "
            f"{MAX_SHEETS} (each takes about a second to draw, work and print): use fewer "
            f"variants (at most {MAX_SHEETS // len(expressions)} with these functions) or split "
            "the handout, giving each part its own --seed")
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
    f = _call_text("f", d.variables)
    questions = [
        ("gradient", f"Find the derivative {_prime(f, 1)}." if one else f"Find the gradient ∇{f}."),
        ("total_differential", "Write down the total differential df."),
        ("hessian", f"Find the second derivative {_prime(f, 2)}." if one
         else "Find the Hessian matrix H of f."),
        ("critical_points", "Find every critical point of f (where "
         + ("f′ = 0" if one else "∇f = 0")
         + ") and say whether each one is a minimum, a maximum or a saddle point, using the "
         + ("second derivative." if one else "eigenvalues of the Hessian.")),
    ]
    exercises = [
        Exercise(number=f"{index}.{k}", kind=kind, question=text)
        for k, (kind, text) in enumerate(questions, start=1)
    ]
    text = to_text(d.expr)
    steps = descent_steps(d, stream(seed, variant, index, "descent_steps", text))
    if steps is not None:
        exercises.append(
            Exercise(
                number=f"{index}.{len(exercises) + 1}",
                kind="descent_steps",
                question=_steps_question(d, steps),
                steps=steps,
            )
        )
    rate = rate_question(d, stream(seed, variant, index, "learning_rate", text))
    exercises.append(
        Exercise(
            number=f"{index}.{len(exercises) + 1}",
            kind="learning_rate",
            question=_rate_question_text(rate),
            rate=rate,
        )
    )
    return Sheet(index=index, derivation=d, exercises=tuple(exercises))


# -- two steps by hand --------------------------------------------------------------------------


def descent_steps(d: Derivation, rng: random.Random) -> DescentSteps | None:
    """Draw a start point and a learning rate whose two steps are tidy, and work them exactly.

    Each draw is first run in floating point (cheap); only a draw where f falls at both steps
    and the points stay small is worked exactly. A polynomial with rational coefficients keeps
    drawing until the exact numbers are fractions with small denominators; other functions
    take the first good draw (their exact numbers are never plain fractions). ``None`` when
    no draw keeps f and its gradient defined (e.g. log's domain is never met).
    """
    fast = _float_steps(d)
    rational = _rational_polynomial(d)
    best: tuple[int, DescentSteps] | None = None
    n = len(d.variables)
    for attempt in range(STEP_TRIES):
        start = tuple(rng.choice(START_VALUES) for _ in range(n))
        rates = STEP_RATES if attempt < STEP_TRIES // 2 else STEP_RATES + SMALL_STEP_RATES
        eta = rng.choice(rates)
        if all(v == 0 for v in start):
            continue
        promising = fast is None or fast(start, eta)
        if not promising and best is not None:
            continue
        worked = work_steps(d, start, eta)
        if worked is None:
            continue
        grade = _tidiness(worked)
        if grade == 2 or (grade == 1 and not rational):
            return worked
        if best is None or grade > best[0]:
            best = (grade, worked)
    return None if best is None else best[1]


def _rational_polynomial(d: Derivation) -> bool:
    try:
        poly = sp.Poly(d.expr, *d.variables)
    except sp.PolynomialError:
        return False
    return all(c.is_Rational for c in poly.coeffs())


def _float_steps(d: Derivation) -> Callable[[Sequence[sp.Expr], sp.Rational], bool] | None:
    """A float screen for a draw: True when f falls at both steps and the points stay small."""
    try:
        from symgd.numeric.codegen import lambdify_math

        function = lambdify_math(d.variables, (d.expr, *d.gradient))
    except Exception:  # an expression the numeric printer cannot handle: no screen
        return None

    def promising(start: Sequence[sp.Expr], eta: sp.Rational) -> bool:
        point = [float(v) for v in start]
        rate = float(eta)
        values: list[float] = []
        try:
            for k in range(3):
                value, *gradient = function(*point)
                values.append(float(value))
                if k < 2:
                    point = [x - rate * float(g) for x, g in zip(point, gradient, strict=True)]
                    if not all(math.isfinite(x) and abs(x) <= TIDY_SIZE for x in point):
                        return False
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return False
        return all(math.isfinite(v) for v in values) and values[0] > values[1] > values[2]

    return promising


def work_steps(
    d: Derivation, start: Sequence[sp.Expr], eta: sp.Rational, count: int = 2
) -> DescentSteps | None:
    """``count`` exact steps of plain descent; ``None`` if f or ∇f is undefined on the way,
    the gradient at the start vanishes, or a point sits on a kink of relu/abs."""
    xs = d.variables
    point = tuple(sp.nsimplify(v) for v in start)
    taken: list[HandStep] = []
    for _ in range(count):
        mapping = dict(zip(xs, point, strict=True))
        if _at_kink([d.expr, *d.gradient], mapping):
            return None
        value = _exact_at(d.expr, mapping)
        gradient = tuple(_exact_at(g, mapping) for g in d.gradient)
        if value is None or any(g is None for g in gradient):
            return None
        grad = tuple(g for g in gradient if g is not None)
        if not taken and all(g == 0 for g in grad):
            return None
        following = tuple(x - eta * g for x, g in zip(point, grad, strict=True))
        taken.append(HandStep(point=point, value=value, gradient=grad, next_point=following))
        point = following
    mapping = dict(zip(xs, point, strict=True))
    final = _exact_at(d.expr, mapping)
    if final is None or any(_number(v) is None for v in point):
        return None
    return DescentSteps(start=taken[0].point, eta=eta, steps=tuple(taken), final_value=final)


def _exact_at(expr: sp.Expr, mapping: Mapping[sp.Symbol, sp.Expr]) -> sp.Expr | None:
    """``expr`` at the point, exactly; ``None`` if it is not a finite real number there.

    An exact value that would need more than :data:`symgd.calculus.exact.MAX_EXACT_DIGITS` digits
    (x¹⁰⁰⁰ one step from 1/2) is computed in decimals instead; the steps are then not
    rational, so the question asks for four decimal places and the key shows ≈ values.
    """
    from symgd.calculus.exact import TooLarge, decimal_at, exact_at

    try:
        value = exact_at(expr, mapping)
    except TooLarge:
        value = decimal_at(expr, mapping)
    return value if _number(value) is not None else None




@functools.lru_cache(maxsize=4096)
def _number(value: sp.Expr) -> float | None:
    """The value as a float if it is a finite real number, else ``None``."""
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    try:
        z = complex(sp.N(to_elementary(value), 20))
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        return None
    if abs(z.imag) > 1e-12 * max(1.0, abs(z.real)):
        return None
    return z.real


def _at_kink(exprs: Iterable[sp.Expr], mapping: Mapping[sp.Symbol, sp.Expr]) -> bool:
    """True when the point puts a relu/abs/sign argument exactly at its kink."""
    for expr in exprs:
        for atom in expr.atoms(sp.Function, sp.Abs):
            if type(atom).__name__ in _KINK_FUNCTIONS and atom.args:
                inner = atom.args[0].xreplace(dict(mapping))
                if inner.is_number and inner.is_zero:
                    return True
    return False


def _tidiness(worked: DescentSteps) -> int:
    """2: f falls and every number is a small fraction a student can carry by hand; 1: f
    falls and the numbers stay moderate (decimals); 0: usable but f rises or runs away."""
    if not worked.decreasing:
        return 0
    for point in worked.points:
        for v in point:
            x = _number(v)
            if x is None or abs(x) > TIDY_SIZE:
                return 0
    return 2 if worked.rational else 1


def _steps_question(d: Derivation, worked: DescentSteps) -> str:
    one = len(d.variables) == 1
    name = d.variables[0].name if one else point_symbol(d.variables)
    rule = f"{name}ₖ₊₁ = {name}ₖ − η " + (f"f′({name}ₖ)" if one else f"∇f({name}ₖ)")
    return (
        f"Starting from {_point_text(d.variables, worked.start)}, take two steps of gradient "
        f"descent {rule} by hand with learning rate η = {_number_text(worked.eta)}. "
        "Give the two new points and the values of f at all three points"
        + (" as exact fractions." if worked.rational else ", to four decimal places.")
        + " Did f decrease?"
    )


# -- does eta converge? -------------------------------------------------------------------------


def rate_question(d: Derivation, rng: random.Random) -> RateQuestion:
    """A convergence question on f itself when f is a suitable quadratic, else on a made-up one.

    f qualifies when its Hessian is constant, nonsingular and has exact real eigenvalues: then
    the answer is exact (0 < η < 2/λ_max when all eigenvalues are positive; no η at all when
    one is negative). Otherwise a quadratic with integer coefficients and integer eigenvalues
    is drawn in f's (first two) variables.
    """
    own = _own_quadratic(d)
    if own is not None:
        function, variables, hessian, eigenvalues = own
        generated = False
        name = "f"
    else:
        function, variables = _generated_quadratic(d.variables, rng)
        hessian = sp.ImmutableMatrix(sp.hessian(function, variables))
        eigenvalues = _sorted_eigenvalues(hessian)
        generated = True
        name = "q"
    eta = _choose_rate(eigenvalues, rng)
    factors = tuple(sp.expand(1 - eta * v) for v in eigenvalues)
    converges = all(_positive(v) for v in eigenvalues) and all(
        _positive(1 - abs(c)) for c in factors
    )
    limit = _minimiser(function, variables, hessian) if converges else None
    return RateQuestion(
        function=function,
        variables=variables,
        name=name,
        generated=generated,
        hessian=hessian,
        eigenvalues=eigenvalues,
        eta=eta,
        converges=converges,
        factors=factors,
        limit=limit,
    )


def _own_quadratic(
    d: Derivation,
) -> tuple[sp.Expr, tuple[sp.Symbol, ...], sp.ImmutableMatrix, tuple[sp.Expr, ...]] | None:
    if not d.hessian_is_constant or len(d.variables) > 3:
        return None
    hessian = sp.ImmutableMatrix(d.hessian)
    if hessian.has(sp.Heaviside, sp.sign, sp.DiracDelta) or not all(
        entry.is_Rational for entry in hessian
    ):
        return None
    if hessian.det() == 0:
        return None
    try:
        eigenvalues = _sorted_eigenvalues(hessian)
    except (ValueError, NotImplementedError):
        return None
    if any(v.has(sp.CRootOf) or sp.count_ops(v) > 12 for v in eigenvalues):
        return None
    if not _polynomial_degree_at_most_2(d):
        return None
    return d.expr, d.variables, hessian, eigenvalues


def _polynomial_degree_at_most_2(d: Derivation) -> bool:
    try:
        return bool(sp.Poly(d.expr, *d.variables).total_degree() <= 2)
    except sp.PolynomialError:
        return False


def _sorted_eigenvalues(hessian: sp.ImmutableMatrix) -> tuple[sp.Expr, ...]:
    values: list[sp.Expr] = []
    for value, multiplicity in hessian.eigenvals().items():
        simple = sp.radsimp(sp.nsimplify(value)) if not value.is_Rational else value
        values.extend([simple] * multiplicity)
    if any(_number(v) is None for v in values):
        raise ValueError("complex eigenvalues")
    return tuple(sorted(values, key=lambda v: float(sp.N(v, 30))))


def quadratic_candidates() -> tuple[tuple[int, int, int], ...]:
    """``(a, b, c)`` for a x² + b xy + c y² with b ≠ 0 whose Hessian [[2a, b], [b, 2c]] has
    integer eigenvalues a + c ± √((a − c)² + b²), both positive."""
    found = []
    for a in range(1, 7):
        for c in range(1, 7):
            for b in range(-6, 7):
                if b == 0:
                    continue
                root = math.isqrt((a - c) ** 2 + b * b)
                if root * root == (a - c) ** 2 + b * b and a + c - root > 0:
                    found.append((a, b, c))
    return tuple(found)


_QUADRATICS = quadratic_candidates()


def _generated_quadratic(
    variables: tuple[sp.Symbol, ...], rng: random.Random
) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    linear = [rng.choice([-6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6]) for _ in range(2)]
    if len(variables) == 1:
        (w,) = variables
        a = rng.randint(1, 5)
        return a * w**2 + linear[0] * w, (w,)
    x, y = variables[:2]
    a, b, c = rng.choice(_QUADRATICS)
    return a * x**2 + b * x * y + c * y**2 + linear[0] * x + linear[1] * y, (x, y)


def _choose_rate(eigenvalues: Sequence[sp.Expr], rng: random.Random) -> sp.Rational:
    """A learning rate that converges or not with even odds (when both can happen), never on
    the boundary 2/λ_max itself."""
    if not all(_positive(v) for v in eigenvalues):
        return rng.choice(STEP_RATES)
    largest = eigenvalues[-1]
    below = [eta for eta in QUESTION_RATES if _positive(2 - eta * largest)]
    above = [eta for eta in QUESTION_RATES if _positive(eta * largest - 2)]
    above = [eta for eta in above if _positive(3 - eta * largest)] or above
    want_convergent = rng.random() < 0.5
    pool = (below if want_convergent else above) or below or above
    return rng.choice(pool)


def _minimiser(
    function: sp.Expr, variables: tuple[sp.Symbol, ...], hessian: sp.ImmutableMatrix
) -> tuple[sp.Expr, ...]:
    gradient_at_zero = sp.Matrix(
        [sp.diff(function, v).xreplace(dict.fromkeys(variables, 0)) for v in variables]
    )
    solution = hessian.LUsolve(-gradient_at_zero)
    return tuple(sp.nsimplify(s) for s in solution)


def _positive(value: sp.Expr) -> bool:
    """Exact sign test with a high-precision fallback for algebraic numbers."""
    answer = value.is_positive
    if answer is not None:
        return bool(answer)
    return bool(sp.N(value, 50) > 0)


def _rate_question_text(rate: RateQuestion) -> str:
    one = len(rate.variables) == 1
    if rate.generated:
        quadratic = _polynomial_text(rate.function, rate.variables)
        intro = (
            f"The Hessian of f changes from point to point, so take the quadratic "
            f"{_call_text('q', rate.variables)} = {quadratic}. "
        )
        target = "q"
    else:
        intro = ""
        target = "f"
    basis = "its second derivative" if one else "the eigenvalues of its Hessian"
    return (
        f"{intro}Plain gradient descent with learning rate η = {_number_text(rate.eta)} is run "
        f"on {target}. Does it converge from every starting point? Explain why, using {basis}."
    )


# -- text helpers -------------------------------------------------------------------------------


class _LatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer; powers of functions that print themselves (σ, ReLU) are
    written ``σ(z)^{2}`` instead of passing ``exp=`` to their own printing method."""

    def _print_Pow(self, expr: sp.Pow, **kwargs: Any) -> str:
        base = expr.base
        if isinstance(base, sp.Function) and hasattr(type(base), "_latex"):
            return f"{self._print(base)}^{{{self._print(expr.exp)}}}"
        return str(super()._print_Pow(expr, **kwargs))


def latex(expr: Any) -> str:
    """LaTeX for ``expr`` (see :class:`_LatexPrinter`)."""
    return str(_LatexPrinter().doprint(expr))


def point_symbol(variables: Sequence[sp.Symbol]) -> str:
    """The letter for the iterates x₀, x₁, ...: ``x`` unless a variable is called x (or x1)."""
    stems = {re.sub(r"[\d_]+$", "", v.name) for v in variables}  # x1, x_2 count as x
    return next((letter for letter in ("x", "p", "r", "s", "t") if letter not in stems), "ξ")


def _call_text(name: str, variables: Sequence[sp.Symbol]) -> str:
    return f"{name}({', '.join(v.name for v in variables)})"


def _prime(call: str, order: int) -> str:
    name, _, rest = call.partition("(")
    return f"{name}{'′' * order}({rest}"


def _number_text(value: sp.Expr) -> str:
    """A number as a person writes it: ``1/2``, ``−3``, ``1 − √5``."""
    return pretty_text(value)


def _point_text(variables: Sequence[sp.Symbol], values: Sequence[sp.Expr]) -> str:
    if len(variables) == 1:
        return f"{variables[0].name} = {_number_text(values[0])}"
    names = ", ".join(v.name for v in variables)
    numbers = ", ".join(_number_text(v) for v in values)
    return f"({names}) = ({numbers})"


def _polynomial_text(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> str:
    """A polynomial in plain Unicode: ``3x² + 2xy − 4x``."""
    poly = sp.Poly(expr, *variables)
    joiner = "·" if any(len(v.name) > 1 for v in variables) else ""
    parts: list[str] = []
    for exponents, coefficient in poly.terms(order="grlex"):
        monomial = joiner.join(
            v.name + (str(e).translate(_SUPERSCRIPTS) if e > 1 else "")
            for v, e in zip(variables, exponents, strict=True)
            if e
        )
        magnitude = abs(coefficient)
        number = "" if monomial and magnitude == 1 else to_text(magnitude)
        term = number + monomial
        if not parts:
            parts.append(("−" if coefficient < 0 else "") + term)
        else:
            parts.append(("− " if coefficient < 0 else "+ ") + term)
    return " ".join(parts) if parts else "0"


def pretty_text(expr: sp.Expr, limit: int = 90) -> str:
    """A one-line Unicode rendering for running headers: ``x² + 2·x·y``."""
    text = to_text(expr)
    text = re.sub(r"\*\*(\d+)(?![\d.(])", lambda m: m.group(1).translate(_SUPERSCRIPTS), text)
    text = re.sub(r"(?<![\w.])(\d+)\*(?=[A-Za-z_(])", r"\1", text)
    text = re.sub(r"sqrt\((\d+)\)", "√\\1", text)
    text = text.replace("sqrt", "√").replace("**", "^").replace("*", "·").replace("-", "−")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- JSON ---------------------------------------------------------------------------------------


def handout_to_json(h: Handout) -> dict[str, Any]:
    """The handout's exercises and answers: expressions as SymPy ``str`` strings, exact
    numbers as strings beside their float values. JSON has no NaN or infinity: a float value
    that is not a finite real number is ``None``, as are ``threshold``/``threshold_value``
    and ``limit`` when there is none."""
    from symgd import __version__

    return {
        "generator": f"symgd {__version__}",
        "title": h.title,
        "seed": h.seed,
        "answers": h.answers,
        "variant_count": len(h.variants),
        "functions": [
            {
                "index": index,
                "input": d.problem.source,
                "expression": to_text(d.expr),
                "variables": [v.name for v in d.variables],
            }
            for index, d in enumerate(h.derivations, start=1)
        ],
        "variants": [
            {
                "variant": variant.number,
                "exercises": [
                    exercise_to_json(sheet, exercise)
                    for sheet in variant.sheets
                    for exercise in sheet.exercises
                ],
            }
            for variant in h.variants
        ],
    }


def exercise_to_json(sheet: Sheet, exercise: Exercise) -> dict[str, Any]:
    """One exercise: its function, question, given values and answer."""
    d = sheet.derivation
    names = [v.name for v in d.variables]
    function, variables = d.expr, d.variables
    given: dict[str, Any] = {}
    answer: dict[str, Any]
    if exercise.kind == "gradient":
        answer = {"gradient": [to_text(g) for g in d.gradient]}
    elif exercise.kind == "total_differential":
        answer = {
            "total_differential": to_text(d.total_differential),
            "differentials": [s.name for s in d.differentials],
        }
    elif exercise.kind == "hessian":
        n = len(names)
        answer = {"hessian": [[to_text(d.hessian[i, j]) for j in range(n)] for i in range(n)]}
    elif exercise.kind == "critical_points":
        answer = {
            "critical_points": [point_to_json(p, names) for p in d.critical_points],
            "complete": d.critical_points_complete,
        }
    elif exercise.kind == "descent_steps" and exercise.steps is not None:
        steps = exercise.steps
        given = {
            "start": _vector_json(names, steps.start),
            "learning_rate": to_text(steps.eta),
            "learning_rate_value": float(steps.eta),
            "steps": len(steps.steps),
        }
        answer = {
            "points": [_vector_json(names, p) for p in steps.points],
            "points_value": [[_float(v) for v in p] for p in steps.points],
            "gradients": [_vector_json(names, s.gradient) for s in steps.steps],
            "values": [to_text(v) for v in steps.values],
            "values_value": [_float(v) for v in steps.values],
            "decreasing": steps.decreasing,
        }
    elif exercise.kind == "learning_rate" and exercise.rate is not None:
        rate = exercise.rate
        function, variables = rate.function, rate.variables
        given = {"learning_rate": to_text(rate.eta), "learning_rate_value": float(rate.eta)}
        threshold = rate.threshold
        answer = {
            "converges": rate.converges,
            "hessian": [[to_text(x) for x in row] for row in rate.hessian.tolist()],
            "eigenvalues": [to_text(v) for v in rate.eigenvalues],
            "threshold": None if threshold is None else to_text(threshold),
            "threshold_value": None if threshold is None else _float(threshold),
            "factors": [to_text(c) for c in rate.factors],
            "limit": None if rate.limit is None else _vector_json(
                [v.name for v in variables], rate.limit
            ),
            "reason": rate_reason(rate),
        }
    else:  # pragma: no cover - every kind is handled above
        raise ValueError(f"unknown exercise kind {exercise.kind!r}")
    return {
        "id": exercise.number,
        "function_index": sheet.index,
        "kind": exercise.kind,
        "function_name": exercise.rate.name if exercise.rate is not None else "f",
        "function": to_text(function),
        "variables": [v.name for v in variables],
        "question": exercise.question,
        "given": given,
        "answer": answer,
    }


def _vector_json(names: Sequence[str], values: Sequence[sp.Expr]) -> dict[str, str]:
    return {n: to_text(v) for n, v in zip(names, values, strict=True)}




def _float(value: sp.Expr) -> float | None:
    number = _number(value)
    return None if number is None else float(f"{number:.15g}")


def rate_reason(rate: RateQuestion) -> str:
    """The answer to the convergence question in one or two sentences."""
    eta = _number_text(rate.eta)
    g = rate.name
    if len(rate.variables) == 1:
        return _rate_reason_one(rate, eta)
    negatives = [v for v in rate.eigenvalues if not _positive(v)]
    if negatives:
        return (
            f"No. The Hessian of {g} has the eigenvalue {_number_text(negatives[0])} < 0, so "
            "along its eigenvector each step multiplies the distance from the critical point "
            "by 1 − ηλ > 1: the iterates run away for every η > 0 (unless the start lies "
            "exactly on the other eigen-directions)."
        )
    threshold = rate.threshold
    assert threshold is not None
    limit = _number_text(threshold)
    largest = _number_text(rate.largest)
    if rate.converges:
        return (
            f"Yes. Every eigenvalue of the Hessian is positive and the largest is "
            f"λₘₐₓ = {largest}, so descent converges exactly when 0 < η < 2/λₘₐₓ = {limit}; "
            f"η = {eta} is inside that range, and every factor |1 − ηλ| is below 1."
        )
    return (
        f"No. The largest eigenvalue of the Hessian is λₘₐₓ = {largest}, so descent converges "
        f"only for 0 < η < 2/λₘₐₓ = {limit}; with η = {eta} the factor 1 − ηλₘₐₓ = "
        f"{_number_text(rate.factors[-1])} has size at least 1 and the iterates zig-zag outward "
        "along that eigenvector."
    )


def _rate_reason_one(rate: RateQuestion, eta: str) -> str:
    g, curvature = rate.name, rate.eigenvalues[0]
    second = f"{g}″ = {_number_text(curvature)}"
    if not _positive(curvature):
        return (f"No. {second} < 0, so each step multiplies the distance from the critical "
                "point by 1 − η·" + f"{g}″ > 1: the iterates run away for every η > 0.")
    limit = _number_text(2 / curvature)
    factor = _number_text(rate.factors[0])
    if rate.converges:
        return (f"Yes. {second} > 0, so descent converges exactly when 0 < η < 2/{g}″ = {limit}; "
                f"η = {eta} is inside that range: each step multiplies the distance to the "
                f"minimiser by 1 − η·{g}″ = {factor}, whose size is below 1.")
    return (f"No. {second}, so descent converges only for 0 < η < 2/{g}″ = {limit}; with "
            f"η = {eta} each step multiplies the distance to the minimiser by 1 − η·{g}″ = "
            f"{factor}, whose size is at least 1: the iterates zig-zag outward.")


# -- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a worked solution: words, a display formula, or both."""

    text: str = ""
    latex: str = ""


def handout_context(h: Handout) -> dict[str, Any]:
    """The template context: every formula as LaTeX, computed here rather than in templates."""
    from symgd import __version__

    functions = [
        {
            "index": index,
            "latex": rf"f({', '.join(latex(v) for v in d.variables)}) = {latex(d.expr)}",
            "running": f"{_call_text('f', d.variables)} = {pretty_text(d.expr)}",
            "notes": d.notes,
        }
        for index, d in enumerate(h.derivations, start=1)
    ]
    shared: dict[tuple[int, str], tuple[Line, ...]] = {}
    variants = []
    for variant in h.variants:
        sheets = []
        for sheet in variant.sheets:
            exercises = []
            for exercise in sheet.exercises:
                key = (sheet.index, exercise.kind)
                if exercise.kind in KINDS[:4]:
                    if key not in shared:
                        shared[key] = worked_solution(sheet, exercise)
                    solution = shared[key]
                else:
                    solution = worked_solution(sheet, exercise)
                exercises.append(
                    {
                        "number": exercise.number,
                        "kind": exercise.kind,
                        "question": exercise.question,
                        "room": _room(exercise, len(sheet.derivation.variables)),
                        "solution": solution,
                    }
                )
            sheets.append({"function": functions[sheet.index - 1], "exercises": exercises})
        variants.append({"number": variant.number, "sheets": sheets})
    return {
        "language": "en",
        "generator": f"symgd {__version__}",
        "title": h.title,
        "seed": h.seed,
        "answers": h.answers,
        "variant_count": len(h.variants),
        "variants": variants,
        "blocks": _blocks(_units(variants, h.answers)),
    }


#: typesetting cost of one exercise on a sheet, in the units of :func:`_units`' weights
#: (characters of LaTeX): measured, a sheet costs about a sixth of its key
SHEET_EXERCISE_WEIGHT = 40
#: below this total weight a handout is typeset in one piece
PARALLEL_WEIGHT = 12_000


@dataclass(frozen=True)
class _Unit:
    """One function's exercises (``"sheet"``) or worked answers (``"key"``) in one variant."""

    kind: str
    variant: Mapping[str, Any]
    sheet: Mapping[str, Any]
    first: bool
    weight: int


def _units(variants: Sequence[Mapping[str, Any]], answers: str) -> list[_Unit]:
    def solutions(sheet: Mapping[str, Any]) -> int:
        return sum(len(line.latex) + len(line.text) // 4
                   for ex in sheet["exercises"] for line in ex["solution"])

    units: list[_Unit] = []
    for variant in variants:
        for position, sheet in enumerate(variant["sheets"]):
            weight = SHEET_EXERCISE_WEIGHT * len(sheet["exercises"])
            weight += len(sheet["function"]["latex"])
            if answers == "inline":
                weight += solutions(sheet)
            units.append(_Unit("sheet", variant, sheet, position == 0, weight))
    if answers == "separate":
        for variant in variants:
            for position, sheet in enumerate(variant["sheets"]):
                units.append(_Unit("key", variant, sheet, position == 0, solutions(sheet)))
    return units


def _blocks(units: Sequence[_Unit]) -> list[dict[str, Any]]:
    """Consecutive units of the same kind and variant, as the template's blocks."""
    blocks: list[dict[str, Any]] = []
    for unit in units:
        last = blocks[-1] if blocks else None
        if last is not None and last["kind"] == unit.kind and last["variant"] is unit.variant:
            last["sheets"].append(unit.sheet)
        else:
            blocks.append({"kind": unit.kind, "variant": unit.variant, "sheets": [unit.sheet],
                           "continued": not unit.first})
    return blocks


def _split(units: Sequence[_Unit], parts: int) -> list[list[_Unit]]:
    """Contiguous runs of units with about equal weight."""
    total = sum(u.weight for u in units) or 1
    runs: list[list[_Unit]] = [[] for _ in range(parts)]
    done = 0
    for unit in units:
        index = min(parts - 1, int(parts * (done + unit.weight / 2) / total))
        runs[index].append(unit)
        done += unit.weight
    return [run for run in runs if run]


def render_handout_html(
    h: Handout, env: jinja2.Environment | None = None, *, templates_dir: str | None = None
) -> str:
    """The handout as one self-contained HTML page, ready for :func:`symgd.render.pdf.render_pdf`."""
    from symgd.render.templates import make_env

    env = env if env is not None else make_env(templates_dir)
    return env.get_template(HANDOUT_TEMPLATE).render(**handout_context(h))


def render_handout_pdf(
    h: Handout, *, paper: str = "A4", templates_dir: str | None = None, workers: int = 2
) -> bytes:
    """The handout as PDF bytes. A long handout is typeset in ``workers`` parts side by side
    (WeasyPrint is single-threaded) and joined; a short one in one piece."""
    from symgd.render import pdf
    from symgd.render.templates import make_env

    env = make_env(templates_dir)
    context = handout_context(h)
    template = env.get_template(HANDOUT_TEMPLATE)
    units = _units(context["variants"], h.answers)
    parts = workers if sum(u.weight for u in units) >= PARALLEL_WEIGHT else 1
    if parts <= 1 or not pdf.parts_supported():
        return pdf.render_pdf(template.render(**context), paper=paper)
    runs = _split(units, parts)

    def part(run: Sequence[_Unit]) -> Callable[[], str]:
        return lambda: template.render(**{**context, "blocks": _blocks(run)})

    jobs = [part(run) for run in runs]
    inline_file: Callable[[str], str] = env.globals["inline_file"]  # type: ignore[assignment]
    page_css = str(inline_file("print.css"))
    return pdf.render_pdf_parts(jobs, paper=paper, page_css=page_css, workers=workers)


def _room(exercise: Exercise, n: int) -> str:
    """How much room to leave for working, as a CSS length."""
    base = {
        "gradient": 4.0 + 1.2 * n,
        "total_differential": 3.5,
        "hessian": 4.0 + 1.4 * n,
        "critical_points": 9.0 + 1.5 * n,
        "descent_steps": 10.0 + 1.5 * n,
        "learning_rate": 7.0,
    }[exercise.kind]
    return f"{min(base, 20.0):.1f}em"


def worked_solution(sheet: Sheet, exercise: Exercise) -> tuple[Line, ...]:
    """The key's worked solution of one exercise, as lines of words and LaTeX."""
    d = sheet.derivation
    builder = {
        "gradient": _solve_gradient,
        "total_differential": _solve_differential,
        "hessian": _solve_hessian,
        "critical_points": _solve_critical_points,
    }.get(exercise.kind)
    if builder is not None:
        return builder(d)
    if exercise.kind == "descent_steps" and exercise.steps is not None:
        return _solve_steps(d, exercise.steps)
    if exercise.kind == "learning_rate" and exercise.rate is not None:
        return _solve_rate(exercise.rate)
    raise ValueError(f"unknown exercise kind {exercise.kind!r}")  # pragma: no cover


def _partial_latex(variable: sp.Symbol, one: bool, order: int = 1) -> str:
    v = latex(variable)
    if one:
        return "f" + "'" * order + f"({v})"
    return f"f_{{{v}}}"


def _rules_used(d: Derivation, variable: sp.Symbol) -> str:
    """The differentiation rules used for one partial, in order of first use."""
    try:
        from symgd.calculus.rules import derivative_steps
    except ImportError:  # pragma: no cover - the steps stage is part of the package
        return ""
    others = tuple(v for v in d.variables if v != variable)
    tree = derivative_steps(d.expr, variable, others=others)
    titles: list[str] = []
    for step in tree.walk():
        if step.rule in {"simplify", "direct", "no_rule"}:
            continue
        title = step.title.lower() if titles else step.title
        if title.lower() not in (t.lower() for t in titles):
            titles.append(title)
    return ", ".join(titles)


def _solve_gradient(d: Derivation) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    lines = []
    for v, g in zip(d.variables, d.gradient, strict=True):
        rules = _rules_used(d, v)
        text = "" if one else (f"Differentiate by {v.name}, holding the other variables "
                               f"fixed (f_{v.name} is short for ∂f/∂{v.name}).")
        if rules:
            text = (text + " " if text else "") + f"Rules: {rules}."
        lines.append(Line(text=text, latex=f"{_partial_latex(v, one)} = {latex(g)}"))
    if not one:
        lines.append(Line(text="So the gradient is", latex=rf"\nabla f = {_column(d.gradient)}"))
    return tuple(lines)


def _solve_differential(d: Derivation) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    terms = [rf"\left({latex(g)}\right)\,{latex(s)}"
             for g, s in zip(d.gradient, d.differentials, strict=True)]
    text = ("df is the derivative times the small change of the variable:" if one else
            "df adds up each partial derivative times the small change of its variable:")
    if sum(len(t) for t in terms) <= WIDE_LATEX:
        return (Line(text=text, latex=f"df = {' + '.join(terms)}"),)
    rows = r" \\ &\quad + ".join(terms)
    return (Line(text=text, latex=rf"\begin{{aligned}} df &= {rows} \end{{aligned}}"),)


def _solve_hessian(d: Derivation) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    if one:
        v = d.variables[0]
        return (Line(text="Differentiate f′ once more:",
                     latex=f"{_partial_latex(v, True, 2)} = {latex(d.hessian[0, 0])}"),)
    matrix = latex(sp.Matrix(d.hessian))
    if len(matrix) <= 3 * WIDE_LATEX:
        lines = [
            Line(text="Entry (i, j) is the derivative of the i-th gradient component by the "
                      "j-th variable:",
                 latex=f"H = {matrix}"),
        ]
    else:  # too wide to print as a matrix: its entries one per line (H is symmetric)
        xs = d.variables
        rows = r" \\ ".join(
            rf"f_{{{latex(xs[i])}{latex(xs[j])}}} &= {latex(d.hessian[i, j])}"
            for i in range(len(xs)) for j in range(i, len(xs))
        )
        lines = [
            Line(text="Entry (i, j) of H is the derivative of the i-th gradient component by "
                      "the j-th variable; H is symmetric, so these entries give all of it:",
                 latex=rf"\begin{{aligned}} {rows} \end{{aligned}}"),
        ]
    if d.hessian_is_constant:
        lines.append(Line(text="It does not depend on the point: f is quadratic."))
    return tuple(lines)


def _solve_critical_points(d: Derivation) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    system = r" \\ ".join(f"{latex(g)} &= 0" for g in d.gradient)
    lines = [Line(text="Set every partial derivative to zero:" if not one
                  else "Set the derivative to zero:",
                  latex=rf"\begin{{aligned}} {system} \end{{aligned}}")]
    if not d.critical_points:
        lines.append(Line(text="This system has no real solution: f has no critical points."
                          if d.critical_points_complete else
                          "No real solution was found (a numeric search found none either)."))
    for point in d.critical_points:
        coords = ", ".join(_coordinate_latex(c) for c in point.coordinates)
        where = coords if one else rf"\left({coords}\right)"
        eig = ", ".join(_coordinate_latex(v) for v in point.eigenvalues)
        label = "f''" if one else r"\lambda"
        kind = {"minimum": "a minimum", "maximum": "a maximum", "saddle": "a saddle point",
                "degenerate": "inconclusive (a zero eigenvalue): the test does not decide"}
        free = (f" (a whole set: {', '.join(s.name for s in point.free)} can be anything)"
                if point.free else "")
        lines.append(Line(
            text=f"At this point{free}: {kind.get(point.kind, point.kind)}.",
            latex=rf"{where}:\quad {label} = {eig},\quad f = {_coordinate_latex(point.value)}",
        ))
    if not d.critical_points_complete and d.critical_points:
        lines.append(Line(text="These points come from a numeric search; the list may be "
                               "incomplete (decimals are rounded)."))
    return tuple(lines)


def _coordinate_latex(value: sp.Expr) -> str:
    if isinstance(value, sp.Float):
        return f"{float(value):.6g}"
    return latex(value)


def _solve_steps(d: Derivation, worked: DescentSteps) -> tuple[Line, ...]:
    one = len(d.variables) == 1
    eta = latex(worked.eta)
    grad_name = "f'" if one else r"\nabla f"
    name = d.variables[0].name if one else point_symbol(d.variables)
    x = latex(d.variables[0]) if one else {"ξ": r"\xi"}.get(name, name)
    lines = [Line(text="Apply the update rule twice:",
                  latex=rf"{x}_{{k+1}} = {x}_k - \eta\, {grad_name}({x}_k),\qquad \eta = {eta}")]
    for k, step in enumerate(worked.steps):
        x_k, _ = _shown_vector(step.point, one)
        gradient, rounded = _shown_vector(step.gradient, one)
        lines.append(Line(
            text=f"Step {k + 1}: the {'derivative' if one else 'gradient'} at "
                 f"{name}{str(k).translate(_SUBSCRIPTS)}.",
            latex=rf"{grad_name}({x}_{k}) {_relation(rounded)} {gradient}",
        ))
        following, rounded_next = _shown_vector(step.next_point, one)
        approx = "" if rounded_next else _approx_latex(step.next_point, one)
        update = (rf"{x_k} - {eta}\left({gradient}\right)" if one
                  else rf"{x}_{k} - {eta}\,{grad_name}({x}_{k})")
        lines.append(Line(latex=(
            rf"{x}_{k + 1} = {update} {_relation(rounded or rounded_next)} {following}{approx}"
        )))
    values = []
    for k, v in enumerate(worked.values):
        shown, rounded = _shown(v)
        values.append(rf"f({x}_{k}) {_relation(rounded)} {shown}"
                      + ("" if rounded else _approx_scalar(v)))
    falls = worked.decreasing
    lines.append(Line(
        text="The values of f: it fell at both steps." if falls else
        "The values of f: at this precision they do not change, the steps are too short to "
        "move f visibly." if worked.unchanged else
        "The values of f: it did not fall at every step, so this learning rate is too large "
        "here.",
        latex=r",\quad ".join(values),
    ))
    return tuple(lines)


def _shown(value: sp.Expr) -> tuple[str, bool]:
    """LaTeX for a hand-step number: exact when short, else a decimal (flagged ``True``)."""
    text = latex(value)
    if len(text) <= MAX_EXACT_LATEX:
        return text, False
    number = _number(value)
    return (text, False) if number is None else (f"{number:.5g}", True)


def _shown_vector(values: Sequence[sp.Expr], one: bool) -> tuple[str, bool]:
    shown = [_shown(v) for v in values]
    rounded = any(r for _, r in shown)
    if one:
        return shown[0][0], rounded
    body = r" \\ ".join(s for s, _ in shown)
    return r"\begin{pmatrix}" + body + r"\end{pmatrix}", rounded


def _relation(rounded: bool) -> str:
    return r"\approx" if rounded else "="


def _vector_latex(values: Sequence[sp.Expr], one: bool) -> str:
    if one:
        return latex(values[0])
    return _column(values)


def _column(values: Sequence[sp.Expr]) -> str:
    return r"\begin{pmatrix}" + r" \\ ".join(latex(v) for v in values) + r"\end{pmatrix}"


def _approx_latex(values: Sequence[sp.Expr], one: bool) -> str:
    if all(v.is_Rational and (v.is_Integer or 10**6 % v.q == 0) for v in values):
        return ""
    numbers = [_number(v) for v in values]
    text = ", ".join(f"{x:.5g}" for x in numbers if x is not None)
    return rf" \approx {text}" if one else rf" \approx \left({text}\right)"


def _approx_scalar(value: sp.Expr) -> str:
    if value.is_Rational and (value.is_Integer or 10**6 % value.q == 0):
        return ""
    number = _number(value)
    return "" if number is None else rf" \approx {number:.5g}"


def _solve_rate(rate: RateQuestion) -> tuple[Line, ...]:
    one = len(rate.variables) == 1
    g = rate.name
    lines = []
    if one:
        lines.append(Line(text=f"The second derivative of {g} is constant:",
                          latex=f"{g}'' = {latex(rate.eigenvalues[0])}"))
    else:
        eig = ", ".join(latex(v) for v in rate.eigenvalues)
        lines.append(Line(text=f"The Hessian of {g} is constant; its eigenvalues:",
                          latex=rf"H = {latex(sp.Matrix(rate.hessian))},\qquad "
                                rf"\lambda = {eig}"))
    factors = ", ".join(latex(c) for c in rate.factors)
    if one:
        lines.append(Line(
            text=f"Each step multiplies the distance to the critical point by 1 − η{g}″:",
            latex=rf"1 - \eta\,{g}'' = {factors}\qquad (\eta = {latex(rate.eta)})",
        ))
    else:
        lines.append(Line(
            text="Each step multiplies the error along each eigenvector by 1 − ηλ:",
            latex=rf"1 - \eta\lambda = {factors}\qquad (\eta = {latex(rate.eta)})",
        ))
    threshold = rate.threshold
    if threshold is not None:
        bound = rf"\frac{{2}}{{{g}''}}" if one else r"\frac{2}{\lambda_{\max}}"
        lines.append(Line(latex=rf"{bound} = {latex(threshold)}"))
    lines.append(Line(text=rate_reason(rate)))
    if rate.limit is not None:
        where = ", ".join(latex(v) for v in rate.limit)
        lines.append(Line(text="It converges to the minimiser, where the gradient vanishes:",
                          latex=where if one else rf"\left({where}\right)"))
        zigzag = [c for c in rate.factors if not _positive(c) and c != 0]
        if zigzag:
            lines.append(Line(text="A negative factor means that component changes sign at "
                                   "every step: the path zig-zags while it converges."))
    return tuple(lines)
