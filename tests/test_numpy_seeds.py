"""The lecture's array examples (seeds/001) as acceptance tests of s2sad's NumPy support.

Each example is written the way people write NumPy and differentiated in both modes. Every
derivative is checked against oracles that do not use s2sad: entrywise central differences
(``array_gradient``), directional derivatives for ``jvp``, the dot-product test
``<J v, w> == <v, Jᵀ w>`` between ``jvp`` and ``vjp``, and closed forms where the lecture
derives one (the solve and SVD adjoints; the MLP's backprop; the MDS gradient).

    (a) multidimensional scaling, broadcast and as a double loop with indexing
    (b) a two-layer tanh MLP with a stable softmax cross-entropy (golden: grad_mlp.py)
    (c) ridge least squares through ``np.linalg.solve``
    (d) the sum of singular values: its gradient is ``U @ Vᵀ``
    (e) ``x = solve(A, b)``, ``L = g·x``: ``∂L/∂b = A⁻ᵀ g``, ``∂L/∂A = -A⁻ᵀ g xᵀ``

The functions are defined at module level: s2sad reads them with ``inspect.getsource``.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad

from .oracles import array_close, array_gradient, directional_derivative, dot_product_gap
from .test_seeds import GOLDEN, check_golden

# ======================================================================================
# The examples


def mds(W, D):
    """Σ_ij (‖W_i − W_j‖² − D_ij)², broadcast over all pairs at once."""
    diff = W[:, None, :] - W[None, :, :]
    sq = np.sum(diff ** 2, axis=-1)
    return np.sum((sq - D) ** 2)


def mds_loop(W, D):
    """The same loss, pair by pair."""
    n = W.shape[0]
    total = 0.0
    for i in range(n):
        for j in range(n):
            r = W[i] - W[j]
            total = total + (np.sum(r * r) - D[i, j]) ** 2
    return total


def mds_squared_distances(W):
    """The array the MDS loss compares with D (array-valued: for the dot-product test)."""
    diff = W[:, None, :] - W[None, :, :]
    return np.sum(diff ** 2, axis=-1)


def mlp_logits(W1, b1, W2, b2, X):
    return np.tanh(X @ W1 + b1) @ W2 + b2


def mlp_loss(W1, b1, W2, b2, X, Y):
    """Mean softmax cross-entropy of a two-layer tanh network, Y one-hot."""
    hidden = np.tanh(X @ W1 + b1)
    logits = hidden @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_probs) / X.shape[0]


def ridge(A, b, lam):
    """Least squares residual of the ridge solution x = (AᵀA + λI)⁻¹ Aᵀ b."""
    n = A.shape[1]
    x = np.linalg.solve(A.T @ A + lam * np.eye(n), A.T @ b)
    return np.sum((A @ x - b) ** 2)


def ridge_identity(A, b, lam):
    """``ridge`` spelled with np.identity, as many people write λI."""
    n = A.shape[1]
    x = np.linalg.solve(A.T @ A + lam * np.identity(n), A.T @ b)
    return np.sum((A @ x - b) ** 2)


def nuclear_norm(W):
    return np.sum(np.linalg.svd(W, compute_uv=False))


def singular_values(W):
    return np.linalg.svd(W, compute_uv=False)


def solve_dot(A, b, g):
    x = np.linalg.solve(A, b)
    return np.dot(g, x)


def solve_x(A, b):
    return np.linalg.solve(A, b)


# ======================================================================================
# Data (small: every test here is a handful of tiny arrays)


def mds_data(n=5, d=2, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal((n, d))
    D = np.sum((truth[:, None, :] - truth[None, :, :]) ** 2, axis=-1)
    D = D + 0.1 * rng.standard_normal((n, n))  # noisy, not symmetric: the loss still is fine
    return rng.standard_normal((n, d)), D


def mlp_data(batch=6, n_in=4, n_hidden=5, n_out=3, seed=1, scale=0.5):
    rng = np.random.default_rng(seed)
    W1 = scale * rng.standard_normal((n_in, n_hidden))
    b1 = scale * rng.standard_normal(n_hidden)
    W2 = scale * rng.standard_normal((n_hidden, n_out))
    b2 = scale * rng.standard_normal(n_out)
    X = rng.standard_normal((batch, n_in))
    Y = np.eye(n_out)[rng.integers(0, n_out, batch)]
    return W1, b1, W2, b2, X, Y


def ridge_data(m=6, n=3, seed=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, n)), rng.standard_normal(m), 0.7


def square_system(n=4, seed=3):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) + 3.0 * np.eye(n)  # well conditioned
    return A, rng.standard_normal(n), rng.standard_normal(n)


def matrix_with_distinct_singular_values(shape, seed=4):
    """Singular values 1, 2, 3, ...: well separated and nonzero, so svd is differentiable."""
    rng = np.random.default_rng(seed)
    m, n = shape
    k = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, k)))
    V, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return (U * np.arange(1.0, k + 1)) @ V.T


# ======================================================================================
# Checks shared by the examples


def as_tuple(result, wrt):
    return result if isinstance(wrt, tuple) else (result,)


def random_like(rng, x):
    return rng.standard_normal(np.shape(x)) if np.ndim(x) else float(rng.standard_normal())


def check_grad_against_finite_differences(f, args, wrt):
    grads = as_tuple(s2sad.grad(f, wrt=wrt)(*args), wrt)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    assert len(grads) == len(positions)
    for i, got in zip(positions, grads):
        expected = array_gradient(f, args, i)
        assert np.shape(got) == np.shape(args[i]), f"d/d args[{i}]: shape {np.shape(got)}"
        assert array_close(got, expected), f"d/d args[{i}]:\n{got}\n!=\n{expected}"
    return grads


def check_jvp_against_directional_derivative(f, args, wrt, seed=0):
    rng = np.random.default_rng(seed)
    tangents = [random_like(rng, args[i]) for i in wrt]
    value, tangent = s2sad.jvp(f, wrt=wrt)(*args, *tangents)
    assert array_close(value, f(*args), rtol=1e-12, atol=1e-12)

    def along(*moved):
        point = list(args)
        for i, x in zip(wrt, moved):
            point[i] = x
        return f(*point)

    expected = directional_derivative(along, [args[i] for i in wrt], tangents)
    assert np.shape(tangent) == np.shape(expected)
    assert array_close(tangent, expected), f"{tangent}\n!=\n{expected}"


def check_dot_product(f, args, wrt, seed=0):
    """<jvp(v), w> == <v, vjp(w)> for random v, w: the modes agree to rounding."""
    rng = np.random.default_rng(seed)
    tangents = [random_like(rng, args[i]) for i in wrt]
    cotangent = random_like(rng, f(*args))
    _, jvp_out = s2sad.jvp(f, wrt=wrt)(*args, *tangents)
    vjp_out = as_tuple(s2sad.vjp(f, wrt=wrt)(*args, cotangent), wrt)
    for i, g in zip(wrt, vjp_out):
        assert np.shape(g) == np.shape(args[i])
    forward, reverse = dot_product_gap(jvp_out, tangents, vjp_out, cotangent)
    assert forward == pytest.approx(reverse, rel=1e-10, abs=1e-12)


def exact(actual, expected):
    """Closed forms agree with s2sad to rounding, not to a finite-difference tolerance."""
    return array_close(actual, expected, rtol=1e-10, atol=1e-12)


# ======================================================================================
# (a) multidimensional scaling


def mds_closed_form(W, D):
    """∂L/∂W_k = 4 Σ_j (R_kj + R_jk)(W_k − W_j), R = ‖W_i − W_j‖² − D."""
    diff = W[:, None, :] - W[None, :, :]
    R = np.sum(diff ** 2, axis=-1) - D
    S = R + R.T
    return 4 * (np.sum(S, axis=1)[:, None] * W - S @ W)


@pytest.mark.parametrize("f", [mds, mds_loop], ids=["broadcast", "loop"])
def test_mds_value_and_grad(f):
    W, D = mds_data()
    assert f(W, D) == pytest.approx(mds(W, D), rel=1e-12)
    (grad,) = check_grad_against_finite_differences(f, (W, D), (0,))
    assert exact(grad, mds_closed_form(W, D))


@pytest.mark.parametrize("f", [mds, mds_loop], ids=["broadcast", "loop"])
def test_mds_gradient_with_respect_to_D(f):
    W, D = mds_data(n=4, d=3, seed=5)
    grad = s2sad.grad(f, wrt=1)(W, D)
    R = np.sum((W[:, None, :] - W[None, :, :]) ** 2, axis=-1) - D
    assert exact(grad, -2 * R)


@pytest.mark.parametrize("f", [mds, mds_loop], ids=["broadcast", "loop"])
def test_mds_jvp_and_dot_product(f):
    W, D = mds_data()
    check_jvp_against_directional_derivative(f, (W, D), (0, 1))
    check_dot_product(f, (W, D), (0, 1))


def test_mds_squared_distances_dot_product():
    W, _ = mds_data(n=4, d=3)
    check_jvp_against_directional_derivative(mds_squared_distances, (W,), (0,))
    check_dot_product(mds_squared_distances, (W,), (0,))


# ======================================================================================
# (b) two-layer MLP, tanh, softmax cross-entropy


def mlp_backprop(W1, b1, W2, b2, X, Y):
    """The gradient by hand: ∂L/∂logits = (softmax − Y) / batch, then back through the layers."""
    hidden = np.tanh(X @ W1 + b1)
    logits = hidden @ W2 + b2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dlogits = (p - Y) / X.shape[0]
    dpre = (dlogits @ W2.T) * (1 - hidden ** 2)
    return X.T @ dpre, dpre.sum(axis=0), hidden.T @ dlogits, dlogits.sum(axis=0)


def test_mlp_loss_value():
    args = mlp_data()
    logits = mlp_logits(*args[:5])
    Y = args[5]
    log_softmax = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    assert mlp_loss(*args) == pytest.approx(-np.mean(np.sum(Y * log_softmax, axis=1)))


def test_mlp_grad_against_finite_differences_and_backprop():
    args = mlp_data()
    grads = check_grad_against_finite_differences(mlp_loss, args, (0, 1, 2, 3))
    for got, expected in zip(grads, mlp_backprop(*args)):
        assert exact(got, expected)


def test_mlp_value_and_grad():
    args = mlp_data()
    value, grads = s2sad.value_and_grad(mlp_loss, wrt=(0, 1, 2, 3))(*args)
    assert value == pytest.approx(mlp_loss(*args), rel=1e-14)
    for got, expected in zip(grads, mlp_backprop(*args)):
        assert exact(got, expected)


def test_mlp_grad_stays_finite_where_naive_softmax_overflows():
    # logits ~ 1e3: exp overflows without the max shift; the shifted loss and its gradient
    # are finite and the gradient still equals backprop's.
    W1, b1, W2, b2, X, Y = mlp_data()
    W2 = W2 * 2000.0
    with np.errstate(over="raise"):
        grads = s2sad.grad(mlp_loss, wrt=(0, 1, 2, 3))(W1, b1, W2, b2, X, Y)
    for got, expected in zip(grads, mlp_backprop(W1, b1, W2, b2, X, Y)):
        assert np.all(np.isfinite(got))
        assert exact(got, expected)


def test_mlp_float32_gradient_stays_float32():
    # Regression: np.max's adjoint and tangent divided by an int64 count of the maxima
    # (helpers._extremum_grad), so float32 in gave float64 out.
    args = tuple(a.astype(np.float32) for a in mlp_data())
    grads = s2sad.grad(mlp_loss, wrt=(0, 1, 2, 3))(*args)
    for got, expected in zip(grads, mlp_backprop(*mlp_data())):
        assert array_close(got, expected, rtol=1e-5)  # float32 rounding
    assert [g.dtype for g in grads] == [np.float32] * 4
    _, tangent = s2sad.jvp(mlp_loss, wrt=0)(*args, np.ones_like(args[0]))
    assert tangent.dtype == np.float32


def test_mlp_jvp_and_dot_product():
    args = mlp_data()
    check_jvp_against_directional_derivative(mlp_loss, args, (0, 1, 2, 3))
    check_dot_product(mlp_loss, args, (0, 1, 2, 3))
    check_jvp_against_directional_derivative(mlp_logits, args[:5], (0, 1, 2, 3, 4))
    check_dot_product(mlp_logits, args[:5], (0, 1, 2, 3, 4))


def test_mlp_grad_golden(request):
    text = s2sad.source(s2sad.grad(mlp_loss, wrt=(0, 1, 2, 3)))
    check_golden("grad_mlp.py", text, request)


def test_mlp_golden_is_self_contained():
    # The golden module runs with nothing but NumPy: exec it alone and compare with backprop.
    namespace = {"np": np}
    exec(compile((GOLDEN / "grad_mlp.py").read_text(), "grad_mlp.py", "exec"), namespace)
    args = mlp_data()
    for got, expected in zip(namespace["grad_mlp_loss"](*args), mlp_backprop(*args)):
        assert exact(got, expected)


# ======================================================================================
# (c) ridge least squares through np.linalg.solve


def ridge_closed_form(A, b, lam):
    """r = Ax − b, y = M⁻¹ 2Aᵀr with M = AᵀA + λI (symmetric), then the chain rule by hand."""
    M = A.T @ A + lam * np.eye(A.shape[1])
    x = np.linalg.solve(M, A.T @ b)
    r = A @ x - b
    y = np.linalg.solve(M, 2 * A.T @ r)
    dA = 2 * np.outer(r, x) - A @ (np.outer(y, x) + np.outer(x, y)) + np.outer(b, y)
    db = -2 * r + A @ y
    dlam = -float(y @ x)
    return dA, db, dlam


def test_ridge_grad():
    args = ridge_data()
    grads = check_grad_against_finite_differences(ridge, args, (0, 1, 2))
    for got, expected in zip(grads, ridge_closed_form(*args)):
        assert exact(got, expected)


def test_ridge_written_with_np_identity():
    args = ridge_data()
    grads = s2sad.grad(ridge_identity, wrt=(0, 1, 2))(*args)
    for got, expected in zip(grads, ridge_closed_form(*args)):
        assert exact(got, expected)


def test_ridge_jvp_and_dot_product():
    args = ridge_data()
    check_jvp_against_directional_derivative(ridge, args, (0, 1, 2))
    check_dot_product(ridge, args, (0, 1, 2))


# ======================================================================================
# (d) the sum of singular values: ∂L/∂W = U diag(ḡ) Vᵀ with ḡ = 1


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 5)], ids=["tall", "square", "wide"])
def test_nuclear_norm_gradient_is_U_Vt(shape):
    W = matrix_with_distinct_singular_values(shape)
    (grad,) = check_grad_against_finite_differences(nuclear_norm, (W,), (0,))
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    assert exact(grad, U @ Vt)


@pytest.mark.parametrize("shape", [(4, 3), (2, 5)], ids=["tall", "wide"])
def test_singular_values_jvp_and_dot_product(shape):
    W = matrix_with_distinct_singular_values(shape, seed=6)
    check_jvp_against_directional_derivative(nuclear_norm, (W,), (0,))
    check_jvp_against_directional_derivative(singular_values, (W,), (0,))
    check_dot_product(singular_values, (W,), (0,))
    # closed form of the tangent: dσ_k = u_kᵀ dW v_k
    dW = np.random.default_rng(7).standard_normal(shape)
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    _, tangent = s2sad.jvp(singular_values)(W, dW)
    assert exact(tangent, np.einsum("ik,ij,kj->k", U, dW, Vt))


# ======================================================================================
# (e) x = solve(A, b), L = g·x: ∂L/∂b = A⁻ᵀ g, ∂L/∂A = −A⁻ᵀ g xᵀ


def test_solve_closed_form():
    A, b, g = square_system()
    dA, db = check_grad_against_finite_differences(solve_dot, (A, b, g), (0, 1))
    x = np.linalg.solve(A, b)
    adjoint = np.linalg.solve(A.T, g)
    assert exact(db, adjoint)
    assert exact(dA, -np.outer(adjoint, x))


def test_solve_vjp_is_the_closed_form_with_the_cotangent_as_g():
    A, b, g = square_system(n=5, seed=8)
    dA, db = s2sad.vjp(solve_x, wrt=(0, 1))(A, b, g)
    adjoint = np.linalg.inv(A).T @ g
    assert exact(db, adjoint)
    assert exact(dA, -np.outer(adjoint, np.linalg.solve(A, b)))


def batched_solve(A, B):
    return np.sum(np.linalg.solve(A, B) ** 2)


@pytest.mark.parametrize("batch", [2, 3])
def test_solve_gradient_for_a_stack_of_systems(batch):
    # np.linalg.solve solves each A[k] X[k] = B[k]; ∂L/∂B[k] = A[k]⁻ᵀ ∂L/∂X[k].
    # Regression: the adjoint transposed A with .T (all axes, not the last two): batch 2
    # raised LinAlgError, batch 3 (a 3x3x3 stack) gave a wrong gradient silently.
    rng = np.random.default_rng(9)
    A = rng.standard_normal((batch, 3, 3)) + 3.0 * np.eye(3)
    B = rng.standard_normal((batch, 3, 2))
    dA, dB = s2sad.grad(batched_solve, wrt=(0, 1))(A, B)
    X = np.linalg.solve(A, B)
    adjoint = np.linalg.solve(np.swapaxes(A, -1, -2), 2 * X)
    assert exact(dB, adjoint)
    assert exact(dA, -adjoint @ np.swapaxes(X, -1, -2))
    assert array_close(dA, array_gradient(batched_solve, (A, B), 0))


def test_solve_jvp_and_dot_product():
    A, b, g = square_system()
    check_jvp_against_directional_derivative(solve_dot, (A, b, g), (0, 1, 2))
    check_dot_product(solve_dot, (A, b, g), (0, 1, 2))
    check_jvp_against_directional_derivative(solve_x, (A, b), (0, 1))
    check_dot_product(solve_x, (A, b), (0, 1))
