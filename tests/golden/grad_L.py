def grad_L(w1, w2):
    t1 = math.log(w1)
    t2 = w2 * t1
    t3 = math.log(w1)
    t4 = w2 * t3
    t5 = math.sqrt(t4)
    L = t2 + t5
    dLdL = 1.0
    # adjoint of: t5 = math.sqrt(t4)
    t6 = 2 * t5
    t7 = dLdL / t6
    # adjoint of: t4 = w2 * t3
    t8 = t3 * t7
    t9 = w2 * t7
    # adjoint of: t3 = math.log(w1)
    t10 = t9 / w1
    # adjoint of: t2 = w2 * t1
    t11 = t1 * dLdL
    t12 = w2 * dLdL
    dL_dw2 = t8 + t11
    # adjoint of: t1 = math.log(w1)
    t13 = t12 / w1
    dL_dw1 = t10 + t13
    return dL_dw1, dL_dw2
