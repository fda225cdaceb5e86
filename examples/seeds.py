"""The seed examples from the notes and the lecture, as plain functions.

Run it to see each derivative s2sad generates, and its value. The same derivatives, written
by the command line as standalone modules, are in ``examples/generated/``.
"""

import math


def foo(x, y):
    """The notes' listing: a = x + 5, b = a * y; so db/dx = y, db/dy = x + 5."""
    a = x + 5
    b = a * y
    return b


def f(x):
    """Dual numbers in the notes: f(x) = x**2 + 5, f'(3) = 6."""
    x_sq = x ** 2
    return x_sq + 5


def L(w1, w2):
    """The lecture's computational graph: L = w2 log w1 + sqrt(w2 log w1)."""
    return w2 * math.log(w1) + math.sqrt(w2 * math.log(w1))


def cube(x):
    """The notes' second derivative: f(x) = 5 x**3, f'(x) = 15 x**2, f''(x) = 30 x."""
    return 5 * x ** 3


if __name__ == "__main__":
    import s2sad

    grad_foo = s2sad.grad(foo, wrt=(0, 1))
    print(s2sad.source(grad_foo))
    print("grad_foo(2.0, 3.0) =", grad_foo(2.0, 3.0))
    print()
    jvp_f = s2sad.jvp(f)
    print(s2sad.source(jvp_f))
    print("jvp_f(3.0, 1.0) =", jvp_f(3.0, 1.0))
    print()
    print(s2sad.ir(L))
    grad_L = s2sad.grad(L, wrt=(0, 1))
    print(s2sad.source(grad_L))
    print("grad_L(2.0, 3.0) =", grad_L(2.0, 3.0))
    print()
    d2_cube = s2sad.grad(s2sad.grad(cube))  # the compiler applied to its own output
    print(s2sad.source(d2_cube))
    print("f''(2.0) =", d2_cube(2.0))
