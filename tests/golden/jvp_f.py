def jvp_f(x, dxdx):
    x_sq = x ** 2
    t1 = 2 * x
    dx_sq_dx = t1 * dxdx
    f = x_sq + 5
    dfdx = dx_sq_dx
    return f, dfdx
