"""First writes into a fresh zero array: ``g[s] += v`` where nothing was written yet is
``g[s] = v`` (``passes.extents`` proves the parts apart; the emitter prints them).

An LSTM splits its gates into four slices, ``gates[:n]`` ... ``gates[3 * n:]``; the adjoint
of the gates is built in zeros by index, one slice at a time, inside the reversed loop.
Each gradient here is checked against central differences, also where the parts overlap
(``+=`` must stay).
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad
from s2sad import frontend
from s2sad.ir import Op, regions_of
from s2sad.passes.extents import Extents

from .oracles import array_close, array_gradient


def parts(x, y):
    n = x.shape[0]
    a = x[:n]
    b = x[n:2 * n]
    c = x[2 * n:3 * n]
    d = x[3 * n:]
    e = x[1]
    f = x[3]
    g = x[:, 0]
    h = x[:, 1]
    k = x[1:n]
    m = y.shape[0]
    p = x[m:]
    q = x[-1]
    r = x[-2]
    s = x[::2]
    t = x[1::2]
    return a, b, c, d, e, f, g, h, k, p, q, r, s, t


def _index_ops(fn):
    found = {}

    def walk(body):
        for stmt in body:
            if isinstance(stmt, Op) and stmt.prim.value == "getitem" \
                    and stmt.args[0].name == "x":
                found[stmt.result.name] = (dict(stmt.params)["index"].value, stmt.args[1:])
            for region in regions_of(stmt):
                walk(region.body)

    walk(fn.body)
    return found


@pytest.fixture(scope="module")
def extents():
    fn = frontend.lower(frontend.from_function(parts)).fn
    return Extents(fn), _index_ops(fn)


@pytest.mark.parametrize("one, other, apart", [
    ("a", "b", True), ("b", "c", True), ("c", "d", True), ("a", "d", True),
    ("b", "d", True), ("a", "c", True),
    ("e", "f", True),    # two literal entries
    ("g", "h", True),    # columns: apart along the second axis, the first alike
    ("a", "k", False),   # x[:n] and x[1:n] overlap
    ("e", "k", False),   # x[1] is in x[1:n]
    ("f", "b", False),   # x[3] against x[n:2n]: n is not known
    ("a", "p", False),   # another array's length: not comparable with n
    ("q", "r", False),   # negative entries are counted from an end: left alone
    ("s", "t", False),   # slices with a step: left alone
    ("d", "d", False),
])
def test_parts_apart(extents, one, other, apart):
    known, regions = extents
    assert known.apart(regions[one], regions[other]) is apart
    assert known.apart(regions[other], regions[one]) is apart


def gates(W, xs, h0):
    n = h0.shape[0]
    h = h0
    s = 0.0
    for t in range(xs.shape[0]):
        z = W @ np.concatenate([xs[t], h])
        i = np.tanh(z[:n])
        f = 1 / (1 + np.exp(-z[n:2 * n]))
        o = np.sin(z[2 * n:3 * n])
        g = z[3 * n:] ** 2
        h = i * f + o * g
        s = s + np.sum(h ** 2)
    return s


def overlapping(X):
    s = 0.0
    for k in range(X.shape[0]):
        row = X[k] * 2
        s = s + np.sum(np.sin(row[:2]) * row[1:3]) + row[0] * row[2] + np.sum(row[3:])
    return s


def test_slices_of_the_gates_are_assigned_and_right():
    rng = np.random.default_rng(0)
    n, m, steps = 3, 2, 4
    W = 0.5 * rng.normal(size=(4 * n, m + n))
    xs, h0 = rng.normal(size=(steps, m)), rng.normal(size=n)
    grad = s2sad.grad(gates, wrt=(0, 2))
    text = s2sad.source(grad)
    assigned = [line.strip() for line in text.splitlines() if "] = " in line]
    assert len(assigned) == 4, text  # each slice's first (and only) write
    assert not any("] += " in line for line in text.splitlines()), text
    dW, dh0 = grad(W, xs, h0)
    assert array_close(dW, array_gradient(gates, (W, xs, h0), 0))
    assert array_close(dh0, array_gradient(gates, (W, xs, h0), 2))


def test_overlapping_parts_keep_adding():
    """A row's adjoint built in zeros, backwards: row[3:], row[2] and row[0] go where
    nothing was written and are assigned; row[1:3] meets row[2], and row[:2] meets row[0]:
    they add."""
    X = np.array([[0.3, -1.1, 0.7, 2.0, 0.5], [1.2, 0.4, -0.6, 0.1, -0.9]])
    grad = s2sad.grad(overlapping)
    lines = [line.strip() for line in s2sad.source(grad).splitlines()]
    assert sum("] = " in line for line in lines) == 3, lines
    assert sum("] += " in line for line in lines) == 3, lines  # with dsdX[k] += ...
    assert array_close(grad(X), array_gradient(overlapping, (X,), 0))


def entries(x):
    return x[0] * 2.5 + x[1] ** 2 + np.sum(np.sin(x[2:]))


def split_rows(X):
    s = 0.0
    for k in range(X.shape[0]):
        row = X[k] * 2
        s = s + np.sum(np.sin(row[:2])) + np.sum(0.25 * row[2:])
    return s


@pytest.mark.parametrize("f, x", [
    (entries, np.array([1, 2, 3, 4])),
    (split_rows, np.array([[1, 0, 2, 1], [0, 1, 1, 3], [2, 2, 0, 1]])),
], ids=["entries", "rows in a loop"])
def test_integer_input_gets_a_float_adjoint(f, x):
    """The adjoint of integers written by index starts from zeros of floats (``_zeros``):
    ``d[0] += 2.5`` into integers kept 2 (and ``d[2:] += v`` raised)."""
    grad = s2sad.grad(f)
    got = grad(x)
    assert got.dtype == np.float64
    assert array_close(got, array_gradient(f, (x.astype(float),), 0))
    assert np.array_equal(got, grad(x.astype(float)))
    single = grad(x.astype(np.float32))  # floats keep their precision
    assert single.dtype == np.float32 and np.allclose(single, got, rtol=1e-5, atol=1e-6)
