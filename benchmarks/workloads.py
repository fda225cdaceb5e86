"""The functions the control-flow benchmark times, and the hand-written references.

The workload is the control-flow milestone's scalar loop: ``n`` iterations of
``a = a * y + sin(a)``, differentiated with respect to both ``a`` and ``y``. From
``a = y = 0.5`` the iterate climbs to the fixed point ``sin(a) = a / 2`` (a ~ 1.895) and
stays there, so every value is bounded. The loop is contracting there (``y + cos(a)`` ~
0.18), so at n = 1000 the partial with respect to ``a`` underflows to exactly 0.0 after
~435 backward steps; ``∂/∂y`` ~ 2.314 stays O(1). The correctness checks in ``run.py``
therefore also compare at small ``n``, where both partials are O(1).

    >>> round(scalar_loop(A0, Y0), 6)
    1.895494
    >>> ga, gy = hand_grad_scalar_loop(A0, Y0, 10)
    >>> abs(ga) > 1e-9 and abs(gy) > 1.0
    True

The hand-written gradient is what a person writes without a tool: keep the iterates in a
list, walk it backwards. It is the reference the milestone's issue gives (~2.7x primal).
Peers (autograd, JAX, PyTorch) need their own ``sin`` on traced values, so they get the
same loop built around that ``sin`` by ``loop_with``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

N = 1000      # iterations of the scalar loop
A0 = 0.5      # starting point of the benchmark
Y0 = 0.5


def scalar_loop(a, y, n=N):
    for i in range(n):  # noqa: B007 -- the milestone's loop, as the issue writes it
        a = a * y + math.sin(a)
    return a


def hand_grad_scalar_loop(a, y, n=N):
    """Reverse mode by hand: store the iterates, then one backward loop."""
    stored = []
    for _ in range(n):
        stored.append(a)
        a = a * y + math.sin(a)
    da = 1.0   # d(result) / d(current a)
    dy = 0.0
    for a_i in reversed(stored):
        dy += a_i * da
        da *= y + math.cos(a_i)
    return da, dy


def hand_jvp_scalar_loop(a, y, n, da, dy):
    """Forward mode by hand (dual numbers), with ``jvp``'s calling convention."""
    for _ in range(n):
        a, da = a * y + math.sin(a), da * (y + math.cos(a)) + a * dy
    return a, da


def central_differences(f: Callable, a: float, y: float, n: int,
                        rel_step: float = 1e-6) -> tuple[float, float]:
    """Both partials of ``f(a, y, n)`` by central differences: four primal calls."""
    ha = rel_step * max(1.0, abs(a))
    hy = rel_step * max(1.0, abs(y))
    da = (f(a + ha, y, n) - f(a - ha, y, n)) / (2 * ha)
    dy = (f(a, y + hy, n) - f(a, y - hy, n)) / (2 * hy)
    return da, dy


def loop_with(sin: Callable) -> Callable:
    """``scalar_loop`` with another library's ``sin`` (for autograd, JAX, PyTorch)."""
    def scalar_loop_peer(a, y, n=N):
        for i in range(n):  # noqa: B007
            a = a * y + sin(a)
        return a
    return scalar_loop_peer
