"""Jacobians of f(x) = A x, forward mode against reverse mode, as the output size varies.

Forward mode builds the Jacobian by columns, one jvp per input entry (n passes); reverse
mode by rows, one vjp per output entry (m passes). With the input size n fixed, reverse
mode wins while m < n and loses once m > n; ``mode="auto"`` picks the side with fewer
passes. Prints a table; with matplotlib installed it also saves jacobian_timing.png in
the current directory.
"""

import time

import numpy as np

import s2sad


def f(A, x):
    return A @ x


def best_time(fn, *args, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main(n=100, outputs=(1, 10, 30, 100, 300, 1000)):
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    jacobians = {mode: s2sad.jacobian(f, wrt="x", mode=mode)
                 for mode in ("forward", "reverse", "auto")}
    print(f"Jacobian of f(x) = A x with n = {n} inputs; best of 3, milliseconds")
    print(f"{'m outputs':>9} {'forward':>9} {'reverse':>9} {'auto':>9}  faster")
    rows = []
    for m in outputs:
        A = rng.normal(size=(m, n))
        times = {}
        for mode, jacobian in jacobians.items():
            assert np.allclose(jacobian(A, x), A)  # the Jacobian of A x is A
            times[mode] = best_time(jacobian, A, x) * 1e3
        faster = "forward" if times["forward"] < times["reverse"] else "reverse"
        rows.append((m, times))
        print(f"{m:>9} {times['forward']:>9.2f} {times['reverse']:>9.2f} "
              f"{times['auto']:>9.2f}  {faster}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return
    figure, axes = plt.subplots()
    for mode in ("forward", "reverse", "auto"):
        axes.loglog([m for m, _ in rows], [t[mode] for _, t in rows], "o-", label=mode)
    axes.axvline(n, color="grey", linestyle=":", label=f"m = n = {n}")
    axes.set(xlabel="outputs m", ylabel="milliseconds", title="Jacobian of A x")
    axes.legend()
    figure.savefig("jacobian_timing.png", dpi=100)
    print("saved jacobian_timing.png")


if __name__ == "__main__":
    main()
