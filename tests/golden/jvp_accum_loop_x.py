def jvp_foo(x, y, dxdx):
    accum = x
    daccum_dx = dxdx
    for i in range(1, 10):
        accum = accum * y
        daccum_dx = daccum_dx * y
    return accum, daccum_dx
