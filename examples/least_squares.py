"""Least squares through ``np.linalg.solve``: tune a ridge penalty by its gradient.

Ridge regression fits w(lam) = solve(X^T X + lam I, X^T y) on training data; the penalty
lam is chosen to make the error on held-out data small. s2sad differentiates the
held-out error through the solve (the adjoint of x = solve(A, b) is another solve with
A^T), so gradient descent on log(lam) finds the penalty without a grid. The gradient is
checked against a central difference, and the result against a grid search.
"""

import numpy as np

import s2sad


def validation_error(log_lam, X, y, X_val, y_val):
    lam = np.exp(log_lam)
    n = X.shape[1]
    w = np.linalg.solve(X.T @ X + lam * np.eye(n), X.T @ y)
    r = X_val @ w - y_val
    return np.mean(r ** 2)


def data(rng, n_train=30, n_val=200, n_features=20, noise=1.0):
    """Few noisy samples of a linear model: the plain least-squares fit overfits."""
    w_true = rng.normal(size=n_features)
    X, X_val = rng.normal(size=(n_train, n_features)), rng.normal(size=(n_val, n_features))
    y = X @ w_true + noise * rng.normal(size=n_train)
    y_val = X_val @ w_true + noise * rng.normal(size=n_val)
    return X, y, X_val, y_val


def main(steps=10, rate=0.5):
    rng = np.random.default_rng(0)
    X, y, X_val, y_val = data(rng)
    args = (X, y, X_val, y_val)
    value_and_grad = s2sad.value_and_grad(validation_error)  # with respect to log_lam

    h = 1e-5
    _, slope = value_and_grad(0.0, *args)
    difference = (validation_error(h, *args) - validation_error(-h, *args)) / (2 * h)
    print(f"d error / d log(lam) at lam = 1: {slope:.6f} (central difference "
          f"{difference:.6f})")
    assert abs(slope - difference) < 1e-6 * max(1.0, abs(slope))

    log_lam = 0.0
    for k in range(steps + 1):
        error, slope = value_and_grad(log_lam, *args)
        if k % 2 == 0:
            print(f"step {k:>2}: lam = {np.exp(log_lam):8.4f}  held-out error {error:.4f}")
        log_lam -= rate * slope

    grid = np.linspace(-6.0, 6.0, 241)
    best = grid[np.argmin([validation_error(g, *args) for g in grid])]
    print(f"gradient descent: lam = {np.exp(log_lam):.3f}; grid search over "
          f"{len(grid)} values: lam = {np.exp(best):.3f}")
    print(f"held-out error: {validation_error(-np.inf, *args):.4f} without the penalty, "
          f"{validation_error(log_lam, *args):.4f} with it")


if __name__ == "__main__":
    main()
