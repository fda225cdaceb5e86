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

def _extremum_grad(g, r, x, axis=None, keepdims=False):
    """The adjoint of max or min of x: g shared equally by the entries that attain r."""
    hit = x == _unreduce(r, x, axis, keepdims)
    count = np.sum(hit, axis=axis, keepdims=True)
    share = np.divide(hit, count, dtype=np.result_type(x, 1.0))
    return _unreduce(g, x, axis, keepdims) * share

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

def grad_mlp_loss(W1, b1, W2, b2, X, Y):
    t1 = X @ W1
    t2 = t1 + b1
    hidden = np.tanh(t2)
    t3 = hidden @ W2
    logits = t3 + b2
    t4 = np.max(logits, axis=1, keepdims=True)
    shifted = logits - t4
    t5 = np.exp(shifted)
    t6 = np.sum(t5, axis=1, keepdims=True)
    t7 = np.log(t6)
    log_probs = shifted - t7
    t8 = Y * log_probs
    t9 = X.shape
    t10 = t9[0]
    dmlp_loss_dmlp_loss = 1.0
    # adjoint of: -np.sum(t8) / t10
    t11 = dmlp_loss_dmlp_loss / t10
    # adjoint of: -np.sum(t8)
    t12 = -t11
    # adjoint of: np.sum(t8)
    t11 = _unreduce(t12, t8)
    # adjoint of: t8 = Y * log_probs
    t12 = Y * t11
    dmlp_loss_dlog_probs = _unbroadcast(t12, log_probs)
    # adjoint of: log_probs = shifted - t7
    t11 = _unbroadcast(dmlp_loss_dlog_probs, shifted)
    t12 = _unbroadcast(dmlp_loss_dlog_probs, t7)
    t13 = -t12
    # adjoint of: t7 = np.log(t6)
    t12 = t13 / t6
    # adjoint of: t6 = np.sum(t5, axis=1, keepdims=True)
    t13 = _unreduce(t12, t5, axis=1, keepdims=True)
    # adjoint of: t5 = np.exp(shifted)
    t12 = t5 * t13
    dmlp_loss_dshifted = t11 + t12
    # adjoint of: shifted = logits - t4
    t11 = _unbroadcast(dmlp_loss_dshifted, logits)
    t12 = _unbroadcast(dmlp_loss_dshifted, t4)
    t13 = -t12
    # adjoint of: t4 = np.max(logits, axis=1, keepdims=True)
    t12 = _extremum_grad(t13, t4, logits, axis=1, keepdims=True)
    dmlp_loss_dlogits = t11 + t12
    # adjoint of: logits = t3 + b2
    t11 = _unbroadcast(dmlp_loss_dlogits, t3)
    dmlp_loss_db2 = _unbroadcast(dmlp_loss_dlogits, b2)
    # adjoint of: t3 = hidden @ W2
    dmlp_loss_dhidden = _matmul_grad_a(t11, hidden, W2)
    dmlp_loss_dW2 = _matmul_grad_b(t11, hidden, W2)
    # adjoint of: hidden = np.tanh(t2)
    t11 = hidden * hidden
    t12 = 1 - t11
    t11 = t12 * dmlp_loss_dhidden
    # adjoint of: t2 = t1 + b1
    t12 = _unbroadcast(t11, t1)
    dmlp_loss_db1 = _unbroadcast(t11, b1)
    # adjoint of: t1 = X @ W1
    dmlp_loss_dW1 = _matmul_grad_b(t12, X, W1)
    return dmlp_loss_dW1, dmlp_loss_db1, dmlp_loss_dW2, dmlp_loss_db2
