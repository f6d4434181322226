"""Run regimes: is a finished gradient-descent run monotone, oscillating or divergent?

:func:`classify_run` judges a whole :class:`~symgd.numeric.runner.Trajectory` (or each start of a
batch): ``"divergent"`` (it diverged or left the domain of f, ended higher than it began, or its
gradient and step lengths were still growing), ``"oscillating"`` (two consecutive steps point
more than 90° apart) or ``"monotone"``. :func:`classify_along` judges only the component of the
iterates along one direction (at a saddle, a run escapes along another direction whatever the
learning rate), with :func:`classify_signal`. The thresholds that predict these regimes are in
:mod:`symgd.calculus.curvature`.

>>> classify_signal([1.0, -0.2, 0.04, -0.008])
'oscillating'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

REGIMES = ("monotone", "oscillating", "divergent")


def classify_run(run: Any) -> Any:
    """``"monotone"``, ``"oscillating"`` or ``"divergent"`` for a Trajectory (a list for a batch).

    Divergent: the run diverged or left the domain of f (a step too long for the region where
    f is defined), or (for descent) f ended higher than it started, or the
    gradient norm grew overall while the last three step lengths kept growing. Oscillating:
    two consecutive steps of non-negligible length point more than 90° apart. Otherwise
    monotone.
    """
    if run.xs.ndim == 3:
        statuses = run.row_status()
        return [
            _classify(
                run.xs[:, i],
                run.fs[:, i],
                run.grad_norms[:, i],
                statuses[i].value in _RAN_OFF,
                run.method == "ascent",
            )
            for i in range(run.xs.shape[1])
        ]
    return _classify(
        run.xs, run.fs, run.grad_norms, run.status.value in _RAN_OFF, run.method == "ascent"
    )


#: statuses that count as divergent whatever the path looked like
_RAN_OFF = ("diverged", "domain")


def _classify(xs: np.ndarray, fs: np.ndarray, gn: np.ndarray, diverged: bool, ascent: bool) -> str:
    if diverged:
        return "divergent"
    with np.errstate(all="ignore"):
        # drop repeated points at the end (a batch start that stopped early)
        steps = np.diff(xs, axis=0)
        lengths = np.linalg.norm(steps, axis=1)
        moving = np.flatnonzero(lengths > 0)
        if moving.size == 0:
            return "monotone"
        last = int(moving[-1])
        steps, lengths = steps[: last + 1], lengths[: last + 1]
        fs, gn = fs[: last + 2], gn[: last + 2]
        worse = (fs[-1] < fs[0]) if ascent else (fs[-1] > fs[0])
        growing = len(lengths) >= 3 and bool(np.all(np.diff(lengths[-3:]) > 0))
        if worse or (gn[-1] > gn[0] and growing):
            return "divergent"
        big = lengths > 1e-9 * lengths.max()
        dots = np.einsum("ij,ij->i", steps[:-1], steps[1:])
        reversals = dots < 0
        if np.any(reversals & big[:-1] & big[1:]):
            return "oscillating"
    return "monotone"


def classify_along(
    run: Any, reference: Sequence[float], direction: Any, *, along_only: bool = False
) -> str:
    """``"monotone"``, ``"oscillating"`` or ``"divergent"`` for a gradient-descent run.

    ``along_only`` judges only the component of ``x_k − reference`` along ``direction`` (used
    at a saddle, where the run escapes along another direction whatever the learning rate).
    """
    if run.status.value == "domain":
        return "divergent"  # a step long enough to leave the region where f is defined
    if not along_only:
        return str(classify_run(run))
    signal = (run.xs - np.asarray(reference)) @ np.asarray(direction)
    return classify_signal(signal)


def classify_signal(signal: Any) -> str:
    """Classify the distance to a point along one direction, step by step."""
    values = np.asarray(signal, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return "monotone"
    first = abs(float(values[0]))
    if (
        len(values) >= 3
        and abs(float(values[-1])) > 2 * max(first, 1e-300)
        and abs(float(values[-1])) > abs(float(values[-2]))
    ):
        return "divergent"
    significant = values[np.abs(values) > 1e-9 * max(float(np.abs(values).max()), 1e-300)]
    signs = np.sign(significant)
    if len(signs) >= 2 and (signs[1:] != signs[:-1]).any():
        return "oscillating"
    return "monotone"
