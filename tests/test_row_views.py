"""Adjoints of rows gathered in the adjoint's own array (``_row_of`` and ``_add_row``).

In a loop, the adjoint of ``row = A[i]`` read entry by entry is built as zeros written
into by ``row[j] += v`` and then added into ``dA`` at ``i``. The emitter prints it as
``t = _row_of(dA, i, row)`` ... ``_add_row(dA, i, t)``: where ``i`` is one integer, ``t``
is ``dA[i]`` itself, so each add lands in ``dA`` at once (as a hand-written
``dA[i, j] += v``); anywhere else, zeros and ``np.add.at``. Every gradient here is checked
against central differences, on both paths, and differentiated again.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2sad
from s2sad.helpers import _add_row, _row_of

from .oracles import array_close, array_gradient


def rows(A, idx):
    s = 0.0
    for k in range(idx.shape[0]):
        row = A[idx[k]]
        s = s + math.sin(row[0]) * row[1] + row[2] ** 2
    return s


def rows_in_branches(A, idx, flags):
    s = 0.0
    for k in range(idx.shape[0]):
        row = A[idx[k]]
        if flags[k]:
            s = s + row[0] * row[1]
        else:
            s = s + row[1] ** 2 - row[2]
    return s


def rows_and_the_whole(A, idx):
    """``A`` is also read whole in each step: its adjoint gets a contribution that is not
    a row's."""
    s = 0.0
    for k in range(idx.shape[0]):
        row = A[idx[k]]
        s = s + row[0] * row[1] + 0.1 * np.sum(A * A) * row[2]
    return s


CASES = [  # (index, x's shape inside g, g's shape): what _row_of may face
    (1, (3,), (4, 3)),
    (np.int64(2), (3,), (4, 3)),
    (-1, (3,), (4, 3)),
    (np.array([0, 2, 0]), (3,), (4,)),  # an index array with a repeat: zeros, add.at
    ((1, 2), (), (4, 3)),  # a tuple picks one entry: no row
]


@pytest.mark.parametrize("index, shape, g_shape", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_of_then_add_row_is_add_at_of_the_zeros(index, shape, g_shape, dtype):
    # quarters, so that every sum is exact in either order: where the row is g's own, the
    # adds land in g one by one (as `g[i, j] += v` by hand does), not summed first
    rng = np.random.default_rng(0)
    g = (rng.integers(-8, 8, size=g_shape) / 4).astype(dtype)
    x = np.ones(shape, dtype)
    adds = [(j, rng.integers(-8, 8) / 4) for j in [0, 1, 0]] if shape else []
    expected = g.copy()
    zeros = np.zeros_like(x)
    for j, v in adds:
        zeros[j] += v
    np.add.at(expected, index, zeros)
    row = _row_of(g, index, x)
    for j, v in adds:
        row[j] += v
    _add_row(g, index, row)
    assert np.array_equal(g, expected)
    assert row.shape == x.shape and row.dtype == x.dtype


@pytest.mark.parametrize("g", [
    np.zeros((6, 3))[::2],  # a view: its rows are views of another array
    np.zeros((2, 3), np.float32),  # another dtype than x's
    np.zeros((2, 4)),  # rows of another shape than x's
])
def test_row_of_gives_zeros_where_the_row_is_not_x_like(g):
    x = np.ones(3)
    before = g.copy()
    row = _row_of(g, 1, x)
    assert row.base is None and not row.any()
    row[0] += 1.0
    assert np.array_equal(g, before)  # nothing landed in g: _add_row will add it


def test_rows_of_a_matrix_are_gathered_in_its_adjoint():
    rng = np.random.default_rng(1)
    A, idx = rng.normal(size=(4, 3)), np.array([0, 2, 2, 3, 0, 2])
    grad = s2sad.grad(rows, wrt=0)
    text = s2sad.source(grad)
    assert " = _row_of(dsdA, " in text and "        _add_row(dsdA, " in text
    assert array_close(grad(A, idx), array_gradient(rows, (A, idx), 0))
    # float32 rows: the row is the adjoint's own (same dtype); against float64
    got = grad(A.astype(np.float32), idx)
    assert got.dtype == np.float32
    assert np.allclose(got, grad(A, idx), rtol=1e-5, atol=1e-5)


def test_rows_picked_by_index_arrays_fall_back_to_add_at():
    """``A`` one-dimensional and each index a row of an index array: ``A[idx[k]]`` is a
    gather with repeats, whose adjoint must add twice where an entry is picked twice."""
    rng = np.random.default_rng(2)
    A, idx = rng.normal(size=5), np.array([[0, 0, 1], [4, 3, 4]])
    grad = s2sad.grad(rows, wrt=0)
    assert array_close(grad(A, idx), array_gradient(rows, (A, idx), 0))


def test_rows_read_in_branches():
    rng = np.random.default_rng(3)
    A, idx = rng.normal(size=(3, 3)), np.array([0, 1, 1, 2, 0])
    flags = np.array([True, False, True, False, False])
    grad = s2sad.grad(rows_in_branches, wrt=0)
    assert array_close(grad(A, idx, flags), array_gradient(rows_in_branches, (A, idx, flags), 0))


def test_rows_of_an_array_also_read_whole():
    rng = np.random.default_rng(4)
    A, idx = rng.normal(size=(3, 3)), np.array([2, 1, 2])
    grad = s2sad.grad(rows_and_the_whole, wrt=0)
    assert array_close(grad(A, idx), array_gradient(rows_and_the_whole, (A, idx), 0))


def test_rows_gathered_differentiate_again():
    """Forward over reverse (hvp), and the generated gradient read back by the compiler
    (``_row_of`` as the zeros it stands for, ``_add_row`` as ``np.add.at``)."""
    rng = np.random.default_rng(5)
    A, idx = rng.normal(size=(4, 3)), np.array([1, 3, 1, 0])
    v = rng.normal(size=A.shape)
    grad = s2sad.grad(rows, wrt=0)
    h = 1e-6
    expected = (grad(A + h * v, idx) - grad(A - h * v, idx)) / (2 * h)
    assert array_close(s2sad.hvp(rows, wrt=0)(A, idx, v), expected)
    _, again = s2sad.jvp(grad, wrt=0)(A, idx, v)
    assert array_close(again, expected)


def whole_rows(A, idx):
    s = 0.0
    for k in range(idx.shape[0]):
        s = s + np.sum(np.sin(A[idx[k]]))
    return s


def test_a_gradient_adding_at_an_index_in_a_loop_differentiates_again():
    """``_add_at(dsdA, i, g)`` in the reversed loop writes a new ``dsdA``: the compiler,
    reading the gradient back, carries it around the loop (it returned the zeros the loop
    started from, and a zero derivative)."""
    rng = np.random.default_rng(6)
    A, idx = rng.normal(size=(4, 3)), np.array([1, 3, 1])
    v = rng.normal(size=A.shape)
    grad = s2sad.grad(whole_rows, wrt=0)
    assert "_add_at(dsdA, " in s2sad.source(grad)
    h = 1e-6
    expected = (grad(A + h * v, idx) - grad(A - h * v, idx)) / (2 * h)
    _, again = s2sad.jvp(grad, wrt=0)(A, idx, v)
    assert array_close(again, expected) and np.abs(expected).max() > 0.1
