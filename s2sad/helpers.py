"""The small functions generated code defines for itself when it needs them.

Generated code is self-contained (DESIGN §5): when a derivative needs one of these, the
emitter copies its source, as written here, into the generated module, after the helpers it
calls. They are plain NumPy, short, and named for what they do. Each is also an IR
primitive with derivative rules of its own, so generated code stays differentiable.
"""

from __future__ import annotations

import functools
import inspect
import math
import re

import numpy as np

from . import naming


def _zeros_like(x):
    """A zero shaped like x: the derivative of an output that ignores x."""
    if isinstance(x, (int, float)):
        return 0.0
    if isinstance(x, (list, tuple)):
        return [_zeros_like(item) for item in x]
    return np.zeros_like(x)[()]


def _zeros(x):
    """np.zeros_like(x), without its overhead when x is an array (a fifth of the time on a
    small one), and of floats where x holds integers or booleans: what an adjoint written
    into by index starts from."""
    if type(x) is np.ndarray and x.dtype.kind in "fc":
        return np.zeros(x.shape, x.dtype)
    zeros = np.zeros_like(x)
    return zeros if zeros.dtype.kind in "fc" else zeros.astype(float)


def _add_at(g, index, v):
    """np.add.at(g, index, v): v added into g at index, once for each time an entry is
    picked; g[index] += v, which is faster, when the index is integers and slices (they
    never pick an entry twice)."""
    if type(index) is not int and not isinstance(index, np.integer):
        for part in index if type(index) is tuple else (index,):
            if not (type(part) is int or type(part) is slice or isinstance(part, np.integer)):
                np.add.at(g, index, v)
                return
    g[index] += v


def _row_of(g, index, x):
    """Where to gather the adjoint of the row x = a[index], g being a's adjoint: g[index]
    itself where that is a view into g shaped like x (an integer index; adds into the row
    land in g at once), else zeros like x. The generated code only adds into the row, then
    calls _add_row(g, index, row), and reads g nowhere in between: g ends up the same."""
    row = g[index]
    try:
        if row.base is g and row.shape == x.shape and row.dtype == x.dtype:
            return row
    except AttributeError:  # not arrays
        pass
    return _zeros(x)


def _add_row(g, index, row):
    """Adds the row from _row_of(g, index, x) into g at index: nothing to do where it is a
    view into g (its adds are there already), else np.add.at(g, index, row)."""
    if row.base is not g:
        _add_at(g, index, row)


def _add_into(g, v):
    """g + v, written into g's own array instead of a new one where that is the same
    result: g an array (not a number) of v's dtype, and `+=` refuses the rest before
    writing anything (a read-only g, or a v that would make the sum larger than g). The
    generated code passes a g that nothing else reads any more: an adjoint accumulated in
    a loop. Checks cost 0.2 µs, where `g.flags.writeable` alone cost 0.25."""
    if type(g) is np.ndarray and type(v) is np.ndarray and g.dtype is v.dtype and g.ndim:
        try:
            g += v
            return g
        except ValueError:
            pass
    return g + v


def _is_array(x):
    """Whether x is a NumPy array: `x += y` writes into it (and into every name for it)."""
    return isinstance(x, np.ndarray)


def _shares_memory(a, x):
    """Whether a is a view of x (x[i] with a basic index): `a += y` then writes into x too
    (an integer-array index gives a copy, which shares nothing)."""
    return isinstance(a, np.ndarray) and isinstance(x, np.ndarray) and np.shares_memory(a, x)


def _unbroadcast(g, x):
    """g summed over the axes along which x was broadcast, so that it is shaped like x."""
    try:
        if g.shape == x.shape:
            return g  # the usual case, without np.shape's overhead
    except AttributeError:  # a number or a list
        pass
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    lead = np.ndim(g) - len(shape)
    if lead:
        g = np.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return g


def _broadcast_like(g, x):
    """g broadcast up to the shape of x (a tangent of a value that was broadcast)."""
    shape = np.shape(x)
    if np.shape(g) == shape:
        return g
    return np.broadcast_to(g, shape)


def _unreduce(g, x, axis=None, keepdims=False):
    """g, the adjoint of a reduction of x over axis, broadcast back to the shape of x."""
    if axis is None and type(g) is float and type(x) is np.ndarray \
            and x.dtype == np.float64 and x.size <= 4096:
        spread = np.full(x.shape, g)  # small: faster than np.broadcast_to's view, and
        spread.flags.writeable = False  # read-only like it, so the code treats both alike
        return spread
    x = np.asarray(x)
    if axis is not None and not keepdims and np.ndim(g) > 0:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(np.asarray(g, dtype=np.result_type(g, x)), x.shape)


def _matmul_grad_a(g, a, b):
    """The adjoint of a in a @ b, given the adjoint g of the product."""
    try:  # .ndim costs a tenth of np.ndim: this runs once per product per step
        na, nb = a.ndim, b.ndim
    except AttributeError:  # a number or a list
        na, nb = np.ndim(a), np.ndim(b)
    if nb == 1:
        if na == 1:
            return g * b
        return np.multiply.outer(g, b)
    if na == 1:
        if nb == 2:
            return b @ g
        return _unbroadcast(np.einsum("...ij,...j->...i", b, g), a)
    return _unbroadcast(g @ np.swapaxes(b, -1, -2), a)


def _matmul_grad_b(g, a, b):
    """The adjoint of b in a @ b, given the adjoint g of the product."""
    try:
        na, nb = a.ndim, b.ndim
    except AttributeError:  # a number or a list
        na, nb = np.ndim(a), np.ndim(b)
    if na == 1:
        if nb == 1:
            return g * a
        if nb == 2:
            return np.multiply.outer(a, g)
        return a[:, None] * np.expand_dims(g, -2)
    if nb == 1:
        return _unbroadcast(np.einsum("...i,...ij->...j", g, a), b)
    return _unbroadcast(np.swapaxes(a, -1, -2) @ g, b)


def _matmul_grad_b_sum(gs, lefts, b):
    """The sum of _matmul_grad_b(g, a, b) over the pairs of gs and lefts: the adjoint of b
    where each iteration of a loop computes `a @ b` with the same b. Where the lefts have
    one shape and b at most two axes, the stacked iterations are one batch of `a @ b`, and
    one matrix product gives the sum (as cuDNN sums an LSTM's weight gradient over its
    time steps) instead of an outer product and an addition per iteration. 4096
    iterations at a time: the stacked copies stay small beside the lists."""
    if len(gs) > 1 and np.ndim(b) <= 2:
        try:
            total = None
            for start in range(0, len(gs), 4096):
                part = _matmul_grad_b(np.stack(gs[start:start + 4096]),
                                      np.stack(lefts[start:start + 4096]), b)
                total = part if total is None else total + part
            return total
        except ValueError:  # the iterations' shapes differ
            pass
    if not gs:  # no iteration: no adjoint, zeros shaped like b
        return _zeros(b)
    total = 0.0
    for g, a in zip(gs, lefts):
        total = total + _matmul_grad_b(g, a, b)
    return total


def _matmul_grad_a_sum(gs, a, rights):
    """The sum of _matmul_grad_a(g, a, b) over the pairs of gs and rights: the adjoint of a
    where each iteration of a loop computes `a @ b` with the same a; as _matmul_grad_b_sum,
    with vectors stacked as the columns of a matrix."""
    if len(gs) > 1 and np.ndim(a) <= 2:
        try:
            axis = -1 if np.ndim(rights[0]) == 1 else 0
            total = None
            for start in range(0, len(gs), 4096):
                part = _matmul_grad_a(np.stack(gs[start:start + 4096], axis), a,
                                      np.stack(rights[start:start + 4096], axis))
                total = part if total is None else total + part
            return total
        except ValueError:  # the iterations' shapes differ
            pass
    if not gs:
        return _zeros(a)
    total = 0.0
    for g, b in zip(gs, rights):
        total = total + _matmul_grad_a(g, a, b)
    return total


def _dot_grad_a(g, a, b):
    """The adjoint of a in np.dot(a, b): g contracted with b over b's other axes."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * b, a)
    moved = np.moveaxis(b, -2 if np.ndim(b) > 1 else 0, -1)
    rest = np.ndim(b) - 1
    return np.tensordot(g, moved, axes=(list(range(np.ndim(g) - rest, np.ndim(g))),
                                        list(range(rest))))


def _dot_grad_b(g, a, b):
    """The adjoint of b in np.dot(a, b): a contracted with g over a's other axes."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * a, b)
    lead = np.ndim(a) - 1
    part = np.tensordot(a, g, axes=(list(range(lead)), list(range(lead))))
    return np.moveaxis(part, 0, -2 if np.ndim(b) > 1 else 0)


def _inner_grad_a(g, a, b):
    """The adjoint of a in np.inner(a, b) (which sums over the last axes of both)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * b, a)
    rest = np.ndim(b) - 1
    return np.tensordot(g, b, axes=(list(range(np.ndim(g) - rest, np.ndim(g))),
                                    list(range(rest))))


def _inner_grad_b(g, a, b):
    """The adjoint of b in np.inner(a, b)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * a, b)
    lead = np.ndim(a) - 1
    return np.tensordot(g, a, axes=(list(range(lead)), list(range(lead))))


def _trace_grad(g, x):
    """The adjoint of np.trace(x): g on the diagonal of the first two axes."""
    eye = np.eye(np.shape(x)[0], np.shape(x)[1], dtype=np.result_type(g, x))
    return np.einsum("ij,...->ij...", eye, g)


def _trace_last(m):
    """The trace of a matrix, or of each matrix in a stack."""
    return np.trace(m, axis1=-2, axis2=-1)


def _det_grad(g, det, a):
    """The adjoint of a in det(a) (each matrix of a stack): g det(a) inv(a)ᵀ."""
    return np.asarray(g * det)[..., None, None] * _mT(np.linalg.inv(a))


def _logdet_grad(g, a):
    """The adjoint of a in slogdet(a)'s log|det|: g inv(a)ᵀ."""
    return np.asarray(g)[..., None, None] * _mT(np.linalg.inv(a))


def _setitem_grad(g, index):
    """The adjoint of v in x[index] = v: g[index], except where a later write in the same
    assignment (a repeated index) took the entry."""
    owner = np.full(np.shape(g), -1)
    written = owner[index]
    order = np.arange(np.size(written)).reshape(np.shape(written))
    owner[index] = order
    return np.where(owner[index] == order, g[index], 0)


def _extremum_grad(g, r, x, axis=None, keepdims=False):
    """The adjoint of max or min of x: g shared equally by the entries that attain r."""
    hit = x == _unreduce(r, x, axis, keepdims)
    count = np.sum(hit, axis=axis, keepdims=True)
    share = np.divide(hit, count, dtype=np.result_type(x, 1.0))
    return _unreduce(g, x, axis, keepdims) * share


def _prod_grad(g, x, axis=None, keepdims=False):
    """The adjoint of np.prod(x, axis): g times the product of the other entries, by
    products from the left and from the right (exact where x has zeros, unlike prod / x)."""
    x = np.asarray(x)
    axes = tuple(range(x.ndim)) if axis is None else tuple(
        a % x.ndim for a in np.atleast_1d(axis))
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)
    others = (left * right[..., ::-1]).reshape(moved.shape)
    others = np.transpose(others, np.argsort(rest + list(axes)))
    return _unreduce(g, x, axis, keepdims) * others


def _spread(g, xs):
    """The adjoint of sum(xs): each item gets g (a copy of its own, to add into)."""
    return [np.copy(g) for _ in xs]


def _add_items(a, b):
    """Two adjoints of a list added item by item (lists add by joining, so not a + b)."""
    return [x + y for x, y in zip(a, b)]


def _unstack(g, axis=0):
    """The adjoint of np.stack(xs, axis): the slices of g along axis, one per item."""
    return np.moveaxis(g, axis, 0)


def _unconcatenate(g, xs, axis=0):
    """The adjoint of np.concatenate(xs, axis): g cut back into pieces shaped like xs."""
    ends = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
    return np.split(g, ends, axis=axis)


def _mT(a):
    """a with its last two axes swapped (the transpose of a matrix, or of each one)."""
    return np.swapaxes(a, -1, -2)


def _solve_grad_a(gb, x):
    """The adjoint of A in x = solve(A, b), given the adjoint gb of b (= solve(A.T, g))."""
    if np.ndim(x) == 1:
        return -np.multiply.outer(gb, x)
    return -gb @ _mT(x)


def _cholesky_tangent(da, low):
    """The tangent of low = cholesky(a): low @ phi(low^-1 da low^-T), phi halving the
    diagonal of the lower triangle."""
    inner = np.linalg.solve(low, _mT(np.linalg.solve(low, _mT(da))))
    phi = np.tril(inner) - 0.5 * np.eye(np.shape(low)[-1]) * inner
    return low @ phi


def _cholesky_grad(g, low):
    """The adjoint of a in low = cholesky(a) (Murray 2016), symmetric like a."""
    p = _mT(low) @ np.tril(g)
    p = np.tril(p) - 0.5 * np.eye(np.shape(low)[-1]) * p
    s = np.linalg.solve(_mT(low), _mT(np.linalg.solve(_mT(low), _mT(p))))
    return 0.5 * (s + _mT(s))


def _svd_factors(a):
    """The thin SVD of a, for the derivative of its singular values or vectors."""
    return np.linalg.svd(a, full_matrices=False)


def _svd_values_grad(g, a):
    """The adjoint of a in s = svd(a, compute_uv=False): u @ diag(g) @ vh."""
    u, s, vh = _svd_factors(a)
    return (u * g[..., None, :]) @ vh


def _svd_values_tangent(da, a):
    """The tangent of the singular values: the diagonal of u.T @ da @ v."""
    u, s, vh = _svd_factors(a)
    return np.einsum("...ij,...ik,...kj->...j", u, da, _mT(vh))


def _svd_f(s):
    """F[i, j] = 1 / (s[j]**2 - s[i]**2) off the diagonal, 0 on it."""
    d = s[..., None, :] ** 2 - s[..., :, None] ** 2
    eye = np.eye(np.shape(s)[-1], dtype=bool)
    return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, d))


def _svd_grad(gu, gs, gvh, a, u, s, vh):
    """The adjoint of a in u, s, vh = svd(a) (Townsend 2016), for distinct nonzero s.

    With full_matrices, only the first k = min(m, n) columns of u and rows of vh depend
    on a; their adjoints are used and the rest must be zero.
    """
    k = np.shape(s)[-1]
    u, vh = u[..., :, :k], vh[..., :k, :]
    gu = np.zeros_like(u) if np.ndim(gu) == 0 else gu[..., :, :k]
    gvh = np.zeros_like(vh) if np.ndim(gvh) == 0 else gvh[..., :k, :]
    gs = np.zeros_like(s) if np.ndim(gs) == 0 else gs
    v, gv = _mT(vh), _mT(gvh)
    f = _svd_f(s)
    sd = s[..., None, :]  # multiply columns by s
    j = f * (_mT(u) @ gu - _mT(gu) @ u)
    kk = f * (_mT(v) @ gv - _mT(gv) @ v)
    inner = (j * sd) + np.eye(k) * gs[..., None, :] + (sd.swapaxes(-1, -2) * kk)
    ga = u @ inner @ vh
    m, n = np.shape(a)[-2:]
    if m > k:
        ga = ga + (np.eye(m) - u @ _mT(u)) @ gu / sd @ vh
    if n > k:
        ga = ga + u @ _mT(gv / sd) @ (np.eye(n) - v @ vh)
    return ga


def _svd_tangent(da, a, u, s, vh):
    """The tangents (du, ds, dvh) of u, s, vh = svd(a), for distinct nonzero s."""
    k = np.shape(s)[-1]
    uk, vhk = u[..., :, :k], vh[..., :k, :]
    v = _mT(vhk)
    p = _mT(uk) @ da @ v
    ds = np.einsum("...ii->...i", p)
    f = _svd_f(s)
    sd = s[..., None, :]
    sym = p * sd + _mT(p) * _mT(sd)  # P S + S P^T
    du = uk @ (f * sym)
    dv = v @ (f * (_mT(sd) * p + _mT(p) * sd))
    m, n = np.shape(a)[-2:]
    if m > k:
        du = du + (np.eye(m) - uk @ _mT(uk)) @ da @ v / sd
    if n > k:
        dv = dv + (np.eye(n) - v @ vhk) @ _mT(da) @ uk / sd
    if np.shape(u)[-1] > k:  # full_matrices: the extra columns get no tangent
        du = np.concatenate([du, np.zeros_like(u[..., :, k:])], axis=-1)
    dvh = _mT(dv)
    if np.shape(vh)[-2] > k:
        dvh = np.concatenate([dvh, np.zeros_like(vh[..., k:, :])], axis=-2)
    return du, ds, dvh


def _einsum_grad(spec, g, other, mine):
    """The adjoint of the first operand of np.einsum(spec, mine, other), given g."""
    inputs, output = spec.replace(" ", "").split("->")
    a, b = inputs.split(",")
    if "..." in spec:  # name the axes the ellipses stand for, right-aligned
        free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in spec]
        n_a = np.ndim(mine) - len(a.replace("...", ""))
        n_b = np.ndim(other) - len(b.replace("...", ""))
        n = max(n_a, n_b)
        a = a.replace("...", "".join(free[n - n_a:n]))
        b = b.replace("...", "".join(free[n - n_b:n]))
        output = output.replace("...", "".join(free[:n]))
    letters = "".join(dict.fromkeys(a))  # a repeated index (a diagonal) once
    # NumPy's optimize=True contracts through BLAS (ten times faster on GMM's
    # (1000, 25, 10) arrays) but costs ~14 us of planning: worth it on large products only
    sizes = dict(zip(output, np.shape(g)))
    sizes.update(zip(b, np.shape(other)))
    work = 1
    for size in sizes.values():
        work *= size
    if not set(a) <= set(b) | set(output):  # an index summed over a alone: broadcast it
        ones = np.ones(np.einsum(f"{a}->{letters}", mine).shape)
        part = np.einsum(f"{output},{b},{letters}->{letters}", g, other, ones,
                         optimize=work > 20000)
    else:
        part = np.einsum(f"{output},{b}->{letters}", g, other, optimize=work > 20000)
    if letters == a:
        return part
    grad = np.zeros(np.shape(mine), dtype=np.result_type(part, mine))
    np.einsum(f"{a}->{letters}", grad)[...] = part  # onto the diagonal
    return grad


def _basis(x):
    """The unit vectors of x's space, each shaped like x (for Jacobians by columns/rows)."""
    n = np.size(x)
    return np.eye(n, dtype=np.result_type(x, 1.0)).reshape((n,) + np.shape(x))


def _from_columns(columns, out, x):
    """The Jacobian, shape out.shape + x.shape, from the tangents of x's unit vectors."""
    columns = np.reshape(columns, (np.size(x),) + np.shape(out))
    return np.moveaxis(columns, 0, -1).reshape(np.shape(out) + np.shape(x))


def _from_rows(rows, out, x):
    """The Jacobian, shape out.shape + x.shape, from the gradients of out's entries."""
    return np.reshape(rows, np.shape(out) + np.shape(x))


def _digamma(x):
    """The derivative of math.lgamma: recurrence up to 6, then the asymptotic series."""
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    if x < 0.0:  # reflection: psi(1 - x) - psi(x) = pi / tan(pi x)
        return _digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    result = 0.0
    while x < 6.0:
        result -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
    return result + math.log(x) - 0.5 / x - series


def _checkpointed(segment, segment_vjp, indices, state, invariants, adjoint, wrt, states=0):
    """The adjoint of ``for i in indices: state = step(i, *state, *invariants)`` that
    runs the iterations again instead of taping them all: in segments of about sqrt(n)
    iterations, ``segment(start, stop, step, *state, *invariants)`` running
    ``indices[a:b]``; one segment at a time is reversed by ``segment_vjp(start, stop, step,
    *state, *invariants, *adjoint)``, which tapes it. At most ``states`` states at the start
    of segments are kept at once, on Griewank's binomial schedule (0: each segment runs at
    most three times). ``adjoint`` is that of the last state; the entries ``wrt`` of
    ``(*state, *invariants)`` are returned (one alone, several as a tuple): of the first
    state, and of the invariants summed over the iterations."""
    n, k = len(indices), len(state)
    length = math.isqrt(n - 1) + 1 if n else 1
    count = -(-n // length)  # segments
    if states < 1:
        states = 2
        while _binomial(states, 2) < count:
            states += 1
    adjoint = list(adjoint)
    totals = {}
    # tasks: reverse segments first..last-1 from the state before them, keeping `free` states
    tasks = [(0, count, states, tuple(state))] if count else []
    while tasks:
        first, last, free, start = tasks.pop()
        while last - first > 1:  # keep `start`; go on from a later state, one state fewer
            middle = last - 1 if free == 1 else first + _binomial_split(last - first, free)
            later = start
            for j in range(first, middle):
                part = indices[j * length:(j + 1) * length]
                later = segment(part.start, part.stop, part.step, *later, *invariants)
                later = (later,) if k == 1 else later
            tasks.append((first, middle, free, start))
            first, free, start = middle, max(free - 1, 1), later
        part = indices[first * length:(first + 1) * length]
        grads = segment_vjp(part.start, part.stop, part.step, *start, *invariants, *adjoint)
        for p, g in zip(wrt, (grads,) if len(wrt) == 1 else grads):
            if p < k:
                adjoint[p] = g
            elif p not in totals:
                totals[p] = g
            elif isinstance(g, list):  # the adjoint of a list: added item by item
                totals[p] = _add_items(totals[p], g)
            else:
                totals[p] = totals[p] + g
    everything = (*state, *invariants)
    grads = tuple(adjoint[p] if p < k else totals.get(p, _zeros_like(everything[p]))
                  for p in wrt)
    return grads if len(grads) > 1 else grads[0]


def _binomial(states, repetitions):
    """How many iterations ``states`` states can reverse, each run at most
    ``repetitions`` more times: C(states + repetitions, states)."""
    return math.comb(states + repetitions, states)


def _binomial_split(m, states):
    """How many of ``m`` iterations to leave behind a checkpoint so that reversing them all
    with ``states`` states recomputes the fewest (Griewank 1992; ``states >= 2``)."""
    r = 0
    while _binomial(states, r) < m:
        r += 1
    if m <= _binomial_part(states, r - 1) + _binomial_part(states - 2, r - 1):
        left = _binomial_part(states, r - 2)
    elif m >= _binomial(states, r) - _binomial_part(states - 3, r):
        left = _binomial_part(states, r - 1)
    else:
        left = m - _binomial_part(states - 1, r - 1) - _binomial_part(states - 2, r - 1)
    return min(max(left, 1), m - 1)


def _binomial_part(states, repetitions):
    return _binomial(states, repetitions) if states >= 0 and repetitions >= 0 else 0


# name -> (helpers it calls, modules it needs)
DEPENDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "_zeros_like": ((), ("np",)),
    "_zeros": ((), ("np",)),
    "_add_at": ((), ("np",)),
    "_add_into": ((), ("np",)),
    "_row_of": (("_zeros",), ()),
    "_add_row": (("_add_at",), ()),
    "_is_array": ((), ("np",)),
    "_shares_memory": ((), ("np",)),
    "_unbroadcast": ((), ("np",)),
    "_broadcast_like": ((), ("np",)),
    "_unreduce": ((), ("np",)),
    "_matmul_grad_a": (("_unbroadcast",), ("np",)),
    "_matmul_grad_b": (("_unbroadcast",), ("np",)),
    "_matmul_grad_b_sum": (("_matmul_grad_b", "_zeros"), ("np",)),
    "_matmul_grad_a_sum": (("_matmul_grad_a", "_zeros"), ("np",)),
    "_extremum_grad": (("_unreduce",), ("np",)),
    "_prod_grad": (("_unreduce",), ("np",)),
    "_dot_grad_a": (("_unbroadcast",), ("np",)),
    "_dot_grad_b": (("_unbroadcast",), ("np",)),
    "_inner_grad_a": (("_unbroadcast",), ("np",)),
    "_inner_grad_b": (("_unbroadcast",), ("np",)),
    "_trace_grad": ((), ("np",)),
    "_trace_last": ((), ("np",)),
    "_det_grad": (("_mT",), ("np",)),
    "_logdet_grad": (("_mT",), ("np",)),
    "_setitem_grad": ((), ("np",)),
    "_spread": ((), ("np",)),
    "_add_items": ((), ()),
    "_unstack": ((), ("np",)),
    "_unconcatenate": ((), ("np",)),
    "_mT": ((), ("np",)),
    "_solve_grad_a": (("_mT",), ("np",)),
    "_cholesky_tangent": (("_mT",), ("np",)),
    "_cholesky_grad": (("_mT",), ("np",)),
    "_svd_factors": ((), ("np",)),
    "_svd_values_grad": (("_svd_factors",), ("np",)),
    "_svd_values_tangent": (("_svd_factors", "_mT"), ("np",)),
    "_svd_f": ((), ("np",)),
    "_svd_grad": (("_mT", "_svd_f"), ("np",)),
    "_svd_tangent": (("_mT", "_svd_f"), ("np",)),
    "_einsum_grad": ((), ("np",)),
    "_basis": ((), ("np",)),
    "_digamma": ((), ("math",)),
    "_from_columns": ((), ("np",)),
    "_from_rows": ((), ("np",)),
    "_checkpointed": (("_binomial_split", "_zeros_like", "_add_items"), ("math",)),
    "_binomial_split": (("_binomial", "_binomial_part"), ()),
    "_binomial": ((), ("math",)),
    "_binomial_part": (("_binomial",), ()),
}


def source(name: str, renamed: dict[str, str] | None = None) -> str:
    """The helper's source, with the helpers in ``renamed`` (itself or those it calls)
    spelled by their names in the module (a user's name took theirs)."""
    text = _own_source(name)
    for old, new in (renamed or {}).items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text


@functools.cache
def _own_source(name: str) -> str:
    """A helper's text as this module was written: the same for every module generated
    in the process (inspect tokenizes the file to find it, which cost more than printing
    the derivative that needs it)."""
    return inspect.getsource(globals()[name])


def names_avoiding(taken: set[str]) -> dict[str, str]:
    """A module-level name for each helper whose own name is ``taken`` by the user's code:
    ``_unbroadcast`` -> ``_unbroadcast_1`` (helper -> its name in the module)."""
    renamed: dict[str, str] = {}
    for name in DEPENDS:
        if name in taken:
            renamed[name] = naming.unused(name, set(taken) | set(DEPENDS)
                                          | set(renamed.values()))
    return renamed


def closure(names: set[str]) -> list[str]:
    """``names`` and every helper they call, in a fixed order (callees first)."""
    seen: list[str] = []

    def visit(name: str) -> None:
        if name in seen:
            return
        for dep in DEPENDS[name][0]:
            visit(dep)
        seen.append(name)

    for name in sorted(names):
        visit(name)
    return seen


def modules(names: list[str]) -> set[str]:
    return {m for n in names for m in DEPENDS[n][1]}
