"""torch as the reference: ember results are checked against real PyTorch (a test dependency)."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def to_torch(t, requires_grad=None):
    """A torch tensor with the same values and dtype as an ember tensor."""
    arr = np.array(t.detach()._host(), copy=True)
    if t.dtype is ember.bfloat16:
        out = torch.from_numpy(arr.astype(np.float32)).to(torch.bfloat16)
    else:
        out = torch.from_numpy(arr)
    rg = t.requires_grad if requires_grad is None else requires_grad
    return out.requires_grad_(rg) if rg else out


def assert_same(e, t, rtol=1e-5, atol=1e-6, check_dtype=True):
    """Assert an ember result equals a torch result: values, shape, dtype."""
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            assert_same(a, b, rtol, atol, check_dtype)
        return
    if not isinstance(t, torch.Tensor):
        assert e == t
        return
    assert isinstance(e, ember.Tensor), type(e)
    assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
    if check_dtype:
        assert str(e.dtype) == str(t.dtype), (e.dtype, t.dtype)
    ev = e.detach()._host()
    tv = t.detach().float().numpy() if t.dtype == torch.bfloat16 else t.detach().numpy()
    if ev.dtype.kind == "V" or str(ev.dtype) == "bfloat16":
        ev = ev.astype(np.float32)
    np.testing.assert_allclose(ev, tv, rtol=rtol, atol=atol, equal_nan=True)
