def grad_double_until(x, n):
    tape = []
    stopped = False
    for _ in range(n):
        t1 = not stopped
        if t1:
            t2 = x > 10.0
            if t2:
                stopped_1 = True
                x_1 = x
            else:
                x_1 = x * 2.0
                stopped_1 = stopped
            x, stopped, t3 = x_1, stopped_1, t2
        else:
            t3 = None
        tape.append((t1, t3))
    dxdx = 1.0
    # adjoint of the loop at line 8
    for t4, t5 in reversed(tape):
        # adjoint of the if at line 8
        if t4:
            dxdx_1 = dxdx
            # adjoint of the if at line 9
            if not t5:
                # adjoint of: x_1 = x * 2.0
                t6 = 2.0 * dxdx_1
                dxdx_1 = t6
            dxdx = dxdx_1
    return dxdx
