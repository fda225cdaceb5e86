"""Weight adjoints summed once after a loop (``passes.batched``).

A loop computing ``a @ W`` with the same ``W`` in every iteration adds
``_matmul_grad_b(g, a, W)`` into ``dW`` in every iteration of its adjoint. The pass gathers
each iteration's ``g`` and ``a`` in lists and sums after the loop with
``_matmul_grad_b_sum``: one matrix product of the stacked iterations where that is the same
sum, else the terms one by one. The helpers are checked here against the sum of the terms
computed from the definition (the adjoint of a linear map, entry by entry), the
gradients against central differences, on both of the helpers' paths, and differentiated
again.
"""

from __future__ import annotations

import numpy as np
import pytest

import s2sad
from s2sad.helpers import _matmul_grad_a_sum, _matmul_grad_b_sum

from .oracles import array_close, array_gradient


def _adjoint(fixed, pairs, product):
    """The sum over (g, other) of d<g, product(fixed, other)>/d fixed, one entry of fixed at
    a time: <g, product(e, other)> for each unit array e (exact: the map is linear)."""
    fixed = np.asarray(fixed, dtype=np.float64)
    total = np.zeros(fixed.shape)
    for k in np.ndindex(fixed.shape):
        unit = np.zeros(fixed.shape)
        unit[k] = 1.0
        total[k] = sum(float(np.sum(np.asarray(g) * product(unit, np.asarray(other))))
                       for g, other in pairs)
    return total


def _adjoint_of_b(pairs, b):
    return _adjoint(b, pairs, lambda unit, a: a @ unit)


def _adjoint_of_a(pairs, a):
    return _adjoint(a, pairs, lambda unit, b: unit @ b)


# (the shapes of the iterations' left operands, the fixed right operand's shape): every
# rank matmul takes; the ones after the first five cannot be stacked into one product
B_CASES = [
    ([(3,)] * 4, (3, 5)),          # an RNN's h @ W: the stacked rows times the g's
    ([(2, 3)] * 3, (3, 5)),        # a batch of rows in each iteration
    ([(3,)] * 3, (3,)),            # inner products: each g a number
    ([(2, 3)] * 3, (3,)),          # matrix times vector
    ([(2, 2, 3)] * 3, (3, 4)),     # batched lefts, one matrix
    ([(3,)] * 2, (2, 3, 4)),       # b with a batch axis: stacking would pair it with the
    ([(2, 3)] * 2, (2, 3, 4)),     # iterations' (and give a wrong sum: as many of each)
    ([(3,)] * 3, (2, 3, 4)),
    ([(3,), (2, 3), (3,)], (3, 4)),  # the left's shape changes between iterations
    ([(3,)], (3, 4)),              # one iteration
]


@pytest.mark.parametrize("lefts, b_shape", B_CASES)
def test_matmul_grad_b_sum_is_the_sum_of_the_iterations_adjoints(lefts, b_shape):
    rng = np.random.default_rng(len(lefts) + len(b_shape))
    b = rng.normal(size=b_shape)
    as_ = [rng.normal(size=shape) for shape in lefts]
    gs = [rng.normal(size=np.shape(a @ b)) if np.ndim(a @ b) else float(rng.normal())
          for a in as_]
    got = _matmul_grad_b_sum(gs, as_, b)
    assert np.shape(got) == b.shape
    assert np.allclose(got, _adjoint_of_b(list(zip(gs, as_)), b), rtol=1e-12, atol=1e-12)


A_CASES = [
    ((5, 3), [(3,)] * 4),          # W @ h: the columns stacked
    ((5, 3), [(3, 2)] * 3),
    ((3,), [(3,)] * 3),
    ((3,), [(3, 2)] * 3),
    ((5, 3), [(4, 3, 2)] * 2),
    ((2, 5, 3), [(3,)] * 3),       # a with a batch axis: summed one by one
    ((2, 5, 3), [(3,)] * 2),
    ((2, 5, 3), [(3, 2)] * 2),
    ((5, 3), [(3,), (3, 2), (3,)]),
]


@pytest.mark.parametrize("a_shape, rights", A_CASES)
def test_matmul_grad_a_sum_is_the_sum_of_the_iterations_adjoints(a_shape, rights):
    rng = np.random.default_rng(len(rights) + len(a_shape))
    a = rng.normal(size=a_shape)
    bs = [rng.normal(size=shape) for shape in rights]
    gs = [rng.normal(size=np.shape(a @ b)) if np.ndim(a @ b) else float(rng.normal())
          for b in bs]
    got = _matmul_grad_a_sum(gs, a, bs)
    assert np.shape(got) == a.shape
    assert np.allclose(got, _adjoint_of_a(list(zip(gs, bs)), a), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fixed", [np.ones((3, 4)), np.ones((3, 4), np.float32),
                                   np.ones((3, 4), np.int64)])
def test_no_iteration_sums_to_zeros_of_floats_like_the_weight(fixed):
    for got in (_matmul_grad_b_sum([], [], fixed), _matmul_grad_a_sum([], fixed, [])):
        assert got.shape == fixed.shape and not got.any()
        assert got.dtype == (fixed.dtype if fixed.dtype.kind == "f" else np.float64)


def rnn(W, U, xs, h):
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ U + h @ W)
        s = s + np.sum(h ** 2)
    return s


def columns(W, xs, h):
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.sin(W @ h + xs[t])
        s = s + np.sum(h)
    return s


def rnn_with_c(W, U, xs, h, c):
    """``c`` broadcasts ``h`` from a vector to a matrix in the first step: the rows the
    loop gathers change shape, and the sum is taken one iteration at a time."""
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ U + h @ W + c)
        s = s + np.sum(h ** 2)
    return s


def batched_weights(W, xs):
    """``W`` with a batch axis: each ``xs[t] @ W`` is a matrix; stacking the iterations
    would pair their axis with W's first."""
    s = 0.0
    for t in range(xs.shape[0]):
        s = s + np.sum(np.sin(xs[t] @ W))
    return s


def branch(W, xs, h, flags):
    """The product under an `if`: not every iteration adds, so nothing is gathered."""
    s = 0.0
    for t in range(xs.shape[0]):
        if flags[t]:
            h = np.tanh(h @ W + xs[t])
        else:
            h = h * 0.5
        s = s + np.sum(h)
    return s


def changing(W, xs, h):
    """``W`` changes in the loop: its adjoint is not a sum over a fixed W."""
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t])
        W = W * 0.9
        s = s + np.sum(h)
    return s


def read_after(W, xs, h):
    """W is read after the loop too: the loop's sum adds to that adjoint."""
    s = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(h @ W + xs[t])
        s = s + np.sum(h)
    return s + np.sum(W * W)


def _problem(seed, n=4, m=3, steps=5):
    rng = np.random.default_rng(seed)
    return (0.5 * rng.normal(size=(n, n)), rng.normal(size=(m, n)),
            rng.normal(size=(steps, m)), rng.normal(size=n))


def test_an_rnn_sums_its_weights_adjoints_after_the_loop():
    W, U, xs, h = _problem(0)
    grad = s2sad.grad(rnn, wrt=(0, 1))
    text = s2sad.source(grad)
    assert "dsdW = _matmul_grad_b_sum(W_gs, W_lefts, W)" in text
    assert "dsdU = _matmul_grad_b_sum(U_gs, U_lefts, U)" in text
    assert "W_gs.append(" in text and "_matmul_grad_b(" not in text.split("def grad_rnn")[1]
    assert ".copy()" not in text
    for k, got in enumerate(grad(W, U, xs, h)):
        assert array_close(got, array_gradient(rnn, (W, U, xs, h), k))


def test_columns_sum_through_matmul_grad_a_sum():
    W, _, xs, h = _problem(1, m=4)
    grad = s2sad.grad(columns, wrt=0)
    assert "dsdW = _matmul_grad_a_sum(W_gs, W, W_rights)" in s2sad.source(grad)
    assert array_close(grad(W, xs, h), array_gradient(columns, (W, xs, h), 0))


def test_rows_that_change_shape_are_summed_one_by_one():
    W, U, xs, h = _problem(2)
    c = np.random.default_rng(3).normal(size=(2, 4))
    grad = s2sad.grad(rnn_with_c, wrt=(0, 1))
    assert "_matmul_grad_b_sum(" in s2sad.source(grad)
    for k, got in enumerate(grad(W, U, xs, h, c)):
        assert array_close(got, array_gradient(rnn_with_c, (W, U, xs, h, c), k))


def test_a_weight_with_a_batch_axis_is_summed_one_by_one():
    rng = np.random.default_rng(4)
    # two steps, as many as W's batch: stacked, the shapes would fit and the sum be wrong
    W, xs = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3))
    grad = s2sad.grad(batched_weights, wrt=0)
    assert "_matmul_grad_b_sum(" in s2sad.source(grad)
    assert array_close(grad(W, xs), array_gradient(batched_weights, (W, xs), 0))


def test_no_iteration_gives_zeros_like_the_weight():
    W, U, xs, h = _problem(5, steps=0)
    dW, dU = s2sad.grad(rnn, wrt=(0, 1))(W, U, xs, h)
    assert dW.shape == W.shape and dU.shape == U.shape and not dW.any() and not dU.any()


@pytest.mark.parametrize("f, gathered", [(branch, False), (changing, False),
                                         (read_after, True)])
def test_where_the_sum_is_not_every_iterations_or_adds_to_more(f, gathered):
    W, _, xs, h = _problem(6, m=4)
    args = (W, xs, h, np.array([True, False, True, True, False])) if f is branch \
        else (W, xs, h)
    grad = s2sad.grad(f, wrt=0)
    assert ("_matmul_grad_b_sum(" in s2sad.source(grad)) == gathered
    assert array_close(grad(*args), array_gradient(f, args, 0))


def test_the_summed_gradient_differentiates_again():
    """jvp of the generated gradient (the compiler reads ``_matmul_grad_b_sum`` back as
    the loop adding its terms), and hvp, against central differences of the gradient."""
    W, U, xs, h = _problem(7)
    V = np.random.default_rng(8).normal(size=W.shape)
    grad = s2sad.grad(rnn, wrt=(0, 1))
    step = 1e-6
    up, down = grad(W + step * V, U, xs, h), grad(W - step * V, U, xs, h)
    expected = [(a - b) / (2 * step) for a, b in zip(up, down)]
    value, again = s2sad.jvp(grad, wrt=0)(W, U, xs, h, V)
    for got, want in zip(again, expected):
        assert array_close(got, want) and np.abs(want).max() > 0.1
    # the same sum, added in another order (one term at a time, not one product)
    assert all(np.allclose(a, b, rtol=1e-13, atol=1e-13)
               for a, b in zip(value, grad(W, U, xs, h)))
    hvp = s2sad.hvp(rnn, wrt=0)(W, U, xs, h, V)
    assert array_close(hvp, expected[0])


def rnn_gradient_dotted(W, U, xs, h, V):
    dW, dU = _GRAD_RNN(W, U, xs, h)
    return np.sum(dW * V) + np.sum(dU * dU)


_GRAD_RNN = s2sad.grad(rnn, wrt=(0, 1))


def test_a_function_of_the_summed_gradient_has_a_gradient():
    """Reverse over reverse: the generated gradient called from a function s2sad
    differentiates (its lists and the loop read back from ``_matmul_grad_b_sum``)."""
    W, U, xs, h = _problem(9)
    V = np.random.default_rng(10).normal(size=W.shape)
    grad = s2sad.grad(rnn_gradient_dotted, wrt=(0, 1))
    args = (W, U, xs, h, V)
    for k, got in enumerate(grad(*args)):
        assert array_close(got, array_gradient(rnn_gradient_dotted, args, k))


# The lists the pass makes take each iteration's adjoint after it was written into by index.
# The emitter writes into such an array in place (no copy first) only where its storage is
# made anew in each iteration: what the list holds then is earlier iterations' arrays.
_FRESH_ROWS = """def f(x, n):
    parts = list
    parts.2 = for i in range(0, n, 1) carry(parts.1=parts):
        row = np.zeros_like x
        row.1 = setitem row i 0 index='_'
        parts.3 = append parts.1 row.1
        yield parts.3
    s = np.stack parts.2
    return s
"""
_CARRIED_ROW = """def f(x, n):
    parts = list
    row = np.zeros_like x
    parts.2, row.2 = for i in range(0, n, 1) carry(parts.1=parts, row.1=row):
        row.3 = setitem row.1 i 0 index='_'
        parts.3 = append parts.1 row.3
        yield parts.3, row.3
    s = np.stack parts.2
    return s
"""


@pytest.mark.parametrize("text, copies", [(_FRESH_ROWS, False), (_CARRIED_ROW, True)])
def test_an_array_a_list_takes_later_is_written_in_place_only_if_made_in_each_iteration(
        text, copies):
    from s2sad import emit
    from s2sad.ir import parse_function

    source = emit.emit(parse_function(text), {}).source
    assert ("row = row.copy()" in source) == copies
    namespace = {"np": np}
    exec(compile(source, "<emitted>", "exec"), namespace)
    # every row the list took keeps the value it had then (no two are one array)
    assert namespace["f"](np.zeros(2), 3)[:, 0].tolist() == [0.0, 1.0, 2.0]


def rows_made_in_the_loop(x):
    parts = []
    for i in range(x.shape[0]):
        row = np.zeros(3)
        row[0] = x[i]
        row[1] = 2.0 * x[i]
        parts.append(row)
    return np.sum(np.stack(parts) ** 2)


def row_made_anew_after_each_append(x):
    parts = []
    row = np.zeros(3)
    for i in range(x.shape[0]):
        row[0] = x[i]
        parts.append(row)
        row = np.zeros(3)  # the next trip writes into a new array
    return np.sum(np.stack(parts) ** 3)


def rows_made_in_an_inner_loop(x):
    parts = []
    for i in range(2):
        for j in range(x.shape[0]):
            row = np.zeros(3)
            row[0] = x[j] * (i + 1.0)
            parts.append(row)
    return np.sum(np.stack(parts) ** 2)


@pytest.mark.parametrize("f", [rows_made_in_the_loop, row_made_anew_after_each_append,
                               rows_made_in_an_inner_loop])
def test_arrays_written_then_appended_in_a_loop(f):
    """Each trip's array is a new one: the list keeps what each trip wrote (Python's
    values), and the gradient is right. (An array appended and then
    written on a later trip is refused: test_errors.)"""
    x = np.array([0.5, -1.5, 2.0])
    grad = s2sad.grad(f)
    text = s2sad.source(grad)
    primal = text[text.index(f"def grad_{f.__name__}"):text.index("# adjoint of")]
    assert "row[0] = " in primal
    # made in the body: no copy first (one carried around the loop keeps its copy)
    assert (".copy()" in primal) == (f is row_made_anew_after_each_append)
    assert array_close(grad(x), array_gradient(f, (x,), 0))


def test_many_iterations_are_stacked_a_part_at_a_time():
    """More than 4096 iterations: summed over parts of 4096 stacked at a time (the copies
    stay small), the same sum."""
    rng = np.random.default_rng(11)
    W = rng.normal(size=(3, 2))
    lefts = [rng.normal(size=3) for _ in range(9000)]
    gs = [rng.normal(size=2) for _ in range(9000)]
    expected = sum(np.multiply.outer(a, g) for a, g in zip(lefts, gs))
    assert np.allclose(_matmul_grad_b_sum(gs, lefts, W), expected, rtol=1e-12, atol=1e-10)
    rights = lefts
    gs_a = [rng.normal(size=2) for _ in range(9000)]
    expected_a = sum(np.multiply.outer(g, b) for g, b in zip(gs_a, rights))
    assert np.allclose(_matmul_grad_a_sum(gs_a, W.T, rights), expected_a, rtol=1e-12,
                       atol=1e-10)
