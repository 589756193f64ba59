"""Deterministic weights for the model fixtures: a formula of each state_dict entry's index and
shape, so the same numbers come out on the torchvision side (make_fixtures.py) and the ember side
(the tests) without storing a weight file. NumPy only: the fixture script imports it too."""

from __future__ import annotations

import numpy as np


def det_value(index: int, key: str, shape: tuple[int, ...], is_float: bool = True) -> np.ndarray:
    """Values of state_dict entry number ``index`` (name ``key``, shape ``shape``)."""
    n = int(np.prod(shape, dtype=np.int64))
    if not is_float:  # num_batches_tracked
        return np.zeros(shape, dtype=np.int64)
    # an integer hash of (entry, position) mapped to [-1, 1): neighbouring entries uncorrelated,
    # variance 1/3; integer arithmetic, so the values are the same on every CPU
    h = np.arange(n, dtype=np.uint32)  # uint32 arithmetic wraps modulo 2**32
    h *= np.uint32(2654435761)
    h += np.uint32((index * 97531 + 12345) % 2**32)
    h ^= h >> np.uint32(15)
    h *= np.uint32(2246822519)
    h ^= h >> np.uint32(13)
    base = h * (2.0 / 2**32) - 1.0
    if key.endswith("running_var"):
        out = 1.0 + 0.5 * np.abs(base)
    elif key.endswith("running_mean"):
        out = 0.1 * base
    elif len(shape) >= 2:
        fan = n // shape[0]
        # He-like scale keeps activations of ReLU networks near unit size; fan 1 (layer scales)
        # and positional tables get a small constant scale instead.
        out = base * np.sqrt(6.0 / fan) if fan > 1 and "pos_embedding" not in key else 0.1 * base
    elif key.endswith("weight"):  # norm layers' scale
        out = 1.0 + 0.2 * base
    else:
        out = 0.05 * base
    return out.reshape(shape).astype(np.float32)


def det_input(shape: tuple[int, ...]) -> np.ndarray:
    """The forward pass input."""
    n = int(np.prod(shape))
    return np.sin(np.arange(n, dtype=np.float64) * 0.01).reshape(shape).astype(np.float32)
