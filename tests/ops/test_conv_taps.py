"""The per-tap small-map convolution (ops/conv_taps.py) against torch: called directly on odd
geometries (stride, dilation, asymmetric padding, taps that reach no input, bias) in float64,
and through the public conv2d (float32, values and gradients) where it serves."""

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


def test_public_conv2d_uses_it(monkeypatch):
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
    # and in training, with the gradients of all three
    calls.clear()
    ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    gy = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    ember.nn.functional.conv2d(ex, ew, eb, padding=1).backward(ember.tensor(gy))
    torch.nn.functional.conv2d(tx, tw, tb, padding=1).backward(torch.tensor(gy))
    assert calls
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        assert e.grad.dtype == ember.float32
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_eligibility():
    x = np.zeros((2, 64, 4, 4), np.float32)
    w = np.zeros((8, 64, 3, 3), np.float32)
    p1 = ((1, 1), (1, 1))
    assert conv_taps.eligible(x, w, (1, 1), p1, (1, 1), 1)
    assert not conv_taps.eligible(np.zeros((2, 64, 8, 8), np.float32), w, (1, 1), p1, (1, 1), 1)
    assert not conv_taps.eligible(x[:, :32], w[:, :32], (1, 1), p1, (1, 1), 1)  # few channels
    assert not conv_taps.eligible(x, w[:4, :32], (1, 1), p1, (1, 1), 2)  # groups
    assert not conv_taps.eligible(x.astype(np.float16), w.astype(np.float16), (1, 1), p1, (1, 1), 1)


NEEDS = [(True, True, True), (True, False, False), (False, True, False), (False, False, True)]


@pytest.mark.parametrize("needs", NEEDS)
@pytest.mark.parametrize("xs,ws,s,pads,d", CASES)
def test_backward_float64_matches_torch(xs, ws, s, pads, d, needs):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(xs)
    w = rng.standard_normal((ws[0], xs[1]) + ws[1:])
    b = rng.standard_normal(ws[0])
    gy = rng.standard_normal(conv_taps.forward(x, w, b, s, pads, d).shape)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    xp = torch.nn.functional.pad(tx, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    torch.nn.functional.conv2d(xp, tw, tb, stride=s, dilation=d).backward(torch.tensor(gy))
    got = conv_taps.backward(gy, x, w, s, pads, d, needs)
    for a, t, n in zip(got, (tx, tw, tb), needs):
        assert (a is None) == (not n)
        if n:
            assert a.shape == t.shape and a.flags.c_contiguous
            np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-12, atol=1e-12)


# the last one is over 1 MiB: split over the threads
@pytest.mark.parametrize("shape", [(5, 7), (16, 3), (301, 1029)])
def test_blocked_transpose_is_exact(shape):
    a = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    got = conv_taps._transpose(a)
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(got, a.T)


def test_kept_tap_weights_give_the_same_results():
    # the forward's (C, KH, KW, Cout) weight copy, passed on to backward as conv.py does
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 70, 3, 2))
    w = rng.standard_normal((33, 70, 3, 3))
    pads, s, d = ((1, 1), (1, 1)), (1, 1), (1, 1)
    wt = conv_taps.tap_weights(w)
    assert wt.shape == (70, 3, 3, 33)
    np.testing.assert_array_equal(wt, w.transpose(1, 2, 3, 0))
    np.testing.assert_array_equal(
        conv_taps.forward(x, w, None, s, pads, d, wt), conv_taps.forward(x, w, None, s, pads, d)
    )
    gy = rng.standard_normal((3, 33, 3, 2))
    for a, e in zip(
        conv_taps.backward(gy, x, w, s, pads, d, (True, True, True), wt),
        conv_taps.backward(gy, x, w, s, pads, d, (True, True, True)),
    ):
        np.testing.assert_array_equal(a, e)


@pytest.mark.usefixtures("restore_thread_settings")
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_thread_splits_match_torch(threads):
    # the batch split (forward, input gradient) and the output-channel split (weight gradient)
    # over 1-3 threads, with more threads than images or channels in one case
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 64, 3, 4))
    w = rng.standard_normal((2, 64, 3, 3))
    b = rng.standard_normal(2)
    pads, s, d = ((1, 1), (1, 1)), (1, 1), (1, 1)
    ember.set_num_threads(threads)
    y = conv_taps.forward(x, w, b, s, pads, d)
    gy = rng.standard_normal(y.shape)
    got = conv_taps.backward(gy, x, w, s, pads, d, (True, True, True))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    for a, t in zip(got, (tx, tw, tb)):
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-12, atol=1e-12)
