"""Which iterates a single run keeps (:class:`PathKeeper`): every one, or a thinned path of
bounded size whose spacing doubles as the run grows, and in either case the last
:data:`~symgd.numeric.results.TAIL_POINTS` iterates, for the run's outcome."""

from __future__ import annotations

import numpy as np

from symgd.numeric.results import PATH_HEAD, PATH_POINTS, TAIL_POINTS


class PathKeeper:
    """The iterates one run keeps: every one (``whole``), or the first :data:`PATH_HEAD`, then
    every ``stride``-th (the stride doubles whenever more than :data:`PATH_POINTS` are held),
    and always the last one added."""

    def __init__(self, n: int, whole: bool) -> None:
        self.n = n
        self.whole = whole
        self.stride = 1
        self.count = 0
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.last: tuple[int, np.ndarray, float, float] | None = None
        self.recent = np.zeros((0, n))
        self.recent_end = -1

    def add(self, first: int, xs: np.ndarray, fs: np.ndarray, gn: np.ndarray) -> None:
        """Offer the iterates of steps ``first, first + 1, ...``."""
        m = len(xs)
        if m == 0:
            return
        self.last = (first + m - 1, xs[-1].copy(), float(fs[-1]), float(gn[-1]))
        self._remember(first, xs)
        steps = np.arange(first, first + m)
        if not self.whole:
            chosen = (steps < PATH_HEAD) | (steps % self.stride == 0)
            if not chosen.all():
                steps, xs, fs, gn = steps[chosen], xs[chosen], fs[chosen], gn[chosen]
        if len(steps):
            self.parts.append(
                (
                    steps,
                    np.asarray(xs, dtype=float),
                    np.asarray(fs, dtype=float),
                    np.asarray(gn, dtype=float),
                )
            )
            self.count += len(steps)
        while not self.whole and self.count > PATH_POINTS:
            self.stride *= 2
            steps, xs, fs, gn = self._joined()
            chosen = (steps < PATH_HEAD) | (steps % self.stride == 0)
            self.parts = [(steps[chosen], xs[chosen], fs[chosen], gn[chosen])]
            self.count = int(chosen.sum())

    def add_one(self, k: int, x: np.ndarray, f: float, g: float) -> None:
        """Offer the iterate of step ``k`` (the next one)."""
        if self.whole or k < PATH_HEAD or k % self.stride == 0:
            # a copy: the caller may update its iterate in place
            self.add(k, np.array(x, dtype=float).reshape(1, self.n), np.array([f]), np.array([g]))
        else:
            self.last = (k, np.array(x, dtype=float), float(f), float(g))
            self._remember(k, self.last[1].reshape(1, self.n))

    def _remember(self, first: int, xs: np.ndarray) -> None:
        """Keep the last :data:`TAIL_POINTS` iterates offered (steps ``first, ...``)."""
        if first != self.recent_end + 1:  # not the next step: start again
            self.recent = np.zeros((0, self.n))
        joined = np.concatenate([self.recent, np.asarray(xs, dtype=float)[-TAIL_POINTS:]])
        self.recent = joined[-TAIL_POINTS:]
        self.recent_end = first + len(xs) - 1

    def tail(self, end: int) -> np.ndarray:
        """The last iterates up to step ``end`` (at most :data:`TAIL_POINTS`, ``end`` last)."""
        if self.recent_end < end or not len(self.recent):
            return np.zeros((0, self.n))
        drop = self.recent_end - end
        return self.recent[: len(self.recent) - drop] if drop else self.recent

    def _joined(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if len(self.parts) == 1:
            return self.parts[0]
        steps, xs, fs, gn = zip(*self.parts, strict=True)
        return (np.concatenate(steps), np.concatenate(xs), np.concatenate(fs), np.concatenate(gn))

    def result(self, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(steps, xs, fs, grad_norms)`` up to step ``end`` (which must have been added)."""
        steps, xs, fs, gn = (
            self._joined()
            if self.parts
            else (np.zeros(0, dtype=np.int64), np.zeros((0, self.n)), np.zeros(0), np.zeros(0))
        )
        if len(steps) and steps[-1] > end:
            upto = steps <= end
            steps, xs, fs, gn = steps[upto], xs[upto], fs[upto], gn[upto]
        if self.last is not None and self.last[0] == end and (not len(steps) or steps[-1] < end):
            k, x, f, g = self.last
            steps = np.append(steps, k)
            xs = np.vstack([xs, x.reshape(1, self.n)])
            fs, gn = np.append(fs, f), np.append(gn, g)
        return steps, xs, fs, gn
