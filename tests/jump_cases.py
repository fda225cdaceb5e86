"""Loops that jump: break, continue, return inside loops (desugared into flags)."""

import math


def double_until(x, n: int):
    """Doubles x at most n times, stopping once it passes 10."""
    for _ in range(n):
        if x > 10.0:
            break
        x = x * 2.0
    return x


def odd_terms(x, y):
    """Sum over odd i < 6 of x*i + y: 9x + 3y."""
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            continue
        s = s + x * i + y
    return s


def first_above(x):
    """y = x * 1.5**k for the first k with y > 10, returned times x."""
    y = x
    while True:
        y = y * 1.5
        if y > 10:
            return y * x
    return 0.0


def search(x, y):
    """Nested loops; the inner return leaves both loops."""
    acc = x
    for i in range(4):
        for _ in range(3):
            acc = acc * y + math.sin(acc)
            if acc > 5.0:
                return acc * i, acc
    return acc, acc * 2.0


def skip_and_stop(x):
    total = 0.0
    k = 0
    while k < 20:
        k = k + 1
        if k % 3 == 0:
            continue
        total = total + x ** 2 / k
        if total > 4.0:
            break
    return total
