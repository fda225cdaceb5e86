"""Independent oracles: central finite differences in float64 and the dot-product test.

Nothing here uses s2sad; tests compare s2sad's derivatives against these.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def central_difference(f: Callable[..., float], args: Sequence[float], i: int,
                       rel_step: float = 1e-6) -> float:
    """d f / d args[i] by a central difference with a step relative to |args[i]|."""
    h = rel_step * max(1.0, abs(args[i]))
    up = list(args)
    down = list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


def fd_tolerance(value: float, scale: float = 1.0) -> float:
    """A tolerance for a central difference: truncation O(h^2), rounding O(eps/h)."""
    return 1e-5 * max(1.0, abs(value), abs(scale))


def close(a: float, b: float, tol: float) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
