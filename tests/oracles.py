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


# --- arrays ---------------------------------------------------------------------------

def array_gradient(f: Callable[..., object], args: Sequence[object], i: int,
                   rel_step: float = 1e-6):
    """d f / d args[i] for a scalar ``f`` of arrays, entry by entry, by central differences
    in float64 (the entry's step is relative to its size)."""
    import numpy as np

    x = np.array(args[i], dtype=np.float64)
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        h = rel_step * max(1.0, abs(float(x[k])))
        values = []
        for sign in (1.0, -1.0):
            moved = x.copy()
            moved[k] += sign * h
            point = list(args)
            point[i] = moved if x.ndim else float(moved)
            values.append(float(np.sum(f(*point))))
        grad[k] = (values[0] - values[1]) / (2 * h)
    return grad


def directional_derivative(f: Callable[..., object], args: Sequence[object],
                           tangents: Sequence[object], h: float = 1e-6):
    """(f(args + h t) - f(args - h t)) / 2h for array-valued ``f``: J t by central
    differences, along all the tangents at once."""
    import numpy as np

    up = [np.asarray(a, dtype=np.float64) + h * np.asarray(t) for a, t in zip(args, tangents)]
    down = [np.asarray(a, dtype=np.float64) - h * np.asarray(t)
            for a, t in zip(args, tangents)]
    up = [u if np.ndim(u) else float(u) for u in up]
    down = [d if np.ndim(d) else float(d) for d in down]
    return (np.asarray(f(*up), dtype=np.float64) - np.asarray(f(*down), dtype=np.float64)) \
        / (2 * h)


def dot_product_gap(jvp_out, tangents, vjp_grads, cotangent) -> tuple[float, float]:
    """``<J v, w>`` and ``<v, Jᵀ w>``: forward and reverse mode agree when these do."""
    import numpy as np

    forward = float(np.sum(np.asarray(jvp_out) * np.asarray(cotangent)))
    reverse = float(sum(np.sum(np.asarray(g) * np.asarray(t))
                        for g, t in zip(vjp_grads, tangents)))
    return forward, reverse


def array_close(actual, expected, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """Finite-difference agreement for arrays: relative to the largest entry."""
    import numpy as np

    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    return bool(np.all(np.abs(actual - expected) <= atol + rtol * scale))
