"""Gradient descent with s2sad's gradient against zero-order descent (the lecture, seeds/001).

Minimise the d-dimensional quadratic L(w) = 1/2 w·Aw - b·w (eigenvalues of A in [1, 10]) to
a relative gap of 1e-8, three ways:

- gradient descent, w <- w - alpha grad L(w), with grad L from ``s2sad.grad``;
- finite differences, G = sum_i (L(w + eps e_i) - L(w - eps e_i)) / 2 eps e_i: as many
  steps as gradient descent (on a quadratic G is exact) but 2d evaluations of L per step;
- the two-point estimator, G = d (L(w + eps v) - L(w - eps v)) / 2 eps v with v uniform
  on the unit sphere: 2 evaluations per step, but G is right only on average, so the step
  must shrink by d and the number of steps grows d-fold.

Either way a zero-order method pays about d times what gradient descent pays: the
evaluations of L per run grow with d, while one reverse-mode gradient costs a small
constant times one evaluation of L whatever d is.
"""

import time

import numpy as np

import s2sad


def quadratic(w, A, b):
    return 0.5 * w @ (A @ w) - b @ w


def problem(d, rng):
    """A, b and the minimum L* of a quadratic whose Hessian has eigenvalues in [1, 10]."""
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = Q @ np.diag(np.linspace(1.0, 10.0, d)) @ Q.T
    b = rng.normal(size=d)
    return A, b, quadratic(np.linalg.solve(A, b), A, b)


EPS = 1e-6


def finite_differences(w, A, b, rng):
    """sum_i (L(w + eps e_i) - L(w - eps e_i)) / 2 eps e_i: 2d evaluations of L."""
    g = np.array([(quadratic(w + EPS * e, A, b) - quadratic(w - EPS * e, A, b)) / (2 * EPS)
                  for e in np.eye(len(w))])
    return g, 2 * len(w)


def two_point(w, A, b, rng):
    """d (L(w + eps v) - L(w - eps v)) / 2 eps v, v uniform on the sphere: 2 evaluations."""
    v = rng.normal(size=len(w))
    v /= np.linalg.norm(v)
    slope = (quadratic(w + EPS * v, A, b) - quadratic(w - EPS * v, A, b)) / (2 * EPS)
    return len(w) * slope * v, 2


def descend(estimate, step, A, b, best, rng, tol=1e-8, max_steps=200_000):
    """Steps from w = 0, and evaluations of L, until L(w) - L* <= tol |L*|."""
    w = np.zeros(len(b))
    evaluations = 0
    for k in range(max_steps):
        if quadratic(w, A, b) - best <= tol * abs(best):
            return k, evaluations
        g, used = estimate(w, A, b, rng)
        evaluations += used
        w = w - step * g
    raise RuntimeError("did not converge")


def seconds(f, *args, calls=200):
    """The best time of one call of f(*args) over a few repeats."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            f(*args)
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def main():
    rng = np.random.default_rng(0)
    grad = s2sad.grad(quadratic, wrt="w")

    def exact(w, A, b, rng):
        return grad(w, A, b), 0  # no evaluation of L: one reverse sweep

    print("Steps and cost to reach L(w) - L* <= 1e-8 |L*|; cost in evaluations of L, with")
    print("a gradient counted as what it costs (measured: time of grad L / time of L).\n")
    print(f"{'d':>4}  {'method':<18} {'steps':>6} {'L evals':>8} {'gradients':>9} "
          f"{'cost':>8}")
    for d in (5, 10, 20, 40):
        A, b, best = problem(d, rng)
        w0 = np.zeros(d)
        gradient_cost = seconds(grad, w0, A, b) / seconds(quadratic, w0, A, b)
        rows = [("gradient (s2sad)", *descend(exact, 1 / 10, A, b, best, rng), True),
                ("finite differences", *descend(finite_differences, 1 / 10, A, b, best, rng),
                 False),
                ("two-point", *descend(two_point, 1 / (10 * d), A, b, best, rng), False)]
        costs = []
        for name, steps, evaluations, uses_gradients in rows:
            gradients = steps if uses_gradients else 0
            costs.append(evaluations + gradients * gradient_cost)
            print(f"{d:>4}  {name:<18} {steps:>6} {evaluations:>8} {gradients:>9} "
                  f"{costs[-1]:>8.0f}")
        print(f"{'':>6}one gradient costs {gradient_cost:.1f} evaluations of L; zero-order "
              f"descent costs {min(costs[1:]) / costs[0]:.0f}x gradient descent")
    w = rng.normal(size=3)
    A, b, _ = problem(3, rng)
    assert np.allclose(grad(w, A, b), A @ w - b)  # the gradient is A w - b
    print("grad L(w) = A w - b: checked")


if __name__ == "__main__":
    main()
