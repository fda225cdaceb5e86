"""Derivatives of derivatives through loops: the compiler applied to its own output.

A reverse-mode derivative of a loop keeps a tape (``tape.append`` forwards, ``tape.pop()``
backwards). Differentiating that code again pairs each pop with the push it takes back:
forward mode carries tangents on the same tape (``tape.append((a, da))``), reverse mode
sends the adjoints of popped values back through a tape of their own. Each second
derivative is checked against central differences of the first derivative (itself
checked against the function in the other test modules) and against the other way of
computing it (forward over reverse against reverse over reverse).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2sad

from .jump_cases import first_above, odd_terms, skip_and_stop
from .oracles import array_close, array_gradient


def scalar_loop(a, y):
    for _ in range(6):
        a = a * y + math.sin(a)
    return a


def while_loop(x, y):
    s = x
    while s < 10.0:
        s = s * 1.5 + x * y
    return s * x


def branch_in_loop(x, y):
    s = 0.0
    for i in range(5):
        if s < 1.0:
            s = s + x * math.cos(y * i)
        else:
            s = s * y - x
    return s * s


def nested_loops(x, y):
    acc = x
    for i in range(3):
        for _ in range(i + 1):
            acc = acc * y + math.tanh(acc) * x
    return acc


SCALAR = [
    (scalar_loop, (0.3, 0.9)),
    (while_loop, (1.3, 0.7)),
    (branch_in_loop, (0.7, 1.1)),
    (nested_loops, (0.4, 0.8)),
    (odd_terms, (0.7, 1.3)),
    (first_above, (0.35,)),
    (skip_and_stop, (0.45,)),
]
IDS = [f.__name__ for f, _ in SCALAR]


def numeric_hessian(f, args, h=1e-5):
    """Rows: central differences of the (s2sad, first-order) gradient."""
    n = len(args)
    grad = s2sad.grad(f, wrt=tuple(range(n)))
    rows = []
    for i in range(n):
        up, down = list(args), list(args)
        up[i] += h
        down[i] -= h
        rows.append([(a - b) / (2 * h) for a, b in zip(grad(*up), grad(*down))])
    return np.array(rows)


@pytest.mark.parametrize("f, args", SCALAR, ids=IDS)
def test_reverse_over_reverse(f, args):
    n = len(args)
    expected = numeric_hessian(f, args)
    for i in range(n):
        first = s2sad.grad(f, wrt=i)
        second = s2sad.grad(first, wrt=tuple(range(n)))(*args)
        assert array_close(second, expected[:, i], rtol=1e-6, atol=1e-6), (i, second)


@pytest.mark.parametrize("f, args", SCALAR, ids=IDS)
def test_forward_over_reverse_agrees_with_reverse_over_reverse(f, args):
    n = len(args)
    grad = s2sad.grad(f, wrt=tuple(range(n)))
    hvp = s2sad.jvp(grad, wrt=tuple(range(n)))
    for i in range(n):
        direction = [1.0 if j == i else 0.0 for j in range(n)]
        _, column = hvp(*args, *direction)
        row = s2sad.grad(s2sad.grad(f, wrt=i), wrt=tuple(range(n)))(*args)
        assert np.allclose(column, row, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("f, args", SCALAR, ids=IDS)
def test_forward_over_forward(f, args):
    n = len(args)
    for i in range(n):
        direction = [1.0 if j == i else 0.0 for j in range(n)]
        jvp = s2sad.jvp(f, wrt=tuple(range(n)))
        second = s2sad.jvp(jvp, wrt=tuple(range(n)))
        tangent_of_tangent = second(*args, *direction, *direction)[1][1]
        h = 1e-5
        up = [a + h * d for a, d in zip(args, direction)]
        down = [a - h * d for a, d in zip(args, direction)]
        expected = (jvp(*up, *direction)[1] - jvp(*down, *direction)[1]) / (2 * h)
        assert math.isclose(tangent_of_tangent, expected, rel_tol=1e-6, abs_tol=1e-6)


def recurrence(x):
    y = np.zeros(len(x))
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] * x[i] + np.sin(y[i - 1])
    return np.sum(y * y)


def test_hessian_vector_product_of_an_array_loop():
    x = np.array([0.3, 0.7, -0.4, 1.1])
    v = np.array([0.5, -1.0, 2.0, 0.25])
    grad = s2sad.grad(recurrence)
    _, hv = s2sad.jvp(grad)(x, v)
    h = 1e-6
    expected = (grad(x + h * v) - grad(x - h * v)) / (2 * h)
    assert array_close(hv, expected, rtol=1e-6, atol=1e-7)
    # and reverse over reverse, one Hessian row at a time through a scalar projection
    hessian = np.array([array_gradient(lambda z, k=k: grad(z)[k], (x,), 0) for k in range(4)])
    assert array_close(hessian @ v, hv, rtol=1e-5, atol=1e-6)


def test_the_second_derivative_reads_its_tapes_in_order():
    text = s2sad.source(s2sad.grad(s2sad.grad(scalar_loop, wrt=0), wrt=0))
    assert "dtape.append(" in text and "dtape.pop()" in text
    assert text.index("dtape.append(") < text.index("dtape.pop()")
    forward = s2sad.source(s2sad.jvp(s2sad.grad(scalar_loop, wrt=0)))
    assert "tape.append((a, dada))" in forward


def test_a_tape_whose_pops_do_not_mirror_its_pushes_is_a_located_error():
    with pytest.raises(s2sad.CompileError) as info:
        s2sad.grad(unbalanced_tape)
    assert "pushed in 2 place(s) and popped in 1" in str(info.value)
    assert info.value.lineno is not None


def unbalanced_tape(x):
    tape = []
    tape.append(x)
    tape.append(x * 2.0)
    y = tape.pop()
    return y * x


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def quadratic_form(x, A):
    return x @ A @ x


def five_x_cubed(x):
    return 5 * x ** 3


def test_hvp_of_rosenbrock_against_differences_of_the_gradient():
    rng = np.random.default_rng(3)
    grad = s2sad.grad(rosenbrock)
    hvp = s2sad.hvp(rosenbrock)
    for _ in range(3):
        x, v = rng.standard_normal(6), rng.standard_normal(6)
        h = 1e-6
        expected = (grad(x + h * v) - grad(x - h * v)) / (2 * h)
        assert array_close(hvp(x, v), expected, rtol=1e-6, atol=1e-5)
    assert "np.zeros_like(x)" in s2sad.source(hvp) and "hessian" not in s2sad.source(hvp)


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    A = np.arange(9.0).reshape(3, 3) - 2.0
    x = np.array([1.0, -2.0, 0.5])
    assert np.allclose(s2sad.hessian(quadratic_form)(x, A), A + A.T, rtol=0, atol=1e-12)
    blocks = s2sad.hessian(quadratic_form, wrt=(0, 1))(x, A)
    assert np.allclose(blocks[0][0], A + A.T, rtol=0, atol=1e-12)
    # d2/dx dA of x @ A @ x: d/dA_jk (2 (A + A^T) x)_i  = delta_ij x_k + delta_ik x_j
    expected = np.einsum("ij,k->ijk", np.eye(3), x) + np.einsum("ik,j->ijk", np.eye(3), x)
    assert np.allclose(blocks[0][1], expected, rtol=0, atol=1e-12)
    assert blocks[1][1].shape == (3, 3, 3, 3) and np.allclose(blocks[1][1], 0.0)


def test_second_derivative_of_five_x_cubed():
    assert s2sad.grad(s2sad.grad(five_x_cubed))(2.0) == 60.0
    assert s2sad.hessian(five_x_cubed)(2.0) == 60.0
    _, second = s2sad.jvp(s2sad.grad(five_x_cubed))(2.0, 1.0)
    assert second == 60.0


def test_jacobian_of_the_gradient_is_the_hessian():
    x = np.array([1.2, 0.8, -0.5, 1.5])
    for mode in ("forward", "reverse"):
        J = s2sad.jacobian(s2sad.grad(rosenbrock), mode=mode)(x)
        assert np.allclose(J, s2sad.hessian(rosenbrock)(x), rtol=1e-12, atol=1e-9)


def test_second_derivative_golden(request):
    """The notes' listing: d(dbdx)/dx = 6 x dbda, at x = 2 that is 60."""
    from .second_derivative_case import f
    from .test_seeds import check_golden

    second = s2sad.grad(s2sad.grad(f))
    assert second(2.0) == 60.0
    check_golden("grad_grad_f.py", s2sad.source(second), request)


def mlp_loss(W1, W2, X, Y):
    h = np.tanh(X @ W1)
    logits = h @ W2
    m = np.max(logits, axis=1, keepdims=True)
    logp = logits - m - np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    W1, W2 = rng.normal(size=(4, 5)) * 0.5, rng.normal(size=(5, 3)) * 0.5
    X, Y = rng.normal(size=(8, 4)), np.eye(3)[rng.integers(0, 3, 8)]
    return W1, W2, X, Y


def test_hvp_of_an_mlp_loss_against_differences_of_the_gradient():
    W1, W2, X, Y = mlp_data()
    rng = np.random.default_rng(1)
    V1, V2 = rng.normal(size=W1.shape), rng.normal(size=W2.shape)
    hv1, hv2 = s2sad.hvp(mlp_loss, wrt=(0, 1))(W1, W2, X, Y, V1, V2)
    grad = s2sad.grad(mlp_loss, wrt=(0, 1))
    h = 1e-6
    up, down = grad(W1 + h * V1, W2 + h * V2, X, Y), grad(W1 - h * V1, W2 - h * V2, X, Y)
    assert array_close(hv1, (up[0] - down[0]) / (2 * h), rtol=1e-6, atol=1e-7)
    assert array_close(hv2, (up[1] - down[1]) / (2 * h), rtol=1e-6, atol=1e-7)


def test_hutchinson_trace_estimate_converges_to_the_exact_trace():
    """seeds/001: E[vᵀ H v] = tr(H) for Rademacher v; only Hessian-vector products."""
    W1, W2, X, Y = mlp_data()
    exact = np.trace(s2sad.hessian(mlp_loss)(W1, W2, X, Y).reshape(W1.size, W1.size))
    hvp = s2sad.hvp(mlp_loss)
    rng = np.random.default_rng(2)
    samples = []
    for _ in range(4000):
        v = rng.choice([-1.0, 1.0], size=W1.shape)
        samples.append(float(np.sum(v * hvp(W1, W2, X, Y, v))))
    estimate = np.mean(samples)
    standard_error = np.std(samples) / np.sqrt(len(samples))
    assert abs(estimate - exact) <= 4 * standard_error
    assert standard_error < 0.1 * abs(exact)


def test_the_compiler_accepts_everything_it_generates():
    """Each derivative of each whole program, lowered again and differentiated again."""
    from .test_array_programs import CASES as ARRAY_CASES
    from .test_calls import CASES as CALL_CASES

    for f, args in ARRAY_CASES + CALL_CASES + SCALAR:
        wrt = tuple(range(len(args)))
        for made in (s2sad.grad(f, wrt=wrt), s2sad.jvp(f, wrt=wrt), s2sad.vjp(f, wrt=wrt)):
            assert s2sad.ir(made).startswith("def ")
        first = s2sad.grad(f, wrt=0)
        if np.ndim(args[0]) == 0:  # a number in, a number out: differentiate it again
            second = s2sad.grad(first, wrt=0)(*args)
            h = 1e-6
            up, down = list(args), list(args)
            up[0] += h
            down[0] -= h
            expected = (first(*up) - first(*down)) / (2 * h)
            assert math.isclose(second, expected, rel_tol=1e-5, abs_tol=1e-5), f.__name__
        else:  # an array in: forward over reverse
            v = np.ones(np.shape(args[0]))
            _, hv = s2sad.jvp(first, wrt=0)(*args, v)
            assert np.shape(hv) == np.shape(args[0]), f.__name__


def gather_loop(x, idx):
    s = 0.0
    for k in range(idx.shape[0]):
        row = x[idx[k]]
        s = s + row[0] * row[1] * x[0, 0]
    return s


def gather_rows(x, idx):
    s = 0.0
    for k in range(2):
        s = s + np.sum(x[idx] ** 3 * x[k, 1])
    return s


def gather_once(x, idx):
    return np.sum(x[idx] ** 3 * x[1, 0])


@pytest.mark.parametrize("f, idx, spelled", [
    (gather_loop, np.array([2, 0, 2, 1]), "_add_row"),  # integers: rows of the adjoint
    (gather_rows, np.array([0, 2, 0]), "_add_at"),      # an index array that repeats
    (gather_once, np.array([0, 2, 0]), "np.add.at"),    # no loop: NumPy's own spelling
], ids=["integer", "repeating", "no-loop"])
def test_add_at_and_zeros_in_generated_code_differentiate_again(f, idx, spelled):
    """In a loop, the gradient writes ``_add_at(g, i, v)`` (outside one, ``np.add.at``), and
    a row read entry by entry has its adjoint gathered in ``_row_of(g, i, row)`` and added
    by ``_add_row`` (tests/test_row_views.py): right where an index repeats and where it
    does not, and the compiler takes them as input again."""
    x = np.array([[0.7, -1.2], [1.9, 0.4], [-0.6, 1.3]])
    first = s2sad.grad(f, wrt=0)
    text = s2sad.source(first)
    assert f"{spelled}(" in text
    assert ("def _add_at" in text) == (spelled != "np.add.at")
    assert ("_row_of(dsdx, t9, row)" in text) == (f is gather_loop)
    assert array_close(first(x, idx), array_gradient(f, (x, idx), 0))
    v = np.array([[0.3, -0.5], [1.1, 0.2], [-0.4, 0.9]])
    _, hv = s2sad.jvp(first, wrt=0)(x, idx, v)
    h = 1e-6
    expected = (first(x + h * v, idx) - first(x - h * v, idx)) / (2 * h)
    assert array_close(hv, expected)


def recurrent(W, xs, h0):
    """Weights taken entry by entry (``W * h``; ``W @ h`` has its adjoint summed after the
    loop instead, tests/test_batched.py)."""
    h = h0
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W * h + xs[t])
        s = s + np.sum(h * h)
    return s


def test_adjoints_accumulated_over_a_loop_add_into_their_array_and_differentiate_again():
    """``dW = dW + t`` over the reversed loop is ``dW = _add_into(dW, t)``: the adjoint
    adds into its own array (a zero array made before the loop) where nothing else reads
    it. Right for float64, float32 and integer weights (an integer dW takes a new float
    array, as ``+`` does), and the compiler reads ``_add_into`` back as ``+``."""
    rng = np.random.default_rng(3)
    W, xs, h0 = 0.4 * rng.normal(size=(3, 3)), rng.normal(size=(5, 3)), rng.normal(size=3)
    first = s2sad.grad(recurrent, wrt=(0, 2))
    text = s2sad.source(first)
    assert "dsdW = _add_into(dsdW, " in text and "def _add_into" in text
    dW, dh0 = first(W, xs, h0)
    assert array_close(dW, array_gradient(recurrent, (W, xs, h0), 0))
    assert array_close(dh0, array_gradient(recurrent, (W, xs, h0), 2))
    for weights in (W.astype(np.float32), np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]])):
        got, _ = first(weights, xs, h0)  # float64 contributions (xs, h0), as with `+`
        assert got.dtype == np.float64
        assert array_close(got, array_gradient(recurrent, (weights.astype(float), xs, h0), 0))
    v = rng.normal(size=(3, 3))
    _, hv = s2sad.jvp(first, wrt=0)(W, xs, h0, v)
    h = 1e-6
    up, down = first(W + h * v, xs, h0), first(W - h * v, xs, h0)
    for k in range(2):
        assert array_close(hv[k], (up[k] - down[k]) / (2 * h))



def test_hvp_of_the_gmm_objective():
    """ADBench's GMM objective (benchmarks/gmm.py) reads entries of an array it then writes
    (a copy, ``x[i].copy()``): forward mode over its gradient takes the copy's tangent too
    (the tangent rule of getitem raised a TypeError on ``copy``)."""
    from benchmarks import gmm

    args = gmm.with_log_gamma(gmm.problem(d=3, K=4, n=6, wishart_m=2))
    wrt = (0, 1, 2)
    grad = s2sad.grad(gmm.gmm_objective_given, wrt=wrt)
    rng = np.random.default_rng(7)
    v = tuple(rng.normal(size=np.shape(args[k])) for k in wrt)
    h = 1e-6

    def moved(sign):
        return grad(*(a + sign * h * v[k] if k in wrt else a for k, a in enumerate(args)))

    got = s2sad.hvp(gmm.gmm_objective_given, wrt=wrt)(*args, *v)
    for k in wrt:
        assert array_close(got[k], (moved(1)[k] - moved(-1)[k]) / (2 * h))
