"""The 1x1 convolution path (ops/conv_pointwise.py) against torch: through the public conv1d,
conv2d and conv3d (values and all three gradients, strides, bias or not, the gradients one at a
time) and a float64 finite-difference check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.ops import conv_pointwise
from tests._support.ops_check import conv_gradcheck

CASES = [
    # input shape, Cout, stride, bias
    ((3, 5, 8, 8), 4, 1, True),
    ((2, 6, 7, 9), 3, 2, False),  # odd sizes: the last strided position is the last pixel
    ((2, 4, 6, 5), 7, (1, 3), True),
    ((1, 3, 1, 1), 2, 1, True),  # one image, one pixel
    ((4, 5, 9), 6, 2, True),  # conv1d
    ((2, 3, 4, 5, 3), 4, (2, 1, 2), False),  # conv3d
]

_F = {3: "conv1d", 4: "conv2d", 5: "conv3d"}


def _run(mod, x, w, b, stride, gy):
    fn = getattr(mod.nn.functional, _F[x.ndim])
    tx = mod.tensor(x, requires_grad=True)
    tw = mod.tensor(w, requires_grad=True)
    tb = None if b is None else mod.tensor(b, requires_grad=True)
    y = fn(tx, tw, tb, stride=stride)
    y.backward(mod.tensor(gy))
    out = [y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()]
    return out + ([tb.grad.numpy()] if b is not None else [])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,cout,stride,bias", CASES)
def test_matches_torch(xs, cout, stride, bias, dtype, monkeypatch):
    monkeypatch.setattr(conv_pointwise, "_MIN_POSITIONS", 1)  # small test sizes take this path
    calls = []
    real = conv_pointwise.forward
    monkeypatch.setattr(conv_pointwise, "forward", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal((cout, xs[1]) + (1,) * (len(xs) - 2)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    ty = getattr(torch.nn.functional, _F[len(xs)])(torch.tensor(x), torch.tensor(w), stride=stride)
    gy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ref = _run(torch, x, w, b, stride, gy)
    got = _run(ember, x, w, b, stride, gy)
    assert calls  # the public function went through this path
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, r in zip(got, ref):
        assert a.dtype == r.dtype and a.shape == r.shape
        np.testing.assert_allclose(a, r, rtol=tol, atol=tol)


def test_eligibility(monkeypatch):
    monkeypatch.setattr(conv_pointwise, "_MIN_POSITIONS", 25)
    x = np.zeros((2, 4, 5, 5), np.float32)
    w1 = np.zeros((3, 4, 1, 1), np.float32)
    nopad = ((0, 0), (0, 0))
    assert conv_pointwise.eligible(x, w1, (1, 1), nopad, 1)
    assert not conv_pointwise.eligible(x, w1, (1, 1), ((1, 1), (0, 0)), 1)  # padded
    assert not conv_pointwise.eligible(x, np.zeros((4, 2, 1, 1), np.float32), (1, 1), nopad, 2)
    assert not conv_pointwise.eligible(x, np.zeros((3, 4, 3, 3), np.float32), (1, 1), nopad, 1)
    assert not conv_pointwise.eligible(
        x.astype(np.float16), w1.astype(np.float16), (1, 1), nopad, 1
    )
    assert not conv_pointwise.eligible(x, w1, (2, 1), nopad, 1)  # 3x5 outputs: too few


NEEDS = [(True, False, False), (False, True, False), (False, False, True)]


@pytest.mark.parametrize("needs", NEEDS)
def test_only_the_needed_gradients(needs):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5, 6))
    w = rng.standard_normal((5, 4, 1, 1))
    gy = rng.standard_normal((3, 5, 3, 3))
    got = conv_pointwise.backward(gy, x, w, (2, 2), needs)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.conv2d(tx, tw, tb, stride=2).backward(torch.tensor(gy))
    for a, t, n in zip(got, (tx, tw, tb), needs):
        assert (a is None) == (not n)
        if n:
            np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_weight_gradient_in_blocks(monkeypatch):
    # one image per block of per-image products: the same sum
    monkeypatch.setattr(conv_pointwise, "_GW_BYTES", 1)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3, 4, 4))
    w = rng.standard_normal((2, 3, 1, 1))
    gy = rng.standard_normal((5, 2, 4, 4))
    gw = conv_pointwise.backward(gy, x, w, (1, 1), (False, True, False))[1]
    ref = np.einsum("nohw,nihw->oi", gy, x).reshape(w.shape)
    np.testing.assert_allclose(gw, ref, rtol=1e-12, atol=1e-12)


def test_gradcheck_float64(monkeypatch):
    monkeypatch.setattr(conv_pointwise, "_MIN_POSITIONS", 1)
    conv_gradcheck(
        (2, 3, 4, 5),
        (4, 3, 1, 1),
        lambda x, w: conv_pointwise.eligible(x, w, (2, 1), ((0, 0), (0, 0)), 1),
        seed=4,
        stride=(2, 1),
    )


@pytest.mark.usefixtures("restore_thread_settings")
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("gw_bytes", [None, 1])  # 1: one image per weight-gradient product
def test_thread_splits_match_torch(threads, gw_bytes, monkeypatch):
    # the batch split over 1-3 threads (forward and backward, the weight-gradient partial sums
    # added), with more threads than images in one case
    if gw_bytes is not None:
        monkeypatch.setattr(conv_pointwise, "_GW_BYTES", gw_bytes)
    ember.set_num_threads(threads)
    rng = np.random.default_rng(4)
    for xs, stride in (((5, 4, 7, 6), (2, 2)), ((2, 3, 5, 4), (1, 1))):
        x = rng.standard_normal(xs)
        w = rng.standard_normal((6, xs[1], 1, 1))
        b = rng.standard_normal(6)
        y = conv_pointwise.forward(x, w, b, stride)
        gy = rng.standard_normal(y.shape)
        got = conv_pointwise.backward(gy, x, w, stride, (True, True, True))
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        ty = torch.nn.functional.conv2d(tx, tw, tb, stride=stride)
        ty.backward(torch.tensor(gy))
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        for a, t in zip(got, (tx, tw, tb)):
            assert a.shape == t.shape
            np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-12, atol=1e-12)
