"""The GMM objective of ADBench (Srajer, Kochan, Fitzgibbon 2018), in NumPy.

The log-likelihood of n points in d dimensions under a mixture of K Gaussians, plus the log
of a Wishart prior on the precision matrices, with ADBench's signs and constants, as
ADBench's Python implementations compute it (``gmm_objective(alphas, means, icf, x,
wishart_gamma, wishart_m)``): the same helpers (``logsumexp``, ``logsumexpvec``,
``log_gamma_distrib``, ``log_wishart_prior``, ``constructL``), the same parametrisation of
component k's precision ``Q_k Q_kᵀ`` by ``icf[k]``: its first d entries are the logarithms of
``Q_k``'s diagonal, the other d(d-1)/2 the entries below the diagonal, column by column (as
ADBench's ``constructL`` fills them), and the same log-sum-exp written out by subtracting
the maximum. ``Qtimesx`` is inlined (``Qdiags * xcentered + einsum(...)``).

Three spellings of ADBench's differ, as any NumPy port has to choose:

- ``constructL`` writes the entries below the diagonal into ``np.zeros((K, d, d))`` for all
  K components at once (ADBench concatenates columns of one component, K times; autograd
  and JAX cannot write into arrays, so the peers' spelling does that).
- ``log_gamma_distrib`` (ADBench: ``scipy.special.multigammaln``) is written out with
  ``math.lgamma``, the standard library's log-gamma.
- ``xcentered`` is broadcast (``x[:, None, :] - means[None, :, :]``) instead of stacked row
  by row.

The data have ADBench's shapes (d=10, K=25, n=1000 is one of its sizes) and are drawn with a
fixed seed like its generator's: alphas and icf standard normal, means and x uniform on
[0, 1), wishart_gamma = 1.0 and wishart_m = 0 (the check sizes use m = 2 so that its term is
exercised). The objective's value does not depend on the spelling:

    >>> args = problem(d=3, K=4, n=6)
    >>> bool(abs(gmm_objective(*args) - gmm_objective_with(np)(*args)) < 1e-12)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

D, K, N = 10, 25, 1000


def logsumexp(x):
    mx = np.max(x)
    return np.log(np.sum(np.exp(x - mx))) + mx


def logsumexpvec(x):
    """logsumexp of each row."""
    mx = np.max(x, axis=1)
    return np.log(np.sum(np.exp(x - mx[:, None]), axis=1)) + mx


def log_gamma_distrib(a, p):
    """The log of the multivariate gamma function Γ_p(a) (scipy.special.multigammaln)."""
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out = out + math.lgamma(a + 0.5 * (1 - j))
    return out


def log_wishart_prior(p, wishart_gamma, wishart_m, sum_qs, Qdiags, icf):
    n = p + wishart_m + 1
    k = icf.shape[0]
    out = np.sum(0.5 * wishart_gamma * wishart_gamma
                 * (np.sum(Qdiags ** 2, axis=1) + np.sum(icf[:, p:] ** 2, axis=1))
                 - wishart_m * sum_qs)
    C = n * p * (math.log(wishart_gamma) - 0.5 * math.log(2))
    return out - k * (C - log_gamma_distrib(0.5 * n, p))


def constructL(d, icf):
    """The strictly lower triangular parts L_k of Q_k, column by column from icf[:, d:]."""
    Ls = np.zeros((icf.shape[0], d, d))
    j = d
    for col in range(d):
        for row in range(col + 1, d):
            Ls[:, row, col] = icf[:, j]
            j += 1
    return Ls


def gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m):
    n, d = x.shape
    Qdiags = np.exp(icf[:, :d])
    sum_qs = np.sum(icf[:, :d], axis=1)
    Ls = constructL(d, icf)
    xcentered = x[:, None, :] - means[None, :, :]
    Lxcentered = Qdiags * xcentered + np.einsum("ijk,mik->mij", Ls, xcentered)
    sqsum_Lxcentered = np.sum(Lxcentered ** 2, axis=2)
    inner_term = alphas + sum_qs - 0.5 * sqsum_Lxcentered
    slse = np.sum(logsumexpvec(inner_term))
    CONSTANT = -n * d * 0.5 * math.log(2 * math.pi)
    return (CONSTANT + slse - n * logsumexp(alphas)
            + log_wishart_prior(d, wishart_gamma, wishart_m, sum_qs, Qdiags, icf))


# ----------------------------------------------------------------- an alternative spelling
# s2sad has no derivative rule for math.lgamma and rejects it even where, as here, its
# argument does not depend on the parameters (a NoDerivativeRule error at the call). The
# spelling s2sad can differentiate today takes the constant Γ_p term as an argument, computed
# outside (``with_log_gamma``); everything else is the same code.


def log_wishart_prior_given(p, wishart_gamma, wishart_m, sum_qs, Qdiags, icf, log_gamma):
    n = p + wishart_m + 1
    k = icf.shape[0]
    out = np.sum(0.5 * wishart_gamma * wishart_gamma
                 * (np.sum(Qdiags ** 2, axis=1) + np.sum(icf[:, p:] ** 2, axis=1))
                 - wishart_m * sum_qs)
    C = n * p * (math.log(wishart_gamma) - 0.5 * math.log(2))
    return out - k * (C - log_gamma)


def gmm_objective_given(alphas, means, icf, x, wishart_gamma, wishart_m, log_gamma):
    n, d = x.shape
    Qdiags = np.exp(icf[:, :d])
    sum_qs = np.sum(icf[:, :d], axis=1)
    Ls = constructL(d, icf)
    xcentered = x[:, None, :] - means[None, :, :]
    Lxcentered = Qdiags * xcentered + np.einsum("ijk,mik->mij", Ls, xcentered)
    sqsum_Lxcentered = np.sum(Lxcentered ** 2, axis=2)
    inner_term = alphas + sum_qs - 0.5 * sqsum_Lxcentered
    slse = np.sum(logsumexpvec(inner_term))
    CONSTANT = -n * d * 0.5 * math.log(2 * math.pi)
    return (CONSTANT + slse - n * logsumexp(alphas)
            + log_wishart_prior_given(d, wishart_gamma, wishart_m, sum_qs, Qdiags, icf,
                                      log_gamma))


def with_log_gamma(args: tuple) -> tuple:
    """``gmm_objective``'s arguments -> ``gmm_objective_given``'s: Γ_p computed here."""
    x, wishart_m = args[3], args[5]
    d = x.shape[1]
    return (*args, log_gamma_distrib(0.5 * (d + wishart_m + 1), d))


# ----------------------------------------------------------------- by hand


def lower_indices(d: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the entries below the diagonal in constructL's order (by column)."""
    cols, rows = np.triu_indices(d, 1)
    return rows, cols


def hand_grad_gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m):
    """By hand, mirroring the primal: with P the responsibilities (the softmax of each
    row of inner_term, the adjoint of slse), ∂/∂Lxcentered = -P Lxcentered, then back
    through Qtimesx (the einsum's two adjoints are einsums), xcentered, exp and the prior."""
    n, d = x.shape
    Qdiags = np.exp(icf[:, :d])
    Ls = constructL(d, icf)
    xcentered = x[:, None, :] - means[None, :, :]
    Lxcentered = Qdiags * xcentered + np.einsum("ijk,mik->mij", Ls, xcentered)
    inner_term = (alphas + np.sum(icf[:, :d], axis=1)
                  - 0.5 * np.sum(Lxcentered ** 2, axis=2))
    P = np.exp(inner_term - np.max(inner_term, axis=1, keepdims=True))
    P /= np.sum(P, axis=1, keepdims=True)
    dLx = -P[:, :, None] * Lxcentered
    dLs = np.einsum("mij,mik->ijk", dLx, xcentered)
    dxcentered = Qdiags * dLx + np.einsum("ijk,mij->mik", Ls, dLx)
    dQdiags = np.sum(dLx * xcentered, axis=0) + wishart_gamma * wishart_gamma * Qdiags
    responsibility = np.sum(P, axis=0)
    weights = np.exp(alphas - np.max(alphas))
    dalphas = responsibility - n * weights / np.sum(weights)
    dicf = np.empty_like(icf)
    dicf[:, :d] = dQdiags * Qdiags + (responsibility - wishart_m)[:, None]
    rows, cols = lower_indices(d)
    dicf[:, d:] = wishart_gamma * wishart_gamma * icf[:, d:] + dLs[:, rows, cols]
    return dalphas, -np.sum(dxcentered, axis=0), dicf


def problem(d: int = D, K: int = K, n: int = N, wishart_m: int = 0, seed: int = 0) -> tuple:
    """(alphas, means, icf, x, wishart_gamma, wishart_m) of ADBench's shapes."""
    rng = np.random.default_rng(seed)
    alphas = rng.standard_normal(K)
    means = rng.random((K, d))
    icf = rng.standard_normal((K, d + d * (d - 1) // 2))
    x = rng.random((n, d))
    return alphas, means, icf, x, 1.0, wishart_m


# ----------------------------------------------------------------- peers


def gmm_objective_with(xp) -> Callable:
    """``gmm_objective`` on another NumPy (``autograd.numpy``, ``jax.numpy``), whose arrays
    cannot be written into: ``constructL`` concatenates columns as ADBench's autograd
    version does; ``log_gamma_distrib`` is a constant (math.lgamma of numbers)."""
    def constructL_peer(d, icf):
        columns = []
        j = d
        for col in range(d):
            count = d - col - 1
            columns.append(xp.concatenate([xp.zeros((icf.shape[0], col + 1)),
                                           icf[:, j:j + count]], axis=1))
            j += count
        return xp.stack(columns, axis=2)

    def gmm_objective_peer(alphas, means, icf, x, wishart_gamma, wishart_m):
        n, d = x.shape
        Qdiags = xp.exp(icf[:, :d])
        sum_qs = xp.sum(icf[:, :d], axis=1)
        Ls = constructL_peer(d, icf)
        xcentered = x[:, None, :] - means[None, :, :]
        Lxcentered = Qdiags * xcentered + xp.einsum("ijk,mik->mij", Ls, xcentered)
        sqsum_Lxcentered = xp.sum(Lxcentered ** 2, axis=2)
        inner_term = alphas + sum_qs - 0.5 * sqsum_Lxcentered
        mx = xp.max(inner_term, axis=1)
        slse = xp.sum(xp.log(xp.sum(xp.exp(inner_term - mx[:, None]), axis=1)) + mx)
        amax = xp.max(alphas)
        lse_alphas = xp.log(xp.sum(xp.exp(alphas - amax))) + amax
        CONSTANT = -n * d * 0.5 * math.log(2 * math.pi)
        p = d
        nw = p + wishart_m + 1
        out = xp.sum(0.5 * wishart_gamma * wishart_gamma
                     * (xp.sum(Qdiags ** 2, axis=1) + xp.sum(icf[:, p:] ** 2, axis=1))
                     - wishart_m * sum_qs)
        C = nw * p * (math.log(wishart_gamma) - 0.5 * math.log(2))
        prior = out - icf.shape[0] * (C - log_gamma_distrib(0.5 * nw, p))
        return CONSTANT + slse - n * lse_alphas + prior
    return gmm_objective_peer


def gmm_objective_torch(torch) -> Callable:
    """``gmm_objective`` spelled in PyTorch (float64 tensors)."""
    def constructL_torch(d, icf):
        columns = []
        j = d
        for col in range(d):
            count = d - col - 1
            columns.append(torch.cat([torch.zeros(icf.shape[0], col + 1, dtype=icf.dtype),
                                      icf[:, j:j + count]], dim=1))
            j += count
        return torch.stack(columns, dim=2)

    def gmm_objective_peer(alphas, means, icf, x, wishart_gamma, wishart_m):
        n, d = x.shape
        Qdiags = torch.exp(icf[:, :d])
        sum_qs = torch.sum(icf[:, :d], dim=1)
        Ls = constructL_torch(d, icf)
        xcentered = x[:, None, :] - means[None, :, :]
        Lxcentered = Qdiags * xcentered + torch.einsum("ijk,mik->mij", Ls, xcentered)
        sqsum_Lxcentered = torch.sum(Lxcentered ** 2, dim=2)
        inner_term = alphas + sum_qs - 0.5 * sqsum_Lxcentered
        mx = torch.amax(inner_term, dim=1)
        slse = torch.sum(torch.log(torch.sum(torch.exp(inner_term - mx[:, None]), dim=1)) + mx)
        amax = torch.amax(alphas)
        lse_alphas = torch.log(torch.sum(torch.exp(alphas - amax))) + amax
        CONSTANT = -n * d * 0.5 * math.log(2 * math.pi)
        p = d
        nw = p + wishart_m + 1
        out = torch.sum(0.5 * wishart_gamma * wishart_gamma
                        * (torch.sum(Qdiags ** 2, dim=1) + torch.sum(icf[:, p:] ** 2, dim=1))
                        - wishart_m * sum_qs)
        C = nw * p * (math.log(wishart_gamma) - 0.5 * math.log(2))
        prior = out - icf.shape[0] * (C - log_gamma_distrib(0.5 * nw, p))
        return CONSTANT + slse - n * lse_alphas + prior
    return gmm_objective_peer
