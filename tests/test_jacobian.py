"""``s2sad.jacobian``: by columns (forward), by rows (reverse) or whichever is fewer (auto).

Every Jacobian is checked against central differences and closed forms; the lecture's
example (seeds/001): the Jacobian of ``f(x) = A x`` is ``A`` in both modes.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad

from .oracles import array_close, directional_derivative

MODES = ("forward", "reverse", "auto")


def linear(A, x):
    return A @ x


def elementwise(x):
    return np.sin(x) * x[0]


def matrix_valued(W, v):
    return np.tanh(W * v[:, None])


def scalar_valued(x, y):
    return np.sum(x ** 2) * y


def scalar_input(t, x):
    return x * t ** 2


def numerical_jacobian(f, args, i):
    """Column by column: the derivative along each unit vector of args[i]."""
    x = np.asarray(args[i], dtype=np.float64)
    out = np.asarray(f(*args))
    columns = []
    for k in range(x.size):
        tangents = [np.zeros_like(np.asarray(a, dtype=np.float64)) for a in args]
        unit = np.zeros(x.size)
        unit[k] = 1.0
        tangents[i] = unit.reshape(x.shape)
        columns.append(directional_derivative(f, args, tangents))
    return np.moveaxis(np.asarray(columns).reshape((x.size,) + out.shape), 0, -1).reshape(
        out.shape + x.shape)


@pytest.mark.parametrize("mode", MODES)
def test_jacobian_of_a_linear_map_is_its_matrix(mode):
    rng = np.random.default_rng(0)
    for rows, cols in ((4, 3), (3, 4), (1, 5), (5, 1)):
        A = rng.standard_normal((rows, cols))
        x = rng.standard_normal(cols)
        J = s2sad.jacobian(linear, wrt=1, mode=mode)(A, x)
        assert J.shape == (rows, cols)
        assert np.allclose(J, A, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f, args, wrt", [
    (linear, (np.arange(12.0).reshape(4, 3) / 7, np.array([0.3, -1.2, 2.0])), (0, 1)),
    (elementwise, (np.array([0.4, 1.3, -0.8]),), 0),
    (matrix_valued, (np.array([[0.2, -0.5], [1.1, 0.3], [0.7, -0.9]]),
                     np.array([0.5, -1.5, 0.8])), (0, 1)),
    (scalar_valued, (np.array([0.5, -1.5]), 1.3), (0, 1)),
    (scalar_input, (0.7, np.array([1.0, -2.0, 0.5])), 0),
], ids=["linear", "elementwise", "matrix-valued", "scalar-valued", "scalar-input"])
def test_jacobian_against_central_differences(mode, f, args, wrt):
    J = s2sad.jacobian(f, wrt=wrt, mode=mode)(*args)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    Js = J if isinstance(wrt, tuple) else (J,)
    assert len(Js) == len(positions)
    for i, Ji in zip(positions, Js):
        expected = numerical_jacobian(f, args, i)
        assert np.shape(Ji) == expected.shape
        assert array_close(Ji, expected, rtol=1e-6, atol=1e-7)


def test_modes_agree_exactly_on_a_nonlinear_map():
    args = (np.array([[0.2, -0.5], [1.1, 0.3], [0.7, -0.9]]), np.array([0.5, -1.5, 0.8]))
    forward = s2sad.jacobian(matrix_valued, wrt=(0, 1), mode="forward")(*args)
    reverse = s2sad.jacobian(matrix_valued, wrt=(0, 1), mode="reverse")(*args)
    for a, b in zip(forward, reverse):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-14)


def test_auto_picks_rows_for_few_outputs_and_columns_for_few_inputs():
    text = s2sad.source(s2sad.jacobian(linear, wrt=1))
    assert "vjp_linear" in text and "jvp_linear" in text
    assert "if np.size(out) < np.size(x):" in text
    forward_only = s2sad.source(s2sad.jacobian(linear, wrt=1, mode="forward"))
    assert "vjp_linear" not in forward_only
    reverse_only = s2sad.source(s2sad.jacobian(linear, wrt=1, mode="reverse"))
    assert "jvp_linear" not in reverse_only


def test_jacobian_as_a_decorator_and_its_errors():
    @s2sad.jacobian(wrt=1, mode="reverse")
    def decorated(A, x):
        return A @ x

    A = np.eye(3) * 2.0
    assert np.allclose(decorated(A, np.ones(3)), A)
    with pytest.raises(ValueError, match="mode"):
        s2sad.jacobian(linear, mode="sideways")
