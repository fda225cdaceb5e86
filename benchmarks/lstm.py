"""An LSTM-style loop over time steps: one sequence, hidden size 32, inputs of size 16, 50
steps; the loss is the sum of squares of every hidden state.

Each step computes the four gates from the input and the previous hidden state with one
weight matrix per source (``Wx`` is (inputs, 4 hidden), ``Wh`` is (hidden, 4 hidden)), the
sigmoid written out as ``1 / (1 + np.exp(-x))``, and updates the cell and hidden state. The
gradient is with respect to ``Wx``, ``Wh`` and ``b``. The hand-written gradient is
backpropagation through time as a person writes it: keep each step's gates, then walk the
steps backwards accumulating the weight gradients with outer products.

    >>> args = problem(hidden=4, inputs=3, steps=5)
    >>> bool(abs(lstm_loss(*args) - lstm_loss_with(np)(*args)) < 1e-12)
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

HIDDEN, INPUTS, STEPS = 32, 16, 50


def lstm_loss(Wx, Wh, b, xs, h0, c0):
    hidden = h0.shape[0]
    h = h0
    c = c0
    loss = 0.0
    for t in range(xs.shape[0]):
        gates = xs[t] @ Wx + h @ Wh + b
        i = 1 / (1 + np.exp(-gates[:hidden]))
        f = 1 / (1 + np.exp(-gates[hidden:2 * hidden]))
        o = 1 / (1 + np.exp(-gates[2 * hidden:3 * hidden]))
        g = np.tanh(gates[3 * hidden:])
        c = f * c + i * g
        h = o * np.tanh(c)
        loss = loss + np.sum(h ** 2)
    return loss


def hand_grad_lstm_loss(Wx, Wh, b, xs, h0, c0):
    """Backpropagation through time: the forward loop keeps what the backward loop reads."""
    hidden = h0.shape[0]
    h, c = h0, c0
    kept = []
    for t in range(xs.shape[0]):
        gates = xs[t] @ Wx + h @ Wh + b
        i = 1 / (1 + np.exp(-gates[:hidden]))
        f = 1 / (1 + np.exp(-gates[hidden:2 * hidden]))
        o = 1 / (1 + np.exp(-gates[2 * hidden:3 * hidden]))
        g = np.tanh(gates[3 * hidden:])
        c_next = f * c + i * g
        tanh_c = np.tanh(c_next)
        h_next = o * tanh_c
        kept.append((h, c, i, f, o, g, tanh_c, h_next))
        h, c = h_next, c_next
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh = np.zeros_like(h0)
    dc = np.zeros_like(c0)
    for t in reversed(range(xs.shape[0])):
        h_prev, c_prev, i, f, o, g, tanh_c, h = kept[t]
        dh = dh + 2 * h
        dc = dc + dh * o * (1 - tanh_c ** 2)
        dgates = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                 dh * tanh_c * o * (1 - o), dc * i * (1 - g ** 2)])
        dc = dc * f
        dWx += np.outer(xs[t], dgates)
        dWh += np.outer(h_prev, dgates)
        db += dgates
        dh = Wh @ dgates
    return dWx, dWh, db


def problem(hidden: int = HIDDEN, inputs: int = INPUTS, steps: int = STEPS,
            seed: int = 0) -> tuple:
    """(Wx, Wh, b, xs, h0, c0): weights scaled by 1/sqrt(fan-in), standard normal inputs,
    zero initial states."""
    rng = np.random.default_rng(seed)
    Wx = rng.standard_normal((inputs, 4 * hidden)) / math.sqrt(inputs)
    Wh = rng.standard_normal((hidden, 4 * hidden)) / math.sqrt(hidden)
    b = 0.1 * rng.standard_normal(4 * hidden)
    xs = rng.standard_normal((steps, inputs))
    return Wx, Wh, b, xs, np.zeros(hidden), np.zeros(hidden)


def lstm_loss_with(xp) -> Callable:
    """``lstm_loss`` on another NumPy (``autograd.numpy``, ``jax.numpy``)."""
    def lstm_loss_peer(Wx, Wh, b, xs, h0, c0):
        hidden = h0.shape[0]
        h = h0
        c = c0
        loss = 0.0
        for t in range(xs.shape[0]):
            gates = xs[t] @ Wx + h @ Wh + b
            i = 1 / (1 + xp.exp(-gates[:hidden]))
            f = 1 / (1 + xp.exp(-gates[hidden:2 * hidden]))
            o = 1 / (1 + xp.exp(-gates[2 * hidden:3 * hidden]))
            g = xp.tanh(gates[3 * hidden:])
            c = f * c + i * g
            h = o * xp.tanh(c)
            loss = loss + xp.sum(h ** 2)
        return loss
    return lstm_loss_peer


def lstm_loss_torch(torch) -> Callable:
    """``lstm_loss`` spelled in PyTorch."""
    def lstm_loss_peer(Wx, Wh, b, xs, h0, c0):
        hidden = h0.shape[0]
        h = h0
        c = c0
        loss = 0.0
        for t in range(xs.shape[0]):
            gates = xs[t] @ Wx + h @ Wh + b
            i = 1 / (1 + torch.exp(-gates[:hidden]))
            f = 1 / (1 + torch.exp(-gates[hidden:2 * hidden]))
            o = 1 / (1 + torch.exp(-gates[2 * hidden:3 * hidden]))
            g = torch.tanh(gates[3 * hidden:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            loss = loss + torch.sum(h ** 2)
        return loss
    return lstm_loss_peer
