"""Hutchinson's estimate of a Hessian's trace from Hessian-vector products (seeds/001).

For a random v with E[v v^T] = I (Rademacher: entries +1 or -1), E[v^T H v] = tr(H), so
the mean of v^T H v over V samples estimates the trace without forming H. Each H v comes
from ``s2sad.hvp`` (forward mode over the reverse-mode gradient: a small constant times
one gradient, whatever the dimension). The function is the loss of a logistic regression
with a smooth penalty; its exact trace comes from ``s2sad.hessian`` (d products) and,
independently, from the closed form tr(H) = mean_i s_i (1 - s_i) |x_i|^2 + 0.1 sum cosh(w),
s_i = sigmoid(y_i x_i . w).
"""

import numpy as np

import s2sad


def logistic_loss(w, X, y):
    z = X @ w
    return np.sum(np.log(1.0 + np.exp(-y * z))) / X.shape[0] + 0.1 * np.sum(np.cosh(w))


def main(d=50, n=200):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    y = np.sign(X @ rng.normal(size=d) + 0.5 * rng.normal(size=n))
    w = 0.3 * rng.normal(size=d)

    hvp = s2sad.hvp(logistic_loss)  # hvp(w, X, y, v) = H(w) v
    exact = np.trace(s2sad.hessian(logistic_loss)(w, X, y))
    s = 1.0 / (1.0 + np.exp(-y * (X @ w)))
    closed_form = np.mean(s * (1 - s) * np.sum(X ** 2, axis=1)) + 0.1 * np.sum(np.cosh(w))
    print(f"tr(H) of a {d} x {d} Hessian: {exact:.4f} from s2sad.hessian ({d} products), "
          f"{closed_form:.4f} in closed form")
    assert np.isclose(exact, closed_form)
    samples = []
    for samples_wanted in (10, 100, 1000):
        while len(samples) < samples_wanted:
            v = rng.choice([-1.0, 1.0], size=d)
            samples.append(v @ hvp(w, X, y, v))
        estimate = np.mean(samples)
        spread = np.std(samples) / np.sqrt(len(samples))
        print(f"Hutchinson, V = {len(samples):>4}: {estimate:.4f} +- {spread:.4f} "
              f"(error {abs(estimate - exact) / exact:.1%})")
    assert abs(np.mean(samples) - exact) < 4 * spread


if __name__ == "__main__":
    main()
