"""User functions that call user functions (another module's, for test_calls.py)."""

import numpy as np


def scaled_norm(v, scale=1.0):
    return scale * np.sqrt(np.sum(v * v))
