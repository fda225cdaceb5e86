def grad_L(w1, w2):
    t1 = math.log(w1)
    t2 = w2 * t1
    t3 = math.sqrt(t2)
    L = t2 + t3
    dLdL = 1.0
    # adjoint of: t3 = math.sqrt(t2)
    t4 = 2 * t3
    t5 = dLdL / t4
    t6 = dLdL + t5
    # adjoint of: t2 = w2 * t1
    dL_dw2 = t1 * t6
    t7 = w2 * t6
    # adjoint of: t1 = math.log(w1)
    dL_dw1 = t7 / w1
    return dL_dw1, dL_dw2
