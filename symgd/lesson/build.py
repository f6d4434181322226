"""Derivation + runs → :class:`Lesson`: the context the templates render, computed once.

:func:`explain` joins the stages: parse, derive, choose what the user left out (start point,
learning rate, number of steps, each with its reason), run the optimizers, work the first two
steps by hand in exact arithmetic, draw the figures and write the plain-words account. All LaTeX
is produced here; the templates only place it. Numbers that are exact stay exact (SymPy
rationals and surds) until they grow too long to help a reader, and then become decimals,
saying so.
"""

from __future__ import annotations

import functools
import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from symgd.base.errors import InputError, short_repr
from symgd.render.worker import FigureWorker, Pending, fill_figures, take_prestarted
from symgd.base.files import check_output, output_folder, write_atomically

if TYPE_CHECKING:
    import numpy as np
    import sympy as sp

    from symgd.numeric.codegen import Compiled
    from symgd.calculus.derivation import CriticalPoint, Derivation
    from symgd.numeric.runner import Trajectory
    from symgd.expr.parser import Problem

#: optimizers a lesson runs when the user names none
DEFAULT_METHODS = ("gd", "momentum", "adam")
#: stop a run when |∇f| falls below this
TOLERANCE = 1e-8
#: most steps a default run may take
MAX_DEFAULT_STEPS = 10_000
#: least steps a default run takes (so that a fast run still shows a path)
MIN_DEFAULT_STEPS = 20
#: an exact number whose LaTeX is longer than this is shown as a decimal instead
MAX_EXACT_LATEX = 160
#: runs up to this many steps use numpy directly instead of compiling a fused step
SHORT_RUN = 500
#: a fraction with more digits than this (top or bottom) is shown as a decimal
MAX_FRACTION_DIGITS = 10
#: points kept per path in the figures
MAX_PLOT_POINTS = 400
#: a vector or matrix with more entries than this (per side) is shown in part: the first
#: SHOWN_HEAD, dots, the last SHOWN_TAIL (a 100 × 100 Hessian in full helps no reader)
MAX_SHOWN_ENTRIES = 8
SHOWN_HEAD = 4
SHOWN_TAIL = 2
#: with more variables than MAX_SHOWN_ENTRIES, the partial derivatives worked rule by rule
WORKED_PARTIALS = 2
#: learning rates of the learning-rate panel, as multiples of 1/λ_max
REGIME_FACTORS = (0.8, 1.2, 2.4)


# -- the result -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Lesson:
    """A rendered-on-demand lesson: the template context plus the objects it came from."""

    context: Mapping[str, Any] = field(repr=False)
    derivation: Derivation = field(repr=False)
    trajectories: tuple[Trajectory, ...] = field(repr=False)
    templates: Path | None = None
    page: str | None = field(default=None, repr=False)

    def html(self) -> str:
        """The lesson as one self-contained HTML page."""
        if self.page is not None:
            return self.page
        from symgd.render.templates import make_env, render_html

        return render_html(self.context, make_env(self.templates))

    def save(self, directory: str | Path, *, follow_symlinks: bool = False) -> Path:
        """Write ``report.html`` into ``directory`` (created if needed); return its path.

        The file is written to a temporary name beside its final one and then renamed, so an
        interrupted run never leaves half a report behind. :class:`InputError` when
        ``directory`` is a file, or it or the report is a symbolic link and
        ``follow_symlinks`` is false (see :mod:`symgd.base.files`).
        """
        folder = output_folder(directory, follow_symlinks=follow_symlinks)
        return write_atomically(folder / "report.html", self.html().encode("utf-8"),
                                follow_symlinks=follow_symlinks)

    def pdf(self, *, paper: str = "A4", workers: int = 2) -> bytes:
        """The same page printed to PDF (WeasyPrint), with page numbers and a running header.

        WeasyPrint is single-threaded: with ``workers`` > 1 the lesson is typeset in that many
        parts side by side (each starting on a new page at a section) and joined.
        """
        from symgd.render import pdf
        from symgd.render.templates import make_env

        page = self.html()
        parts = print_parts(page, workers) if workers > 1 and pdf.parts_supported() else [page]
        inline_file: Callable[[str], str] = make_env(self.templates).globals["inline_file"]  # type: ignore[assignment]
        page_css = str(inline_file("print.css"))
        worker = pdf.take_print_worker()  # started early by `symgd explain --pdf`
        if worker is not None:
            return worker.typeset(parts, paper=paper, page_css=page_css, workers=workers)
        return pdf.typeset(parts, paper=paper, page_css=page_css, workers=workers)

    def save_pdf(self, directory: str | Path, *, paper: str = "A4",
                 follow_symlinks: bool = False) -> Path:
        """Write ``report.pdf`` into ``directory`` as :meth:`save` writes; return its path."""
        folder = output_folder(directory, follow_symlinks=follow_symlinks)
        check_output(folder / "report.pdf", follow_symlinks=follow_symlinks)  # before typesetting
        return write_atomically(folder / "report.pdf", self.pdf(paper=paper),
                                follow_symlinks=follow_symlinks)

    def _repr_html_(self) -> str:
        page = html.escape(self.html(), quote=True)
        return (f'<iframe srcdoc="{page}" title="symgd lesson" '
                'style="width:100%;height:85vh;border:1px solid #ddd;border-radius:6px">'
                "</iframe>")

    def __repr__(self) -> str:
        return f"Lesson({self.context['function']['source']!r})"


@dataclass(frozen=True)
class Settings:
    """What the run uses, and whether each value came from the user."""

    start: tuple[sp.Expr, ...]
    lr: sp.Expr
    steps: int
    methods: tuple[str, ...]
    reasons: dict[str, str]
    defaults: frozenset[str]


_SECTION_START = '<section class="lesson-section"'
_MASTHEAD = re.compile(r'<header class="masthead">.*?</header>', re.S)
_FOOTER = re.compile(r"<footer>.*?</footer>", re.S)


def print_parts(page: str, count: int) -> list[str]:
    """``page`` cut at section boundaries into up to ``count`` complete pages of about equal
    typesetting work (the size of their markup, mostly formula and figure outlines).

    Every part keeps the head (styles) and the running-header marks; only the first keeps the
    masthead and only the last the footer. A page without lesson sections comes back whole.
    """
    first = page.find(_SECTION_START)
    last = page.rfind("</section>")
    if first < 0 or last < first or count < 2:
        return [page]
    end = last + len("</section>")
    starts = [m.start() for m in re.finditer(re.escape(_SECTION_START), page[:end])]
    sections = [page[a:b] for a, b in zip(starts, [*starts[1:], end], strict=True)]
    head, tail = page[:first], page[end:]
    total = len(page)
    runs: list[list[str]] = [[] for _ in range(min(count, len(sections)))]
    done = len(head)
    for section in sections:
        index = min(len(runs) - 1, int(len(runs) * (done + len(section) / 2) / total))
        runs[index].append(section)
        done += len(section)
    bare_head = _MASTHEAD.sub("", head, count=1)
    bare_tail = _FOOTER.sub("", tail, count=1)
    runs = [run for run in runs if run]
    return [(head if i == 0 else bare_head) + "".join(run)
            + (tail if i == len(runs) - 1 else bare_tail) for i, run in enumerate(runs)]


# -- entry point ------------------------------------------------------------------------------


def explain(
    f: str | sp.Expr | Problem | Derivation,
    *,
    start: Sequence[float] | Mapping[str, float] | float | None = None,
    lr: float | None = None,
    steps: int | None = None,
    methods: Sequence[str] | str | None = None,
    templates: str | Path | None = None,
) -> Lesson:
    """Work a full gradient-descent lesson on ``f``.

    Anything left as ``None`` is chosen for the function (and the report says why): a start
    point that is not critical, a learning rate from the Hessian, enough steps to show
    convergence or divergence, and the optimizers gradient descent, momentum and Adam.
    """
    from symgd.render.templates import formulas_in, make_env, render_html, templates_path

    template_dir = None if templates is None else templates_path(templates)
    env = make_env(template_dir)
    worker = take_prestarted() or FigureWorker()  # before numpy starts its threads
    try:
        from symgd.calculus.derivation import Derivation, derive

        derivation = f if isinstance(f, Derivation) else derive(f)
        if derivation.problem.parameters:
            names = ", ".join(p.name for p in derivation.problem.parameters)
            raise InputError(f"the function has parameters without values ({names})")
        builder = _Builder(derivation)
        settings = builder.settings(start, lr, steps, methods)
        context, trajectories = builder.build(settings)
        # the worker starts on the figures at once; the formulas follow as soon as they are
        # known, and a fork of the worker typesets them while it draws
        collect = worker.draw(builder.figures)
        needed = formulas_in(context, env)
        from symgd.render.mathsvg import remember, typeset

        if not worker.typeset(needed):
            for latex, display in needed:
                typeset(latex, display)
        figures, formulas = collect()
        remember(formulas)
        page = render_html(context, env)
    finally:
        worker.close()
    fill_figures(context, figures)
    for name, svg in figures.items():
        page = page.replace(str(Pending(name)), svg)
    return Lesson(context, derivation, trajectories, template_dir, page)


# -- exact and numeric helpers ----------------------------------------------------------------


def _sp() -> Any:
    import sympy

    return sympy


def exact_number(value: float | int | str) -> sp.Rational:
    """The rational a person means by ``value``: 0.1 → 1/10 (shortest decimal, not binary)."""
    sp = _sp()
    if isinstance(value, int):
        return sp.Integer(value)
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"not a finite number: {value!r}")
    return sp.Rational(repr(number)) if "e" not in repr(number) else sp.Rational(
        Fraction(repr(number)).numerator, Fraction(repr(number)).denominator)


def _positive_float(value: float) -> bool:
    """True when ``value`` is a positive number that a float can hold."""
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and number > 0


def _runaway() -> float:
    from symgd.numeric.runner import RUNAWAY

    return RUNAWAY


def _start_number(value: Any, name: str) -> float:
    """One coordinate of a start point given through the API, checked: a finite number, at
    most 1e12 in size (descent counts a larger coordinate as running away)."""
    if isinstance(value, bool) or (not isinstance(value, int | float | str)
                                   and not hasattr(value, "__float__")):
        raise InputError(f"the start value for {name} must be a number, got {short_repr(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise InputError(f"the start value for {name} is too large for floating point "
                         "(beyond about 1.8e308)") from None
    except (TypeError, ValueError):
        raise InputError(f"the start value for {name} must be a number, got "
                         f"{short_repr(value)}") from None
    if not math.isfinite(number):
        raise InputError(f"the start value for {name} must be finite, got {short_repr(value)}")
    if abs(number) > _runaway():
        raise InputError(f"the start value for {name} is {number:.3g}, beyond 1e12 in size: "
                         "descent counts such a coordinate as running away, so every run "
                         "would stop at once; choose a start nearer the origin")
    return number


def tex(expr: Any) -> str:
    """LaTeX for a SymPy expression (``σ`` and friends print via their own ``_latex``)."""
    return str(_printer_class()().doprint(expr))


@functools.cache
def _printer_class() -> Any:
    from sympy.printing.latex import LatexPrinter

    class Printer(LatexPrinter):
        """SymPy's LaTeX printer, also for powers of functions whose ``_latex`` takes no
        exponent (``σ(z)²`` would otherwise fail)."""

        def _print(self, expr: Any, **kwargs: Any) -> str:
            exponent = kwargs.get("exp")
            own = getattr(expr, "_latex", None)
            if exponent is not None and callable(own) and not _takes_exponent(own):
                return rf"{own(self)}^{{{exponent}}}"
            return str(super()._print(expr, **kwargs))

    return Printer


def _takes_exponent(method: Any) -> bool:
    import inspect

    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return True
    return "exp" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def num_tex(value: float, digits: int = 4) -> str:
    """A float in LaTeX with ``digits`` significant digits (scientific when very small/large)."""
    if math.isnan(value):
        return r"\text{undefined}"
    if math.isinf(value):
        return r"\text{too large}" if value > 0 else r"-\text{too large}"
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return _group(text)


def big_num_tex(value: Any, digits: int = 4) -> str:
    """:func:`num_tex` for a SymPy number of any size (beyond float's range too)."""
    number = float(value)
    if math.isfinite(number) and (number == 0 or abs(number) > 1e-300):
        return num_tex(number, digits)
    mantissa, exponent = _mantissa_exponent(value, digits)
    return rf"{mantissa} \times 10^{{{exponent}}}"


def value_tex(expr: Any, digits: int = 4) -> tuple[str, bool]:
    """``(latex, exact)``: the exact form when it is short, else ``≈`` and a decimal."""
    from symgd.calculus.exact import digits_to_bits, size_bits

    sp = _sp()
    expr = sp.sympify(expr)
    if expr.is_Float:
        return big_num_tex(expr, digits), False
    # the size in bits first: a huge integer is never turned into a string
    if expr.is_Rational and (size_bits(expr) > digits_to_bits(MAX_FRACTION_DIGITS) or max(
            len(str(abs(expr.p))), len(str(expr.q))) > MAX_FRACTION_DIGITS):
        return rf"\approx {big_num_tex(expr, max(digits, 6))}", False
    latex = tex(expr)
    if len(latex) <= MAX_EXACT_LATEX:
        if expr.is_Rational or expr.is_Integer:
            return latex, True
        try:
            approx = float(expr.evalf(20))
        except (TypeError, ValueError):
            return latex, True
        return rf"{latex} \approx {num_tex(approx, digits)}", True
    try:
        return rf"\approx {num_tex(float(expr.evalf(30)), digits)}", False
    except (TypeError, ValueError):
        return latex, True


def short_exact(expr: Any) -> str | None:
    """LaTeX of ``expr`` when it is short enough to read, else ``None``."""
    latex = tex(expr)
    return latex if len(latex) <= MAX_EXACT_LATEX else None


def elide(entries: Sequence[Any], dots: Any) -> list[Any]:
    """``entries``, or when there are more than :data:`MAX_SHOWN_ENTRIES` of them the first
    :data:`SHOWN_HEAD`, then ``dots``, then the last :data:`SHOWN_TAIL`."""
    if len(entries) <= MAX_SHOWN_ENTRIES:
        return list(entries)
    return [*entries[:SHOWN_HEAD], dots, *entries[-SHOWN_TAIL:]]


def shown_indices(count: int) -> list[int | None]:
    """The indices :func:`elide` keeps out of ``count`` (``None`` where the dots go)."""
    return elide(list(range(count)), None)


def column(entries: Sequence[str]) -> str:
    """A column vector in LaTeX (in part, with ⋮, when it is long)."""
    return r"\begin{pmatrix}" + r" \\ ".join(
        _group(e) for e in elide(entries, r"\vdots")) + r"\end{pmatrix}"


def _group(latex: str) -> str:
    """Brace an entry that starts with a minus, so it reads as a sign, not a subtraction."""
    return f"{{{latex}}}" if latex.lstrip().startswith("-") else latex


def matrix_tex(rows: Sequence[Sequence[str]]) -> str:
    """A matrix in LaTeX (in part, with ⋯, ⋮ and ⋱, when it is large)."""
    if len(rows) > MAX_SHOWN_ENTRIES:
        width = len(elide(rows[0], ""))
        gap = [r"\vdots"] * width
        gap[SHOWN_HEAD] = r"\ddots"
        rows = elide([elide(r, r"\cdots") for r in rows], gap)
    return r"\begin{pmatrix}" + r" \\ ".join(" & ".join(r) for r in rows) + r"\end{pmatrix}"


def point_tex(values: Sequence[str]) -> str:
    """``(a, b)`` — or just ``a`` for one variable."""
    if len(values) == 1:
        return values[0]
    return r"\left(" + ", ".join(_group(v) for v in elide(values, r"\dots")) + r"\right)"


def floats_tex(values: Sequence[float], digits: int = 4) -> str:
    """A point of floats as ``(a, b)``."""
    return point_tex([num_tex(float(v), digits) for v in values])


def _nice_below(value: float) -> float:
    """The largest of 1, 2, 5 × 10^k not above ``value``."""
    if not value > 0 or not math.isfinite(value):
        return 0.1
    exponent = math.floor(math.log10(value))
    for mantissa in (5, 2, 1):
        candidate = mantissa * 10.0 ** exponent
        if candidate <= value * (1 + 1e-12):
            return float(f"{candidate:.12g}")
    return float(f"{10.0 ** (exponent - 1) * 5:.12g}")


def _nice_steps(value: float) -> int:
    """Round a step count up to 1, 2, 2.5, 5 × 10^k."""
    if value <= MIN_DEFAULT_STEPS:
        return MIN_DEFAULT_STEPS
    exponent = math.floor(math.log10(value))
    for mantissa in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        candidate = round(mantissa * 10 ** exponent)
        if candidate >= value:
            return candidate
    return int(10 ** (exponent + 1))


def _round_sig(value: float, digits: int = 2) -> float:
    return float(f"{value:.{digits}g}")


def _thin(count: int, limit: int = MAX_PLOT_POINTS) -> Any:
    """Indices that keep the first steps densely and the rest log-spaced (for long runs)."""
    import numpy as np

    if count <= limit:
        return np.arange(count)
    head = np.arange(min(limit // 2, count))
    tail = np.unique(np.geomspace(len(head), count - 1, limit - len(head)).astype(int))
    return np.unique(np.concatenate([head, tail, [count - 1]]))


KIND_TONES = {"minimum": "good", "maximum": "bad", "saddle": "warn", "degenerate": ""}
OUTCOME = {"converged": ("converged", "good"), "max_steps": ("still moving", "warn"),
           "diverged": ("diverged", "bad"), "singular": ("stopped: singular", "warn"),
           "domain": ("left the domain", "bad")}


# -- the builder ------------------------------------------------------------------------------


class _Builder:
    """Computes every section of the lesson for one derivation."""

    def __init__(self, derivation: Derivation) -> None:
        from symgd.numeric.codegen import compiled_for

        self.d = derivation
        self.problem = derivation.problem
        self.xs = derivation.variables
        self.n = len(self.xs)
        self.names = tuple(v.name for v in self.xs)
        self.compiled: Compiled = compiled_for(self.problem.expr, self.problem.variables)
        self.figures: dict[str, Any] = {}
        self.eigen: dict[str, Any] = {}
        self._hessian: Any = None
        self._args = ", ".join(elide([tex(v) for v in self.xs], r"\dots"))

    # -- numeric helpers ---------------------------------------------------------------

    def f_at(self, point: Sequence[float]) -> float:
        import numpy as np

        with np.errstate(all="ignore"):
            return float(self.compiled.value_at(np.asarray([point], dtype=float))[0])

    def grad_at(self, point: Sequence[float]) -> np.ndarray:
        import numpy as np

        with np.errstate(all="ignore"):
            return self.compiled.gradient_at(np.asarray([point], dtype=float))[0]

    def hess_at(self, point: Sequence[float]) -> np.ndarray:
        """The Hessian of the derivation (kinks of relu/abs left out) at ``point``."""
        import numpy as np

        if self._hessian is None and self.d.hessian_is_constant:
            # one matrix for every point: no code to generate (10⁴ entries for 100 variables)
            constant = np.array(self.d.hessian.evalf(), dtype=float).reshape(self.n, self.n)
            self._hessian = lambda *point: constant
        if self._hessian is None:
            from symgd.numeric.codegen import lambdify_numpy

            rows = tuple(tuple(self.d.hessian[i, j] for j in range(self.n))
                         for i in range(self.n))
            self._hessian = lambdify_numpy(self.xs, rows)
        if self.d.hessian_is_constant:
            return np.array(self._hessian(), dtype=float)
        with np.errstate(all="ignore"):
            values = self._hessian(*[float(v) for v in point])
            return np.array([[float(np.asarray(v, dtype=float)) for v in row] for row in values],
                            dtype=float).reshape(self.n, self.n)

    def minima(self) -> list[CriticalPoint]:
        return [p for p in self.isolated_points() if p.kind == "minimum"]

    def isolated_points(self) -> list[CriticalPoint]:
        points = []
        for p in self.d.critical_points:
            if p.free:
                continue
            try:
                coords = p.as_floats()
            except (TypeError, ValueError):
                continue
            if all(math.isfinite(c) for c in coords):
                points.append(p)
        return points

    def exact_subs(self, expr: Any, point: Sequence[Any]) -> Any:
        """``expr`` at ``point``, exactly while the numbers stay below
        :data:`symgd.calculus.exact.MAX_EXACT_DIGITS` digits, else in decimals (``self.rounded`` is
        set then)."""
        from symgd.calculus.exact import TooLarge, decimal_at, exact_at
        from symgd.expr.activations import to_elementary

        sp = _sp()
        mapping = dict(zip(self.xs, point, strict=True))
        try:
            value = exact_at(expr, mapping)
            if value.has(sp.DiracDelta, sp.Heaviside):
                value = exact_at(to_elementary(expr), mapping)
        except TooLarge:
            self.rounded = True
            if expr.has(sp.DiracDelta, sp.Heaviside):
                expr = to_elementary(expr)
            value = decimal_at(expr, mapping)
        return value

    # -- settings ----------------------------------------------------------------------

    def settings(
        self,
        start: Sequence[float] | Mapping[str, float] | float | None,
        lr: float | None,
        steps: int | None,
        methods: Sequence[str] | str | None,
    ) -> Settings:
        from symgd.numeric.optimizers import make_optimizer

        reasons: dict[str, str] = {}
        defaults: set[str] = set()
        if start is None:
            point, reasons["start"] = self.default_start()
            defaults.add("start")
        else:
            point = self.user_start(start)
            reasons["start"] = "Chosen by you."
            if self.n and self.is_critical(point):
                reasons["start"] += (" It is a critical point: the gradient is zero there, so "
                                     "gradient descent cannot move.")
        if lr is None:
            rate, reasons["lr"] = self.default_lr(point)
            defaults.add("lr")
        else:
            if isinstance(lr, bool) or not isinstance(lr, int | float) \
                    or not _positive_float(lr):
                raise InputError(f"the learning rate must be a positive finite number, got "
                                 f"{short_repr(lr)}")
            rate = exact_number(lr)
            reasons["lr"] = "Chosen by you." + self.lr_remark(float(rate))
        chosen: tuple[str, ...]
        if methods is None:
            chosen = DEFAULT_METHODS
            defaults.add("methods")
            reasons["methods"] = ("Plain gradient descent, the subject of this lesson, and two "
                                  "popular refinements of it for comparison.")
        else:
            if not isinstance(methods, str) and not (
                    isinstance(methods, Sequence | set | frozenset)
                    and all(isinstance(m, str) for m in methods)):
                raise InputError("methods must be a comma-separated string or a list of names "
                                 f"such as ['gd', 'adam'], got {short_repr(methods)}")
            names = [m.strip() for m in methods.split(",")] if isinstance(methods, str) \
                else [str(m).strip() for m in methods]
            names = [m for m in names if m]
            if not names:
                raise InputError("no optimizer named; use for example --methods gd,momentum,adam")
            canonical = []
            for m in names:
                name = make_optimizer(m, 0.1).name
                if name not in canonical:
                    canonical.append(name)
            chosen = (*canonical,)
            reasons["methods"] = "Chosen by you."
        if steps is None:
            count, reasons["steps"] = self.default_steps(point, float(rate))
            defaults.add("steps")
        else:
            if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 1_000_000:
                raise InputError(f"steps must be a whole number from 1 to 1000000, got {steps!r}")
            count = int(steps)
            reasons["steps"] = "Chosen by you."
        return Settings(point, rate, count, chosen, reasons, frozenset(defaults))

    def user_start(self, start: Sequence[float] | Mapping[str, float] | float) -> tuple[Any, ...]:
        if isinstance(start, Mapping):
            unknown = [k for k in start if k not in self.names]
            if unknown:
                raise InputError(f"{', '.join(map(str, unknown))} is not a variable of the "
                                 f"function ({', '.join(self.names)})")
            missing = [k for k in self.names if k not in start]
            if missing:
                raise InputError(f"the start point gives no value for {', '.join(missing)}")
            values = [start[k] for k in self.names]
        elif isinstance(start, int | float):
            values = [start]
        elif isinstance(given := cast(Any, start), str) or not hasattr(given, "__iter__"):
            raise InputError(f"the start point must be a sequence of numbers or a mapping "
                             f"{{name: number}}, got {type(start).__name__}")
        else:
            values = list(start)
        if len(values) != self.n:
            raise InputError(f"the start point has {len(values)} value(s) but the function has "
                             f"{self.n} variable(s) ({', '.join(self.names)})")
        floats = [_start_number(v, name) for v, name in zip(values, self.names, strict=True)]
        point = tuple(exact_number(v if isinstance(v, int | str) else f)
                      for v, f in zip(values, floats, strict=True))
        value = self.f_at(floats)
        grad = self.grad_at(floats)
        if not math.isfinite(value) or not all(math.isfinite(g) for g in grad):
            from symgd.numeric.runner import undefined_at

            why = undefined_at(self.problem, self.compiled, floats)
            if why is not None:
                raise InputError(f"the start point is outside the domain of f: {why}; choose "
                                 "a point where f and its gradient are defined")
            raise InputError("f or its gradient at the start point is too large for floating "
                             "point (beyond about 1.8e308); choose a start nearer the origin")
        if abs(value) > _runaway():
            raise InputError(
                f"f is about {_n(value, 3)} at the start point, beyond 1e12 in size: every run "
                "would count that as running away and stop at once; choose a start where f "
                "is smaller")
        return point

    def is_critical(self, point: Sequence[Any]) -> bool:
        grad = self.grad_at([float(v) for v in point])
        return bool(max(abs(g) for g in grad) < 1e-12)

    def default_start(self) -> tuple[tuple[Any, ...], str]:
        sp = _sp()
        cycle = [1, 2, -1, sp.Rational(1, 2), -2, sp.Rational(3, 2), 3, -3]
        candidates: list[tuple[Any, ...]] = []
        if self.n == 1:
            candidates = [(sp.Integer(c),) for c in (1, 2, -1, sp.Rational(1, 2), -2, 3)]
        else:
            base = [(1, 2), (2, 1), (-1, 2), (2, -1), (1, 1), (-2, -1), (3, 2), (-3, 1)]
            for pair in base:
                tail = [cycle[(i + 2) % len(cycle)] for i in range(self.n - 2)]
                candidates.append(tuple(sp.sympify(v) for v in (*pair, *tail)))
            for shift in range(len(cycle)):
                candidates.append(tuple(sp.sympify(cycle[(i + shift) % len(cycle)])
                                        for i in range(self.n)))
        known = [p.as_floats() for p in self.isolated_points()]
        for candidate in candidates:
            point = [float(c) for c in candidate]
            value = self.f_at(point)
            grad = self.grad_at(point)
            if not math.isfinite(value) or not all(math.isfinite(g) for g in grad):
                continue
            norm = math.sqrt(sum(g * g for g in grad))
            if norm < 1e-6:
                continue
            if any(max(abs(a - b) for a, b in zip(point, k, strict=True)) < 0.25 for k in known):
                continue
            shown = floats_plain(point)
            return candidate, (f"The first of symgd's simple candidate points where f and ∇f "
                               f"are defined and the gradient is not zero (|∇f| ≈ {_n(norm, 3)}); "
                               f"{shown} is not a critical point, so descent has somewhere to "
                               "go, and the figures are drawn around it.")
        raise InputError("symgd could not find a start point where f and its gradient are "
                         "defined and the gradient is not zero; give one with --start")

    def curvature_scale(self, point: Sequence[Any]) -> float | None:
        """The largest Hessian eigenvalue that matters for a step size: at the start and at the
        minima (the whole range when the Hessian is constant)."""
        import numpy as np

        places = [[float(v) for v in point]] + [list(p.as_floats()) for p in self.minima()]
        largest: float | None = None
        for place in places:
            h = self.hess_at(place)
            if not np.isfinite(h).all():
                continue
            top = float(np.linalg.eigvalsh((h + h.T) / 2).max())
            if top > 0 and (largest is None or top > largest):
                largest = top
        return largest

    def default_lr(self, point: Sequence[Any]) -> tuple[Any, str]:
        lam = self.curvature_scale(point)
        where = ("everywhere" if self.d.hessian_is_constant
                 else "at the start point and at the minima")
        if lam is None:
            return exact_number(0.1), (
                "The Hessian has no positive eigenvalue at the start point or at a minimum, so "
                "curvature suggests no step size; 1/10 is a common first try.")
        target = 0.5 / lam
        rate = min(_nice_below(target), 1.0)
        exact = exact_number(rate)
        return exact, (
            f"The largest Hessian eigenvalue {where} is λ_max ≈ {_n(lam, 4)}. Plain descent on a "
            f"quadratic is stable for η < 2/λ_max ≈ {_n(2 / lam, 4)} and moves without zig-zag for "
            f"η < 1/λ_max ≈ {_n(1 / lam, 4)}; η = {_fraction_text(exact)} is a round number below "
            f"half of 1/λ_max, a safe margin.")

    def lr_remark(self, rate: float) -> str:
        if not self.d.hessian_is_constant:
            return ""
        import numpy as np

        h = self.hess_at([0.0] * self.n)
        top = float(np.linalg.eigvalsh((h + h.T) / 2).max())
        if top <= 0:
            return ""
        if rate >= 2 / top:
            return (f" It is at or above 2/λ_max ≈ {_n(2 / top, 4)}, so plain descent cannot "
                    "settle: expect it to diverge.")
        if rate > 1 / top:
            return (f" It lies between 1/λ_max ≈ {_n(1 / top, 4)} and 2/λ_max ≈ {_n(2 / top, 4)}: "
                    "expect zig-zag steps that still converge.")
        return f" It is below 1/λ_max ≈ {_n(1 / top, 4)}: expect steady, monotone progress."

    def default_steps(self, point: Sequence[Any], rate: float) -> tuple[int, str]:
        from symgd.numeric.runner import Status, descend

        trial = descend(self.problem, [float(v) for v in point], method="gd", lr=rate,
                        steps=MAX_DEFAULT_STEPS, tol=TOLERANCE, trajectory=False)
        self.trial = trial
        if trial.status is Status.CONVERGED:
            count = _nice_steps(max(trial.steps * 1.15, MIN_DEFAULT_STEPS))
            return count, (f"Gradient descent converges in {trial.steps} steps (|∇f| below "
                           f"{_n(TOLERANCE)}); {count} leaves room for the other methods.")
        if trial.status is Status.DIVERGED:
            count = _nice_steps(max(trial.steps, MIN_DEFAULT_STEPS))
            return count, (f"Gradient descent runs away after {trial.steps} steps; {count} "
                           "steps are enough to see every method's fate.")
        return MAX_DEFAULT_STEPS, (
            f"Gradient descent has still not converged after {MAX_DEFAULT_STEPS} steps "
            "(symgd's cap for a lesson); the runs below show how far it got.")

    # -- building the context -----------------------------------------------------------

    def build(self, s: Settings) -> tuple[dict[str, Any], tuple[Trajectory, ...]]:
        start = [float(v) for v in s.start]
        runs = self.run_all(s, start)
        gd = next((r for r in runs if r.method == "gd"), runs[0])
        self.region = self.choose_region(start, runs)
        sections: list[tuple[str, str, dict[str, Any]]] = [
            ("function", "The function", {}),
            ("derivatives", "Partial derivatives and the gradient", {}),
            ("differential", "The total differential", {}),
            ("steepest", "Why step against the gradient: the cos θ argument", {}),
            ("curvature", "Curvature: Hessian, critical points, convexity", {}),
            ("hand", "The update rule, worked by hand", {}),
            ("runs", "Runs of the optimizers", {}),
            ("rates", "What the learning rate does", {}),
            ("summary", "What happened, and why", {}),
        ]
        context: dict[str, Any] = {
            "language": "en",
            "generator": f"symgd {_version()}",
            "title": f"Gradient descent on f({', '.join(self.names)}) = {self.problem.source}",
            "settings_values": {
                "start": start, "lr": float(s.lr), "steps": s.steps,
                "methods": list(s.methods), "defaults": sorted(s.defaults),
            },
            "sections": [{"id": sid, "number": i, "title": title}
                         for i, (sid, title, _) in enumerate(sections, start=1)],
            "function": self.function_section(),
            "settings": self.settings_items(s),
            "derivatives": self.derivatives_section(),
            "differential": self.differential_section(s),
            "steepest": self.steepest_section(s),
            "curvature": self.curvature_section(),
            "hand": self.hand_section(s),
            "runs": self.runs_section(s, runs),
        }
        rates, regime_runs = self.rates_section(s, gd)
        context["rates"] = rates
        context["summary"] = self.summary_section(s, runs, regime_runs)
        return context, tuple(runs)

    # -- section 1 -------------------------------------------------------------------------

    def function_section(self) -> dict[str, Any]:
        names = [f"{v}" for v in self.names]
        if self.n == 1:
            sentence = f"It has one variable, {names[0]}."
        else:
            listed = ", ".join(names[:-1]) + " and " + names[-1]
            sentence = (f"It has {self.n} variables, {listed}, taken in this order in every "
                        "vector below.")
        return {
            "source": self.problem.source,
            "latex": f"f({self._args}) = {tex(self.problem.expr)}",
            "n": self.n,
            "variables": list(self.names),
            "variables_sentence": sentence,
            "notes": domain_notes(self.problem.expr) + list(self.d.notes) + self.size_notes(),
        }

    def size_notes(self) -> list[str]:
        """What a lesson on many variables shows in part, and why."""
        if self.n <= MAX_SHOWN_ENTRIES:
            return []
        worked = ", ".join(f"∂f/∂{name}" for name in self.names[:WORKED_PARTIALS])
        return [f"With {self.n} variables, vectors and matrices are shown in part: their first "
                f"{SHOWN_HEAD} and last {SHOWN_TAIL} entries, with ⋮ or … for the "
                f"{self.n - SHOWN_HEAD - SHOWN_TAIL} in between (written out in full they "
                f"would be unreadable). The rule-by-rule working is shown for {worked}; the "
                "other partial derivatives follow the same rules."]

    def settings_items(self, s: Settings) -> list[dict[str, Any]]:
        sp = _sp()
        x0 = point_tex([tex(v) for v in s.start])
        methods = ", ".join(_label(m) for m in s.methods)
        return [
            {"name": "Start point", "latex": rf"x_0 = {x0}",
             "chosen_by_symgd": "start" in s.defaults, "reason": s.reasons["start"]},
            {"name": "Learning rate", "latex": rf"\eta = {_rate_tex(s.lr)}",
             "chosen_by_symgd": "lr" in s.defaults, "reason": s.reasons["lr"]},
            {"name": "Steps", "latex": rf"\text{{at most }} {s.steps}",
             "chosen_by_symgd": "steps" in s.defaults,
             "reason": s.reasons["steps"] + f" Every run also stops as soon as |∇f| < "
                                            f"{_n(TOLERANCE)}."},
            {"name": "Optimizers", "latex": r"\text{" + methods.replace("'", "’") + "}",
             "chosen_by_symgd": "methods" in s.defaults, "reason": s.reasons["methods"]},
        ] if sp else []

    # -- section 2 -------------------------------------------------------------------------

    def derivatives_section(self) -> dict[str, Any]:
        partials = []
        # with many variables the same rules repeat: the first few are worked, the gradient
        # below lists every partial derivative
        worked = self.n if self.n <= MAX_SHOWN_ENTRIES else WORKED_PARTIALS
        for v, g in zip(self.xs[:worked], self.d.gradient[:worked], strict=True):
            symbol = _partial_symbol(v, self.n)
            steps, result = self.step_items(v)
            latex = f"{symbol} = {tex(g)}"
            if result is not None and tex(result) != tex(g):
                latex += f" = {tex(result)}"
            partials.append({
                "variable": v.name,
                "variable_latex": tex(v),
                "symbol_latex": symbol,
                "latex": latex,
                "steps": steps,
            })
        entries = [tex(g) if g is not None else r"\vdots" for g in elide(self.d.gradient, None)]
        return {
            "partials": partials,
            "gradient_latex": rf"\nabla f({self._args}) = {column(entries)}"
            if self.n > 1 else rf"f'({self._args}) = {entries[0]}",
        }

    def step_items(self, variable: Any) -> tuple[Any, Any]:
        """The rule-by-rule derivation of ∂f/∂variable for the template, and its result."""
        try:
            from symgd.calculus.rules import derivative_steps, steps_latex_items
        except ImportError:  # pragma: no cover - steps ship with the package
            return None, None
        others = tuple(o for o in self.xs if o != variable)
        try:
            tree = derivative_steps(self.problem.expr, variable, others=others)
            items = steps_latex_items(tree)
        except (TypeError, ValueError, RecursionError):  # keep the lesson; show the result only
            return None, None
        return (_step_view(items[0]) if items else None), tree.result

    # -- section 3 -------------------------------------------------------------------------

    def differential_section(self, s: Settings) -> dict[str, Any]:
        sp = _sp()
        shown = shown_indices(self.n)
        terms = [rf"{_partial_symbol(self.xs[i], self.n)}\,{tex(self.d.differentials[i])}"
                 if i is not None else r"\dots" for i in shown]
        general = " + ".join(terms)
        concrete = " + ".join(
            r"\dots" if i is None else
            rf"\left({tex(self.d.gradient[i])}\right) {tex(self.d.differentials[i])}"
            if isinstance(self.d.gradient[i], sp.Add) else
            rf"{tex(self.d.gradient[i])}\,{tex(self.d.differentials[i])}"
            for i in shown
        )
        dx = column([tex(self.d.differentials[i]) if i is not None else r"\vdots"
                     for i in shown]) \
            if self.n > 1 else tex(self.d.differentials[0])
        grad = column([tex(self.d.gradient[i]) if i is not None else r"\vdots"
                       for i in shown]) \
            if self.n > 1 else tex(self.d.gradient[0])
        check = None
        step = [sp.Rational(1, 100) * (1 if i % 2 == 0 else -1) for i in range(self.n)]
        try:
            g0 = [self.exact_subs(g, s.start) for g in self.d.gradient]
            predicted = sum((a * b for a, b in zip(g0, step, strict=True)), sp.Integer(0))
            moved = [a + b for a, b in zip(s.start, step, strict=True)]
            actual = self.exact_subs(self.problem.expr, moved) - self.exact_subs(
                self.problem.expr, s.start)
            p, a = float(predicted), float(actual)
            if math.isfinite(p) and math.isfinite(a):
                check = {
                    "step_latex": rf"d\mathbf{{x}} = {point_tex([tex(v) for v in step])}",
                    "predicted_latex": rf"df \approx {num_tex(p, 6)}",
                    "actual_latex": rf"\Delta f = {num_tex(a, 6)}",
                }
        except (TypeError, ValueError, ZeroDivisionError):
            check = None
        return {
            "step_latex": rf"d\mathbf{{x}} = {point_tex([tex(dv) for dv in self.d.differentials])}",
            "latex": rf"df = {general} = {concrete}",
            "dot_latex": rf"df = \nabla f \cdot d\mathbf{{x}} = {grad} \cdot {dx}",
            "check": check,
        }

    # -- section 4 -------------------------------------------------------------------------

    def steepest_section(self, s: Settings) -> dict[str, Any]:
        sp = _sp()
        from symgd.render import figures as plots
        g0 = [_tidy(self.exact_subs(g, s.start)) for g in self.d.gradient]
        numeric = [float(v) for v in g0]
        norm_float = math.sqrt(sum(v * v for v in numeric))
        square = _tidy(sum((v**2 for v in g0), sp.Integer(0)))
        norm_exact = _tidy(sp.sqrt(square))
        x0 = point_tex([tex(v) for v in s.start])
        grad_entries = [value_tex(v)[0] for v in g0]
        norm_text = short_exact(norm_exact)
        if norm_text is not None and not norm_exact.is_Rational:
            norm_latex = (rf"\lVert\nabla f(x_0)\rVert = {norm_text} "
                          rf"\approx {num_tex(norm_float, 5)}")
        elif norm_text is not None:
            norm_latex = rf"\lVert\nabla f(x_0)\rVert = {norm_text}"
        else:
            norm_latex = rf"\lVert\nabla f(x_0)\rVert \approx {num_tex(norm_float, 5)}"
        nl = norm_text if norm_text is not None else num_tex(norm_float, 5)
        rows = [
            {"name": "along ∇f", "theta": 0,
             "latex": rf"+\lVert\nabla f\rVert = {nl}"},
            {"name": "across ∇f", "theta": 90, "latex": "0"},
            {"name": "against ∇f", "theta": 180,
             "latex": rf"-\lVert\nabla f\rVert = -{nl}" if norm_text is None or
             len(nl) < 20 else rf"-\lVert\nabla f\rVert \approx {num_tex(-norm_float, 5)}"},
        ]
        stationary = None
        direction = ""
        if norm_float < 1e-12:
            stationary = ("The gradient is zero at this start point, so every direction gives "
                          "a rate of change of zero to first order: there is no steepest "
                          "direction, and gradient descent would not move.")
        else:
            if self.n == 1:
                sign = "-" if numeric[0] > 0 else "+"
                direction = (rf"-\frac{{\nabla f(x_0)}}{{\lVert\nabla f(x_0)\rVert}} = "
                             rf"{sign}1 \quad \text{{(move {'left' if sign == '-' else 'right'})}}")
            else:
                unit = [_tidy(-v / norm_exact) for v in g0]
                entries = [value_tex(u, 3)[0] for u in unit]
                direction = (r"\mathbf{u} = -\frac{\nabla f(x_0)}{\lVert\nabla f(x_0)\rVert} = "
                             + column(entries))
        self.figures["steepest"] = plots.FigureJob(
            "directional_figure", {"grad_norm": norm_float, "name": "fig-dir"})
        return {
            "cos_latex": r"df = \nabla f \cdot d\mathbf{x} = \lVert\nabla f\rVert\,"
                         r"\lVert d\mathbf{x}\rVert \cos\theta",
            "point_latex": rf"x_0 = {x0}",
            "gradient_latex": r"\nabla f(x_0) = "
                              + (column(grad_entries) if self.n > 1 else grad_entries[0]),
            "norm_latex": norm_latex,
            "norm": norm_float,
            "rows": rows,
            "one_d": self.n == 1,
            "stationary": stationary,
            "direction_latex": direction,
            "figure": Pending("steepest"),
            "caption": (f"The rate of change of f at the start point, per unit step, for a step "
                        f"at angle θ to the gradient: ‖∇f(x₀)‖ cos θ with ‖∇f(x₀)‖ ≈ "
                        f"{_n(norm_float, 4)}. It is largest at 0°, zero at 90° and most negative "
                        f"at 180°."),
        }

    # -- section 5 -------------------------------------------------------------------------

    def curvature_section(self) -> dict[str, Any]:
        sp = _sp()
        import numpy as np

        n = self.n
        h = self.d.hessian
        shown = [i for i in shown_indices(n) if i is not None]
        if n > MAX_SHOWN_ENTRIES and all(h[i, j] == 0 for i in range(n) for j in range(n)
                                         if i != j):
            diagonal = [tex(h[i, i]) if i is not None else r"\dots" for i in shown_indices(n)]
            hessian_latex = (rf"H({self._args}) = \operatorname{{diag}}\left("
                             + ", ".join(diagonal) + r"\right)")
        else:
            rows = [[tex(h[i, j]) if j in shown else "" for j in range(n)]
                    if i in shown else [""] * n for i in range(n)]
            hessian_latex = rf"H({self._args}) = {matrix_tex(rows)}"
        eigen_latex = ""
        eigen_text = ""
        if self.d.hessian_is_constant:
            matrix = sp.Matrix(h)
            values = None
            if n <= 3:
                try:
                    found = [v for v, m in matrix.eigenvals().items() for _ in range(m)]
                    found.sort(key=lambda v: float(sp.re(v.evalf())))
                    if all(short_exact(v) for v in found):
                        values = found
                except (NotImplementedError, sp.MatrixError):
                    values = None
            numeric = np.linalg.eigvalsh(np.array(matrix.evalf(), dtype=float))
            self.eigen = {"values": list(numeric), "exact": values}
            parts = ([value_tex(v)[0] for v in values] if values
                     else [num_tex(float(v), 5) for v in numeric])
            eigen_latex = r"\lambda = " + r",\quad ".join(elide(parts, r"\dots"))
            eigen_text = _eigen_sentence(list(numeric))
        else:
            eigen_text = ("The Hessian changes from point to point, so the curvature does too: "
                          "the eigenvalues below are those at each critical point.")
        points = []
        isolated = self.isolated_points()
        for p in self.d.critical_points[:12]:
            coords = [value_tex(c, 5)[0] if i is not None else r"\dots"
                      for i, c in zip(shown_indices(n), elide(p.coordinates, 0), strict=True)]
            eig = ", ".join(value_tex(v, 4)[0] if i is not None else r"\dots"
                            for i, v in zip(shown_indices(len(p.eigenvalues)),
                                            elide(p.eigenvalues, 0), strict=True))
            points.append({
                "point_latex": point_tex(coords),
                "value_latex": value_tex(p.value, 5)[0],
                "eigen_latex": eig,
                "kind": p.kind + (" (a whole set)" if p.free else ""),
                "tone": KIND_TONES.get(p.kind, ""),
                "exact": p.exact,
            })
        more = ""
        if len(self.d.critical_points) > 12:
            more = f"{len(self.d.critical_points) - 12} more critical points are not listed."
        count = len(self.d.critical_points)
        if count == 0:
            sentence = ("The gradient never vanishes" + (
                "" if self.d.critical_points_complete else " anywhere symgd looked") +
                ": f has no critical point, so it has no minimum, and descent cannot stop at one.")
        else:
            sentence = (f"Solving gives {count} critical point{'s' if count != 1 else ''}" +
                        ("." if self.d.critical_points_complete else
                         "; the list may be incomplete (see the note below)."))
        system = (r"\begin{aligned}" + r" \\ ".join(
            rf"{tex(g)} &= 0" if g is not None else r"&\vdots"
            for g in elide(self.d.gradient, None)) + r"\end{aligned}") if n > 1 else \
            rf"{tex(self.d.gradient[0])} = 0"
        verdict = self.d.convexity.verdict
        convexity = {
            "verdict": verdict,
            "reason": _sentence(self.d.convexity.reason),
            "meaning": _convexity_meaning(verdict, bool(self.minima())),
            "tone": "good" if "convex" in verdict and "concave" not in verdict else
            ("warn" if verdict in ("neither", "unknown") else "bad"),
        }
        del isolated
        return {
            "hessian_latex": hessian_latex,
            "constant": self.d.hessian_is_constant,
            "eigen_latex": eigen_latex,
            "eigen_text": eigen_text,
            "system_latex": system,
            "points": points,
            "points_more": more,
            "points_sentence": sentence,
            "kinds_text": ("The kind follows from the Hessian's eigenvalues: all positive, a "
                           "minimum; all negative, a maximum; both signs, a saddle; a zero "
                           "eigenvalue leaves the test undecided (degenerate)."),
            "notes": [] if self.d.critical_points_complete or not count else [
                "Where the equations are not polynomial, no method can promise every solution; "
                "points marked numeric were found by a search from many starts."],
            "convexity": convexity,
        }

    # -- section 6 -------------------------------------------------------------------------

    def hand_section(self, s: Settings) -> dict[str, Any]:
        sp = _sp()
        eta = s.lr
        rule = r"x_{k+1} = x_k - \eta\,\nabla f(x_k)"
        steps = []
        point = list(s.start)
        exact_throughout = True
        self.rounded = False
        rounded_at: int | None = None   # the step from which the numbers are decimals
        outside = ""                     # why the hand steps stop early, if they do
        for k in range(1, 3):
            grad = [_tidy(self.exact_subs(g, point)) for g in self.d.gradient]
            if not all(_defined(g) for g in grad):
                outside = (f"The gradient is undefined at x_{k - 1}: that point lies outside "
                           "the domain of f, so the hand steps stop here.")
                break
            new = [_tidy(p - eta * g) for p, g in zip(point, grad, strict=True)]
            grad_view = [value_tex(g) for g in grad]
            new_view = [value_tex(v) for v in new]
            if not all(e for _, e in grad_view + new_view):
                exact_throughout = False
            sub = ""
            if k == 1:
                sub = self.substituted(point)
            xk = f"x_{{{k - 1}}}"
            from_tex = point_tex([value_tex(v)[0] for v in point])
            grad_col = [g for g, _ in grad_view]
            nabla = "f'" if self.n == 1 else r"\nabla f"
            grad_latex = (rf"{nabla}({xk}) = " + (f"{sub} = " if sub else "") +
                          (column(grad_col) if self.n > 1 else grad_col[0]))
            old_col = [value_tex(v)[0] for v in point]
            new_col = [v for v, _ in new_view]
            if self.n > 1:
                update = (rf"x_{{{k}}} = {xk} - \eta\,\nabla f({xk}) = {column(old_col)} - "
                          rf"{tex(eta)} {column(grad_col)} = {column(new_col)}")
            else:
                update = (rf"x_{{{k}}} = {xk} - \eta\, f'({xk}) = {old_col[0]} - {tex(eta)} "
                          rf"\cdot {_paren(grad_col[0])} = {new_col[0]}")
            f_old = _tidy(self.exact_subs(self.problem.expr, point))
            f_new = _tidy(self.exact_subs(self.problem.expr, new))
            if self.rounded and rounded_at is None:
                rounded_at = k
            if not _defined(f_new):
                steps.append({
                    "k": k,
                    "from_latex": rf"{xk} = {from_tex}",
                    "gradient_latex": grad_latex,
                    "update_latex": update,
                    "comment": f"x_{k} lies outside the domain of f:",
                    "value_latex": rf"f(x_{{{k}}}) \text{{ is undefined}}"
                                   rf"\quad\text{{(was }} {value_tex(f_old, 6)[0]}\text{{)}}",
                })
                outside = (f"The step overshot the region where f is defined: f has no real "
                           f"value at x_{k}, so the hand steps stop here, and a run with this "
                           "learning rate leaves the domain the same way.")
                break
            if not (value_tex(f_old, 6)[1] and value_tex(f_new, 6)[1]):
                exact_throughout = False
            went = _direction(f_old, f_new)
            comment = (f"f went {went}" + (f", from about {_big_n(f_old)} to about "
                                            f"{_big_n(f_new)}" if went != "nowhere" else "")
                       + ":")
            steps.append({
                "k": k,
                "from_latex": rf"{xk} = {from_tex}",
                "gradient_latex": grad_latex,
                "update_latex": update,
                "comment": comment,
                "value_latex": rf"f(x_{{{k}}}) = {value_tex(f_new, 6)[0]}"
                               rf"\quad\text{{(was }} {value_tex(f_old, 6)[0]}\text{{)}}",
            })
            point = new
        if rounded_at is None and self.rounded:
            rounded_at = len(steps) + 1
        if rounded_at is not None:
            from symgd.calculus.exact import DECIMAL_DIGITS, MAX_EXACT_DIGITS

            intro = (f"With x₀ and η = {_fraction_text(eta)} exact, the steps start in exact "
                     f"arithmetic; but from step {rounded_at} on the exact fractions would need "
                     f"more than {MAX_EXACT_DIGITS} digits, so those numbers are worked in "
                     f"decimals with {DECIMAL_DIGITS} significant digits instead and shown "
                     "rounded (≈).")
            note = "The runs below continue in floating point."
        elif exact_throughout:
            intro = (f"With x₀ and η = {_fraction_text(eta)} written as exact fractions, every "
                     "number in the first two steps is exact: no rounding has happened yet.")
            note = ("From here on a computer takes over, in floating point; its first steps "
                    "agree with these to every digit it prints.")
        else:
            intro = (f"With x₀ and η = {_fraction_text(eta)} exact, the first two steps can be "
                     "done in exact arithmetic; where an exact value gets too long to read, a "
                     "decimal (≈) stands in for it.")
            note = "The runs below continue in floating point."
        if outside:
            note = outside + " The runs below continue in floating point."
        del sp
        return {"rule_latex": rule, "intro": intro, "steps": steps, "note": note}

    def substituted(self, point: Sequence[Any]) -> str:
        """The gradient with the start's numbers written in place of the variables."""
        sp = _sp()
        names = {v: (rf"\left({tex(p)}\right)" if (p.is_negative or not p.is_Integer)
                     else tex(p)) for v, p in zip(self.xs, point, strict=True)}
        entries = []
        for g in self.d.gradient:
            if sp.count_ops(g) > 25:
                return ""
            entries.append(str(_printer_class()({"symbol_names": names}).doprint(g)))
        text = column(entries) if self.n > 1 else entries[0]
        return text if len(text) < 400 else ""

    # -- section 7 -------------------------------------------------------------------------

    def run_all(self, s: Settings, start: list[float]) -> list[Trajectory]:
        from symgd.numeric.runner import descend

        runs = []
        trial = getattr(self, "trial", None)
        for method in s.methods:
            rate = 1.0 if method == "newton" else float(s.lr)
            if method == "gd" and trial is not None and trial.lr == rate and \
                    trial.steps <= s.steps and trial.status.value != "max_steps":
                runs.append(trial)  # the run that chose the step count: the same numbers
                continue
            runs.append(descend(self.problem, start, method=method, lr=rate, steps=s.steps,
                                backend=_backend(s.steps),
                                tol=TOLERANCE, trajectory=False))
        return runs

    def choose_region(self, start: list[float], runs: Sequence[Trajectory]) -> Any:
        from symgd.render import figures as plots
        anchors = [list(p.as_floats()) for p in self.isolated_points()]
        scale = max([abs(v) for v in start] + [1.0])
        anchors = [a for a in anchors if max(abs(v) for v in a) <= 6 * scale + 5]
        return plots.choose_region(start, anchors, [r.xs for r in runs])

    def path_data(self, run: Trajectory, index: int) -> Any:
        from symgd.render import figures as plots
        keep = _thin(len(run.xs))
        return plots.PathData(
            label=_label(run.method),
            xs=run.xs[keep], fs=run.fs[keep], grad_norms=run.grad_norms[keep],
            colour=plots.colour_for(run.method, index),
            diverged=run.status.value == "diverged",
            steps=run.step_numbers[keep],
        )

    def surface(self) -> Any:
        """f and −∇f sampled over the figure region (computed once, shared by figures)."""
        from symgd.render import figures as plots
        if getattr(self, "_surface", None) is None:
            self._surface = plots.sample_surface(self.compiled.f_batch,
                                                 self.compiled.grad_batch, self.region)
        return self._surface

    def markers(self, start: list[float]) -> list[Any]:
        from symgd.render import figures as plots
        found = [plots.Marker(self.marker_point(p.as_floats()), p.kind, p.kind)
                 for p in self.isolated_points() if self.region.contains(p.as_floats())]
        return [*found, plots.Marker(self.marker_point(start), "start", "start")]

    def marker_point(self, point: Sequence[float]) -> tuple[float, ...]:
        """Where a marker goes: the point itself, or ``(x, f(x))`` for one variable."""
        if self.n == 1:
            return (float(point[0]), self.f_at(point))
        return tuple(float(v) for v in point)

    def runs_section(self, s: Settings, runs: Sequence[Trajectory]) -> dict[str, Any]:
        from symgd.render import figures as plots
        start = [float(v) for v in s.start]
        paths = [self.path_data(r, i) for i, r in enumerate(runs)]
        table = []
        rules = []
        for run in runs:
            outcome, tone = OUTCOME.get(run.status.value, (run.status.value, ""))
            hyper = ", ".join(f"{_hyper_name(k)} = {_n(v)}" for k, v in run.hyperparameters.items()
                              if k in ("momentum", "beta1", "beta2", "alpha", "eps"))
            rate_text = f"η = {_n(run.lr)}"
            final = run.xs[-1]
            ran_away = run.status.value == "diverged"
            outside = run.status.value == "domain"
            table.append({
                "method": run.method,
                "label": _label(run.method),
                "hyper": f"{rate_text}" + (f", {hyper}" if hyper else ""),
                "outcome": outcome,
                "tone": tone,
                "steps": run.steps,
                "point_latex": r"\text{ran away}" if ran_away else floats_tex(final, 4),
                "f_text": "undefined there" if outside else _run_value_text(run.fs, ran_away),
                "grad_text": "grew without bound" if ran_away else
                "undefined there" if outside else _n(float(run.grad_norms[-1]), 3),
                "message": self.run_message(run),
            })
            rules.append({"label": _label(run.method), "latex": _rule_latex(run.method),
                          "hyper": f"{rate_text}" + (f", {hyper}" if hyper else "")})
        markers = self.markers(start)
        picture = None
        caption = ""
        no_contour = None
        traces = None
        traces_caption = ""
        compiled = self.compiled
        if self.n == 1:
            first: list[float] = [float(v) for v in runs[0].xs[:3, 0]] if runs else []
            curve = plots.sample_curve(compiled.f_batch, lambda x: compiled.grad_batch(x)[0],
                                       self.region, [float(v) for v in first])
            self.figures["paths"] = plots.FigureJob("curve_figure", {
                "curve": curve, "paths": paths, "variable": self.names[0],
                "markers": markers, "name": "fig-paths"})
            picture = Pending("paths")
            caption = ("The curve of f with the tangent lines at the first iterates of gradient "
                       "descent (their slopes are the derivatives used in each step) and the "
                       "path of each method.")
        elif self.n == 2:
            self.figures["paths"] = plots.FigureJob("contour_figure", {
                "surface": self.surface(), "paths": paths,
                "variables": (self.names[0], self.names[1]), "markers": markers,
                "name": "fig-paths"})
            picture = Pending("paths")
            caption = ("Level curves of f (darker is lower), the direction of −∇f on a grid "
                       "(grey arrows: always across the level curves), the critical points and "
                       "the path of each method from the start ★. Paths that leave the frame "
                       "are cut at its edge.")
        else:
            no_contour = (f"f has {self.n} variables, so its graph lives in {self.n + 1} "
                          "dimensions and its level sets are surfaces, not curves: there is no "
                          "honest flat contour picture. Instead, the figures track what can be "
                          "plotted against the step number: f, the gradient's length, and each "
                          "coordinate.")
            main = paths[0]
            self.figures["traces"] = plots.FigureJob("traces_figure", {
                "path": main, "variables": self.names, "name": "fig-traces"})
            traces = Pending("traces")
            traces_caption = (f"Each coordinate of the {main.label.lower()} run, step by step; "
                              "a coordinate that levels off has settled.")
        minimum_value = self.f_star(runs)
        self.figures["progress"] = plots.FigureJob("progress_figure", {
            "paths": paths, "f_star": minimum_value, "name": "fig-progress"})
        progress_caption = (
            ("Left: the gap f(xₖ) − f* to the lowest value reached, on a log scale. "
             if minimum_value is not None else "Left: f(xₖ). ") +
            "Right: the length of the gradient, on a log scale. A straight falling line on a log "
            "scale means the error shrinks by the same factor every step (linear convergence).")
        basins = self.basins(s, runs[0] if runs else None, markers)
        return {
            "intro": (f"Each method starts at x₀ and runs for at most {s.steps} steps, stopping "
                      f"early when |∇f| < {_n(TOLERANCE)} or when the iterates run away."),
            "table": table,
            "rules": rules,
            "picture": picture,
            "picture_caption": caption,
            "no_contour": no_contour,
            "progress": Pending("progress"),
            "progress_caption": progress_caption,
            "traces": traces,
            "traces_caption": traces_caption,
            "basins": basins,
        }

    def f_star(self, runs: Sequence[Trajectory]) -> float | None:
        """The value the gap f − f* is measured to: the lowest minimum, when every run stays
        above it."""
        values = [float(p.value) for p in self.minima()]
        if not values:
            return None
        best = min(values)
        for run in runs:
            import numpy as np

            finite = run.fs[np.isfinite(run.fs)]
            if finite.size and float(finite.min()) < best - 1e-9 * max(1.0, abs(best)):
                return None
        return best

    def run_message(self, run: Trajectory) -> str:
        status = run.status.value
        if status == "converged":
            target = self.nearest_point(run.xs[-1])
            if target is None and not self.d.critical_points:
                return (f"|∇f| fell below {_n(TOLERANCE)} after {run.steps} steps at "
                        f"{floats_plain(run.xs[-1])}, where f ≈ {_n(float(run.fs[-1]), 3)}: a "
                        "stretch so flat the tolerance cannot tell it from a critical point, "
                        "though f has none.")
            where = f" at the {target.kind} {floats_plain(target.as_floats())}" if target else ""
            return f"Reached |∇f| < {_n(TOLERANCE)}{where} after {run.steps} steps."
        if status == "diverged":
            step = run.diverged_at if run.diverged_at is not None else run.steps
            why = run.detail or "the iterates grew without bound"
            return f"Ran away at step {step}: {why}."
        if status == "domain":
            return (f"Left the domain of f at step {run.domain_at}: {run.detail}. The run "
                    "cannot go on where f has no real value.")
        if status == "max_steps":
            still = _n(float(run.grad_norms[-1]), 3)
            return f"Used all {run.steps} steps; |∇f| is still {still}."
        return run.message

    def nearest_point(self, x: Any, tolerance: float = 1e-3) -> CriticalPoint | None:
        best = None
        best_distance = tolerance
        for p in self.isolated_points():
            coords = p.as_floats()
            distance = max(abs(a - b) for a, b in zip(coords, x, strict=True))
            scale = max(1.0, max(abs(c) for c in coords))
            if distance <= best_distance * scale:
                best, best_distance = p, distance / scale
        return best

    def basins(self, s: Settings, run: Trajectory | None, markers: list[Any]) -> Any:
        """For two variables and several minima: which minimum descent reaches from each start
        on a grid (one batch run)."""
        import numpy as np

        from symgd.render import figures as plots
        from symgd.numeric.runner import descend

        minima = self.minima()
        if self.n != 2 or len(minima) < 2:
            return None
        region = self.region
        count = 41
        gx, gy = np.meshgrid(np.linspace(region.lo[0], region.hi[0], count),
                             np.linspace(region.lo[1], region.hi[1], count))
        starts = np.column_stack([gx.ravel(), gy.ravel()])
        batch = descend(self.problem, starts, method="gd", lr=float(s.lr),
                        steps=min(s.steps, 3000), tol=1e-6, keep_path=False)
        finals = batch.xs[-1]
        coords = np.array([m.as_floats() for m in minima])
        distance = np.abs(finals[:, None, :] - coords[None, :, :]).max(axis=2)
        nearest = distance.argmin(axis=1)
        close = distance[np.arange(len(finals)), nearest] < 1e-2 * np.maximum(
            1.0, np.abs(coords).max(axis=1))[nearest]
        labels = np.where(close, nearest, -1).reshape(gx.shape)
        colours = [plots.PALETTE[i % len(plots.PALETTE)] for i in range(len(minima))]
        names = ["minimum " + floats_plain(m.as_floats(), 3) for m in minima]
        reached = self.nearest_point(run.xs[-1]) if run is not None and \
            run.status.value == "converged" else None
        self.figures["basins"] = plots.FigureJob("basins_figure", {
            "region": region, "labels": labels, "colours": colours, "names": names,
            "markers": markers, "variables": (self.names[0], self.names[1]),
            "name": "fig-basins"})
        shares = [float((labels == i).mean()) for i in range(len(minima))]
        if reached is not None:
            text = (f"f has {len(minima)} minima. Gradient descent only ever goes downhill "
                    "along −∇f, so it ends in the minimum whose basin of attraction holds the "
                    f"start: from x₀ it reached {floats_plain(reached.as_floats(), 4)}. The "
                    "picture repeats the run from a grid of starts and colours each start by "
                    "the minimum it reaches; the basins meet along ridges that pass through the "
                    "saddle points.")
        else:
            text = (f"f has {len(minima)} minima; which one descent reaches depends only on "
                    "the start. The picture colours each start on a grid by the minimum "
                    "gradient descent reaches from it.")
        return {
            "text": text,
            "figure": Pending("basins"),
            "caption": ("Basins of attraction of gradient descent (η as above): "
                        + "; ".join(f"{n}: {share:.0%} of the grid"
                                    for n, share in zip(names, shares, strict=True)) + "."),
        }

    # -- section 8 -------------------------------------------------------------------------

    def rates_section(
        self, s: Settings, gd: Trajectory
    ) -> tuple[dict[str, Any], list[tuple[float, Trajectory, str]]]:
        import numpy as np

        from symgd.render import figures as plots
        from symgd.numeric.runner import descend

        start = [float(v) for v in s.start]
        reference, where = self.reference_point(gd, start)
        h = self.hess_at(reference)
        eig, vec = np.linalg.eigh((h + h.T) / 2) if np.isfinite(h).all() else (None, None)
        lam = float(eig.max()) if eig is not None else float("nan")
        text: list[str] = []
        bound_latex = ""
        regimes: list[dict[str, Any]] = []
        regime_runs: list[tuple[float, Trajectory, str]] = []
        relative = not self.minima() and not self.d.hessian_is_constant
        if eig is None or not lam > 0 or relative:
            if relative:
                intro = ("The learning rate sets how far each step goes. f has no minimum, so "
                         "no curvature at a minimum sets a limit; the curvature at the start "
                         "only describes the first steps. Below, plain descent runs with half, "
                         "once and twice this lesson's η.")
            else:
                intro = ("The learning rate sets how far each step goes. Here the curvature "
                         "gives no upper limit: the Hessian has no positive eigenvalue "
                         f"{where}, so a bigger η only moves faster.")
            rates = [float(s.lr) * m for m in (0.5, 1.0, 2.0)]
            expected = ["half this lesson's η", "this lesson's η", "twice this lesson's η"]
        else:
            intro = ("The learning rate sets how far each step goes. Near a point where the "
                     "Hessian has largest eigenvalue λ_max, plain descent multiplies the error "
                     "along that eigenvector by (1 − ηλ_max) every step. So it creeps "
                     "monotonically when η < 1/λ_max, zig-zags but still converges when "
                     "1/λ_max < η < 2/λ_max, and diverges when η > 2/λ_max.")
            exact_lam = self.exact_lambda_max() if self.d.hessian_is_constant else None
            lam_tex = exact_lam if exact_lam is not None else num_tex(lam, 5)
            plain = exact_lam is None or exact_lam == num_tex(lam, 5)
            bound_latex = (rf"\lambda_{{\max}} = {lam_tex}" +
                           ("" if plain else rf" \approx {num_tex(lam, 5)}") +
                           rf",\qquad \frac{{1}}{{\lambda_{{\max}}}} {_eq(1 / lam)}"
                           rf",\qquad \frac{{2}}{{\lambda_{{\max}}}} {_eq(2 / lam)}")
            text.append(f"These numbers are {where}." if not self.d.hessian_is_constant else
                        "f is quadratic, so these bounds hold everywhere, exactly.")
            if eig is not None and float(eig.min()) < 0:
                text.append("But the Hessian also has a negative eigenvalue "
                            f"({_n(float(eig.min()), 4)}): along its "
                            "eigenvector f curves down, and every step lengthens that component "
                            "by the factor (1 + η|λ_min|) > 1, whatever η is. The bounds only "
                            "govern the other directions; there is no learning rate at which "
                            "descent settles here.")
            rates = [_round_sig_within(factor / lam, lam, factor) for factor in REGIME_FACTORS]
            expected = ["monotone (η < 1/λ_max)", "zig-zag (1/λ_max < η < 2/λ_max)",
                        "divergent (η > 2/λ_max)"]
        direction = vec[:, -1] if vec is not None else np.ones(self.n) / math.sqrt(self.n)
        saddle = eig is not None and float(eig.min()) < -1e-12 and lam > 0 and not relative
        # Away from a quadratic, the thresholds describe f near the reference point only, so
        # the runs start close to it, where f is nearly its quadratic model.
        local = (vec is not None and lam > 0 and not relative and not self.d.hessian_is_constant
                 and self.nearest_point(reference) is not None)
        panel_start = start
        local_region = None
        if local and vec is not None:
            delta = 0.02 * max(1.0, float(np.linalg.norm(reference)))
            offset = direction + (0.5 * vec[:, 0] if self.n > 1 else 0.0)
            panel_start = [float(v) for v in np.asarray(reference) + delta * offset]
            text.append(f"So the runs below start close to it, at {floats_plain(panel_start)}, "
                        "where f is nearly its quadratic model; from farther away the path "
                        "first has to reach the minimum's neighbourhood.")
            if self.n == 2:
                lo = tuple(float(c - 3 * delta) for c in reference)
                hi = tuple(float(c + 3 * delta) for c in reference)
                local_region = plots.Region(lo, hi)
        count = 30
        signals = []
        for rate, label in zip(rates, expected, strict=True):
            run = descend(self.problem, panel_start, method="gd", lr=rate, steps=count,
                          backend="numpy",
                          tol=TOLERANCE)
            observed = classify_run(run, reference, direction, along_only=saddle or local)
            regime_runs.append((rate, run, observed))
            signal = run.fs if relative else (run.xs - np.asarray(reference)) @ direction
            signals.append(signal)
            regimes.append({
                "eta_latex": rf"\eta = {num_tex(rate, 4)}",
                "expected": label,
                "observed": observed,
                "tone": {"monotone": "good", "oscillating": "warn", "divergent": "bad"}.get(
                    observed, ""),
                "detail": (("along v_max; along v_min the run escapes whatever η is"
                            + (f" (it ran away at step {run.diverged_at})"
                               if run.status.value == "diverged" else ""))
                           if saddle else _regime_detail(run)),
                "first_latex": r",\; ".join(num_tex(float(v), 4) for v in signal[:4])
                + (r",\; \dots" if len(signal) > 4 else ""),
            })
        predicted = {0: "monotone", 1: "oscillating", 2: "divergent"}
        if bound_latex and not saddle:
            for index, (rate, _, observed) in enumerate(regime_runs):
                if observed != predicted[index]:
                    text.append(
                        f"With η = {_n(rate, 3)} the run did not follow the quadratic prediction "
                        f"({predicted[index]}; it was {observed}): the thresholds hold only "
                        "where f is close to its quadratic model, and larger steps reach parts "
                        "of f with different curvature.")
        colours = ["#0072B2", "#E69F00", "#D55E00"]
        paths = []
        for i, (rate, run, observed) in enumerate(regime_runs):
            paths.append(plots.Regime(
                title=f"η = {_n(rate, 3)}: {observed}",
                path=plots.PathData(f"η = {_n(rate, 3)}", run.xs, run.fs, run.grad_norms,
                                    colour=colours[i], diverged=run.status.value == "diverged"),
                series=signals[i],
            ))
        if self.n == 2:
            surface = self.surface() if local_region is None else plots.sample_surface(
                self.compiled.f_batch, self.compiled.grad_batch, local_region, resolution=90,
                arrows=0)
            region = self.region if local_region is None else local_region
            markers = [m for m in self.markers(start) if region.contains(m.point)]
            if local_region is not None:
                markers.append(plots.Marker(tuple(panel_start), "start", "start"))
            self.figures["rates"] = plots.FigureJob("regimes_contour_figure", {
                "surface": surface, "regimes": paths,
                "variables": (self.names[0], self.names[1]), "markers": markers,
                "name": "fig-rates"})
            caption = ("Gradient descent from the same start with three learning rates"
                       + (", close to the minimum" if local_region is not None else "")
                       + ". Paths that leave the frame are cut at its edge.")
        else:
            label = ("f(xₖ)" if relative else f"{self.names[0]}ₖ − {self.names[0]}*"
                     if self.n == 1 else "xₖ − x* along v_max")
            self.figures["rates"] = plots.FigureJob("regimes_figure", {
                "regimes": paths, "ylabel": label, "name": "fig-rates"})
            caption = ("Gradient descent from the same start with three learning rates: "
                       + ("f at each step" if relative else "the distance to the reference "
                          "point" + (" along the eigenvector of λ_max" if self.n > 1 else "")
                          + ", step by step") + ". Values beyond the frame are cut off.")
        return {
            "intro": intro,
            "signal_name": ("f(xₖ)" if relative
                            else f"{self.names[0]}ₖ" if self.n == 1 and reference == [0.0]
                            else f"{self.names[0]}ₖ − {self.names[0]}*" if self.n == 1
                            else "xₖ − x* along v_max"),
            "bound_latex": bound_latex,
            "text": text,
            "regimes": regimes,
            "figure": Pending("rates"),
            "caption": caption,
        }, regime_runs

    def is_quadratic(self) -> bool:
        sp = _sp()
        expr = self.problem.expr
        if not expr.is_polynomial(*self.xs):
            return False
        return bool(sp.Poly(expr, *self.xs).total_degree() <= 2)

    def unbounded_direction(self) -> tuple[str, str, str] | None:
        """For a quadratic with a negative eigenvalue: that eigenvalue, its unit eigenvector
        (signed the way the run escapes) and a remark; ``None`` when f is not of that kind."""
        import numpy as np

        if not self.d.hessian_is_constant or not self.eigen or not self.is_quadratic():
            return None
        h = np.array(self.d.hessian.evalf(), dtype=float)
        eig, vec = np.linalg.eigh((h + h.T) / 2)
        if eig[0] >= -1e-12:
            return None
        v = vec[:, 0]
        if v[int(np.argmax(np.abs(v)))] < 0:
            v = -v
        exact = self.eigen.get("exact")
        lam_text = plain_math(str(exact[0])) if exact else _n(eig[0], 4)
        return lam_text, floats_plain([float(c) for c in v], 3), " (in both directions ±v)"

    def exact_lambda_max(self) -> str | None:
        values = self.eigen.get("exact") if getattr(self, "eigen", None) else None
        if not values:
            return None
        return short_exact(values[-1])

    def reference_point(self, gd: Trajectory, start: list[float]) -> tuple[list[float], str]:
        """Where the curvature is read for the learning-rate panel."""
        if gd.status.value == "converged":
            target = self.nearest_point(gd.xs[-1])
            if target is not None:
                return list(target.as_floats()), (
                    f"at the {target.kind} {floats_plain(target.as_floats())} that gradient "
                    "descent reached")
            return [float(v) for v in gd.xs[-1]], "at the point gradient descent reached"
        points = self.isolated_points()
        if points:
            nearest = min(points, key=lambda p: sum((a - b) ** 2 for a, b in
                                                    zip(p.as_floats(), start, strict=True)))
            return list(nearest.as_floats()), (
                f"at the {nearest.kind} {floats_plain(nearest.as_floats())}, the critical "
                "point nearest the start")
        return start, "at the start point"

    # -- section 9 -------------------------------------------------------------------------

    def summary_section(
        self,
        s: Settings,
        runs: Sequence[Trajectory],
        regime_runs: Sequence[tuple[float, Trajectory, str]],
    ) -> dict[str, Any]:
        return summarise(self, s, runs, regime_runs)


# -- pieces used by several sections ------------------------------------------------------------


def _backend(steps: int) -> str:
    """numpy for short runs (no code to generate), the compiled scalar loop for long ones."""
    return "numpy" if steps <= SHORT_RUN else "auto"


def _version() -> str:
    from symgd import __version__

    return __version__


def _label(method: str) -> str:
    from symgd.numeric.optimizers import LABELS

    return LABELS.get(method, method)


def _hyper_name(name: str) -> str:
    return {"momentum": "μ", "beta1": "β₁", "beta2": "β₂", "alpha": "α", "eps": "ε"}.get(name, name)


def _short_rule(method: str) -> str:
    rules = {
        "gd": r"x \leftarrow x - \eta\,\nabla f",
        "ascent": r"x \leftarrow x + \eta\,\nabla f",
        "momentum": r"b \leftarrow \mu b + \nabla f,\; x \leftarrow x - \eta\, b",
        "nesterov": r"b \leftarrow \mu b + \nabla f,\; x \leftarrow x - \eta(\nabla f + \mu b)",
        "adagrad": r"x \leftarrow x - \eta\,\nabla f / (\sqrt{s} + \epsilon)",
        "rmsprop": r"x \leftarrow x - \eta\,\nabla f / (\sqrt{v} + \epsilon)",
        "adam": r"x \leftarrow x - \eta\,\hat m / (\sqrt{\hat v} + \epsilon)",
        "newton": r"x \leftarrow x - H^{-1}\nabla f",
    }
    return rules.get(method, method)


def _eq(value: float) -> str:
    """``= 0.5`` when the decimal is exact, else ``≈ 0.309``."""
    text = num_tex(value, 4)
    try:
        exact = float(text.strip("{}")) == value
    except ValueError:
        exact = False
    return f"= {text}" if exact else rf"\approx {text}"


def _rule_latex(method: str) -> str:
    from symgd.numeric.optimizers import RULES_LATEX

    return RULES_LATEX.get(method, _short_rule(method))


def _run_value_text(values: Any, ran_away: bool) -> str:
    """The last value of f, in words when the run escaped."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if ran_away:
        if finite.size and float(finite[-1]) < float(finite[0]):
            return "fell without bound"
        return "grew without bound"
    return _n(float(finite[-1]), 6) if finite.size else "undefined"


def _partial_symbol(variable: Any, n: int) -> str:
    name = tex(variable)
    if n == 1:
        return rf"\frac{{df}}{{d{name}}}"
    return rf"\frac{{\partial f}}{{\partial {name}}}"


def _paren(latex: str) -> str:
    return rf"\left({latex}\right)" if latex.startswith("-") or " " in latex else latex


def _tidy(expr: Any) -> Any:
    """A short exact form: rationals stay, small surds are simplified, long things are left."""
    from symgd.calculus.exact import huge_power

    sp = _sp()
    expr = sp.sympify(expr)
    if expr.is_Rational or expr.is_Float:
        return expr
    if sp.count_ops(expr) <= 40 and not huge_power(expr):
        try:
            simpler = sp.radsimp(sp.expand(expr))
            if sp.count_ops(simpler) <= sp.count_ops(expr):
                return simpler
        except (TypeError, ValueError, NotImplementedError):
            return expr
    return expr


def _defined(value: Any) -> bool:
    """True when ``value`` is a finite real number (not complex, not ±∞ or undefined)."""
    sp = _sp()
    value = sp.sympify(value)
    if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return False
    real = value.is_extended_real
    if real is not None:
        return bool(real)
    try:
        z = complex(value.evalf(20))
    except (TypeError, ValueError):
        return False
    return abs(z.imag) <= 1e-12 * max(1.0, abs(z.real))


def _direction(old: Any, new: Any) -> str:
    """``"down"``, ``"up"`` or ``"nowhere"``: how f moved from ``old`` to ``new`` (exact
    numbers of any size, compared without rounding to floats)."""
    try:
        if bool(new < old):
            return "down"
        if bool(new > old):
            return "up"
    except TypeError:  # not comparable (an unevaluated expression): compare decimals
        fo, fn = float(old), float(new)
        return "down" if fn < fo else "up" if fn > fo else "nowhere"
    return "nowhere"


def _big_n(value: Any, digits: int = 6) -> str:
    """A real number for prose, also beyond float's range (``1.5 × 10⁴⁰⁰``)."""
    number = float(value)
    if math.isfinite(number) and (number == 0 or abs(number) > 1e-300):
        return _n(number, digits)
    mantissa, exponent = _mantissa_exponent(value, digits)
    return f"{mantissa} × 10{str(exponent).translate(_SUPERSCRIPT_DIGITS)}".replace("-", "−")


_SUPERSCRIPT_DIGITS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _mantissa_exponent(value: Any, digits: int) -> tuple[str, int]:
    """``value`` as ``(mantissa text, power of ten)`` with ``digits`` significant digits."""
    import mpmath

    sp = _sp()
    number = sp.Float(sp.sympify(value).evalf(digits + 5), digits + 5)
    text = mpmath.nstr(mpmath.mpf(number._mpf_), digits, min_fixed=1, max_fixed=0)
    mantissa, _, exponent = text.partition("e")
    return mantissa, int(exponent or 0)


def _rate_tex(rate: Any) -> str:
    """η in LaTeX: the fraction and its decimal, or (when it is huge or tiny) the decimal."""
    from symgd.calculus.exact import digits_to_bits, size_bits

    if size_bits(rate) > digits_to_bits(12):
        return big_num_tex(rate, 6)
    return tex(rate) + ("" if rate.is_Integer else rf" = {num_tex(float(rate), 6)}")


def _fraction_text(value: Any) -> str:
    from symgd.calculus.exact import digits_to_bits, size_bits

    sp = _sp()
    value = sp.sympify(value)
    if value.is_Rational and size_bits(value) > digits_to_bits(12):
        return _big_n(value)  # 1e308 is not written out in 309 digits
    if value.is_Integer:
        return str(value)
    if value.is_Rational:
        return f"{value.p}/{value.q}"
    return f"{_n(float(value))}"


def floats_plain(values: Sequence[float], digits: int = 4) -> str:
    """``(1, -2.5)`` in plain text."""
    parts = [f"{float(v):.{digits}g}".replace("-", "−") for v in values]
    parts = ["0" if p in ("−0", "0") else p for p in parts]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def _plain_number(value: float) -> str:
    return _n(value, 6)


def _n(value: float, digits: int = 6) -> str:
    """A number for prose: ``4.7 × 10³`` rather than ``4.7e+03``, with a real minus sign."""
    from symgd.render.templates import number

    return number(value, digits)


def plain_math(text: str) -> str:
    """SymPy's text form made readable: ``1 - sqrt(5)`` → ``1 − √5``."""
    import re

    text = re.sub(r"sqrt\((\w+)\)", r"√\1", text)
    return text.replace("*", "").replace("-", "−")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _eigen_sentence(values: Sequence[float]) -> str:
    positive = sum(v > 1e-12 for v in values)
    negative = sum(v < -1e-12 for v in values)
    zero = len(values) - positive - negative
    if negative == 0 and zero == 0:
        return "All eigenvalues are positive: f curves up in every direction, like a bowl."
    if positive == 0 and zero == 0:
        return "All eigenvalues are negative: f curves down in every direction, like a dome."
    if zero and not negative:
        return ("The eigenvalues are positive or zero: f curves up or stays flat, never down; "
                "along a zero eigenvalue's direction it is a straight valley floor.")
    if zero and not positive:
        return "The eigenvalues are negative or zero: f curves down or stays flat."
    return ("The eigenvalues have both signs: f curves up along some directions and down "
            "along others, like a saddle or a mountain pass.")


def _convexity_meaning(verdict: str, has_minimum: bool) -> str:
    if verdict == "strictly convex":
        return ("So f has at most one minimum, with no other valleys to get stuck in: with a "
                "small enough learning rate, gradient descent reaches it from any start"
                + ("." if has_minimum else ", if a minimum exists at all."))
    if verdict == "convex":
        return ("So every local minimum is a global one (there may be a whole flat set of "
                "them); descent with a small enough learning rate never gets trapped in a "
                "worse valley.")
    if verdict in ("strictly concave", "concave"):
        return ("So f curves down everywhere: it has no minimum, and gradient descent can only "
                "run downhill forever. (Gradient ascent would climb to the maximum.)")
    if verdict == "neither":
        return ("So no global guarantee applies: the start point and the learning rate decide "
                "where descent goes, and it may meet saddles or several separate minima.")
    return "Without a verdict, treat the guarantees of convex optimisation as not available."


def domain_notes(expr: Any) -> list[str]:
    """Plain remarks on where f or its derivatives are undefined."""
    sp = _sp()
    from symgd.expr.activations import leaky_relu, relu

    notes: list[str] = []
    seen: set[str] = set()

    def add(text: str) -> None:
        if text not in seen:
            seen.add(text)
            notes.append(text)

    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.log):
            add(f"log needs a positive argument: f is defined only where {node.args[0]} > 0.")
        elif isinstance(node, sp.Pow) and node.exp.is_Rational and not node.exp.is_Integer \
                and node.exp.q % 2 == 0:
            add(f"A square root needs {node.base} ≥ 0, and its derivative needs {node.base} > 0.")
        elif isinstance(node, sp.Pow) and node.exp.is_negative and node.base.free_symbols:
            add(f"Division: f is undefined where {node.base} = 0.")
        elif isinstance(node, sp.Abs | relu | leaky_relu | sp.Max | sp.Min):
            add("f has a kink (|·|, ReLU, max or min): at the kink the derivative jumps, and "
                "symgd uses the derivative of the side the point lies on.")
        elif isinstance(node, sp.asin | sp.acos):
            add(f"arcsin/arccos need −1 ≤ {node.args[0]} ≤ 1.")
        elif isinstance(node, sp.tan):
            add(f"tan is undefined where {node.args[0]} is an odd multiple of π/2.")
    return notes


def _step_view(item: Any) -> dict[str, Any]:
    """A LatexStep tree for the template: the simplification (if any) comes last, after the
    rule-by-rule derivation it tidies up."""
    def view(node: Any) -> dict[str, Any]:
        return {
            "rule": node.title,
            "explanation": node.explanation,
            "formula_latex": node.equation_latex,
            "general_latex": node.formula_latex,
            "substeps": [view(c) for c in node.children],
        }

    if item.rule == "simplify" and item.children:
        raw = view(item.children[0])
        raw["substeps"] = [*raw["substeps"], {
            "rule": item.title, "explanation": _after_colon(item.explanation),
            "formula_latex": item.equation_latex, "general_latex": "", "substeps": []}]
        head = item.explanation.split(" Simplify:")[0] if " Simplify:" in item.explanation \
            else ""
        if head and not raw["explanation"].startswith(head):
            raw["explanation"] = f"{head} {raw['explanation']}"
        return raw
    return view(item)


def _after_colon(text: str) -> str:
    marker = "Simplify:"
    return text.split(marker, 1)[1].strip() if marker in text else text


def _round_sig_within(value: float, lam: float, factor: float) -> float:
    """``value`` rounded to two significant digits unless that crosses a regime boundary."""
    rounded = _round_sig(value, 2)
    bounds = (1.0, 2.0)
    before = [factor < b for b in bounds]
    after = [rounded * lam < b for b in bounds]
    return rounded if before == after else value


def classify_run(
    run: Trajectory, reference: Sequence[float], direction: Any, *, along_only: bool = False
) -> str:
    """``"monotone"``, ``"oscillating"`` or ``"divergent"`` for a gradient-descent run.

    ``along_only`` judges only the component of ``x_k − reference`` along ``direction`` (used
    at a saddle, where the run escapes along another direction whatever the learning rate).
    """
    import numpy as np

    if run.status.value == "domain":
        return "divergent"  # a step long enough to leave the region where f is defined
    if not along_only:
        from symgd.calculus.curvature import classify_run as classify

        return str(classify(run))
    signal = (run.xs - np.asarray(reference)) @ np.asarray(direction)
    return classify_signal(signal)


def classify_signal(signal: Any) -> str:
    """Classify the distance to a point along one direction, step by step."""
    import numpy as np

    values = np.asarray(signal, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return "monotone"
    first = abs(float(values[0]))
    if len(values) >= 3 and abs(float(values[-1])) > 2 * max(first, 1e-300) and \
            abs(float(values[-1])) > abs(float(values[-2])):
        return "divergent"
    significant = values[np.abs(values) > 1e-9 * max(float(np.abs(values).max()), 1e-300)]
    signs = np.sign(significant)
    if len(signs) >= 2 and (signs[1:] != signs[:-1]).any():
        return "oscillating"
    return "monotone"


def _regime_detail(run: Trajectory) -> str:
    status = run.status.value
    if status == "converged":
        return f"converged in {run.steps} steps"
    if status == "diverged":
        return f"ran away at step {run.diverged_at}"
    if status == "domain":
        return f"left the domain of f at step {run.domain_at}"
    return f"|∇f| ≈ {_n(float(run.grad_norms[-1]), 2)} after {run.steps} steps"


def summarise(
    b: _Builder,
    s: Settings,
    runs: Sequence[Trajectory],
    regime_runs: Sequence[tuple[float, Trajectory, str]],
) -> dict[str, Any]:
    """The plain-words account: what each run did and the reason behind it."""
    import numpy as np

    paragraphs: list[str] = []
    takeaways: list[str] = []
    main = next((r for r in runs if r.method == "gd"), runs[0])
    label = _label(main.method)
    eta = _fraction_text(s.lr) if main.method != "newton" else "1"
    start = floats_plain([float(v) for v in s.start])
    status = main.status.value
    minima = b.minima()
    unbounded = b.unbounded_direction()
    lam = b.eigen.get("values") if b.d.hessian_is_constant else None

    if status == "converged":
        target = b.nearest_point(main.xs[-1])
        if target is not None and target.kind == "minimum":
            text = (f"{label} from {start} with η = {eta} reached the minimum "
                    f"{floats_plain(target.as_floats())}, where f = {_n(float(target.value), 6)}, "
                    f"in {main.steps} steps.")
            if len(minima) > 1:
                text += (f" f has {len(minima)} minima; descent cannot climb, so it settles in "
                         "the one whose basin holds the start (see the basin picture).")
            elif b.d.convexity.verdict in ("strictly convex", "convex"):
                text += (" Because f is convex, that minimum is the global one, and any start "
                         "would have led to it.")
            rate = _contraction(b, target, float(s.lr))
            if rate is not None and main.method == "gd":
                text += (f" Near the minimum each step shrinks the error by a factor of about "
                         f"{_n(rate, 3)}, the largest |1 − ηλ| over the Hessian's eigenvalues λ "
                         "there; that factor sets the pace.")
            paragraphs.append(text)
        elif target is not None:
            paragraphs.append(
                f"{label} stopped at the {target.kind} {floats_plain(target.as_floats())}: the "
                "gradient vanishes there too, and a method that only looks for ∇f = 0 cannot "
                "tell a saddle or maximum from a minimum.")
        elif not b.d.critical_points:
            paragraphs.append(
                f"{label} stopped after {main.steps} steps because |∇f| fell below "
                f"{_n(TOLERANCE)}, but f has no critical point: the run reached a region so flat "
                f"that the gradient all but vanishes (f ≈ {_n(float(main.fs[-1]), 3)}). A small "
                "gradient does not prove a minimum; with saturating functions such as σ it is "
                "the vanishing-gradient problem.")
        else:
            paragraphs.append(f"{label} converged to {floats_plain(main.xs[-1])} in "
                              f"{main.steps} steps.")
    elif status == "diverged":
        if unbounded is not None:
            lam_text, vector_text, exact_note = unbounded
            paragraphs.append(
                f"{label} ran away. This is not a bad learning rate: f is unbounded below. "
                f"Its Hessian has the negative eigenvalue λ = {lam_text}, and along that "
                f"eigenvector, v ≈ {vector_text}, f falls like −t² without limit{exact_note}. "
                "Every step of descent lengthens the component of x along v by the factor "
                "1 + η|λ|, so the iterates leave along v: |x| grows and f falls without bound; "
                f"symgd stopped the run at step {main.diverged_at} before the numbers "
                "overflowed.")
            takeaways.append("Descent needs something to descend to: on a function that is "
                             "unbounded below, no learning rate helps.")
        elif lam is not None and max(lam) > 0 and float(s.lr) >= 2 / max(lam):
            paragraphs.append(
                f"{label} diverged because the learning rate is too large: η = {eta} is above "
                f"2/λ_max ≈ {_n(2 / max(lam), 4)}, so each step overshoots the minimum by more "
                "than it started with, and the iterates swing wider every time.")
            takeaways.append("Keep η below 2/λ_max; below 1/λ_max the steps never overshoot.")
        else:
            finite = main.fs[np.isfinite(main.fs)]
            low = float(finite.min()) if finite.size else float("nan")
            paragraphs.append(
                f"{label} ran away at step {main.diverged_at}. "
                + (f"f fell to {_n(low, 3)} along the way, which suggests f is unbounded below in "
                   "the direction the iterates took." if low < -1e6 else
                   "The steps grew instead of shrinking: the learning rate is too large for "
                   "the curvature the run met."))
    elif status == "domain":
        paragraphs.append(
            f"{label} left the domain of f at step {main.domain_at}: {main.detail}. There f "
            "or its gradient has no real value, so the run cannot continue. One step was long "
            "enough to carry the iterate across the edge of the region where f is defined; a "
            "smaller learning rate, or a start farther inside that region, keeps it there.")
        takeaways.append("Where f is defined on part of the space only (√, log, asin, 1/x), "
                         "a step that is too long can jump out of it: near the edge, take "
                         "smaller steps.")
    else:
        gnorm = float(main.grad_norms[-1])
        if not b.d.critical_points:
            first = float(main.grad_norms[0])
            fading = gnorm < 1e-2 * first
            text = (f"{label} used all {main.steps} steps and was still moving (|∇f| ≈ "
                    f"{_n(gnorm, 2)}, f ≈ {_n(float(main.fs[-1]), 4)}). f has no critical "
                    "point, so there is no minimum to reach. ")
            if fading:
                text += ("f keeps decreasing toward a floor it never attains, and the gradient "
                         "fades on the way, so the steps become tiny. With saturating functions "
                         "such as σ this is the vanishing-gradient problem.")
                takeaways.append("A small gradient does not mean a minimum: check that one "
                                 "exists.")
            else:
                text += ("The gradient does not fade, so f falls without bound: descent would "
                         "go on forever, however many steps it is given.")
                takeaways.append("Descent needs something to descend to: on a function that is "
                                 "unbounded below it never stops.")
            paragraphs.append(text)
        else:
            reason = _slow_reason(b, main)
            paragraphs.append(
                f"{label} used all {main.steps} steps without meeting the tolerance "
                f"(|∇f| ≈ {_n(gnorm, 2)} at the end, f ≈ {_n(float(main.fs[-1]), 6)}). {reason}")

    others = [r for r in runs if r is not main]
    if others:
        parts = []
        for r in others:
            st = r.status.value
            if st == "converged":
                target = b.nearest_point(r.xs[-1])
                where = f" at the {target.kind} {floats_plain(target.as_floats())}" \
                    if target is not None else ""
                if target is None and not b.d.critical_points:
                    parts.append(f"{_label(r.method)} met the tolerance after {r.steps} steps "
                                 "on a flat stretch, not at a critical point")
                else:
                    parts.append(f"{_label(r.method)} converged in {r.steps} steps{where}")
            elif st == "diverged":
                parts.append(f"{_label(r.method)} ran away at step {r.diverged_at}")
            elif st == "domain":
                parts.append(f"{_label(r.method)} left the domain of f at step {r.domain_at}")
            elif st == "singular":
                parts.append(f"{_label(r.method)} stopped where the Hessian is singular")
            else:
                parts.append(f"{_label(r.method)} was still moving after {r.steps} steps "
                             f"(|∇f| ≈ {_n(float(r.grad_norms[-1]), 2)})")
        text = "For comparison: " + "; ".join(parts) + "."
        converged = [r for r in runs if r.status.value == "converged"
                     and b.nearest_point(r.xs[-1]) is not None]
        if len(converged) >= 2:
            fastest = min(converged, key=lambda r: r.steps)
            text += f" {_label(fastest.method)} needed the fewest steps here."
        if any(r.method in ("momentum", "nesterov") for r in others):
            text += (" Momentum carries part of each step into the next, which speeds travel "
                     "along shallow valleys" + (" but can overshoot and circle a minimum."
                                                if minima else " and away from the start."))
        if any(r.method in ("adam", "rmsprop", "adagrad") for r in others):
            text += (" Adam (like RMSProp and Adagrad) divides each coordinate's step by a "
                     "running size of its gradient, so its steps are about η long whatever the "
                     "gradient's size" + (": robust far away, but it jitters near a minimum "
                                          "unless η shrinks." if minima else
                                          ", even where the gradient is tiny or huge."))
        if any(r.method == "newton" for r in others):
            text += (" Newton's method rescales the step by the inverse Hessian: on a quadratic "
                     "it lands on the critical point in one step, whether that point is a "
                     "minimum or a saddle.")
        paragraphs.append(text)

    if regime_runs:
        observed = "; ".join(f"η = {_n(rate, 3)}: {kind}" for rate, _, kind in regime_runs)
        kinds = [kind for _, _, kind in regime_runs]
        if kinds == ["monotone", "oscillating", "divergent"]:
            paragraphs.append("The learning-rate panel shows all three regimes of plain descent, "
                              f"as the curvature predicts ({observed}).")
        else:
            paragraphs.append(f"In the learning-rate panel plain descent was {observed}.")
    if not takeaways:
        takeaways.append("Step against the gradient: it is the direction in which f falls "
                         "fastest (θ = 180°).")
    takeaways.append("The Hessian's largest eigenvalue caps the learning rate (η < 2/λ_max); "
                     "its smallest positive one sets how slowly the last stretch goes.")
    if minima and len(minima) > 1:
        takeaways.append("On a non-convex function the start point decides which minimum you "
                         "get.")
    return {"paragraphs": paragraphs, "takeaways": takeaways}


def _contraction(b: _Builder, target: CriticalPoint, rate: float) -> float | None:
    import numpy as np

    h = b.hess_at(list(target.as_floats()))
    if not np.isfinite(h).all():
        return None
    eig = np.linalg.eigvalsh((h + h.T) / 2)
    if eig.min() <= 1e-12:
        return None
    return float(np.abs(1 - rate * eig).max())


def _slow_reason(b: _Builder, run: Trajectory) -> str:
    import numpy as np

    target = None
    candidates = [p for p in b.isolated_points() if p.kind in ("minimum", "degenerate")]
    for p in candidates:
        if target is None or np.abs(np.asarray(p.as_floats()) - run.xs[-1]).max() < np.abs(
                np.asarray(target.as_floats()) - run.xs[-1]).max():
            target = p
    if target is None:
        return ("No minimum was found for it to approach; the steps stayed small because the "
                "gradient did.")
    if target.kind == "degenerate":
        where = floats_plain(target.as_floats())
        convex = b.d.convexity.verdict in ("convex", "strictly convex")
        return (f"It is creeping toward the critical point {where}. The Hessian is zero there, "
                "so the second-derivative test cannot classify it, but f "
                + ("is convex, so this is its global minimum: a flat-bottomed one. "
                   if convex else "was lowest there along the whole run: it behaves like a "
                   "flat-bottomed minimum. ")
                + "With no curvature at the bottom, the gradient shrinks faster than the "
                "distance to it (for x⁴ the slope is 4x³), so every step is shorter than the "
                "last and progress is sublinear: no learning rate makes it fast and stable "
                "at once.")
    h = b.hess_at(list(target.as_floats()))
    if not np.isfinite(h).all():
        return "The curvature near the minimum is undefined, which slows the final approach."
    eig = np.linalg.eigvalsh((h + h.T) / 2)
    where = floats_plain(target.as_floats())
    if eig.min() <= 1e-9 * max(1.0, float(np.abs(eig).max())):
        return (f"It is heading for the minimum {where}, but the Hessian there has a zero "
                "eigenvalue: the bowl is flat at the bottom, the gradient shrinks faster than "
                "the distance, and the steps get ever shorter (sublinear convergence).")
    kappa = float(eig.max() / eig.min())
    return (f"It is heading for the minimum {where} through a narrow valley: the Hessian there "
            f"has eigenvalues from {_n(eig.min(), 3)} to {_n(eig.max(), 3)} (condition number "
            f"≈ {_n(kappa, 3)}). η must stay below 2/λ_max to be stable, and then the steps along "
            "the flat direction cover only a sliver of the distance each time.")
