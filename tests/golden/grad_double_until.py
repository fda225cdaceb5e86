def grad_double_until(x, n):
    tape = []
    stopped = False
    for _ in range(n):
        t1 = not stopped
        if t1:
            t2 = x > 10.0
            if t2:
                stopped_1 = True
            else:
                stopped_1 = stopped
            t3 = not stopped_1
            if t3:
                x_1 = x * 2.0
            else:
                x_1 = x
            x, stopped, t4 = x_1, stopped_1, t3
        else:
            t4 = None
        tape.append((t1, t4))
    dxdx = 1.0
    # adjoint of the loop at line 8
    for _ in reversed(range(n)):
        t5, t6 = tape.pop()
        # adjoint of the if at line 8
        if t5:
            dxdx_1 = dxdx
            # adjoint of the if at line 11
            if t6:
                # adjoint of: x_1 = x * 2.0
                dxdx_2 = dxdx_1
                t7 = 2.0 * dxdx_2
                dxdx_1 = t7
            dxdx = dxdx_1
    return dxdx
