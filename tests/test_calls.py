"""Calls to user functions: each callee is generated once per set of differentiated
arguments (``jvp_g`` forwards, ``vjp_g`` backwards, which reruns ``g``: joint reversal),
from any module whose source is available, with keyword and default arguments, inside
loops and branches, returning tuples; and derivatives of such code again."""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2sad

from .call_cases import scaled_norm
from .oracles import array_close, array_gradient


def square(t, scale=2.0):
    return t * t * scale


def pair(a, b):
    return a * b, a + math.sin(b)


def with_loop(x, n):
    s = 0.5
    for i in range(n):
        s = s * x + square(x * i, scale=0.5)
    return s


def caller(x, y):
    p, q = pair(x, y)  # a tuple return
    r = square(p) + square(q, 3.0) + square(scale=1.5, t=y)  # used thrice, keywords
    return r + with_loop(x, 3)  # a callee with a loop


def in_loop_and_branch(x, y):
    s = 0.0
    for i in range(4):
        if s < 2.0:
            s = s + square(x, y * i)
        else:
            a, b = pair(s, x)
            s = a - b
    return s


def arrays(W, x):
    h = np.tanh(W @ x)
    return scaled_norm(h, scale=2.0) + scaled_norm(x)  # another module, a default


def uses_a_closure(x):
    return helper_from_closure(x) * 2.0


def make_helper(c):
    def helper(t):
        return t * c + t ** 2
    return helper


helper_from_closure = make_helper(3.0)

CASES = [
    (caller, (0.7, 1.3)),
    (in_loop_and_branch, (0.6, 0.9)),
    (arrays, (np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.4]]), np.array([0.2, -0.7, 1.1]))),
    (uses_a_closure, (0.8,)),
]
IDS = [f.__name__ for f, _ in CASES]


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_gradient_through_calls(f, args):
    wrt = tuple(range(len(args)))
    grads = s2sad.grad(f, wrt=wrt)(*args)
    for i, g in enumerate(grads):
        assert array_close(g, array_gradient(f, args, i), rtol=1e-6, atol=1e-7), (i, g)


@pytest.mark.parametrize("f, args", CASES, ids=IDS)
def test_forward_mode_through_calls_agrees_with_reverse(f, args):
    wrt = tuple(range(len(args)))
    rng = np.random.default_rng(5)
    tangents = [rng.standard_normal(np.shape(a)) if np.ndim(a) else float(rng.standard_normal())
                for a in args]
    value, tangent = s2sad.jvp(f, wrt=wrt)(*args, *tangents)
    assert np.isclose(value, f(*args), rtol=1e-14, atol=0)
    grads = s2sad.grad(f, wrt=wrt)(*args)
    reverse = sum(float(np.sum(np.asarray(g) * t)) for g, t in zip(grads, tangents))
    assert abs(tangent - reverse) <= 1e-12 * max(1.0, abs(reverse))


def test_each_callee_derivative_is_generated_once():
    text = s2sad.source(s2sad.grad(caller, wrt=(0, 1)))
    # square is differentiated with respect to t from three call sites: one vjp_square_wrt_t
    assert text.count("def vjp_square_wrt_t(") == 1
    assert text.count("vjp_square_wrt_t(") == 5  # defined once, called 4 times (loop too)
    assert "def square(t, scale):" in text and "def pair(a, b):" in text
    forward = s2sad.source(s2sad.jvp(caller, wrt=(0, 1)))
    assert forward.count("def jvp_square_wrt_t(") == 1
    assert "p, q, dp, dq = jvp_pair(x, y, dx, dy)" in forward


def test_second_derivatives_through_calls():
    x, y = 0.7, 1.3
    grad_x = s2sad.grad(caller, wrt=0)
    second = s2sad.grad(grad_x, wrt=(0, 1))(x, y)
    h = 1e-6
    expected = ((grad_x(x + h, y) - grad_x(x - h, y)) / (2 * h),
                (grad_x(x, y + h) - grad_x(x, y - h)) / (2 * h))
    assert np.allclose(second, expected, rtol=1e-6, atol=1e-6)
    W = CASES[2][1][0]
    v = np.array([1.0, 0.5, -2.0])
    hv = s2sad.hvp(arrays, wrt=1)(W, CASES[2][1][1], v)
    grad = s2sad.grad(arrays, wrt=1)
    x0 = CASES[2][1][1]
    assert array_close(hv, (grad(W, x0 + h * v) - grad(W, x0 - h * v)) / (2 * h),
                       rtol=1e-5, atol=1e-6)


def nested_def(x):
    def inner(t):
        return t * 2.0
    return inner(x)


def lambda_callee(x):
    return twice(x)


twice = lambda t: t * 2.0  # noqa: E731 - the error case


def test_nested_functions_and_lambdas_are_located_errors():
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(nested_def)
    assert info.value.lineno is not None and "def" in str(info.value)
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(lambda_callee)
    assert "lambda" in str(info.value) and info.value.lineno is not None


def _pair_with_a_broadcast(u, scale=0.5):
    return scale + np.mean(u), np.broadcast_to(scale, (2,)) * 1.0


def _writes_into_an_item_of_a_returned_tuple(y):
    c, t = _pair_with_a_broadcast(y / 3)
    w = _pair_with_a_broadcast(t, scale=np.tanh(c))[1].copy()
    w[0] = 2.0 * c
    return np.sum(w * w) + c


def test_an_item_of_a_tuple_a_call_returned_is_not_written_in_place():
    """Found by random programs: ``x * 1.0`` folds away, so the callee returns NumPy's
    read-only broadcast; the jvp wrote ``w[0] = ...`` into it (ValueError), because an
    item read from a tuple did not count as what the call returned."""
    from .oracles import directional_derivative

    f = _writes_into_an_item_of_a_returned_tuple
    y, v = np.array([0.3, 0.7]), np.array([1.0, -0.5])
    value, tangent = s2sad.jvp(f)(y, v)
    assert value == pytest.approx(f(y), rel=1e-12)
    assert tangent == pytest.approx(float(directional_derivative(f, [y], [v])), rel=1e-6)
    assert array_close(s2sad.grad(f)(y), array_gradient(f, [y], 0))


def _writes_into_its_argument(u):
    u[0] = 5.0
    return np.sum(u * u)


def _passes_an_array_to_a_writer(x):
    y = x * 2.0
    s = _writes_into_its_argument(y)
    return s + np.sum(y)  # Python: y[0] is 5.0 here


def _writes_into_a_copy(u):
    u = u.copy()
    u[0] = 5.0
    return np.sum(u * u)


def _passes_an_array_to_a_copier(x):
    y = x * 2.0
    return _writes_into_a_copy(y) + np.sum(y)


def test_a_callee_writing_into_its_argument_is_refused_at_the_call():
    """Python changes the caller's array; s2sad keeps values apart and would silently
    differentiate another function (24 instead of 28 at x = [1, 2, 3] before)."""
    with pytest.raises(s2sad.CompileError, match="writes into the array passed as `u`") \
            as info:
        s2sad.grad(_passes_an_array_to_a_writer)
    assert info.value.source_line.strip() == "s = _writes_into_its_argument(y)"
    x = np.array([1.0, 2.0, 3.0])
    f = _passes_an_array_to_a_copier
    assert array_close(s2sad.grad(f)(x), array_gradient(f, [x], 0))
