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
    np.ones(3, dtype=np.int64), np.ones(2, dtype=bool), 3.0, 3, [1, 2],
], ids=["float32", "view", "0-d", "list", "int64", "bool", "number", "int", "int list"])
def test_zeros_is_np_zeros_like_of_floats(x):
    """Zeros like x; of floats where x holds integers or booleans (an adjoint: `z[i] += v`
    into integers would cut v's fraction off, or raise)."""
    got = helpers._zeros(x)
    expected = np.zeros_like(x, dtype=np.result_type(np.asarray(x).dtype, np.float16)
                            if np.asarray(x).dtype.kind in "fc" else float)
    assert type(got) is type(expected)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert not np.any(got)
    got[...] = 1  # writable, and its own storage
    assert not np.shares_memory(got, np.asarray(x))


@pytest.mark.parametrize("g, v", [
    (np.arange(6.0).reshape(2, 3), np.full((2, 3), 0.5)),
    (np.ones(3, dtype=np.float32), np.ones(3, dtype=np.float32)),
    (np.ones(3, dtype=np.float32), np.ones(3)),               # the sum is float64: not g
    (np.zeros(3, dtype=np.int64), np.full(3, 0.25)),          # int g: += would raise
    (np.arange(6.0).reshape(2, 3), np.ones(3)),                # v broadcast into g: g
    (np.ones(3), np.ones((2, 3))),                            # g broadcast: a new array
    (np.array(1.5), np.array(2.0)),                           # 0-d: the sum is a scalar
    (np.broadcast_to(np.ones(3), (2, 3)), np.ones((2, 3))),   # read-only g
    (2.5, np.ones(3)), (np.ones(3), 2.5), (1.5, 2.25),
], ids=["float64", "float32", "float32+float64", "int+float", "v-broadcast", "g-broadcast",
        "0-d", "read-only", "number+array", "array+number", "numbers"])
def test_add_into_is_plus(g, v):
    """``_add_into(g, v)`` is ``g + v``: the same values, dtype, shape and type; it is g's
    own array exactly when that array can hold the sum."""
    expected = g + v
    in_place = type(g) is np.ndarray and g.flags.writeable and np.ndim(g) > 0 \
        and np.shape(g) == np.shape(expected) and g.dtype == expected.dtype \
        and type(v) is np.ndarray
    original = np.array(g, copy=True)
    got = helpers._add_into(g, v)
    assert type(got) is type(expected)
    assert np.shape(got) == np.shape(expected) and np.result_type(got) == np.result_type(expected)
    assert np.array_equal(got, expected)
    assert (got is g) == in_place
    if not in_place and type(g) is np.ndarray:
        assert np.array_equal(g, original)  # g untouched


@pytest.mark.parametrize("spec, shapes", [
    ("ijk,mik->mij", ((25, 10, 10), (1000, 25, 10))),   # GMM's: planned through BLAS
    ("ijk,mik->mij", ((2, 3, 3), (4, 2, 3))),           # small: plain einsum
    ("ij,jk->ik", ((300, 80), (80, 60))),
    ("ij,j->i", ((3, 4), (4,))),
    ("ij,jk->k", ((200, 30), (30, 40))),                 # i summed over the first alone
])
def test_einsum_grad_is_the_adjoint_on_either_path(spec, shapes):
    """The adjoint of the first operand of np.einsum(spec, x, y): <g, einsum(dx, y)> is
    <einsum_grad(g), dx> for every dx (the definition), large or small."""
    rng = np.random.default_rng(len(spec))
    x, y = (rng.normal(size=s) for s in shapes)
    g = rng.normal(size=np.shape(np.einsum(spec, x, y)))
    dx = rng.normal(size=x.shape)
    got = helpers._einsum_grad(spec, g, y, x)
    assert got.shape == x.shape
    assert np.isclose(np.sum(got * dx), np.sum(g * np.einsum(spec, dx, y)), rtol=1e-11)
