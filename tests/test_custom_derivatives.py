"""``@s2sad.custom_derivative``: the user's own tangent and/or adjoint, in plain Python,
used by both modes (a mode without a rule differentiates the body) and by higher order."""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2sad

from .oracles import array_close, array_gradient


def sigmoid(x):
    """1 / (1 + exp(-x)), without overflow on either side."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def softplus_tangent(x, dx):
    return dx * sigmoid(x)


def softplus_adjoint(x, g):
    return g * sigmoid(x)


@s2sad.custom_derivative(tangent=softplus_tangent, adjoint=softplus_adjoint)
def softplus(x):
    if x > 30.0:
        return x
    return math.log1p(math.exp(x))


def loss(x, y):
    return softplus(x * y) + softplus(-x) * 2.0


def solve_adjoint(A, b, g):
    """x = A^-1 b: b̄ = A^-T ḡ, Ā = -b̄ xᵀ (seeds/001), whatever computed x."""
    x = np.linalg.solve(A, b)
    gb = np.linalg.solve(A.T, g)
    return -np.outer(gb, x), gb


@s2sad.custom_derivative(adjoint=solve_adjoint)
def iterative_solve(A, b):
    x = np.zeros(len(b))
    for _ in range(200):  # Richardson iterations: an implicit function of A and b
        x = x + (b - A @ x) / 8.0
    return x


def residual_loss(A, b):
    return np.sum(iterative_solve(A, b) ** 2)


A = np.array([[4.0, 1.0, 0.5], [1.0, 5.0, 1.0], [0.5, 1.0, 6.0]])
B = np.array([1.0, -2.0, 0.5])


def test_the_rules_are_used_in_both_modes():
    reverse = s2sad.source(s2sad.grad(loss, wrt=(0, 1)))
    assert "vjp_softplus(" in reverse and "def softplus_adjoint(x, g):" in reverse
    forward = s2sad.source(s2sad.jvp(loss, wrt=(0, 1)))
    assert "def softplus_tangent(x, dx):" in forward and "def sigmoid(x):" in forward
    x, y = 0.7, -1.2
    grads = s2sad.grad(loss, wrt=(0, 1))(x, y)
    for i, g in enumerate(grads):
        assert math.isclose(g, array_gradient(loss, (x, y), i), rel_tol=1e-7, abs_tol=1e-9)
    _, tangent = s2sad.jvp(loss, wrt=(0, 1))(x, y, 1.0, 0.0)
    assert math.isclose(tangent, grads[0], rel_tol=1e-14)


def test_a_stable_rule_where_the_body_would_overflow():
    # the body's derivative at 1000 would go through exp(1000); the rule stays finite
    assert s2sad.grad(softplus)(1000.0) == 1.0
    assert s2sad.grad(softplus)(0.0) == 0.5
    _, tangent = s2sad.jvp(softplus)(-1000.0, 1.0)
    assert tangent == 0.0


def test_second_derivative_differentiates_the_rule():
    second = s2sad.grad(s2sad.grad(softplus))(0.5)
    sigmoid = 1.0 / (1.0 + math.exp(-0.5))
    assert math.isclose(second, sigmoid * (1.0 - sigmoid), rel_tol=1e-14)


def test_an_implicit_function_differentiated_through_solve():
    gA, gb = s2sad.grad(residual_loss, wrt=(0, 1))(A, B)
    x = np.linalg.solve(A, B)
    expected_b = np.linalg.solve(A.T, 2 * x)
    assert np.allclose(gb, expected_b, rtol=1e-12, atol=1e-14)
    assert np.allclose(gA, -np.outer(expected_b, x), rtol=1e-12, atol=1e-14)
    assert array_close(gb, array_gradient(residual_loss, (A, B), 1), rtol=1e-6, atol=1e-8)
    # forward mode has no rule: it differentiates the iterations, which converge to it
    _, tangent = s2sad.jvp(residual_loss, wrt=1)(A, B, np.array([1.0, 0.0, 0.0]))
    assert math.isclose(tangent, expected_b[0], rel_tol=1e-8)


def test_differentiating_the_function_itself_uses_its_rule():
    text = s2sad.source(s2sad.grad(iterative_solve_sum, wrt=1))
    assert "def solve_adjoint(A, b, g):" in text  # the callee's rule
    assert "vjp_iterative_solve_wrt_b" in text
    direct = s2sad.vjp(iterative_solve, wrt=1)
    assert "solve_adjoint" in s2sad.source(direct)
    assert np.allclose(direct(A, B, np.ones(3)), np.linalg.solve(A.T, np.ones(3)))


def iterative_solve_sum(A, b):
    return np.sum(iterative_solve(A, b))


def test_a_decorator_without_rules_is_a_type_error():
    with pytest.raises(TypeError):
        s2sad.custom_derivative(lambda x: x)
