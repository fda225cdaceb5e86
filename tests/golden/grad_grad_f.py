def grad_grad_f(x):
    dbdb = 1.0
    dbda = 5 * dbdb
    t1 = x ** 2
    t2 = 3 * t1
    dbdx = t2 * dbda
    ddbdx_ddbdx = 1.0
    # adjoint of: dbdx = t2 * dbda
    ddbdx_dt2 = dbda * ddbdx_ddbdx
    # adjoint of: t2 = 3 * t1
    ddbdx_dt1 = 3 * ddbdx_dt2
    # adjoint of: t1 = x ** 2
    t3 = 2 * x
    ddbdx_dx = t3 * ddbdx_dt1
    return ddbdx_dx
