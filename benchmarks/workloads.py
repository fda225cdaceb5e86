"""The functions the benchmarks time, and the hand-written references.

The control-flow milestone's scalar loop (below, timed by ``run.run``), and the workloads
of issue 7 that ``run.run_workload`` times (``WORKLOADS``, at the end of this module): the
lecture's ``L(w1, w2)`` and Rosenbrock's function (here), the lecture's MLP and
multidimensional scaling (here), ADBench's GMM objective (``gmm.py``), an LSTM-style loop
over time steps (``lstm.py``) and a bundle-adjustment-style loop over observations with
branches (``bundle.py``). Each has a hand-written NumPy gradient, checked against central
differences by ``tests/test_benchmarks.py``.

The scalar workload is the control-flow milestone's scalar loop: ``n`` iterations of
``a = a * y + sin(a)``, differentiated with respect to both ``a`` and ``y``. From
``a = y = 0.5`` the iterate climbs to the fixed point ``sin(a) = a / 2`` (a ~ 1.895) and
stays there, so every value is bounded. The loop is contracting there (``y + cos(a)`` ~
0.18), so at n = 1000 the partial with respect to ``a`` underflows to exactly 0.0 after
~435 backward steps; ``∂/∂y`` ~ 2.314 stays O(1). The correctness checks in ``run.py``
therefore also compare at small ``n``, where both partials are O(1).

    >>> round(scalar_loop(A0, Y0), 6)
    1.895494
    >>> ga, gy = hand_grad_scalar_loop(A0, Y0, 10)
    >>> abs(ga) > 1e-9 and abs(gy) > 1.0
    True

The hand-written gradient is what a person writes without a tool: keep the iterates in a
list, walk it backwards. It is the reference the milestone's issue gives (~2.7x primal).
Peers (autograd, JAX, PyTorch) need their own ``sin`` on traced values, so they get the
same loop built around that ``sin`` by ``loop_with``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import bundle, gmm, lstm

N = 1000      # iterations of the scalar loop
A0 = 0.5      # starting point of the benchmark
Y0 = 0.5


def scalar_loop(a, y, n=N):
    for i in range(n):  # noqa: B007 -- the milestone's loop, as the issue writes it
        a = a * y + math.sin(a)
    return a


def hand_grad_scalar_loop(a, y, n=N):
    """Reverse mode by hand: store the iterates, then one backward loop."""
    stored = []
    for _ in range(n):
        stored.append(a)
        a = a * y + math.sin(a)
    da = 1.0   # d(result) / d(current a)
    dy = 0.0
    for a_i in reversed(stored):
        dy += a_i * da
        da *= y + math.cos(a_i)
    return da, dy


def hand_jvp_scalar_loop(a, y, n, da, dy):
    """Forward mode by hand (dual numbers), with ``jvp``'s calling convention."""
    for _ in range(n):
        a, da = a * y + math.sin(a), da * (y + math.cos(a)) + a * dy
    return a, da


def central_differences(f: Callable, a: float, y: float, n: int,
                        rel_step: float = 1e-6) -> tuple[float, float]:
    """Both partials of ``f(a, y, n)`` by central differences: four primal calls."""
    ha = rel_step * max(1.0, abs(a))
    hy = rel_step * max(1.0, abs(y))
    da = (f(a + ha, y, n) - f(a - ha, y, n)) / (2 * ha)
    dy = (f(a, y + hy, n) - f(a, y - hy, n)) / (2 * hy)
    return da, dy


def loop_with(sin: Callable) -> Callable:
    """``scalar_loop`` with another library's ``sin`` (for autograd, JAX, PyTorch)."""
    def scalar_loop_peer(a, y, n=N):
        for i in range(n):  # noqa: B007
            a = a * y + sin(a)
        return a
    return scalar_loop_peer


# ======================================================================================
# The workloads of issue 7 (the lecture's are from seeds/001)
#
# Each is a function written the way people write Python and NumPy, differentiated by s2sad
# with respect to its parameters, next to the gradient a person writes by hand. ``Workload``
# says what ``run.run_workload`` times; the peers get the same function written against
# their own NumPy (``*_with``) or, for PyTorch, spelled in torch (``*_torch``).

L_POINT = (2.0, 3.0)          # the lecture's point: L(2, 3)
ROSENBROCK_N = 1000


def L(w1, w2):
    """The lecture's example: L(w1, w2) = w2 log(w1) + sqrt(w2 log(w1))."""
    return w2 * math.log(w1) + math.sqrt(w2 * math.log(w1))


def hand_grad_L(w1, w2):
    """By hand: with a = w2 log(w1), ∂L/∂a = 1 + 1 / (2 sqrt(a))."""
    log_w1 = math.log(w1)
    dLda = 1.0 + 0.5 / math.sqrt(w2 * log_w1)
    return dLda * w2 / w1, dLda * log_w1


def L_problem(w1: float = L_POINT[0], w2: float = L_POINT[1]) -> tuple:
    return float(w1), float(w2)


def L_with(xp) -> Callable:
    """``L`` with another library's log and sqrt (``autograd.numpy``, ``jax.numpy``,
    ``torch``)."""
    def L_peer(w1, w2):
        return w2 * xp.log(w1) + xp.sqrt(w2 * xp.log(w1))
    return L_peer


def rosenbrock(x):
    """Rosenbrock's function in n dimensions, vectorised."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def hand_grad_rosenbrock(x):
    """By hand: each term couples x[i] and x[i + 1]."""
    inner = x[1:] - x[:-1] ** 2
    grad = np.zeros_like(x)
    grad[:-1] = -400.0 * inner * x[:-1] - 2.0 * (1.0 - x[:-1])
    grad[1:] += 200.0 * inner
    return grad


def rosenbrock_problem(n: int = ROSENBROCK_N, seed: int = 0) -> tuple:
    """(x,): a point near the minimum at (1, ..., 1), where the terms are of all sizes."""
    rng = np.random.default_rng(seed)
    return (1.0 + 0.5 * rng.standard_normal(n),)


def rosenbrock_with(xp) -> Callable:
    """``rosenbrock`` on another NumPy (``autograd.numpy``, ``jax.numpy``, ``torch``)."""
    def rosenbrock_peer(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return rosenbrock_peer


MLP_BATCH = 256
MLP_LAYERS = (784, 128, 10)   # inputs, hidden units (tanh), classes (softmax)
MDS_POINTS = 200
MDS_DIM = 2


def mlp_loss(W1, b1, W2, b2, X, Y):
    """Mean softmax cross-entropy of a two-layer tanh network; Y is one-hot."""
    hidden = np.tanh(X @ W1 + b1)
    logits = hidden @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(Y * log_probs) / X.shape[0]


def hand_grad_mlp_loss(W1, b1, W2, b2, X, Y):
    """Backprop by hand: ∂L/∂logits = (softmax - Y) / batch, then through both layers."""
    hidden = np.tanh(X @ W1 + b1)
    logits = hidden @ W2 + b2
    p = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    p /= np.sum(p, axis=1, keepdims=True)
    dlogits = (p - Y) / X.shape[0]
    dpre = (dlogits @ W2.T) * (1 - hidden ** 2)
    return X.T @ dpre, np.sum(dpre, axis=0), hidden.T @ dlogits, np.sum(dlogits, axis=0)


def mlp_problem(batch: int = MLP_BATCH, layers: tuple[int, int, int] = MLP_LAYERS,
                seed: int = 0) -> tuple:
    """(W1, b1, W2, b2, X, Y): Glorot-scaled weights, standard normal inputs, one-hot Y."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = layers
    W1 = rng.standard_normal((n_in, n_hidden)) / math.sqrt(n_in)
    b1 = 0.1 * rng.standard_normal(n_hidden)
    W2 = rng.standard_normal((n_hidden, n_out)) / math.sqrt(n_hidden)
    b2 = 0.1 * rng.standard_normal(n_out)
    X = rng.standard_normal((batch, n_in))
    Y = np.eye(n_out)[rng.integers(0, n_out, batch)]
    return W1, b1, W2, b2, X, Y


def mds_loss(W, D):
    """Σ_ij (‖W_i − W_j‖² − D_ij)² over all pairs, broadcast: W is (N, d), D is (N, N)."""
    diff = W[:, None, :] - W[None, :, :]
    sq = np.sum(diff ** 2, axis=-1)
    return np.sum((sq - D) ** 2)


def hand_grad_mds_loss(W, D):
    """By hand, mirroring the primal: ∂L/∂diff_ijk = 4 R_ij diff_ijk, R = sq − D, and diff_ij
    = W_i − W_j sends it to W_i (sum over j) and, negated, to W_j (sum over i)."""
    diff = W[:, None, :] - W[None, :, :]
    R = np.sum(diff ** 2, axis=-1) - D
    G = (4 * R)[:, :, None] * diff
    return np.sum(G, axis=1) - np.sum(G, axis=0)


def hand_grad_mds_loss_matrix(W, D):
    """The same gradient simplified by algebra: 4 (diag(S 1) W − S W) with S = R + Rᵀ; an
    O(N²) matrix product instead of O(N² d) broadcasting for the backward part."""
    diff = W[:, None, :] - W[None, :, :]
    R = np.sum(diff ** 2, axis=-1) - D
    S = R + R.T
    return 4 * (np.sum(S, axis=1)[:, None] * W - S @ W)


def mds_problem(points: int = MDS_POINTS, dim: int = MDS_DIM, seed: int = 0) -> tuple:
    """(W, D): D the squared distances of hidden points, W a random start of the same size."""
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal((points, dim))
    D = np.sum((truth[:, None, :] - truth[None, :, :]) ** 2, axis=-1)
    return rng.standard_normal((points, dim)), D


def mlp_loss_with(xp) -> Callable:
    """``mlp_loss`` on another NumPy (``autograd.numpy``, ``jax.numpy``)."""
    def mlp_loss_peer(W1, b1, W2, b2, X, Y):
        hidden = xp.tanh(X @ W1 + b1)
        logits = hidden @ W2 + b2
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        log_probs = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        return -xp.sum(Y * log_probs) / X.shape[0]
    return mlp_loss_peer


def mds_loss_with(xp) -> Callable:
    """``mds_loss`` on another NumPy (``autograd.numpy``, ``jax.numpy``)."""
    def mds_loss_peer(W, D):
        diff = W[:, None, :] - W[None, :, :]
        sq = xp.sum(diff ** 2, axis=-1)
        return xp.sum((sq - D) ** 2)
    return mds_loss_peer


def mlp_loss_torch(torch) -> Callable:
    """``mlp_loss`` spelled in PyTorch."""
    def mlp_loss_peer(W1, b1, W2, b2, X, Y):
        hidden = torch.tanh(X @ W1 + b1)
        logits = hidden @ W2 + b2
        shifted = logits - torch.amax(logits, dim=1, keepdim=True)
        log_probs = shifted - torch.log(torch.sum(torch.exp(shifted), dim=1, keepdim=True))
        return -torch.sum(Y * log_probs) / X.shape[0]
    return mlp_loss_peer


def mds_loss_torch(torch) -> Callable:
    """``mds_loss`` spelled in PyTorch."""
    def mds_loss_peer(W, D):
        diff = W[:, None, :] - W[None, :, :]
        sq = torch.sum(diff ** 2, dim=-1)
        return torch.sum((sq - D) ** 2)
    return mds_loss_peer


@dataclass(frozen=True)
class HandGrad:
    key: str      # the case's key in the results
    label: str    # its line in the table
    fn: Callable  # same arguments as the loss, returns one gradient per ``wrt`` entry


@dataclass(frozen=True)
class Spelling:
    """Another way of writing a workload's function, with the same value, for a tool that
    cannot take the natural one: ``function(*args(workload_args))``."""
    function: Callable
    label: str                                   # what differs, for the table
    note: str                                    # why, for the report
    args: Callable[[tuple], tuple] = tuple       # the workload's arguments -> its arguments
    callees: tuple[Callable, ...] = ()


@dataclass(frozen=True)
class Workload:
    """What ``run.run_workload`` times for one function: the primal, s2sad's gradient, the
    hand-written ones and the peers, at the sizes ``problem(**sizes)`` makes."""
    key: str
    function: Callable
    wrt: tuple[int, ...]
    wrt_names: tuple[str, ...]
    problem: Callable[..., tuple]
    sizes: dict           # the benchmark's sizes (the issue's)
    quick_sizes: dict     # --quick
    check_sizes: dict     # small enough for central differences of every entry
    hand: tuple[HandGrad, ...]
    with_numpy: Callable[[object], Callable]   # autograd.numpy / jax.numpy -> the function
    with_torch: Callable[[object], Callable]   # torch -> the function
    describe: Callable[[dict], str]   # sizes -> one line for the report
    kind: str = "array"   # "array" or "scalar" (issue 7's targets differ)
    callees: tuple[Callable, ...] = ()   # user functions ``function`` calls
    # when s2sad cannot differentiate ``function`` (the run records why and times this)
    s2sad_alternative: Spelling | None = None
    # when JAX needs its own spelling, jax.numpy -> function (both JAX cases use it), and why
    jax_with: Callable[[object], Callable] | None = None
    jax_note: str = ""


def _one_gradient(fn: Callable) -> Callable:
    """A single-``wrt`` gradient as a 1-tuple, like the tuple ``wrt`` ones."""
    def as_tuple(*args):
        return (fn(*args),)
    as_tuple.__name__ = fn.__name__
    return as_tuple


def _torch_namespace(torch) -> object:
    """``torch`` under NumPy's names where a workload's ``*_with(xp)`` needs only these."""
    import types

    return types.SimpleNamespace(log=torch.log, sqrt=torch.sqrt, sum=torch.sum)


WORKLOADS: dict[str, Workload] = {
    "L": Workload(
        key="L", function=L, wrt=(0, 1), wrt_names=("w1", "w2"), problem=L_problem,
        sizes={"w1": L_POINT[0], "w2": L_POINT[1]}, quick_sizes={"w1": 2.0, "w2": 3.0},
        check_sizes={"w1": 1.7, "w2": 0.6}, kind="scalar",
        hand=(HandGrad("hand_grad", "hand-written (closed form)", hand_grad_L),),
        with_numpy=L_with, with_torch=lambda torch: L_with(_torch_namespace(torch)),
        describe=lambda s: f"w2 log(w1) + sqrt(w2 log(w1)) at ({s['w1']:g}, {s['w2']:g}), "
                           "math module"),
    "rosenbrock": Workload(
        key="rosenbrock", function=rosenbrock, wrt=(0,), wrt_names=("x",),
        problem=rosenbrock_problem, sizes={"n": ROSENBROCK_N}, quick_sizes={"n": 10},
        check_sizes={"n": 6},
        hand=(HandGrad("hand_grad", "hand-written", _one_gradient(hand_grad_rosenbrock)),),
        with_numpy=rosenbrock_with, with_torch=lambda torch: rosenbrock_with(torch),
        describe=lambda s: f"n={s['n']}, vectorised"),
    "mlp": Workload(
        key="mlp", function=mlp_loss, wrt=(0, 1, 2, 3), wrt_names=("W1", "b1", "W2", "b2"),
        problem=mlp_problem,
        sizes={"batch": MLP_BATCH, "layers": MLP_LAYERS},
        quick_sizes={"batch": 16, "layers": (20, 8, 4)},
        check_sizes={"batch": 5, "layers": (6, 4, 3)},
        hand=(HandGrad("hand_grad", "hand-written backprop", hand_grad_mlp_loss),),
        with_numpy=mlp_loss_with, with_torch=mlp_loss_torch,
        describe=lambda s: "batch {}, {}->{}->{}, tanh, softmax cross-entropy".format(
            s["batch"], *s["layers"])),
    "mds": Workload(
        key="mds", function=mds_loss, wrt=(0,), wrt_names=("W",), problem=mds_problem,
        sizes={"points": MDS_POINTS, "dim": MDS_DIM},
        quick_sizes={"points": 12, "dim": 2},
        check_sizes={"points": 6, "dim": 2},
        hand=(HandGrad("hand_grad", "hand-written, broadcast as the primal",
                       _one_gradient(hand_grad_mds_loss)),
              HandGrad("hand_grad_matrix", "hand-written, S @ W matrix form",
                       _one_gradient(hand_grad_mds_loss_matrix))),
        with_numpy=mds_loss_with, with_torch=mds_loss_torch,
        describe=lambda s: f"N={s['points']} points in d={s['dim']}"),
    "gmm": Workload(
        key="gmm", function=gmm.gmm_objective, wrt=(0, 1, 2),
        wrt_names=("alphas", "means", "icf"), problem=gmm.problem,
        sizes={"d": gmm.D, "K": gmm.K, "n": gmm.N},
        quick_sizes={"d": 3, "K": 4, "n": 20},
        check_sizes={"d": 3, "K": 4, "n": 6, "wishart_m": 2},
        hand=(HandGrad("hand_grad", "hand-written, einsums as the primal",
                       gmm.hand_grad_gmm_objective),),
        with_numpy=gmm.gmm_objective_with, with_torch=gmm.gmm_objective_torch,
        callees=(gmm.logsumexp, gmm.logsumexpvec, gmm.log_gamma_distrib,
                 gmm.log_wishart_prior, gmm.constructL),
        s2sad_alternative=Spelling(
            gmm.gmm_objective_given, "log-gamma term passed in",
            "s2sad has no derivative rule for math.lgamma and rejects it even on constants; "
            "this spelling takes log_gamma_distrib(...) as an argument computed outside",
            args=gmm.with_log_gamma,
            callees=(gmm.logsumexp, gmm.logsumexpvec, gmm.log_wishart_prior_given,
                     gmm.constructL)),
        describe=lambda s: (f"ADBench GMM, d={s['d']}, K={s['K']}, n={s['n']}"
                            + (f", wishart_m={s['wishart_m']}" if "wishart_m" in s else ""))),
    "lstm": Workload(
        key="lstm", function=lstm.lstm_loss, wrt=(0, 1, 2), wrt_names=("Wx", "Wh", "b"),
        problem=lstm.problem,
        sizes={"hidden": lstm.HIDDEN, "inputs": lstm.INPUTS, "steps": lstm.STEPS},
        quick_sizes={"hidden": 4, "inputs": 3, "steps": 5},
        check_sizes={"hidden": 3, "inputs": 2, "steps": 4},
        hand=(HandGrad("hand_grad", "hand-written BPTT", lstm.hand_grad_lstm_loss),),
        with_numpy=lstm.lstm_loss_with, with_torch=lstm.lstm_loss_torch,
        describe=lambda s: (f"hidden {s['hidden']}, inputs {s['inputs']}, {s['steps']} "
                            "steps, loss = sum of squares of every hidden state")),
    "ba": Workload(
        key="ba", function=bundle.ba_objective, wrt=(0, 1), wrt_names=("cams", "X"),
        problem=bundle.problem,
        sizes={"cameras": bundle.CAMERAS, "points": bundle.POINTS,
               "observations": bundle.OBSERVATIONS},
        quick_sizes={"cameras": 3, "points": 8, "observations": 20},
        check_sizes={"cameras": 3, "points": 6, "observations": 12},
        hand=(HandGrad("hand_grad", "hand-written, same loop",
                       bundle.hand_grad_ba_objective),),
        with_numpy=bundle.ba_objective_with, with_torch=bundle.ba_objective_torch,
        jax_with=bundle.ba_vectorised_with,
        jax_note="vectorised: all observations at once, branches by jnp.where (a Python if "
                 "on a traced value does not jit, and without jit the loop takes about a "
                 "minute per gradient)",
        describe=lambda s: (f"{s['observations']} observations of {s['points']} points by "
                            f"{s['cameras']} cameras, scalar math, Huber loss")),
}


def parameter_count(args: tuple, wrt: tuple[int, ...]) -> int:
    return sum(int(np.size(args[i])) for i in wrt)


def central_differences_of(f: Callable, args: tuple, wrt: tuple[int, ...],
                           rel_step: float = 1e-6) -> tuple:
    """∂f/∂args[i] for every i in ``wrt`` by central differences: two primal calls per
    parameter (numbers stay numbers; arrays move one entry at a time)."""
    out = []
    for i in wrt:
        x = args[i]
        if isinstance(x, (int, float)):
            h = rel_step * max(1.0, abs(x))
            up = f(*args[:i], x + h, *args[i + 1:])
            down = f(*args[:i], x - h, *args[i + 1:])
            out.append((up - down) / (2 * h))
        else:
            out.append(array_central_differences(f, args, i, rel_step))
    return tuple(out)


def array_central_differences(f: Callable, args: tuple, i: int,
                              rel_step: float = 1e-6) -> np.ndarray:
    """∂f/∂args[i] entry by entry by central differences (2 primal calls per entry)."""
    x = np.array(args[i], dtype=np.float64)
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        h = rel_step * max(1.0, abs(float(x[k])))
        values = []
        for step in (h, -h):
            moved = x.copy()
            moved[k] += step
            values.append(float(f(*args[:i], moved, *args[i + 1:])))
        grad[k] = (values[0] - values[1]) / (2 * h)
    return grad
