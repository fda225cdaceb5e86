def jvp_L(w1, w2, dw1_dw1):
    t1 = math.log(w1)
    t2 = dw1_dw1 / w1
    t3 = w2 * t1
    t4 = w2 * t2
    t5 = math.log(w1)
    t6 = dw1_dw1 / w1
    t7 = w2 * t5
    t8 = w2 * t6
    t9 = math.sqrt(t7)
    t10 = 2 * t9
    t11 = t8 / t10
    L = t3 + t9
    dL_dw1 = t4 + t11
    return L, dL_dw1
