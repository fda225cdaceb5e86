def grad_foo(x, y):
    a = x + 5
    b = a * y
    dbdb = 1.0
    # adjoint of: b = a * y
    dbda = y * dbdb
    dbdy = a * dbdb
    # adjoint of: a = x + 5
    dbdx = dbda
    return dbdx, dbdy
