def _binomial(states, repetitions):
    """How many iterations ``states`` states can reverse, each run at most
    ``repetitions`` more times: C(states + repetitions, states)."""
    return math.comb(states + repetitions, states)

def _binomial_part(states, repetitions):
    return _binomial(states, repetitions) if states >= 0 and repetitions >= 0 else 0

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

def _zeros_like(x):
    """A zero shaped like x: the derivative of an output that ignores x."""
    if isinstance(x, (int, float)):
        return 0.0
    if isinstance(x, (list, tuple)):
        return [_zeros_like(item) for item in x]
    return np.zeros_like(x)[()]

def _add_items(a, b):
    """Two adjoints of a list added item by item (lists add by joining, so not a + b)."""
    return [x + y for x, y in zip(a, b)]

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

def accum_loop_loop12(start, stop, step, accum, y):
    for i in range(start, stop, step):
        accum = accum * y
    return accum

def vjp_accum_loop_loop12(start, stop, step, accum, y, daccum_daccum):
    tape = []
    for i in range(start, stop, step):
        tape.append(accum)
        accum = accum * y
    # adjoint of the loop at line 12
    daccum_dy = 0.0
    for accum in reversed(tape):
        # adjoint of: accum = accum * y
        t1 = y * daccum_daccum
        t2 = accum * daccum_daccum
        daccum_dy = daccum_dy + t2
        daccum_daccum = t1
    return daccum_daccum, daccum_dy

def grad_accum_loop(x, y):
    accum = x
    accum_1 = accum
    for i in range(1, 10):
        accum_1 = accum_1 * y
    daccum_daccum = 1.0
    # adjoint of the loop at line 12, run again from checkpoints
    daccum_daccum, t1 = _checkpointed(
        accum_loop_loop12, vjp_accum_loop_loop12, range(1, 10), state=(accum,),
        invariants=(y,), adjoint=(daccum_daccum,), wrt=(0, 1))
    # adjoint of: accum = x
    daccum_dx = daccum_daccum
    daccum_dy = t1
    return daccum_dx, daccum_dy
