def jvp_foo(x, y, dx, dy):
    accum = x
    daccum = dx
    for i in range(1, 10):
        accum_1 = accum * y
        t1 = daccum * y
        t2 = accum * dy
        daccum = t1 + t2
        accum = accum_1
    return accum, daccum
