"""Is a student's expression or number the key's? Exactly where SymPy can tell in time, else
by agreement at random points; never by running what the student typed.

**Expressions** are compared in three steps:

1. *Points.* Both are evaluated at up to :data:`POINTS` random points (seeded, so a grade is
   reproducible) at which the key is defined, drawn from ``[-3, 3]`` in every variable, then
   ``(0, 5]`` and ``[-30, 30]`` for functions defined on less. The student's answer is
   evaluated as written (``exp(log(x))`` stays a logarithm inside an exponential, though the
   parser simplifies it to ``x``), so an answer undefined where the key is defined is wrong:
   over the real numbers ``exp(log(x))`` is not ``x`` (it has no value at ``x = -1``), while
   ``log(exp(x))`` is. Two values agree within the tolerance (below); a disagreement is
   checked again at 30 digits before it counts.
2. *Exact.* When the points agree, ``simplify(answer - key) == 0`` runs in a helper process
   that is killed after ``seconds`` (SymPy cannot be interrupted reliably otherwise).
3. An answer the points accept stays right when the exact check runs out of time or cannot
   decide; the grade then says it rests on the points.

**Numbers** (and each coordinate of a point or vector) are evaluated to 30 digits and agree
when ``|answer − key| ≤ absolute + relative·|key|``: :data:`EXACT` (relative 10⁻⁶, absolute
10⁻⁹) for a key written exactly, :data:`DECIMAL` (absolute 5·10⁻⁵, the rounding of four
decimal places) for a key the handout itself gives in decimals (a numeric solution, a step
worked in decimals), or the key's own ``tolerance`` when it has one. Values at points use
:data:`EXACT` relative to the larger of the two values.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgd.base.errors import InputError
from symgd.base.i18n import _
from symgd.base.limits import CHILD_MEMORY, start_helper, wait_readable

if TYPE_CHECKING:
    import sympy as sp

__all__ = [
    "DECIMAL",
    "EXACT",
    "POINTS",
    "Context",
    "KeyProblem",
    "Parsed",
    "SymbolicChecker",
    "Tolerance",
    "Verdict",
    "compare_expressions",
    "compare_numbers",
    "critical_kind",
    "decimal_text",
    "read_expression",
    "read_number",
    "read_numbers",
    "same_point",
    "short",
    "symbols_named",
    "tolerance_for",
]

#: random points an expression is compared at
POINTS = 12
#: most random draws tried while looking for :data:`POINTS` points where the key is defined
DRAWS = 240
#: boxes the points are drawn from, in turn: (low, high) in every variable
BOXES = ((-3.0, 3.0), (0.05, 5.0), (-30.0, 30.0))
#: an expression shown in a reason is cut to this many characters
SHOWN = 60


@dataclass(frozen=True)
class Tolerance:
    """``|a − b| ≤ absolute + relative·scale`` (``scale`` is ``|key|`` for numbers)."""

    relative: float = 1e-6
    absolute: float = 1e-9

    def close(self, a: float, b: float, scale: float) -> bool:
        """True when ``a`` and ``b`` agree at this tolerance."""
        return abs(a - b) <= self.absolute + self.relative * scale


EXACT = Tolerance()
DECIMAL = Tolerance(relative=1e-6, absolute=5e-5)
#: words of a question that asks for decimal places, in each language's key ("to four decimal
#: places", "소수점 아래 넷째 자리까지"): such an answer is graded at :data:`DECIMAL`
DECIMAL_WORDS = ("decimal places", "소수점 아래")


@dataclass(frozen=True)
class Parsed:
    """A student's expression: ``expr`` as the parser simplifies it, ``raw`` as written
    (``exp(log(x))`` unevaluated; ``None`` when only the simplified form could be read) and
    ``text``, what was typed."""

    expr: Any
    raw: Any
    text: str


@dataclass(frozen=True)
class Verdict:
    """Whether an answer is right, why not (``detail``: where it differs, or ``""``) and how
    that was decided: ``"exact"``, ``"points"`` or ``"number"``; ``undefined``: the answer has
    no real value at a point where the key has one."""

    right: bool
    detail: str
    method: str
    undefined: bool = False


def short(text: str) -> str:
    """``text`` on one line, cut to :data:`SHOWN` characters."""
    line = " ".join(text.split())
    return line if len(line) <= SHOWN else line[: SHOWN - 1] + "…"


def read_expression(text: str, variables: Sequence[str], *, raw: bool = True) -> Parsed:
    """Parse a student's expression in ``variables``; another name is an :class:`InputError`
    that names it (``uses z, which is not among x, y``). ``raw``: also read it as written,
    unsimplified, for the points to be evaluated on."""
    import sympy as sp

    from symgd.expr.parser import parse

    problem = parse(text, list(variables), allow_parameters=True)
    if problem.parameters:
        names = ", ".join(p.name for p in problem.parameters)
        raise InputError(
            _("uses {names}, which is not among {variables}").format(
                names=names, variables=", ".join(variables)
            )
        )
    written = None
    refused = (InputError, ValueError, TypeError, ArithmeticError, RecursionError)
    if raw:
        with contextlib.suppress(*refused), sp.evaluate(False):
            written = parse(text, list(variables), allow_parameters=True).expr
    return Parsed(expr=problem.expr, raw=written, text=text)


def read_number(text: str, variables: Sequence[str]) -> Any:
    """A number a student wrote (``-11/5``, ``0.25``, ``sqrt(2)/2``); an expression in a
    variable is an :class:`InputError`."""
    parsed = read_expression(text, variables, raw=False)
    if parsed.expr.free_symbols:
        raise InputError(_("{text} is not a number").format(text=repr(short(text))))
    return parsed.expr


def number_value(value: Any) -> float | None:
    """``value`` (a SymPy number) as a float from 30 digits, or ``None`` when it is not a
    finite real number."""
    try:
        number = complex(value.evalf(30))
    except (TypeError, ValueError, ArithmeticError):
        return None
    if abs(number.imag) > 1e-12 * max(1.0, abs(number.real)) or not math.isfinite(number.real):
        return None
    return number.real


def compare_numbers(answer: Any, key: Any, tolerance: Tolerance = EXACT) -> bool:
    """True when the numbers ``answer`` and ``key`` agree within ``tolerance``.

    >>> import sympy as sp
    >>> compare_numbers(sp.sqrt(2) / 2, sp.Float("0.7071067812"))
    True
    >>> compare_numbers(sp.Rational(333, 1000), sp.Rational(1, 3))
    False
    """
    a, k = number_value(answer), number_value(key)
    return a is not None and k is not None and tolerance.close(a, k, abs(k))


def same_point(point: Sequence[Any], key: Sequence[Any], tolerance: Tolerance) -> bool:
    """True when every coordinate of ``point`` agrees with ``key``'s."""
    return all(compare_numbers(a, k, tolerance) for a, k in zip(point, key, strict=True))


def critical_kind(function: Any, variables: Sequence[Any], point: Sequence[Any]) -> str | None:
    """The kind of the critical point of ``function`` at ``point``, or ``None`` when
    ``point`` is not one: ∇f must vanish there, or one Newton step ``H⁻¹∇f`` must be shorter
    than :data:`DECIMAL`'s absolute tolerance (a point given to four decimal places). The
    kind comes from the Hessian's eigenvalues, as the key's own kinds do."""
    import numpy as np
    import sympy as sp

    from symgd.calculus.points import kind_of

    values = dict(zip(variables, point, strict=True))
    gradient = [sp.diff(function, v) for v in variables]
    hessian = [[sp.diff(g, v) for v in variables] for g in gradient]
    g = [number_value(e.xreplace(values)) for e in gradient]
    h = [[number_value(e.xreplace(values)) for e in row] for row in hessian]
    if any(v is None for v in g) or any(v is None for row in h for v in row):
        return None
    slope, curvature = np.array(g, dtype=float), np.array(h, dtype=float)
    size = max(1.0, max(abs(float(number_value(c) or 0.0)) for c in point))
    close = bool(np.linalg.norm(slope) <= EXACT.absolute)
    if not close:
        try:
            step = np.linalg.solve(curvature, slope)
        except np.linalg.LinAlgError:
            return None
        close = bool(np.linalg.norm(step) <= DECIMAL.absolute * size)
    if not close:
        return None
    eigenvalues = np.linalg.eigvalsh((curvature + curvature.T) / 2)
    return kind_of([float(v) for v in eigenvalues], singular=False)


# -- expressions -------------------------------------------------------------------------------


def compare_expressions(
    answer: Parsed,
    key: sp.Expr,
    variables: Sequence[sp.Symbol],
    checker: SymbolicChecker,
    *,
    seed: str = "",
) -> Verdict:
    """Compare a student's expression with the key's (see the module docstring)."""
    points = _points_verdict(answer, key, variables, seed)
    if points is not None and not points.right:
        return points
    difference = answer.expr - key
    exact = True if difference == 0 else checker.is_zero(difference)
    if exact:
        return Verdict(True, "", "exact")
    if points is not None:
        return points
    if exact is False:
        return Verdict(False, _("it differs from the key by a constant"), "exact")
    return Verdict(
        False,
        _(
            "it could not be checked: no random point where the key is defined, and the exact "
            "check did not finish"
        ),
        "none",
    )


def _points_verdict(
    answer: Parsed, key: sp.Expr, variables: Sequence[sp.Symbol], seed: str
) -> Verdict | None:
    """Agreement at random points (``None`` when the key is defined at too few of them)."""
    from symgd.expr.lambdify import lambdify

    written = answer.raw if answer.raw is not None else answer.expr
    try:
        student = lambdify(list(variables), written, cse=False)
        expected = lambdify(list(variables), key, cse=False)
    except Exception:  # code generation refused an odd tree: no points then
        return None
    used = 0
    for point in _draw_points(len(variables), seed):
        k = _value(expected, point)
        if not isinstance(k, float):
            continue
        a = _value(student, point)
        if a == "overflow":
            continue
        where = _where(variables, point)
        if a == "undefined":
            return Verdict(
                False,
                _("it has no real value at {where}, where the key has one").format(where=where),
                "points",
                undefined=True,
            )
        assert isinstance(a, float)
        if not EXACT.close(a, k, max(abs(a), abs(k))) and not _agree_exactly(
            answer, key, variables, point
        ):
            detail = _("at {where} it gives {answer}, the key {key}").format(
                where=where, answer=f"{a:.6g}", key=f"{k:.6g}"
            )
            return Verdict(False, detail, "points")
        used += 1
        if used >= POINTS:
            break
    if used < 3:
        return None
    return Verdict(True, _("agrees with the key at {n} random points").format(n=used), "points")


def _draw_points(dimension: int, seed: str) -> Iterator[tuple[float, ...]]:
    rng = random.Random(f"symgd-grade:{seed}")
    for draw in range(DRAWS):
        low, high = BOXES[min(draw * len(BOXES) // DRAWS, len(BOXES) - 1)]
        yield tuple(round(rng.uniform(low, high), 4) or 0.5 for _ in range(dimension))


def _value(function: Any, point: tuple[float, ...]) -> float | str:
    """The value at ``point``: a float, ``"undefined"`` (no real value: a logarithm or root
    of a negative number, a division by zero) or ``"overflow"`` (too large for a float)."""
    try:
        value = function(*point)
    except (OverflowError, RecursionError):
        return "overflow"
    except (ValueError, ZeroDivisionError, TypeError, ArithmeticError):
        return "undefined"
    if isinstance(value, complex):
        if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
            return "undefined"
        value = value.real
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return "undefined"
    if math.isnan(number):
        return "undefined"
    return number if math.isfinite(number) else "overflow"


def _agree_exactly(
    answer: Parsed, key: sp.Expr, variables: Sequence[sp.Symbol], point: tuple[float, ...]
) -> bool:
    """A disagreement in floats checked again at 30 digits (cancellation in an expanded
    polynomial can cost floats all their digits)."""
    import sympy as sp

    values = {v: sp.Rational(str(c)) for v, c in zip(variables, point, strict=True)}
    try:
        a = number_value(answer.expr.xreplace(values))
        k = number_value(key.xreplace(values))
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return False
    return a is not None and k is not None and EXACT.close(a, k, max(abs(a), abs(k)))


def _where(variables: Sequence[sp.Symbol], point: tuple[float, ...]) -> str:
    names = ", ".join(v.name for v in variables)
    numbers = ", ".join(f"{c:g}" for c in point)
    return f"{names} = {numbers}" if len(point) == 1 else f"({names}) = ({numbers})"


# -- what grading one file shares ------------------------------------------------------------


class Context:
    """What grading one file shares: the exact checker, the deadline, parsed key expressions
    and comparisons already made (a class often writes the same answer)."""

    def __init__(self, checker: Any, deadline: float) -> None:
        self.checker = checker
        self.deadline = deadline
        #: answers left ungraded when the deadline passed
        self.late = 0
        self.keys: dict[tuple[str, tuple[str, ...]], Any] = {}
        self.verdicts: dict[tuple[str, str, tuple[str, ...]], Any] = {}

    def key_expr(self, text: Any, names: Sequence[str]) -> Any:
        """A key's expression, parsed once; :class:`KeyProblem` when it cannot be read. A
        plain fraction (``-14039/2500``, of any length) is read as one."""
        import sympy as sp

        from symgd.expr.parser import parse

        found = self.keys.get((str(text), tuple(names)))
        if found is None:
            if not isinstance(text, str | int | float) or isinstance(text, bool):
                raise KeyProblem(
                    _("the key's answer has {value} where an expression belongs").format(
                        value=repr(text)
                    )
                )
            try:
                if re.fullmatch(r"-?\d{1,5000}(/\d{1,5000})?", str(text)):
                    found = sp.Rational(str(text))
                else:
                    found = parse(str(text), list(names), allow_parameters=True).expr
            except InputError as exc:
                raise KeyProblem(
                    _("the key's expression {value} cannot be read: {why}").format(
                        value=repr(text), why=exc
                    )
                ) from None
            self.keys[(str(text), tuple(names))] = found
        return found

    def compare(self, text: str, key_text: str, names: Sequence[str]) -> Any:
        """The verdict on a student's expression against the key's (remembered)."""
        memo = (text, str(key_text), tuple(names))
        if memo not in self.verdicts:
            key = self.key_expr(key_text, names)
            parsed = read_expression(text, names)
            symbols = symbols_named(key, parsed.expr, names)
            self.verdicts[memo] = compare_expressions(
                parsed, key, symbols, self.checker, seed=str(key_text)
            )
        return self.verdicts[memo]


class KeyProblem(Exception):
    """The key lacks what grading this exercise needs."""


def symbols_named(key: Any, answer: Any, names: Sequence[str]) -> list[Any]:
    """The real symbols named ``names`` (those of the expressions where they occur)."""
    import sympy as sp

    present = {s.name: s for s in (key.free_symbols | answer.free_symbols)}
    return [present.get(n, sp.Symbol(n, real=True)) for n in names]


def tolerance_for(exercise: Mapping[str, Any], decimal: bool = False) -> Any:
    """The key's own tolerance, else decimals' when the question asks for decimal places (or
    ``decimal``), else the exact one."""
    own = exercise["answer"].get("tolerance")
    if isinstance(own, dict):
        return Tolerance(
            relative=float(own.get("relative", EXACT.relative)),
            absolute=float(own.get("absolute", EXACT.absolute)),
        )
    question = str(exercise.get("question", ""))
    if decimal or any(words in question for words in DECIMAL_WORDS):
        return DECIMAL
    return EXACT


def read_numbers(text: str, names: Sequence[str], what: str) -> list[Any]:
    """A point or vector of numbers in ``len(names)`` coordinates."""
    from symgd.handout.answers import vector_parts

    parts = vector_parts(text)
    if len(parts) != len(names):
        raise InputError(
            _("{what} has {n} coordinate(s), expected {expected}").format(
                what=what, n=len(parts), expected=len(names)
            )
        )
    return [read_number(p, names) for p in parts]


def decimal_text(text: Any) -> bool:
    return bool(re.search(r"\d\.\d|\de", str(text)))


# -- the exact check, in a helper process --------------------------------------------------------


class SymbolicChecker:
    """Decides ``simplify(difference) == 0`` in one helper process that serves many checks,
    each within ``seconds``; a check that runs out of time kills the helper (a new one starts
    for the next check). Results are remembered per difference.

    ``is_zero`` gives ``True`` (zero), ``False`` (a nonzero constant) or ``None`` (SymPy
    could not tell in time). With ``seconds <= 0``, or where no helper can be forked
    (Windows), it always gives ``None`` and the points decide.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.process: Any = None
        self.jobs: Any = None
        self.results: Any = None
        self.memo: dict[Any, bool | None] = {}
        #: checks that ran out of time
        self.timeouts = 0

    def __enter__(self) -> SymbolicChecker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def is_zero(self, difference: Any) -> bool | None:
        """Whether ``difference`` simplifies to 0 (see the class docstring)."""
        if difference in self.memo:
            return self.memo[difference]
        if self.seconds <= 0 or sys.platform == "win32":
            return None
        answer: bool | None = None
        try:
            self._start()
            self.jobs.send(difference)
            if self.results.poll(self.seconds):
                answer = self.results.recv()
            else:
                self.timeouts += 1
                self.close()
        except (OSError, EOFError, ValueError):  # the helper died (memory): no exact answer
            self.close()
        self.memo[difference] = answer
        return answer

    def _start(self) -> None:
        if self.process is not None and self.process.is_alive():
            return
        self.close()
        import multiprocessing as mp

        context = mp.get_context("fork")
        job_reader, self.jobs = context.Pipe(duplex=False)
        self.results, result_writer = context.Pipe(duplex=False)
        self.process = start_helper(context, _serve, (job_reader, result_writer), daemon=True)
        job_reader.close()
        result_writer.close()

    def close(self) -> None:
        """Stop the helper process (if one runs)."""
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
            self.process = None
        for end in (self.jobs, self.results):
            if end is not None:
                with contextlib.suppress(OSError):
                    end.close()
        self.jobs = self.results = None


def _serve(jobs: Any, results: Any) -> None:
    """The helper: read a difference, answer whether it simplifies to zero, repeat."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    while True:
        wait_readable(jobs)
        try:
            difference = jobs.recv()
        except (EOFError, OSError):
            return
        try:
            answer = simplifies_to_zero(difference)
        except Exception:  # SymPy failing on odd input: no exact answer
            answer = None
        try:
            results.send(answer)
        except OSError:
            return


def simplifies_to_zero(difference: Any) -> bool | None:
    """``True`` when ``difference`` expands or simplifies to 0, ``False`` when it simplifies
    to a nonzero number, else ``None`` (unbounded: run it under a time limit)."""
    import sympy as sp

    if sp.expand(difference) == 0:
        return True
    simpler = sp.simplify(difference)
    if simpler == 0:
        return True
    if simpler.is_number and simpler.is_zero is False:
        return False
    return None
