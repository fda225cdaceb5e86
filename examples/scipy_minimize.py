"""``scipy.optimize.minimize(f, x0, jac=s2sad.grad(f))``: exact gradients for BFGS.

The Rosenbrock function in 20 dimensions, minimised by BFGS twice: with the gradient
s2sad generates, and without one (SciPy then estimates it by finite differences, d + 1
evaluations of f per gradient). Needs SciPy; without it the script says so and exits 0.
"""

import numpy as np

import s2sad


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main(d=20):
    try:
        from scipy.optimize import minimize
    except ImportError:
        print("SciPy is not installed: skipping (pip install scipy to run this example)")
        return
    x0 = np.full(d, -1.0)
    x0[::2] = 1.2
    with_grad = minimize(rosenbrock, x0, jac=s2sad.grad(rosenbrock), method="BFGS")
    without = minimize(rosenbrock, x0, method="BFGS")
    print(f"{'BFGS on Rosenbrock, d = ' + str(d):<34} {'f(x)':>9} {'|x - 1|':>9} "
          f"{'f evals':>8} {'gradients':>9}")
    for name, result in [("with jac=s2sad.grad(rosenbrock)", with_grad),
                         ("with finite differences", without)]:
        print(f"{name:<34} {result.fun:>9.2e} {np.linalg.norm(result.x - 1):>9.2e} "
              f"{result.nfev:>8} {getattr(result, 'njev', 0):>9}")
    assert with_grad.success and np.allclose(with_grad.x, 1.0, atol=1e-4)


if __name__ == "__main__":
    main()
