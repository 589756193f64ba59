"""Run one function, written against a module ``m`` (ember or torch), on both frameworks."""

from __future__ import annotations

import numpy as np

import ember
from tests._support.torch_ref import torch


def arr(*shape, seed: int = 0, dtype=np.float64):
    return np.random.default_rng(seed + 7 * len(shape)).standard_normal(shape).astype(dtype)


def both(a: np.ndarray):
    """(ember tensor, torch tensor) with the same values."""
    return ember.tensor(a), torch.tensor(a)


def flat(x) -> list:
    """The tensors of a nested result, in order (dicts by key order)."""
    if isinstance(x, dict):
        return [v for k in x for v in flat(x[k])]
    if isinstance(x, (tuple, list)):
        return [v for item in x for v in flat(item)]
    return [x]


def assert_close(e, t, atol: float = 1e-10, rtol: float = 1e-8) -> None:
    """Same structure, shapes, dtypes and values (float64 rounding by default)."""
    fe, ft = flat(e), flat(t)
    assert len(fe) == len(ft), (len(fe), len(ft))
    for a, b in zip(fe, ft):
        if not isinstance(b, torch.Tensor):
            assert a == b
            continue
        assert isinstance(a, ember.Tensor), type(a)
        assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
        assert str(a.dtype) == str(b.dtype), (a.dtype, b.dtype)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=atol, rtol=rtol)
