"""Functions the API tests differentiate (defined in a file so their source is readable)."""

import math
from math import sin as sine

import numpy as np

SCALE = 2.5


def poly(x, y=2.0, *, power=3.0):
    return x ** power + y * x


def uses_globals(x):
    return SCALE * sine(x) + math.pi


def reassigns(x, y):
    x = x * 2
    x *= y
    a, b = x, y
    return a * b + x


def raises_at_runtime(x):
    return math.log(x)


def make_closure(c):
    def inner(x):
        return c * x * x
    return inner


def ignores_y(x, y):
    return x * 3.0


def counted(x, n: int):
    return x * n


@np.vectorize
def not_python(x):  # a numpy.vectorize object: no Python source of its own
    return x


def numpy_constants(x):
    return np.pi * x + np.e
