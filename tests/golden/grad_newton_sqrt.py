def grad_newton_sqrt(a):
    tape = []
    x = a
    trips = 0
    while True:
        t1 = x * x
        t2 = t1 - a
        t3 = abs(t2)
        t4 = t3 > 1e-12
        if not t4:
            break
        tape.append(x)
        t5 = a / x
        t6 = x + t5
        x = 0.5 * t6
        trips = trips + 1
        tape.append(t5)
    dxdx = 1.0
    # adjoint of the loop at line 42
    dxda = 0.0
    for _ in range(trips):
        t7 = tape.pop()
        x_1 = tape.pop()
        # adjoint of: x = 0.5 * t6
        t8 = 0.5 * dxdx
        # adjoint of: t5 = a / x_1
        t9 = t8 / x_1
        t10 = t7 * t8
        dxda = dxda + t9
        t11 = t10 / x_1
        dxdx = t8 - t11
    # adjoint of: x = a
    dxda = dxda + dxdx
    return dxda
