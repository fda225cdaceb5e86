"""Numerical edge cases: what s2sad returns where a derivative is not classical, and with
inputs at the edges of floating point and of NumPy (each test's docstring is the
convention it pins).

Non-differentiable points (README, "At non-differentiable points"):

* ``abs'(0) = 0`` (``abs``, ``math.fabs``, ``np.abs``; also at ``-0.0``);
* ``min``/``max`` and ``np.minimum``/``np.maximum`` give the whole derivative to the
  argument Python or NumPy returns, the first one at a tie; so ``np.maximum(x, 0.0)`` has
  derivative 1 at 0 and ``np.maximum(0.0, x)`` has 0;
* ``np.where(c, a, b)`` follows the entry it selects (``x > y`` picks ``y`` at a tie,
  ``x >= y`` picks ``x``); ``np.clip`` passes the derivative on its closed interval;
* ``np.max``/``np.min`` share the derivative equally among tied entries;
* ``math.hypot(0, 0)`` and ``np.linalg.norm`` of zeros have derivative 0, like ``abs``.

Singular points: NumPy functions give ``inf`` and ``nan`` as NumPy does, on arrays and on
Python floats alike (``np.sqrt'(0) = inf``, ``np.log'(0) = inf``, ``np.power``, ``np.divide``,
``np.arctan2`` at the origin), Python float arithmetic raises as Python does (``math.sqrt'(0)`` and
``(x ** 0.5)'(0)``: ``ZeroDivisionError``), and a primal that raises (``math.log(0)``,
``math.exp(1000)``, ``np.max`` of an empty array) raises the same in every transform.

Special values: ``inf`` and ``nan`` propagate as the chain rule says (``d(x y)/dx = y`` is
finite even where ``x`` is ``nan``), ``exp`` overflows to ``inf`` in value and derivative.
float32 inputs keep float32 derivatives (NumPy's promotion applies: float32 times float64 is
float64); empty arrays have empty gradients; 0-d arrays are inputs like numbers.

Cases where s2sad is wrong are ``xfail(strict=True)`` with the reason.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import s2sad

from .oracles import array_gradient


def _xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


def grad_and_tangent(f, args, wrt, tangents):
    """``grad(f, wrt)`` and the tangent ``jvp`` gives for ``tangents``."""
    gradient = s2sad.grad(f, wrt=wrt)(*args)
    _, tangent = s2sad.jvp(f, wrt=wrt)(*args, *tangents)
    return gradient, tangent


# --------------------------------------------------------------------------------------
# Kinks


def builtin_abs(x):
    return abs(x)


def math_fabs(x):
    return math.fabs(x)


def numpy_abs(x):
    return np.abs(x)


def abs_in_a_sum(x):
    return np.sum(np.abs(x) * 2.0)


@pytest.mark.parametrize("f", [builtin_abs, math_fabs, numpy_abs])
@pytest.mark.parametrize("x", [0.0, -0.0, np.float64(0.0), np.float32(0.0), np.array(0.0)])
def test_abs_at_zero_has_derivative_zero(f, x):
    """``abs'(0) = 0`` in both modes, for every spelling of abs and of zero."""
    gradient, tangent = grad_and_tangent(f, (x,), 0, (1.0,))
    assert gradient == 0.0 and tangent == 0.0
    assert not math.copysign(1.0, float(gradient)) < 0 or gradient == 0.0


def test_abs_of_an_array_at_zero():
    """Entrywise: 0 at the zeros, the sign elsewhere."""
    x = np.array([0.0, -0.0, 1.5, -2.0])
    gradient, tangent = grad_and_tangent(abs_in_a_sum, (x,), 0, (np.ones(4),))
    np.testing.assert_array_equal(gradient, [0.0, 0.0, 2.0, -2.0])
    assert tangent == 0.0


def builtin_max(x, y):
    return max(x, y)


def builtin_min(x, y):
    return min(x, y)


def builtin_max3(x, y, z):
    return max(x, y, z)


def numpy_maximum(x, y):
    return np.maximum(x, y)


def numpy_minimum(x, y):
    return np.minimum(x, y)


@pytest.mark.parametrize("f", [builtin_max, builtin_min, numpy_maximum, numpy_minimum])
def test_min_and_max_at_a_tie_follow_the_first_argument(f):
    """At ``x == y`` the derivative goes to ``x``, the argument returned: the gradient is
    (1, 0) and the tangent is x's tangent."""
    gradient, tangent = grad_and_tangent(f, (1.5, 1.5), (0, 1), (1.0, 10.0))
    assert gradient == (1.0, 0.0)
    assert tangent == 1.0


def test_max_of_three_at_a_three_way_tie():
    """``max(x, y, z)`` with all equal: the first gets everything."""
    gradient, tangent = grad_and_tangent(builtin_max3, (2.0, 2.0, 2.0), (0, 1, 2),
                                         (1.0, 10.0, 100.0))
    assert gradient == (1.0, 0.0, 0.0) and tangent == 1.0


def relu_first(x):
    return np.sum(np.maximum(x, 0.0))


def relu_second(x):
    return np.sum(np.maximum(0.0, x))


def test_relu_at_zero_depends_on_the_order_of_the_operands():
    """``np.maximum(x, 0.0)`` has derivative 1 at 0, ``np.maximum(0.0, x)`` has 0."""
    x = np.array([0.0, 1.0, -1.0])
    np.testing.assert_array_equal(s2sad.grad(relu_first)(x), [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(s2sad.grad(relu_second)(x), [0.0, 1.0, 0.0])


def where_greater(x, y):
    return np.sum(np.where(x > y, x, y))


def where_greater_equal(x, y):
    return np.sum(np.where(x >= y, x, y))


def test_where_at_a_tie_follows_the_entry_it_selects():
    """``np.where(x > y, x, y)`` at ``x == y`` selects y, and y gets the derivative;
    with ``>=`` x does."""
    x, y = np.array([1.0, 2.0]), np.array([1.0, 0.0])
    gx, gy = s2sad.grad(where_greater, wrt=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [0.0, 1.0])
    np.testing.assert_array_equal(gy, [1.0, 0.0])
    gx, gy = s2sad.grad(where_greater_equal, wrt=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [1.0, 1.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0])


def clipped(x):
    return np.sum(np.clip(x, -1.0, 1.0) * np.array([1.0, 2.0, 3.0, 4.0, 5.0]))


def test_clip_passes_the_derivative_on_its_closed_interval():
    """At the bounds (x == lo, x == hi) the derivative is 1; outside it is 0."""
    x = np.array([-1.0, 1.0, 0.0, -1.5, 1.5])
    np.testing.assert_array_equal(s2sad.grad(clipped)(x), [1.0, 2.0, 3.0, 0.0, 0.0])
    _, tangent = s2sad.jvp(clipped)(x, np.ones(5))
    assert tangent == 6.0


def numpy_max(x):
    return np.max(x)


def numpy_min_rows(x):
    return np.sum(np.min(x, axis=1) * np.array([1.0, 10.0]))


def test_max_and_min_share_among_tied_entries():
    """``np.max``/``np.min`` give each of k tied entries 1/k of the derivative."""
    np.testing.assert_allclose(s2sad.grad(numpy_max)(np.array([3.0, 1.0, 3.0, 3.0])),
                               [1 / 3, 0.0, 1 / 3, 1 / 3])
    _, tangent = s2sad.jvp(numpy_max)(np.array([3.0, 1.0, 3.0]), np.array([1.0, 5.0, 2.0]))
    assert tangent == 1.5
    gradient = s2sad.grad(numpy_min_rows)(np.array([[0.0, 0.0], [1.0, 2.0]]))
    np.testing.assert_allclose(gradient, [[0.5, 0.5], [10.0, 0.0]])


def hypot_of(x, y):
    return math.hypot(x, y)


def norm_of(x):
    return np.linalg.norm(x)


def test_hypot_and_norm_at_zero_have_derivative_zero():
    """Like ``abs'(0)``: the norm of a zero vector has the zero derivative."""
    assert s2sad.grad(hypot_of, wrt=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    np.testing.assert_array_equal(s2sad.grad(norm_of)(np.zeros(3)), np.zeros(3))


# --------------------------------------------------------------------------------------
# Singular points


def numpy_sqrt(x):
    return np.sqrt(x)


def numpy_sqrt_sum(x):
    return np.sum(np.sqrt(x))


def numpy_log_sum(x):
    return np.sum(np.log(x))


def numpy_log(x):
    return np.log(x)


def math_sqrt(x):
    return math.sqrt(x)


def half_power(x):
    return x ** 0.5


def math_log(x):
    return math.log(x)


def test_numpy_sqrt_and_log_at_zero_give_inf():
    """NumPy's arithmetic: ``np.sqrt'(0) = inf`` (numbers and arrays), ``np.log'(0) = inf``
    for arrays; the value is NumPy's (0, -inf), and the other entries are finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert s2sad.grad(numpy_sqrt)(0.0) == math.inf
        assert s2sad.jvp(numpy_sqrt)(0.0, 1.0) == (0.0, math.inf)
        np.testing.assert_array_equal(s2sad.grad(numpy_sqrt_sum)(np.array([0.0, 4.0])),
                                      [math.inf, 0.25])
        np.testing.assert_array_equal(s2sad.grad(numpy_log_sum)(np.array([0.0, 2.0])),
                                      [math.inf, 0.5])
        value, tangent = s2sad.jvp(numpy_log_sum)(np.array([0.0, 2.0]), np.ones(2))
        assert value == -math.inf and tangent == math.inf


def test_numpy_log_of_a_float_zero_gives_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert numpy_log(0.0) == -math.inf
        assert s2sad.grad(numpy_log)(0.0) == math.inf
        assert s2sad.jvp(numpy_log)(0.0, 1.0) == (-math.inf, math.inf)


def numpy_power(x, y):
    return np.power(x, y)


def numpy_divide(x, y):
    return np.divide(x, y)


def numpy_arctan2(y, x):
    return np.arctan2(y, x)


@pytest.mark.parametrize("f, args, gradient", [
    pytest.param(numpy_power, (0.0, 0.5), (math.inf, 0.0), id="np.power"),
    pytest.param(numpy_divide, (1.0, 0.0), (math.inf, -math.inf), id="np.divide"),
    pytest.param(numpy_arctan2, (0.0, 0.0), (math.nan, math.nan), id="np.arctan2"),
])
def test_numpy_functions_of_python_floats_follow_numpy(f, args, gradient):
    """A NumPy function of Python floats at a singular point: its derivative's ``/`` and
    ``**`` are NumPy's (np.divide, np.power), so inf and nan, never ZeroDivisionError, and
    the value is f's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, got = s2sad.value_and_grad(f, wrt=(0, 1))(*args)
        np.testing.assert_array_equal(value, f(*args))
        np.testing.assert_array_equal(got, gradient)
        primal, tangent = s2sad.jvp(f, wrt=0)(*args, 1.0)
        np.testing.assert_array_equal(primal, f(*args))
        np.testing.assert_array_equal(tangent, gradient[0])


@pytest.mark.parametrize("f", [math_sqrt, half_power])
def test_python_float_sqrt_at_zero_raises_like_python(f):
    """``math.sqrt'(0)`` and ``(x ** 0.5)'(0)`` divide Python floats by zero: the derivative
    raises ``ZeroDivisionError`` (the value itself, 0.0, is fine)."""
    assert f(0.0) == 0.0
    for derivative, args in ((s2sad.grad(f), (0.0,)), (s2sad.jvp(f), (0.0, 1.0))):
        with pytest.raises(ZeroDivisionError):
            derivative(*args)


def test_primal_errors_are_raised_by_every_transform():
    """``math.log(0)`` raises ValueError in f, and so in grad, jvp and vjp."""
    with pytest.raises(ValueError):
        math_log(0.0)
    for derivative, args in ((s2sad.grad(math_log), (0.0,)), (s2sad.jvp(math_log), (0.0, 1.0)),
                             (s2sad.vjp(math_log), (0.0, 1.0))):
        with pytest.raises(ValueError, match="math domain error"):
            derivative(*args)


# --------------------------------------------------------------------------------------
# inf and nan


def product(x, y):
    return x * y


def math_exp(x):
    return math.exp(x)


def numpy_exp(x):
    return np.exp(x)


def tanh_sum(x):
    return np.sum(np.tanh(x))


def branch_on(x):
    if x > 0.0:
        return x * 3.0
    return x * 5.0


def test_inf_and_nan_follow_the_chain_rule():
    """``d(x y)/dx = y``: finite where x is inf or nan; ``d/dy = x``: inf or nan. Forward
    mode's tangent ``y dx + x dy`` is inf (``inf * 1``) or nan."""
    assert s2sad.grad(product, wrt=(0, 1))(math.inf, 0.0) == (0.0, math.inf)
    value, tangent = s2sad.jvp(product, wrt=(0, 1))(math.inf, 0.0, 1.0, 1.0)
    assert math.isnan(value) and tangent == math.inf
    gx, gy = s2sad.grad(product, wrt=(0, 1))(math.nan, 2.0)
    assert gx == 2.0 and math.isnan(gy)


def test_nan_entries_stay_in_their_entries():
    """A nan entry makes its own gradient entry nan, not its neighbours'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gradient = s2sad.grad(lambda_free_sum_of_squares)(np.array([np.nan, 1.0]))
    assert np.isnan(gradient[0]) and gradient[1] == 2.0


def lambda_free_sum_of_squares(x):
    return np.sum(x ** 2)


def test_overflow():
    """NumPy's exp overflows to inf in value and derivative; math.exp raises OverflowError
    in f and in its derivatives alike. tanh saturates: derivative exactly 0, not nan."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert s2sad.value_and_grad(numpy_exp)(1000.0) == (math.inf, math.inf)
        assert s2sad.jvp(numpy_exp)(np.array([1000.0]), np.ones(1))[1][0] == math.inf
    for derivative in (s2sad.grad(math_exp), s2sad.value_and_grad(math_exp)):
        with pytest.raises(OverflowError):
            derivative(1000.0)
    np.testing.assert_array_equal(s2sad.grad(tanh_sum)(np.array([1000.0, -1000.0])), [0, 0])


def test_nan_in_a_condition_takes_the_else_branch_as_python_does():
    value, gradient = s2sad.value_and_grad(branch_on)(math.nan)
    assert math.isnan(value) and gradient == 5.0


def zero_times(x, y):
    return 0.0 * x + y


def test_the_symbolic_zero_does_not_change_the_value():
    value, gradient = s2sad.value_and_grad(zero_times, wrt=(0, 1))(math.inf, 1.0)
    assert math.isnan(value)
    assert gradient == (0.0, 1.0)


def test_the_symbolic_zero_in_the_derivative():
    """``d(0.0 * x)/dx = 0`` even at x = inf (where 0 * inf is nan): the zero is symbolic,
    and jvp's value is f's."""
    assert s2sad.grad(zero_times, wrt=(0, 1))(math.inf, 1.0) == (0.0, 1.0)
    value, tangent = s2sad.jvp(zero_times, wrt=(0, 1))(math.inf, 1.0, 1.0, 1.0)
    assert math.isnan(value) and tangent == 1.0


# --------------------------------------------------------------------------------------
# float32


def float32_loop(x):
    s = x
    for _ in range(3):
        s = s * x + np.sin(s)
    return s


def float32_branches(x, y):
    if x > y:
        r = x * y + 1.0
    else:
        r = np.tanh(x - y)
    return r * 2.0


def mixed_precision(x, y):
    return np.sum(x * y)


@pytest.mark.parametrize("x", [np.float32(0.5), np.full(3, 0.5, dtype=np.float32)])
def test_float32_through_loops_keeps_float32(x):
    """A loop with a tape: value, gradient and tangent stay float32 (numbers and arrays),
    and agree with float64 to float32's precision."""
    value, gradient = s2sad.value_and_grad(float32_loop)(x)
    _, tangent = s2sad.jvp(float32_loop)(x, np.ones_like(x))
    for result in (value, gradient, tangent):
        assert np.asarray(result).dtype == np.float32
    reference = s2sad.grad(float32_loop)(np.float64(0.5))
    np.testing.assert_allclose(gradient, reference, rtol=1e-5)


def test_float32_through_branches():
    """Both branches keep float32 numbers float32; the derivative agrees with float64."""
    for x, y in ((0.7, 0.2), (0.2, 0.7)):
        x32, y32 = np.float32(x), np.float32(y)
        gradient = s2sad.grad(float32_branches, wrt=(0, 1))(x32, y32)
        assert all(np.asarray(g).dtype == np.float32 for g in gradient), gradient
        np.testing.assert_allclose(gradient, s2sad.grad(float32_branches, wrt=(0, 1))(x, y),
                                   rtol=1e-5)


def test_float32_times_float64_follows_numpy_promotion():
    """float32 array times Python float: float32; times a float64 array: NumPy promotes the
    product, and the float32 input's gradient, to float64."""
    x = np.ones(3, dtype=np.float32)
    gx, gy = s2sad.grad(mixed_precision, wrt=(0, 1))(x, 2.0)
    assert gx.dtype == np.float32 and np.asarray(gy).dtype == np.float32
    gx, gy = s2sad.grad(mixed_precision, wrt=(0, 1))(x, np.ones(3))
    assert gx.dtype == np.float64 and gy.dtype == np.float64


# --------------------------------------------------------------------------------------
# Empty and 0-d arrays


def sum_of_squares(x):
    return np.sum(x ** 2)


def through_a_matrix(A, v):
    return np.sum(A @ v)


def mean_of(x):
    return np.mean(x)


def max_of(x):
    return np.max(x)


def loop_over_items(x):
    s = 0.5
    for v in x:
        s = s * v
    return s


def broadcast_number(x, y):
    return np.sum(x * y) + x


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0)])
def test_empty_arrays_have_empty_gradients(shape):
    """The gradient of an empty input is empty, shaped like it; the value is f's."""
    x = np.zeros(shape)
    value, gradient = s2sad.value_and_grad(sum_of_squares)(x)
    assert value == 0.0 and gradient.shape == shape
    assert s2sad.jvp(sum_of_squares)(x, np.ones(shape)) == (0.0, 0.0)


def test_empty_matrix_product_and_empty_loops():
    A, v = np.zeros((0, 3)), np.array([1.0, 2.0, 3.0])
    gA, gv = s2sad.grad(through_a_matrix, wrt=(0, 1))(A, v)
    assert gA.shape == (0, 3)
    np.testing.assert_array_equal(gv, np.zeros(3))
    value, gradient = s2sad.value_and_grad(loop_over_items)(np.zeros(0))
    assert value == 0.5 and np.shape(gradient) == (0,)


def test_reductions_without_identity_raise_as_numpy_does():
    """``np.max`` of an empty array: ValueError from f and from its derivatives."""
    for derivative, args in ((s2sad.grad(max_of), (np.zeros(0),)),
                             (s2sad.jvp(max_of), (np.zeros(0), np.zeros(0)))):
        with pytest.raises(ValueError, match="zero-size array"):
            derivative(*args)


def test_mean_of_an_empty_array_is_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, gradient = s2sad.value_and_grad(mean_of)(np.zeros(0))
    assert math.isnan(value) and gradient.shape == (0,)


def test_zero_dimensional_arrays_are_inputs_like_numbers():
    """``np.array(2.0)`` as input: gradients and tangents of shape (), values as f's; the
    0-d array broadcasts against the other input."""
    x, y = np.array(2.0), np.array([1.0, 2.0])
    value, (gx, gy) = s2sad.value_and_grad(broadcast_number, wrt=(0, 1))(x, y)
    assert value == broadcast_number(x, y) == 8.0
    assert np.shape(gx) == () and gx == 4.0
    np.testing.assert_array_equal(gy, [2.0, 2.0])
    _, tangent = s2sad.jvp(broadcast_number, wrt=(0, 1))(x, y, np.array(1.0), np.ones(2))
    assert np.shape(tangent) == () and tangent == 8.0
    assert s2sad.grad(sum_of_squares)(np.array(3.0)) == 6.0
    expected = array_gradient(sum_of_squares, [np.array(3.0)], 0)
    assert abs(expected - 6.0) < 1e-6


def abs_in_a_branch(x, z):
    if z > np.sum(x):
        return np.abs(np.hypot(z, 1.0 + z ** 2))
    return np.sum(x) * z


def sum_of_int_squares(x):
    return np.sum(x ** 2)


def test_the_seed_leaves_booleans_and_integers_as_the_arithmetic_makes_them():
    """The adjoint of ``abs`` is ``(t > 0) - (t < 0)`` times the seed ``1.0``; in a branch,
    where ``t`` is not proved a number, folding the seed away subtracted two booleans and
    raised (random program 1004918 of the long campaign). And ``2 * x * 1.0`` of an integer
    ``x`` is floats, as NumPy computes it, not ``2 * x``."""
    x = np.array([0.1, -0.3])
    for z in (0.7, -0.7):  # each branch
        value, (dx, dz) = s2sad.value_and_grad(abs_in_a_branch, wrt=(0, 1))(x, z)
        assert value == abs_in_a_branch(x, z)
        assert np.allclose(dx, array_gradient(abs_in_a_branch, [x, z], 0))
        h = 1e-6
        expected = (abs_in_a_branch(x, z + h) - abs_in_a_branch(x, z - h)) / (2 * h)
        assert math.isclose(dz, expected, rel_tol=1e-6, abs_tol=1e-8)
    ints = np.array([1, -2, 3])
    got = s2sad.grad(sum_of_int_squares)(ints)
    assert got.dtype == (2 * ints * 1.0).dtype and np.array_equal(got, 2.0 * ints)
