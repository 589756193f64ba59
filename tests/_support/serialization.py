"""Shared pieces of the save/load tests (serialization/): round trips through
torch.save / torch.load and exact tensor comparisons."""

from __future__ import annotations

import io

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def roundtrip_to_torch(obj, **kw):
    b = io.BytesIO()
    ember.save(obj, b)
    b.seek(0)
    return torch.load(b, **kw)


def roundtrip_from_torch(obj, **kw):
    b = io.BytesIO()
    torch.save(obj, b)
    b.seek(0)
    return ember.load(b, **kw)


def as_np(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
    a = t.detach()._host()
    return a.astype(np.float32) if t.dtype is ember.bfloat16 else a


def same(e, t):
    assert isinstance(e, ember.Tensor) and isinstance(t, torch.Tensor)
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(as_np(e), as_np(t))


def _saved(obj) -> bytes:
    b = io.BytesIO()
    ember.save(obj, b)
    return b.getvalue()
