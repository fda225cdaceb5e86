"""The notes' second derivative (seeds/004): f(x) = 5 x**3, written as the notes write it."""


def f(x):
    a = x ** 3
    b = 5 * a
    return b
