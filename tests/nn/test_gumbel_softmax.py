"""F.gumbel_softmax against torch from the same seed: the noise stream, soft and hard samples,
straight-through gradients, the generator left where torch leaves it, warnings and errors.

torch's noise is -log(e) for e = empty_like(logits).exponential_(): ember's exponential_ gives
torch's numbers bit for bit (float64 past 2048 values: within 1 ulp, see test_random_discrete),
but ember's float32 log rounds differently from torch's in about a fifth of values (1 ulp),
so float32 samples are compared to float32 rounding and float64 ones to double rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from tests._support.same_stream import assert_bitwise, assert_streams_aligned
from tests._support.torch_ref import assert_same, torch

TF = torch.nn.functional
TOL = {"float32": (2e-6, 1e-7), "float64": (1e-13, 1e-15)}


def _logits(shape, dtype, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype) * 2
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (5, 13), (3, 4, 6)])
def test_noise_stream_is_torchs(dtype, shape):
    """The exponential draws under the noise equal torch's bit for bit, and the generators end
    in the same place."""
    ember.manual_seed(9)
    torch.manual_seed(9)
    e = ember.empty(shape, dtype=getattr(ember, dtype)).exponential_()
    t = torch.empty(shape, dtype=getattr(torch, dtype)).exponential_()
    assert_bitwise(e, t)
    assert_streams_aligned()
    if dtype == "float64":  # float64's log rounds as torch's: the noise is equal too
        assert_bitwise(-e.log(), -t.log())


CASES = [
    dict(),
    dict(tau=0.5),
    dict(tau=2.0, dim=0),
    dict(hard=True),
    dict(hard=True, tau=0.3, dim=1),
    dict(hard=True, dim=-2),
]


@pytest.mark.parametrize("kw", CASES, ids=[str(k) for k in CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(6, 9), (2, 5, 7)])
def test_gumbel_softmax_matches_torch(kw, dtype, shape):
    rtol, atol = TOL[dtype]
    xe, xt = _logits(shape, dtype)
    ember.manual_seed(3)
    torch.manual_seed(3)
    ye, yt = EF.gumbel_softmax(xe, **kw), TF.gumbel_softmax(xt, **kw)
    assert_streams_aligned()  # one draw per element, as torch
    assert_same(ye, yt, rtol, atol)
    dim = kw.get("dim", -1)
    if kw.get("hard"):
        # exactly one-hot along dim at torch's argmax
        assert_bitwise(ye.detach().argmax(dim), yt.detach().argmax(dim))
        np.testing.assert_allclose(ye.detach().sum(dim).numpy(), 1.0, rtol=0, atol=atol * 10)
        assert set(np.unique(np.round(ye.detach().numpy(), 5))) <= {0.0, 1.0}
    else:
        np.testing.assert_allclose(ye.detach().sum(dim).numpy(), 1.0, rtol=rtol * 10)
    w = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert_same(xe.grad, xt.grad, rtol * 10, atol * 10)


def test_hard_sample_is_straight_through():
    """hard=True: the value is the one-hot, the gradient is the soft sample's (same seed)."""
    xe, _ = _logits((4, 8), "float64", seed=2)
    w = ember.tensor(np.random.default_rng(3).standard_normal((4, 8)))
    grads = []
    for hard in (False, True):
        x = xe.detach().requires_grad_(True)
        ember.manual_seed(6)
        y = EF.gumbel_softmax(x, tau=0.7, hard=hard)
        (y * w).sum().backward()
        grads.append(x.grad.numpy())
        if hard:
            onehot = np.zeros((4, 8))
            onehot[np.arange(4), y.detach().numpy().argmax(1)] = 1.0
            np.testing.assert_allclose(y.detach().numpy(), onehot, atol=1e-15)
    np.testing.assert_array_equal(grads[0], grads[1])


def test_deprecated_eps_warns_as_torch_and_errors():
    x = ember.randn(3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EF.gumbel_softmax(x)  # the default eps: no warning
    msgs = []
    for f, a in ((EF.gumbel_softmax, x), (TF.gumbel_softmax, torch.randn(3, 4))):
        with pytest.warns(UserWarning) as rec:
            f(a, eps=1e-5)
        msgs.append(str(rec[0].message))
    assert msgs[0] == msgs[1] == "`eps` parameter is deprecated and has no effect."
    # integer logits: exponential_'s error
    with pytest.raises(RuntimeError) as te:
        TF.gumbel_softmax(torch.arange(4))
    with pytest.raises(RuntimeError) as ee:
        EF.gumbel_softmax(ember.arange(4))
    assert str(ee.value) == str(te.value)
    with pytest.raises(IndexError) as te:
        TF.gumbel_softmax(torch.randn(3, 4), dim=2)
    with pytest.raises(IndexError) as ee:
        EF.gumbel_softmax(x, dim=2)
    assert str(ee.value) == str(te.value)
