def grad_foo(x, y):
    tape = []
    accum = x
    for i in range(1, 10):
        tape.append(accum)
        accum = accum * y
    daccum_daccum = 1.0
    # adjoint of the loop at line 35
    daccum_dy = 0.0
    for accum_1 in reversed(tape):
        # adjoint of: accum = accum_1 * y
        t1 = y * daccum_daccum
        t2 = accum_1 * daccum_daccum
        daccum_dy = daccum_dy + t2
        daccum_daccum = t1
    # adjoint of: accum = x
    daccum_dx = daccum_daccum
    return daccum_dx, daccum_dy
