# ruff: noqa: B007 -- loops written as users write them, counters unused
"""Loops marked for checkpointing, for ``test_checkpoint.py``. The directives are comments,
so these functions live in a file of their own (line numbers are part of the test)."""

import math

import numpy as np


def accum_loop(x, y):  # the seed's loop
    accum = x
    for i in range(1, 10):  # s2sad: checkpoint
        accum = accum * y
    return accum


def scalar_loop(a, y, n):
    for i in range(n):  # s2sad: checkpoint
        a = a * y + math.sin(a)
    return a


def scalar_loop_plain(a, y, n):
    for i in range(n):
        a = a * y + math.sin(a)
    return a


def rnn(W, h, xs):
    for t in range(xs.shape[0]):  # s2sad: checkpoint(states=2)
        h = np.tanh(W @ h + xs[t])
    return np.sum(h * h)


def until(a, y):
    # s2sad: checkpoint
    while a < 10.0:
        a = a * y + 1.0
    return a


def stop_early(x, n):
    s = 0.0
    for i in range(n):  # s2sad: checkpoint(3)
        s = s + math.sin(x * i)
        if s > 1.5:
            break
    return s


def over_list(xs, y):
    s = 0.0
    for v in xs:  # s2sad: checkpoint
        s = s * y + v
    return s


def backwards(x, y, n):
    for i in reversed(range(n)):  # s2sad: checkpoint(states=2)
        x = x * math.cos(y * i) + y
    return x


def nested(x, y):
    s = x
    for i in range(4):  # s2sad: checkpoint
        for j in range(3):
            s = s * y + math.sin(s + j)
    return s


def inner_only(x, y):
    s = x
    for i in range(4):
        for j in range(5):  # s2sad: checkpoint(states=2)
            s = s * y + math.cos(s * i)
    return s


def step(a, b):
    return a * b + math.sin(a)


def calls(x, y, n):
    for i in range(n):  # s2sad: checkpoint
        x = step(x, y)
    return x


def writes(x, n):
    out = np.zeros(n)
    a = x
    for i in range(n):  # s2sad: checkpoint
        a = np.sin(a) * 1.5
        out[i] = np.sum(a)
    return np.sum(out * out)


def two_carried(x, y, n):
    a, b = x, y
    for i in range(n):  # s2sad: checkpoint(states=3)
        a, b = a * math.cos(b), b + 0.1 * a * a
    return a + 2.0 * b


def code_above(x, n):
    s = x  # s2sad: checkpoint
    for i in range(n):
        s = s * 0.5 + math.sin(s)
    return s


def bad_directive(x, n):
    for i in range(n):  # s2sad: checkpoint(states=0)
        x = x * 2.0
    return x


def unknown_directive(x, n):
    # s2sad: recompute
    for i in range(n):
        x = x * 2.0
    return x


def nested_plain(x, y):
    s = x
    for i in range(4):
        for j in range(3):
            s = s * y + math.sin(s + j)
    return s


def list_of_matrices(ws, x):
    s = x
    for i in range(len(ws)):  # s2sad: checkpoint(states=2)
        s = np.tanh(ws[i] @ s)
    return np.sum(s)


def appends(x, n):
    acc = []
    s = x
    for i in range(n):  # s2sad: checkpoint
        s = s * 0.9 + math.sin(s)
        acc.append(s)
    return sum(acc)
