"""The helpers generated code defines for itself, against the NumPy they stand for."""

from __future__ import annotations

import numpy as np
import pytest

from s2sad import helpers

INDICES = [
    3, np.int64(1), -1, (2, 1), (np.int32(0), slice(1, None)), (slice(None), 2),
    np.array([0, 3, 0]), [1, 1], (np.array([0, 0]), 1), np.array([True, False, True, False]),
    (),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_add_at_is_np_add_at(index):
    g = np.arange(12.0).reshape(4, 3)
    expected = g.copy()
    v = np.full(np.shape(expected[index]), 0.5) if np.ndim(expected[index]) else 0.5
    np.add.at(expected, index, v)
    helpers._add_at(g, index, v)
    assert np.array_equal(g, expected)


def test_add_at_adds_twice_where_an_entry_repeats():
    g = np.zeros(3)
    helpers._add_at(g, np.array([2, 2, 0]), np.array([1.0, 2.0, 4.0]))
    assert np.array_equal(g, [4.0, 0.0, 3.0])


@pytest.mark.parametrize("x", [
    np.ones((2, 3), dtype=np.float32), np.ones((4, 5))[::2, 1:], np.array(2.5), [1.0, 2.0],
    np.ones(3, dtype=np.int64), 3.0,
], ids=["float32", "view", "0-d", "list", "int64", "number"])
def test_zeros_is_np_zeros_like(x):
    got, expected = helpers._zeros(x), np.zeros_like(x)
    assert type(got) is type(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert not np.any(got)
    got[...] = 1  # writable, and its own storage
    assert not np.shares_memory(got, np.asarray(x))
