"""ember._backend.cpu.layout.c_copy: the tiled copy of transposed arrays gives NumPy's copy
exactly, and Tensor.contiguous()/clone() on transposed tensors keep torch's values, strides
and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember._backend.cpu import layout

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    "shape", [(1024, 1000), (4000, 70), (70, 4000), (6, 300, 257), (2, 3, 200, 150), (9000, 40)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.bool_])
def test_same_as_numpys_copy(shape, dtype):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    for v in (a.swapaxes(-1, -2), a.swapaxes(-1, -2)[..., 1:-3, 2:], a, a[..., ::2]):
        got = layout.c_copy(v)
        assert got.flags.c_contiguous and got.shape == v.shape and got.dtype == v.dtype
        np.testing.assert_array_equal(got, v)
        assert not np.shares_memory(got, v)


def test_off_switch(monkeypatch):
    monkeypatch.setattr(layout, "enabled", False)
    v = np.random.default_rng(1).standard_normal((600, 600)).T
    np.testing.assert_array_equal(layout.c_copy(v), v)


def test_contiguous_and_clone_of_transposed_tensors_match_torch():
    a = np.random.default_rng(2).standard_normal((8, 300, 200)).astype(np.float32)
    e = ember.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    ce, ct = e.transpose(1, 2).contiguous(), t.transpose(1, 2).contiguous()
    assert ce.is_contiguous() and ce.stride() == ct.stride()
    np.testing.assert_array_equal(ce.detach().numpy(), ct.detach().numpy())
    g = np.random.default_rng(3).standard_normal(ce.shape).astype(np.float32)
    ce.backward(ember.tensor(g))
    ct.backward(torch.tensor(g))
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
    with ember.no_grad():
        np.testing.assert_array_equal(e.mT.clone().numpy(), a.swapaxes(-1, -2))
