"""Train a small MLP on a synthetic dataset, with gradients from ``s2sad.grad``.

Two interleaved spirals of 2-D points (two classes), a 2-32-2 network with a tanh hidden
layer and a softmax cross-entropy loss (stable: the largest logit is subtracted first),
full-batch gradient descent with momentum. The gradient with respect to all four
parameter arrays comes from one reverse-mode function; its code is in
``examples/generated/grad_loss.py``.
"""

import numpy as np

import s2sad


def loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    logp = logits - m - np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    return -np.sum(Y * logp) / X.shape[0]


def predict(params, X):
    W1, b1, W2, b2 = params
    return np.argmax(np.tanh(X @ W1 + b1) @ W2 + b2, axis=1)


def spirals(n, rng):
    """n points on each of two interleaved spirals, with a little noise."""
    t = np.sqrt(rng.uniform(size=n)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    X = np.concatenate([arm, -arm]) + rng.normal(scale=0.02, size=(2 * n, 2))
    labels = np.concatenate([np.zeros(n, dtype=int), np.ones(n, dtype=int)])
    return X, labels


def main(hidden=32, steps=1500, rate=0.5):
    rng = np.random.default_rng(0)
    X, labels = spirals(100, rng)
    Y = np.eye(2)[labels]
    params = [rng.normal(scale=1.0, size=(2, hidden)), np.zeros(hidden),
              rng.normal(scale=1.0 / np.sqrt(hidden), size=(hidden, 2)), np.zeros(2)]
    grad = s2sad.grad(loss, wrt=(0, 1, 2, 3))
    velocity = [np.zeros_like(p) for p in params]
    print(f"{'step':>5} {'loss':>8} {'accuracy':>9}")
    for k in range(steps + 1):
        if k % 300 == 0:
            accuracy = np.mean(predict(params, X) == labels)
            print(f"{k:>5} {loss(*params, X, Y):>8.4f} {accuracy:>9.1%}")
        grads = grad(*params, X, Y)
        velocity = [0.9 * v - rate * g for v, g in zip(velocity, grads)]
        params = [p + v for p, v in zip(params, velocity)]
    X_test, labels_test = spirals(500, rng)  # fresh points from the same spirals
    accuracy = np.mean(predict(params, X_test) == labels_test)
    print(f"trained a 2-{hidden}-2 MLP on {len(X)} points: accuracy {accuracy:.1%} on "
          f"{len(X_test)} new points")
    assert accuracy > 0.9


if __name__ == "__main__":
    main()
