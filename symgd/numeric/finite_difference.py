"""Numerical gradients by finite differences: the loop beginners write first, kept here so that
every page that compares it with the exact gradient uses the same one.

>>> central_difference(lambda p: p[0] ** 2 + 3 * p[1], [1.0, 2.0])
[1.9999999999997797, 3.000000000006331]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: the step of the numerical gradient in the course notes
H = 1e-4

Function = Callable[[Sequence[float]], float]


def central_difference(f: Function, x: Sequence[float], h: float = H) -> list[float]:
    """(f(x + h eᵢ) − f(x − h eᵢ)) / 2h for each coordinate i: 2n evaluations of f."""
    point = [float(v) for v in x]
    result = []
    for i, value in enumerate(point):
        up = [*point[:i], value + h, *point[i + 1 :]]
        down = [*point[:i], value - h, *point[i + 1 :]]
        result.append((f(up) - f(down)) / (2 * h))
    return result


def forward_difference(f: Function, x: Sequence[float], h: float = H) -> list[float]:
    """(f(x + h eᵢ) − f(x)) / h for each coordinate i: n + 1 evaluations of f."""
    point = [float(v) for v in x]
    here = f(point)
    return [
        (f([*point[:i], value + h, *point[i + 1 :]]) - here) / h for i, value in enumerate(point)
    ]
