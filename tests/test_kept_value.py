"""What a gradient computes of the primal's own value (``transforms._value_if_cheap``).

A gradient keeps the function's value for the reader where that costs only arithmetic on
numbers (the notes' ``foo``/``dbdx`` listing computes ``b = a * y``); where it costs work
on arrays (a reduction, a square of an array) that the derivative does not need, the
value is not computed, and the adjoint comments quote what it was. Each gradient is also
checked against central differences or its closed form.
"""

from __future__ import annotations

import math

import numpy as np

import s2sad

from .oracles import array_close, array_gradient, central_difference, close, fd_tolerance


def waves(x, y):
    a = x * y
    b = math.sin(a)
    return b + a


def sum_of_squares(x):
    return np.sum((x - 1.0) ** 2)


def total_plus_square(x, y):
    return np.sum(x) + y * y


def squares(x):
    return x ** 2


def running(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(np.tanh(x * i))
    return s


def code(source: str) -> str:
    """``source`` without its comments."""
    return "\n".join(line for line in source.splitlines() if not line.strip().startswith("#"))


def primal_lines(source: str, name: str) -> list[str]:
    """The lines of ``name``'s body up to its first adjoint line (the seed or a comment)."""
    body = source[source.index(f"def {name}("):].splitlines()[1:]
    lines = []
    for line in body:
        if line.strip().startswith("#") or f"d{name}" in line or line.strip() == "":
            break
        lines.append(line.strip())
    return lines


def test_a_value_of_numbers_is_kept() -> None:
    g = s2sad.grad(waves, wrt=(0, 1))
    source = s2sad.source(g)
    assert "waves = b + a" in source  # the value, though nothing returned reads it
    x, y = 0.7, -1.3
    for k, got in enumerate(g(x, y)):
        expected = central_difference(waves, [x, y], k)
        assert close(got, expected, fd_tolerance(expected))
    assert close(g(x, y)[0], (math.cos(x * y) + 1) * y, 1e-15)


def test_array_work_only_the_value_needs_is_dropped() -> None:
    g = s2sad.grad(sum_of_squares)
    source = s2sad.source(g)
    assert "np.sum" not in code(source) and "** 2" not in code(source)
    assert "# adjoint of: t1 ** 2" in source  # the removed square, quoted
    x = np.array([0.5, 1.5, -2.0, 3.0])
    assert array_close(g(x), 2 * (x - 1.0), rtol=1e-15, atol=0)
    assert array_close(g(x), array_gradient(sum_of_squares, [x], 0))


def test_a_reduction_of_an_array_counts_as_array_work() -> None:
    """Every value dropped here is a number, but ``np.sum(x)`` reads a whole array."""
    g = s2sad.grad(total_plus_square, wrt=(0, 1))
    source = s2sad.source(g)
    assert "np.sum" not in code(source) and "y * y" not in code(source)
    x, y = np.array([1.0, -2.0, 4.0]), 1.5
    dx, dy = g(x, y)
    assert array_close(dx, np.ones(3), rtol=0, atol=0) and dy == 2 * y
    assert close(dy, central_difference(lambda y: total_plus_square(x, y), [y], 0), 1e-7)


def test_a_vjp_drops_the_value_and_quotes_it() -> None:
    g = s2sad.vjp(squares)
    source = s2sad.source(g)
    assert primal_lines(source, "vjp_squares") == []
    assert "# adjoint of: x ** 2" in source
    x, w = np.array([0.5, -1.0, 2.0]), np.array([1.0, 3.0, -2.0])
    assert array_close(g(x, w), 2 * x * w, rtol=1e-15, atol=0)


def test_a_loop_accumulating_reductions_drops_the_accumulation() -> None:
    g = s2sad.grad(running)
    source = s2sad.source(g)
    assert "np.sum" not in code(source) and "s = 0.0" not in source
    x = np.array([0.3, -0.2, 0.1])
    assert array_close(g(x, 4), array_gradient(lambda x: running(x, 4), [x], 0))
    expected = sum(i * (1 - np.tanh(x * i) ** 2) for i in range(4))
    assert array_close(g(x, 4), expected, rtol=1e-14, atol=1e-15)
