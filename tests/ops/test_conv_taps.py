"""The per-tap small-map convolution (ops/conv_taps.py) against torch: called directly on odd
geometries (stride, dilation, asymmetric padding, taps that reach no input, bias) in float64,
and through the public conv2d without a graph (float32) where it serves inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.ops import conv_taps

CASES = [
    # (N, C, H, W), (Cout, KH, KW), stride, ((top, bottom), (left, right)), dilation
    ((2, 3, 2, 2), (4, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((3, 2, 1, 1), (2, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),  # 1x1 map: only the centre tap
    ((2, 3, 4, 4), (5, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    ((2, 2, 5, 3), (3, 3, 2), (2, 1), ((2, 0), (0, 1)), (1, 1)),
    ((1, 4, 4, 5), (2, 3, 3), (1, 2), ((2, 2), (2, 2)), (2, 2)),
    ((2, 3, 3, 3), (2, 5, 5), (3, 3), ((3, 3), (3, 3)), (1, 1)),  # taps reaching padding only
]


def _torch(x, w, b, s, pads, d):
    tx = torch.nn.functional.pad(torch.tensor(x), (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    tb = None if b is None else torch.tensor(b)
    return torch.nn.functional.conv2d(tx, torch.tensor(w), tb, stride=s, dilation=d).numpy()


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,s,pads,d", CASES)
def test_forward_float64_matches_torch(xs, ws, s, pads, d, bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs)
    w = rng.standard_normal((ws[0], xs[1]) + ws[1:])
    b = rng.standard_normal(ws[0]) if bias else None
    got = conv_taps.forward(x, w, b, s, pads, d)
    ref = _torch(x, w, b, s, pads, d)
    assert got.dtype == ref.dtype and got.shape == ref.shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_public_conv2d_inference_uses_it(monkeypatch):
    calls = []
    real = conv_taps.forward
    monkeypatch.setattr(conv_taps, "forward", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 64, 4, 4)).astype(np.float32)
    w = (rng.standard_normal((8, 64, 3, 3)) * 0.1).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    ref = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1)
    got = ember.nn.functional.conv2d(ember.tensor(x), ember.tensor(w), ember.tensor(b), padding=1)
    assert calls
    assert got.dtype == ember.float32 and tuple(got.shape) == tuple(ref.shape)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
    # with a graph to record, another path runs (it keeps what the backward needs)
    calls.clear()
    ew = ember.tensor(w, requires_grad=True)
    y = ember.nn.functional.conv2d(ember.tensor(x), ew, ember.tensor(b), padding=1)
    assert not calls
    np.testing.assert_allclose(y.detach().numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_eligibility():
    x = np.zeros((2, 64, 4, 4), np.float32)
    w = np.zeros((8, 64, 3, 3), np.float32)
    p1 = ((1, 1), (1, 1))
    assert conv_taps.eligible(x, w, (1, 1), p1, (1, 1), 1)
    assert not conv_taps.eligible(np.zeros((2, 64, 8, 8), np.float32), w, (1, 1), p1, (1, 1), 1)
    assert not conv_taps.eligible(x[:, :32], w[:, :32], (1, 1), p1, (1, 1), 1)  # few channels
    assert not conv_taps.eligible(x, w[:4, :32], (1, 1), p1, (1, 1), 2)  # groups
    assert not conv_taps.eligible(x.astype(np.float16), w.astype(np.float16), (1, 1), p1, (1, 1), 1)
