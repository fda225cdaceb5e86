"""Multidimensional scaling (the lecture, seeds/001): recover points from their distances.

Given the squared distances D_ij = |X_i - X_j|^2 of N points in the plane, find points W
with the same distances by minimising L(W) = sum_ij (|W_i - W_j|^2 - D_ij)^2 with gradient
descent (momentum), the gradient from ``s2sad.grad``. Distances fix the points only up to
a rotation, a reflection and a translation, so the result is aligned to X (orthogonal
Procrustes) before it is compared.
"""

import numpy as np

import s2sad


def stress(W, D):
    diff = W[:, None, :] - W[None, :, :]
    sq = np.sum(diff ** 2, axis=-1)
    return np.sum((sq - D) ** 2)


def align(W, X):
    """W centred and turned (or reflected) onto X centred: the best orthogonal fit."""
    W, X = W - W.mean(axis=0), X - X.mean(axis=0)
    U, _, Vt = np.linalg.svd(W.T @ X)
    return W @ U @ Vt


def main(n_points=20, steps=1000):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, size=(n_points, 2))
    D = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)

    grad = s2sad.grad(stress)  # with respect to W
    W = rng.normal(scale=0.5, size=(n_points, 2))
    velocity = np.zeros_like(W)
    print(f"{'step':>5} {'stress':>10}")
    for k in range(steps + 1):
        if k % 200 == 0:
            print(f"{k:>5} {stress(W, D):>10.3g}")
        velocity = 0.9 * velocity - 1e-3 * grad(W, D)
        W = W + velocity

    error = np.sqrt(np.mean((align(W, X) - (X - X.mean(axis=0))) ** 2))
    print(f"recovered {n_points} points from their distances: RMS error {error:.1e} after "
          "alignment")
    assert error < 1e-6


if __name__ == "__main__":
    main()
