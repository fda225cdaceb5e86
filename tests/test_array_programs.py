"""Whole NumPy programs: writes into arrays inside loops, lists built in loops, loops over
arrays, and what the generated code does with storage (in place where safe, never the
caller's arrays). Every derivative is checked against central differences, and forward
against reverse mode with the dot-product test."""

from __future__ import annotations

import re

import numpy as np
import pytest

import s2sad

from .oracles import array_close, array_gradient, directional_derivative


def recurrence(x):
    y = np.zeros(len(x))
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] * x[i] + np.sin(y[i - 1])
    return np.sum(y * y)


def accumulate_in_place(x):
    y = x.copy()
    for i in range(1, len(x)):
        y[i] += x[i] * y[i - 1]
    return np.sum(y ** 2)


def rows_of_a_matrix(M, A):
    R = np.zeros((3, 2))
    R[0, :] = M[0]
    for i in range(1, 3):
        R[i, :] = np.tanh(R[i - 1, :] @ A)
    return np.sum(R ** 2)


def masked_write(x):
    y = x * 2.0
    y[y < 0] = 0.0
    return np.sum(y ** 2)


def repeated_fancy_index(x):
    idx = np.array([0, 2, 0])
    y = np.zeros(4)
    y[1:] = x[idx] * 2.0
    return np.sum(y ** 3) + np.sum(x[idx])


def while_with_branch(x):
    y = np.zeros(3)
    i = 0
    while i < 3:
        y[i] = x[i] ** 2
        if y[i] > 1.0:
            y[i] = y[i] * 0.5
        i = i + 1
    return np.sum(y * x)


def list_in_a_loop(x, y):
    xs = []
    for i in range(3):
        xs.append(x * i + y)
    s = sum(xs)
    a = np.stack(xs)
    return s * 2.0 + np.sum(a * a)


def loops_over_sequences(x):
    ys = [v * v for v in x]
    t = 0.0
    for i, v in enumerate(x):
        t = t + i * v
    for a, b in zip(x, ys):
        t = t + a * b
    return t + sum(ys)


def tuple_values(x):
    p = (x, x * 2.0)
    a, b = p
    return a * b + p[1]


def concatenated(x, y):
    z = np.concatenate([x, y * 2.0])
    return np.sum(z ** 2)


def recurrent_network(W, U, xs, h0):
    h = h0
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H ** 2) + np.sum(hs[-1])


def gather_by_comprehension(x):
    parts = [x[i] * 2.0 for i in range(len(x))]
    return sum(parts) + np.sum(np.array(parts) ** 2)


def ragged_list(x):
    pieces = [x[:2], x[2:] * 3.0]
    return np.sum(np.concatenate(pieces) ** 2) + np.sum(pieces[1])


def list_arithmetic(x):
    xs = [x, x]
    return np.sum(xs + xs)


def writes_into_its_parameter(x):
    x[0] = x[1] * 3.0
    return np.sum(x ** 2)


V = np.array([0.3, 0.7, -0.4, 1.1])
CASES = [
    (recurrence, (V,)),
    (accumulate_in_place, (V,)),
    (rows_of_a_matrix, (np.array([[0.3, 0.7], [1.0, 2.0]]),
                        np.array([[0.5, -0.2], [0.3, 0.8]]))),
    (masked_write, (np.array([0.3, -0.7, 0.4]),)),
    (repeated_fancy_index, (np.array([0.3, -0.7, 0.4]),)),
    (while_with_branch, (np.array([0.3, -1.7, 0.4]),)),
    (list_in_a_loop, (0.5, 1.5)),
    (loops_over_sequences, (np.array([1.0, 2.0, 3.0]),)),
    (tuple_values, (0.7,)),
    (concatenated, (np.array([1.0, 2.0]), np.array([3.0]))),
    (recurrent_network, (np.array([[0.5, -0.2], [0.3, 0.8]]),
                         np.array([[0.1, 0.2, 0.3], [0.4, -0.5, 0.6]]),
                         np.arange(12.0).reshape(4, 3) * 0.1, np.array([0.1, -0.2]))),
    (gather_by_comprehension, (np.array([1.0, 2.0, 3.0]),)),
    (ragged_list, (np.array([1.0, 2.0, 3.0, 4.0, 5.0]),)),
]
IDS = [f.__name__ for f, _ in CASES]


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_gradient_against_central_differences(f, args):
    wrt = tuple(range(len(args)))
    grads = s2sad.grad(f, wrt=wrt)(*args)
    for i, g in enumerate(grads):
        expected = array_gradient(f, args, i)
        assert np.shape(g) == np.shape(args[i])
        assert array_close(g, expected, rtol=1e-6, atol=1e-7), (i, g, expected)


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_forward_mode_and_the_dot_product_test(f, args):
    rng = np.random.default_rng(1)
    wrt = tuple(range(len(args)))
    tangents = [rng.standard_normal(np.shape(a)) if np.ndim(a) else float(rng.standard_normal())
                for a in args]
    value, tangent = s2sad.jvp(f, wrt=wrt)(*args, *tangents)
    assert np.allclose(value, f(*[np.copy(a) for a in args]), rtol=1e-14, atol=0)
    assert array_close(tangent, directional_derivative(f, args, tangents), rtol=1e-6,
                       atol=1e-7)
    grads = s2sad.grad(f, wrt=wrt)(*args)
    reverse = sum(float(np.sum(np.asarray(g) * t)) for g, t in zip(grads, tangents))
    assert abs(float(tangent) - reverse) <= 1e-12 * max(1.0, abs(reverse))


def test_writes_in_a_loop_are_in_place_and_the_tape_holds_only_numbers():
    text = s2sad.source(s2sad.grad(recurrence))
    assert ".copy()" not in text.split("for i in range")[1].split("tape.append")[0]
    assert re.search(r"\n        y\[i\] = t\d+\n", text)
    assert "_unbroadcast" not in text  # y[i - 1] of a 1-d y is a number: shapes say so
    assert re.search(r"\n        drecurrence_dy\[t\d+\] \+= t\d+\n", text)


def test_the_callers_array_is_never_written_into():
    x = np.array([0.3, 0.7, -0.4])
    before = x.copy()
    grad = s2sad.grad(writes_into_its_parameter)(x)
    assert np.array_equal(x, before)
    # x[0] is overwritten before it is read: the loss does not depend on it
    assert np.allclose(grad, [0.0, 2 * 0.7 + 2 * 3 * (3 * 0.7), 2 * -0.4])
    value, tangent = s2sad.jvp(writes_into_its_parameter)(x, np.ones(3))
    assert np.array_equal(x, before)
    assert np.isclose(value, writes_into_its_parameter(x.copy()))


def test_a_cotangent_array_is_never_written_into():
    seed = np.ones(3)
    s2sad.vjp(masked_write_array)(np.array([0.3, -0.7, 0.4]), seed)
    assert np.array_equal(seed, np.ones(3))


def masked_write_array(x):
    y = x * 2.0
    y[y < 0] = 0.0
    return y


def test_a_list_appended_to_in_a_loop_is_not_copied():
    text = s2sad.source(s2sad.grad(recurrent_network, wrt=(0, 1)))
    assert "hs.copy()" not in text and "hs.append(h)" in text


def test_arithmetic_on_lists_is_a_located_error():
    for transform in (s2sad.grad, s2sad.jvp):
        with pytest.raises(s2sad.CompileError) as info:
            transform(list_arithmetic)
        assert "list" in str(info.value) and info.value.lineno is not None


def over_items(x, w):
    s = 0.5
    for v in x:
        s = s * v + w
    for i, v in enumerate(x):
        s = s + i * v * w
    for a, b in zip(x, x[1:]):
        s = s + a * b
    return s * w


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_loops_over_sequences_of_every_length(n):
    x = np.linspace(0.3, 1.1, n)
    w = 0.7
    grads = s2sad.grad(over_items, wrt=(0, 1))(x, w)
    assert np.shape(grads[0]) == (n,)
    for i, g in enumerate(grads):
        assert array_close(g, array_gradient(over_items, (x, w), i), rtol=1e-6, atol=1e-7)
    tangent = (np.ones(n), 1.0)
    value, dvalue = s2sad.jvp(over_items, wrt=(0, 1))(x, w, *tangent)
    assert value == over_items(x, w)
    assert abs(dvalue - (np.sum(grads[0]) + grads[1])) <= 1e-12 * max(1.0, abs(dvalue))
