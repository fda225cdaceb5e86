def jvp_L(w1, w2, dw1_dw1):
    t1 = math.log(w1)
    t2 = dw1_dw1 / w1
    t3 = w2 * t1
    t4 = w2 * t2
    t5 = math.sqrt(t3)
    t6 = 2 * t5
    t7 = t4 / t6
    L = t3 + t5
    dL_dw1 = t4 + t7
    return L, dL_dw1
