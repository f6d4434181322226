"""What the figures show, as plain numbers: paths, regions, markers, sampled surfaces and curves.

No matplotlib here: the lesson builds these records (and samples f on grids) before any figure is
drawn, and :mod:`symgd.render.figures` draws them. Colours come from the optimizer registry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symgd.numeric.optimizers import OPTIMIZERS

#: Okabe–Ito colours: distinguishable with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
#: optimizer name -> the colour of its paths (each spec's ``colour``)
METHOD_COLOURS = {name: spec.colour for name, spec in OPTIMIZERS.items()}
KIND_MARKERS = {
    "minimum": ("o", "#009E73"),
    "maximum": ("^", "#D55E00"),
    "saddle": ("X", "#CC79A7"),
    "degenerate": ("D", "#777777"),
}


@dataclass(frozen=True)
class PathData:
    """One run, as the figures need it: iterates, values, gradient norms, a label, a colour."""

    label: str
    xs: np.ndarray  # (k, n) iterates, finite
    fs: np.ndarray  # (k,)
    grad_norms: np.ndarray  # (k,)
    colour: str = PALETTE[0]
    diverged: bool = False
    steps: np.ndarray | None = None  # the step number of each row, when rows were thinned


@dataclass(frozen=True)
class Region:
    """The box a figure shows: ``lo[i] <= x_i <= hi[i]``."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    def contains(self, point: Sequence[float]) -> bool:
        return all(a <= p <= b for a, p, b in zip(self.lo, point, self.hi, strict=True))


@dataclass(frozen=True)
class Marker:
    """A labelled point: a critical point (kind in :data:`KIND_MARKERS`) or ``"start"``.

    In one-variable figures ``point`` is ``(x, f(x))``.
    """

    point: tuple[float, ...]
    kind: str
    label: str = ""


@dataclass(frozen=True)
class Regime:
    """One learning rate of the learning-rate panel and the run it produced."""

    title: str
    path: PathData
    series: np.ndarray = field(default_factory=lambda: np.zeros(0))  # 1-D signal per step


@dataclass(frozen=True)
class Surface:
    """f sampled on a grid over a region, with unit −∇f arrows on a coarser grid."""

    region: Region
    xs: np.ndarray  # (m,)
    ys: np.ndarray  # (k,)
    zs: np.ndarray  # (k, m), NaN where f is undefined
    arrows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None  # x, y, u, v


@dataclass(frozen=True)
class Curve:
    """f of one variable sampled over a region, with tangent lines ``(x, f(x), f'(x))``."""

    region: Region
    xs: np.ndarray
    fs: np.ndarray
    tangents: tuple[tuple[float, float, float], ...] = ()


def sample_surface(
    f_batch: Callable[..., Any],
    grad_batch: Callable[..., Any],
    region: Region,
    *,
    resolution: int = 140,
    arrows: int = 13,
) -> Surface:
    """Evaluate f on a grid (and −∇f, normalised, on a coarser one) for contour figures."""
    (x0, y0), (x1, y1) = region.lo, region.hi
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    gx, gy = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        z = np.asarray(np.broadcast_to(f_batch(gx, gy), gx.shape), dtype=float)
        z = np.where(np.isfinite(z), z, np.nan)
        arrow_data = None
        if arrows:
            ax_, ay_ = np.meshgrid(
                np.linspace(x0, x1, arrows + 2)[1:-1], np.linspace(y0, y1, arrows + 2)[1:-1]
            )
            u, v = grad_batch(ax_, ay_)
            u = -np.broadcast_to(np.asarray(u, dtype=float), ax_.shape)
            v = -np.broadcast_to(np.asarray(v, dtype=float), ax_.shape)
            norm = np.hypot(u, v)
            defined = np.isfinite(np.broadcast_to(f_batch(ax_, ay_), ax_.shape))
            ok = np.isfinite(norm) & (norm > 0) & defined
            safe = np.where(ok, norm, 1.0)
            arrow_data = (ax_[ok], ay_[ok], (u / safe)[ok], (v / safe)[ok])
    return Surface(region, xs, ys, z, arrow_data)


def sample_curve(
    f_batch: Callable[..., Any],
    df_batch: Callable[..., Any],
    region: Region,
    tangent_points: Sequence[float] = (),
    *,
    resolution: int = 400,
) -> Curve:
    """Evaluate f (and the tangent lines at ``tangent_points``) for a one-variable figure."""
    lo, hi = region.lo[0], region.hi[0]
    xs = np.linspace(lo, hi, resolution)
    tangents = []
    with np.errstate(all="ignore"):
        fs = np.asarray(np.broadcast_to(f_batch(xs), xs.shape), dtype=float)
        for point in tangent_points:
            if not lo <= point <= hi:
                continue
            at = np.array([point])
            y0 = float(np.asarray(f_batch(at), dtype=float).reshape(-1)[0])
            slope = float(np.asarray(df_batch(at), dtype=float).reshape(-1)[0])
            if math.isfinite(y0) and math.isfinite(slope):
                tangents.append((float(point), y0, slope))
    return Curve(region, xs, np.where(np.isfinite(fs), fs, np.nan), tuple(tangents))


# -- choosing what to show -------------------------------------------------------------------


def choose_region(
    start: Sequence[float],
    anchors: Sequence[Sequence[float]] = (),
    paths: Sequence[np.ndarray] = (),
    *,
    margin: float = 0.08,
) -> Region:
    """A box around the start and the anchors (critical points), grown to take in the paths.

    The box is at least 3 wide in each direction, so that the shape of f around the points
    shows. Paths may stretch it by at most twice that size on each side, so a run that escapes
    to infinity leaves the box instead of squashing everything else.
    """
    core = np.array([list(start), *[list(a) for a in anchors]], dtype=float)
    core = core[np.isfinite(core).all(axis=1)]
    lo, hi = core.min(axis=0), core.max(axis=0)
    centre = (lo + hi) / 2
    least = 1.5  # half-width: enough of f's shape around the points to read it
    lo, hi = np.minimum(lo, centre - least), np.maximum(hi, centre + least)
    size = float((hi - lo).max())
    limit_lo, limit_hi = centre - 2 * size, centre + 2 * size
    for xs in paths:
        pts = np.asarray(xs, dtype=float).reshape(-1, core.shape[1])
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts):
            lo = np.minimum(lo, np.maximum(pts.min(axis=0), limit_lo))
            hi = np.maximum(hi, np.minimum(pts.max(axis=0), limit_hi))
    pad = margin * (hi - lo) + 0.05 * size
    lo, hi = lo - pad, hi + pad
    if len(lo) == 2:  # keep the aspect near 1 so circles look like circles
        half = (hi - lo) / 2
        mid = (hi + lo) / 2
        wide = max(half)
        half = np.maximum(half, wide / 1.6)
        lo, hi = mid - half, mid + half
    return Region(tuple(_nice_floor(v) for v in lo), tuple(_nice_ceil(v) for v in hi))


def _nice_floor(value: float) -> float:
    step = _nice_step(value)
    return math.floor(value / step) * step


def _nice_ceil(value: float) -> float:
    step = _nice_step(value)
    return math.ceil(value / step) * step


def _nice_step(value: float) -> float:
    magnitude = abs(value)
    if magnitude < 1:
        return 0.1
    step: float = 10 ** math.floor(math.log10(magnitude)) / 2
    return step
